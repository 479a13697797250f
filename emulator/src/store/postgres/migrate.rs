//! Schema migrations for PostgreSQL: numbered steps applied in order in one
//! transaction when the pool opens, the version kept in `schema_version`.
//! An advisory lock serialises instances starting at the same time. A new
//! step is appended to [`MIGRATIONS`], never edited in place; a database
//! whose version is higher than this binary's is refused.
//!
//! Step 1 is the SQLite schema of the same day (`sqlite/migrate.rs` steps
//! 1–6) in PostgreSQL types: object values are kept as the text clients
//! sent (key order and number spelling preserved) with a `jsonb` copy
//! generated from it for queries and indexes (with `\u0000` escapes,
//! which `jsonb` refuses, read as U+FFFD in that copy only).

use crate::store::{StoreError, StoreResult};

/// The oldest PostgreSQL this backend runs on (12: stored generated columns).
const MIN_SERVER_VERSION: i32 = 120_000;

/// The migration steps; step `n` (from 1) is `MIGRATIONS[n - 1]`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite schema had at version 6.
    "
CREATE TABLE apps (
    app_id  TEXT PRIMARY KEY,
    api_key TEXT NOT NULL
);
CREATE TABLE users (
    app_id        TEXT NOT NULL,
    id            TEXT NOT NULL,
    email         TEXT,
    username      TEXT,
    password_hash TEXT,
    profile       TEXT NOT NULL DEFAULT '{}',
    created       BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE INDEX users_by_email ON users (app_id, email);
CREATE INDEX users_by_username ON users (app_id, username);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (app_id, user_id);
CREATE TABLE social_identities (
    app_id      TEXT NOT NULL,
    network     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created     BIGINT NOT NULL,
    PRIMARY KEY (app_id, network, provider_id)
);
CREATE INDEX social_identities_by_user ON social_identities (app_id, user_id);
CREATE TABLE password_resets (
    token_sha256 TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE TABLE objects (
    app_id  TEXT NOT NULL,
    owner   TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    -- The copy for queries and indexes: jsonb cannot hold U+0000, so a
    -- `\\u0000` escape becomes U+FFFD here (escaped backslashes are first
    -- spelt `\\u005c` so `\\\\u0000`, a backslash then text, is left alone);
    -- `value` keeps the exact text.
    doc     JSONB GENERATED ALWAYS AS
                (replace(replace(value, '\\\\', '\\u005c'), '\\u0000', '\\ufffd')::jsonb) STORED,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (app_id, owner, key)
);
CREATE INDEX objects_by_class ON objects (app_id, owner, (doc->>'__class__'), key);
CREATE INDEX objects_doc ON objects USING GIN (doc jsonb_path_ops);
CREATE TABLE social_logins (
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
    session_expires_ms   BIGINT,
    expires_ms           BIGINT NOT NULL
);
CREATE TABLE social_used_challenges (
    challenge  TEXT PRIMARY KEY,
    expires_ms BIGINT NOT NULL
);
CREATE TABLE files (
    app_id       TEXT NOT NULL,
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    filename     TEXT NOT NULL,
    created      BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    PRIMARY KEY (app_id, owner, key)
);
CREATE INDEX files_by_sha256 ON files (sha256);
CREATE TABLE bb_users (
    username      TEXT PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    generated     BOOLEAN NOT NULL,
    email         TEXT,
    created       BIGINT NOT NULL
);
CREATE TABLE bb_sessions (
    token_sha256 TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE TABLE bb_links (
    network     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    username    TEXT NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    token       TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created     BIGINT NOT NULL,
    PRIMARY KEY (network, provider_id)
);
CREATE UNIQUE INDEX bb_links_one_per_network ON bb_links (username, network);
CREATE TABLE acls (
    app_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    owner       TEXT NOT NULL,
    permissions TEXT NOT NULL,
    everyone    BOOLEAN NOT NULL DEFAULT FALSE,
    value       TEXT NOT NULL,
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE INDEX acls_by_owner ON acls (app_id, owner);
CREATE INDEX acls_for_everyone ON acls (app_id) WHERE everyone;
CREATE TABLE acl_members (
    app_id TEXT NOT NULL,
    acl_id TEXT NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (app_id, acl_id, member)
);
CREATE INDEX acl_members_by_member ON acl_members (app_id, member);
CREATE TABLE object_access (
    app_id TEXT NOT NULL,
    owner  TEXT NOT NULL,
    key    TEXT NOT NULL,
    acl_id TEXT NOT NULL,
    PRIMARY KEY (app_id, owner, key, acl_id)
);
CREATE INDEX object_access_by_acl ON object_access (app_id, acl_id);
CREATE TABLE provider_tokens (
    app_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    network TEXT NOT NULL,
    token   TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id, network)
);
",
    // 2: file contents in the database, in chunks deleted with their file.
    "
CREATE TABLE file_chunks (
    app_id TEXT NOT NULL,
    owner  TEXT NOT NULL,
    key    TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (app_id, owner, key, seq),
    FOREIGN KEY (app_id, owner, key) REFERENCES files (app_id, owner, key) ON DELETE CASCADE
);
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
",
    // 3: what is in flight between requests (store/flight.rs), shared by
    // every instance: link tickets, device and paste-back logins, the
    // built-in provider's codes and tokens (all by SHA-256), and the mails
    // and pushes "sent".
    "
CREATE TABLE link_tickets (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_sha256  TEXT NOT NULL UNIQUE,
    app_id         TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    session_sha256 TEXT NOT NULL,
    expires_ms     BIGINT NOT NULL
);
CREATE INDEX link_tickets_by_user ON link_tickets (app_id, user_id);
CREATE INDEX link_tickets_by_expiry ON link_tickets (expires_ms);
CREATE TABLE device_logins (
    challenge_sha256 TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    code_challenge   TEXT NOT NULL,
    expires_ms       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    settled          BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX device_logins_by_app ON device_logins (app_id);
CREATE TABLE idp_codes (
    code_sha256    TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    identity       TEXT NOT NULL,
    code_challenge TEXT,
    expires_ms     BIGINT NOT NULL
);
CREATE INDEX idp_codes_by_expiry ON idp_codes (expires_ms);
CREATE TABLE idp_tokens (
    token_sha256 TEXT PRIMARY KEY,
    identity     TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE INDEX idp_tokens_by_expiry ON idp_tokens (expires_ms);
CREATE TABLE sent (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind   TEXT NOT NULL,
    app_id TEXT NOT NULL,
    item   TEXT NOT NULL
);
CREATE INDEX sent_by_kind ON sent (kind, seq);
",
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key that serialises migrations (any constant works;
/// this one is "cloudmin" in ASCII).
const MIGRATION_LOCK: i64 = 0x636c_6f75_646d_696e;

/// Checks the server's version and the database's encoding, then brings
/// the schema to [`SCHEMA_VERSION`]: the missing steps and the new version
/// in one transaction, so a failed step leaves the database as it was.
pub(super) async fn migrate(client: &mut deadpool_postgres::Object) -> StoreResult<()> {
    let row = client.query_one("SHOW server_version_num", &[]).await?;
    let version_num: i32 = row.get::<_, String>(0).trim().parse().unwrap_or(0);
    if version_num < MIN_SERVER_VERSION {
        return Err(StoreError::Invalid(format!(
            "PostgreSQL {version_num} is too old: cloudmine-emulator needs 12 or newer"
        )));
    }
    // Clients send any Unicode text: another encoding would refuse some of
    // it (LATIN1 an emoji) or keep it unchecked (SQL_ASCII).
    let row = client.query_one("SHOW server_encoding", &[]).await?;
    let encoding: String = row.get(0);
    if !encoding.eq_ignore_ascii_case("UTF8") {
        return Err(StoreError::Invalid(format!(
            "the PostgreSQL database's encoding is {encoding}: cloudmine-emulator needs UTF8 \
             (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)"
        )));
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let version: i64 = match tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "database schema version {version} is newer than this emulator's {SCHEMA_VERSION}; \
             use a newer cloudmine-emulator or another database"
        )));
    }
    let done = usize::try_from(version).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(done) {
        tx.batch_execute(step).await?;
    }
    if version < SCHEMA_VERSION {
        tx.execute("UPDATE schema_version SET version = $1", &[&SCHEMA_VERSION])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
