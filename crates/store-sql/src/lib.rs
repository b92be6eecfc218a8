//! The SQL store: SQLite (embedded default, zero configuration) and PostgreSQL (teams, several
//! stateless instances), chosen by URL.
//!
//! The schema uses only types both engines share (TEXT, BIGINT µs timestamps, JSON arrays as
//! TEXT) and `$N` parameters, which SQLite accepts too, so the queries are written once
//! ([`queries`]) and run through sqlx's `Any` driver; what differs per engine (DDL, the migration
//! lock, how a write transaction starts) lives in [`Backend`] and `migrations/<engine>/`. The
//! conformance suite in `secondstory-store` runs against both.

mod access;
mod filters;
mod migrate;
mod queries;
mod rows;
mod search;

use std::str::FromStr;
use std::time::Duration;

use secondstory_store::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AnyPool, Executor, SqlitePool};

pub use migrate::MIGRATIONS_TABLE;

/// The default database: a file in the current directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:./secondstory.db";

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Backend {
                context: "choosing a database from the URL".into(),
                message: format!(
                    "`{}` is not a database URL (expected sqlite:PATH or postgres://…)",
                    redact(url)
                ),
            })
        }
    }

    /// A positional parameter for generated multi-row statements. SQLite looks up every named
    /// parameter (`$N` included) with a linear scan, which is quadratic over a statement with
    /// thousands of parameters; its anonymous `?` binds by position without a lookup.
    fn positional_parameter(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// The whole timeline of an incident as one JSON array of rows, ordered. One row instead of
    /// thousands: the SQLite driver hands rows between threads one by one, which dominated the
    /// time to load a large timeline.
    fn timeline_as_json(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT json_group_array(json_array(at_us, at_offset, at_zone, source, source_ref, \
                 actor, kind, text, key_moment, hidden, evidence_url) ORDER BY at_us, source, id) \
                 AS timeline FROM events WHERE incident_id = $1"
            }
            Backend::Postgres => {
                "SELECT COALESCE(json_agg(json_build_array(at_us, at_offset, at_zone, source, \
                 source_ref, actor, kind, text, key_moment, hidden, evidence_url) ORDER BY at_us, \
                 source, id), '[]')::text AS timeline FROM events WHERE incident_id = $1"
            }
        }
    }

    /// SQLite takes the write lock at BEGIN so two writers queue on busy_timeout instead of
    /// failing with SQLITE_BUSY when a reader tries to upgrade; PostgreSQL locks rows as it goes.
    fn begin_statement(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }
}

/// A store over one database. Cheap to clone; holds connection pools and no other state.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite files only: the same database through sqlx's SQLite driver itself, for imports of
    /// many events. The `Any` driver copies every text argument once more on its way to SQLite,
    /// which was a large part of what a bulk import spent outside SQLite. Connects on first use.
    bulk: Option<SqlitePool>,
}

/// Set on every SQLite connection, of either pool.
const SQLITE_PRAGMAS: [&str; 6] = [
    // WAL lets readers proceed during a write; NORMAL sync is durable with WAL.
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    // A large import is one transaction whose pages are written once (rows are appended; no index
    // in time order since migration 4), so a larger cache did not make it faster; 16 MiB per
    // connection keeps peak memory of an import under 200 MB with the parsers' read-ahead.
    "PRAGMA cache_size = -16384",
    "PRAGMA temp_store = MEMORY",
];

impl SqlStore {
    /// Connect (creating a SQLite file if needed) and bring the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let joiner = if url.contains('?') { '&' } else { '?' };
                format!("{url}{joiner}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Backend {
            context: format!("reading the database URL `{}`", redact(&url)),
            message: e.to_string(),
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend {
                context: format!("connecting to `{}`", redact(&url)),
                message: e.to_string(),
            })?;
        let bulk = match backend {
            // An in-memory database is private to its connection: the other pool would not see it.
            Backend::Sqlite if !url.contains(":memory:") && !url.contains("mode=memory") => {
                Some(bulk_pool(&url)?)
            }
            _ => None,
        };
        let store = SqlStore {
            pool,
            backend,
            bulk,
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers; for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db("checking the database"))?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(bulk) = &self.bulk {
            bulk.close().await;
        }
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        self.pool
            .begin_with(self.backend.begin_statement())
            .await
            .map_err(db("starting a transaction"))
    }
}

/// The SQLite driver's own pool over the same file (see [`SqlStore::bulk`]), with the same
/// settings; it connects when first used.
fn bulk_pool(url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Backend {
        context: format!("reading the database URL `{}`", redact(url)),
        message: e.to_string(),
    })?;
    Ok(SqlitePoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// Maps a database error to a store error that says what was being done.
pub(crate) fn db(context: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Backend {
        context: context.to_owned(),
        message: e.to_string(),
    }
}

/// Whether a failed transaction is worth running again: PostgreSQL serialization failures and
/// deadlocks, and SQLite's busy/locked (after busy_timeout ran out).
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(
                d.code().as_deref(),
                Some("40001" | "40P01" | "5" | "6" | "517")
            )
        }
        _ => false,
    }
}

/// A URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_error_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("sqlite:./secondstory.db"), "sqlite:./secondstory.db");
    }

    #[test]
    fn the_backend_is_chosen_from_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite:x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        assert!(
            Backend::from_url("mysql://h/db")
                .unwrap_err()
                .to_string()
                .contains("not a database URL")
        );
    }
}

pub mod testing {
    //! Scratch databases for tests of this crate and its dependents.
    //!
    //! PostgreSQL tests use `SECONDSTORY_TEST_POSTGRES_URL` (default: the local trust-auth server's
    //! `test` database). Each store gets its own schema, so tests run in parallel without seeing
    //! each other. With `CI=true` an unreachable server is a failure, never a skip.

    use std::sync::atomic::{AtomicU64, Ordering};

    use sqlx::Connection;

    pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    static SCHEMAS: AtomicU64 = AtomicU64::new(0);

    fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    /// The base URL of the test server, or `None` (with a message) when it is unreachable outside
    /// CI. Panics in CI when it is unreachable.
    pub async fn postgres_base_url() -> Option<String> {
        sqlx::any::install_default_drivers();
        let url = std::env::var("SECONDSTORY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned());
        match sqlx::AnyConnection::connect(&url).await {
            Ok(conn) => {
                let _ = conn.close().await;
                Some(url)
            }
            Err(e) if in_ci() => panic!("CI=true but PostgreSQL at {url} is unreachable: {e}"),
            Err(e) => {
                eprintln!(
                    "skipping PostgreSQL test: {url} is unreachable ({e}); CI=true makes this fail"
                );
                None
            }
        }
    }

    /// A URL whose connections see only a fresh, empty schema.
    pub async fn scratch_postgres_url(base: &str) -> String {
        let schema = format!(
            "ss_test_{}_{}_{}",
            std::process::id(),
            SCHEMAS.fetch_add(1, Ordering::Relaxed),
            jiff_free_nonce()
        );
        let mut conn = sqlx::AnyConnection::connect(base)
            .await
            .expect("connect to test PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        let _ = conn.close().await;
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}options=-c%20search_path%3D{schema}")
    }

    /// Distinguishes runs of the same pid (containers reuse pids) without reading a clock.
    fn jiff_free_nonce() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        hasher.finish() % 1_000_000
    }
}
