//! Versioned schema migrations, applied in order under a lock.
//!
//! Each engine has its own DDL in `migrations/<engine>/NNNN_name.sql`, embedded in the binary.
//! Several `secondstory serve` processes may start at once: on PostgreSQL an advisory lock makes
//! one of them migrate while the others wait; on SQLite the write lock taken by `BEGIN IMMEDIATE`
//! does the same. An applied migration whose text changed is refused (migrations are
//! expand/contract: add a new one, never edit an old one).

use sqlx::{Connection, Row};

use crate::{Backend, SqlStore, db};
use secondstory_store::StoreError;

pub const MIGRATIONS_TABLE: &str = "schema_migrations";

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "access, search, archive",
        sql: include_str!("../migrations/sqlite/0002_access_search_archive.sql"),
    },
    Migration {
        version: 3,
        name: "oidc",
        sql: include_str!("../migrations/sqlite/0003_oidc.sql"),
    },
    Migration {
        version: 4,
        name: "events without the timeline index",
        sql: include_str!("../migrations/sqlite/0004_events_without_timeline_index.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "access, search, archive",
        sql: include_str!("../migrations/postgres/0002_access_search_archive.sql"),
    },
    Migration {
        version: 3,
        name: "oidc",
        sql: include_str!("../migrations/postgres/0003_oidc.sql"),
    },
    Migration {
        version: 4,
        name: "events without the timeline index",
        sql: include_str!("../migrations/postgres/0004_events_without_timeline_index.sql"),
    },
];

/// Any stable number: the key of the PostgreSQL advisory lock for migrations.
const MIGRATION_LOCK_KEY: i64 = 0x5ec0_4d57_0000_0001;

pub(crate) async fn run(store: &SqlStore) -> Result<(), StoreError> {
    let migrations = match store.backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let mut conn = store
        .pool
        .acquire()
        .await
        .map_err(db("connecting for migrations"))?;
    if store.backend == Backend::Postgres {
        // Function in FROM so the row has a plain integer column (the Any driver has no `void`).
        sqlx::query("SELECT 1 AS locked FROM pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .fetch_one(&mut *conn)
            .await
            .map_err(db("waiting for the migration lock"))?;
    }
    let result = apply(&mut conn, store.backend, migrations).await;
    if store.backend == Backend::Postgres {
        let unlock = sqlx::query("SELECT pg_advisory_unlock($1) AS unlocked")
            .bind(MIGRATION_LOCK_KEY)
            .fetch_one(&mut *conn)
            .await;
        if let Err(e) = unlock {
            // The lock dies with the session; closing the connection releases it.
            conn.close_on_drop();
            result?;
            return Err(db("releasing the migration lock")(e));
        }
    }
    result
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    let mut tx = conn
        .begin_with(backend.begin_statement())
        .await
        .map_err(db("starting migrations"))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(db("creating the migrations table"))?;
    let applied = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await
        .map_err(db("reading applied migrations"))?;
    let known_versions: Vec<i64> = migrations.iter().map(|m| m.version).collect();
    for row in &applied {
        let version: i64 = row
            .try_get("version")
            .map_err(db("reading applied migrations"))?;
        let checksum: String = row
            .try_get("checksum")
            .map_err(db("reading applied migrations"))?;
        match migrations.iter().find(|m| m.version == version) {
            Some(m) if checksum_of(m.sql) != checksum => {
                return Err(StoreError::Backend {
                    context: "checking migrations".into(),
                    message: format!(
                        "migration {version} ({}) was changed after it was applied; add a new \
                         migration instead",
                        m.name
                    ),
                });
            }
            Some(_) => {}
            None => {
                return Err(StoreError::Backend {
                    context: "checking migrations".into(),
                    message: format!(
                        "the database has migration {version}, which this version of \
                         secondstory does not know (it knows {known_versions:?}); upgrade secondstory"
                    ),
                });
            }
        }
    }
    for migration in migrations.iter().skip(applied.len()) {
        for statement in statements(migration.sql) {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Backend {
                    context: format!(
                        "applying migration {} ({})",
                        migration.version, migration.name
                    ),
                    message: e.to_string(),
                })?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(checksum_of(migration.sql))
            .execute(&mut *tx)
            .await
            .map_err(db("recording a migration"))?;
    }
    // Migration 2 added derived rows (search index, visibility groups): fill them for incidents
    // written before it.
    if applied.len() < 2 && migrations.len() >= 2 {
        crate::search::refresh_all(&mut tx, backend).await?;
    }
    tx.commit().await.map_err(db("committing migrations"))
}

/// The statements of a migration file: split on `;` at line ends, comments dropped.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// FNV-1a, hex: enough to notice an edited migration, and stable across Rust versions.
fn checksum_of(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_files_split_into_statements_without_comments() {
        let parts =
            statements("-- a comment\nCREATE TABLE a (x TEXT);\nCREATE INDEX i ON a (x);\n");
        assert_eq!(
            parts,
            ["CREATE TABLE a (x TEXT)", "CREATE INDEX i ON a (x)"]
        );
    }

    #[test]
    fn both_engines_have_the_same_migration_versions() {
        let versions =
            |ms: &[Migration]| ms.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
