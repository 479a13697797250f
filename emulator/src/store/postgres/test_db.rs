//! Test support: a fresh, empty database per test on the PostgreSQL server
//! named by `CLOUDMINE_TEST_PG_URL` (`postgres://user@host:port/db`). The
//! tests' one rule for a missing dependency holds here too
//! (`emulator/tests/support/skip.rs`): without the variable a test skips,
//! saying so, except on CI (`$CI` set, not empty, `0` or `false`), where it
//! fails; `.ci/run` starts a server and sets it.

use std::io::Write as _;

use super::db::Pg;

/// The variable naming the test server.
const URL_VAR: &str = "CLOUDMINE_TEST_PG_URL";

/// Whether a value of `$CI` (`None`: unset) means the tests run on CI.
fn is_ci_value(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(v) => !v.eq_ignore_ascii_case("false"),
    }
}

/// The test server's URL; `None` after printing `SKIPPED: <test>: …`
/// (uncaptured) when it is not configured; a failure instead on CI.
pub(super) fn server_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(URL_VAR) {
        return Some(url);
    }
    let reason = format!("set {URL_VAR} to run it against PostgreSQL");
    assert!(
        !is_ci_value(std::env::var("CI").ok().as_deref()),
        "CI is set, so {test} cannot be skipped: {reason}"
    );
    let line = format!("SKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    None
}

/// A migrated, empty database of its own for the test `name`, or `None`
/// (see [`server_url`]).
pub(super) async fn fresh(name: &str) -> Option<Pg> {
    let url = server_url(name)?;
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

#[test]
fn only_an_unset_empty_zero_or_false_ci_is_not_ci() {
    for off in [None, Some(""), Some(" 0 "), Some("false"), Some("FALSE")] {
        assert!(!is_ci_value(off), "{off:?}");
    }
    for on in [Some("true"), Some("1"), Some("yes")] {
        assert!(is_ci_value(on), "{on:?}");
    }
}
