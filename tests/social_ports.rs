//! Fixed listener ports for browser logins (issue 16 item 4): a list tried
//! in order, and a typed error naming every port when all are taken. Real
//! logins against the auto-consent emulator over loopback.

mod support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{CallInfo, Event, EventEmitter, HttpOpener, SocialNetwork};
use serde_json::Value;
use support::*;

/// A port that was free a moment ago (its listener is dropped).
fn free_port() -> u16 {
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

/// The `open` events of a call.
#[derive(Clone, Default)]
struct Opens(Arc<Mutex<Vec<Value>>>);

impl Opens {
    /// Records `call`'s `open` events (and the rest into `log`).
    fn attach<C: EventEmitter>(&self, log: &EventLog, call: C) -> C {
        let opens = Arc::clone(&self.0);
        log.attach(call)
            .on(Event::Open, move |data: &Value, _: &CallInfo| {
                opens.lock().unwrap().push(data.clone())
            })
    }

    /// The URL the first `open` event carried.
    fn url(&self) -> Option<String> {
        let opens = self.0.lock().unwrap();
        Some(opens.first()?["url"].as_str()?.to_owned())
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A listener holding a port, and the port.
fn occupied() -> (TcpListener, u16) {
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

#[tokio::test]
async fn the_second_port_is_used_when_the_first_is_taken() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let (_held, taken) = occupied();
    let free = free_port();
    let (log, opens) = (EventLog::default(), Opens::default());
    let call = ws
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .ports([taken, free])
        .timeout(Duration::from_secs(20));
    let login = opens.attach(&log, call).await.unwrap();
    assert_eq!(login.profile().services(), ["github"]);
    let url = opens.url().expect("an open event");
    let redirect = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(redirect, format!("http://127.0.0.1:{free}/callback"));
    // The session works: a user-scoped call succeeds.
    ws.users().me().await.unwrap();
}

#[tokio::test]
async fn a_single_fixed_port_still_works() {
    let emu = auto_emulator().await;
    let port = free_port();
    let (log, opens) = (EventLog::default(), Opens::default());
    let call = client(&emu)
        .login_social(SocialNetwork::Google)
        .opener(HttpOpener::new())
        .port(port)
        .timeout(Duration::from_secs(20));
    opens.attach(&log, call).await.unwrap();
    let url = opens.url().expect("an open event");
    assert!(
        url.contains(&format!("127.0.0.1%3A{port}%2Fcallback")),
        "{url}"
    );
}

#[tokio::test]
async fn all_ports_taken_is_an_error_naming_each() {
    let emu = auto_emulator().await;
    let held: Vec<(TcpListener, u16)> = (0..3).map(|_| occupied()).collect();
    let ports: Vec<u16> = held.iter().map(|(_, p)| *p).collect();
    let (log, opens) = (EventLog::default(), Opens::default());
    let call = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .ports(ports.clone())
        .timeout(Duration::from_secs(20));
    let e = opens.attach(&log, call).await.unwrap_err();
    assert!(e.is_ports_unavailable(), "{e}");
    assert_eq!(e.unavailable_ports(), Some(&ports[..]));
    let text = e.to_string();
    let listed = format!("{}, {}, {}", ports[0], ports[1], ports[2]);
    assert!(text.contains(&listed), "{text}");
    assert!(!text.contains(KEY), "{text}");
    // Nothing was opened and the error event carries the kind.
    assert_eq!(opens.count(), 0);
    assert_eq!(log.count("error"), 1);
    // Nothing reached the server's login page either.
    assert!(emu.requests().iter().all(|r| !r.path.contains("social")));
}

#[tokio::test]
async fn an_empty_port_list_is_invalid() {
    let emu = auto_emulator().await;
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .ports([])
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(e.to_string().contains("ports"), "{e}");
}
