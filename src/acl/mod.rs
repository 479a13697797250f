//! The ACL API (CloudMine's `user/access` endpoints): share a user's
//! objects with other users. An object is shared by listing ACL ids in its
//! `__access__` field ([`Objects::set_with_access`](crate::Objects::set_with_access));
//! the members read it with the [`shared`](crate::CallOptions::shared) and
//! [`shared_only`](crate::CallOptions::shared_only) options.

mod model;

use std::collections::BTreeMap;

use reqwest::Method;

pub use model::{Acl, Permission, Permissions, Segments};

use crate::call::{ApiCall, Request, Steps};
use crate::client::Client;
use crate::envelope::Processor;
use crate::error::{Error, KeyError, Result};
use crate::objects::join_keys;
use crate::response::Response;

/// Several ACLs, from [`Acls::all`], [`Acls::get_many`] or [`Acls::search`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct AclList {
    /// The ACLs found, by id.
    pub acls: BTreeMap<String, Acl>,
    /// Ids asked for that are not the caller's ACLs (404 each).
    pub key_errors: BTreeMap<String, KeyError>,
    /// The total number of matches, with the `count` option.
    pub count: Option<u64>,
}

/// The ACL API, from [`WebService::acls`](crate::WebService::acls).
///
/// ACLs belong to the logged-in user: every call needs a session (set one
/// with a login or [`WebService::set_session_token`](crate::WebService::set_session_token)),
/// and goes to `/user/access`. A user sees and changes only their own ACLs;
/// any other id is answered as unknown (404).
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService, bob: &str) -> cloudmine::Result<()> {
/// use cloudmine::{Acl, CallOptions, Permission};
/// // Alice (logged in on `ws`) lets Bob read her note.
/// let acl = ws.acls().save(&Acl::new([bob], Permission::Read.into())).await?;
/// let id = acl.id.clone().expect("a saved ACL has an id");
/// ws.objects().set_with_access("note", serde_json::json!({"text": "hi"}), [&id]).await?;
/// // Bob, logged in elsewhere, reads it with
/// // `objects().get(["note"]).options(CallOptions::new().shared(true))`.
/// ws.acls().delete(&id).await?; // revokes the grant
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct Acls<'a> {
    client: &'a Client,
}

impl std::fmt::Debug for Acls<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acls").finish_non_exhaustive()
    }
}

/// The one ACL of a `{id: acl}` answer.
const ONE: Steps<Acl> = Steps {
    before: |_, _| Ok(()),
    after: |_, _| None,
    output: |response, _| one(&response),
    store: false,
};

/// The ACLs of an envelope answer.
const MANY: Steps<AclList> = Steps {
    before: |_, _| Ok(()),
    after: |_, _| None,
    output: |response, _| many(&response),
    store: false,
};

fn one(response: &Response) -> Result<Acl> {
    let (id, value) = response
        .success()
        .as_object()
        .and_then(|m| m.iter().next())
        .ok_or_else(|| Error::decode("the ACL answer", "expected {id: acl}"))?;
    let mut acl = Acl::from_answer(value).map_err(|e| Error::decode("the ACL", e))?;
    acl.id.get_or_insert_with(|| id.clone());
    Ok(acl)
}

fn many(response: &Response) -> Result<AclList> {
    let mut acls = BTreeMap::new();
    if let Some(found) = response.success().as_object() {
        for (id, value) in found {
            let mut acl = Acl::from_answer(value).map_err(|e| Error::decode("an ACL", e))?;
            acl.id.get_or_insert_with(|| id.clone());
            acls.insert(id.clone(), acl);
        }
    }
    Ok(AclList {
        acls,
        key_errors: response.key_errors().clone(),
        count: response.count(),
    })
}

fn checked_id(id: &str) -> Result<&str> {
    if id.is_empty() {
        Err(Error::invalid_argument("id", "an ACL id must not be empty"))
    } else {
        Ok(id)
    }
}

fn basic(request: Request) -> Request {
    let mut request = request;
    request.processor = Processor::Basic;
    request
}

impl<'a> Acls<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Acls { client }
    }

    /// Creates an ACL (no [`id`](Acl::id): the server picks one, HTTP 201)
    /// or replaces the caller's ACL with that id (HTTP 200); `PUT access`.
    /// The answer is the ACL as stored, with its id. An unknown id: 404.
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::{Acl, Permission};
    /// let mut acl = ws.acls().save(&Acl::new(["bob-id"], Permission::Read.into())).await?;
    /// acl.members.push("carol-id".into());
    /// let replaced = ws.acls().save(&acl).await?; // same id: replaces it
    /// # Ok(()) }
    /// ```
    pub fn save(&self, acl: &Acl) -> ApiCall<Acl> {
        let request = acl
            .to_body()
            .map_err(|e| Error::invalid_argument("acl", format!("cannot be encoded as JSON: {e}")))
            .map(|body| basic(Request::new(Method::PUT, &["access"]).json(&body)));
        ApiCall::with_steps(self.client, request, &ONE)
    }

    /// One of the caller's ACLs (`GET access/{id}`); 404 when there is none.
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let acl = ws.acls().get("acl-id").await?;
    /// println!("{:?} may {:?}", acl.members, acl.permissions);
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: &str) -> ApiCall<Acl> {
        let request = checked_id(id).map(|id| basic(Request::new(Method::GET, &["access", id])));
        ApiCall::with_steps(self.client, request, &ONE)
    }

    /// Several of the caller's ACLs (`GET access?ids=a,b`). Ids that are not
    /// found are in [`AclList::key_errors`]; when none is found the call fails
    /// with [`Error::Keys`].
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let found = ws.acls().get_many(["acl-1", "acl-2"]).await?;
    /// for (id, why) in &found.key_errors {
    ///     println!("{id}: {why}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn get_many<I, K>(&self, ids: I) -> ApiCall<AclList>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        let request =
            join_keys(ids).map(|ids| Request::new(Method::GET, &["access"]).query("ids", ids));
        ApiCall::with_steps(self.client, request, &MANY)
    }

    /// All the caller's ACLs (`GET access`), a page at a time with the
    /// `limit`, `skip` and `count` options.
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::CallOptions;
    /// let page = ws.acls().all().options(CallOptions::new().limit(20).count(true)).await?;
    /// println!("{} of {:?}", page.acls.len(), page.count);
    /// # Ok(()) }
    /// ```
    pub fn all(&self) -> ApiCall<AclList> {
        ApiCall::with_steps(
            self.client,
            Ok(Request::new(Method::GET, &["access"])),
            &MANY,
        )
    }

    /// The caller's ACLs matching a CloudMine query (`GET access/search?q=`),
    /// e.g. `[label = "work"]` on an extra field; an empty query matches all (as the JS
    /// SDK's `searchACLs()` sends it).
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let work = ws.acls().search(r#"[label = "work"]"#).await?;
    /// # Ok(()) }
    /// ```
    pub fn search(&self, query: impl Into<String>) -> ApiCall<AclList> {
        let request = Request::new(Method::GET, &["access", "search"]).query("q", query.into());
        ApiCall::with_steps(self.client, Ok(request), &MANY)
    }

    /// Deletes one of the caller's ACLs (`DELETE access/{id}`): every grant it
    /// gave ends. The answer's data is `{id: "deleted"}`; 404 when unknown.
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// ws.acls().delete("acl-id").await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: &str) -> ApiCall {
        let request = checked_id(id).map(|id| basic(Request::new(Method::DELETE, &["access", id])));
        ApiCall::new(self.client, request)
    }
}
