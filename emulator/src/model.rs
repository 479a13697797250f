//! Plain data shared by the handlers and the storage: who signed in at a
//! provider, and the mails the emulator "sends". Imports nothing from the
//! crate.

use sha2::{Digest, Sha256};

/// A person at an identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's user id: the first 16 hex digits of SHA-256(email).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// The network the identity signed in with.
    pub network: String,
}

impl Identity {
    /// The identity for an email at a network.
    pub fn new(network: &str, name: &str, email: &str) -> Self {
        let digest = hex::encode(Sha256::digest(email.trim().to_ascii_lowercase().as_bytes()));
        Identity {
            id: digest[..16].to_owned(),
            name: name.trim().to_owned(),
            email: email.trim().to_owned(),
            network: network.to_owned(),
        }
    }
}

/// A mail the emulator "sent": password resets land here instead of a mailbox.
///
/// `Debug` leaves out the token and the text that carries it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    /// The application that sent it.
    pub app_id: String,
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The text, which includes the token.
    pub body: String,
    /// The reset token, for tests.
    pub token: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("app_id", &self.app_id)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"[redacted]")
            .field("token", &"[redacted]")
            .finish()
    }
}

/// A push notification the emulator "sent": accepted and recorded, since
/// there is no APNs or FCM here.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Push {
    /// The application that sent it.
    pub app_id: String,
    /// The user whose session sent it, for a user-level call.
    pub sender: Option<String>,
    /// The notification as sent: `text` and any of `channel`, `users`,
    /// `device_ids`, `badge`, `sound`, `payload`.
    pub notification: serde_json::Value,
}

/// The most mails, and the most pushes, the emulator keeps (the oldest go
/// first): a flood of resets or pushes must not grow its memory without end.
pub const OUTBOX_CAP: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_debug_keeps_the_reset_token_out() {
        let mail = Mail {
            app_id: "a".into(),
            to: "ada@example.com".into(),
            subject: "Reset".into(),
            body: "token: reset-secret".into(),
            token: "reset-secret".into(),
        };
        let shown = format!("{mail:?}");
        assert!(shown.contains("ada@example.com"), "{shown}");
        assert!(!shown.contains("reset-secret"), "{shown}");
    }
}
