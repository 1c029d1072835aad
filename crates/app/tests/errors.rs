//! What a database failure means to a caller (docs/api.md, "Errors"): real errors raised by
//! PostgreSQL, classified as the API answers them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use returns_app::AppError;
use returns_testkit::TestDb;

/// The error PostgreSQL gives for `sql`, as the app sees it.
async fn app_error(db: &TestDb, sql: &str) -> AppError {
    let client = db.pool().get().await.unwrap();
    let e = client.batch_execute(sql).await.expect_err(sql);
    AppError::from(e)
}

fn raising(code: &str) -> String {
    format!("DO $$ BEGIN RAISE EXCEPTION 'raised in a test' USING ERRCODE = '{code}'; END $$")
}

#[tokio::test]
async fn deadlocks_and_serialization_failures_are_contention() {
    let db = TestDb::new().await;
    for code in ["40P01", "40001"] {
        let e = app_error(&db, &raising(code)).await;
        assert!(matches!(e, AppError::Contended), "{code}: {e:?}");
    }
}

#[tokio::test]
async fn shutdowns_timeouts_and_full_servers_are_unavailable() {
    let db = TestDb::new().await;
    for code in [
        "57P01", "57P02", "57P03", "53300", "08006", "55P03", "25006",
    ] {
        let e = app_error(&db, &raising(code)).await;
        assert!(matches!(e, AppError::Unavailable(_)), "{code}: {e:?}");
    }
    // A real statement timeout, as the pool's `statement_timeout` raises it.
    let e = app_error(&db, "SET statement_timeout = 10; SELECT pg_sleep(1)").await;
    assert!(matches!(e, AppError::Unavailable(_)), "{e:?}");
}

#[tokio::test]
async fn other_database_errors_stay_internal() {
    let db = TestDb::new().await;
    for code in ["23505", "42P01", "22008"] {
        let e = app_error(&db, &raising(code)).await;
        assert!(matches!(e, AppError::Internal(_)), "{code}: {e:?}");
    }
}

/// The service's connections carry the statement and lock timeouts of its pool settings.
#[tokio::test]
async fn pool_connections_carry_their_timeouts() {
    let db = TestDb::new().await;
    let client = db.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')",
            &[],
        )
        .await
        .unwrap();
    let (statement, lock): (String, String) = (row.get(0), row.get(1));
    assert_eq!((statement.as_str(), lock.as_str()), ("30s", "10s"));
}
