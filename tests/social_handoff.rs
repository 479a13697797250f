//! The default opener keeps the login URL off command lines (issue 12,
//! item 2): `SystemBrowser` hands the browser (`$BROWSER`, here a script
//! that records what it was given) the path of a private page that
//! redirects, removed when the login ends. Its own test binary: it sets
//! `$BROWSER` and `$CLOUDMINE_LOGIN_PAGE_DIR`.
#![cfg(target_os = "linux")]

mod support;

use std::future::IntoFuture;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use cloudmine::SocialNetwork;
use cloudmine_emulator::Emulator;
use support::*;

/// Waits (up to 20 s) for `path` to exist with content.
async fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with("END\n")
        {
            return text;
        }
        assert!(Instant::now() < deadline, "the browser script never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The URL the page leads to: its meta refresh, HTML-unescaped.
fn target_of(page: &str) -> String {
    let start = page.find("content=\"0; url=").unwrap() + "content=\"0; url=".len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_browser_gets_a_private_page_not_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let script = dir.path().join("browser.sh");
    let log = dir.path().join("browser.log");
    let copy = dir.path().join("page.html");
    // Records its arguments and the page's mode and owner, copies the page,
    // and returns at once as a GUI browser's launcher does.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nlog=\"{log}\"\nfor a in \"$@\"; do printf 'arg %s\\n' \"$a\" >> \"$log\"; done\n\
             p=\"${{1#file://}}\"\nstat -c 'file %a %u' \"$p\" >> \"$log\"\nstat -c 'dir %a %u' \"$(dirname \"$p\")\" >> \"$log\"\n\
             cp \"$p\" \"{copy}\"\necho END >> \"$log\"\n",
            log = log.display(),
            copy = copy.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: this test binary has this one test; nothing else reads the
    // environment concurrently.
    unsafe {
        std::env::set_var("BROWSER", &script);
        std::env::set_var("CLOUDMINE_LOGIN_PAGE_DIR", &pages);
    }

    let emu = Emulator::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada.gh@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    // A linking login: the URL carries a ticket too.
    let (ws, user_id) = user_client(&emu, "ada@example.com").await;
    let session = ws.session_token().unwrap().secret().to_owned();
    let login = tokio::spawn(
        ws.login_social(SocialNetwork::Github)
            .timeout(Duration::from_secs(30))
            .into_future(),
    );

    let recorded = wait_for(&log).await;
    let args: Vec<&str> = recorded
        .lines()
        .filter_map(|l| l.strip_prefix("arg "))
        .collect();
    assert_eq!(args.len(), 1, "{recorded}");
    for secret in [
        "challenge",
        "ticket",
        "state",
        "token",
        "apikey",
        KEY,
        &session,
        "?",
    ] {
        assert!(
            !args[0].contains(secret),
            "{secret:?} on the command line: {}",
            args[0]
        );
    }
    let path = args[0]
        .strip_prefix("file://")
        .expect("a file URL")
        .to_owned();
    assert!(Path::new(&path).starts_with(&pages), "{path}");
    let uid = dir.path().metadata().unwrap().uid();
    assert!(
        recorded.contains(&format!("file 600 {uid}\n")),
        "{recorded}"
    );
    assert!(recorded.contains(&format!("dir 700 {uid}\n")), "{recorded}");

    // The browser follows the page to the server, then to the listener.
    let page = std::fs::read_to_string(&copy).unwrap();
    assert!(page.contains("Content-Security-Policy") && page.contains("location.replace("));
    let url = target_of(&page);
    assert!(url.contains("ticket=") && !url.contains(&session), "{url}");
    let followed = reqwest::get(&url).await.unwrap();
    assert!(followed.status().is_success(), "{}", followed.status());

    let login = tokio::time::timeout(Duration::from_secs(20), login)
        .await
        .expect("the login completes")
        .unwrap()
        .unwrap();
    assert_eq!(login.profile().id(), user_id);
    assert!(
        !Path::new(&path).exists(),
        "the page is removed after the login"
    );
    assert_eq!(
        std::fs::read_dir(&pages).unwrap().count(),
        0,
        "and its directory"
    );
}
