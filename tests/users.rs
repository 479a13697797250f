//! The users API against the emulator: every endpoint, success and errors.

mod support;

use std::time::Duration;

use cloudmine::{
    AppLevel, CallInfo, CallOptions, Credentials, Event, EventEmitter, NewCredentials,
};
use serde_json::{Value, json};
use support::*;

const PASSWORD: &str = "correct horse battery";

async fn signed_up(emu: &cloudmine_emulator::Emulator, email: &str) -> cloudmine::WebService {
    let ws = client(emu);
    let r = ws
        .users()
        .create(
            Credentials::email(email, PASSWORD),
            json!({"name": "Ada", "age": 36}),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    ws
}

/// An emulator with a stricter password policy than CloudMine's default.
async fn strict_emulator() -> cloudmine_emulator::Emulator {
    cloudmine_emulator::Emulator::builder()
        .app(APP, KEY)
        .min_password_length(8)
        .test_hooks(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_default_policy_takes_short_passwords_as_cloudmine_did() {
    let emu = emulator().await;
    let ws = client(&emu);
    let r = ws
        .users()
        .create(Credentials::email("five@example.com", "abcde"), Value::Null)
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    ws.users()
        .login(Credentials::email("five@example.com", "abcde"))
        .await
        .unwrap();
    assert!(ws.session_token().is_some());
}

#[tokio::test]
async fn create_login_me_update_logout() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = EventLog::default();
    let created = log
        .attach(ws.users().create(
            Credentials::email("ada@example.com", PASSWORD).with_username("ada"),
            json!({"name": "Ada"}),
        ))
        .await
        .unwrap();
    assert_eq!(log.names(), ["created", "201", "success", "complete"]);
    let id = created.success()["__id__"].as_str().unwrap().to_string();
    assert_eq!(created.success()["__type__"], "user");
    assert_eq!(created.success()["email"], "ada@example.com");
    assert_eq!(created.success()["username"], "ada");
    assert_eq!(created.success()["name"], "Ada");
    assert!(ws.session_token().is_none(), "creating does not log in");

    // Log in with the username; the answer's token is redacted, the client holds it.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
    let s = std::sync::Arc::clone(&seen);
    let login = ws
        .users()
        .login(Credentials::username("ada", PASSWORD))
        .on(Event::Success, move |d: &Value, _: &CallInfo| {
            *s.lock().unwrap() = d.clone()
        })
        .await
        .unwrap();
    assert_eq!(login.raw()["session_token"], "[redacted]");
    assert_eq!(seen.lock().unwrap()["session_token"], "[redacted]");
    assert_eq!(login.raw()["profile"]["__id__"], id.as_str());
    assert_eq!(login.profile().id(), id.as_str());
    assert!(login.raw()["expires"].as_str().unwrap().ends_with("GMT"));
    let token = ws.session_token().expect("logged in");
    assert_eq!(ws.options().user_id(), Some(id.as_str()));
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/account/login"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), None);
    assert_eq!(
        req.body_json().unwrap(),
        json!({"username": "ada", "password": PASSWORD})
    );

    // account/me and update keep the root path but send the session.
    let me = ws.users().me().await.unwrap();
    assert_eq!(me.success()["__id__"], id.as_str());
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/account/me"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), Some(token.secret()));
    let updated = ws
        .users()
        .update(json!({"age": 37, "__id__": "forged"}))
        .await
        .unwrap();
    assert_eq!(updated.success()[&id]["age"], 37);
    assert_eq!(updated.success()[&id]["__id__"], id.as_str());

    // Logout: the server ends the session; the client forgot it already.
    ws.users().logout().await.unwrap();
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.header("x-cloudmine-sessiontoken"), Some(token.secret()));
    assert!(ws.session_token().is_none());
    let e = client(&emu)
        .users()
        .me()
        .options(CallOptions::new().session_token(token.secret()))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "the old token is dead: {e}");
    let e = ws.users().me().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
}

#[tokio::test]
async fn logout_clears_locally_even_when_the_server_fails() {
    let ws = cloudmine::WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .session_token("some-session")
        .build()
        .unwrap();
    let e = ws.users().logout().await.unwrap_err();
    assert!(e.is_transport());
    assert!(ws.session_token().is_none());
}

#[tokio::test]
async fn account_errors() {
    let emu = strict_emulator().await;
    let ws = signed_up(&emu, "bob@example.com").await;

    let e = ws
        .users()
        .login(Credentials::email("bob@example.com", "wrong password"))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "wrong password: {e}");
    let e = ws
        .users()
        .login(Credentials::email("nobody@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "unknown user: {e}");
    assert!(ws.session_token().is_none());

    let e = ws
        .users()
        .create(Credentials::email("BOB@example.com", PASSWORD), Value::Null)
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "duplicate email, any case: {e}");
    let e = ws
        .users()
        .create(
            Credentials::email("carol@example.com", "short"),
            Value::Null,
        )
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "weak password: {e}");
    assert!(e.server_messages()[0].contains("at least 8"), "{e}");
    let e = ws
        .users()
        .create(Credentials::email("not-an-email", PASSWORD), Value::Null)
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "{e}");
    let e = ws
        .users()
        .create(Credentials::email("dan@example.com", PASSWORD), json!([1]))
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    let e = ws
        .users()
        .login(Credentials::email("", ""))
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "checked before sending: {e}");

    // An expired session is a 401.
    let user = emu.create_user(APP, "old@example.com").await.unwrap();
    let token = emu
        .create_session(APP, &user, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    ws.set_session_token(token).unwrap();
    let e = ws.users().me().await.unwrap_err();
    assert!(e.is_unauthorized(), "expired: {e}");

    // No secret in any of these errors.
    assert!(!format!("{e} {e:?}").contains(PASSWORD));
}

#[tokio::test]
async fn passwords_and_credentials_change() {
    let emu = strict_emulator().await;
    let ws = signed_up(&emu, "eve@example.com").await;
    let e = ws
        .users()
        .change_password(
            Credentials::email("eve@example.com", "not the password"),
            "new password 1",
        )
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    let e = ws
        .users()
        .change_password(Credentials::email("eve@example.com", PASSWORD), "short")
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "{e}");
    ws.users()
        .change_password(
            Credentials::email("eve@example.com", PASSWORD),
            "new password 1",
        )
        .await
        .unwrap();
    assert!(
        ws.users()
            .login(Credentials::email("eve@example.com", PASSWORD))
            .await
            .unwrap_err()
            .is_unauthorized()
    );
    ws.users()
        .login(Credentials::email("eve@example.com", "new password 1"))
        .await
        .unwrap();

    signed_up(&emu, "taken@example.com").await;
    let e = ws
        .users()
        .change_credentials(
            Credentials::email("eve@example.com", "new password 1"),
            NewCredentials::new().email("taken@example.com"),
        )
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");
    let e = ws
        .users()
        .change_credentials(
            Credentials::email("eve@example.com", "new password 1"),
            NewCredentials::new(),
        )
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    ws.users()
        .change_credentials(
            Credentials::email("eve@example.com", "new password 1"),
            NewCredentials::new()
                .email("eve2@example.com")
                .username("eve")
                .password("third password"),
        )
        .await
        .unwrap();
    ws.users()
        .login(Credentials::username("eve", "third password"))
        .await
        .unwrap();
    assert_eq!(
        ws.users().me().await.unwrap().success()["email"],
        "eve2@example.com"
    );
}

#[tokio::test]
async fn password_reset_through_the_outbox() {
    let emu = strict_emulator().await;
    let ws = signed_up(&emu, "frank@example.com").await;
    ws.users()
        .reset_password("frank@example.com")
        .await
        .unwrap();
    // Unknown addresses get the same answer and no mail.
    ws.users()
        .reset_password("nobody@example.com")
        .await
        .unwrap();
    let mails = emu.outbox().await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "frank@example.com");
    assert!(mails[0].body.contains(&mails[0].token));

    // The outbox endpoint serves the same, behind the API key.
    let http = reqwest::Client::new();
    let url = format!("{}/_emulator/{APP}/outbox", emu.base_url());
    let listed: Value = http
        .get(&url)
        .header("x-cloudmine-apikey", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["mails"][0]["to"], "frank@example.com");
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);

    let e = ws
        .users()
        .confirm_reset("not-a-token", "brand new pass")
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "bad token: {e}");
    let e = ws
        .users()
        .confirm_reset(&mails[0].token, "short")
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "{e}");
    ws.users()
        .confirm_reset(&mails[0].token, "brand new pass")
        .await
        .unwrap();
    assert!(ws.session_token().is_none(), "a reset does not log in");
    let e = ws
        .users()
        .confirm_reset(&mails[0].token, "another new pass")
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "a token is used once: {e}");
    ws.users()
        .login(Credentials::email("frank@example.com", "brand new pass"))
        .await
        .unwrap();
}

#[tokio::test]
async fn list_get_search_and_delete() {
    let emu = emulator().await;
    let ws = signed_up(&emu, "gina@example.com").await;
    signed_up(&emu, "hank@example.com").await;
    ws.users()
        .login(Credentials::email("gina@example.com", PASSWORD))
        .await
        .unwrap();
    let gina = ws.options().user_id().unwrap().to_string();

    let all = ws
        .users()
        .list()
        .options(CallOptions::new().count(true))
        .await
        .unwrap();
    assert_eq!(all.keys().len(), 2);
    assert_eq!(all.count(), Some(2));
    let one = ws.users().get(&gina).await.unwrap();
    assert_eq!(one.keys(), [gina.as_str()]);
    let e = ws.users().get("no-such-user").await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let found = ws
        .users()
        .search(r#"[email = "hank@example.com"]"#)
        .await
        .unwrap();
    assert_eq!(found.keys().len(), 1);
    let req = emu.requests().pop().unwrap();
    assert_eq!(
        req.query_value("p"),
        Some(r#"[email = "hank@example.com"]"#),
        "p=, not q="
    );
    let e = ws.users().search("[a = 1] or [b = 2]").await.unwrap_err();
    assert!(e.is_bad_request());

    // Gina's data goes with her account.
    ws.objects().set("diary", "private").await.unwrap();
    let e = ws
        .users()
        .delete(Credentials::email("gina@example.com", "wrong password"))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized());
    ws.users()
        .delete(Credentials::email("gina@example.com", PASSWORD))
        .await
        .unwrap();
    assert!(
        ws.session_token().is_none(),
        "the deleted user's session is forgotten"
    );
    assert!(
        ws.users()
            .login(Credentials::email("gina@example.com", PASSWORD))
            .await
            .unwrap_err()
            .is_unauthorized()
    );
    let left = ws
        .users()
        .list()
        .options(CallOptions::new().applevel(AppLevel::App))
        .await
        .unwrap();
    assert_eq!(left.keys().len(), 1);
}

/// What a reset answer shows: status, body and every header but the two
/// that differ on every answer (`date`, `x-request-id`).
fn shown(r: &cloudmine::Response) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    headers.sort();
    let body = String::from_utf8_lossy(r.raw()).into_owned();
    (r.status(), body, headers)
}

#[tokio::test]
async fn password_resets_answer_the_same_for_known_and_unknown_addresses() {
    let emu = strict_emulator().await;
    let ws = signed_up(&emu, "grace@example.com").await;
    let known = ws
        .users()
        .reset_password("grace@example.com")
        .await
        .unwrap();
    let unknown = ws
        .users()
        .reset_password("nobody-here@example.com")
        .await
        .unwrap();
    let (known, unknown) = (shown(&known), shown(&unknown));
    assert_eq!(known.0, unknown.0, "the status tells the addresses apart");
    assert_eq!(known.1, unknown.1, "the body tells the addresses apart");
    assert_eq!(known.2, unknown.2, "the headers tell the addresses apart");
    // Only the known address got a mail: the answers are the same, not the work.
    let mails = emu.outbox().await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "grace@example.com");
}
