//! `POST v2/app/{app}[/user]/class/{class}/elasticsearch`: the JS SDK's
//! `searchES`. The emulator does not serve Elasticsearch queries: once the
//! app, key (and at user level the session) are checked, the answer is 501
//! with a message pointing at the CloudMine query language, never a silent
//! empty result.

use axum::http::StatusCode;

use crate::extract::{Caller, Level};
use crate::fail::Fail;

/// The refusal, after the caller is checked like any other call.
pub(crate) async fn search<L: Level>(_caller: Caller<L>) -> Fail {
    Fail::new(
        StatusCode::NOT_IMPLEMENTED,
        "Elasticsearch search (v2 class/{class}/elasticsearch) is not served by the emulator; \
         use search?q= with the CloudMine query language",
    )
}
