//! A configured real OAuth 2 provider (instead of the built-in one): the
//! code exchange and the identity behind an access token.

use std::time::Duration;

use serde_json::Value;

use crate::ProviderConfig;
use crate::model::Identity;

/// Sends a request to a provider and reads its JSON answer; errors carry no URL.
async fn fetch_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())
}

/// Exchanges the code with a configured real provider: the identity and
/// the provider's access token (kept for social graph queries).
pub(crate) async fn exchange(
    p: &ProviderConfig,
    network: &str,
    code: &str,
    redirect_uri: &str,
) -> Result<(Identity, String), String> {
    let http = provider_client()?;
    let token = fetch_json(http.post(&p.token_url).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", &p.client_id),
        ("client_secret", &p.client_secret),
    ]))
    .await?;
    let access = token["access_token"]
        .as_str()
        .ok_or("the provider gave no access_token")?;
    let identity = identity_for_token(&http, p, network, access).await?;
    Ok((identity, access.to_owned()))
}

/// An HTTP client for talking to real providers: no redirects, a deadline.
pub(crate) fn provider_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())
}

/// The identity behind an access token of a configured real provider (its
/// userinfo endpoint's `id` or `sub`, `name` and `email`).
pub(crate) async fn identity_for_token(
    http: &reqwest::Client,
    p: &ProviderConfig,
    network: &str,
    access: &str,
) -> Result<Identity, String> {
    let info = fetch_json(http.get(&p.userinfo_url).bearer_auth(access)).await?;
    let id = info["id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| info["sub"].as_str().map(str::to_owned))
        .or_else(|| info["id"].as_i64().map(|n| n.to_string()))
        .ok_or("the provider's userinfo has no id")?;
    Ok(Identity {
        id,
        name: info["name"].as_str().unwrap_or_default().to_owned(),
        email: info["email"].as_str().unwrap_or_default().to_owned(),
        network: network.to_owned(),
    })
}
