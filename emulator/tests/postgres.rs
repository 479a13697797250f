//! The PostgreSQL backend over real HTTP: objects, files (chunked in the
//! database, streamed back) and users on a real server; two emulators on
//! one database; and the refusals at start (a bad URL, an unreachable
//! server, a schema newer than the binary, a database not in UTF8), none
//! showing the password.
//! Skipped outside CI when no PostgreSQL can be started here.

use std::process::{Command, Stdio};

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::json;

mod support;
use support::user::User;
use support::{App, json_of, postgres, sha256_hex};

const CM: App = App("app", "pg-test-key");
const MASTER: App = App("app", "pg-test-master");

/// A fresh schema's URL, or `None` (the test is skipped) without PostgreSQL.
fn url() -> Option<String> {
    postgres::fresh_url()
}

/// The schema a [`url`] names.
fn schema_of(url: &str) -> &str {
    url.rsplit("search_path%3D").next().unwrap()
}

async fn start(url: &str) -> Emulator {
    Emulator::builder()
        .app(CM.0, CM.1)
        .master_key(MASTER.0, MASTER.1)
        .database(url)
        .start()
        .await
        .unwrap()
}

/// The error of a start on `url` that must fail.
async fn refused(url: &str) -> String {
    Emulator::builder()
        .app(CM.0, CM.1)
        .database(url)
        .start()
        .await
        .unwrap_err()
        .to_string()
}

fn count(schema: &str, table: &str) -> u64 {
    postgres::psql(&format!("SELECT count(*) FROM {schema}.{table}"))
        .unwrap()
        .parse()
        .unwrap()
}

async fn upload(emu: &Emulator, key: &str, data: &[u8]) -> StatusCode {
    CM.request(emu, Method::PUT, &format!("binary/{key}"))
        .header("content-type", "application/x-test")
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn download(emu: &Emulator, key: &str) -> (StatusCode, Vec<u8>) {
    let r = CM
        .request(emu, Method::GET, &format!("binary/{key}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn objects_and_files_live_in_postgres_and_two_instances_share_them() {
    let Some(url) = url() else { return };
    let a = start(&url).await;
    let b = start(&url).await;
    let (s, _) = CM
        .call(
            &a,
            Method::PUT,
            "text",
            Some(r#"{"k": {"x": {"y": 1}, "n": [1]}}"#),
        )
        .await;
    assert!(s.is_success(), "{s}");
    let (s, body) = CM
        .call(
            &b,
            Method::POST,
            "text",
            Some(r#"{"k": {"x": {"z": 2}, "n": [2]}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, got) = CM.call(&a, Method::GET, "text?keys=k", None).await;
    assert_eq!(
        got["success"]["k"],
        json!({"x": {"y": 1, "z": 2}, "n": [2]})
    );

    // A file of three chunks, uploaded to A and downloaded whole from B.
    let data: Vec<u8> = (0..600_000u32).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(upload(&a, "big", &data).await, StatusCode::CREATED);
    let (s, got) = download(&b, "big").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sha256_hex(&got), sha256_hex(&data));
    assert_eq!(count(schema_of(&url), "file_chunks"), 3);
    let (_, listed) = CM.call(&b, Method::GET, "text", None).await;
    assert_eq!(listed["success"]["big"]["__type__"], "file");
    assert_eq!(listed["success"]["big"]["size"], 600_000);

    // An object written under the file's key replaces it, chunks and all.
    let (_, written) = CM
        .call(
            &b,
            Method::PUT,
            "text",
            Some(r#"{"big": {"now": "an object"}}"#),
        )
        .await;
    assert_eq!(written["success"]["big"], "updated");
    assert_eq!(download(&a, "big").await.0, StatusCode::NOT_FOUND);
    assert_eq!(count(schema_of(&url), "file_chunks"), 0);
    let (_, gone) = CM
        .call(&a, Method::DELETE, "data?keys=big,k,none", None)
        .await;
    assert_eq!(gone["success"], json!({"big": "deleted", "k": "deleted"}));
    assert_eq!(gone["errors"]["none"]["code"], 404);
}

#[tokio::test]
async fn an_empty_file_and_a_replaced_file_read_back_exactly() {
    let Some(url) = url() else { return };
    let emu = start(&url).await;
    assert_eq!(upload(&emu, "f", b"").await, StatusCode::CREATED);
    assert_eq!(download(&emu, "f").await, (StatusCode::OK, Vec::new()));
    assert_eq!(upload(&emu, "f", b"second").await, StatusCode::OK);
    assert_eq!(
        download(&emu, "f").await,
        (StatusCode::OK, b"second".to_vec())
    );
}

#[tokio::test]
async fn a_deleted_user_leaves_nothing_behind() {
    let Some(url) = url() else { return };
    let emu = start(&url).await;
    let schema = schema_of(&url).to_owned();
    let ada = User::sign_up(&emu, CM, "ada@example.com").await;
    let bob = User::sign_up(&emu, CM, "bob@example.com").await;
    // A user-level object (written directly: user-level writes consult
    // the ACLs, which this backend does not have yet).
    postgres::psql(&format!(
        "INSERT INTO {schema}.objects (app_id, owner, key, value, created, updated)
         VALUES ('app', '{}', 'mine', '{{\"a\": 1}}', 0, 0)",
        ada.id
    ))
    .unwrap();
    assert_eq!(count(&schema, "objects"), 1);
    let r = CM
        .request(&emu, Method::PUT, "user/binary/pic")
        .header("x-cloudmine-sessiontoken", &ada.token)
        .body(vec![7u8; 300_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Taken emails are refused case-insensitively, as on SQLite.
    let (s, _) = CM
        .call(
            &emu,
            Method::POST,
            "account/create",
            Some(r#"{"credentials": {"email": "ADA@example.com", "password": "pw"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = MASTER
        .call(&emu, Method::DELETE, &format!("account/{}", ada.id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    for table in ["objects", "files", "file_chunks"] {
        assert_eq!(count(&schema, table), 0, "{table}");
    }
    assert_eq!(count(&schema, "sessions"), 1, "Bob's session stays");
    assert_eq!(count(&schema, "users"), 1);
    let (s, _) = bob.call(&emu, Method::GET, "text", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ada.call(&emu, Method::GET, "text", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let Some(url) = url() else { return };
    start(&url).await.shutdown().await.unwrap();
    postgres::psql(&format!(
        "UPDATE {}.schema_version SET version = 999",
        schema_of(&url)
    ))
    .unwrap();
    let e = refused(&url).await;
    assert!(e.contains("schema version 999 is newer"), "{e}");
}

/// A LATIN1 database would refuse an emoji (or, SQL_ASCII, keep anything
/// unchecked): refused at start, naming the encoding.
#[tokio::test]
async fn a_database_not_in_utf8_is_refused() {
    let Some(port) = postgres::port() else { return };
    let name = format!("latin1_{}", std::process::id());
    postgres::psql(&format!(
        "CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' \
         TEMPLATE template0"
    ))
    .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/{name}");
    let e = refused(&url).await;
    // The refused start's connection may not have closed yet.
    postgres::psql(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
    assert!(e.contains("encoding is LATIN1"), "{e}");
    assert!(e.contains("needs UTF8"), "{e}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed again when the listener is dropped here
    let url = format!("postgres://me:sekrit-pw@127.0.0.1:{port}/db");
    let e = refused(&url).await;
    assert!(e.contains("cannot reach the PostgreSQL server"), "{e}");
    assert!(!e.contains("sekrit-pw"), "{e}");
}

#[tokio::test]
async fn a_bad_url_is_refused_without_the_password() {
    let builder = Emulator::builder()
        .app(CM.0, CM.1)
        .database("postgres://me:sekrit-pw@127.0.0.1:notaport/db");
    let shown = format!("{builder:?}");
    assert!(shown.contains("postgres://me:***@"), "{shown}");
    assert!(!shown.contains("sekrit-pw"), "{shown}");
    let e = builder.start().await.unwrap_err().to_string();
    assert!(e.contains("cannot be used"), "{e}");
    assert!(!e.contains("sekrit-pw"), "{e}");
}

#[tokio::test]
async fn the_binary_takes_db_and_keeps_the_password_out_of_its_output() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://me:sekrit-pw@127.0.0.1:{port}/db");
    for flag in ["--db", "--database"] {
        let out = Command::new(support::binary::bin())
            .args(["--listen", "127.0.0.1:0", flag, &url, "--app", "a:k"])
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("cannot reach the PostgreSQL server"),
            "{text}"
        );
        assert!(!text.contains("sekrit-pw"), "{text}");
    }
}

#[tokio::test]
async fn a_password_in_the_url_never_reaches_the_logs() {
    let Some(url) = url() else { return };
    // The test server trusts local connections, so any password works.
    let url = url.replacen("postgres@", "postgres:sekrit-pw@", 1);
    let (logs, _guard) = support::log::capture();
    let emu = start(&url).await;
    let (s, _) = CM.call(&emu, Method::GET, "text?keys=nothing", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = json_of(
        CM.request(&emu, Method::GET, "binary/nothing")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    emu.shutdown().await.unwrap();
    assert!(!logs.text().contains("sekrit-pw"));
}
