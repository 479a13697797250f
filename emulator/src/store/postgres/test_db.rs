//! Test support: a fresh, empty database per test on the PostgreSQL server
//! named by `CLOUDMINE_TEST_PG_URL` (`postgres://user@host:port/db`). The
//! tests' one rule for a missing dependency holds here too, from the same
//! file the integration tests use (`emulator/tests/support/skip.rs`):
//! without the variable a test skips, saying so, except on CI (`$CI` set,
//! not empty, `0` or `false`), where it fails; `.ci/run` starts a server
//! and sets it.

use deadpool_postgres::GenericClient;

use super::db::Pg;

#[path = "../../../tests/support/skip.rs"]
mod skip;

/// The variable naming the test server.
const URL_VAR: &str = "CLOUDMINE_TEST_PG_URL";

/// The test server's URL; `None` after the skip rule printed
/// `SKIPPED: <test>: …` when it is not configured (a failure on CI).
pub(super) fn server_url() -> Option<String> {
    if let Ok(url) = std::env::var(URL_VAR) {
        return Some(url);
    }
    skip::skip_or_fail(&format!("set {URL_VAR} to run it against PostgreSQL"));
    None
}

/// A migrated, empty database of its own for the test `name`, or `None`
/// (see [`server_url`]).
pub(super) async fn fresh(name: &str) -> Option<Pg> {
    let url = server_url()?;
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server answers");
    tokio::spawn(connection);
    let db = format!("pgb_{name}_{}", crate::crypto::random_hex(6));
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("a test database can be created");
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url.as_str(), String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let pg = Pg::connect(&format!("{server}/{db}{query}"))
        .await
        .expect("the test database opens");
    Some(pg)
}

/// A setting as the connection or transaction `client` sees it (`SHOW`).
pub(super) async fn show(client: &impl GenericClient, name: &str) -> String {
    let row = client.query_one(&format!("SHOW {name}"), &[]).await;
    row.expect("SHOW answers").get(0)
}
