//! A session from `$CLOUDMINE_SESSION_TOKEN` for CI (issue 16 item 6): only
//! `session_token_from_env()` reads it, calls are then user-scoped, and the
//! token shows in no `Debug` output or error. Its own test binary: it sets
//! the environment, in one test so nothing reads it concurrently.

mod support;

use std::time::Duration;

use cloudmine::{SESSION_TOKEN_ENV, WebService, blocking};
use serde_json::json;
use support::*;

fn set(value: Option<&str>) {
    // SAFETY: this binary has this one test; nothing else reads the
    // environment concurrently.
    unsafe {
        match value {
            Some(v) => std::env::set_var(SESSION_TOKEN_ENV, v),
            None => std::env::remove_var(SESSION_TOKEN_ENV),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_from_the_environment() {
    let emu = emulator().await;
    let user = emu.create_user(APP, "ci@example.com").await.unwrap();
    let token = emu
        .create_session(APP, &user, Duration::from_secs(3600))
        .await
        .unwrap();

    // Unset: a clear typed error naming the variable.
    set(None);
    let e = builder(&emu).session_token_from_env().unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(
        e.to_string().contains("CLOUDMINE_SESSION_TOKEN is not set"),
        "{e}"
    );
    // Empty, or not a token: refused without echoing the value.
    set(Some("   "));
    let e = builder(&emu).session_token_from_env().unwrap_err();
    assert!(e.to_string().contains("is empty"), "{e}");
    set(Some("PRIVATEVALUE with spaces"));
    let e = builder(&emu).session_token_from_env().unwrap_err();
    assert!(!format!("{e} {e:?}").contains("PRIVATEVALUE"), "{e:?}");

    // Never read implicitly: a builder without the call has no session.
    set(Some(&format!("{token}\n")));
    let plain = client(&emu);
    assert!(plain.session_token().is_none());
    assert!(plain.objects().set("k", json!(1)).await.is_ok());
    assert_eq!(
        emu.requests().pop().unwrap().path,
        format!("/v1/app/{APP}/text")
    );

    // With the call: user-scoped, the token in no Debug or error.
    let from_env = builder(&emu).session_token_from_env().unwrap();
    assert!(!format!("{from_env:?}").contains(&token));
    let ws = from_env.build().unwrap();
    assert!(!format!("{ws:?}").contains(&token));
    assert_eq!(ws.session_token().unwrap().secret(), token);
    ws.objects().set("mine", json!(1)).await.unwrap();
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/user/text"));
    assert_eq!(req.header("x-cloudmine-sessiontoken"), Some(token.as_str()));
    let me = ws.users().me().await.unwrap();
    assert_eq!(me.into_success()["__id__"], user.as_str());

    // A token the server does not know: its 401 does not show it.
    let unknown = "UNKNOWNSESSION0123456789";
    set(Some(unknown));
    let stranger = builder(&emu)
        .session_token_from_env()
        .unwrap()
        .build()
        .unwrap();
    let e = stranger.objects().get(["mine"]).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert!(!format!("{e} {e:?}").contains(unknown), "{e:?}");

    // The blocking client takes the same builder.
    set(Some(&token));
    let api_root = emu.base_url();
    tokio::task::spawn_blocking(move || {
        let ws = blocking::WebService::new(
            WebService::builder()
                .app_id(APP)
                .api_key(KEY)
                .api_root(api_root)
                .session_token_from_env()
                .unwrap(),
        )
        .unwrap();
        assert!(ws.as_async().session_token().is_some());
    })
    .await
    .unwrap();
}
