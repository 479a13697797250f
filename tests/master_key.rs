//! Master-key administration (`ws.users().admin()`) against the emulator:
//! update, replace, password and delete by id; the refusals; the master key
//! sent only by these calls and shown nowhere.

mod support;

use std::sync::{Arc, Mutex};

use cloudmine::{CallInfo, CallOptions, Credentials, Error, Event, EventEmitter, WebService};
use cloudmine_emulator::Emulator;
use serde_json::{Value, json};
use support::{APP, EventLog, KEY, closed_port};

const MASTER: &str = "the-master-key-7f3a";
const PASSWORD: &str = "analytical engine";

async fn emulator() -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .master_key(APP, MASTER)
        .start()
        .await
        .expect("the emulator starts")
}

/// A client of the app with the master key set.
fn admin_client(emu: &Emulator) -> WebService {
    support::builder(emu).master_key(MASTER).build().unwrap()
}

/// Creates `email` (password [`PASSWORD`]) and returns the user's id.
async fn user(ws: &WebService, email: &str) -> String {
    let r = ws
        .users()
        .create(
            Credentials::email(email, PASSWORD),
            json!({"name": "Ada", "age": 36}),
        )
        .await
        .unwrap();
    r.success()["__id__"].as_str().unwrap().to_owned()
}

async fn profile(ws: &WebService, id: &str) -> Value {
    ws.users().get(id).await.unwrap().value(id).unwrap().clone()
}

async fn can_log_in(ws: &WebService, email: &str, password: &str) -> bool {
    ws.users()
        .verify(Credentials::email(email, password))
        .await
        .unwrap()
}

#[tokio::test]
async fn update_and_replace_a_profile_by_id() {
    let emu = emulator().await;
    let ws = admin_client(&emu);
    let id = user(&ws, "ada@example.com").await;

    let log = EventLog::default();
    let r = log
        .attach(
            ws.users()
                .admin()
                .update(&id, json!({"age": 37, "city": "London"})),
        )
        .await
        .unwrap();
    assert_eq!(r.value(&id).unwrap()["city"], "London");
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    let p = profile(&ws, &id).await;
    assert_eq!(
        (p["name"].clone(), p["age"].clone()),
        (json!("Ada"), json!(37))
    );

    ws.users()
        .admin()
        .replace(&id, json!({"nickname": "Countess"}))
        .await
        .unwrap();
    let p = profile(&ws, &id).await;
    assert_eq!(p["nickname"], "Countess");
    assert!(p.get("name").is_none() && p.get("city").is_none(), "{p}");
    // The credentials stayed.
    assert!(can_log_in(&ws, "ada@example.com", PASSWORD).await);
}

#[tokio::test]
async fn change_password_then_delete_by_id() {
    let emu = emulator().await;
    let ws = admin_client(&emu);
    let id = user(&ws, "ada@example.com").await;
    let ada = support::client(&emu);
    ada.users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();

    let log = EventLog::default();
    log.attach(ws.users().admin().change_password(&id, "difference engine"))
        .await
        .unwrap();
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert!(can_log_in(&ws, "ada@example.com", "difference engine").await);
    assert!(!can_log_in(&ws, "ada@example.com", PASSWORD).await);
    // The user's sessions ended with the old password.
    let e = ada.users().me().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");

    ws.users().admin().delete(&id).await.unwrap();
    assert!(!can_log_in(&ws, "ada@example.com", "difference engine").await);
    let gone = ws.users().get(&id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
}

#[tokio::test]
async fn deleting_the_clients_own_user_forgets_its_session() {
    let emu = emulator().await;
    let ws = admin_client(&emu);
    let id = user(&ws, "ada@example.com").await;
    let other = user(&ws, "bob@example.com").await;
    ws.users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();
    // Another user's deletion leaves the session alone; the admin call
    // sends no session token even when the client has one.
    ws.users().admin().delete(&other).await.unwrap();
    assert!(ws.session_token().is_some());
    ws.users().admin().delete(&id).await.unwrap();
    assert!(ws.session_token().is_none());
    assert!(ws.options().user_id().is_none());
}

#[tokio::test]
async fn no_master_key_is_refused_before_the_network() {
    // Nothing listens there: a request that went out would be a transport error.
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .build()
        .unwrap();
    let admin = ws.users().admin();
    let calls = [
        admin.update("u1", json!({"a": 1})),
        admin.replace("u1", json!({"a": 1})),
        admin.change_password("u1", "new password"),
        admin.delete("u1"),
    ];
    for call in calls {
        let log = EventLog::default();
        let e = log.attach(call).await.unwrap_err();
        assert!(matches!(e, Error::MasterKeyRequired), "{e:?}");
        assert!(e.is_master_key_required());
        assert!(e.to_string().contains("master_key(..)"), "{e}");
        assert_eq!(log.names(), ["error", "complete"]);
    }
    // A per-call unset wins over the client's key.
    let emu = emulator().await;
    let ws = admin_client(&emu);
    let e = ws
        .users()
        .admin()
        .delete("u1")
        .options(CallOptions::new().unset_master_key())
        .await
        .unwrap_err();
    assert!(e.is_master_key_required(), "{e:?}");
}

#[tokio::test]
async fn a_master_key_for_one_call() {
    let emu = emulator().await;
    let ws = support::client(&emu);
    let id = user(&ws, "ada@example.com").await;
    ws.users()
        .admin()
        .update(&id, json!({"age": 40}))
        .options(CallOptions::new().master_key(MASTER))
        .await
        .unwrap();
    assert_eq!(profile(&ws, &id).await["age"], 40);
    // The client itself still has none.
    let e = ws.users().admin().delete(&id).await.unwrap_err();
    assert!(e.is_master_key_required(), "{e:?}");
}

#[tokio::test]
async fn a_wrong_master_key_is_a_typed_401() {
    let emu = emulator().await;
    let ws = support::builder(&emu)
        .master_key("not-the-master-key")
        .build()
        .unwrap();
    let id = user(&ws, "ada@example.com").await;
    let log = EventLog::default();
    let e = log
        .attach(ws.users().admin().update(&id, json!({"age": 1})))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(e.is_unauthorized());
    assert_eq!(log.names(), ["unauthorized", "401", "error", "complete"]);
    // The API key is not a master key either.
    let e = ws
        .users()
        .admin()
        .delete(&id)
        .options(CallOptions::new().master_key(KEY))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    assert_eq!(profile(&ws, &id).await["age"], 36, "nothing changed");
}

#[tokio::test]
async fn an_unknown_id_is_a_typed_404() {
    let emu = emulator().await;
    let admin_ws = admin_client(&emu);
    let admin = admin_ws.users().admin();
    let calls = [
        admin.update("no-such-user", json!({"a": 1})),
        admin.replace("no-such-user", json!({"a": 1})),
        admin.change_password("no-such-user", "new password"),
        admin.delete("no-such-user"),
    ];
    for call in calls {
        let e = call.await.unwrap_err();
        assert_eq!(e.status(), Some(404), "{e:?}");
        assert!(e.is_not_found());
    }
}

#[tokio::test]
async fn bad_arguments_and_options_are_refused() {
    let emu = emulator().await;
    let ws = admin_client(&emu);
    let admin = ws.users().admin();
    let e = admin.update("", json!({"a": 1})).await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { argument: "id", .. }),
        "{e:?}"
    );
    let e = admin.delete("").await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { argument: "id", .. }),
        "{e:?}"
    );
    let e = admin.replace("u1", json!([1, 2])).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                argument: "profile",
                ..
            }
        ),
        "{e:?}"
    );
    let e = support::builder(&emu).master_key("").build().unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "master_key",
                ..
            }
        ),
        "{e:?}"
    );
    let e = admin
        .delete("u1")
        .options(CallOptions::new().master_key("bad\nkey"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "master_key",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn ordinary_calls_send_the_api_key_not_the_master_key() {
    let emu = emulator().await;
    let id = user(&admin_client(&emu), "ada@example.com").await;
    // The right master key next to a wrong API key: ordinary calls fail,
    // so they do not send the master key; the admin calls work.
    let ws = WebService::builder()
        .app_id(APP)
        .api_key("wrong-api-key")
        .master_key(MASTER)
        .api_root(emu.base_url())
        .build()
        .unwrap();
    let e = ws.objects().get_all().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    let e = ws.users().get(&id).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    ws.users()
        .admin()
        .update(&id, json!({"age": 50}))
        .await
        .unwrap();
    // With both keys right, ordinary calls work as before.
    let ws = admin_client(&emu);
    ws.objects().set("k", json!({"v": 1})).await.unwrap();
    assert_eq!(profile(&ws, &id).await["age"], 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_master_key_is_in_no_debug_error_event_or_log() {
    let (capture, _guard) = support::logs::capture_logs();

    let emu = emulator().await;
    let ws = admin_client(&emu);
    let id = user(&ws, "ada@example.com").await;
    let seen = Arc::new(Mutex::new(String::new()));
    let mut shown = format!("{ws:?} {:?} {:?}", ws.options(), ws.users().admin());
    let call = ws.users().admin().update(&id, json!({"a": 1}));
    shown.push_str(&format!("{call:?}"));
    for event in [Event::Success, Event::Error, Event::Complete] {
        let s = Arc::clone(&seen);
        let record =
            move |d: &Value, c: &CallInfo| s.lock().unwrap().push_str(&format!("{d} {c:?}"));
        let r = ws
            .users()
            .admin()
            .update(&id, json!({"b": 2}))
            .on(event, record);
        shown.push_str(&format!("{:?}", r.await.unwrap()));
    }
    let wrong = CallOptions::new().master_key("wrong-master-key-9c1d");
    let errors = [
        ws.users().admin().delete(&id).options(wrong.clone()).await,
        ws.users().admin().delete("nobody").await,
        ws.users()
            .admin()
            .delete(&id)
            .options(CallOptions::new().unset_master_key())
            .await,
        ws.users()
            .admin()
            .delete(&id)
            .options(CallOptions::new().master_key("x\n"))
            .await,
    ];
    for e in errors {
        let e = e.unwrap_err();
        shown.push_str(&format!("{e:?} {e}"));
    }
    shown.push_str(&seen.lock().unwrap());
    shown.push_str(&capture.text());
    assert!(shown.contains("MasterKey([redacted])"), "{shown}");
    for secret in [MASTER, "wrong-master-key-9c1d"] {
        assert!(!shown.contains(secret), "{secret} shown in: {shown}");
    }
}

#[test]
fn the_blocking_client_has_the_same_calls() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(emulator());
    let ws =
        cloudmine::blocking::WebService::new(support::builder(&emu).master_key(MASTER)).unwrap();
    let id = ws
        .users()
        .create(
            Credentials::email("ada@example.com", PASSWORD),
            json!({"name": "Ada"}),
        )
        .wait()
        .unwrap()
        .success()["__id__"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = ws.users().admin();
    admin.update(&id, json!({"age": 37})).wait().unwrap();
    admin.replace(&id, json!({"nick": "A"})).wait().unwrap();
    let p = ws
        .users()
        .get(&id)
        .wait()
        .unwrap()
        .value(&id)
        .unwrap()
        .clone();
    assert_eq!(p["nick"], "A");
    assert!(p.get("age").is_none(), "{p}");
    admin
        .change_password(&id, "difference engine")
        .wait()
        .unwrap();
    let ok = ws
        .users()
        .verify(Credentials::email("ada@example.com", "difference engine"))
        .wait()
        .unwrap();
    assert!(ok);
    admin.delete(&id).wait().unwrap();
    let e = admin.delete(&id).wait().unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let e = admin
        .delete(&id)
        .options(CallOptions::new().unset_master_key())
        .wait()
        .unwrap_err();
    assert!(e.is_master_key_required(), "{e:?}");
}
