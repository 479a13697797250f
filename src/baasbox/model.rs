//! What BaasBox answers, typed: [`BbUser`] and [`SocialAccount`].

use serde_json::Value;

use crate::error::{Error, Result};
use crate::secret::{OAuthSecret, OAuthToken};

/// A BaasBox user, from a login or `GET /me`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BbUser {
    /// The user name (a generated UUID for users a social login created).
    pub username: String,
    /// The user's id.
    pub id: Option<String>,
    /// True when BaasBox generated the user name.
    pub generated_username: bool,
    /// Role names (`registered`…).
    pub roles: Vec<String>,
    /// Networks linked, from `visibleByRegisteredUsers._social`.
    pub networks: Vec<String>,
    /// The whole profile as BaasBox sent it (a session token in it is
    /// `"[redacted]"`: the client holds it).
    pub raw: Value,
}

impl BbUser {
    pub(crate) fn from_data(data: &Value) -> Result<BbUser> {
        let username = data
            .pointer("/user/name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::decode("the BaasBox user", "no user.name"))?
            .to_owned();
        let roles = data
            .pointer("/user/roles")
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let networks = data
            .pointer("/visibleByRegisteredUsers/_social")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        Ok(BbUser {
            username,
            id: data.get("id").and_then(Value::as_str).map(str::to_owned),
            generated_username: data
                .get("generated_username")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            roles,
            networks,
            raw: data.clone(),
        })
    }
}

/// A linked social network, from [`BaasBox::social_logins`](super::BaasBox::social_logins).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocialAccount {
    /// The network (`from`).
    pub network: String,
    /// The user's name at the network.
    pub username: Option<String>,
    /// The user's id at the network.
    pub id: String,
    /// The token stored at signup or link.
    pub token: OAuthToken,
    /// The secret stored at signup or link.
    pub secret: OAuthSecret,
    /// The user's email at the network.
    pub email: Option<String>,
    /// The user's display name at the network.
    pub name: Option<String>,
    /// The avatar URL.
    pub avatar_url: Option<String>,
    /// The personal page URL.
    pub personal_url: Option<String>,
}

impl SocialAccount {
    pub(crate) fn list_from(data: &Value) -> Result<Vec<SocialAccount>> {
        let Some(items) = data.as_array() else {
            return Err(Error::decode("the linked networks", "data is not a list"));
        };
        items
            .iter()
            .map(|item| {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
                let extra = item.get("additionalData");
                let field = |name: &str| text(extra.and_then(|e| e.get(name)));
                Ok(SocialAccount {
                    network: text(item.get("from"))
                        .ok_or_else(|| Error::decode("a linked network", "no \"from\""))?,
                    username: text(item.get("username")),
                    id: text(item.get("id"))
                        .ok_or_else(|| Error::decode("a linked network", "no \"id\""))?,
                    token: OAuthToken::new(text(item.get("token")).unwrap_or_default()),
                    secret: OAuthSecret::new(text(item.get("secret")).unwrap_or_default()),
                    email: field("email"),
                    name: field("name"),
                    avatar_url: field("avatarUrl").or_else(|| field("avatar")),
                    personal_url: field("personal_url").or_else(|| field("personalUrl")),
                })
            })
            .collect()
    }
}
