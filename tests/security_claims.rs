//! docs/SECURITY.md's network and error claims, each held by a test:
//! redirects are never followed (the SDK's own client, and a client given
//! to `http_client`, for CloudMine and BaasBox calls), and errors name
//! their URL without its query string.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudmine::baasbox::BaasBox;
use cloudmine::{CallOptions, Credentials, WebService};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Two loopback servers: `origin` answers every request with a `302` to
/// `target`, which counts the connections it gets.
struct Redirect {
    origin: String,
    target_hits: Arc<AtomicUsize>,
}

impl Redirect {
    async fn start() -> Redirect {
        let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target_url = format!("http://{}/stolen", target.local_addr().unwrap());
        let target_hits = Arc::new(AtomicUsize::new(0));
        let hits = target_hits.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = target.accept().await {
                hits.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(socket, "200 OK", String::new()));
            }
        });
        let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin_url = format!("http://{}", origin.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((socket, _)) = origin.accept().await {
                let location = format!("Location: {target_url}\r\n");
                tokio::spawn(answer(socket, "302 Found", location));
            }
        });
        Redirect {
            origin: origin_url,
            target_hits,
        }
    }

    fn hits(&self) -> usize {
        self.target_hits.load(Ordering::SeqCst)
    }
}

/// Reads one request head (at most 64 KiB), answers with an empty JSON
/// body and closes.
async fn answer(mut socket: TcpStream, status: &'static str, extra: String) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let reply = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let _ = socket.write_all(reply.as_bytes()).await;
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A user-level read and a password login (credentials in the body) are
/// answered with the 302 itself; nothing reaches the redirect's target.
async fn cloudmine_stays_put(ws: &WebService, redirect: &Redirect) {
    ws.set_session_token("a-session-token").unwrap();
    let e = ws.objects().get(["car"]).await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e}");
    let e = ws
        .users()
        .login(Credentials::email("ada@example.com", "a password"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(302), "{e}");
    assert_eq!(redirect.hits(), 0, "a redirect was followed");
}

async fn baasbox_stays_put(bb: &BaasBox, redirect: &Redirect) {
    let e = bb.login("ada", "a password").await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e}");
    assert_eq!(redirect.hits(), 0, "a redirect was followed");
}

#[tokio::test]
async fn the_sdks_own_client_never_follows_a_redirect() {
    let redirect = Redirect::start().await;
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(&redirect.origin)
        .build()
        .unwrap();
    cloudmine_stays_put(&ws, &redirect).await;
    let bb = BaasBox::builder()
        .base_url(&redirect.origin)
        .app_code("1234567890")
        .build()
        .unwrap();
    baasbox_stays_put(&bb, &redirect).await;
}

#[tokio::test]
async fn an_own_http_client_without_redirects_is_used_and_never_follows_one() {
    let redirect = Redirect::start().await;
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(&redirect.origin)
        .http_client(no_redirects())
        .build()
        .unwrap();
    cloudmine_stays_put(&ws, &redirect).await;
    let bb = BaasBox::builder()
        .base_url(&redirect.origin)
        .app_code("1234567890")
        .http_client(no_redirects())
        .build()
        .unwrap();
    baasbox_stays_put(&bb, &redirect).await;
}

#[tokio::test]
async fn an_own_http_client_that_would_follow_redirects_is_refused() {
    let policies = [
        ("reqwest's default", reqwest::Client::new()),
        (
            "limited(3)",
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(3))
                .build()
                .unwrap(),
        ),
        (
            "custom",
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::custom(|a| a.follow()))
                .build()
                .unwrap(),
        ),
    ];
    for (label, http) in policies {
        let e = WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .http_client(http.clone())
            .build()
            .unwrap_err();
        assert!(e.is_invalid(), "{label}: {e}");
        let shown = e.to_string();
        assert!(
            shown.contains("http_client") && shown.contains("Policy::none()"),
            "{label}: names the option and the fix: {shown}"
        );
        let e = BaasBox::builder()
            .base_url("http://127.0.0.1:1")
            .app_code("1234567890")
            .http_client(http)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("http_client"), "{label}: {e}");
    }
}

/// What an error shows, with `Display` and `Debug`.
fn shown(e: &cloudmine::Error) -> String {
    format!("{e} {e:?}")
}

#[tokio::test]
async fn errors_name_their_url_without_the_query_string() {
    let emu = emulator().await;
    let wrong_key = builder(&emu).api_key("not-the-key").build().unwrap();
    let search = r#"[name = "q-marker"]"#;
    let opts = || CallOptions::new().limit(7).count(true);
    // An HTTP error (401) and a transport error (nothing listening), both
    // for a search with query parameters.
    let status = wrong_key
        .objects()
        .search(search)
        .options(opts())
        .await
        .unwrap_err();
    assert_eq!(status.status(), Some(401), "{status}");
    let dead = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .build()
        .unwrap();
    let transport = dead
        .objects()
        .search(search)
        .options(opts())
        .await
        .unwrap_err();
    assert!(transport.is_transport(), "{transport}");
    for e in [&status, &transport] {
        let text = shown(e);
        assert!(text.contains("/search"), "the error names the call: {text}");
        for part in ["?", "q-marker", "limit=", "count="] {
            assert!(!text.contains(part), "{part:?} in the error: {text}");
        }
    }
}
