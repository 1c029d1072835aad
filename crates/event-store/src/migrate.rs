//! Schema migrations: the SQL files of the repository's `migrations/` folder, embedded in the binary
//! and applied in order. An applied migration is never edited; a change is a new file.

use deadpool_postgres::Pool;

use crate::error::{Result, StoreError};

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Serialises concurrent migrators (several service instances starting at once) on one lock.
const MIGRATION_LOCK_KEY: i64 = 0x7265_7475_726e_7301; // "returns\x01"

/// Applies every pending migration, holding a session advisory lock so that instances starting
/// together migrate one after the other. Returns the version the schema is at afterwards.
pub async fn migrate(pool: &Pool) -> Result<i64> {
    let mut client = pool.get().await?;
    // A migration may take long on a large database: no statement or lock timeout while it runs
    // (restored below, before the connection returns to the pool).
    client
        .batch_execute("SET statement_timeout = 0; SET lock_timeout = 0")
        .await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let outcome = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(&mut **client)
        .await;
    // Release even when the run failed; the connection returns to the pool afterwards.
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    let reset = client
        .batch_execute("RESET statement_timeout; RESET lock_timeout")
        .await;
    let report = outcome.map_err(|e| StoreError::Migration(e.to_string()))?;
    unlock?;
    reset?;
    for m in report.applied_migrations() {
        tracing::info!(version = m.version(), name = m.name(), "migration applied");
    }
    applied_version(pool).await
}

/// The newest migration compiled into this binary.
pub fn latest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// The newest migration applied to the database (0 when none is).
pub async fn applied_version(pool: &Pool) -> Result<i64> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT max(version)::bigint FROM refinery_schema_history",
            &[],
        )
        .await;
    match row {
        Ok(Some(row)) => Ok(row.try_get::<_, Option<i64>>(0)?.unwrap_or(0)),
        Ok(None) => Ok(0),
        // The history table does not exist before the first migration.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => Ok(0),
        Err(e) => Err(e.into()),
    }
}
