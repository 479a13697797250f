//! Second-device and paste-back social logins against the emulator over
//! real HTTP: a "browser" (reqwest) that is not the SDK completes the login.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{CallInfo, Event, EventEmitter, LoginMode, MAX_PASTE_BYTES, SocialNetwork};
use serde_json::Value;
use support::*;
use tokio::io::{AsyncWriteExt, BufReader, DuplexStream};

/// The text between `start` and the next `"` or `<` after it, unescaped.
fn between(page: &str, start: &str) -> Option<String> {
    let from = page.find(start)? + start.len();
    let rest = &page[from..];
    let end = rest.find(['"', '<'])?;
    Some(rest[..end].replace("&amp;", "&"))
}

/// A browser on "another device": plain HTTP, no cookies shared with the SDK.
fn browser(follow: bool) -> reqwest::Client {
    let policy = if follow {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder().redirect(policy).build().unwrap()
}

/// Opens the device URL elsewhere: reads the code on the confirm page into
/// `seen`, then continues to the provider (which consents at once).
fn device_opener(seen: Arc<Mutex<Option<String>>>) -> impl Fn(&str) -> Result<(), String> {
    move |url: &str| {
        let (url, seen) = (url.to_owned(), Arc::clone(&seen));
        tokio::spawn(async move {
            let page = browser(false).get(&url).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let page = page.text().await.unwrap();
            *seen.lock().unwrap() = between(
                &page,
                "id=\"user-code\" style=\"font-size:2rem;letter-spacing:.2rem\">",
            );
            let onward = between(&page, "id=\"continue\" href=\"").unwrap();
            let done = browser(true).get(&onward).send().await.unwrap();
            assert_eq!(done.status(), 200);
        });
        Ok(())
    }
}

fn device_mode() -> LoginMode {
    LoginMode::Device {
        interval: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn device_login_shows_the_same_code_in_the_app_and_on_the_page() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let on_page = Arc::new(Mutex::new(None));
    let in_app = Arc::new(Mutex::new(Value::Null));
    let app_seen = Arc::clone(&in_app);
    let login = ws
        .login_social(SocialNetwork::Github)
        .mode(device_mode())
        .opener(device_opener(Arc::clone(&on_page)))
        .timeout(Duration::from_secs(20))
        .on(Event::Open, move |d: &Value, _: &CallInfo| {
            *app_seen.lock().unwrap() = d.clone()
        })
        .await
        .unwrap();
    assert_eq!(login.profile().services(), ["github"]);
    assert!(ws.session_token().is_some());
    let open = in_app.lock().unwrap().clone();
    let code = open["user_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(on_page.lock().unwrap().as_deref(), Some(code.as_str()));
    let url = open["url"].as_str().unwrap();
    assert!(url.contains("device=1") && url.contains("code_challenge="));
    assert!(!url.contains("redirect_uri") && !url.contains("code_verifier"));
    // Every status call carried the verifier.
    let statuses: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/account/social/login/status/"))
        .collect();
    assert!(!statuses.is_empty());
    assert!(
        statuses
            .iter()
            .all(|r| r.query_value("code_verifier").is_some())
    );
}

#[tokio::test]
async fn device_login_nobody_completes_times_out() {
    let emu = auto_emulator().await;
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .mode(device_mode())
        .opener(|_: &str| Ok(()))
        .timeout(Duration::from_millis(400))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
}

#[tokio::test]
async fn device_login_with_a_zero_interval_is_refused() {
    let emu = auto_emulator().await;
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .mode(LoginMode::Device {
            interval: Duration::ZERO,
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("interval"), "{e}");
}

/// A paste reader fed by the test, and its writing end.
fn paste_pipe() -> (BufReader<DuplexStream>, DuplexStream) {
    let (read, write) = tokio::io::duplex(64 * 1024);
    (BufReader::new(read), write)
}

/// Opens the URL in a browser elsewhere, and pastes what `pasted` makes of
/// the last page (and the start URL).
fn paste_opener(
    writer: DuplexStream,
    pasted: fn(&str, &str) -> Vec<u8>,
) -> impl Fn(&str) -> Result<(), String> {
    let writer = Arc::new(tokio::sync::Mutex::new(Some(writer)));
    move |url: &str| {
        let (url, writer) = (url.to_owned(), Arc::clone(&writer));
        tokio::spawn(async move {
            let page = browser(true).get(&url).send().await.unwrap();
            let page = page.text().await.unwrap();
            let line = pasted(&page, &url);
            let mut w = writer.lock().await.take().unwrap();
            w.write_all(&line).await.unwrap();
            w.flush().await.unwrap();
            // Keep the pipe open: only the pasted line ends the read.
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(w);
        });
        Ok(())
    }
}

fn code_on_page(page: &str) -> String {
    between(
        page,
        "<code id=\"paste-code\" style=\"word-break:break-all\">",
    )
    .unwrap()
}

#[tokio::test]
async fn paste_back_login_end_to_end() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let (reader, writer) = paste_pipe();
    let opened = Arc::new(Mutex::new(Value::Null));
    let o = Arc::clone(&opened);
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(paste_opener(writer, |page, _| {
            format!("  {}\r\n", code_on_page(page)).into_bytes()
        }))
        .paste_back(reader)
        .timeout(Duration::from_secs(20))
        .on(Event::Open, move |d: &Value, _: &CallInfo| {
            *o.lock().unwrap() = d.clone()
        })
        .await
        .unwrap();
    assert_eq!(login.profile().services(), ["github"]);
    assert_eq!(opened.lock().unwrap()["paste"], true);
    let url = opened.lock().unwrap()["url"].as_str().unwrap().to_owned();
    assert!(url.contains("paste=1") && !url.contains("redirect_uri"));
}

async fn paste_fails(pasted: fn(&str, &str) -> Vec<u8>) -> cloudmine::Error {
    let emu = auto_emulator().await;
    let (reader, writer) = paste_pipe();
    client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(paste_opener(writer, pasted))
        .paste_back(reader)
        .timeout(Duration::from_secs(20))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_garbage_paste_is_refused() {
    let e = paste_fails(|_, _| b"hello, is this the code?\n".to_vec()).await;
    assert_eq!(e.login_error_code(), Some("paste_invalid"), "{e}");
    let e = paste_fails(|_, _| [&[0xff; 50][..], b"\n"].concat()).await;
    assert_eq!(e.login_error_code(), Some("paste_invalid"), "{e}");
}

#[tokio::test]
async fn an_oversize_paste_is_refused() {
    let e = paste_fails(|_, _| vec![b'a'; MAX_PASTE_BYTES * 4]).await;
    assert_eq!(e.login_error_code(), Some("paste_too_long"), "{e}");
}

#[tokio::test]
async fn another_logins_code_is_foreign() {
    // A well-formed code of some other sign-in (a replayed older paste).
    let e = paste_fails(|_, _| format!("{}\n", "Q".repeat(43)).into_bytes()).await;
    assert_eq!(e.login_error_code(), Some("paste_foreign"), "{e}");
}

/// The login challenge of a start URL.
fn start_challenge(url: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "challenge")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn a_replayed_paste_from_a_finished_login_is_foreign() {
    let emu = auto_emulator().await;
    let (reader, writer) = paste_pipe();
    let first = Arc::new(Mutex::new(String::new()));
    let keep = Arc::clone(&first);
    let opener = paste_opener(writer, |page, _| {
        format!("{}\n", code_on_page(page)).into_bytes()
    });
    client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(move |url: &str| {
            *keep.lock().unwrap() = start_challenge(url);
            opener(url)
        })
        .paste_back(reader)
        .timeout(Duration::from_secs(20))
        .await
        .unwrap();
    let old = first.lock().unwrap().clone();
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(|_: &str| Ok(()))
        .paste_back(BufReader::new(std::io::Cursor::new(
            format!("{old}\n").into_bytes(),
        )))
        .timeout(Duration::from_secs(20))
        .await
        .unwrap_err();
    assert_eq!(e.login_error_code(), Some("paste_foreign"), "{e}");
}

#[tokio::test]
async fn a_stale_paste_names_no_login() {
    // The right code, but the browser never reached the server (or the
    // login expired or was used): the server knows no such login.
    let emu = auto_emulator().await;
    let (reader, writer) = paste_pipe();
    let writer = Arc::new(Mutex::new(Some(writer)));
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(move |url: &str| {
            let line = format!("{}\n", start_challenge(url)).into_bytes();
            let mut w = writer.lock().unwrap().take().unwrap();
            tokio::spawn(async move {
                w.write_all(&line).await.unwrap();
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
            Ok(())
        })
        .paste_back(reader)
        .timeout(Duration::from_secs(20))
        .await
        .unwrap_err();
    assert_eq!(e.login_error_code(), Some("paste_stale"), "{e}");
}

#[tokio::test]
async fn an_empty_input_and_a_silent_one_end_the_login() {
    let emu = auto_emulator().await;
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(|_: &str| Ok(()))
        .paste_back(BufReader::new(tokio::io::empty()))
        .await
        .unwrap_err();
    assert_eq!(e.login_error_code(), Some("paste_invalid"), "{e}");
    let (reader, _writer) = paste_pipe();
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(|_: &str| Ok(()))
        .paste_back(reader)
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
}
