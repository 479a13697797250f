//! BaasBox social login: a password account links GitHub through the
//! browser flow (OAuth 2 + PKCE, loopback redirect), lists and unlinks it;
//! then a Google login creates a user of its own.
//!
//! ```text
//! cargo run --example baasbox              # headless: the emulator approves at once
//! cargo run --example baasbox -- --browser # your browser, the emulator's consent page
//! ```
//!
//! Everything runs against a `cloudmine-emulator` in this process serving
//! the BaasBox API under `/baasbox`, with its built-in identity provider.

use std::time::Duration;

use cloudmine::baasbox::{BaasBox, OAuthProvider};
use cloudmine::{BrowserOpener, CallInfo, Event, EventEmitter, HttpOpener, SystemBrowser};
use cloudmine_emulator::Emulator;
use serde_json::Value;

const APP_CODE: &str = "1234567890";

/// The system browser with `--browser`; otherwise plain HTTP requests,
/// which the emulator's auto-consent answers without a page.
#[derive(Clone, Copy)]
struct ExampleOpener {
    in_browser: bool,
}

impl BrowserOpener for ExampleOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        if self.in_browser {
            SystemBrowser.open(url)
        } else {
            HttpOpener::new().open(url)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let in_browser = std::env::args().any(|a| a == "--browser");
    let emulator = Emulator::builder()
        .app("unused", "unused-key")
        .baasbox(APP_CODE)
        .auto_consent(!in_browser)
        .identity("Ada Lovelace", "ada@example.com")
        .start()
        .await?;
    let root = emulator.base_url();
    println!("emulator (BaasBox API under /baasbox) on {root}");
    let opener = || ExampleOpener { in_browser };

    let bb = BaasBox::builder()
        .base_url(format!("{root}/baasbox"))
        .app_code(APP_CODE)
        .build()?;
    let ada = bb.signup("ada", "correct horse battery").await?;
    println!("signed up as {:?}", ada.username);

    // Link GitHub to this account through the browser.
    let linked = bb
        .login_social("github", OAuthProvider::emulator(&root, "github")?)
        .opener(opener())
        .link(true)
        .timeout(Duration::from_secs(300))
        .on(Event::Open, |data: &Value, _: &CallInfo| {
            println!("sign in at: {}", data["url"].as_str().unwrap_or(""));
        })
        .await?;
    println!("{} now has {:?}", linked.username, linked.networks);
    for account in bb.social_logins().await? {
        println!(
            "  {} as {:?} ({:?}), token {}",
            account.network, account.name, account.email, account.token
        );
    }
    bb.unlink("github").await?;
    println!(
        "unlinked: {} linked networks left",
        bb.social_logins().await?.len()
    );
    bb.logout().await?;

    // A social login with no account yet creates one.
    let other = BaasBox::builder()
        .base_url(format!("{root}/baasbox"))
        .app_code(APP_CODE)
        .build()?;
    let user = other
        .login_social("google", OAuthProvider::emulator(&root, "google")?)
        .opener(opener())
        .await?;
    println!(
        "google login created {:?} (generated: {})",
        user.username, user.generated_username
    );
    other.logout().await?;
    emulator.shutdown().await?;
    Ok(())
}
