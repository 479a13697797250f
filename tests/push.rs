//! `ws.push(notification)`: a typed push notification, `POST [user/]push`.

mod support;

use cloudmine::Notification;
use serde_json::json;
use support::{APP, EventLog, client, emulator};

#[tokio::test]
async fn every_field_goes_out_as_documented() {
    let emu = emulator().await;
    let ws = client(&emu);
    let n = Notification::new("Hello world!")
        .channel("news")
        .user_id("4d81718682b64e42a39b6c6606397821")
        .user_email("user@example.com")
        .user_username(String::from("username"))
        .device_id("af335982e1cb4db59467735628ed0e8d")
        .badge(3)
        .sound("sound1.aiff")
        .payload(json!({"specialid": 15732}));
    let log = EventLog::default();
    log.attach(ws.push(n)).await.unwrap();
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    let pushes = emu.pushes().await.unwrap();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].app_id, APP);
    assert_eq!(pushes[0].sender, None);
    assert_eq!(
        pushes[0].notification,
        json!({
            "text": "Hello world!",
            "channel": "news",
            "users": ["4d81718682b64e42a39b6c6606397821", {"email": "user@example.com"}, {"username": "username"}],
            "device_ids": ["af335982e1cb4db59467735628ed0e8d"],
            "badge": 3,
            "sound": "sound1.aiff",
            "payload": {"specialid": 15732}
        })
    );
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/push"));
}

#[tokio::test]
async fn text_alone_and_user_level() {
    let emu = emulator().await;
    let (ws, user_id) = support::user_client(&emu, "ada@example.com").await;
    ws.push(Notification::new("hi")).await.unwrap();
    let push = emu.pushes().await.unwrap().pop().unwrap();
    assert_eq!(push.notification, json!({"text": "hi"}));
    assert_eq!(push.sender.as_deref(), Some(user_id.as_str()));
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/user/push"));
}

#[tokio::test]
async fn a_blank_text_or_a_bad_payload_is_refused_before_sending() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws.push(Notification::new("  ")).await.unwrap_err();
    assert!(e.is_invalid() && e.to_string().contains("text"), "{e}");
    let e = ws
        .push(Notification::new("hi").payload(json!([1, 2])))
        .await
        .unwrap_err();
    assert!(e.is_invalid() && e.to_string().contains("payload"), "{e}");
    assert!(emu.requests().is_empty());
    assert!(emu.pushes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_servers_refusal_is_a_400() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = EventLog::default();
    let e = log
        .attach(ws.push(Notification::new("hi").badge(100_000)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(e.to_string().contains("badge"), "{e}");
    assert_eq!(log.names(), ["badrequest", "400", "error", "complete"]);
    assert!(emu.pushes().await.unwrap().is_empty());
}
