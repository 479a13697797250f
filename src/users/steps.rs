//! What the session calls of the users API do to the client's session,
//! around their exchange: the session core ([`crate::session`]) does the
//! work; these steps say when.

use crate::Response;
use crate::call::{Request, Steps};
use crate::client::Client;
use crate::envelope::Processed;
use crate::error::{Error, Result};
use crate::session::{self, login::Login};

/// A password login: decode the answer once, keep (and save) its session,
/// and show handlers the answer with the token redacted.
pub(super) const LOGIN: Steps<Login> = Steps {
    before: |_, _| Ok(()),
    after: adopt_login,
    output: |_, login| login.ok_or_else(|| Error::decode("the login answer", "no session")),
    store: true,
};

/// Logout: the session goes out with the request, and the client forgets
/// it before sending, so it is gone locally even when the call fails.
pub(super) const LOGOUT: Steps<Response> = Steps {
    before: take_session,
    after: |client, processed| {
        if let Err(e) = session::forget_saved(client, false) {
            *processed = Processed::from_failure(e);
        }
        None
    },
    output: |response, _| Ok(response),
    store: true,
};

/// Deleting one's account: the session dies with it once that succeeded.
pub(super) const DELETE_ACCOUNT: Steps<Response> = Steps {
    before: |_, _| Ok(()),
    after: |client, processed| {
        if processed.failure.is_none()
            && let Err(e) = session::forget(client, false)
        {
            *processed = Processed::from_failure(e);
        }
        None
    },
    output: |response, _| Ok(response),
    store: true,
};

/// `restore()`: load the saved session before sending; forget it (here and
/// in the store) when the server says it is no longer valid.
pub(super) const RESTORE: Steps<Response> = Steps {
    before: |client, _| session::restore(client).map(drop),
    after: |client, processed| {
        if processed
            .failure
            .as_ref()
            .is_some_and(Error::is_unauthorized)
        {
            let _ = session::forget(client, true);
        }
        None
    },
    output: |response, _| Ok(response),
    store: true,
};

fn adopt_login(client: &Client, processed: &mut Processed) -> Option<Login> {
    if processed.failure.is_some() {
        return None;
    }
    // The raw answer holds the session token: it is not kept.
    processed.raw = bytes::Bytes::new();
    let body = processed.success.take()?;
    let names = processed.carry.take();
    let name = |field: &str| {
        let v = names.as_deref()?.get(field)?.as_str()?;
        Some(v.to_owned())
    };
    let adopted = Login::from_cloudmine(body).and_then(|login| {
        let mut kept = login.session();
        kept.email = name("email");
        kept.username = name("username");
        session::adopt(client, &kept, true).map(|()| login)
    });
    match adopted {
        Ok(login) => {
            processed.success = Some(login.raw().clone());
            Some(login)
        }
        Err(e) => {
            *processed = Processed::from_failure(e);
            None
        }
    }
}

fn take_session(client: &Client, request: &mut Request) -> Result<()> {
    request.session = client.session_token();
    session::forget_local(client);
    Ok(())
}
