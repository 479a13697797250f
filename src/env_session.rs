//! A session from the environment, for CI jobs and scripts:
//! [`WebServiceBuilder::session_token_from_env`]. Never read implicitly.

use std::ffi::OsString;

use crate::builder::WebServiceBuilder;
use crate::error::{Error, Result};

/// The variable [`WebServiceBuilder::session_token_from_env`] reads.
pub const SESSION_TOKEN_ENV: &str = "CLOUDMINE_SESSION_TOKEN";

impl WebServiceBuilder {
    /// Uses the session token in `$CLOUDMINE_SESSION_TOKEN` (surrounding
    /// whitespace removed), so a CI job acts as the user whose session it
    /// was given; only this call reads the variable, nothing reads it
    /// implicitly. The blocking client takes the same builder.
    ///
    /// Unset, empty, or not printable ASCII is an
    /// [`Error::InvalidOptions`] for `session_token` that names the variable
    /// and never shows its value.
    ///
    /// ```no_run
    /// # fn demo() -> cloudmine::Result<()> {
    /// let ws = cloudmine::WebService::builder()
    ///     .app_id("my-app")
    ///     .api_key("my-api-key")
    ///     .session_token_from_env()?
    ///     .build()?;
    /// let me = cloudmine::blocking::WebService::new(
    ///     cloudmine::WebService::builder()
    ///         .app_id("my-app")
    ///         .api_key("my-api-key")
    ///         .session_token_from_env()?,
    /// )?;
    /// # let _ = (ws, me); Ok(()) }
    /// ```
    pub fn session_token_from_env(self) -> Result<Self> {
        let token = token_from(std::env::var_os(SESSION_TOKEN_ENV))?;
        Ok(self.session_token(token))
    }
}

/// The token in the variable's value, checked; errors never hold the value.
fn token_from(value: Option<OsString>) -> Result<String> {
    let refuse = |why: &str| {
        Error::invalid_option(
            "session_token",
            format!("${SESSION_TOKEN_ENV} {why}; set it to a session token from a login"),
        )
    };
    let value = value.ok_or_else(|| refuse("is not set"))?;
    let text = value
        .into_string()
        .map_err(|_| refuse("is not valid text"))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(refuse("is empty"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse("must be printable ASCII without spaces"));
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(value: Option<OsString>) -> String {
        let e = token_from(value).unwrap_err();
        assert!(e.is_invalid(), "{e}");
        let text = e.to_string();
        assert!(text.contains(SESSION_TOKEN_ENV), "{text}");
        text
    }

    #[test]
    fn a_set_token_is_taken_trimmed() {
        assert_eq!(token_from(Some("abc123\n".into())).unwrap(), "abc123");
    }

    #[test]
    fn unset_empty_and_odd_values_are_refused_without_showing_them() {
        assert!(refused(None).contains("is not set"));
        assert!(refused(Some("  \n".into())).contains("is empty"));
        let text = refused(Some("SECRETPART one".into()));
        assert!(!text.contains("SECRETPART"), "{text}");
        let text = refused(Some("SECRETPART\u{1b}[2J".into()));
        assert!(!text.contains("SECRETPART"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let bad = OsString::from_vec(vec![b'S', 0xff, b'T']);
            assert!(refused(Some(bad)).contains("not valid text"));
        }
    }
}
