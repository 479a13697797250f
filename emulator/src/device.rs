//! Device and paste-back social logins (an emulator extension, EMULATOR.md
//! "Device and paste-back logins", PROTOCOL.md §5a).
//!
//! Both start like any social login (`GET account/social/login`) with
//! `device=1` or `paste=1` and a PKCE `code_challenge`, and no
//! `redirect_uri`: the browser may be on another machine. A device login
//! shows the user code (derived from the code challenge, so the app shows
//! the same one) on a confirm page before the provider; a paste-back login
//! ends on a page showing the code to paste into the app. Every status call
//! of such a login, pending ones included, needs the PKCE verifier; wrong
//! verifiers are counted and the login is cancelled at the limit.
//!
//! Pending ones are bounded per app and expire with the login itself. They
//! are kept in the database ([`InFlight`](crate::store::InFlight)), by the
//! challenge's SHA-256, so any instance serving it can confirm, gate and
//! settle a login another one started.

use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::crypto::{constant_time_eq, sha256_hex};
use crate::fail::Fail;
use crate::pages::{self, escape};
use crate::store::{
    DeviceEntry, DeviceLimits, LoginOutcome, NewLogin, Reserved, Store, StoreResult, now_ms,
};

/// Device and paste-back logins waiting for the browser, per app.
pub(crate) const MAX_PENDING_PER_APP: usize = 16;
/// Such logins kept at all (settled ones wait here for their status call).
const MAX_ENTRIES: usize = 4096;
/// Such logins kept per app, settled ones included: one app's key (public
/// in a client app) cannot fill [`MAX_ENTRIES`] for the others by settling
/// its logins at once (SECURITY.md "Attack review 3").
pub(crate) const MAX_KEPT_PER_APP: usize = 256;
/// As long as any pending social login lives.
const TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong or missing verifiers before the login is cancelled.
pub(crate) const MAX_ATTEMPTS: u32 = 5;
/// The user code's alphabet: consonants only (RFC 8628 §6.1: no vowels, so
/// no words; no look-alikes).
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Which kind of login the browser started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The page shows the user code to confirm; the app polls.
    Device,
    /// The last page shows a code to paste into the app.
    Paste,
}

/// A device or paste-back start, checked.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    pub kind: Kind,
    pub code_challenge: String,
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `Ok(None)` for an ordinary login; `Err` is why the start is refused.
pub(crate) fn requested(query: &[(String, String)]) -> Result<Option<Started>, &'static str> {
    let kind = match (param(query, "device"), param(query, "paste")) {
        (None, None) => return Ok(None),
        (Some("1"), None) => Kind::Device,
        (None, Some("1")) => Kind::Paste,
        (Some(_), Some(_)) => return Err("A login is either device=1 or paste=1, not both."),
        _ => return Err("device and paste take the value 1."),
    };
    if param(query, "redirect_uri").is_some() {
        return Err("A device or paste-back login has no redirect_uri.");
    }
    if param(query, "code_challenge_method") != Some("S256") {
        return Err("A device or paste-back login needs code_challenge_method=S256.");
    }
    match param(query, "code_challenge") {
        Some(cc) if is_s256(cc) => Ok(Some(Started {
            kind,
            code_challenge: cc.to_owned(),
        })),
        _ => Err("A device or paste-back login needs a code_challenge of 43 base64url characters."),
    }
}

fn is_s256(cc: &str) -> bool {
    cc.len() == 43
        && cc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The user code of a PKCE code challenge: `XXXX-XXXX` from [`ALPHABET`],
/// letter `i` being byte `i` of `SHA-256("cloudmine-user-code:" + challenge)`
/// modulo 20. The SDK computes the same.
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

impl Kind {
    /// The name stored with the login.
    fn as_str(self) -> &'static str {
        match self {
            Kind::Device => "device",
            Kind::Paste => "paste",
        }
    }

    fn from_stored(name: &str) -> Option<Kind> {
        match name {
            "device" => Some(Kind::Device),
            "paste" => Some(Kind::Paste),
            _ => None,
        }
    }
}

/// The bounds on such logins kept in the database.
const LIMITS: DeviceLimits = DeviceLimits {
    pending_per_app: MAX_PENDING_PER_APP,
    kept_per_app: MAX_KEPT_PER_APP,
    total: MAX_ENTRIES,
};

/// What a status call may do.
enum Gate {
    /// Not a device or paste-back login, or the right verifier.
    Pass,
    /// A wrong or missing verifier; `true` when that was the last allowed.
    Wrong(bool),
}

/// Room for one more in the database; `Err` is the refusal.
async fn reserve(
    store: &dyn Store,
    app_id: &str,
    challenge: &str,
    started: &Started,
) -> Result<(), Fail> {
    let now = now_ms();
    let entry = DeviceEntry {
        challenge_sha256: sha256_hex(challenge),
        app_id: app_id.to_owned(),
        kind: started.kind.as_str().to_owned(),
        code_challenge: started.code_challenge.clone(),
        expires_ms: now.saturating_add(i64::try_from(TTL.as_millis()).unwrap_or(i64::MAX)),
    };
    match store.device_reserve(&entry, LIMITS, now).await {
        Ok(Reserved::Yes) => Ok(()),
        Ok(Reserved::Full) => Err(Fail::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many device or paste-back logins are waiting: finish or let some expire first.",
        )),
        Ok(Reserved::Taken) => Err(Fail::bad("This challenge was already used.")),
        Err(e) => Err(Fail::storage("device login", e)),
    }
}

/// Forgets `app_id`'s login `challenge` once its status call consumed the
/// settled outcome (its room is free again); `None` for `app_id`: the
/// login could not be stored.
pub(crate) async fn forget(store: &dyn Store, app_id: Option<&str>, challenge: &str) {
    if let Err(e) = store.device_forget(app_id, &sha256_hex(challenge)).await {
        tracing::error!(error = %e, "could not forget a device login");
    }
}

/// Checks a status call's verifier.
async fn check(
    store: &dyn Store,
    app_id: &str,
    challenge: &str,
    verifier: Option<&str>,
) -> StoreResult<Gate> {
    let hash = sha256_hex(challenge);
    let Some(code_challenge) = store.device_code_challenge(app_id, &hash).await? else {
        return Ok(Gate::Pass);
    };
    let given = verifier.map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
    if given
        .as_deref()
        .is_some_and(|g| constant_time_eq(g.as_bytes(), code_challenge.as_bytes()))
    {
        return Ok(Gate::Pass);
    }
    Ok(Gate::Wrong(
        store.device_miss(app_id, &hash, MAX_ATTEMPTS).await?,
    ))
}

/// The status call's gate: `Some` refusal for a device or paste-back login
/// asked without its verifier (the login is cancelled at the limit).
pub(crate) async fn gate(
    store: &dyn Store,
    app_id: &str,
    challenge: &str,
    query: &[(String, String)],
) -> Option<Response> {
    match check(store, app_id, challenge, param(query, "code_verifier")).await {
        Ok(Gate::Pass) => None,
        Err(e) => Some(Fail::storage("device login", e).into_response()),
        Ok(Gate::Wrong(false)) => {
            Some(Fail::new(StatusCode::UNAUTHORIZED, "invalid code_verifier").into_response())
        }
        Ok(Gate::Wrong(true)) => {
            let cancelled = LoginOutcome::Failed {
                error: "too_many_attempts".into(),
                description: "too many status calls without the right code_verifier: the login \
                              was cancelled"
                    .into(),
            };
            if store
                .settle_login(challenge, &cancelled, None)
                .await
                .is_err()
            {
                tracing::error!("could not cancel a device login");
            }
            Some(
                Fail::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid code_verifier; too many attempts: the login was cancelled",
                )
                .into_response(),
            )
        }
    }
}

/// Stores `login`, holding a place first for a device or paste-back one
/// (given back when the login is not stored); `Ok(false)` when the
/// challenge was already used; `Err` is the refusal's page.
pub(crate) async fn insert_login(
    store: &dyn Store,
    started: Option<&Started>,
    login: &NewLogin,
) -> Result<bool, Response> {
    if let Some(s) = started {
        reserve(store, &login.app_id, &login.challenge, s)
            .await
            .map_err(pages::refusal)?;
    }
    let inserted = store.insert_login(login).await;
    if started.is_some() && !matches!(inserted, Ok(true)) {
        forget(store, None, &login.challenge).await;
    }
    inserted.map_err(|e| pages::storage_failed("social login", e))
}

pub(crate) fn onward(started: Option<&Started>, to_provider: Response) -> Response {
    match started {
        Some(s) if s.kind == Kind::Device => confirm_page(s, to_provider),
        _ => to_provider,
    }
}

/// A device login's confirm page: the user code, then the way on to the
/// provider (`to_provider`, the broker's redirect, supplies its location).
fn confirm_page(started: &Started, to_provider: Response) -> Response {
    let Some(location) = to_provider
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
    else {
        return to_provider;
    };
    let code = user_code(&started.code_challenge);
    pages::page(
        StatusCode::OK,
        "Confirm the code",
        &format!(
            "<h1>Confirm the code</h1>\
             <p>Continue only if your app shows this code:</p>\
             <p id=\"user-code\" style=\"font-size:2rem;letter-spacing:.2rem\">{}</p>\
             <p><a id=\"continue\" href=\"{}\">The codes match: continue</a></p>\
             <p>If they differ, close this page: someone else started this sign-in.</p>",
            escape(&code),
            escape(&location)
        ),
    )
}

/// The page after the provider for a settled paste-back login (the code to
/// paste, when it finished); `None` for any other login.
pub(crate) async fn landing(
    store: &dyn Store,
    app_id: &str,
    challenge: &str,
    outcome: &LoginOutcome,
) -> Option<Response> {
    let settled = store
        .device_settle(app_id, &sha256_hex(challenge), now_ms())
        .await;
    let kind = Kind::from_stored(&settled.ok().flatten()?)?;
    match (kind, outcome) {
        (Kind::Paste, LoginOutcome::Finished { .. }) => Some(pages::page(
            StatusCode::OK,
            "Paste this code into your app",
            &format!(
                "<h1>Almost done</h1>\
                 <p>Copy this code and paste it into the app that asked you to sign in:</p>\
                 <p><code id=\"paste-code\" style=\"word-break:break-all\">{}</code></p>",
                escape(challenge)
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn user_codes_are_two_groups_of_four_consonants() {
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

    #[test]
    fn starts_are_checked() {
        let cc = "c".repeat(43);
        assert!(requested(&q(&[])).unwrap().is_none());
        let ok = q(&[
            ("device", "1"),
            ("code_challenge", &cc),
            ("code_challenge_method", "S256"),
        ]);
        assert_eq!(requested(&ok).unwrap().unwrap().kind, Kind::Device);
        for bad in [
            q(&[("device", "1"), ("paste", "1")]),
            q(&[("device", "2")]),
            q(&[("paste", "1"), ("code_challenge", &cc)]),
            q(&[
                ("paste", "1"),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ]),
            q(&[
                ("device", "1"),
                ("code_challenge", &cc),
                ("code_challenge_method", "S256"),
                ("redirect_uri", "http://127.0.0.1:1/cb"),
            ]),
        ] {
            assert!(requested(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn pending_logins_are_bounded_per_app_and_wrong_verifiers_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(":memory:".as_ref(), dir.path())
            .await
            .unwrap();
        let started = Started {
            kind: Kind::Device,
            code_challenge: "c".repeat(43),
        };
        for i in 0..MAX_PENDING_PER_APP {
            reserve(&store, "a", &format!("ch{i}"), &started)
                .await
                .unwrap();
        }
        let full = reserve(&store, "a", "one-more", &started).await;
        assert_eq!(full.unwrap_err().0, StatusCode::TOO_MANY_REQUESTS);
        assert!(reserve(&store, "b", "other-app", &started).await.is_ok());
        let taken = reserve(&store, "b", "other-app", &started).await;
        assert_eq!(taken.unwrap_err().0, StatusCode::BAD_REQUEST);
        forget(&store, None, "ch0").await;
        assert!(reserve(&store, "a", "one-more", &started).await.is_ok());
        for _ in 1..MAX_ATTEMPTS {
            let gate = check(&store, "a", "ch1", Some("wrong")).await.unwrap();
            assert!(matches!(gate, Gate::Wrong(false)));
        }
        let gate = check(&store, "a", "ch1", None).await.unwrap();
        assert!(matches!(gate, Gate::Wrong(true)), "the last attempt");
        let gate = check(&store, "a", "ch1", None).await.unwrap();
        assert!(matches!(gate, Gate::Pass), "forgotten at the limit");
    }
}
