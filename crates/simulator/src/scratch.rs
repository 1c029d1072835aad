//! A scratch database for one simulation run, on the PostgreSQL server of a given URL.

use returns_event_store::with_database;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::SimError;

/// A freshly created, empty database named `returns_sim_<unique>`. It is not migrated here, and
/// not dropped when this value is dropped: call [`ScratchDatabase::drop_database`].
#[derive(Debug, Clone)]
pub struct ScratchDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl ScratchDatabase {
    /// Creates the database on the server `server_url` points to (whichever database it names;
    /// the server's `postgres` database is used to create it).
    pub async fn create(server_url: &str) -> Result<ScratchDatabase, SimError> {
        let name = format!("returns_sim_{}", Uuid::now_v7().simple());
        let admin_url = with_database(server_url, "postgres");
        admin(&admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(ScratchDatabase {
            url: with_database(server_url, &name),
            name,
            admin_url,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection string for the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, closing any connection still open to it.
    pub async fn drop_database(self) -> Result<(), SimError> {
        admin(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await
    }
}

async fn admin(url: &str, statement: &str) -> Result<(), SimError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let handle = tokio::spawn(connection);
    let result = client.batch_execute(statement).await;
    drop(client);
    let _ = handle.await;
    Ok(result?)
}
