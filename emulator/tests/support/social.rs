//! The built-in provider's consent form, and social graph queries as the
//! JS SDK sends them.

use cloudmine_emulator::Emulator;
use reqwest::{Method, RequestBuilder, StatusCode, Url};

use super::{App, http};

/// Allows the consent page of `network` reached at `authorize` (the
/// provider's authorize URL), with the form `fields` (`name`, `email`);
/// returns the callback URL its 302 leads to.
pub async fn consent(
    emu: &Emulator,
    network: &str,
    authorize: &str,
    fields: &[(&str, &str)],
) -> String {
    let mut form: Vec<(String, String)> = Url::parse(authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "response_type")
        .collect();
    form.push(("action".into(), "allow".into()));
    form.extend(fields.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let r = http()
        .post(format!("{}/idp/{network}/consent", emu.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// A social query (`user/social/{path}`) with the API key and `session`,
/// and `extra` query pairs (the JS SDK's `headers`/`params` as JSON).
pub fn query(
    emu: &Emulator,
    app: App,
    session: &str,
    method: Method,
    path: &str,
    extra: &[(&str, &str)],
) -> RequestBuilder {
    let mut url = Url::parse(&app.url(emu, &format!("user/social/{path}"))).unwrap();
    if !extra.is_empty() {
        url.query_pairs_mut().extend_pairs(extra);
    }
    http()
        .request(method, url)
        .header("x-cloudmine-apikey", app.1)
        .header("x-cloudmine-sessiontoken", session)
}
