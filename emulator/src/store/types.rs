//! The storage's data, as every backend reads and writes it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether a written key was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The key did not exist.
    Created,
    /// The key existed and was replaced or merged.
    Updated,
}

/// A stored file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The file's key.
    pub key: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The content type it was uploaded with.
    pub content_type: String,
    /// The file name it was uploaded with (the key when none was given).
    pub filename: String,
    /// Milliseconds since the Unix epoch.
    pub created: i64,
    /// Milliseconds since the Unix epoch.
    pub updated: i64,
}

impl FileMeta {
    /// The metadata as the objects API shows it.
    pub fn to_value(&self) -> Value {
        json!({
            "__type__": "file",
            "__id__": self.key,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "created": self.created,
            "updated": self.updated,
        })
    }
}

/// Who a social identity logs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocialUser {
    /// This user (found, created, or the one it was linked to).
    Found(String),
    /// Linking was asked, but the identity belongs to another user.
    Conflict,
    /// A new user was needed, but another user already has the identity's
    /// email (two users never share one).
    EmailTaken,
}

/// A login to store at start.
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// The client's challenge (primary key).
    pub challenge: String,
    /// The app.
    pub app_id: String,
    /// The network (lowercase).
    pub network: String,
    /// Where to send the browser at the end, if the client asked.
    pub redirect_uri: Option<String>,
    /// PKCE S256 challenge, if the client sent one.
    pub code_challenge: Option<String>,
    /// The user to link the identity to, when a valid session was given.
    pub link_user: Option<String>,
    /// The scope asked for.
    pub scope: Option<String>,
    /// Our `state` at the provider (random).
    pub state: String,
    /// When the pending login expires (ms since the epoch).
    pub expires_ms: i64,
}

/// Where a login stands.
#[derive(Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Waiting for the provider.
    Pending,
    /// A session was made for this user.
    Finished {
        /// The user.
        user_id: String,
        /// The session token (plain: handed out once by the status call).
        token: String,
        /// When the session expires (ms since the epoch).
        expires_ms: i64,
    },
    /// The login failed.
    Failed {
        /// OAuth-style error code.
        error: String,
        /// Human-readable text.
        description: String,
    },
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginOutcome::Pending => f.write_str("Pending"),
            LoginOutcome::Finished {
                user_id,
                expires_ms,
                ..
            } => f
                .debug_struct("Finished")
                .field("user_id", user_id)
                .field("token", &"[redacted]")
                .field("expires_ms", expires_ms)
                .finish(),
            LoginOutcome::Failed { error, description } => f
                .debug_struct("Failed")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

/// A stored login.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// The client's challenge.
    pub challenge: String,
    /// The app.
    pub app_id: String,
    /// The network.
    pub network: String,
    /// Where to send the browser at the end.
    pub redirect_uri: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The user to link to.
    pub link_user: Option<String>,
    /// Where it stands.
    pub outcome: LoginOutcome,
}

/// A BaasBox user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BbUser {
    /// The user name (generated for users created by a social login).
    pub username: String,
    /// The user's id.
    pub id: String,
    /// The argon2 hash, for users with a password.
    pub password_hash: Option<String>,
    /// True when the user name was generated.
    pub generated: bool,
    /// The email, when known.
    pub email: Option<String>,
    /// Milliseconds since the epoch.
    pub created: i64,
}

/// A linked social identity. `Debug` leaves out the token and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct BbLink {
    /// The network's name.
    pub network: String,
    /// The user's id at the network.
    pub provider_id: String,
    /// The name the network gave.
    pub name: String,
    /// The email the network gave.
    pub email: String,
    /// The token the link was made with.
    pub token: String,
    /// The secret the link was made with.
    pub secret: String,
}

impl std::fmt::Debug for BbLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BbLink")
            .field("network", &self.network)
            .field("provider_id", &self.provider_id)
            .field("name", &self.name)
            .field("email", &self.email)
            .field("token", &"[redacted]")
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// What linking an identity did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The identity is now linked to the user.
    Linked,
    /// It already was.
    AlreadyLinked,
    /// Another user owns that identity.
    OwnedByOther,
    /// The user has another identity of that network linked.
    NetworkTaken,
}

/// What unlinking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlinkOutcome {
    /// The link is gone.
    Removed,
    /// There was none.
    NotLinked,
    /// It is the user's only way to log in; kept.
    LastLoginMethod,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_debug_keeps_the_provider_token_out() {
        let link = BbLink {
            network: "github".into(),
            provider_id: "42".into(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            token: "gho-token-secret".into(),
            secret: "gho-secret-secret".into(),
        };
        let shown = format!("{link:?}");
        assert!(shown.contains("github") && shown.contains("42"), "{shown}");
        assert!(!shown.contains("-secret"), "{shown}");
    }
}
