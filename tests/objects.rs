//! Every objects method against the emulator, at application and user level.

mod support;

use std::collections::BTreeMap;

use cloudmine::{AppLevel, CallOptions, DestroyAll, WebService};
use serde::Deserialize;
use serde_json::{Value, json};
use support::*;

#[derive(Debug, Deserialize, PartialEq)]
struct Car {
    make: String,
    price: u32,
}

/// Runs the whole objects API on `ws` and checks each answer.
async fn exercise_objects(ws: &WebService) {
    let objects = ws.objects();

    // set: a new key is created.
    let r = objects
        .set(
            "car1",
            json!({"make": "Tesla", "price": 40000, "__class__": "car"}),
        )
        .await
        .unwrap();
    assert_eq!(r.success(), &json!({"car1": "created"}));
    assert_eq!(r.status(), 201);

    // set_many: one new, one replaced.
    let r = objects
        .set_many(json!({
            "car1": {"make": "Tesla", "price": 35000, "__class__": "car", "specs": {"seats": 5, "color": "red"}},
            "car2": {"make": "Fiat", "price": 9000, "__class__": "car"}
        }))
        .await
        .unwrap();
    assert_eq!(r.success(), &json!({"car1": "updated", "car2": "created"}));

    // get by keys, typed.
    let r = objects.get(["car2"]).await.unwrap();
    assert_eq!(
        r.value_as::<Car>("car2").unwrap(),
        Some(Car {
            make: "Fiat".into(),
            price: 9000
        })
    );

    // update merges deeply; arrays and scalars replace.
    let r = objects
        .update("car1", json!({"specs": {"color": "blue"}, "price": 30000}))
        .await
        .unwrap();
    assert_eq!(r.success(), &json!({"car1": "updated"}));
    let car1 = objects
        .get(["car1"])
        .await
        .unwrap()
        .value("car1")
        .cloned()
        .unwrap();
    assert_eq!(car1["specs"], json!({"seats": 5, "color": "blue"}));
    assert_eq!(car1["price"], 30000);
    assert_eq!(car1["make"], "Tesla");

    // update_many creates missing keys.
    let r = objects
        .update_many(json!({"bike": {"make": "Brompton", "price": 1500}}))
        .await
        .unwrap();
    assert_eq!(r.success(), &json!({"bike": "created"}));

    // create: a random 32-hex key.
    let r = objects.create(json!({"note": "hello"})).await.unwrap();
    let keys = r.keys();
    assert_eq!(keys.len(), 1);
    let created_key = keys[0].to_string();
    assert_eq!(created_key.len(), 32);
    assert!(created_key.chars().all(|c| c.is_ascii_hexdigit()));

    // get_all with count and sort.
    let r = objects
        .get_all()
        .options(CallOptions::new().count(true).sort(["price:desc"]).limit(2))
        .await
        .unwrap();
    assert_eq!(r.count(), Some(4));
    assert_eq!(
        r.keys(),
        ["car1", "car2"],
        "the server's sort order is kept"
    );
    let all: BTreeMap<String, Value> = objects.get_all().await.unwrap().into_map().unwrap();
    assert_eq!(all.len(), 4);

    // search (GET and POST) passes the query through.
    let r = objects
        .search(r#"[__class__ = "car", price < 20000]"#)
        .await
        .unwrap();
    assert_eq!(r.keys(), ["car2"]);
    let r = objects.search_post(r#"[__class__ = "car"]"#).await.unwrap();
    let cars: BTreeMap<String, Car> = r.into_map().unwrap();
    assert_eq!(cars.keys().collect::<Vec<_>>(), ["car1", "car2"]);

    // destroy by keys, with a per-key error for a missing one.
    let r = objects.destroy(["bike", "no-such-key"]).await.unwrap();
    assert_eq!(r.success(), &json!({"bike": "deleted"}));
    assert_eq!(r.key_errors()["no-such-key"].status, 404);

    // destroy_where.
    let r = objects.destroy_where(r#"[make = "Fiat"]"#).await.unwrap();
    assert_eq!(r.keys(), ["car2"]);
    let e = objects.get(["car2"]).await.unwrap_err();
    assert_eq!(e.key_errors().unwrap()["car2"].status, 404);

    // destroy_all.
    let r = objects
        .destroy_all(DestroyAll::ObjectsAndFiles)
        .await
        .unwrap();
    let mut deleted = r.keys().iter().map(|k| k.to_string()).collect::<Vec<_>>();
    deleted.sort();
    let mut expected = vec!["car1".to_string(), created_key];
    expected.sort();
    assert_eq!(deleted, expected);
    let r = objects.get_all().await.unwrap();
    assert_eq!(r.success(), &json!({}));
}

#[tokio::test]
async fn every_method_at_application_level() {
    let emu = emulator().await;
    let ws = client(&emu);
    assert!(ws.is_application_data());
    exercise_objects(&ws).await;
    assert!(emu.requests().iter().all(|r| !r.path.contains("/user/")));
}

#[tokio::test]
async fn every_method_at_user_level() {
    let emu = emulator().await;
    let (ws, _) = user_client(&emu, "ada@example.com").await;
    assert!(!ws.is_application_data());
    exercise_objects(&ws).await;
    let requests = emu.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.path.starts_with(&format!("/v1/app/{APP}/user/")))
    );
}

#[tokio::test]
async fn levels_and_users_are_isolated() {
    let emu = emulator().await;
    let app = client(&emu);
    let (ada, _) = user_client(&emu, "ada@example.com").await;
    let (bob, _) = user_client(&emu, "bob@example.com").await;

    app.objects()
        .set("shared", json!({"level": "app"}))
        .await
        .unwrap();
    ada.objects()
        .set("shared", json!({"level": "ada"}))
        .await
        .unwrap();

    let r = ada.objects().get(["shared"]).await.unwrap();
    assert_eq!(r.value("shared").unwrap()["level"], "ada");
    let r = app.objects().get(["shared"]).await.unwrap();
    assert_eq!(r.value("shared").unwrap()["level"], "app");
    // Bob sees neither.
    let e = bob.objects().get(["shared"]).await.unwrap_err();
    assert_eq!(e.key_errors().unwrap()["shared"].status, 404);

    // A logged-in user can still reach application data for one call, or for all.
    let r = ada
        .objects()
        .get(["shared"])
        .options(CallOptions::new().applevel(AppLevel::App))
        .await
        .unwrap();
    assert_eq!(r.value("shared").unwrap()["level"], "app");
    ada.use_application_data(AppLevel::App);
    assert!(ada.is_application_data());
    let r = ada.objects().get(["shared"]).await.unwrap();
    assert_eq!(r.value("shared").unwrap()["level"], "app");

    // After the session is cleared, calls go back to application data.
    bob.clear_session_token();
    assert!(bob.session_token().is_none());
    let r = bob.objects().get(["shared"]).await.unwrap();
    assert_eq!(r.value("shared").unwrap()["level"], "app");
}

#[tokio::test]
async fn user_level_without_session_is_unauthorized() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws
        .objects()
        .get_all()
        .options(CallOptions::new().applevel(AppLevel::User))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/user/text"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), None);
}

#[tokio::test]
async fn partial_results_surface_in_result_and_error_event() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects().set("a", json!(1)).await.unwrap();
    let log = EventLog::default();
    let r = log
        .attach(ws.objects().get(["a", "missing"]))
        .await
        .unwrap();
    assert_eq!(r.success(), &json!({"a": 1}));
    assert!(r.is_partial());
    assert_eq!(r.key_errors()["missing"].status, 404);
    assert_eq!(
        log.names(),
        [
            "ok", "200", "success", "notfound", "404", "error", "complete"
        ]
    );
    assert_eq!(
        log.data("error").unwrap()["404"]["missing"]["errors"][0],
        "key does not exist"
    );
    let e = r.require_all().unwrap_err();
    assert_eq!(e.key_errors().unwrap().len(), 1);
}

#[tokio::test]
async fn expired_session_is_unauthorized() {
    let emu = emulator().await;
    let user = emu.create_user(APP, "old@example.com").await.unwrap();
    let token = emu
        .create_session(APP, &user, std::time::Duration::from_millis(1))
        .await
        .unwrap();
    let ws = client(&emu);
    ws.set_session_token(token).unwrap();
    // Poll until the expiry is observed (a fixed sleep races the clock's
    // granularity on a loaded machine); until then the session works.
    let until = std::time::Instant::now() + support::DEADLINE;
    let e = loop {
        match ws.objects().get_all().await {
            Err(e) => break e,
            Ok(_) => assert!(std::time::Instant::now() < until, "never expired"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(e.is_unauthorized(), "{e}");
    // The same user with a live session is not refused.
    let live = emu
        .create_session(APP, &user, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    ws.set_session_token(live).unwrap();
    ws.objects().get_all().await.expect("a live session works");
}
