//! Typed, layered configuration: defaults ← TOML file ← environment ← command-line flags.
//! Every invalid value stops start-up with one line naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use latchkey_core::secret::SecretString;
use latchkey_core::token::SigningAlgorithm;
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("expected `json` or `pretty`, got `{other}`")),
        }
    }
}

/// argon2id cost parameters; the defaults are OWASP's (19 MiB, 2 passes, 1 lane).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Days pruned accounts stay restorable unless `prune_retention_days` says otherwise.
pub const DEFAULT_PRUNE_RETENTION_DAYS: u32 = 30;

/// Seconds a rotated refresh token is still honoured unless
/// `refresh_reuse_grace_seconds` says otherwise.
pub const DEFAULT_REFRESH_REUSE_GRACE_SECONDS: u32 = 10;

/// The longest grace a deployment may configure: RFC 9700 wants a replayed refresh token
/// detected, and every second of grace is a second in which a copy is honoured instead.
pub const MAX_REFRESH_REUSE_GRACE_SECONDS: u32 = 60;

/// The settings the server runs with, after every layer has been applied.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…`; `None` means the SQLite file in the data directory.
    pub database_url: Option<SecretString>,
    /// The externally visible base URL, used in token issuers; `None` derives it from
    /// the address actually bound (which matters when listening on port 0).
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// Base64 of 32 bytes sealing signing keys at rest; `None` uses (or creates) the key
    /// file `encryption.key` in the data directory.
    pub encryption_key: Option<SecretString>,
    pub admin_email: String,
    pub admin_password: Option<SecretString>,
    pub hashing: HashingConfig,
    /// The algorithm of each tenant's first signing key (later keys keep the algorithm
    /// of the key they replace unless a rotation names another).
    pub signing_algorithm: SigningAlgorithm,
    /// Days a pruned account can be restored before housekeeping purges it (default 30).
    pub prune_retention_days: u32,
    /// Seconds after a refresh token's rotation during which presenting it again is
    /// honoured with another replacement (processes sharing one token, a lost answer)
    /// rather than treated as theft; 0 treats every second use as theft (default 10, at
    /// most 60).
    pub refresh_reuse_grace_seconds: u32,
    /// Issuers of Microsoft Exchange identity tokens trusted for sign-in (none: that
    /// sign-in is not configured).
    pub msexchange_issuers: Vec<crate::services::MsExchangeIssuerConfig>,
    /// `[signup] enabled`: anyone may create an account and a tenant of their own
    /// (`POST /api/v1/signup`, Squirro's `/v2/signup`). Off by default.
    pub signup_enabled: bool,
    /// `[workspaces] self_service`: any signed-in account may create tenants (Squirro
    /// workspaces) that it then administers. Off by default (platform administrators
    /// only); enabling signup enables it too.
    pub workspaces_self_service: bool,
}

/// A setting that could not be accepted.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

fn invalid(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        message: message.into(),
    }
}

/// What the command line gave; `None` means "not given".
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub config_file: Option<PathBuf>,
    pub log_format: Option<String>,
}

/// The TOML file's shape; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    log_format: Option<String>,
    encryption_key: Option<String>,
    admin_email: Option<String>,
    hashing: Option<HashingConfig>,
    signing_algorithm: Option<String>,
    prune_retention_days: Option<u32>,
    refresh_reuse_grace_seconds: Option<u32>,
    msexchange: Option<MsExchangeFile>,
    signup: Option<SignupFile>,
    workspaces: Option<WorkspacesFile>,
}

/// `[msexchange]`: `issuers = [{ issuer, jwks_file, audience }, ...]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MsExchangeFile {
    #[serde(default)]
    issuers: Vec<crate::services::MsExchangeIssuerConfig>,
}

/// `[signup]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupFile {
    enabled: Option<bool>,
}

/// `[workspaces]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspacesFile {
    self_service: Option<bool>,
}

/// A boolean environment variable: `true`/`false`, `1`/`0`, `yes`/`no` (any case).
fn env_flag(setting: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(setting, "expected true or false")),
    }
}

impl Config {
    /// Builds the configuration from flags, the process environment and the config file.
    pub fn load(overrides: Overrides) -> Result<Self, ConfigError> {
        Self::load_with_env(overrides, |name| std::env::var(name).ok())
    }

    /// As [`Config::load`], reading the environment through `env` (tests pass a map).
    pub fn load_with_env(
        overrides: Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file_path = overrides
            .config_file
            .clone()
            .or_else(|| env("LATCHKEY_CONFIG").map(PathBuf::from));
        let file = match file_path {
            Some(path) => read_file(&path)?,
            None => FileConfig::default(),
        };
        let pick = |flag: Option<String>, var: &str, from_file: Option<String>| {
            flag.or_else(|| env(var).filter(|v| !v.is_empty()))
                .or(from_file)
        };

        let listen_text = pick(overrides.listen, "LATCHKEY_LISTEN", file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(
                "listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            )
        })?;

        let data_dir = overrides
            .data_dir
            .or_else(|| {
                env("LATCHKEY_DATA_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./latchkey-data"));

        let database_url = pick(
            overrides.database_url,
            "LATCHKEY_DATABASE_URL",
            file.database_url,
        );
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must be a postgres:// URL (leave it unset for the embedded SQLite store)",
            ));
        }

        let public_url = match pick(overrides.public_url, "LATCHKEY_PUBLIC_URL", file.public_url) {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid("public_url", "must start with http:// or https://"));
                }
                Some(url.trim_end_matches('/').to_owned())
            }
            None => None,
        };

        let log_format = match pick(overrides.log_format, "LATCHKEY_LOG_FORMAT", file.log_format) {
            Some(text) => text.parse().map_err(|m: String| invalid("log_format", m))?,
            None => LogFormat::default(),
        };

        let encryption_key = pick(None, "LATCHKEY_ENCRYPTION_KEY", file.encryption_key);
        if database_url.is_some() && encryption_key.is_none() {
            // A key file would differ per node, and one node could not open the signing
            // keys another sealed.
            return Err(invalid(
                "encryption_key",
                "set LATCHKEY_ENCRYPTION_KEY (base64 of 32 bytes, the same on every node) when using PostgreSQL",
            ));
        }
        if let Some(key) = &encryption_key
            && crate::crypto::Sealer::from_base64(key).is_err()
        {
            return Err(invalid(
                "encryption_key",
                "must be base64 of exactly 32 bytes",
            ));
        }
        let admin_email = pick(None, "LATCHKEY_ADMIN_EMAIL", file.admin_email)
            .unwrap_or_else(|| "admin@example.com".to_owned());
        if latchkey_core::Email::parse(&admin_email).is_err() {
            return Err(invalid("admin_email", "is not an email address"));
        }
        let admin_password = env("LATCHKEY_ADMIN_PASSWORD").filter(|v| !v.is_empty());

        let hashing = file.hashing.unwrap_or_default();
        if hashing.memory_kib < 8 * 1024 || hashing.iterations == 0 || hashing.parallelism == 0 {
            return Err(invalid(
                "hashing",
                "memory_kib must be at least 8192 and iterations and parallelism at least 1",
            ));
        }

        let signing_algorithm =
            match pick(None, "LATCHKEY_SIGNING_ALGORITHM", file.signing_algorithm) {
                Some(name) => SigningAlgorithm::parse(&name).ok_or_else(|| {
                    invalid(
                        "signing_algorithm",
                        format!("expected `RS256` or `ES256`, got `{name}`"),
                    )
                })?,
                None => SigningAlgorithm::default(),
            };

        let prune_retention_days =
            match env("LATCHKEY_PRUNE_RETENTION_DAYS").filter(|v| !v.is_empty()) {
                Some(text) => text.trim().parse::<u32>().map_err(|_| {
                    invalid(
                        "prune_retention_days",
                        "expected a whole number of days (0-36500)",
                    )
                })?,
                None => file
                    .prune_retention_days
                    .unwrap_or(DEFAULT_PRUNE_RETENTION_DAYS),
            };
        if prune_retention_days > 36_500 {
            return Err(invalid(
                "prune_retention_days",
                "expected a whole number of days (0-36500)",
            ));
        }

        let grace_error = || {
            invalid(
                "refresh_reuse_grace_seconds",
                format!("expected a whole number of seconds (0-{MAX_REFRESH_REUSE_GRACE_SECONDS})"),
            )
        };
        let refresh_reuse_grace_seconds =
            match env("LATCHKEY_REFRESH_REUSE_GRACE_SECONDS").filter(|v| !v.is_empty()) {
                Some(text) => text.trim().parse::<u32>().map_err(|_| grace_error())?,
                None => file
                    .refresh_reuse_grace_seconds
                    .unwrap_or(DEFAULT_REFRESH_REUSE_GRACE_SECONDS),
            };
        if refresh_reuse_grace_seconds > MAX_REFRESH_REUSE_GRACE_SECONDS {
            return Err(grace_error());
        }

        // The environment (a JSON array of the same objects) replaces the file's list.
        let msexchange_issuers = match env("LATCHKEY_MSEXCHANGE_ISSUERS").filter(|v| !v.is_empty()) {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                invalid(
                    "msexchange.issuers",
                    format!(
                        "LATCHKEY_MSEXCHANGE_ISSUERS must be a JSON array of {{\"issuer\", \"jwks_file\", \"audience\"}}: {e}"
                    ),
                )
            })?,
            None => file.msexchange.map(|m| m.issuers).unwrap_or_default(),
        };
        let signup_enabled = match env("LATCHKEY_SIGNUP_ENABLED").filter(|v| !v.is_empty()) {
            Some(text) => env_flag("signup.enabled", &text)?,
            None => file.signup.and_then(|s| s.enabled).unwrap_or(false),
        };
        let workspaces_self_service =
            match env("LATCHKEY_WORKSPACES_SELF_SERVICE").filter(|v| !v.is_empty()) {
                Some(text) => env_flag("workspaces.self_service", &text)?,
                None => file
                    .workspaces
                    .and_then(|w| w.self_service)
                    .unwrap_or(false),
            };

        Ok(Self {
            listen,
            data_dir,
            database_url: database_url.map(SecretString::new),
            public_url,
            log_format,
            encryption_key: encryption_key.map(SecretString::new),
            admin_email,
            admin_password: admin_password.map(SecretString::new),
            hashing,
            signing_algorithm,
            prune_retention_days,
            refresh_reuse_grace_seconds,
            msexchange_issuers,
            signup_enabled,
            workspaces_self_service,
        })
    }

    /// The public URL, or `http://{bound}` when none is configured.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }

    /// The store URL: the configured PostgreSQL, or SQLite in the data directory.
    pub fn store_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("latchkey.db").display()),
        }
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        invalid(
            "config",
            format!("{}: {}", path.display(), e.message().replace('\n', " ")),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn load(overrides: Overrides, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load_with_env(overrides, |name| env.get(name).cloned())
    }

    #[test]
    fn defaults_apply_without_any_setting() {
        let config = load(Overrides::default(), &[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./latchkey-data"));
        assert_eq!(
            config.public_url_for(config.listen),
            "http://127.0.0.1:8080"
        );
        assert!(config.store_url().starts_with("sqlite://"));
    }

    #[test]
    fn refresh_reuse_grace_comes_from_file_or_environment_and_is_bounded() {
        assert_eq!(
            load(Overrides::default(), &[])
                .unwrap()
                .refresh_reuse_grace_seconds,
            DEFAULT_REFRESH_REUSE_GRACE_SECONDS
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(&file, "refresh_reuse_grace_seconds = 0\n").unwrap();
        let with_file = || Overrides {
            config_file: Some(file.clone()),
            ..Overrides::default()
        };
        assert_eq!(
            load(with_file(), &[]).unwrap().refresh_reuse_grace_seconds,
            0
        );
        let env = [("LATCHKEY_REFRESH_REUSE_GRACE_SECONDS", "30")];
        assert_eq!(
            load(with_file(), &env).unwrap().refresh_reuse_grace_seconds,
            30
        );
        for bad in ["61", "-1", "ten"] {
            let error = load(
                Overrides::default(),
                &[("LATCHKEY_REFRESH_REUSE_GRACE_SECONDS", bad)],
            )
            .unwrap_err();
            assert_eq!(error.setting, "refresh_reuse_grace_seconds", "{bad}");
        }
    }

    #[test]
    fn prune_retention_comes_from_file_or_environment() {
        assert_eq!(
            load(Overrides::default(), &[])
                .unwrap()
                .prune_retention_days,
            30
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(&file, "prune_retention_days = 7\n").unwrap();
        let with_file = || Overrides {
            config_file: Some(file.clone()),
            ..Overrides::default()
        };
        assert_eq!(load(with_file(), &[]).unwrap().prune_retention_days, 7);
        let env = [("LATCHKEY_PRUNE_RETENTION_DAYS", "90")];
        assert_eq!(load(with_file(), &env).unwrap().prune_retention_days, 90);
        let bad = load(
            Overrides::default(),
            &[("LATCHKEY_PRUNE_RETENTION_DAYS", "a month")],
        );
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("prune_retention_days")
        );
    }

    #[test]
    fn flags_win_over_environment_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1111\"\npublic_url = \"https://file\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:3333".into()),
            config_file: Some(file),
            ..Overrides::default()
        };
        let config = load(
            overrides,
            &[
                ("LATCHKEY_LISTEN", "127.0.0.1:2222"),
                ("LATCHKEY_PUBLIC_URL", "https://env/"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3333");
        assert_eq!(config.public_url.as_deref(), Some("https://env"));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let error = load(Overrides::default(), &[("LATCHKEY_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(error.setting, "listen");
        let error = load(
            Overrides::default(),
            &[("LATCHKEY_DATABASE_URL", "mysql://x")],
        )
        .unwrap_err();
        assert_eq!(error.setting, "database_url");
        let error = load(
            Overrides::default(),
            &[("LATCHKEY_DATABASE_URL", "postgres://db/latchkey")],
        )
        .unwrap_err();
        assert_eq!(error.setting, "encryption_key");
        let error = load(
            Overrides::default(),
            &[("LATCHKEY_ENCRYPTION_KEY", "c2hvcnQ=")],
        )
        .unwrap_err();
        assert_eq!(error.setting, "encryption_key");
        let error = load(Overrides::default(), &[("LATCHKEY_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(error.setting, "log_format");
        let error = load(
            Overrides::default(),
            &[("LATCHKEY_SIGNING_ALGORITHM", "HS256")],
        )
        .unwrap_err();
        assert_eq!(error.setting, "signing_algorithm");
        let config = load(
            Overrides::default(),
            &[("LATCHKEY_SIGNING_ALGORITHM", "ES256")],
        )
        .unwrap();
        assert_eq!(config.signing_algorithm, SigningAlgorithm::Es256);
        assert_eq!(
            load(Overrides::default(), &[]).unwrap().signing_algorithm,
            SigningAlgorithm::Rs256
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "nonsense = 1\n").unwrap();
        let error = load(
            Overrides {
                config_file: Some(file),
                ..Overrides::default()
            },
            &[],
        )
        .unwrap_err();
        assert_eq!(error.setting, "config");
    }
}
