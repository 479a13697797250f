//! [`SocialAnswer`]: a social network's answer to a social graph query, as
//! the server passed it back (status, headers, body bytes).

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The network's answer to a [`SocialQuery`](crate::SocialQuery): a 2xx
/// status, its headers and its body as it came (the server redacts the
/// provider's access token from it). Read it as [`bytes`](Self::bytes),
/// [`text`](Self::text) or typed [`json`](Self::json).
///
/// A non-2xx answer is not a `SocialAnswer` but an
/// [`Error::Status`] (the network's status and body, or the server's own
/// refusal).
#[derive(Clone)]
pub struct SocialAnswer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl std::fmt::Debug for SocialAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialAnswer")
            .field("status", &self.status)
            .field("content_type", &self.header("content-type"))
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl SocialAnswer {
    /// The HTTP status (200, 201…).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header, by case-insensitive name, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body, as it came.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body.
    pub fn into_bytes(self) -> Bytes {
        self.body
    }

    /// The body as UTF-8 text; [`Error::Decode`] when it is not.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| Error::decode("the social answer as text", e))
    }

    /// The body decoded from JSON into `T` ([`serde_json::Value`] for any
    /// JSON); [`Error::Decode`] when it is not JSON of that shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::decode("the social answer as JSON", e))
    }
}
