//! Blue/green rebuilds: a projection is rebuilt from the whole log into shadow tables while the
//! live ones keep serving, then switched in atomically once it has caught up.
//!
//! The switch takes the live checkpoint row's lock (which every live commit also takes, so no live
//! batch can commit meanwhile), checks that the shadow has reached the live checkpoint, renames the
//! tables, moves the shadow's checkpoint onto the live row and bumps its fencing generation: the
//! live runner's next commit fails its fence, it takes its lease again and carries on from the
//! rebuilt checkpoint, on the rebuilt tables.

use std::sync::Arc;

use returns_event_store::EventStore;

use crate::analytics::Analytics;
use crate::runner::{Projection, ProjectionError, Runner, RunnerSettings, Status};

/// The suffix of the shadow tables and checkpoint while a rebuild runs.
const NEXT: &str = "__next";

/// Progress of a rebuild, for a progress bar: events applied so far.
pub trait Progress {
    fn applied(&self, events: u64);
}

impl<F: Fn(u64)> Progress for F {
    fn applied(&self, events: u64) {
        self(events)
    }
}

/// Rebuilds the analytics projection from the log and switches it in. Returns how many events the
/// rebuilt tables hold.
pub async fn rebuild_analytics(
    store: &EventStore,
    progress: &dyn Progress,
) -> Result<u64, ProjectionError> {
    let live = Analytics::default();
    let shadow = Analytics::with_suffix(NEXT);
    {
        let client = store.pool().get().await?;
        let mut sql = String::new();
        for (live_table, shadow_table) in live.tables().iter().zip(shadow.tables()) {
            sql.push_str(&format!(
                "DROP TABLE IF EXISTS {shadow_table}; \
                 CREATE TABLE {shadow_table} (LIKE {live_table} INCLUDING ALL); "
            ));
        }
        client.batch_execute(&sql).await?;
        client
            .execute(
                "DELETE FROM projection_checkpoints WHERE name = $1",
                &[&shadow.name()],
            )
            .await?;
    }
    let shadow_name = shadow.name().to_owned();
    let mut runner = Runner::new(
        store.clone(),
        Arc::new(shadow.clone()),
        RunnerSettings {
            batch: 5_000,
            ..RunnerSettings::default()
        },
    );
    if !runner.acquire().await? {
        return Err(ProjectionError::LeaseLost(shadow_name));
    }
    let mut applied = 0u64;
    loop {
        // Catch up with the feed...
        while let Status::Applied(n) = runner.step().await? {
            applied += n as u64;
            progress.applied(applied);
        }
        // ...then try to switch; if the live projection moved past the shadow meanwhile, catch up
        // again.
        if switch(store, &live, &shadow, runner.checkpoint()).await? {
            return Ok(applied);
        }
    }
}

async fn switch(
    store: &EventStore,
    live: &Analytics,
    shadow: &Analytics,
    reached: returns_event_store::FeedPosition,
) -> Result<bool, ProjectionError> {
    let mut client = store.pool().get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&live.name()],
    )
    .await?;
    let row = tx
        .query_one(
            "SELECT tx_id, position FROM projection_checkpoints WHERE name = $1 FOR UPDATE",
            &[&live.name()],
        )
        .await?;
    let live_at = returns_event_store::FeedPosition {
        tx_id: row.try_get(0)?,
        position: row.try_get(1)?,
    };
    if live_at > reached {
        tx.rollback().await?;
        return Ok(false);
    }
    let mut sql = String::new();
    for (live_table, shadow_table) in live.tables().iter().zip(shadow.tables()) {
        sql.push_str(&format!(
            "DROP TABLE {live_table}; ALTER TABLE {shadow_table} RENAME TO {live_table}; "
        ));
    }
    tx.batch_execute(&sql).await?;
    tx.execute(
        "UPDATE projection_checkpoints l SET tx_id = s.tx_id, position = s.position, \
             events = s.events, generation = l.generation + 1, failed_event = NULL, \
             failure = NULL, updated_at = now() \
         FROM projection_checkpoints s WHERE l.name = $1 AND s.name = $2",
        &[&live.name(), &shadow.name()],
    )
    .await?;
    tx.execute(
        "DELETE FROM projection_checkpoints WHERE name = $1",
        &[&shadow.name()],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
