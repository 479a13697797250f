//! A local process opening connections to a waiting login's listener
//! faster than the browser comes back (connection churn): the listener
//! serves at most 64 connections and a new one closes the oldest, so the
//! churn must not be able to close the browser's callback before it is
//! read.

mod support;

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::SocialNetwork;
use support::attacks;
use support::*;

/// Threads that connect in a loop, each keeping its last 128 sockets
/// open (sending nothing), until `stop`; each returns how many it opened.
fn churn(port: u16, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<usize>> {
    (0..8)
        .map(|_| {
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                let mut ring = std::collections::VecDeque::new();
                let mut opened = 0;
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                        // Reset on close: no TIME_WAIT, so the churn never
                        // runs out of local ports (nor takes the browser's).
                        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                        opened += 1;
                        ring.push_back(s);
                    }
                    if ring.len() > 128 {
                        ring.pop_front();
                    }
                }
                opened
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_churn_does_not_close_the_browsers_callback() {
    let emu = auto_emulator().await;
    let port = attacks::free_port();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let opener = {
        let (stop, threads) = (Arc::clone(&stop), Arc::clone(&threads));
        let http = reqwest::Client::new();
        move |url: &str| {
            threads.lock().unwrap().extend(churn(port, &stop));
            let (http, url) = (http.clone(), url.to_owned());
            tokio::spawn(async move {
                // Let the churn take hold, then the browser: one try, as a
                // browser makes one (it shows an error page on a reset).
                tokio::time::sleep(Duration::from_millis(1500)).await;
                let _ = http.get(&url).send().await;
            });
            Ok(())
        }
    };
    let login = client(&emu)
        .login_social(SocialNetwork::Github)
        .port(port)
        .opener(opener)
        .timeout(Duration::from_secs(20))
        .await;
    stop.store(true, Ordering::SeqCst);
    let opened: usize = std::mem::take(&mut *threads.lock().unwrap())
        .into_iter()
        .map(|t| t.join().unwrap())
        .sum();
    eprintln!("MEASURE churn: {opened} attacker connections");
    let login = login.expect("the browser's callback completes the login despite the churn");
    assert_eq!(login.profile().fields()["email"], "ada@example.com");
}
