//! The device login's user code ([`LoginMode::Device`](super::LoginMode::Device)):
//! shown by the app (the `open` event's `user_code`) and by the server's
//! confirm page, derived by both from the PKCE code challenge (PROTOCOL.md
//! §5a), and the `open` event that carries it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::flow::without_query;
use std::sync::Arc;

use super::opener::{BrowserOpener, open_off_runtime};
use crate::Event;
use crate::call::Completion;

/// Consonants only: no words, no look-alikes (RFC 8628 §6.1).
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// `XXXX-XXXX`: letter `i` is byte `i` of
/// `SHA-256("cloudmine-user-code:" + code_challenge)` modulo 20.
pub(crate) fn user_code(code_challenge: &str) -> String {
    let digest = Sha256::digest(format!("cloudmine-user-code:{code_challenge}").as_bytes());
    let mut code = String::with_capacity(9);
    for (i, b) in digest.iter().take(8).enumerate() {
        if i == 4 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
    }
    code
}

/// Opens `url` and fires `open` with `{url, opened, reason}` plus `extra`
/// (the device login's `user_code`, or `paste: true`). A browser that
/// cannot be opened is not a failure: the app shows the URL (and code).
/// The opener runs on a blocking thread.
pub(crate) async fn announce_with(
    opener: &Arc<dyn BrowserOpener>,
    url: &Url,
    completion: &mut Completion,
    extra: Value,
) {
    let opened = open_off_runtime(opener, url.as_str()).await;
    if let Err(reason) = &opened {
        tracing::info!(
            url = %without_query(url),
            reason = %reason,
            "could not open a browser; the app must show the login URL"
        );
    }
    let mut data = json!({
        "url": url.as_str(),
        "opened": opened.is_ok(),
        "reason": opened.as_ref().err(),
    });
    if let (Some(d), Value::Object(more)) = (data.as_object_mut(), extra) {
        d.extend(more);
    }
    completion
        .handlers
        .emit(Event::Open, &data, &completion.info);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_code_shape() {
        let code = user_code(&"a".repeat(43));
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| ALPHABET.contains(&b))
        );
        assert_ne!(code, user_code(&"b".repeat(43)));
    }
}
