//! `binary/{key}` with a plain HTTP client: the three upload forms, limits,
//! errors, persistence, and the objects API's view of files.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use cloudmine_emulator::Emulator;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

mod support;
use support::{App, json_of, sha256_hex};

const APP: &str = "app";
const KEY: &str = "files-test-secret";
const CM: App = App(APP, KEY);

/// An emulator on `database`; `:memory:` means the backend the tests run
/// on (`support::builder()`), a path a SQLite file.
async fn emulator(database: &str, files: &Path) -> Emulator {
    let builder = if database == ":memory:" {
        support::builder()
    } else {
        Emulator::builder().database(database)
    };
    builder
        .app(APP, KEY)
        .files_dir(files)
        .file_limit(APP, 64 * 1024)
        .start()
        .await
        .unwrap()
}

async fn download(emu: &Emulator, key: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = CM
        .request(emu, Method::GET, &format!("binary/{key}"))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

/// The JS SDK's body, byte for byte: one part, base64, CRLF, no final CRLF.
fn js_sdk_body(boundary: &str, filename: &str, content_type: &str, data: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--{boundary}--"
    )
}

#[tokio::test]
async fn three_upload_forms_store_the_same_bytes() {
    let files = tempfile::tempdir().unwrap();
    let emu = emulator(":memory:", files.path()).await;
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = sha256_hex(&data);

    // 1. Raw body with its content type; file name as a query parameter.
    let (s, b) = json_of(
        CM.request(&emu, Method::POST, "binary/raw?filename=raw.dat")
            .header("content-type", "application/x-raw")
            .body(data.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b,
        json!({"key": "raw", "size": data.len(), "content_type": "application/x-raw", "sha256": sha, "filename": "raw.dat"})
    );

    // 2. Binary multipart (as curl -F or a browser form sends it).
    let part = reqwest::multipart::Part::bytes(data.clone())
        .file_name("form.bin")
        .mime_str("image/webp")
        .unwrap();
    let (s, b) = json_of(
        CM.request(&emu, Method::PUT, "binary/form")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["content_type"], "image/webp");
    assert_eq!(b["filename"], "form.bin");
    assert_eq!(b["sha256"], sha.as_str());

    // 3. The JS SDK's base64 multipart.
    let boundary = "0123456789abcdef0123456789abcdef";
    let (s, b) = json_of(
        CM.request(&emu, Method::POST, "binary/js")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(js_sdk_body(boundary, "js.png", "image/png", &data))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["content_type"], "image/png");
    assert_eq!(b["size"], data.len());
    assert_eq!(b["sha256"], sha.as_str());

    for (key, content_type) in [
        ("raw", "application/x-raw"),
        ("form", "image/webp"),
        ("js", "image/png"),
    ] {
        let (s, headers, body) = download(&emu, key).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, data, "{key}");
        assert_eq!(headers["content-type"], content_type);
        assert_eq!(headers["etag"], format!("\"{sha}\"").as_str());
    }
    // Identical contents share one blob on disk (SQLite; PostgreSQL keeps
    // contents in the database, tested in postgres.rs).
    if on_sqlite() {
        let blobs: Vec<_> = walk(&files.path().join("blobs"));
        assert_eq!(blobs.len(), 1, "{blobs:?}");
    }

    // Metadata through the objects API, and a search on it.
    let (s, b) = json_of(
        CM.request(&emu, Method::GET, "text?keys=raw")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["success"]["raw"]["__type__"], "file");
    assert_eq!(b["success"]["raw"]["size"], data.len());
    let q = "search?q=%5Bcontent_type%20%3D%20%22image%2Fpng%22%5D";
    let (_, b) = json_of(CM.request(&emu, Method::GET, q).send().await.unwrap()).await;
    assert_eq!(
        b["success"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["js"]
    );

    // Deleting every key frees the blob.
    let (s, _) = json_of(
        CM.request(&emu, Method::DELETE, "data?keys=raw,form,js")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!on_sqlite() || walk(&files.path().join("blobs")).is_empty());
    let (s, _, _) = download(&emu, "raw").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Whether the emulators of `emulator(":memory:", ..)` keep file contents
/// on disk (SQLite) rather than in PostgreSQL.
fn on_sqlite() -> bool {
    !support::postgres::requested()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn bad_uploads_are_refused_with_clear_errors() {
    let files = tempfile::tempdir().unwrap();
    let emu = emulator(":memory:", files.path()).await;
    let boundary = "b0undary";
    let multipart = format!("multipart/form-data; boundary={boundary}");

    // Over the app's limit: raw (by Content-Length), multipart and base64
    // (while streaming).
    let (s, b) = json_of(
        CM.request(&emu, Method::POST, "binary/big")
            .body(vec![0u8; 64 * 1024 + 1])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    let (s, _) = json_of(
        CM.request(&emu, Method::POST, "binary/big")
            .header("content-type", &multipart)
            .body(js_sdk_body(boundary, "x", "a/b", &[1u8; 70 * 1024]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // Broken base64, a body without the file part, a truncated body.
    let bad_b64 = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@\r\n--{boundary}--"
    );
    let no_file = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--{boundary}--"
    );
    let truncated = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nhalf a fi"
    );
    for (body, expected) in [
        (bad_b64, "base64"),
        (no_file, "no part named"),
        (truncated, "multipart"),
    ] {
        let (s, b) = json_of(
            CM.request(&emu, Method::POST, "binary/bad")
                .header("content-type", &multipart)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(
            b["errors"][0].as_str().unwrap().contains(expected),
            "{expected}: {b}"
        );
    }

    // Wrong method, wrong key, unknown app, user level without a session.
    let (s, _) = json_of(
        CM.request(&emu, Method::DELETE, "binary/x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = json_of(
        Client::new()
            .post(CM.url(&emu, "binary/x"))
            .header("x-cloudmine-apikey", "wrong")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json_of(
        Client::new()
            .post(format!("{}/v1/app/nope/binary/x", emu.base_url()))
            .header("x-cloudmine-apikey", KEY)
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = json_of(
        CM.request(&emu, Method::POST, "user/binary/x")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Nothing was kept from any of them (on disk: SQLite's files dir).
    if on_sqlite() {
        assert!(walk(&files.path().join("blobs")).is_empty());
        for _ in 0..100 {
            if walk(&files.path().join("tmp")).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(walk(&files.path().join("tmp")).is_empty());
    }
    let (_, listed) = CM.call(&emu, Method::GET, "text", None).await;
    assert_eq!(listed["success"], json!({}), "no file was stored");
}

#[tokio::test]
async fn files_survive_a_restart_and_force_download_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.sqlite");
    let db = db.to_str().unwrap();
    let emu = Emulator::builder()
        .app(APP, KEY)
        .database(db)
        .start()
        .await
        .unwrap();
    let (s, _) = json_of(
        CM.request(&emu, Method::POST, "binary/kept?filename=kept%20file.txt")
            .header("content-type", "text/plain")
            .body("still here")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    emu.shutdown().await.unwrap();
    // The default files directory sits next to the database.
    assert!(dir.path().join("data.sqlite-files").join("blobs").is_dir());

    let emu = Emulator::builder()
        .app(APP, KEY)
        .database(db)
        .start()
        .await
        .unwrap();
    let resp = CM
        .request(&emu, Method::GET, "binary/kept?force_download=true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"kept file.txt\""
    );
    assert_eq!(resp.text().await.unwrap(), "still here");
}
