//! `latchkey users prune` and `latchkey users restore`: dormant-account clean-up.

use std::io::{IsTerminal as _, Write as _};

use latchkey_api::{DormantUserView, PruneUsersRequest};
use serde_json::json;

use super::{Ctx, confirm};
use crate::output;

/// What `users prune` was asked to do.
pub struct PruneArgs {
    pub tenant: Option<String>,
    pub inactive_since: String,
    pub dry_run: bool,
    pub yes: bool,
    pub include_admins: bool,
    pub batch_size: u32,
}

pub async fn prune(ctx: &Ctx, args: PruneArgs) -> anyhow::Result<()> {
    let tenant = ctx.tenant(args.tenant.as_deref());
    let request = PruneUsersRequest {
        inactive_since: args.inactive_since.clone(),
        dry_run: true,
        include_admins: args.include_admins,
        limit: Some(args.batch_size),
        after: None,
    };
    if args.dry_run {
        return list_dormant(ctx, &tenant, request).await;
    }
    // One small dry-run page for the count the confirmation shows (and to have the
    // server check the date before anything is removed).
    let total = ctx
        .client
        .preview_prune(
            &tenant,
            &PruneUsersRequest {
                limit: Some(1),
                ..request.clone()
            },
        )
        .await?
        .total
        .unwrap_or(0);
    if total == 0 {
        return report(ctx, 0, 0);
    }
    if !args.yes {
        confirm(
            &format!(
                "Prune {total} users of {} without a sign-in since {}?",
                output::clean(&tenant),
                output::clean(&args.inactive_since)
            ),
            &format!("prune {total} users of {tenant}"),
            "nothing pruned",
        )?;
    }
    let mut progress = Progress::new(total);
    let (mut pruned, mut accounts_removed) = (0u64, 0u64);
    let mut after = None;
    loop {
        let batch = ctx
            .client
            .prune_batch(
                &tenant,
                &PruneUsersRequest {
                    after,
                    ..request.clone()
                },
            )
            .await
            .map_err(|error| {
                progress.finish();
                anyhow::Error::new(error).context(format!(
                    "the prune stopped after {pruned} users; they stay pruned (restorable); \
                     run the same command again to continue"
                ))
            })?;
        pruned += batch.pruned;
        accounts_removed += batch.accounts_removed;
        // A run ending on a full batch asks once more and gets an empty one.
        if batch.pruned > 0 {
            progress.show(pruned);
        }
        if !batch.remaining {
            break;
        }
        after = batch.next;
    }
    progress.finish();
    report(ctx, pruned, accounts_removed)
}

fn report(ctx: &Ctx, pruned: u64, accounts_removed: u64) -> anyhow::Result<()> {
    if ctx.json {
        output::json(&json!({ "pruned": pruned, "accounts_removed": accounts_removed }))
    } else if pruned == 0 {
        output::line("No dormant users to prune.")
    } else {
        output::line(format_args!(
            "Pruned {pruned} users ({accounts_removed} accounts belonged to no other tenant \
             and were removed); `latchkey users restore ID…` brings them back during the \
             server's retention period."
        ))
    }
}

/// Streams the dry run page by page: a JSON array (`id`, `email`, `role`,
/// `last_login_at`, `created_at`) with `--json`, else one line per user. Nothing is
/// held beyond one page, so a million dormant users list in constant memory.
async fn list_dormant(ctx: &Ctx, tenant: &str, request: PruneUsersRequest) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut after = None;
    let mut count: u64 = 0;
    if ctx.json {
        write!(out, "[")?;
    } else {
        writeln!(out, "ID\tEMAIL\tROLE\tLAST LOGIN\tCREATED")?;
    }
    loop {
        let page = ctx
            .client
            .preview_prune(
                tenant,
                &PruneUsersRequest {
                    after,
                    ..request.clone()
                },
            )
            .await?;
        for user in &page.items {
            if ctx.json {
                let separator = if count == 0 { "\n  " } else { ",\n  " };
                write!(out, "{separator}{}", serde_json::to_string(user)?)?;
            } else {
                writeln!(out, "{}", line_of(user))?;
            }
            count += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if ctx.json {
        writeln!(out, "{}]", if count == 0 { "" } else { "\n" })?;
    } else {
        writeln!(out, "{count} users would be pruned.")?;
    }
    Ok(())
}

fn line_of(user: &DormantUserView) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        output::clean(&user.id),
        output::clean(&user.email),
        output::clean(&user.role),
        output::opt_time(user.last_login_at),
        output::time(user.created_at),
    )
}

/// A progress bar on stderr: redrawn in place on a terminal, otherwise a line at every
/// tenth of the way (logs of a scheduled run stay short).
struct Progress {
    total: u64,
    terminal: bool,
    last_tenth: u64,
    drawn: bool,
}

impl Progress {
    fn new(total: i64) -> Self {
        Self {
            total: u64::try_from(total).unwrap_or(0).max(1),
            terminal: std::io::stderr().is_terminal(),
            last_tenth: 0,
            drawn: false,
        }
    }

    fn show(&mut self, done: u64) {
        // Users who turned dormant during the run can take it past the first count.
        let total = self.total.max(done);
        let percent = done.saturating_mul(100) / total;
        if self.terminal {
            let filled = usize::try_from(percent / 4).unwrap_or(25);
            eprint!(
                "\r[{:<25}] {percent:>3}% {done}/{total} pruned",
                "#".repeat(filled)
            );
            self.drawn = true;
        } else if percent / 10 > self.last_tenth || done == total {
            self.last_tenth = percent / 10;
            output::stderr(format_args!("pruned {done} / {total}"));
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

pub async fn restore(ctx: &Ctx, tenant: Option<String>, ids: Vec<String>) -> anyhow::Result<()> {
    let tenant = ctx.tenant(tenant.as_deref());
    let mut restored = 0;
    // The server takes at most 1,000 per request, each request all or none.
    for chunk in ids.chunks(1000) {
        restored += ctx.client.restore_users(&tenant, chunk).await?;
    }
    if ctx.json {
        output::json(&json!({ "restored": restored }))
    } else {
        output::line(format_args!("Restored {restored} users."))
    }
}
