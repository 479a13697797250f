//! Social login end to end, against the same protocol driven by a bare
//! `reqwest` client, same emulator (auto-consent), same run.
//!
//! ```text
//! cargo bench --bench social_login
//! ```
//!
//! SDK: `login_social` with the HTTP opener (loopback listener, PKCE, status
//! call, events). Baseline: the same requests with no listener — start URL →
//! provider → server callback (stopping at the redirect to the app), then
//! the status call. Prints p50/p99 of 200 logins each and, when Chromium is
//! installed, the time of one login through real headless Chromium.

use std::time::{Duration, Instant};

use base64::Engine;
use cloudmine::{HttpOpener, SocialNetwork, WebService};
use cloudmine_emulator::Emulator;
use reqwest::Method;
use sha2::Digest;

// The emulator tests' helpers: start URL and API-key requests.
#[path = "../emulator/tests/support/mod.rs"]
mod support;

const APP: &str = "bench";
const KEY: &str = "bench-key";
const APP_KEY: support::App = support::App(APP, KEY);
const LOGINS: usize = 200;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The protocol by hand: what any client must do, without a listener.
async fn baseline_login(http: &reqwest::Client, emu: &Emulator, i: usize) {
    let verifier = format!("{:0>43}", i);
    let challenge_s256 = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let challenge = format!(
        "{:0>32x}",
        0xC0FFEE_u64 * (i as u64 + 1) + Instant::now().elapsed().as_nanos() as u64
    );
    let url = APP_KEY.start_url(
        emu,
        &challenge,
        "github",
        Some("http://127.0.0.1:9/callback"),
        &[
            ("code_challenge", &challenge_s256),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut next = url;
    // Follow redirects until the one that points at the app.
    loop {
        let r = http.get(&next).send().await.expect("baseline hop");
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(l) if l.starts_with("http://127.0.0.1:9/") => break,
            Some(l) => {
                next = reqwest::Url::parse(&next)
                    .unwrap()
                    .join(&l)
                    .unwrap()
                    .to_string()
            }
            None => panic!("the baseline flow stopped early at {next}"),
        }
    }
    let status_path = format!("account/social/login/status/{challenge}?code_verifier={verifier}");
    let status: serde_json::Value = APP_KEY
        .request_via(http, &emu.base_url(), Method::GET, &status_path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["finished"], true, "{status}");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .expect("emulator");
    let base = emu.base_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opener = HttpOpener::new();
    // One client for every login, as an app has; `link(false)` so each login
    // is a fresh one rather than a link to the previous session.
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(&base)
        .build()
        .unwrap();

    for i in 0..20 {
        ws.login_social(SocialNetwork::Github)
            .link(false)
            .opener(opener.clone())
            .await
            .unwrap();
        baseline_login(&http, &emu, i).await;
    }
    let (mut sdk, mut bare) = (Vec::new(), Vec::new());
    for i in 0..LOGINS {
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for use_sdk in order {
            let t = Instant::now();
            if use_sdk {
                ws.login_social(SocialNetwork::Github)
                    .link(false)
                    .opener(opener.clone())
                    .await
                    .unwrap();
                sdk.push(t.elapsed());
            } else {
                baseline_login(&http, &emu, 1000 + i).await;
                bare.push(t.elapsed());
            }
        }
    }
    sdk.sort();
    bare.sort();
    println!(
        "| measure ({LOGINS} logins each) | login_social + HttpOpener | bare protocol, no listener | ratio |"
    );
    println!("|---|---|---|---|");
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (s, b) = (pct(&sdk, p), pct(&bare, p));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2}× |",
            ms(s),
            ms(b),
            ms(s) / ms(b)
        );
    }

    // One login through real headless Chromium (startup included), when installed.
    let chromium = ["chromium", "chromium-browser"].iter().find_map(|n| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    });
    match chromium {
        Some(chromium) => {
            let dir = tempfile::tempdir().unwrap();
            let script = dir.path().join("browser.sh");
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\nprofile=$(mktemp -d)\n\"{}\" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=\"$profile\" --dump-dom \"$1\" >/dev/null 2>&1 &\n",
                    chromium.display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
            // SAFETY: set before any other thread reads the environment here.
            unsafe { std::env::set_var("BROWSER", &script) };
            let t = Instant::now();
            ws.login_social(SocialNetwork::Github)
                .link(false)
                .timeout(Duration::from_secs(60))
                .await
                .expect("chromium login");
            println!(
                "| one login in real headless Chromium (browser start included) | {:.0} ms | | |",
                ms(t.elapsed())
            );
        }
        None => println!(
            "| one login in real headless Chromium | not measured: chromium not installed | | |"
        ),
    }
    emu.shutdown().await.unwrap();
}
