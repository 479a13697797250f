//! The BaasBox front end's social routes: list, log in with, link and
//! unlink a network's identity.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{BAASBOX_NETWORKS, BbCall, BbError, error, ok, text_field, uuid_like};
use crate::crypto::random_hex;
use crate::store::{BbLink, BbUser, LinkOutcome, UnlinkOutcome, now_ms};

impl BbCall {
    pub(super) async fn list(&self) -> Result<Response, BbError> {
        let user = self.user().await?;
        let links = self.state.store.bb_links(&user).await?;
        if links.is_empty() {
            return Err(error(
                StatusCode::NOT_FOUND,
                "no social network is linked to this user",
            ));
        }
        let data: Vec<Value> = links
            .into_iter()
            .map(|l| {
                json!({
                    "username": l.name,
                    "password": null,
                    "from": l.network,
                    "token": l.token,
                    "secret": l.secret,
                    "id": l.provider_id,
                    "additionalData": {
                        "email": l.email,
                        "name": l.name,
                        "avatarUrl": null,
                        "personal_url": null,
                    },
                })
            })
            .collect();
        Ok(ok(StatusCode::OK, Value::Array(data), None))
    }

    pub(super) fn network(network: &str) -> Result<String, BbError> {
        let lower = network.to_ascii_lowercase();
        if BAASBOX_NETWORKS.contains(&lower.as_str()) {
            Ok(lower)
        } else {
            Err(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown social network {network:?}; use one of {}",
                    BAASBOX_NETWORKS.join(", ")
                ),
            ))
        }
    }

    /// The identity behind `oauth_token` (body or query), as a link record:
    /// asked of the network's configured real provider (its userinfo
    /// endpoint), or else of the built-in one.
    async fn identity(&self, network: &str) -> Result<BbLink, BbError> {
        let from_query = (self.query("oauth_token"), self.query("oauth_secret"));
        let (token, secret) = if from_query.0.is_some() || from_query.1.is_some() {
            (
                from_query.0.map(str::to_owned),
                from_query.1.map(str::to_owned),
            )
        } else {
            let fields = self.fields()?;
            let get = |n: &str| text_field(&fields, n);
            (get("oauth_token"), get("oauth_secret"))
        };
        let (Some(token), Some(secret)) = (token, secret) else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "oauth_token and oauth_secret are required",
            ));
        };
        let invalid = || {
            error(
                StatusCode::BAD_REQUEST,
                format!("the token is not valid for {network}"),
            )
        };
        let identity = match self.state.social.providers.get(network) {
            Some(config) => {
                let http = crate::upstream::provider_client()
                    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
                crate::upstream::identity_for_token(&http, config, network, &token)
                    .await
                    .map_err(|why| {
                        tracing::info!(network, why = %why, "a provider refused a BaasBox token");
                        invalid()
                    })?
            }
            None => crate::oauth::identity_for_token(&*self.state.store, &token)
                .await
                .filter(|i| i.network.eq_ignore_ascii_case(network))
                .ok_or_else(invalid)?,
        };
        Ok(BbLink {
            network: network.to_owned(),
            provider_id: identity.id,
            name: identity.name,
            email: identity.email,
            token,
            secret,
        })
    }

    pub(super) async fn social_login(&self, network: &str) -> Result<Response, BbError> {
        self.app_code(None)?;
        let network = Self::network(network)?;
        let link = self.identity(&network).await?;
        let new_user = BbUser {
            username: uuid_like(),
            id: random_hex(16),
            password_hash: None,
            generated: true,
            email: Some(link.email.clone()),
            created: now_ms(),
        };
        let (username, _created) = self.state.store.bb_social_login(&link, &new_user).await?;
        self.logged_in(&username, StatusCode::OK).await
    }

    pub(super) async fn link(&self, network: &str) -> Result<Response, BbError> {
        let user = self.user().await?;
        let network = Self::network(network)?;
        let link = self.identity(&network).await?;
        let name = user.clone();
        let outcome = self.state.store.bb_link(&name, &link).await?;
        match outcome {
            LinkOutcome::Linked | LinkOutcome::AlreadyLinked => {
                Ok(ok(StatusCode::OK, Value::from(""), None))
            }
            LinkOutcome::OwnedByOther => Err(error(
                StatusCode::CONFLICT,
                format!("this {network} account is linked to another user"),
            )),
            LinkOutcome::NetworkTaken => Err(error(
                StatusCode::CONFLICT,
                format!("another {network} account is linked to this user; unlink it first"),
            )),
        }
    }

    pub(super) async fn unlink(&self, network: &str) -> Result<Response, BbError> {
        let user = self.user().await?;
        let network = Self::network(network)?;
        let net = network.clone();
        let outcome = self.state.store.bb_unlink(&user, &net).await?;
        match outcome {
            UnlinkOutcome::Removed => Ok(ok(StatusCode::OK, Value::from(""), None)),
            UnlinkOutcome::NotLinked => Err(error(
                StatusCode::NOT_FOUND,
                format!("{network} is not linked to this user"),
            )),
            UnlinkOutcome::LastLoginMethod => Err(error(
                StatusCode::CONFLICT,
                format!("{network} is this user's only way to log in; it cannot be unlinked"),
            )),
        }
    }
}
