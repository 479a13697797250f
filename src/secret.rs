//! Secret string types whose `Debug` and `Display` never show the value.

use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// `Debug` and `Display` print `[redacted]`; read the value with
        /// [`secret()`](Self::secret) only where it has to leave the process
        /// (an HTTP header, a keychain entry).
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value itself. Never log it.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Consumes the wrapper and returns the secret value.
            pub fn into_secret(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_type!(
    /// A CloudMine user session token (`X-CloudMine-SessionToken`).
    SessionToken
);

secret_type!(
    /// A CloudMine API key (`X-CloudMine-ApiKey`), or a master key used for one call.
    ApiKey
);

secret_type!(
    /// A CloudMine application's master key: sent as `X-CloudMine-ApiKey`
    /// (marked sensitive), and only by the master-key calls of
    /// [`UserAdmin`](crate::UserAdmin); every other call sends the API key.
    MasterKey
);

secret_type!(
    /// A user's password.
    Password
);

secret_type!(
    /// An OAuth access token (or OAuth 1 `oauth_token`) from a social network.
    OAuthToken
);

secret_type!(
    /// An OAuth 1 `oauth_secret` (OAuth 2 clients send the access token here too).
    OAuthSecret
);

secret_type!(
    /// An OAuth client secret (for providers that require one).
    ClientSecret
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = SessionToken::new("abc123-very-secret");
        assert_eq!(format!("{token}"), "[redacted]");
        assert_eq!(format!("{token:?}"), "SessionToken([redacted])");
        assert!(!format!("{:?}", Some(&token)).contains("abc123"));
        assert_eq!(token.secret(), "abc123-very-secret");
        let key = ApiKey::from("k-1");
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
        assert_eq!(key.into_secret(), "k-1");
        let master = MasterKey::from("m-1");
        assert_eq!(
            format!("{master:?} {master}"),
            "MasterKey([redacted]) [redacted]"
        );
        assert_eq!(master.secret(), "m-1");
    }
}
