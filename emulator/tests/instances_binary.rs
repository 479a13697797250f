//! Two `cloudmine-emulator` processes on one PostgreSQL database, as two
//! instances behind a load balancer: a client alternates its requests
//! between them; one is stopped with SIGTERM in the middle of the traffic,
//! and the other keeps serving everything, including what was written
//! through the stopped one. Skipped (visibly) outside CI without PostgreSQL.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

mod support;
use support::App;
use support::binary::Running;
use support::shared::SharedDb;

const APP: App = App("app1", "key1");

/// What the client saw: the keys acknowledged, and every failure of the
/// instance that was not stopped (there must be none).
#[derive(Default)]
struct Seen {
    acked: Vec<usize>,
    b_failures: Vec<String>,
    after_stop: usize,
}

/// PUTs `k{n}` alternately on A and B until `stop`; a write A cannot take
/// (it is shutting down) is sent to B instead, as a load balancer retries.
async fn traffic(
    a: String,
    b: String,
    stop: Arc<AtomicBool>,
    a_stopped: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) {
    let client = support::http();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let put = |base: &str| {
            APP.request_via(&client, base, Method::PUT, "text")
                .body(format!(r#"{{"k{n}": {{"n": {n}}}}}"#))
                .send()
        };
        let on_a = n % 2 == 0 && !a_stopped.load(Ordering::Relaxed);
        let mut ok = false;
        if on_a {
            ok = matches!(put(&a).await, Ok(r) if r.status().is_success());
        }
        if !ok {
            match put(&b).await {
                Ok(r) if r.status().is_success() => ok = true,
                Ok(r) => seen
                    .lock()
                    .await
                    .b_failures
                    .push(format!("k{n}: {}", r.status())),
                Err(e) => seen.lock().await.b_failures.push(format!("k{n}: {e}")),
            }
        }
        let mut seen = seen.lock().await;
        if ok {
            seen.acked.push(n);
            if a_stopped.load(Ordering::Relaxed) {
                seen.after_stop += 1;
            }
        }
    }
}

/// Waits (a 30 s liveness bound) for the process to exit; its status.
async fn exited(running: &mut Running) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = running.child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the instance did not exit after SIGTERM");
}

async fn acked(seen: &Mutex<Seen>) -> usize {
    seen.lock().await.acked.len()
}

/// Polls until `cond` holds (a 20 s liveness bound).
async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..2000 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn one_instance_stopped_mid_traffic_the_other_serves_everything() {
    let Some(db) = SharedDb::postgres() else {
        return;
    };
    let args = ["--db", db.db.as_str(), "--app", "app1:key1"];
    let mut a = Running::start(&args);
    let b = Running::start(&args);
    let (stop, a_stopped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let client = tokio::spawn(traffic(
        a.base.clone(),
        b.base.clone(),
        Arc::clone(&stop),
        Arc::clone(&a_stopped),
        Arc::clone(&seen),
    ));
    until("60 writes", async || acked(&seen).await >= 60).await;
    let status = Command::new("kill")
        .args(["-TERM", &a.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(exited(&mut a).await.success(), "A exits 0 after draining");
    a_stopped.store(true, Ordering::Relaxed);
    until("60 writes after A stopped", async || {
        seen.lock().await.after_stop >= 60
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    client.await.unwrap();

    let seen = seen.lock().await;
    assert!(
        seen.b_failures.is_empty(),
        "B failed: {:?}",
        seen.b_failures
    );
    // A is gone: nothing answers on its address.
    assert!(
        support::http()
            .get(format!("{}/healthz", a.base))
            .send()
            .await
            .is_err()
    );
    // B has every acknowledged write, whichever instance took it.
    let http = support::http();
    for n in &seen.acked {
        let (s, got) = support::json_of(
            APP.request_via(&http, &b.base, Method::GET, &format!("text?keys=k{n}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{got}");
        assert_eq!(got["success"][format!("k{n}")]["n"], *n, "k{n}: {got}");
    }
    let ready = http.get(format!("{}/readyz", b.base)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK, "B is ready");
}
