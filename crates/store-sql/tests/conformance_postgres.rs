//! The store conformance suite on PostgreSQL, each case in its own schema.
//!
//! Needs the server at `SECONDSTORY_TEST_POSTGRES_URL` (default: 127.0.0.1:5432, database `test`).
//! Outside CI an unreachable server skips these tests with a message; with `CI=true` it fails them.

use std::sync::Arc;

use secondstory_store::AppStore;
use secondstory_store_sql::{SqlStore, testing};

async fn fresh_store() -> Option<Arc<dyn AppStore>> {
    let base = testing::postgres_base_url().await?;
    let url = testing::scratch_postgres_url(&base).await;
    Some(Arc::new(
        SqlStore::open(&url).await.expect("open PostgreSQL store"),
    ))
}

secondstory_store::conformance_tests!(fresh_store());

#[tokio::test]
async fn concurrent_first_opens_migrate_once_under_the_lock() {
    let Some(base) = testing::postgres_base_url().await else {
        return;
    };
    let url = testing::scratch_postgres_url(&base).await;
    let (a, b, c) = tokio::join!(
        SqlStore::open(&url),
        SqlStore::open(&url),
        SqlStore::open(&url)
    );
    for store in [a, b, c] {
        store
            .expect("every instance opens")
            .ping()
            .await
            .expect("ping");
    }
}
