//! PostgreSQL URLs: which databases are PostgreSQL ones, parsing a URL
//! into a connection config, and a URL's form without its password (for
//! `Debug` output and messages). A password never appears in an error.

use crate::store::{StoreError, StoreResult};

/// Whether `database` names a PostgreSQL database (`postgres://` or
/// `postgresql://`) rather than a SQLite path.
pub fn is_postgres_url(database: &str) -> bool {
    let lower = database.get(..13).unwrap_or(database).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The password of a PostgreSQL URL as written (between the user's `:`
/// and the last `@` of the authority), with where it starts.
fn password_span(url: &str) -> Option<(usize, &str)> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let colon = userinfo.find(':')?;
    let password = &userinfo[colon + 1..];
    (!password.is_empty()).then_some((start + colon + 1, password))
}

/// `database` with the password of a PostgreSQL URL replaced by `***`
/// (anything else as it is). Works on URLs that do not parse too.
pub fn redacted(database: &str) -> String {
    if !is_postgres_url(database) {
        return database.to_owned();
    }
    match password_span(database) {
        Some((at, password)) => {
            format!("{}***{}", &database[..at], &database[at + password.len()..])
        }
        None => database.to_owned(),
    }
}

/// The connection config of `url`; a URL that cannot be used is refused
/// with a message that does not repeat its password.
pub(super) fn parse(url: &str) -> StoreResult<tokio_postgres::Config> {
    url.parse::<tokio_postgres::Config>().map_err(|e| {
        let mut message = e.to_string();
        if let Some((_, secret)) = password_span(url) {
            message = message.replace(secret, "***");
        }
        StoreError::Invalid(format!(
            "the PostgreSQL URL {} cannot be used: {message}",
            redacted(url)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_databases_are_postgres() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!is_postgres_url(":memory:"));
        assert!(!is_postgres_url("postgres.sqlite"));
    }

    #[test]
    fn the_password_is_hidden() {
        let shown = redacted("postgres://me:hunter2@db.example/app");
        assert_eq!(shown, "postgres://me:***@db.example/app");
        assert_eq!(redacted("data.sqlite"), "data.sqlite");
        assert_eq!(redacted("postgres://me@h/db"), "postgres://me@h/db");
        assert_eq!(
            redacted("postgres://me:p@ss@h:x/db?a=b"),
            "postgres://me:***@h:x/db?a=b"
        );
        let e = parse("postgres://me:hunter2@db.example:notaport/app").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
