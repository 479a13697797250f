//! What the listener thread and the login tell each other once the browser
//! is back: the callback goes to the login ([`Arrival`]), and the login
//! sends back how it ended ([`Outcome`]), which the waiting browser is then
//! shown.

use tokio::sync::oneshot;

use super::super::landing::LandingPage;
use super::request::Callback;

/// The browser came back with the expected value; its connection waits
/// (bounded) for `reply`.
#[derive(Debug)]
pub(crate) struct Arrival {
    /// What the callback carried.
    pub(crate) callback: Callback,
    /// Where the login says how it ended.
    pub(crate) reply: oneshot::Sender<Outcome>,
}

/// How a login ended, as the browser is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Signed in; `identity` says as whom (name and/or email), when known.
    SignedIn { identity: Option<String> },
    /// Failed; `reason` is shown (escaped).
    Failed { reason: String },
    /// The login did not say in time: "return to the app".
    Unknown,
}

impl Outcome {
    /// The page for this outcome.
    pub(crate) fn page(&self, landing: &LandingPage) -> String {
        match self {
            Outcome::SignedIn { identity } => landing.success(identity.as_deref()),
            Outcome::Failed { reason } => landing.failure(reason),
            Outcome::Unknown => landing.neutral(),
        }
    }
}
