//! Cross-origin requests (CORS) for browser apps on the official JS SDK,
//! served from another origin: the preflight is answered before the API key
//! is checked (browsers send no custom headers on it), the SDK's headers are
//! allowed and the ones it reads are exposed. Imports nothing from the crate.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Request headers the CloudMine JS SDK and BaasBox clients send.
const ALLOWED_HEADERS: [&str; 9] = [
    "content-type",
    "x-cloudmine-apikey",
    "x-cloudmine-sessiontoken",
    "x-cloudmine-agent",
    "x-cloudmine-ut",
    "x-cloudmine-masterkey",
    "x-baasbox-appcode",
    "x-bb-session",
    "authorization",
];

/// Answer headers a page may read (the JS SDK reads `X-Request-Id`; file
/// downloads carry the name, the hash and the length).
const EXPOSED_HEADERS: [&str; 5] = [
    "x-request-id",
    "content-disposition",
    "etag",
    "content-length",
    "retry-after",
];

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, Default)]
pub(crate) struct CorsSettings {
    /// `None`: any origin (the API key is the credential, as CloudMine
    /// did); otherwise exactly these, e.g. `https://app.example.com`.
    pub origins: Option<Vec<String>>,
}

impl CorsSettings {
    /// Refuses an origin that is not `scheme://host[:port]`.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for origin in self.origins.iter().flatten() {
            check_origin(origin)?;
        }
        Ok(())
    }

    /// The tower-http layer for these settings.
    pub(crate) fn layer(&self) -> CorsLayer {
        let origins = match &self.origins {
            None => AllowOrigin::any(),
            // Browsers send the scheme and host in lower case: a
            // configured `https://App.example.com` must still match.
            Some(list) => AllowOrigin::list(
                list.iter()
                    .filter_map(|o| HeaderValue::from_str(&o.to_ascii_lowercase()).ok())
                    .collect::<Vec<_>>(),
            ),
        };
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
            ])
            .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(PREFLIGHT_MAX_AGE)
    }
}

/// An origin as browsers send it: `http` or `https`, a host, an optional
/// port, nothing else (no path, no trailing slash, no credentials).
fn check_origin(origin: &str) -> Result<(), String> {
    let bad = || {
        format!("CORS origin {origin:?} must be scheme://host[:port], e.g. https://app.example.com")
    };
    let url = url::Url::parse(origin).map_err(|_| bad())?;
    let shape_ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && !origin.ends_with('/')
        && url.origin().ascii_serialization() == origin.to_ascii_lowercase();
    if shape_ok { Ok(()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_bare() {
        for good in ["https://app.example.com", "http://localhost:8000"] {
            assert!(check_origin(good).is_ok(), "{good}");
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://example.com",
            "https://user@example.com",
            "*",
            "",
        ] {
            let e = check_origin(bad).unwrap_err();
            assert!(e.contains("scheme://host[:port]"), "{bad}: {e}");
        }
    }
}
