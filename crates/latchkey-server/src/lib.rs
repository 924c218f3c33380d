//! Latchkey's HTTP server: the native API under `/api/v1`, built from injected pieces
//! (configuration, store, clock) so tests can start it on port 0 and stop it at will.

pub mod api;
mod bootstrap;
mod cache;
pub mod config;
pub mod crypto;
pub mod dialects;
pub mod housekeeping;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod password;
pub mod services;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use latchkey_core::token::TokenLifetimes;
use latchkey_core::{Clock, LockoutPolicy, SystemClock};
use tokio::net::TcpListener;

pub use bootstrap::BootstrapOutcome;
use config::Config;
use services::Services;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Store(#[from] latchkey_store::StoreError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Seal(#[from] crypto::SealError),
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error("bootstrap failed: {0}")]
    Bootstrap(String),
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    services: Arc<Services>,
    bootstrap: BootstrapOutcome,
}

impl Server {
    /// Opens the store, binds the listener and bootstraps an empty instance.
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`Server::build`] with an injected clock (tests move time instead of sleeping).
    pub async fn build_with_clock(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let sealer = Arc::new(match &config.encryption_key {
            Some(key) => crypto::Sealer::from_base64(key.expose())?,
            None => crypto::Sealer::from_key_file(&config.data_dir)?,
        });
        let store = latchkey_store::connect(&config.store_url()).await?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    address: config.listen,
                    source,
                })?;
        let bound = listener
            .local_addr()
            .map_err(|source| StartupError::Listen {
                address: config.listen,
                source,
            })?;
        let hasher = password::PasswordHasher::new(&config.hashing)?;
        let services = Arc::new(Services {
            keys: keys::KeyService::new(
                Arc::clone(&store),
                Arc::clone(&sealer),
                Arc::clone(&clock),
                config.signing_algorithm,
            ),
            sealer,
            store,
            hasher,
            clock,
            metrics: Arc::new(metrics::Metrics::default()),
            lockout: LockoutPolicy::default(),
            lifetimes: TokenLifetimes {
                refresh_reuse_grace: time::Duration::seconds(i64::from(
                    config.refresh_reuse_grace_seconds,
                )),
                ..TokenLifetimes::default()
            },
            public_url: config.public_url_for(bound),
            hot: services::HotRows::default(),
            prune_retention: time::Duration::days(i64::from(config.prune_retention_days)),
            msexchange: services::MsExchangeTrust::load(&config.msexchange_issuers)?,
            signup_enabled: config.signup_enabled,
            workspaces_self_service: config.workspaces_self_service || config.signup_enabled,
        });
        let bootstrap = bootstrap::bootstrap(&services, config).await?;
        services.hasher.release_idle_areas();
        Ok(Self {
            listener,
            services,
            bootstrap,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn public_url(&self) -> &str {
        &self.services.public_url
    }

    pub fn services(&self) -> Arc<Services> {
        Arc::clone(&self.services)
    }

    /// What bootstrapping did (a generated admin password is in here, exactly once).
    pub fn bootstrap_outcome(&self) -> &BootstrapOutcome {
        &self.bootstrap
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping::run(Arc::clone(&self.services)));
        let app = api::router(self.services);
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        housekeeping.abort();
        served
    }
}
