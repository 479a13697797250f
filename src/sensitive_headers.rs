//! Unit tests only: the header values the SDK builds for secrets (the API
//! key, the master key, the session token) are marked sensitive on the
//! `reqwest::Request` a CloudMine call sends, so reqwest and hyper never
//! print them (docs/SECURITY.md). BaasBox's: `baasbox::call::tests`.

use reqwest::header::HeaderValue;

use crate::WebService;
use crate::client::{HEADER_AGENT, HEADER_API_KEY, HEADER_SESSION};

fn value<'r>(request: &'r reqwest::Request, name: &str) -> &'r HeaderValue {
    request
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[test]
fn cloudmine_secret_headers_are_marked_sensitive() {
    let ws = WebService::builder()
        .app_id("app")
        .api_key("the-api-key")
        .master_key("the-master-key")
        .api_root("http://127.0.0.1:1")
        .build()
        .unwrap();
    ws.set_session_token("the-session-token").unwrap();
    let request = ws.objects().get(["car"]).built().unwrap();
    let key = value(&request, HEADER_API_KEY);
    assert_eq!(key.as_bytes(), b"the-api-key");
    assert!(key.is_sensitive(), "the API key");
    let session = value(&request, HEADER_SESSION);
    assert_eq!(session.as_bytes(), b"the-session-token");
    assert!(session.is_sensitive(), "the session token");
    // What is no secret is not marked: the check tells them apart.
    assert!(!value(&request, HEADER_AGENT).is_sensitive());
    assert!(!format!("{:?}", request.headers()).contains("the-api-key"));

    let request = ws.users().admin().delete("someone").built().unwrap();
    let master = value(&request, HEADER_API_KEY);
    assert_eq!(master.as_bytes(), b"the-master-key");
    assert!(master.is_sensitive(), "the master key");
}
