//! CloudMine session tokens and password-reset tokens are stored as their
//! SHA-256 only: the SQLite file the emulator uses is opened after a real
//! sign-up, login and reset request, and searched cell by cell (and byte by
//! byte) for the raw tokens. BaasBox's sessions have the same check in
//! `baasbox.rs` (`sessions_and_links_survive_a_restart`).

use std::path::Path;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::json;

mod support;
use support::user::User;
use support::{App, sha256_hex};

const APP: App = App("hash-app", "hash-key");

/// Every text or blob cell of every table but `skip`, as
/// `(table, cell bytes)`.
fn cells(db: &Path, skip: &str) -> Vec<(String, Vec<u8>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut names = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap();
    let tables: Vec<String> = names
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Vec::new();
    for table in tables.iter().filter(|t| *t != skip) {
        let mut select = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = select.column_count();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..width {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        out.push((table.clone(), b.to_vec()))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// Whether any cell of `table` is exactly `value`.
fn holds(cells: &[(String, Vec<u8>)], table: &str, value: &str) -> bool {
    cells
        .iter()
        .any(|(t, cell)| t == table && cell == value.as_bytes())
}

/// Whether `needle` is anywhere in the cells (any table).
fn anywhere(cells: &[(String, Vec<u8>)], needle: &str) -> Option<String> {
    cells
        .iter()
        .find(|(_, cell)| cell.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(t, _)| t.clone())
}

#[tokio::test]
async fn session_and_reset_tokens_are_stored_as_their_hash_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cm.sqlite");
    let emu = Emulator::builder()
        .app(APP.0, APP.1)
        .database(db.to_str().unwrap())
        .start()
        .await
        .unwrap();
    // A session from a real password login, one from the hook.
    let user = User::sign_up(&emu, APP, "hashed@example.com").await;
    let seeded = User::seeded(&emu, APP, "seeded@example.com").await;
    let r = APP
        .request(&emu, Method::POST, "account/password/reset")
        .json(&json!({"email": "hashed@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mails = emu.outbox().await.unwrap();
    let reset = mails.last().expect("a reset mail").token.clone();
    assert!(reset.len() >= 32, "a real token: {reset:?}");
    emu.shutdown().await.unwrap();

    // The outbox (`sent`) keeps reset mails in clear by design (see
    // docs/EMULATOR.md); every other table holds only hashes.
    let stored = cells(&db, "sent");
    for token in [&user.token, &seeded.token] {
        assert_eq!(anywhere(&stored, token), None, "a session token in clear");
        assert!(
            holds(&stored, "sessions", &sha256_hex(token.as_bytes())),
            "the session is stored by its SHA-256"
        );
    }
    assert_eq!(anywhere(&stored, &reset), None, "a reset token in clear");
    assert!(
        holds(&stored, "password_resets", &sha256_hex(reset.as_bytes())),
        "the reset is stored by its SHA-256"
    );
    // Session tokens are in no byte of the files either (the WAL included).
    for file in [db.clone(), dir.path().join("cm.sqlite-wal")] {
        let raw = std::fs::read(&file).unwrap_or_default();
        for token in [&user.token, &seeded.token] {
            assert!(
                !raw.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds a session token",
                file.display()
            );
        }
    }
}
