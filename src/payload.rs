//! Typed event data: [`Payload`] reads an event's JSON as [`Progress`],
//! [`OpenUrl`] or [`SignedIn`] where the SDK fires those shapes, and hands
//! the JSON itself back for every CloudMine-shaped event. [`typed`] makes a
//! handler that receives it; [`EventMessage::payload`] reads a channel's
//! message the same way.

use std::fmt;

use serde_json::Value;

use crate::events::{CallInfo, Event, EventHandler, EventMessage, Progress};

/// An event's data, typed where the SDK defines its shape.
///
/// Unknown or malformed data is never an error: it is [`Payload::Json`].
///
/// ```
/// use cloudmine::{Event, Payload, Progress};
/// let data = serde_json::json!({"done": 5, "total": 10});
/// assert_eq!(
///     Payload::of(Event::Progress, &data),
///     Payload::Progress(Progress { done: 5, total: Some(10) })
/// );
/// let other = serde_json::json!({"k": 1});
/// assert_eq!(Payload::of(Event::Success, &other), Payload::Json(&other));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// [`Event::Progress`]: bytes moved so far.
    Progress(Progress),
    /// [`Event::Open`]: the login URL to open or show.
    Open(OpenUrl),
    /// [`Event::Success`] of a CloudMine login (password or social): who
    /// signed in. The token is never part of it.
    SignedIn(SignedIn),
    /// Any other event (CloudMine's `success`, `error`, `meta`… shapes), or
    /// data that does not have the shape its event promises.
    Json(&'a Value),
}

impl<'a> Payload<'a> {
    /// Reads `data`, fired with `event`, as its typed payload.
    pub fn of(event: Event, data: &'a Value) -> Payload<'a> {
        let typed = match event {
            Event::Progress => Progress::from_data(data).map(Payload::Progress),
            Event::Open => OpenUrl::from_data(data).map(Payload::Open),
            Event::Success => SignedIn::from_data(data).map(Payload::SignedIn),
            _ => None,
        };
        typed.unwrap_or(Payload::Json(data))
    }
}

/// The data of an [`Event::Open`]: the URL a login needs opened in a
/// browser, whether the SDK could open it, and (for logins that show one)
/// the code the user checks on the page.
///
/// The URL can carry the API key and, when linking, a one-time ticket: show
/// it to the user, never log it. `Debug` prints it without its query.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenUrl {
    /// The URL to open.
    pub url: String,
    /// True when the SDK's opener opened it; otherwise show it to the user.
    pub opened: bool,
    /// Why the opener could not open it.
    pub reason: Option<String>,
    /// A short code the page shows too, for logins that have one.
    pub user_code: Option<String>,
}

impl OpenUrl {
    /// Reads an `open` event's data; `None` without a `url` string.
    ///
    /// ```
    /// use cloudmine::OpenUrl;
    /// let data = serde_json::json!({"url": "http://h/login?apikey=k", "opened": false, "reason": "no display"});
    /// let open = OpenUrl::from_data(&data).unwrap();
    /// assert!(!open.opened);
    /// assert!(!format!("{open:?}").contains("apikey"));
    /// ```
    pub fn from_data(data: &Value) -> Option<OpenUrl> {
        let text = |name: &str| data.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(OpenUrl {
            url: text("url")?,
            opened: data.get("opened").and_then(Value::as_bool).unwrap_or(false),
            reason: text("reason"),
            user_code: text("user_code"),
        })
    }
}

impl fmt::Debug for OpenUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.url.split(['?', '#']).next().unwrap_or_default();
        f.debug_struct("OpenUrl")
            .field("url", &shown)
            .field("opened", &self.opened)
            .field("reason", &self.reason)
            .field("user_code", &self.user_code)
            .finish()
    }
}

/// Who a CloudMine login signed in: the typed reading of a login's
/// `success` data (`{session_token: "[redacted]", expires, profile}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedIn {
    /// The user's id (`profile.__id__`).
    pub user_id: String,
    /// The social networks the user has signed in with (`__services__`).
    pub services: Vec<String>,
    /// When the session expires (an HTTP date), if the server said.
    pub expires: Option<String>,
}

impl SignedIn {
    /// Reads a login's `success` data; `None` for any other data.
    pub fn from_data(data: &Value) -> Option<SignedIn> {
        data.get("session_token")?.as_str()?;
        let profile = data.get("profile")?;
        let services = profile
            .get("__services__")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Some(SignedIn {
            user_id: profile.get("__id__")?.as_str()?.to_owned(),
            services,
            expires: data
                .get("expires")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

impl EventMessage {
    /// The message's data, typed (see [`Payload`]).
    ///
    /// ```
    /// # fn demo(rx: std::sync::mpsc::Receiver<cloudmine::EventMessage>) {
    /// if let Ok(message) = rx.recv() {
    ///     if let cloudmine::Payload::Open(open) = message.payload() {
    ///         println!("open {} in a browser", open.url);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn payload(&self) -> Payload<'_> {
        Payload::of(self.event, &self.data)
    }
}

/// A handler that receives typed data: made by [`typed`].
pub struct Typed<F>(F);

impl<F> fmt::Debug for Typed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Typed(..)")
    }
}

/// A handler for [`EventEmitter::on`](crate::EventEmitter::on) that
/// receives the event, its [`Payload`] and the call's [`CallInfo`].
///
/// ```no_run
/// use cloudmine::{CallInfo, Event, EventEmitter, Payload, typed};
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// ws.login_social(cloudmine::SocialNetwork::Github)
///     .on(Event::Open, typed(|_: Event, p: Payload<'_>, _: &CallInfo| {
///         if let Payload::Open(open) = p {
///             if !open.opened {
///                 println!("Open {} to sign in", open.url);
///             }
///         }
///     }))
///     .await?;
/// # Ok(()) }
/// ```
pub fn typed<F>(handler: F) -> Typed<F>
where
    F: FnMut(Event, Payload<'_>, &CallInfo) + Send + 'static,
{
    Typed(handler)
}

impl<F> EventHandler for Typed<F>
where
    F: FnMut(Event, Payload<'_>, &CallInfo) + Send + 'static,
{
    fn handle(&mut self, event: Event, data: &Value, call: &CallInfo) {
        (self.0)(event, Payload::of(event, data), call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn malformed_data_stays_json() {
        let odd = json!({"done": "many"});
        assert_eq!(Payload::of(Event::Progress, &odd), Payload::Json(&odd));
        let no_url = json!({"opened": true});
        assert_eq!(Payload::of(Event::Open, &no_url), Payload::Json(&no_url));
        let no_profile = json!({"session_token": "[redacted]"});
        assert_eq!(
            Payload::of(Event::Success, &no_profile),
            Payload::Json(&no_profile)
        );
        // A progress shape fired as another event is not read as progress.
        let shaped = json!({"done": 1, "total": 2});
        assert_eq!(Payload::of(Event::Meta, &shaped), Payload::Json(&shaped));
    }

    #[test]
    fn a_login_answer_is_signed_in() {
        let data = json!({"session_token": "[redacted]", "expires": "Fri, 31 Aug 2012 19:08:37 GMT",
            "profile": {"__id__": "u1", "__services__": ["github"]}});
        let Payload::SignedIn(who) = Payload::of(Event::Success, &data) else {
            panic!("not signed in");
        };
        assert_eq!(who.user_id, "u1");
        assert_eq!(who.services, ["github"]);
        assert!(who.expires.is_some());
    }
}
