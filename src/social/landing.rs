//! The page the browser shows once it comes back to the app.

/// The HTML the loopback listener answers the browser with.
///
/// The default pages say the sign-in is done (or why it failed) and that the
/// window can be closed. Custom pages may contain `{message}`, replaced by
/// the (HTML-escaped) outcome text.
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
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl LandingPage {
    /// Pages of your own; `{message}` in either is replaced by the outcome text.
    pub fn new(success_html: impl Into<String>, failure_html: impl Into<String>) -> Self {
        LandingPage {
            success: success_html.into(),
            failure: failure_html.into(),
        }
    }

    pub(crate) fn success(&self) -> String {
        self.success.replace(
            "{message}",
            "You are signed in. You can close this window and return to the app.",
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
        assert!(
            LandingPage::default()
                .success()
                .contains("data-status=\"success\"")
        );
        let custom = LandingPage::new("ok: {message}", "no: {message}");
        assert!(custom.failure("denied").starts_with("no: denied"));
    }
}
