//! [`Request`]: what an endpoint sends, before the client's options are
//! merged in (`call.rs` prepares and sends it).

use std::borrow::Cow;

use reqwest::Method;
use serde_json::Value;

use crate::api_version::ApiVersion;
use crate::envelope::Processor;
use crate::secret::SessionToken;

/// What an endpoint sends, before options are merged in.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// Path segments under `/{version}/app/{appid}/` (encoded when the URL is built).
    pub segments: Vec<String>,
    /// Endpoint parameters; the server params follow them.
    pub query: Vec<(Cow<'static, str>, String)>,
    pub body: Option<Body>,
    pub processor: Processor,
    /// Account endpoints that always use the app level and never send the
    /// client's session.
    pub force_app: bool,
    /// A session header to send whatever the level (logout sends the
    /// session it ends).
    pub session: Option<SessionToken>,
    /// The endpoint's own API version (`searchES` is always `v2`); `None`:
    /// the `version` option, else `v1`.
    pub version: Option<ApiVersion>,
    /// What the endpoint hands its own `after` step through
    /// [`Processed::carry`] (a login: the email/username it used); never sent.
    pub carry: Option<Box<Value>>,
    /// Sent with the master key instead of the API key (the master-key
    /// calls of the users API); refused before sending when none is set.
    pub master: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl Request {
    pub(crate) fn new(method: Method, segments: &[&str]) -> Self {
        Request {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            processor: Processor::Text,
            force_app: false,
            session: None,
            version: None,
            carry: None,
            master: false,
        }
    }

    pub(crate) fn app_level(mut self) -> Self {
        self.force_app = true;
        self
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((Cow::Borrowed(name), value.into()));
        self
    }

    pub(crate) fn json(mut self, value: &Value) -> Self {
        self.body = Some(Body {
            bytes: value.to_string().into_bytes(),
            content_type: "application/json",
        });
        self
    }
}
