//! Running the real `returns` binary from tests: start it, mint tokens for it, keep its output.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use returns_api::auth::Role;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

pub const SECRET: &str = "crash-test-secret-crash-test-secret!";

/// A token the binary started by [`start`] accepts.
pub fn token(role: Role, sub: &str) -> String {
    returns_testkit::mint(SECRET, role, sub)
}

/// Everything the binary wrote to standard output and standard error, line by line.
pub type Output = Arc<Mutex<Vec<String>>>;

fn collect<R: AsyncRead + Unpin + Send + 'static>(reader: R, output: Output) {
    let mut lines = BufReader::new(reader).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            output.lock().unwrap().push(line);
        }
    });
}

/// Starts `returns serve` on a free port against `database_url`, with `env` on top of the test
/// settings; answers the child, its URL and its output (kept as it comes).
pub async fn start(database_url: &str, env: &[(&str, &str)]) -> (Child, String, Output) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_returns"));
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("RETURNS_JWT_SECRET", SECRET)
        .env("RETURNS_LISTEN", "127.0.0.1:0")
        .env("RETURNS_DB_POOL_SIZE", "8")
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let output: Output = Arc::default();
    collect(child.stdout.take().expect("stdout"), output.clone());
    collect(child.stderr.take().expect("stderr"), output.clone());
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let found = output.lock().unwrap().iter().find_map(|line| {
                line.strip_prefix("returns service listening on ")
                    .map(|url| url.trim().to_owned())
            });
            if let Some(url) = found {
                return url;
            }
            if child.try_wait().unwrap().is_some() {
                panic!(
                    "the service exited before listening: {:?}",
                    output.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the service listens within a minute");
    (child, url, output)
}
