//! Every option's effect on the wire, asserted on what the emulator received.

mod support;

use std::time::Duration;

use cloudmine::{AppLevel, CallOptions, WebService};
use cloudmine_emulator::RecordedRequest;
use serde_json::json;
use support::*;

async fn last_request_of(emu: &cloudmine_emulator::Emulator) -> RecordedRequest {
    emu.requests()
        .pop()
        .expect("the emulator received a request")
}

#[tokio::test]
async fn default_headers_and_no_server_params() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects().get_all().await.unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, format!("/v1/app/{APP}/text"));
    assert_eq!(req.header("x-cloudmine-apikey"), Some(KEY));
    assert_eq!(
        req.header("x-cloudmine-agent"),
        Some(format!("Rust/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let ut = req.header("x-cloudmine-ut").unwrap();
    assert_eq!(ut.len(), 32);
    assert_eq!(ut, ws.options().user_token());
    assert_eq!(req.header("x-unique-id"), None);
    assert_eq!(req.header("x-cloudmine-sessiontoken"), None);
    assert_eq!(req.header("content-type"), None, "no body, no content type");
    assert!(req.query.is_empty(), "{:?}", req.query);
}

#[tokio::test]
async fn identity_options_become_headers() {
    let emu = emulator().await;
    let ws = builder(&emu)
        .app_name("My App!")
        .app_version("2.1")
        .unique_id("device-42")
        .user_token("0123456789abcdef0123456789abcdef")
        .build()
        .unwrap();
    ws.objects().set("k", json!({"v": 1})).await.unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(
        req.header("x-cloudmine-agent"),
        Some(format!("Rust/{} My_App_/2.1", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(req.header("x-unique-id"), Some("device-42"));
    assert_eq!(
        req.header("x-cloudmine-ut"),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.method, "PUT");
    assert_eq!(req.body_json(), Some(json!({"k": {"v": 1}})));
}

#[tokio::test]
async fn server_params_are_sent_in_order() {
    let emu = emulator().await;
    let ws = builder(&emu)
        .limit(10)
        .skip(5u64)
        .count(true)
        .sort(["price:desc", "make"])
        .shared(true)
        .shared_only(false)
        .extended_responses(true)
        .distance(true)
        .units("mi")
        .user_id("not-sent")
        .build()
        .unwrap();
    ws.objects().get(["a", "b"]).await.ok();
    let req = last_request_of(&emu).await;
    let names: Vec<&str> = req.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "keys",
            "limit",
            "skip",
            "count",
            "sort",
            "sort",
            "shared",
            "shared_only",
            "extended_responses",
            "distance",
            "units"
        ]
    );
    assert_eq!(req.query_value("keys"), Some("a,b"));
    assert_eq!(req.query_value("limit"), Some("10"));
    assert_eq!(req.query_value("skip"), Some("5"));
    assert_eq!(req.query_value("count"), Some("true"));
    assert_eq!(req.query_values("sort"), ["price:desc", "make"]);
    assert_eq!(req.query_value("shared"), Some("true"));
    assert_eq!(req.query_value("shared_only"), Some("false"));
    assert_eq!(req.query_value("extended_responses"), Some("true"));
    assert_eq!(req.query_value("distance"), Some("true"));
    assert_eq!(req.query_value("units"), Some("mi"));
    assert_eq!(req.query_value("userid"), None, "ids never go into URLs");
}

#[tokio::test]
async fn snippet_options_are_sent() {
    let emu = cloudmine_emulator::Emulator::builder()
        .app(APP, KEY)
        .snippet("double", |input| {
            let n = input.params["n"].as_i64().unwrap_or(0);
            Ok(json!({"doubled": n * 2}))
        })
        .start()
        .await
        .unwrap();
    let ws = client(&emu);
    let r = ws
        .objects()
        .get_all()
        .options(
            CallOptions::new()
                .snippet("double")
                .params(json!({"n": 21}))
                .dontwait(true)
                .resultsonly(true),
        )
        .await
        .unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.query_value("f"), Some("double"));
    assert_eq!(req.query_value("params"), Some(r#"{"n":21}"#));
    assert_eq!(req.query_value("async"), Some("true"));
    assert_eq!(req.query_value("result_only"), Some("true"));
    assert_eq!(r.result(), Some(&json!({"doubled": 42})));

    // A string `params` is sent as it is, not as a JSON string.
    ws.objects()
        .get_all()
        .options(CallOptions::new().snippet("double").params("{\"n\":1}"))
        .await
        .unwrap();
    assert_eq!(
        last_request_of(&emu).await.query_value("params"),
        Some(r#"{"n":1}"#)
    );
}

#[tokio::test]
async fn per_call_options_override_and_unset() {
    let emu = emulator().await;
    let ws = builder(&emu).limit(10).units("km").build().unwrap();
    ws.objects()
        .get_all()
        .options(CallOptions::new().limit(3))
        .options(CallOptions::new().unset_units().skip(1u64))
        .await
        .unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.query_value("limit"), Some("3"));
    assert_eq!(req.query_value("skip"), Some("1"));
    assert_eq!(req.query_value("units"), None);

    ws.objects()
        .get_all()
        .options(CallOptions::new().unset_limit())
        .await
        .unwrap();
    assert_eq!(last_request_of(&emu).await.query_value("limit"), None);

    // The instance is untouched by per-call options.
    ws.objects().get_all().await.unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.query_value("limit"), Some("10"));
    assert_eq!(req.query_value("units"), Some("km"));
    assert_eq!(ws.options().limit(), Some(10));
}

#[tokio::test]
async fn per_call_api_key_and_session_token() {
    let emu = emulator().await;
    let ws = client(&emu);
    // A wrong key for one call is really sent, and the server refuses it.
    let e = ws
        .objects()
        .get_all()
        .options(CallOptions::new().api_key("wrong-key"))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(
        last_request_of(&emu).await.header("x-cloudmine-apikey"),
        Some("wrong-key")
    );

    // A per-call session token acts as that user for one call.
    let user = emu.create_user(APP, "one@example.com").await.unwrap();
    let token = emu
        .create_session(APP, &user, Duration::from_secs(60))
        .await
        .unwrap();
    ws.objects()
        .set("mine", json!(1))
        .options(CallOptions::new().session_token(token.as_str()))
        .await
        .unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.path, format!("/v1/app/{APP}/user/text"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), Some(token.as_str()));
    assert!(ws.session_token().is_none());
}

#[tokio::test]
async fn session_header_follows_the_applevel_rule() {
    let emu = emulator().await;
    let (ws, _) = user_client(&emu, "rule@example.com").await;
    let token = ws.session_token().unwrap();

    ws.objects().get_all().await.unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.path, format!("/v1/app/{APP}/user/text"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), Some(token.secret()));

    // App level: no /user/ prefix and no session header, even with a token.
    ws.objects()
        .get_all()
        .options(CallOptions::new().applevel(AppLevel::App))
        .await
        .unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.path, format!("/v1/app/{APP}/text"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), None);

    // A per-call unset of the token also means application data.
    ws.objects()
        .get_all()
        .options(CallOptions::new().unset_session_token())
        .await
        .unwrap();
    let req = last_request_of(&emu).await;
    assert_eq!(req.path, format!("/v1/app/{APP}/text"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), None);
}

#[tokio::test]
async fn keys_and_paths_are_encoded() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects()
        .set("a key/with ünïcode", json!(true))
        .await
        .unwrap();
    let r = ws.objects().get(["a key/with ünïcode"]).await.unwrap();
    assert_eq!(r.value("a key/with ünïcode"), Some(&json!(true)));
    assert_eq!(
        last_request_of(&emu).await.query_value("keys"),
        Some("a key/with ünïcode")
    );
}

#[tokio::test]
async fn api_root_path_prefix_is_kept() {
    let emu = emulator().await;
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("{}/behind/a/proxy/", emu.base_url()))
        .build()
        .unwrap();
    // The emulator serves no prefix, so it answers 404, but the path shows what was sent.
    let e = ws.objects().get_all().await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(
        last_request_of(&emu).await.path,
        format!("/behind/a/proxy/v1/app/{APP}/text")
    );
}
