//! What an app stores, on two instances of one database (SQLite file, or
//! one PostgreSQL schema with `CLOUDMINE_TEST_DB=postgres`): objects, files,
//! sessions and a whole social login cross from one instance to the other.

use cloudmine_emulator::EmulatorBuilder;
use reqwest::{Method, StatusCode};
use serde_json::json;

mod support;
use support::shared::Pair;
use support::user::{login_ok, me};
use support::{App, challenge, http, json_of, location, sha256_hex};

const APP: &str = "app";
const KEY: &str = "instances-data-key";
const CM: App = App(APP, KEY);
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn configure(builder: EmulatorBuilder) -> EmulatorBuilder {
    builder
        .app(APP, KEY)
        .identity("Ada", "ada.gh@example.com")
        .auto_consent(true)
        .max_file_bytes(16 * 1024 * 1024)
}

#[tokio::test]
async fn an_object_written_on_a_is_read_on_b_and_a_merge_on_b_is_seen_on_a() {
    let p = Pair::start(configure).await;
    let (s, body) = CM
        .call(
            &p.a,
            Method::PUT,
            "text",
            Some(r#"{"k": {"x": 1, "y": 2}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = CM.call(&p.b, Method::GET, "text?keys=k", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["success"]["k"]["x"], 1, "{body}");
    // POST merges: y replaced, z added, x kept.
    let (s, body) = CM
        .call(
            &p.b,
            Method::POST,
            "text",
            Some(r#"{"k": {"y": 3, "z": 4}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, body) = CM.call(&p.a, Method::GET, "text?keys=k", None).await;
    assert_eq!(body["success"]["k"]["x"], 1, "{body}");
    assert_eq!(body["success"]["k"]["y"], 3, "{body}");
    assert_eq!(body["success"]["k"]["z"], 4, "{body}");
    // A delete on A is a miss on B.
    let (s, _) = CM.call(&p.a, Method::DELETE, "data?keys=k", None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = CM.call(&p.b, Method::GET, "text?keys=k", None).await;
    assert_eq!(body["errors"]["k"]["code"], 404, "{body}");
}

#[tokio::test]
async fn a_file_uploaded_to_a_is_downloaded_whole_from_b() {
    let p = Pair::start(configure).await;
    // 3 MiB and a bit, not a multiple of any chunk size.
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let up = CM
        .request(&p.a, Method::POST, "binary/big?filename=big.bin")
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert!(up.status().is_success(), "{}", up.status());
    let down = CM
        .request(&p.b, Method::GET, "binary/big")
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::OK);
    let got = down.bytes().await.unwrap();
    assert_eq!(got.len(), data.len());
    assert_eq!(sha256_hex(&got), sha256_hex(&data));
    // Deleted on B: gone on A.
    let (s, _) = CM.call(&p.b, Method::DELETE, "data?keys=big", None).await;
    assert_eq!(s, StatusCode::OK);
    let gone = CM.request(&p.a, Method::GET, "binary/big").send().await;
    assert_eq!(gone.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_session_from_a_works_on_b_and_a_logout_on_b_ends_it_on_a() {
    let p = Pair::start(configure).await;
    let created = CM
        .request(&p.a, Method::POST, "account/create")
        .json(&json!({"credentials": {"email": "s@example.com", "password": "a long password"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let token = login_ok(&p.a, CM, "s@example.com", "a long password").await;
    assert_eq!(me(&p.b, CM, &token).await, StatusCode::OK);
    let out = CM
        .request(&p.b, Method::POST, "account/logout")
        .header("x-cloudmine-sessiontoken", &token)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    assert_eq!(me(&p.a, CM, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&p.b, CM, &token).await, StatusCode::UNAUTHORIZED);
}

/// The whole browser flow split over the two: the start URL on A, the
/// provider's consent and the callback on B (B's public URL is A's, so its
/// redirects name A and a load balancer could send them anywhere), the
/// app's status call on A; the session it hands out works on B.
#[tokio::test]
async fn a_social_login_started_on_a_is_finished_on_b_and_collected_on_a() {
    let p = Pair::start(|b| configure(b).test_idp(true)).await;
    let c = challenge(7);
    let start = CM.start_url(&p.a, &c, "github", Some(REDIRECT), &[]);
    let authorize = location(&start).await;
    let callback = location(&p.on_b(&authorize)).await;
    assert!(callback.contains("code="), "{callback}");
    assert!(location(&p.on_b(&callback)).await.starts_with(REDIRECT));
    let (s, body) = CM.status(&p.a, &c, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["finished"], true, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&p.b, CM, &token).await, StatusCode::OK);
    // Collected once, for both instances.
    let (s, _) = CM.status(&p.b, &c, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = json_of(http().get(p.on_b(&callback)).send().await.unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the code is spent: {body}");
}
