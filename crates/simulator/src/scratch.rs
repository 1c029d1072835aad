//! A scratch database for one simulation run, on the PostgreSQL server of a given URL.

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

/// `url` with its database name replaced by `name`, in the URL form or the `key=value` form of
/// connection strings.
pub fn with_database(url: &str, name: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let scheme = url.strip_suffix(rest).unwrap_or("postgres://");
        let (before_query, query) = match rest.find('?') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = before_query
            .split_once('/')
            .map_or(before_query, |(authority, _)| authority);
        format!("{scheme}{authority}/{name}{query}")
    } else {
        // In the key=value form a later key wins.
        format!("{url} dbname={name}")
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/returns", "s1"),
            "postgres://postgres@127.0.0.1:5432/s1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "s1"),
            "postgresql://u:p@h/s1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "s1"), "postgres://h/s1");
        assert_eq!(
            with_database("host=/tmp user=me", "s1"),
            "host=/tmp user=me dbname=s1"
        );
    }
}
