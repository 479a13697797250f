//! Social login end to end: starts a `cloudmine-emulator` in this process,
//! opens the system browser at its consent page, waits for the browser to come
//! back to a loopback listener, and prints the profile and a redacted token.
//!
//! ```text
//! cargo run --example social_login                      # browser if there is a display
//! cargo run --example social_login -- --headless        # no browser: auto-consent over HTTP
//! cargo run --example social_login -- --network google
//! cargo run --example social_login -- --api-root https://… --app-id … --api-key …
//! ```
//!
//! With no display (no `$DISPLAY`, `$WAYLAND_DISPLAY` or `$BROWSER` on
//! Linux) it switches to headless mode by itself, so it finishes on its own
//! in CI.

use std::time::Duration;

use clap::Parser;
use cloudmine::{
    CallInfo, Event, EventEmitter, HttpOpener, SocialNetwork, SystemBrowser, WebService,
};
use cloudmine_emulator::Emulator;
use serde_json::Value;

/// Log in with a social network through the system browser.
#[derive(Debug, Parser)]
struct Args {
    /// The network to log in with.
    #[arg(long, default_value = "github")]
    network: SocialNetwork,
    /// Do not open a browser: the emulator approves by itself and the login
    /// is followed over plain HTTP.
    #[arg(long)]
    headless: bool,
    /// A real server's API root instead of the embedded emulator.
    #[arg(long, env = "CLOUDMINE_API_ROOT", requires_all = ["app_id", "api_key"])]
    api_root: Option<String>,
    /// The application id on that server.
    #[arg(long, env = "CLOUDMINE_APP_ID")]
    app_id: Option<String>,
    /// The API key on that server.
    #[arg(long, env = "CLOUDMINE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// How long to wait for the login, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

/// True when a browser window could be shown here.
fn has_display() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY", "BROWSER"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let headless = args.headless || !has_display();

    let (emulator, ws) = match (&args.api_root, &args.app_id, &args.api_key) {
        (Some(root), Some(app_id), Some(api_key)) => {
            let ws = WebService::builder()
                .app_id(app_id)
                .api_key(api_key.as_str())
                .api_root(root)
                .build()?;
            (None, ws)
        }
        _ => {
            let emulator = Emulator::builder()
                .app("social-demo", "social-demo-key")
                .identity("Ada Lovelace", "ada@example.com")
                .identity("Grace Hopper", "grace@example.com")
                .auto_consent(headless)
                .start()
                .await?;
            println!("emulator listening on {}", emulator.base_url());
            let ws = WebService::builder()
                .app_id("social-demo")
                .api_key("social-demo-key")
                .api_root(emulator.base_url())
                .build()?;
            (Some(emulator), ws)
        }
    };

    let login = ws
        .login_social(args.network.clone())
        .timeout(Duration::from_secs(args.timeout))
        .on(Event::Open, |data: &Value, _: &CallInfo| {
            if data["opened"] == true {
                println!("opened the login page; waiting for the browser to come back…");
            } else {
                println!(
                    "Open this URL to continue: {}",
                    data["url"].as_str().unwrap_or_default()
                );
            }
        });
    let login = if headless {
        println!("headless: the provider approves by itself and the login is followed over HTTP");
        login.opener(HttpOpener::new())
    } else {
        login.opener(SystemBrowser)
    };
    let login = login.await?;

    println!("signed in with {}", args.network);
    println!("  user id:  {}", login.profile().id());
    println!("  services: {:?}", login.profile().services());
    println!(
        "  profile:  {}",
        Value::Object(login.profile().fields().clone())
    );
    println!(
        "  token:    {} (expires {})",
        login.session_token(),
        login.expires().unwrap_or("?")
    );

    // Calls are now scoped to this user.
    ws.objects()
        .set(
            "greeting",
            serde_json::json!({"hello": login.profile().id()}),
        )
        .await?;
    let mine = ws.objects().get_all().await?;
    println!("  user data: {}", mine.success());

    if let Some(emulator) = emulator {
        emulator.shutdown().await?;
    }
    Ok(())
}
