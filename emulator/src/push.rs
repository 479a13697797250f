//! `POST push`: a push notification, checked as CloudMine documented it
//! (`docs/6_Push_Notifications.md` of the JS SDK) and recorded for tests
//! (there is no APNs or FCM here).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::extract::{Caller, Level};
use crate::fail::{Fail, json_response};
use crate::model::Push;
use crate::state::AppState;

/// The longest `text`, `sound` and `channel`, in bytes.
const MAX_TEXT_BYTES: usize = 4096;
const MAX_NAME_BYTES: usize = 256;
/// The most `users` and `device_ids` entries.
const MAX_TARGETS: usize = 1000;
/// The largest `payload`, serialised.
const MAX_PAYLOAD_BYTES: usize = 4096;
/// The largest notification (the request body): the outbox keeps up to
/// `OUTBOX_CAP` of them, so this bounds its memory (~64 MiB of JSON).
const MAX_NOTIFICATION_BYTES: usize = 64 * 1024;

/// `POST push` (app or user level): 200 `{}` once recorded.
pub(crate) async fn send<L: Level>(
    caller: Caller<L>,
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Fail> {
    if body.len() > MAX_NOTIFICATION_BYTES {
        return Err(Fail::bad(format!(
            "a notification is at most {MAX_NOTIFICATION_BYTES} bytes of JSON"
        )));
    }
    let notification = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => check(map)?,
        Ok(_) => return Err(Fail::bad("the notification must be a JSON object")),
        Err(e) => return Err(Fail::bad(format!("malformed JSON body: {e}"))),
    };
    let push = Push {
        app_id: caller.app_id.clone(),
        sender: caller.user_id.clone(),
        notification,
    };
    crate::sent::record_push(&*state.store, &push).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

/// The notification if every field is as documented; 400 naming the first
/// field that is not.
fn check(map: Map<String, Value>) -> Result<Value, Fail> {
    for (field, value) in &map {
        check_field(field, value)?;
    }
    match map.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() => Ok(Value::Object(map)),
        _ => Err(Fail::bad("text (the message) is required")),
    }
}

fn check_field(field: &str, value: &Value) -> Result<(), Fail> {
    let bad = |why: &str| Err(Fail::bad(format!("{field}: {why}")));
    match (field, value) {
        ("text", Value::String(s)) if s.len() <= MAX_TEXT_BYTES => Ok(()),
        ("text", _) => bad("must be a string of at most 4096 bytes"),
        ("channel" | "sound", Value::String(s)) if !s.is_empty() && s.len() <= MAX_NAME_BYTES => {
            Ok(())
        }
        ("channel" | "sound", _) => bad("must be a non-empty string of at most 256 bytes"),
        ("badge", Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 99_999) => Ok(()),
        ("badge", _) => bad("must be a whole number from 0 to 99999"),
        ("payload", Value::Object(_)) if value.to_string().len() <= MAX_PAYLOAD_BYTES => Ok(()),
        ("payload", _) => bad("must be a JSON object of at most 4096 bytes"),
        ("device_ids", Value::Array(ids)) if ids.len() <= MAX_TARGETS && ids.iter().all(is_id) => {
            Ok(())
        }
        ("device_ids", _) => bad("must be a list of at most 1000 non-empty strings"),
        ("users", Value::Array(users))
            if users.len() <= MAX_TARGETS && users.iter().all(is_user) =>
        {
            Ok(())
        }
        ("users", _) => {
            bad("must be a list of at most 1000 user ids, {\"email\": ...} or {\"username\": ...}")
        }
        _ => bad(
            "is not a field of a notification (text, channel, users, device_ids, badge, sound, payload)",
        ),
    }
}

fn is_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| !s.is_empty() && s.len() <= MAX_NAME_BYTES)
}

/// A user id, `{"email": E}` or `{"username": U}`.
fn is_user(v: &Value) -> bool {
    match v {
        Value::Object(m) if m.len() == 1 => {
            matches!(m.iter().next(), Some((k, id)) if (k == "email" || k == "username") && is_id(id))
        }
        other => is_id(other),
    }
}
