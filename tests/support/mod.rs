//! Shared test support: a real emulator on loopback and clients for it.
#![allow(dead_code)]

pub mod attacks;
pub mod browser;
pub mod logs;
pub mod skip;
pub mod static_site;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{CallInfo, Event, EventEmitter, WebService, WebServiceBuilder};
use cloudmine_emulator::Emulator;
use serde_json::Value;

pub const APP: &str = "test-app";
pub const KEY: &str = "test-api-key";

/// Starts an in-memory emulator with one app.
pub async fn emulator() -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .start()
        .await
        .expect("the emulator starts")
}

/// An emulator with one app and its identity provider signing in Ada
/// Lovelace (ada@example.com) without a consent click.
pub async fn auto_emulator() -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .expect("the emulator starts")
}

/// A builder for the emulator's app, to add options to.
pub fn builder(emu: &Emulator) -> WebServiceBuilder {
    WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(emu.base_url())
}

/// A client for the emulator's app, with no session.
pub fn client(emu: &Emulator) -> WebService {
    builder(emu).build().expect("valid options")
}

/// A client logged in as a new user; returns it with the user's id.
pub async fn user_client(emu: &Emulator, email: &str) -> (WebService, String) {
    let user_id = emu.create_user(APP, email).await.expect("user created");
    let token = emu
        .create_session(APP, &user_id, Duration::from_secs(3600))
        .await
        .expect("session created");
    let ws = client(emu);
    ws.set_session_token(token).expect("valid token");
    (ws, user_id)
}

/// The events a call fired, by name, in order.
#[derive(Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<(String, Value)>>>);

/// Every event the tests look at.
pub const ALL_EVENTS: &[Event] = &[
    Event::Success,
    Event::Error,
    Event::Complete,
    Event::Meta,
    Event::Result,
    Event::Abort,
    Event::Progress,
    Event::Ok,
    Event::Created,
    Event::BadRequest,
    Event::Unauthorized,
    Event::NotFound,
    Event::Conflict,
    Event::ServerError,
    Event::Status(200),
    Event::Status(201),
    Event::Status(400),
    Event::Status(401),
    Event::Status(404),
    Event::Status(409),
    Event::Status(500),
];

impl EventLog {
    /// Registers a recorder for every event in [`ALL_EVENTS`].
    pub fn attach<C: EventEmitter>(&self, mut call: C) -> C {
        for &event in ALL_EVENTS {
            let log = Arc::clone(&self.0);
            call = call.on(event, move |data: &Value, _: &CallInfo| {
                log.lock().unwrap().push((event.to_string(), data.clone()));
            });
        }
        call
    }

    pub fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    pub fn data(&self, name: &str) -> Option<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
    }

    /// The data of every firing of one event, in order.
    pub fn all(&self, name: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .collect()
    }

    pub fn count(&self, name: &str) -> usize {
        self.names().iter().filter(|n| *n == name).count()
    }
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// Binds `port` on loopback, retrying until `deadline` has passed: a port
/// a dropped listener frees is released by its thread, which a loaded
/// machine may run a little later than the drop returns.
pub fn bind_within(port: u16, deadline: Duration) -> std::io::Result<std::net::TcpListener> {
    let end = std::time::Instant::now() + deadline;
    loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(bound) => return Ok(bound),
            Err(e) if std::time::Instant::now() >= end => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// How long the tests wait for a state change they poll for.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// An example program built by `cargo test`: `target/debug/examples/NAME`.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "build the example first: cargo build --example {name} ({})",
        bin.display()
    );
    bin
}
