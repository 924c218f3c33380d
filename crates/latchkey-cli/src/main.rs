//! `latchkey`: runs the server (`serve`) and administers one through the SDK.

mod commands;
mod output;
mod serve;
mod session_file;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use commands::apps::AppsCommand;
use commands::audit::AuditArgs;
use commands::auth::{LoginArgs, SignupArgs};
use commands::grants::{AuthenticationsCommand, GrantsCommand};
use commands::groups::{GroupsCommand, ProjectsCommand};
use commands::keys::KeysCommand;
use commands::mfa::MfaCommand;
use commands::roles::RolesCommand;
use commands::sessions::SessionsCommand;
use commands::tenants::TenantsCommand;
use commands::terms::TermsCommand;
use commands::users::UsersCommand;
use commands::with_session;
use commands::workspaces::WorkspacesCommand;

#[derive(Parser, Debug)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey, a self-hosted identity server"
)]
struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Create an account and a tenant it administers (servers with signup enabled).
    Signup(SignupArgs),
    /// Sign in and store the session in the config directory.
    Login(LoginArgs),
    /// Sign out and delete the stored session.
    Logout,
    /// Show the signed-in account.
    Whoami,
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// The tenants you belong to: list them, create and delete your own.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Manage a tenant's users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// List and revoke users' sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Create, list and revoke users' grants (long-lived refresh tokens).
    #[command(subcommand)]
    Grants(GrantsCommand),
    /// Manage users' authentications at external services.
    #[command(subcommand)]
    Authentications(AuthenticationsCommand),
    /// Show a tenant's audit log.
    Audit(AuditArgs),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage a tenant's applications (OAuth clients).
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Manage a tenant's roles (custom roles beside admin, user, reader and demo).
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Multi-factor authentication (TOTP) of the signed-in account; `reset` for admins.
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// Terms of use: publish and list versions (administrators), accept them.
    #[command(subcommand)]
    Terms(TermsCommand),
    /// Groups of a tenant: members and the roles they grant (administrators).
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Projects of a tenant and their members.
    #[command(subcommand)]
    Projects(ProjectsCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            output::stderr(format_args!("error: {}", error_line(&err)));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Signup(args) => commands::auth::signup(args, json).await,
        Command::Login(args) => commands::auth::login(args, json).await,
        Command::Logout => commands::auth::logout(json).await,
        Command::Whoami => with_session(json, async |ctx| commands::auth::whoami(ctx).await).await,
        Command::Tenants(command) => {
            with_session(json, async |ctx| commands::tenants::run(ctx, command).await).await
        }
        Command::Workspaces(command) => {
            with_session(json, async |ctx| {
                commands::workspaces::run(ctx, command).await
            })
            .await
        }
        Command::Users(command) => {
            with_session(json, async |ctx| commands::users::run(ctx, command).await).await
        }
        Command::Sessions(command) => {
            with_session(json, async |ctx| {
                commands::sessions::run(ctx, command).await
            })
            .await
        }
        Command::Grants(command) => {
            with_session(json, async |ctx| commands::grants::run(ctx, command).await).await
        }
        Command::Authentications(command) => {
            with_session(json, async |ctx| {
                commands::grants::run_authentications(ctx, command).await
            })
            .await
        }
        Command::Audit(args) => {
            with_session(json, async |ctx| commands::audit::run(ctx, args).await).await
        }
        Command::Keys(command) => {
            with_session(json, async |ctx| commands::keys::run(ctx, command).await).await
        }
        Command::Apps(command) => {
            with_session(json, async |ctx| commands::apps::run(ctx, command).await).await
        }
        Command::Roles(command) => {
            with_session(json, async |ctx| commands::roles::run(ctx, command).await).await
        }
        Command::Mfa(command) => {
            with_session(json, async |ctx| commands::mfa::run(ctx, command).await).await
        }
        Command::Terms(command) => {
            with_session(json, async |ctx| commands::terms::run(ctx, command).await).await
        }
        Command::Groups(command) => {
            with_session(json, async |ctx| {
                commands::groups::run_groups(ctx, command).await
            })
            .await
        }
        Command::Projects(command) => {
            with_session(json, async |ctx| {
                commands::groups::run_projects(ctx, command).await
            })
            .await
        }
    }
}

/// Help and version go to stdout as usual; real usage errors become one `error:` line.
fn usage_error(err: &clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
    }
    let text = err.to_string();
    let message = text
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    output::stderr(format_args!("error: {message} (see --help)"));
    ExitCode::from(2)
}

/// The error chain on one line; for API errors with it, the broken password rules and the
/// correlation id too. The problem's title, detail and rules come from the server: control
/// characters are escaped so that they cannot drive the terminal (or add lines).
fn error_line(err: &anyhow::Error) -> String {
    let mut line = format!("{err:#}");
    if let Some(problem) = err
        .chain()
        .find_map(|e| e.downcast_ref::<latchkey_client::Error>())
        .and_then(latchkey_client::Error::problem)
    {
        // Each broken rule once, unless the detail already says it.
        let rules: Vec<&str> = problem
            .violations
            .iter()
            .map(|v| v.message.as_str())
            .filter(|m| !line.contains(m))
            .collect();
        if !rules.is_empty() {
            line.push_str(&format!(" ({})", rules.join("; ")));
        }
        // Unless the detail already quotes it.
        if let Some(id) = problem
            .correlation_id
            .as_deref()
            .filter(|id| !id.is_empty() && !line.contains(id))
        {
            line.push_str(&format!(" [correlation id {id}]"));
        }
    }
    output::clean(&line.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Whether the command failed because stdout was closed early (`latchkey … | head -1`):
/// that is the reader's choice, not a failure. The `io::Error` may sit anywhere in the
/// chain, and wrapped: serde_json keeps it inside its own error (and its `source()` skips
/// it), a custom `io::Error` keeps it as its payload.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(caused_by_broken_pipe)
}

fn caused_by_broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        return io.kind() == BrokenPipe
            || io
                .get_ref()
                .is_some_and(|inner| caused_by_broken_pipe(inner));
    }
    if let Some(json) = err.downcast_ref::<serde_json::Error>() {
        return json.io_error_kind() == Some(BrokenPipe);
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::io::{self, Write};

    use anyhow::Context as _;

    use super::*;

    /// A stdout whose reader has gone.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn recognises_a_closed_stdout_however_wrapped() {
        let table = writeln!(ClosedPipe, "ID  EMAIL").unwrap_err();
        assert!(is_broken_pipe(&anyhow::Error::from(table)));
        let json = serde_json::to_writer_pretty(ClosedPipe, &[1, 2, 3]).unwrap_err();
        assert!(is_broken_pipe(&anyhow::Error::from(json)));
        let json = serde_json::to_writer(ClosedPipe, "x").unwrap_err();
        assert!(is_broken_pipe(
            &Err::<(), _>(json).context("printing").unwrap_err()
        ));
        let custom = io::Error::other(serde_json::to_writer(ClosedPipe, "x").unwrap_err());
        assert!(is_broken_pipe(&anyhow::Error::from(custom)));
    }

    #[test]
    fn other_errors_are_not_a_broken_pipe() {
        assert!(!is_broken_pipe(&anyhow::anyhow!("Broken pipe")));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(!is_broken_pipe(&anyhow::Error::from(denied)));
        let syntax = serde_json::from_str::<u32>("x").unwrap_err();
        assert!(!is_broken_pipe(&anyhow::Error::from(syntax)));
    }

    fn api_error(status: u16, problem: &str) -> anyhow::Error {
        latchkey_client::Error::Api {
            status,
            problem: Box::new(serde_json::from_str(problem).unwrap()),
        }
        .into()
    }

    #[test]
    fn shows_the_correlation_id_once() {
        let err = api_error(
            500,
            r#"{"type":"https://latchkey.dev/problems/internal-error","title":"Internal Server Error","status":500,"detail":"the server failed to handle the request","code":"internal_error","correlation_id":"c0ffee42"}"#,
        );
        assert_eq!(
            error_line(&err),
            "internal_error: the server failed to handle the request [correlation id c0ffee42]"
        );
        let quoted = api_error(
            500,
            r#"{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"failed (correlation id c0ffee42)","code":"internal_error","correlation_id":"c0ffee42"}"#,
        );
        assert_eq!(
            error_line(&quoted),
            "internal_error: failed (correlation id c0ffee42)"
        );
    }

    #[test]
    fn escapes_control_characters_from_the_server() {
        let err = api_error(
            400,
            r#"{"type":"about:blank","title":"Bad\u001b]0;pwned\u0007","status":400,"detail":"bad\u001b[2J\r\nnews","code":"weak_password","violations":[{"rule":"common","message":"rule\u001b[31m"}]}"#,
        );
        let line = error_line(&err);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert_eq!(line, "weak_password: bad\\u{1b}[2J news (rule\\u{1b}[31m)");
        // Without a detail, the title is shown, escaped too.
        let err = api_error(
            404,
            r#"{"type":"about:blank","title":"Not\u001b[31m found","status":404,"code":"not_found"}"#,
        );
        assert_eq!(error_line(&err), "not_found: Not\\u{1b}[31m found");
    }

    #[test]
    fn lists_broken_password_rules_the_detail_does_not_state() {
        let err = api_error(
            400,
            r#"{"type":"https://latchkey.dev/problems/weak-password","title":"Bad Request","status":400,"detail":"password must be at least 12 characters long","code":"weak_password","violations":[{"rule":"too_short","message":"password must be at least 12 characters long"},{"rule":"common","message":"password is on the list of commonly used passwords"}]}"#,
        );
        assert_eq!(
            error_line(&err),
            "weak_password: password must be at least 12 characters long (password is on the list of commonly used passwords)"
        );
    }
}
