//! `latchkey serve`: runs the server until SIGTERM or SIGINT, then drains and exits 0.

use std::path::PathBuf;

use anyhow::Context as _;
use latchkey_server::config::{Config, LogFormat, Overrides};
use latchkey_server::{BootstrapOutcome, Server};
use tracing_subscriber::EnvFilter;

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on [env: LATCHKEY_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<String>,
    /// Directory for the SQLite store and the key file [env: LATCHKEY_DATA_DIR] [default: ./latchkey-data]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL instead of the embedded SQLite store [env: LATCHKEY_DATABASE_URL]
    #[arg(long)]
    pub database_url: Option<String>,
    /// Externally visible base URL used in token issuers [env: LATCHKEY_PUBLIC_URL]
    #[arg(long)]
    pub public_url: Option<String>,
    /// TOML configuration file [env: LATCHKEY_CONFIG]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log format: pretty or json [env: LATCHKEY_LOG_FORMAT]
    #[arg(long)]
    pub log_format: Option<String>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        public_url: args.public_url,
        config_file: args.config,
        log_format: args.log_format,
    })?;
    init_logging(config.log_format);
    let server = Server::build(&config).await?;
    let address = server.local_addr().context("reading the bound address")?;
    match server.bootstrap_outcome() {
        BootstrapOutcome::CreatedWithGeneratedPassword { email, password } => {
            // Printed once, to stderr, never logged: it exists nowhere else.
            eprintln!(
                "latchkey: created platform administrator {email} in tenant `default` with the generated password: {}",
                password.expose()
            );
            eprintln!("latchkey: this password is shown only once; sign in and change it.");
        }
        BootstrapOutcome::CreatedWithConfiguredPassword { email } => {
            eprintln!(
                "latchkey: created platform administrator {email} in tenant `default` with the password from LATCHKEY_ADMIN_PASSWORD"
            );
        }
        BootstrapOutcome::AlreadyInitialised => {}
    }
    eprintln!("latchkey listening on http://{address}");
    tracing::info!(%address, public_url = server.public_url(), "serving");
    server.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
