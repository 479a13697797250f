//! The `user/access` endpoints: create or replace an ACL, read, list,
//! search and delete the caller's own ACLs. Only an ACL's owner sees it:
//! anyone else's id is answered as unknown.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::model::AclBody;
use crate::crypto::random_hex;
use crate::extract::{Caller, PathParams, QueryPairs, UserLevel, first};
use crate::fail::{Fail, json_response};
use crate::params::ServerParams;
use crate::query;
use crate::state::AppState;
use crate::store::{AclWrite, NewAcl};

fn unknown(id: &str) -> Fail {
    Fail::new(
        StatusCode::NOT_FOUND,
        format!("no ACL {id:?} of yours: an ACL is seen and changed by its owner only"),
    )
}

/// `PUT`/`POST user/access`: a body without `__id__` creates an ACL under a
/// new id; with the `__id__` of one of the caller's ACLs, replaces it.
/// Answers `{id: acl}` (201 created, 200 replaced).
pub(crate) async fn upsert(
    caller: Caller<UserLevel>,
    state: axum::extract::State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Fail> {
    let acl = AclBody::parse(&body)?;
    let create = acl.id.is_none();
    let id = acl.id.clone().unwrap_or_else(|| random_hex(16));
    if id.is_empty() {
        return Err(Fail::internal(&"the random source failed"));
    }
    let value = acl.to_value(&id);
    let new = NewAcl {
        id: id.clone(),
        members: acl.members.clone(),
        permissions: acl.permissions.clone(),
        everyone: acl.everyone(),
        value: value.clone(),
    };
    let status = match state
        .store
        .put_acl(&caller.app_id, caller.owner(), &new, create)
        .await?
    {
        AclWrite::Created => StatusCode::CREATED,
        AclWrite::Updated => StatusCode::OK,
        AclWrite::Unknown => return Err(unknown(&id)),
    };
    Ok(json_response(status, json!({ id: value })))
}

/// `GET user/access/{id}`: `{id: acl}`.
pub(crate) async fn get_one(
    caller: Caller<UserLevel>,
    state: axum::extract::State<Arc<AppState>>,
    path: PathParams,
) -> Result<Response, Fail> {
    let id = path.get("id").to_owned();
    let found = state
        .store
        .acls(
            &caller.app_id,
            caller.owner(),
            Some(std::slice::from_ref(&id)),
        )
        .await?;
    let (id, value) = found.into_iter().next().ok_or_else(|| unknown(&id))?;
    Ok(json_response(StatusCode::OK, json!({ id: value })))
}

/// `DELETE user/access/{id}`: `{id: "deleted"}`; every grant the ACL gave
/// ends with it.
pub(crate) async fn delete_one(
    caller: Caller<UserLevel>,
    state: axum::extract::State<Arc<AppState>>,
    path: PathParams,
) -> Result<Response, Fail> {
    let id = path.get("id");
    if !state
        .store
        .delete_acl(&caller.app_id, caller.owner(), id)
        .await?
    {
        return Err(unknown(id));
    }
    Ok(json_response(StatusCode::OK, json!({ id: "deleted" })))
}

/// `GET user/access[?ids=a,b]`: the caller's ACLs, in the objects
/// envelope; an id that is not the caller's is a 404 in `errors`.
pub(crate) async fn list(
    caller: Caller<UserLevel>,
    state: axum::extract::State<Arc<AppState>>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, Fail> {
    let params = ServerParams::parse(&query)?;
    let ids: Option<Vec<String>> = first(&query, "ids").map(|v| {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let found = state
        .store
        .acls(&caller.app_id, caller.owner(), ids.as_deref())
        .await?;
    let mut errors = Map::new();
    for id in ids.iter().flatten() {
        if !found.iter().any(|(k, _)| k == id) {
            let error = json!({"code": 404, "message": "ACL not found"});
            errors.insert(id.clone(), error);
        }
    }
    Ok(envelope(&params, found, errors))
}

/// `GET user/access/search?q=`: the caller's ACLs matching a query (all of
/// them for an empty or missing `q`).
pub(crate) async fn search(
    caller: Caller<UserLevel>,
    state: axum::extract::State<Arc<AppState>>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, Fail> {
    let params = ServerParams::parse(&query)?;
    let q = first(&query, "q").unwrap_or_default().trim();
    let filter = if q.is_empty() {
        None
    } else {
        Some(query::parse(q).map_err(Fail::bad)?)
    };
    let found = state
        .store
        .acls(&caller.app_id, caller.owner(), None)
        .await?
        .into_iter()
        .filter(|(id, v)| filter.as_ref().is_none_or(|f| f.matches(id, v)))
        .collect();
    Ok(envelope(&params, found, Map::new()))
}

fn envelope(
    params: &ServerParams,
    found: Vec<(String, Value)>,
    errors: Map<String, Value>,
) -> Response {
    let (page, total) = params.page(found);
    let success: Map<String, Value> = page.into_iter().collect();
    let mut body = json!({ "success": success, "errors": errors });
    if params.count {
        body["count"] = json!(total);
    }
    json_response(StatusCode::OK, body)
}
