//! Test support: a fresh, empty database per test on the PostgreSQL server
//! named by `CLOUDMINE_TEST_PG_URL` (`postgres://user@host:port/db`); the
//! tests skip, saying so, when it is not set.

use super::db::Pg;

/// The variable naming the test server.
const URL_VAR: &str = "CLOUDMINE_TEST_PG_URL";

/// A migrated, empty database of its own for the test `name`, or `None`
/// (after saying why on stderr) when no test server is configured.
pub(super) async fn fresh(name: &str) -> Option<Pg> {
    let Ok(url) = std::env::var(URL_VAR) else {
        eprintln!("skipped {name}: set {URL_VAR} to run it against PostgreSQL");
        return None;
    };
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
