//! Shared support for the emulator's tests: an app's requests with its API
//! key, the social-login flow's URLs and status call, and small helpers.
#![allow(dead_code)]

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode, Url};
use serde_json::Value;
use sha2::{Digest, Sha256};

use cloudmine_emulator::{Emulator, EmulatorBuilder};

pub mod binary;
pub mod dashboard;
pub mod log;
pub mod postgres;
pub mod shared;
pub mod skip;
pub mod social;
pub mod stub;
pub mod user;

/// `Emulator::builder()` on the backend the tests run on: a fresh schema
/// of the test PostgreSQL server with `CLOUDMINE_TEST_DB=postgres`, else
/// (unset or `sqlite`) SQLite in memory, the default.
pub fn builder() -> EmulatorBuilder {
    let builder = Emulator::builder();
    if !postgres::requested() {
        return builder;
    }
    match postgres::fresh_url() {
        Some(url) => builder.database(url),
        None => builder,
    }
}

/// A client that does not follow redirects (the flows are followed by hand).
pub fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An answer's status and JSON body (`Null` when it is not JSON).
pub async fn json_of(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The first message of a `{"errors": [...]}` body.
pub fn message(body: &Value) -> &str {
    body["errors"][0].as_str().unwrap_or_default()
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A valid social-login challenge, distinct for each `n`.
pub fn challenge(n: u32) -> String {
    format!("{n:0>64}")
}

/// GETs `url` and returns the `Location` of its 302.
pub async fn location(url: &str) -> String {
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "{url}");
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// A CloudMine application of the emulator: its id and API key.
#[derive(Clone, Copy)]
pub struct App(pub &'static str, pub &'static str);

impl App {
    /// `{base}/v1/app/{id}/{path}`.
    pub fn url(&self, emu: &Emulator, path: &str) -> String {
        format!("{}/v1/app/{}/{path}", emu.base_url(), self.0)
    }

    /// A request to `path` with the API key.
    pub fn request(&self, emu: &Emulator, method: Method, path: &str) -> RequestBuilder {
        self.request_at(&emu.base_url(), method, path)
    }

    /// A request to `path` with the API key, at the server at `base` (an
    /// emulator run as a process).
    pub fn request_at(&self, base: &str, method: Method, path: &str) -> RequestBuilder {
        self.request_via(&http(), base, method, path)
    }

    /// A request to `path` with the API key, sent by `client` (a benchmark
    /// keeps one client, and its connections, for every request).
    pub fn request_via(
        &self,
        client: &Client,
        base: &str,
        method: Method,
        path: &str,
    ) -> RequestBuilder {
        client
            .request(method, format!("{base}/v1/app/{}/{path}", self.0))
            .header("x-cloudmine-apikey", self.1)
    }

    /// Sends a request with the API key and an optional body; every answer
    /// carries an `x-request-id`.
    pub async fn call(
        &self,
        emu: &Emulator,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(emu, method, path);
        if let Some(body) = body {
            req = req.body(body.to_owned());
        }
        let resp = req.send().await.unwrap();
        assert!(resp.headers().contains_key("x-request-id"));
        json_of(resp).await
    }

    /// The browser's start of a social login at `network`, with the key as
    /// a query parameter, an optional `redirect_uri`, and `extra` pairs.
    pub fn start_url(
        &self,
        emu: &Emulator,
        challenge: &str,
        network: &str,
        redirect_uri: Option<&str>,
        extra: &[(&str, &str)],
    ) -> String {
        let mut u = Url::parse(&self.url(emu, "account/social/login")).unwrap();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("service", network)
                .append_pair("apikey", self.1)
                .append_pair("challenge", challenge);
            if let Some(uri) = redirect_uri {
                q.append_pair("redirect_uri", uri);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        u.into()
    }

    /// The client's one-time status call for a challenge.
    pub async fn status(
        &self,
        emu: &Emulator,
        challenge: &str,
        verifier: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut path = format!("account/social/login/status/{challenge}");
        if let Some(v) = verifier {
            path.push_str(&format!("?code_verifier={v}"));
        }
        json_of(self.request(emu, Method::GET, &path).send().await.unwrap()).await
    }
}
