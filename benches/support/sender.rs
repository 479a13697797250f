//! The load generator's clients: the SDK's own HTTP stack (`reqwest`, a
//! pooled client, what an app embedding the SDK sends with) or a lean one
//! (one keep-alive HTTP/1.1 connection per client through hyper's client
//! connection, no pool, no redirects), chosen by `CLOUDMINE_BENCH_CLIENT`
//! (`reqwest`, the default, or `conn`). Client and emulator share the
//! machine's cores, so the lean client leaves more of them to the server.

#![allow(dead_code)] // each bench uses part of it

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// Which client the environment asks for.
pub fn lean() -> bool {
    std::env::var("CLOUDMINE_BENCH_CLIENT").is_ok_and(|v| v == "conn")
}

/// One client of the load: sends requests one after the other.
pub enum Sender {
    /// The SDK's HTTP stack.
    Reqwest(reqwest::Client, String),
    /// One HTTP/1.1 connection.
    Conn(SendRequest<Full<Bytes>>, String),
}

impl Sender {
    /// A client for `base` (`http://127.0.0.1:port`), of the kind asked for.
    pub async fn new(base: &str) -> Sender {
        if !lean() {
            return Sender::Reqwest(super::cluster::client(), base.to_owned());
        }
        let authority = base.trim_start_matches("http://").to_owned();
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Sender::Conn(send, authority)
    }

    /// Sends one user-level request; panics unless it succeeds; the time
    /// it took, the whole answer read.
    pub async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> Duration {
        let started = Instant::now();
        let url_path = format!("/v1/app/{}/user/{path}", super::cluster::APP);
        let (status, bytes) = match self {
            Sender::Reqwest(client, base) => {
                let mut req = client
                    .request(method, format!("{base}{url_path}"))
                    .header("x-cloudmine-apikey", super::cluster::KEY)
                    .header("x-cloudmine-sessiontoken", token);
                if let Some(body) = body {
                    req = req.body(body);
                }
                let resp = req.send().await.expect("request");
                let status = resp.status().as_u16();
                (status, resp.bytes().await.expect("body"))
            }
            Sender::Conn(send, authority) => {
                let req = hyper::Request::builder()
                    .method(method.as_str())
                    .uri(url_path)
                    .header("host", authority.as_str())
                    .header("x-cloudmine-apikey", super::cluster::KEY)
                    .header("x-cloudmine-sessiontoken", token)
                    .body(Full::new(Bytes::from(body.unwrap_or_default())))
                    .expect("request");
                send.ready().await.expect("connection ready");
                let resp = send.send_request(req).await.expect("request");
                let status = resp.status().as_u16();
                let body = resp.into_body().collect().await.expect("body");
                (status, body.to_bytes())
            }
        };
        assert!(
            (200..300).contains(&status),
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        started.elapsed()
    }
}
