//! Schema migrations: numbered steps, applied in order in one transaction
//! when the database opens, the version kept in `PRAGMA user_version`.
//!
//! Steps 1–3 are the schema versions the emulator stamped before it had
//! migrations (1: users, sessions and objects; 2: social logins in flight;
//! 3: files). The BaasBox tables came later without a version of their own,
//! so they are step 4. Every step creates with `IF NOT EXISTS`: a database
//! of any earlier version, which may already hold some of these tables,
//! migrates cleanly. A new step is appended to [`MIGRATIONS`], never edited
//! in place. A database whose version is higher than this binary's is
//! refused with a clear error instead of being used half-understood.

use rusqlite::Connection;

use crate::store::StoreError;

/// The migration steps; step `n` (from 1) is `MIGRATIONS[n - 1]`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: apps, users, sessions, linked identities, password resets, objects.
    "
CREATE TABLE IF NOT EXISTS apps (
    app_id  TEXT PRIMARY KEY,
    api_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    app_id        TEXT NOT NULL,
    id            TEXT NOT NULL,
    email         TEXT,
    username      TEXT,
    password_hash TEXT,
    profile       TEXT NOT NULL DEFAULT '{}',
    created       INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS social_identities (
    app_id      TEXT NOT NULL,
    network     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created     INTEGER NOT NULL,
    PRIMARY KEY (app_id, network, provider_id)
);
CREATE TABLE IF NOT EXISTS password_resets (
    token_sha256 TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    app_id  TEXT NOT NULL,
    owner   TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (app_id, owner, key)
);
",
    // 2: social logins in flight (one row per challenge, deleted when the
    // status call consumes it) and challenges already used (kept 10 minutes).
    "
CREATE TABLE IF NOT EXISTS social_logins (
    challenge            TEXT PRIMARY KEY,
    app_id               TEXT NOT NULL,
    network              TEXT NOT NULL,
    redirect_uri         TEXT,
    code_challenge       TEXT,
    link_user_id         TEXT,
    scope                TEXT,
    state                TEXT NOT NULL UNIQUE,
    status               TEXT NOT NULL DEFAULT 'pending',
    error                TEXT,
    error_description    TEXT,
    user_id              TEXT,
    session_token_sha256 TEXT,
    session_token        TEXT,
    session_expires_ms   INTEGER,
    expires_ms           INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS social_used_challenges (
    challenge  TEXT PRIMARY KEY,
    expires_ms INTEGER NOT NULL
);
",
    // 3: files (contents on disk, by SHA-256).
    "
CREATE TABLE IF NOT EXISTS files (
    app_id       TEXT NOT NULL,
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    filename     TEXT NOT NULL,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    PRIMARY KEY (app_id, owner, key)
);
CREATE INDEX IF NOT EXISTS files_by_sha256 ON files (sha256);
",
    // 4: the BaasBox front end's users, sessions and social links.
    "
CREATE TABLE IF NOT EXISTS bb_users (
    username      TEXT PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    generated     INTEGER NOT NULL,
    email         TEXT,
    created       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bb_sessions (
    token_sha256 TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bb_links (
    network     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    username    TEXT NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    token       TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created     INTEGER NOT NULL,
    PRIMARY KEY (network, provider_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS bb_links_one_per_network ON bb_links (username, network);
",
    // 5: ACLs, their members (indexed by member), and the index of the ACL
    // ids user-level objects list in `__access__` (filled from the objects
    // already stored; `json_each` of a string `__access__` is that string).
    "
CREATE TABLE IF NOT EXISTS acls (
    app_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    owner       TEXT NOT NULL,
    permissions TEXT NOT NULL,
    everyone    INTEGER NOT NULL DEFAULT 0,
    value       TEXT NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE INDEX IF NOT EXISTS acls_by_owner ON acls (app_id, owner);
CREATE INDEX IF NOT EXISTS acls_for_everyone ON acls (app_id) WHERE everyone = 1;
CREATE TABLE IF NOT EXISTS acl_members (
    app_id TEXT NOT NULL,
    acl_id TEXT NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (app_id, acl_id, member)
);
CREATE INDEX IF NOT EXISTS acl_members_by_member ON acl_members (app_id, member);
CREATE TABLE IF NOT EXISTS object_access (
    app_id TEXT NOT NULL,
    owner  TEXT NOT NULL,
    key    TEXT NOT NULL,
    acl_id TEXT NOT NULL,
    PRIMARY KEY (app_id, owner, key, acl_id)
);
CREATE INDEX IF NOT EXISTS object_access_by_acl ON object_access (app_id, acl_id);
WITH tagged AS MATERIALIZED (
    SELECT app_id, owner, key, value FROM objects
    WHERE owner <> '' AND json_valid(value) AND value LIKE '%__access__%'
)
INSERT OR IGNORE INTO object_access (app_id, owner, key, acl_id)
SELECT t.app_id, t.owner, t.key, j.value
FROM tagged t, json_each(t.value, '$.__access__') j
WHERE j.type = 'text';
",
    // 6: the access token a social login got from the provider, one per
    // (app, user, network), for social graph queries (never sent to clients).
    "
CREATE TABLE IF NOT EXISTS provider_tokens (
    app_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    network TEXT NOT NULL,
    token   TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, network)
);
",
    // 7: what is in flight between requests, so several instances can share
    // the database (store/flight.rs): link tickets, device and paste-back
    // logins, the built-in provider's codes and tokens (all by SHA-256),
    // and the mails and pushes "sent".
    "
CREATE TABLE IF NOT EXISTS link_tickets (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_sha256  TEXT NOT NULL UNIQUE,
    app_id         TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    session_sha256 TEXT NOT NULL,
    expires_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS link_tickets_by_user ON link_tickets (app_id, user_id);
CREATE INDEX IF NOT EXISTS link_tickets_by_expiry ON link_tickets (expires_ms);
CREATE TABLE IF NOT EXISTS device_logins (
    challenge_sha256 TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    code_challenge   TEXT NOT NULL,
    expires_ms       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    settled          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS device_logins_by_app ON device_logins (app_id);
CREATE TABLE IF NOT EXISTS idp_codes (
    code_sha256    TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    identity       TEXT NOT NULL,
    code_challenge TEXT,
    expires_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idp_codes_by_expiry ON idp_codes (expires_ms);
CREATE TABLE IF NOT EXISTS idp_tokens (
    token_sha256 TEXT PRIMARY KEY,
    identity     TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idp_tokens_by_expiry ON idp_tokens (expires_ms);
CREATE TABLE IF NOT EXISTS sent (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL,
    app_id TEXT NOT NULL,
    item   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_by_kind ON sent (kind, seq);
",
    // 8: searches by class use an index (`search.rs` writes this exact
    // expression, so the planner can match it; values that are not JSON,
    // from older versions, index as NULL).
    "
CREATE INDEX IF NOT EXISTS objects_by_class ON objects
    (app_id, owner, json_extract(CASE WHEN json_valid(value) THEN value END, '$.__class__'));
",
    // 9: the class index also orders by key. Without the key, a search's
    // `ORDER BY key LIMIT n` made the planner walk the primary key through
    // the whole namespace instead (200,000 rows read for 50).
    "
DROP INDEX IF EXISTS objects_by_class;
CREATE INDEX IF NOT EXISTS objects_by_class_key ON objects
    (app_id, owner, json_extract(CASE WHEN json_valid(value) THEN value END, '$.__class__'), key);
",
];

/// Steps 1–4: the schema as it was when migrations were introduced.
const BASELINE: usize = 4;

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]: the missing steps and the new
/// version in one transaction, so a failed step leaves the database as it was.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "database schema version {version} is newer than this emulator's {SCHEMA_VERSION}; \
             use a newer cloudmine-emulator or another database"
        )));
    }
    // Databases stamped before migrations existed (versions 0 to 3) were
    // given the whole schema of their day on every open, whatever their
    // stamp: they get the whole baseline again (it is idempotent).
    let done = match usize::try_from(version) {
        Ok(v) if v >= BASELINE => v,
        _ => 0,
    };
    for step in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(step)?;
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_database_is_refused_and_steps_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        // Every step again over the finished schema: nothing fails.
        for step in MIGRATIONS {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let e = migrate(&mut conn).unwrap_err().to_string();
        assert!(e.contains("newer than this emulator"), "{e}");
    }
}
