//! The page the browser shows once it comes back to the app.

use serde_json::Value;

use crate::session::login::Profile;

/// The HTML the loopback listener answers the browser with.
///
/// The default pages say who signed in (`Signed in as NAME <EMAIL>`, from
/// the login's profile) or why it failed, and that the window can be
/// closed. Custom pages may contain `{message}`, replaced by that
/// (HTML-escaped) text.
///
/// ```
/// use cloudmine::LandingPage;
/// let page = LandingPage::new(
///     "<h1>Welcome back to MyApp</h1><p>{message}</p>",
///     "<h1>MyApp could not sign you in</h1><p>{message}</p>",
/// );
/// ```
#[derive(Debug, Clone)]
pub struct LandingPage {
    success: String,
    failure: String,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}";

impl Default for LandingPage {
    fn default() -> Self {
        LandingPage {
            success: format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title><style>{STYLE}</style></head>\
                 <body><h1 id=\"status\" data-status=\"success\">Signed in</h1><p id=\"message\">{{message}}</p></body></html>"
            ),
            failure: format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title><style>{STYLE}</style></head>\
                 <body><h1 id=\"status\" data-status=\"failure\">Sign-in failed</h1><p id=\"message\">{{message}}</p></body></html>"
            ),
        }
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || is_bidi_control(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the text around them: a name holding them could
/// make "Signed in as …" read as someone else.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Who signed in, as the landing page says it: `NAME <EMAIL>`, or
/// whichever of the two is known and not blank.
pub(crate) fn identity(name: Option<&str>, email: Option<&str>) -> Option<String> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    match (name, email) {
        (Some(name), Some(email)) if name != email => Some(format!("{name} <{email}>")),
        (Some(one), _) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

/// Who signed in, from a CloudMine profile's `name` and `email`.
pub(crate) fn profile_identity(profile: &Profile) -> Option<String> {
    let text = |field: &str| profile.fields().get(field).and_then(Value::as_str);
    identity(text("name"), text("email"))
}

impl LandingPage {
    /// Pages of your own; `{message}` in either is replaced by the outcome text.
    pub fn new(success_html: impl Into<String>, failure_html: impl Into<String>) -> Self {
        LandingPage {
            success: success_html.into(),
            failure: failure_html.into(),
        }
    }

    /// The success page; `identity` (escaped) says who signed in.
    pub(crate) fn success(&self, identity: Option<&str>) -> String {
        let message = match identity {
            Some(who) => format!(
                "Signed in as {}. You can close this window and return to the app.",
                escape_html(who)
            ),
            None => "You are signed in. You can close this window and return to the app.".into(),
        };
        self.success.replace("{message}", &message)
    }

    /// The page when the app did not say in time how the login ended.
    pub(crate) fn neutral(&self) -> String {
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Return to the app</title><style>{STYLE}</style></head>\
             <body><h1 id=\"status\" data-status=\"unknown\">Return to the app</h1>\
             <p id=\"message\">The app is finishing your sign-in. You can close this window and return to it.</p></body></html>"
        )
    }

    pub(crate) fn failure(&self, reason: &str) -> String {
        self.failure.replace(
            "{message}",
            &format!("{} You can close this window.", escape_html(reason)),
        )
    }

    /// The page for a request that does not complete the login.
    pub(crate) fn refusal(&self, why: &str) -> String {
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Not here</title><style>{STYLE}</style></head>\
             <body><h1 id=\"status\" data-status=\"refused\">Not here</h1><p>{}</p></body></html>",
            escape_html(why)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_reflected() {
        assert_eq!(
            escape_html("<script>\"x\"&'y'</script>\n"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt; "
        );
        let page = LandingPage::default().failure("<img src=x onerror=alert(1)>");
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;img"));
        let page = LandingPage::default().success(Some("Ada\u{202e}moc.evil <a@b.c>"));
        assert!(page.contains("data-status=\"success\""));
        assert!(
            page.contains("Signed in as Ada moc.evil &lt;a@b.c&gt;."),
            "{page}"
        );
        assert!(
            LandingPage::default()
                .success(None)
                .contains("You are signed in.")
        );
        assert!(
            LandingPage::default()
                .neutral()
                .contains("data-status=\"unknown\"")
        );
        let custom = LandingPage::new("ok: {message}", "no: {message}");
        assert!(custom.failure("denied").starts_with("no: denied"));
    }

    #[test]
    fn identity_is_name_and_email_or_either() {
        assert_eq!(
            identity(Some("Ada"), Some("ada@example.com")).as_deref(),
            Some("Ada <ada@example.com>")
        );
        assert_eq!(identity(Some(" "), Some("a@b.c")).as_deref(), Some("a@b.c"));
        assert_eq!(
            identity(Some("a@b.c"), Some("a@b.c")).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(identity(Some("Ada"), None).as_deref(), Some("Ada"));
        assert_eq!(identity(None, None), None);
    }
}
