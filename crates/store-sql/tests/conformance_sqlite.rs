//! The store conformance suite on SQLite, each case on a fresh database file.

use std::sync::Arc;

use secondstory_store::AppStore;
use secondstory_store_sql::SqlStore;

async fn fresh_store() -> Option<Arc<dyn AppStore>> {
    // The directory must outlive the store: leak it for the test's lifetime (tests are short).
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let url = format!("sqlite:{}", dir.join("secondstory.db").display());
    Some(Arc::new(
        SqlStore::open(&url).await.expect("open SQLite store"),
    ))
}

secondstory_store::conformance_tests!(fresh_store());

#[tokio::test]
async fn a_new_database_is_created_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("new.db");
    let store = SqlStore::open(&format!("sqlite:{}", path.display()))
        .await
        .expect("open");
    assert!(path.exists(), "the file is created on first use");
    store.ping().await.expect("ping");
    store.close().await;
    let wal = std::fs::read(&path).expect("read db");
    // Bytes 18 and 19 of the SQLite header are 2 when the database is in WAL mode.
    assert_eq!((wal[18], wal[19]), (2, 2), "journal mode is WAL");
}

#[tokio::test]
async fn opening_twice_applies_migrations_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("again.db").display());
    let first = SqlStore::open(&url).await.expect("first open");
    let (a, b) = tokio::join!(SqlStore::open(&url), SqlStore::open(&url));
    a.expect("concurrent open a");
    b.expect("concurrent open b");
    first.ping().await.expect("still works");
}

#[tokio::test]
async fn an_unknown_url_scheme_is_a_clear_error() {
    let err = SqlStore::open("mysql://localhost/x")
        .await
        .expect_err("unsupported");
    assert!(
        err.to_string()
            .contains("expected sqlite:PATH or postgres://"),
        "{err}"
    );
}
