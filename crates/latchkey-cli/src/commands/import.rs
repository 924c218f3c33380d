//! `latchkey users import`: an NDJSON file sent in batches, each imported all or nothing.

use std::io::{BufRead, BufReader};

use anyhow::Context as _;
use serde_json::json;

use super::Ctx;
use crate::output;

/// The server's limit on an import body; a batch is sent early rather than exceed it.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// What `users import` was asked to do.
pub struct ImportArgs {
    /// A file path, or `-` for stdin.
    pub file: String,
    pub tenant: Option<String>,
    pub batch_size: usize,
    /// Lines at the start of the input not to send (blank or not).
    pub skip: u64,
}

/// One batch being gathered: the NDJSON body and the input line of each of its lines.
#[derive(Default)]
struct Batch {
    body: Vec<u8>,
    lines: Vec<u64>,
}

pub async fn run(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<()> {
    let tenant = ctx.tenant(args.tenant.as_deref());
    let mut input: Box<dyn BufRead> = if args.file == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file))?;
        Box::new(BufReader::new(file))
    };
    let mut imported: u64 = 0;
    let mut batch = Batch::default();
    let mut line_number: u64 = 0;
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let read = input
            .read_until(b'\n', &mut raw)
            .with_context(|| format!("reading {}", args.file))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        // Blank lines are skipped as the server skips them, but keep their numbers.
        if line_number <= args.skip || raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = raw.strip_suffix(b"\n").unwrap_or(&raw);
        if !batch.lines.is_empty() && batch.body.len() + line.len() + 1 > MAX_BATCH_BYTES {
            imported += send(ctx, &tenant, std::mem::take(&mut batch), imported).await?;
        }
        batch.body.extend_from_slice(line);
        batch.body.push(b'\n');
        batch.lines.push(line_number);
        if batch.lines.len() == args.batch_size {
            imported += send(ctx, &tenant, std::mem::take(&mut batch), imported).await?;
        }
    }
    if !batch.lines.is_empty() {
        imported += send(ctx, &tenant, batch, imported).await?;
    }
    if ctx.json {
        output::json(&json!({ "imported": imported }))
    } else {
        output::line(format_args!("Imported {imported} users."))
    }
}

/// Sends one batch; on failure names the input line and where to resume.
async fn send(ctx: &Ctx, tenant: &str, batch: Batch, imported_before: u64) -> anyhow::Result<u64> {
    let first_line = batch.lines.first().copied().unwrap_or(1);
    match ctx.client.import_users_ndjson(tenant, batch.body).await {
        Ok(count) => {
            output::stderr(format_args!("imported {} / ?", imported_before + count));
            Ok(count)
        }
        Err(error) => {
            let in_batch = error.problem().and_then(|p| p.line);
            let at = match in_batch.and_then(|n| {
                let index = usize::try_from(n).ok()?.checked_sub(1)?;
                Some((n, *batch.lines.get(index)?))
            }) {
                Some((n, line)) => {
                    format!("line {line} (line {n} of the batch starting at line {first_line})")
                }
                None => format!("the batch starting at line {first_line}"),
            };
            Err(anyhow::Error::new(error).context(format!(
                "import stopped at {at}; {imported_before} users were imported before this \
                 batch and stay; fix the input and resume with --skip {}",
                first_line.saturating_sub(1)
            )))
        }
    }
}
