//! `POST push`: notifications checked as CloudMine documented them and
//! recorded for tests (`Emulator::pushes`, and the outbox hook).

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::json;

mod support;
use support::user::User;
use support::{App, message};

const CM: App = App("app", "push-key");

async fn emulator() -> Emulator {
    support::builder()
        .app(CM.0, CM.1)
        .app("other", "other-key")
        .test_hooks(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_documented_notification_is_recorded() {
    let emu = emulator().await;
    let full = json!({
        "text": "Hello world!",
        "channel": "Channel Name",
        "users": ["4d81718682b64e42a39b6c6606397821", {"email": "user@example.com"}, {"username": "username"}],
        "device_ids": ["af335982e1cb4db59467735628ed0e8d"],
        "badge": 3,
        "sound": "sound1.aiff",
        "payload": {"specialid": 15732, "specialshape": {"action": "route_to_account_info"}}
    });
    let (status, body) = CM
        .call(&emu, Method::POST, "push", Some(&full.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));
    let pushes = emu.pushes().await.unwrap();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].app_id, "app");
    assert_eq!(pushes[0].sender, None);
    assert_eq!(pushes[0].notification, full);

    // At user level the sender is the session's user.
    let User {
        id: user, token, ..
    } = User::seeded(&emu, CM, "ada@example.com").await;
    let r = CM
        .request(&emu, Method::POST, "user/push")
        .header("x-cloudmine-sessiontoken", &token)
        .body(r#"{"text": "from Ada"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        emu.pushes().await.unwrap()[1].sender.as_deref(),
        Some(user.as_str())
    );

    // The test hook shows this app's pushes only.
    App("other", "other-key")
        .call(&emu, Method::POST, "push", Some(r#"{"text": "other"}"#))
        .await;
    let r = support::http()
        .get(format!("{}/_emulator/app/outbox", emu.base_url()))
        .header("x-cloudmine-apikey", CM.1)
        .send()
        .await
        .unwrap();
    let (status, outbox) = support::json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{outbox}");
    let texts: Vec<_> = outbox["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["notification"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["Hello world!", "from Ada"]);
}

#[tokio::test]
async fn every_malformed_field_is_a_400_naming_it() {
    let emu = emulator().await;
    let many: Vec<String> = (0..1001).map(|i| format!("d{i}")).collect();
    let cases = [
        (json!({}), "text"),
        (json!({"text": ""}), "text"),
        (json!({"text": 5}), "text"),
        (json!({"text": "x".repeat(4097)}), "text"),
        (json!({"text": "hi", "badge": -1}), "badge"),
        (json!({"text": "hi", "badge": 1.5}), "badge"),
        (json!({"text": "hi", "channel": ""}), "channel"),
        (json!({"text": "hi", "users": [{"phone": "1"}]}), "users"),
        (json!({"text": "hi", "users": "everyone"}), "users"),
        (json!({"text": "hi", "device_ids": many}), "device_ids"),
        (json!({"text": "hi", "payload": [1]}), "payload"),
        (
            json!({"text": "hi", "payload": {"big": "x".repeat(5000)}}),
            "payload",
        ),
        (json!({"text": "hi", "alert": "x"}), "alert"),
    ];
    for (body, field) in cases {
        let (status, answer) = CM
            .call(&emu, Method::POST, "push", Some(&body.to_string()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(message(&answer).contains(field), "{field}: {answer}");
    }
    for raw in ["not json", "[]", "\"text\""] {
        let (status, _) = CM.call(&emu, Method::POST, "push", Some(raw)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}");
    }
    assert!(
        emu.pushes().await.unwrap().is_empty(),
        "nothing refused is recorded"
    );
}

#[tokio::test]
async fn a_push_needs_the_key_and_at_user_level_a_session() {
    let emu = emulator().await;
    let (status, _) = App(CM.0, "wrong")
        .call(&emu, Method::POST, "push", Some(r#"{"text": "hi"}"#))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = CM
        .call(&emu, Method::POST, "user/push", Some(r#"{"text": "hi"}"#))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(emu.pushes().await.unwrap().is_empty());
}
