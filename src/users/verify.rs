//! Checking credentials without logging in: the answer of `account/login`
//! becomes a yes or no, and its session never reaches the client.

use serde_json::json;

use crate::call::Steps;
use crate::envelope::Processed;
use crate::error::Error;

/// `verify`: a 401 is `false`, a login answer `true`; the client's session
/// is not touched, and handlers see `{"valid": …}`, never the answer's
/// session token.
pub(super) const VERIFY: Steps<bool> = Steps {
    before: |_, _| Ok(()),
    after: |_, processed| judge(processed),
    output: |_, valid| valid.ok_or_else(|| Error::decode("the login answer", "no verdict")),
    store: false,
};

fn judge(processed: &mut Processed) -> Option<bool> {
    let valid = match &processed.failure {
        Some(e) if e.is_unauthorized() => false,
        Some(_) => return None,
        None => true,
    };
    *processed = Processed {
        status: processed.status,
        success: Some(json!({ "valid": valid })),
        ..Processed::default()
    };
    Some(valid)
}
