//! [`ProviderConfig`]: a real OAuth 2 provider for one network (its client
//! secret redacted in `Debug`). Imports nothing from the crate.

/// A real OAuth 2 provider for one network, used instead of the built-in
/// test provider (authorization-code flow; the identity is read from
/// `userinfo_url`'s `id` or `sub`, `name` and `email`).
#[derive(Clone, serde::Deserialize)]
pub struct ProviderConfig {
    /// The provider's authorize endpoint.
    pub authorize_url: String,
    /// The provider's token endpoint.
    pub token_url: String,
    /// The provider's user-info endpoint.
    pub userinfo_url: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// This server's client secret at the provider (redacted in `Debug`).
    pub client_secret: String,
    /// The network's API root, for social graph queries
    /// (`user/social/{network}/{endpoint}` calls `{api_base}/{endpoint}`
    /// with the user's access token); `None`: no queries to this network.
    #[serde(default)]
    pub api_base: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("api_base", &self.api_base)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_config_debug_redacts_the_secret() {
        let config = ProviderConfig {
            authorize_url: "https://p.example/authorize".into(),
            token_url: "https://p.example/token".into(),
            userinfo_url: "https://p.example/me".into(),
            client_id: "client".into(),
            client_secret: "s3cr3t-value".into(),
            api_base: None,
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("client") && shown.contains("[redacted]"));
        assert!(!shown.contains("s3cr3t-value"));
    }

    #[test]
    fn api_base_is_optional_in_json() {
        let base = r#"{"authorize_url":"a","token_url":"t","userinfo_url":"u","client_id":"c","client_secret":"s""#;
        let without: ProviderConfig = serde_json::from_str(&format!("{base}}}")).unwrap();
        assert_eq!(without.api_base, None);
        let with: ProviderConfig =
            serde_json::from_str(&format!(r#"{base},"api_base":"https://api.example/1.1"}}"#))
                .unwrap();
        assert_eq!(with.api_base.as_deref(), Some("https://api.example/1.1"));
    }
}
