//! The one error type of the SDK.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// A short alias for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one key of a multi-key call failed while others succeeded.
///
/// CloudMine answers a call such as `GET text?keys=a,b` with a 2xx status and
/// reports each failed key separately; the SDK groups them here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The HTTP status the server gave this key (404 for a key that does not exist).
    pub status: u16,
    /// The server's message for this key.
    pub message: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", shown(&self.message), self.status)
    }
}

/// Every way a call can fail.
///
/// The enum is `#[non_exhaustive]` and so is each variant, so new kinds and
/// new fields are not breaking changes: match with a `..` arm, or use the
/// predicates ([`status`](Self::status), [`is_timeout`](Self::is_timeout), …).
///
/// Messages never contain API keys or session tokens, and URLs in errors carry
/// no query string. Text that comes from a server or a provider is shown
/// with its control characters escaped and its length bounded, so printing
/// an error cannot drive a terminal or forge log lines.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option is missing or has a value the SDK refuses to send.
    #[error("invalid option `{option}`: {reason}")]
    #[non_exhaustive]
    InvalidOptions {
        /// The option's name, as in [`Options`](crate::Options).
        option: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// An argument of a call cannot be sent as given (no keys, a key with a
    /// comma, a body that is not a JSON object…). Nothing was sent.
    #[error("invalid argument `{argument}`: {reason}")]
    #[non_exhaustive]
    InvalidArgument {
        /// The argument's name.
        argument: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// The server answered with a non-2xx status.
    #[error("{method} {url} failed with HTTP {status}{}", messages_suffix(.messages))]
    #[non_exhaustive]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The server's `errors` list (empty when the body had none).
        messages: Vec<String>,
        /// The whole response body, parsed as JSON (a string when it was not JSON).
        body: Box<Value>,
        /// The body's bytes as received (shared, not copied; empty for
        /// BaasBox calls). See [`Error::raw_body`].
        raw: bytes::Bytes,
        /// The HTTP method.
        method: String,
        /// The URL without its query string.
        url: String,
    },

    /// A 2xx answer in which every requested key failed (see [`KeyError`]).
    /// Calls where only some keys failed succeed, and list the failures in
    /// [`Response::key_errors`](crate::Response::key_errors).
    #[error("{} key(s) failed: {}", .errors.len(), key_errors_summary(.errors))]
    #[non_exhaustive]
    Keys {
        /// The failed keys and why.
        errors: BTreeMap<String, KeyError>,
    },

    /// No complete answer arrived within the request timeout.
    #[error("{method} {url} timed out after {after:?}")]
    #[non_exhaustive]
    Timeout {
        /// The HTTP method.
        method: String,
        /// The URL without its query string.
        url: String,
        /// The timeout that elapsed.
        after: Duration,
    },

    /// The request could not be sent or the answer could not be read
    /// (connection refused, reset, DNS, TLS…).
    #[error("{method} {url} could not be completed: {}", shown(.message))]
    #[non_exhaustive]
    Transport {
        /// The HTTP method.
        method: String,
        /// The URL without its query string.
        url: String,
        /// What went wrong.
        message: String,
        /// The underlying error (its text carries no URL).
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },

    /// The answer was larger than the `max_answer_bytes` option allows (by
    /// its `Content-Length`, or while it was read); the rest was not read.
    #[error(
        "{method} {url}: the answer is larger than {limit} bytes (raise the max_answer_bytes option to accept it)"
    )]
    #[non_exhaustive]
    AnswerTooLarge {
        /// The HTTP method.
        method: String,
        /// The URL without its query string.
        url: String,
        /// The limit in bytes that was passed.
        limit: u64,
    },

    /// The answer arrived but could not be turned into the requested type.
    #[error("could not decode {what}: {}", shown(.message))]
    #[non_exhaustive]
    Decode {
        /// What was being decoded.
        what: String,
        /// The decoder's message.
        message: String,
    },

    /// The call was dropped or cancelled before it completed.
    #[error("the call was cancelled before it completed")]
    Aborted,

    /// A local file of a transfer could not be read or written (the upload
    /// source, or a download's temporary or final file).
    #[error("cannot {action} {}: {message}", .path.display())]
    #[non_exhaustive]
    File {
        /// What the SDK was doing ("open", "write", "rename to"…).
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's message.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Arc<std::io::Error>>,
    },

    /// A session store failed (a locked or absent keychain, an unreadable or
    /// corrupt session file…). Nothing falls back to another store silently.
    #[error(
        "the {store} session store failed: {message}; fix it or choose another store with WebService::builder().session_store(..)"
    )]
    #[non_exhaustive]
    SessionStore {
        /// Which store ("file", "keyring", "memory", or a custom store's name).
        store: &'static str,
        /// What went wrong.
        message: String,
    },

    /// A blocking call (`.wait()`) was made inside an async runtime, where it
    /// would block the runtime: use `.await` there.
    #[error("a blocking call was made inside an async runtime; use .await there")]
    BlockingInRuntime,

    /// A master-key call ([`UserAdmin`](crate::UserAdmin)) was made with no
    /// master key set. Nothing was sent.
    #[error(
        "this call needs the application's master key: set it with WebService::builder().master_key(..) or CallOptions::new().master_key(..)"
    )]
    MasterKeyRequired,

    /// `restore()` found no saved session for this API root and app.
    #[error("no saved session for this app; log in first")]
    NoSession,

    /// A call that needs a logged-in user was made without a session token
    /// (a social graph query: the JS SDK throws "Must be logged in to
    /// perform a social query"). Nothing was sent.
    #[error("must be logged in to {action}")]
    #[non_exhaustive]
    NotLoggedIn {
        /// What the call was, e.g. `perform a social query`.
        action: &'static str,
    },

    /// A social login did not complete: the user denied access
    /// (`access_denied`), the identity belongs to another user
    /// (`identity_conflict`), another user has its email (`email_taken`),
    /// the provider failed (`server_error`)… `Display` escapes control
    /// characters of the provider's text and bounds its length.
    #[error("social login failed: {} ({})", shown(.description), shown(.code))]
    #[non_exhaustive]
    Login {
        /// The OAuth-style error code.
        code: String,
        /// What the server or provider said.
        description: String,
    },

    /// A browser login could not listen on any of its ports
    /// ([`port`](crate::SocialLoginCall::port) /
    /// [`ports`](crate::SocialLoginCall::ports)): each was taken or refused.
    #[error(
        "cannot listen on 127.0.0.1 port {}: {}; free one of them, add another with .ports([..]), or use port 0 for any free port",
        port_list(.ports),
        shown(.reason)
    )]
    #[non_exhaustive]
    PortsUnavailable {
        /// Every port tried, in order.
        ports: Vec<u16>,
        /// Why the last one could not be used.
        reason: String,
    },
}

fn port_list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn messages_suffix(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", shown(&messages.join("; ")))
    }
}

/// The most characters of remote text one `Display` shows.
const SHOWN_CHARS: usize = 1000;

/// Remote text (a server's or provider's message) as it is safe to print on
/// a terminal or in a log line: control and bidirectional-override
/// characters escaped (`\u{1b}`), at most [`SHOWN_CHARS`] characters. The
/// error's fields keep the text as received.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SHOWN_CHARS));
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN_CHARS {
            let more = text.chars().count() - SHOWN_CHARS;
            out.push_str(&format!("… ({more} more characters)"));
            break;
        }
        let unsafe_char = c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        if unsafe_char {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn key_errors_summary(errors: &BTreeMap<String, KeyError>) -> String {
    errors
        .iter()
        .map(|(key, e)| format!("{key:?}: {e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub(crate) fn invalid_option(option: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidOptions {
            option,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_argument(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            argument,
            reason: reason.into(),
        }
    }

    pub(crate) fn file(action: &'static str, path: &std::path::Path, err: std::io::Error) -> Self {
        Error::File {
            action,
            path: path.to_path_buf(),
            message: err.to_string(),
            source: Some(Arc::new(err)),
        }
    }

    pub(crate) fn decode(what: impl Into<String>, err: impl fmt::Display) -> Self {
        Error::Decode {
            what: what.into(),
            message: err.to_string(),
        }
    }

    /// The error a [`SessionStore`](crate::SessionStore) returns when it
    /// cannot do its job (for stores written outside this crate).
    ///
    /// ```
    /// let e = cloudmine::Error::session_store("keyring", "the collection is locked");
    /// assert!(e.is_session_store());
    /// ```
    pub fn session_store(store: &'static str, message: impl Into<String>) -> Self {
        Error::SessionStore {
            store,
            message: message.into(),
        }
    }

    /// The HTTP status of a [`Error::Status`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The bytes of the answer's body as the server sent them, for an
    /// [`Error::Status`] error of a CloudMine call (`None` for other errors:
    /// no answer was read). For debugging; [`body`](Error::Status::body)
    /// is the parsed form.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) {
    /// if let Err(e) = ws.objects().get(["car"]).await {
    ///     if let Some(text) = e.body_text() {
    ///         eprintln!("{:?} answered: {text}", e.status());
    ///     }
    /// }
    /// # }
    /// ```
    pub fn raw_body(&self) -> Option<&bytes::Bytes> {
        match self {
            Error::Status { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// [`raw_body`](Self::raw_body) as text (invalid UTF-8 replaced by
    /// `\u{FFFD}`), unescaped: print it with care.
    pub fn body_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.raw_body().map(|raw| String::from_utf8_lossy(raw))
    }

    /// The server's error messages, for a [`Error::Status`] error.
    pub fn server_messages(&self) -> &[String] {
        match self {
            Error::Status { messages, .. } => messages,
            _ => &[],
        }
    }

    /// The per-key failures of a [`Error::Keys`] error.
    pub fn key_errors(&self) -> Option<&BTreeMap<String, KeyError>> {
        match self {
            Error::Keys { errors } => Some(errors),
            _ => None,
        }
    }

    /// True for HTTP 400.
    pub fn is_bad_request(&self) -> bool {
        self.status() == Some(400)
    }

    /// True for HTTP 401 (bad API key, missing or expired session).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// True for HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for HTTP 409, and for a social login whose identity
    /// (`identity_conflict`) or email (`email_taken`) already belongs to
    /// another user.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
            || matches!(
                self.login_error_code(),
                Some("identity_conflict" | "email_taken")
            )
    }

    /// The error code of a failed social login (`access_denied`, …).
    pub fn login_error_code(&self) -> Option<&str> {
        match self {
            Error::Login { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the user refused the social login.
    pub fn is_access_denied(&self) -> bool {
        self.login_error_code() == Some("access_denied")
    }

    /// True when the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// True when the request could not be sent or its answer not read.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    /// True when the answer was larger than the `max_answer_bytes` option allows.
    pub fn is_answer_too_large(&self) -> bool {
        matches!(self, Error::AnswerTooLarge { .. })
    }

    /// True when a local file of a transfer could not be read or written.
    pub fn is_file(&self) -> bool {
        matches!(self, Error::File { .. })
    }

    /// True when a response could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }

    /// True for invalid options or arguments: nothing was sent. Tell the
    /// two apart with [`is_invalid_options`](Self::is_invalid_options) and
    /// [`is_invalid_argument`](Self::is_invalid_argument).
    pub fn is_invalid(&self) -> bool {
        self.is_invalid_options() || self.is_invalid_argument()
    }

    /// True when an option is missing or has a value the SDK refuses
    /// ([`Error::InvalidOptions`]); nothing was sent.
    ///
    /// ```
    /// let e = cloudmine::WebService::builder().api_key("k").build().unwrap_err();
    /// assert!(e.is_invalid_options() && !e.is_invalid_argument());
    /// ```
    pub fn is_invalid_options(&self) -> bool {
        matches!(self, Error::InvalidOptions { .. })
    }

    /// True when an argument of a call cannot be sent as given
    /// ([`Error::InvalidArgument`]: no keys, a key with a comma…); nothing
    /// was sent.
    ///
    /// ```
    /// # async fn demo() -> cloudmine::Result<()> {
    /// let ws = cloudmine::WebService::new("app", "key")?;
    /// let e = ws.objects().get(Vec::<String>::new()).await.unwrap_err();
    /// assert!(e.is_invalid_argument() && !e.is_invalid_options());
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument { .. })
    }

    /// True when a blocking call (`.wait()`) was made inside an async runtime.
    pub fn is_blocking_in_runtime(&self) -> bool {
        matches!(self, Error::BlockingInRuntime)
    }

    /// True when `restore()` found nothing saved.
    pub fn is_no_session(&self) -> bool {
        matches!(self, Error::NoSession)
    }

    /// True when a call that needs a logged-in user was made without one.
    pub fn is_not_logged_in(&self) -> bool {
        matches!(self, Error::NotLoggedIn { .. })
    }

    /// True when a session store failed.
    pub fn is_session_store(&self) -> bool {
        matches!(self, Error::SessionStore { .. })
    }

    /// True when a master-key call was made with no master key set.
    pub fn is_master_key_required(&self) -> bool {
        matches!(self, Error::MasterKeyRequired)
    }

    /// True when the call was cancelled.
    pub fn is_aborted(&self) -> bool {
        matches!(self, Error::Aborted)
    }

    /// True when a browser login found none of its ports free.
    pub fn is_ports_unavailable(&self) -> bool {
        matches!(self, Error::PortsUnavailable { .. })
    }

    /// The ports a browser login tried, when none was free.
    pub fn unavailable_ports(&self) -> Option<&[u16]> {
        match self {
            Error::PortsUnavailable { ports, .. } => Some(ports),
            _ => None,
        }
    }

    /// The key under which the `error` event groups this failure: the HTTP
    /// status for server answers, a word for the others.
    pub(crate) fn event_code(&self) -> String {
        match self {
            Error::Status { status, .. } => status.to_string(),
            Error::InvalidOptions { .. } | Error::InvalidArgument { .. } => "invalid".into(),
            Error::Keys { .. } => "keys".into(),
            Error::Timeout { .. } => "timeout".into(),
            Error::Transport { .. } => "transport".into(),
            Error::AnswerTooLarge { .. } => "toolarge".into(),
            Error::Decode { .. } => "decode".into(),
            Error::Aborted => "abort".into(),
            Error::File { .. } => "file".into(),
            Error::Login { .. } => "login".into(),
            Error::SessionStore { .. } => "store".into(),
            Error::NoSession | Error::NotLoggedIn { .. } => "nosession".into(),
            Error::BlockingInRuntime => "blocking".into(),
            Error::MasterKeyRequired => "masterkey".into(),
            Error::PortsUnavailable { .. } => "ports".into(),
        }
    }
}

#[cfg(test)]
mod tests;
