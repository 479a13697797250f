//! Request pieces as the handlers take them: path parameters and query
//! pairs decoded leniently (as the emulator always did, never with axum's
//! plain-text rejections), header text, and the checked caller: the app by
//! its API key and, for user-level data, the session's user.

use std::borrow::Cow;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::crypto::{constant_time_eq, sha256_hex};
use crate::fail::Fail;
use crate::pages;
use crate::state::AppState;

/// A path segment or parameter, percent-decoded (invalid UTF-8 replaced).
pub(crate) fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The decoded segments of a path (`/a/b%20c` → `["a", "b c"]`).
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.split('/').skip(1).map(decode).collect()
}

/// The decoded pairs of a query string, in order, repeated names kept.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The first value of `name` among query pairs (empty values included).
pub(crate) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A header's value as text (invalid UTF-8 replaced).
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<Cow<'a, str>> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

/// An object or file key as written: 400 when it is empty, or holds a
/// comma (`?keys=a,b` separates keys with commas, so such a key could be
/// written but never read or deleted by name).
pub(crate) fn check_key(key: &str) -> Result<(), Fail> {
    if key.is_empty() {
        return Err(Fail::bad("a key must not be empty"));
    }
    if key.contains(',') {
        return Err(Fail::bad(format!(
            "the key {key:?} has a comma: keys are listed with commas in ?keys=, \
             so a key must not contain one"
        )));
    }
    Ok(())
}

/// The matched route's parameters, percent-decoded leniently.
pub(crate) struct PathParams(Vec<(String, String)>);

impl PathParams {
    fn of(parts: &Parts) -> Self {
        let Some(template) = parts.extensions.get::<MatchedPath>() else {
            return PathParams(Vec::new());
        };
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(parts.uri.path(), |u| u.0.path());
        let params = template
            .as_str()
            .split('/')
            .zip(path.split('/'))
            .filter_map(|(t, value)| {
                let name = t.strip_prefix('{')?.strip_suffix('}')?;
                Some((name.to_owned(), decode(value)))
            })
            .collect();
        PathParams(params)
    }

    /// A parameter by name (empty when the route has none of that name).
    pub(crate) fn get(&self, name: &str) -> &str {
        first(&self.0, name).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(PathParams::of(parts))
    }
}

/// The query's decoded pairs.
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(QueryPairs(query_pairs(parts.uri.query())))
    }
}

/// 404 for an unknown app, 401 for a missing or wrong `X-CloudMine-ApiKey`.
pub(crate) fn check_api_key(
    state: &AppState,
    app_id: &str,
    headers: &HeaderMap,
) -> Result<(), Fail> {
    let given = header(headers, "x-cloudmine-apikey").unwrap_or_default();
    check_key_value(state, app_id, &given)
}

/// [`check_api_key`] with the key already taken from the request. The
/// app's master key is accepted wherever its API key is.
fn check_key_value(state: &AppState, app_id: &str, given: &str) -> Result<(), Fail> {
    let Some(key) = state.apps.get(app_id) else {
        return Err(Fail::new(StatusCode::NOT_FOUND, "unknown application"));
    };
    if constant_time_eq(given.as_bytes(), key.as_bytes()) || is_master_key(state, app_id, given) {
        Ok(())
    } else {
        Err(Fail::new(
            StatusCode::UNAUTHORIZED,
            "invalid or missing API key",
        ))
    }
}

/// Whether `given` is the app's master key.
fn is_master_key(state: &AppState, app_id: &str, given: &str) -> bool {
    state
        .master_keys
        .get(app_id)
        .is_some_and(|master| constant_time_eq(given.as_bytes(), master.as_bytes()))
}

/// The caller of a master-key call: 404 for an unknown app, 401 unless the
/// `X-CloudMine-ApiKey` is the app's master key (the API key alone is not
/// enough; an app without a master key has no such calls).
pub(crate) struct MasterCaller {
    pub(crate) app_id: String,
}

impl FromRequestParts<Arc<AppState>> for MasterCaller {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Fail> {
        let app_id = PathParams::of(parts).get("app").to_owned();
        check_api_key(state, &app_id, &parts.headers)?;
        let given = header(&parts.headers, "x-cloudmine-apikey").unwrap_or_default();
        if !is_master_key(state, &app_id, &given) {
            return Err(Fail::new(
                StatusCode::UNAUTHORIZED,
                "this call needs the application's master key",
            ));
        }
        Ok(MasterCaller { app_id })
    }
}

/// The user of the `X-CloudMine-SessionToken` session, or 401.
pub(crate) async fn session_user(
    state: &AppState,
    app_id: &str,
    headers: &HeaderMap,
) -> Result<String, Fail> {
    let token = header(headers, "x-cloudmine-sessiontoken").unwrap_or_default();
    session_of_token(state, app_id, &token).await
}

/// [`session_user`] with the token already taken from the request.
async fn session_of_token(state: &AppState, app_id: &str, token: &str) -> Result<String, Fail> {
    let user = if token.is_empty() {
        None
    } else {
        let (app, hash) = (app_id.to_owned(), sha256_hex(token));
        state.store.session_user(&app, &hash).await?
    };
    user.ok_or_else(|| {
        Fail::new(
            StatusCode::UNAUTHORIZED,
            "a valid session token is required for user-level data",
        )
    })
}

/// Whether a route serves the app's data or a user's (`/user/...`).
pub(crate) trait Level: Send + Sync + 'static {
    /// True for user-level routes, which need a session.
    const USER: bool;
}

/// App-level data: the API key is enough.
pub(crate) enum AppLevel {}

/// User-level data: the API key and a live session.
pub(crate) enum UserLevel {}

impl Level for AppLevel {
    const USER: bool = false;
}

impl Level for UserLevel {
    const USER: bool = true;
}

/// The checked caller of a `/v1/app/{app}/...` route.
pub(crate) struct Caller<L = AppLevel> {
    pub(crate) app_id: String,
    /// The session's user, for user-level routes.
    pub(crate) user_id: Option<String>,
    level: PhantomData<fn() -> L>,
}

impl<L> Caller<L> {
    /// Whose data: the user's id, or `""` for the app's.
    pub(crate) fn owner(&self) -> &str {
        self.user_id.as_deref().unwrap_or_default()
    }
}

impl<L: Level> FromRequestParts<Arc<AppState>> for Caller<L> {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Fail> {
        let app_id = PathParams::of(parts).get("app").to_owned();
        check_api_key(state, &app_id, &parts.headers)?;
        let user_id = if L::USER {
            Some(session_user(state, &app_id, &parts.headers).await?)
        } else {
            None
        };
        Ok(Caller {
            app_id,
            user_id,
            level: PhantomData,
        })
    }
}

/// The caller of a file download, which may also name its credentials in
/// the query (`apikey`, `session_token`), as the JS SDK's download links do
/// for `<a href>`, `<img src>` and its hidden `iframe`. Headers win when
/// both are given. Only file GETs take this extractor.
pub(crate) struct DownloadCaller<L> {
    pub(crate) caller: Caller<L>,
    /// Whether a credential came from the query (the answer is then not
    /// to be cached).
    pub(crate) credentials_in_query: bool,
}

impl<L: Level> FromRequestParts<Arc<AppState>> for DownloadCaller<L> {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Fail> {
        let app_id = PathParams::of(parts).get("app").to_owned();
        let query = query_pairs(parts.uri.query());
        let mut from_query = false;
        let mut given = |header_name: &str, param: &str| -> String {
            match header(&parts.headers, header_name) {
                Some(v) if !v.is_empty() => v.into_owned(),
                _ => {
                    let v = first(&query, param).unwrap_or_default();
                    from_query |= !v.is_empty();
                    v.to_owned()
                }
            }
        };
        let key = given("x-cloudmine-apikey", "apikey");
        let token = L::USER.then(|| given("x-cloudmine-sessiontoken", "session_token"));
        refuse_master_key_in_query(state, &app_id, &parts.headers, &key)?;
        check_key_value(state, &app_id, &key)?;
        let user_id = match token {
            Some(token) => Some(session_of_token(state, &app_id, &token).await?),
            None => None,
        };
        let caller = Caller {
            app_id,
            user_id,
            level: PhantomData,
        };
        Ok(DownloadCaller {
            caller,
            credentials_in_query: from_query,
        })
    }
}

/// 401 when a download link's query carries the master key: a URL ends up
/// in histories, logs and `Referer` headers, and the master key opens
/// every user's account. The API key is what links carry.
fn refuse_master_key_in_query(
    state: &AppState,
    app_id: &str,
    headers: &HeaderMap,
    key: &str,
) -> Result<(), Fail> {
    let in_query = header(headers, "x-cloudmine-apikey").is_none_or(|v| v.is_empty());
    if in_query && is_master_key(state, app_id, key) {
        return Err(Fail::new(
            StatusCode::UNAUTHORIZED,
            "the master key is never taken from a URL: send it in the \
             X-CloudMine-ApiKey header, and put the API key in download links",
        ));
    }
    Ok(())
}

/// A known app, for the browser-facing routes: an unknown one is a page.
pub(crate) struct KnownApp {
    pub(crate) app_id: String,
    pub(crate) api_key: String,
}

impl FromRequestParts<Arc<AppState>> for KnownApp {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let app_id = PathParams::of(parts).get("app").to_owned();
        match state.apps.get(&app_id) {
            Some(key) => Ok(KnownApp {
                api_key: key.clone(),
                app_id,
            }),
            None => Err(unknown_app_page()),
        }
    }
}

/// The page an unknown app's browser-facing route answers.
pub(crate) fn unknown_app_page() -> Response {
    pages::error(StatusCode::NOT_FOUND, "This application is unknown.")
}
