//! The commands that talk to a server, and what they share: the signed-in context,
//! paging, password input.

pub mod apps;
pub mod audit;
pub mod auth;
pub mod grants;
pub mod groups;
pub mod import;
pub mod keys;
pub mod mfa;
pub mod prune;
pub mod roles;
pub mod sessions;
pub mod tenants;
pub mod terms;
pub mod users;
pub mod workspaces;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use latchkey_api::Page;
use latchkey_client::Client;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::session_file::{self, StoredSession};

/// A client resumed from the stored session.
pub struct Ctx {
    pub client: Client,
    /// Print JSON instead of tables.
    pub json: bool,
    stored: StoredSession,
    path: PathBuf,
}

impl Ctx {
    /// Reads the stored session; the caller holds the session lock.
    fn load(json: bool, path: PathBuf) -> anyhow::Result<Self> {
        let stored = session_file::require(&path)?;
        let client = Client::with_session(&stored.server, stored.session.clone())?;
        Ok(Self {
            client,
            json,
            stored,
            path,
        })
    }

    /// `--tenant`, defaulting to the session's tenant.
    pub fn tenant(&self, flag: Option<&str>) -> String {
        flag.unwrap_or(&self.stored.session.tenant).to_owned()
    }

    /// Writes the session back if a refresh rotated its tokens.
    pub async fn persist(&self) -> anyhow::Result<()> {
        let Some(session) = self.client.session().await else {
            return Ok(());
        };
        if session == self.stored.session {
            return Ok(());
        }
        let stored = StoredSession {
            server: self.stored.server.clone(),
            session,
        };
        session_file::save(&self.path, &stored)
    }
}

/// Runs `command` with the stored session, then stores the session back, whatever the
/// outcome: a refresh may have rotated the tokens before the command failed.
///
/// The whole run holds the session lock, so that concurrent commands take turns: each
/// reads the session only once it holds the lock, and so sees the tokens the previous
/// one rotated, instead of presenting a refresh token that was already spent (which the
/// server refuses, and after its grace period answers by ending the session).
pub async fn with_session<F>(json: bool, command: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&Ctx) -> anyhow::Result<()>,
{
    let path = session_file::path()?;
    let lock = session_file::lock(&path).await?;
    let ctx = Ctx::load(json, path)?;
    let result = command(&ctx).await;
    let saved = ctx.persist().await;
    drop(lock);
    result.and(saved)
}

/// `--limit`, `--after` and `--all`, shared by the paged lists.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PageArgs {
    /// Page size (1-500; the server's default is 50).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: Option<u32>,
    /// Start after this cursor (the `next` of a previous page).
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
    /// Follow the cursor through every page.
    #[arg(long)]
    pub all: bool,
}

/// Fetches one page, or with `all` every page from `args.after` on. Returns the items and
/// the cursor of the next page when there is one left.
pub async fn fetch_pages<T, F>(
    args: &PageArgs,
    mut fetch: F,
) -> anyhow::Result<(Vec<T>, Option<String>)>
where
    F: AsyncFnMut(Option<String>) -> Result<Page<T>, latchkey_client::Error>,
{
    let mut items = Vec::new();
    let mut after = args.after.clone();
    loop {
        let page = fetch(after.clone()).await?;
        items.extend(page.items);
        match page.next {
            Some(next) if args.all => {
                if after.as_deref() == Some(next.as_str()) {
                    bail!("the server returned the same page cursor twice");
                }
                after = Some(next);
            }
            next => return Ok((items, next)),
        }
    }
}

/// After one page of a list: how to get the next one. In JSON mode on stderr, so that
/// stdout stays a JSON array.
pub fn print_next_hint(ctx: &Ctx, next: Option<&str>) -> anyhow::Result<()> {
    if let Some(next) = next {
        let next = crate::output::clean(next);
        if ctx.json {
            crate::output::stderr(format_args!(
                "note: more results; pass --after {next} or --all"
            ));
        } else {
            crate::output::line(format_args!(
                "More results: pass --after {next} (or --all)."
            ))?;
        }
    }
    Ok(())
}

/// One line of stdin without its line ending: how passwords come in.
pub fn read_password_stdin() -> anyhow::Result<String> {
    read_line_stdin("the password")
}

/// The next line of stdin without its line ending; `what` names it in errors.
pub fn read_line_stdin(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading {what} from stdin"))?;
    let value = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if value.is_empty() {
        bail!("no {} on stdin", what.trim_start_matches("the "));
    }
    Ok(value.to_owned())
}

/// Asks `question` with `[y/N]` on the terminal before a destructive step; fails with
/// `declined` unless the answer is yes. Without a terminal on stdin nobody could answer,
/// so it refuses outright (`refusing to {action} without confirmation: pass --yes …`):
/// scripts must say `--yes` rather than pipe an answer in.
pub fn confirm(question: &str, action: &str, declined: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to {action} without confirmation: pass --yes (stdin is not a terminal)");
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    drop(stderr);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("{declined}");
    }
    Ok(())
}

/// `YYYY-MM-DD` (midnight UTC) or a full RFC 3339 instant, as RFC 3339.
pub fn parse_instant(text: &str) -> anyhow::Result<String> {
    let at = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => at,
        Err(_) => time::Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|date| date.midnight().assume_utc())
            .map_err(|_| {
                anyhow::anyhow!(
                    "{text:?} is not a date: use YYYY-MM-DD or RFC 3339 (2024-05-01T12:00:00Z)"
                )
            })?,
    };
    Ok(at.format(&Rfc3339)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(parse_instant("2024-05-01").unwrap(), "2024-05-01T00:00:00Z");
        assert_eq!(
            parse_instant("2024-05-01T12:30:00+02:00").unwrap(),
            "2024-05-01T12:30:00+02:00"
        );
        assert_eq!(
            parse_instant("2024-05-01T12:30:00Z").unwrap(),
            "2024-05-01T12:30:00Z"
        );
        for bad in ["2024-13-01", "yesterday", "2024-05-01 12:00", ""] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
    }

    fn page(items: &[u32], next: Option<&str>) -> Page<u32> {
        Page {
            items: items.to_vec(),
            next: next.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn follows_cursors_with_all() {
        let args = PageArgs {
            all: true,
            ..PageArgs::default()
        };
        let mut seen = Vec::new();
        let (items, next) = fetch_pages(&args, async |after: Option<String>| {
            seen.push(after.clone());
            Ok(match after.as_deref() {
                None => page(&[1, 2], Some("a")),
                Some("a") => page(&[3], Some("b")),
                _ => page(&[4], None),
            })
        })
        .await
        .unwrap();
        assert_eq!(items, vec![1, 2, 3, 4]);
        assert_eq!(next, None);
        assert_eq!(seen, vec![None, Some("a".into()), Some("b".into())]);
    }

    #[tokio::test]
    async fn one_page_without_all() {
        let args = PageArgs {
            after: Some("x".into()),
            ..PageArgs::default()
        };
        let (items, next) = fetch_pages(&args, async |after: Option<String>| {
            assert_eq!(after.as_deref(), Some("x"));
            Ok(page(&[7], Some("y")))
        })
        .await
        .unwrap();
        assert_eq!(items, vec![7]);
        assert_eq!(next.as_deref(), Some("y"));
    }

    #[tokio::test]
    async fn refuses_a_cursor_loop() {
        let args = PageArgs {
            all: true,
            after: Some("a".into()),
            ..PageArgs::default()
        };
        let result = fetch_pages(&args, async |_| Ok(page(&[1], Some("a")))).await;
        assert!(result.is_err());
    }
}
