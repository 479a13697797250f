//! `ws.search_es(class, query)` (the JS SDK's `searchES`, always `v2`) and
//! the `version` option, against the emulator, which has no Elasticsearch
//! and answers 501.

mod support;

use cloudmine::{ApiVersion, CallInfo, CallOptions, Event, EventEmitter, Method, blocking};
use serde_json::json;
use support::*;

/// The last request the emulator saw.
fn last(emu: &cloudmine_emulator::Emulator) -> cloudmine_emulator::RecordedRequest {
    emu.requests()
        .pop()
        .expect("a request reached the emulator")
}

#[tokio::test]
async fn app_level_search_is_a_v2_post_answered_501() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = EventLog::default();
    let query = json!({"query": {"match": {"name": "ada"}}});
    let seen_501 = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&seen_501);
    let e = log
        .attach(ws.search_es("person", query.clone()))
        .on(
            Event::Status(501),
            move |_: &serde_json::Value, _: &CallInfo| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst)
            },
        )
        .await
        .unwrap_err();
    assert!(seen_501.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(e.status(), Some(501), "{e}");
    let message = e.server_messages().join(" ");
    assert!(message.contains("not served"), "{message}");
    assert_eq!(log.names(), ["error", "complete"]);

    let seen = last(&emu);
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.path,
        format!("/v2/app/{APP}/class/person/elasticsearch")
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&seen.body).unwrap(),
        query
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn user_level_search_and_a_string_query_sent_as_is() {
    let emu = emulator().await;
    let (ws, _) = user_client(&emu, "ada@example.com").await;
    let text = r#"{"query":{"match_all":{}}}"#;
    let e = ws.search_es("person", text).await.unwrap_err();
    assert_eq!(e.status(), Some(501), "{e}");
    let seen = last(&emu);
    assert_eq!(
        seen.path,
        format!("/v2/app/{APP}/user/class/person/elasticsearch")
    );
    assert_eq!(seen.body, text.as_bytes());
    assert!(seen.header("x-cloudmine-sessiontoken").is_some());

    // The `version` option does not move searchES off v2.
    let e = ws
        .search_es("person", String::from(text))
        .options(CallOptions::new().version(ApiVersion::V1))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(501), "{e}");
    assert!(last(&emu).path.starts_with("/v2/"));
}

#[tokio::test]
async fn a_bad_class_is_refused_before_sending() {
    let emu = emulator().await;
    let ws = client(&emu);
    for class in ["", "  ", "a/b", ".", ".."] {
        let e = ws.search_es(class, json!({})).await.unwrap_err();
        assert!(e.is_invalid(), "{class:?}: {e}");
    }
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn the_version_option_moves_api_calls_to_v2() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws
        .api(Method::POST, "class/person/elasticsearch")
        .options(CallOptions::new().version(ApiVersion::V2))
        .json(&json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(501), "{e}");
    assert_eq!(
        last(&emu).path,
        format!("/v2/app/{APP}/class/person/elasticsearch")
    );

    // Without it: v1, where no such route exists.
    let e = ws
        .api(Method::POST, "class/person/elasticsearch")
        .json(&json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    assert_eq!(
        last(&emu).path,
        format!("/v1/app/{APP}/class/person/elasticsearch")
    );

    // On the builder: every call; unset per call goes back to v1.
    let v2 = builder(&emu).version(ApiVersion::V2).build().unwrap();
    assert_eq!(v2.options().version(), Some(ApiVersion::V2));
    let e = v2.objects().get(["a"]).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    assert_eq!(last(&emu).path, format!("/v2/app/{APP}/text"));
    v2.objects()
        .get(["a"])
        .options(CallOptions::new().unset_version())
        .await
        .ok();
    assert_eq!(last(&emu).path, format!("/v1/app/{APP}/text"));
}

#[test]
fn api_versions_parse_and_print() {
    assert_eq!("v1".parse::<ApiVersion>().unwrap(), ApiVersion::V1);
    assert_eq!(ApiVersion::V2.to_string(), "v2");
    assert_eq!(ApiVersion::default(), ApiVersion::V1);
    let e = "V2".parse::<ApiVersion>().unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(e.to_string().contains("\"V2\""), "{e}");
}

#[test]
fn blocking_search_es() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(emulator());
    let ws = blocking::WebService::new(builder(&emu)).unwrap();
    let e = ws
        .search_es("person", json!({"query": {}}))
        .wait()
        .unwrap_err();
    assert_eq!(e.status(), Some(501), "{e}");
    let e = ws.search_es("a/b", json!({})).wait().unwrap_err();
    assert!(e.is_invalid(), "{e}");
}
