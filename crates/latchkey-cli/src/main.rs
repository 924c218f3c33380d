//! `latchkey`: runs the server (`serve`) and administers one through the SDK.

mod commands;
mod output;
mod serve;
mod session_file;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use commands::audit::AuditArgs;
use commands::auth::LoginArgs;
use commands::keys::KeysCommand;
use commands::sessions::SessionsCommand;
use commands::tenants::TenantsCommand;
use commands::users::UsersCommand;
use commands::with_session;

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
    /// Sign in and store the session in the config directory.
    Login(LoginArgs),
    /// Sign out and delete the stored session.
    Logout,
    /// Show the signed-in account.
    Whoami,
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Manage a tenant's users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// List and revoke users' sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Show a tenant's audit log.
    Audit(AuditArgs),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
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
            eprintln!("error: {}", error_line(&err));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Login(args) => commands::auth::login(args, json).await,
        Command::Logout => commands::auth::logout(json).await,
        Command::Whoami => with_session(json, async |ctx| commands::auth::whoami(ctx).await).await,
        Command::Tenants(command) => {
            with_session(json, async |ctx| commands::tenants::run(ctx, command).await).await
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
        Command::Audit(args) => {
            with_session(json, async |ctx| commands::audit::run(ctx, args).await).await
        }
        Command::Keys(command) => {
            with_session(json, async |ctx| commands::keys::run(ctx, command).await).await
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
    eprintln!("error: {message} (see --help)");
    ExitCode::from(2)
}

/// The error chain on one line; for API errors with it, the broken password rules and the
/// correlation id too.
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
        if let Some(id) = &problem.correlation_id {
            line.push_str(&format!(" [correlation id {id}]"));
        }
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
