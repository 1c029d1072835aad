//! Blue/green rebuilds: a projection is rebuilt from the whole log into shadow tables while the
//! live ones keep serving, then switched in atomically once it has caught up. One path serves
//! every projection ([`rebuild`]); what differs is said by its [`Rebuildable`] implementation.
//!
//! The switch takes the live checkpoint row's lock (which every live commit also takes, so no live
//! batch can commit meanwhile), checks that the shadow has reached the live checkpoint, carries
//! over what the log cannot give back, puts the shadow tables in place of the live ones, moves the
//! shadow's checkpoint onto the live row and bumps its fencing generation: the live runner's next
//! commit fails its fence, it takes its lease again and carries on from the rebuilt checkpoint, on
//! the rebuilt tables.

use std::sync::Arc;

use returns_event_store::{EventStore, FeedPosition};

use crate::abuse::Abuse;
use crate::analytics::Analytics;
use crate::runner::{Projection, ProjectionError, Runner, RunnerSettings, Status};
use crate::webhooks::Webhooks;

/// The suffix of the shadow tables and checkpoint while a rebuild runs.
const NEXT: &str = "__next";

/// The projections `returns rebuild --projection NAME` knows.
pub const PROJECTIONS: [&str; 3] = [
    crate::analytics::NAME,
    crate::abuse::NAME,
    crate::webhooks::NAME,
];

/// A projection that can be rebuilt from the log beside its live self.
pub trait Rebuildable: Projection + Sized {
    /// The same projection over tables named with `suffix` and a checkpoint of its own, folding
    /// the log without acting on the world (it appends nothing, sends nothing).
    fn shadow(&self, suffix: &str) -> Self;

    /// The tables it owns, in the same order for the live projection and its shadow.
    fn tables(&self) -> Vec<String>;

    /// A statement run at the switch, before the tables change places, copying from the live table
    /// into the shadow what a fold of the log cannot give back.
    fn carry_over(&self, _live_table: &str, _shadow_table: &str) -> Option<String> {
        None
    }

    /// The statements that put the shadow table in place of the live one: by default the live
    /// table goes and the shadow takes its name.
    fn switch_table(&self, live_table: &str, shadow_table: &str) -> String {
        format!("DROP TABLE {live_table}; ALTER TABLE {shadow_table} RENAME TO {live_table}; ")
    }
}

/// Progress of a rebuild, for a progress bar: events applied so far.
pub trait Progress {
    fn applied(&self, events: u64);
}

impl<F: Fn(u64)> Progress for F {
    fn applied(&self, events: u64) {
        self(events)
    }
}

/// Rebuilds the projection named `name` (one of [`PROJECTIONS`]) and switches it in. `abuse` is
/// the live abuse projection's settings (its rolling window). Returns how many events the rebuild
/// applied, or `None` for an unknown name.
pub async fn rebuild_named(
    store: &EventStore,
    name: &str,
    abuse: Abuse,
    progress: &dyn Progress,
) -> Result<Option<u64>, ProjectionError> {
    let applied = match name {
        crate::analytics::NAME => rebuild(store, &Analytics::default(), progress).await?,
        crate::abuse::NAME => rebuild(store, &abuse, progress).await?,
        crate::webhooks::NAME => rebuild(store, &Webhooks::default(), progress).await?,
        _ => return Ok(None),
    };
    Ok(Some(applied))
}

/// Rebuilds `live` from the log into shadow tables and switches them in. Returns how many events
/// the rebuild applied.
pub async fn rebuild<P: Rebuildable>(
    store: &EventStore,
    live: &P,
    progress: &dyn Progress,
) -> Result<u64, ProjectionError> {
    let shadow = live.shadow(NEXT);
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
    let shadow_tables = shadow.tables();
    let mut runner = Runner::new(
        store.clone(),
        Arc::new(shadow),
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
        if switch(
            store,
            live,
            &shadow_name,
            &shadow_tables,
            runner.checkpoint(),
        )
        .await?
        {
            return Ok(applied);
        }
    }
}

async fn switch<P: Rebuildable>(
    store: &EventStore,
    live: &P,
    shadow_name: &str,
    shadow_tables: &[String],
    reached: FeedPosition,
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
    let live_at = FeedPosition {
        tx_id: row.try_get(0)?,
        position: row.try_get(1)?,
    };
    if live_at > reached {
        tx.rollback().await?;
        return Ok(false);
    }
    let mut sql = String::new();
    for (live_table, shadow_table) in live.tables().iter().zip(shadow_tables) {
        if let Some(carry) = live.carry_over(live_table, shadow_table) {
            sql.push_str(&carry);
            sql.push_str("; ");
        }
        sql.push_str(&live.switch_table(live_table, shadow_table));
    }
    tx.batch_execute(&sql).await?;
    tx.execute(
        "UPDATE projection_checkpoints l SET tx_id = s.tx_id, position = s.position, \
             events = s.events, generation = l.generation + 1, failed_event = NULL, \
             failure = NULL, updated_at = now() \
         FROM projection_checkpoints s WHERE l.name = $1 AND s.name = $2",
        &[&live.name(), &shadow_name],
    )
    .await?;
    tx.execute(
        "DELETE FROM projection_checkpoints WHERE name = $1",
        &[&shadow_name],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
