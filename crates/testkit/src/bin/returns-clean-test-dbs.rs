//! Drops test databases left behind by a test run that was killed before it could clean up.

use tokio_postgres::NoTls;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, connection) =
        tokio_postgres::connect(&returns_testkit::admin_url(), NoTls).await?;
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'returns\\_test\\_%'",
            &[],
        )
        .await?;
    for row in rows {
        let name: String = row.try_get(0)?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        println!("dropped {name}");
    }
    Ok(())
}
