//! Support for Latchkey's own test suites: throwaway PostgreSQL databases. Not used by
//! the server; public so every crate's tests share one implementation.

use sqlx::{Connection as _, Executor as _};

/// Names the PostgreSQL server tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";
/// When `1`, a missing PostgreSQL fails the tests instead of skipping them.
pub const REQUIRE_ALL_VAR: &str = "LATCHKEY_REQUIRE_ALL";

/// The PostgreSQL server to test against: `Ok(None)` (after a loud notice) when none is
/// configured, `Err` when none is configured but `LATCHKEY_REQUIRE_ALL=1`.
pub fn postgres_url(suite: &str) -> Result<Option<String>, String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Ok(Some(url)),
        _ if std::env::var(REQUIRE_ALL_VAR).as_deref() == Ok("1") => Err(format!(
            "{REQUIRE_ALL_VAR}=1 but {POSTGRES_URL_VAR} is not set: the PostgreSQL {suite} cannot run"
        )),
        _ => {
            eprintln!(
                "!!!! PostgreSQL {suite} SKIPPED: set {POSTGRES_URL_VAR} \
                 (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it !!!!"
            );
            Ok(None)
        }
    }
}

/// A database created for one test and dropped when this value is dropped (also when
/// the test panics).
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// Connection URL of the new database.
    pub url: String,
}

impl TestDatabase {
    pub async fn create(admin_url: &str) -> Result<Self, sqlx::Error> {
        let suffix = latchkey_core::id::random_id()
            .to_lowercase()
            .replace('-', "_");
        let name = format!("latchkey_test_{suffix}");
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = std::mem::take(&mut self.admin_url);
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await; a short-lived runtime on its own thread runs the DROP, which
        // also works from inside a single-threaded test runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                admin
                    .execute(statement.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                admin.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// `url` with its database (the path) replaced by `name`, query string kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced_and_query_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
    }
}
