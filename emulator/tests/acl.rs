//! ACLs over real HTTP: the `user/access` endpoints and objects shared
//! through `__access__`, with several users, apps and levels.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::user::User;
use support::{App, message};

const APP: App = App("aclapp", "acl-test-key");
const OTHER: App = App("otherapp", "other-test-key");

async fn emulator() -> Emulator {
    support::builder()
        .app(APP.0, APP.1)
        .app(OTHER.0, OTHER.1)
        .start()
        .await
        .unwrap()
}

/// The ACL calls these tests make as a user.
trait AclCalls {
    /// Creates an ACL; returns its id.
    async fn acl(&self, emu: &Emulator, members: &[&User], permissions: &[&str]) -> String;
    async fn put(&self, emu: &Emulator, key: &str, value: Value) -> (StatusCode, Value);
    async fn merge(&self, emu: &Emulator, key: &str, value: Value) -> (StatusCode, Value);
    /// `GET user/text?keys=key`: the value, or `Null`.
    async fn get(&self, emu: &Emulator, key: &str) -> Value;
    /// The keys a listing answers.
    async fn keys(&self, emu: &Emulator, path: &str) -> Vec<String>;
}

impl AclCalls for User {
    async fn acl(&self, emu: &Emulator, members: &[&User], permissions: &[&str]) -> String {
        let ids: Vec<&str> = members.iter().map(|u| u.id.as_str()).collect();
        let body = json!({"members": ids, "permissions": permissions, "__type__": "acl"});
        let (s, b) = self.call(emu, Method::PUT, "access", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let id = b.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(b[&id]["__id__"], id.as_str());
        id
    }

    async fn put(&self, emu: &Emulator, key: &str, value: Value) -> (StatusCode, Value) {
        let body = json!({ key: value });
        self.call(emu, Method::PUT, "text", Some(body)).await
    }

    async fn merge(&self, emu: &Emulator, key: &str, value: Value) -> (StatusCode, Value) {
        let body = json!({ key: value });
        self.call(emu, Method::POST, "text", Some(body)).await
    }

    async fn get(&self, emu: &Emulator, key: &str) -> Value {
        let (s, b) = self
            .call(emu, Method::GET, &format!("text?keys={key}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["success"][key].clone()
    }

    async fn keys(&self, emu: &Emulator, path: &str) -> Vec<String> {
        let (s, b) = self.call(emu, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["success"].as_object().unwrap().keys().cloned().collect()
    }
}

#[tokio::test]
async fn without_a_grant_a_user_reads_updates_and_deletes_nothing() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let acl = alice.acl(&emu, &[], &["r", "u", "d"]).await;
    alice
        .put(&emu, "k", json!({"a": 1, "__access__": [acl]}))
        .await;
    alice
        .put(&emu, "k2", json!({"a": 2, "__access__": acl}))
        .await;

    assert_eq!(bob.get(&emu, "k").await, Value::Null);
    let (_, b) = bob.call(&emu, Method::GET, "text?keys=k", None).await;
    assert_eq!(b["errors"]["k"]["code"], 404, "{b}");
    assert!(bob.keys(&emu, "text?shared=true").await.is_empty());
    assert!(
        bob.keys(&emu, "search?q=[a>0]&shared_only=true")
            .await
            .is_empty()
    );
    // A write under the same key is bob's own object.
    let (s, b) = bob.put(&emu, "k", json!({"b": 1})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(alice.get(&emu, "k").await["a"], 1);
    let (_, b) = bob.call(&emu, Method::DELETE, "data?keys=k2", None).await;
    assert_eq!(b["errors"]["k2"]["code"], 404, "{b}");
    assert_eq!(alice.get(&emu, "k2").await["a"], 2);
}

#[tokio::test]
async fn a_read_grant_shares_reads_and_nothing_more() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let acl = alice.acl(&emu, &[&bob], &["r"]).await;
    alice.put(&emu, "k", json!({"a": 1})).await;
    alice.put(&emu, "private", json!({"a": 3})).await;
    let (s, b) = alice.merge(&emu, "k", json!({"__access__": acl})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    bob.put(&emu, "mine", json!({"a": 2})).await;

    assert_eq!(bob.get(&emu, "k").await["a"], 1, "a named key is found");
    assert_eq!(bob.get(&emu, "private").await, Value::Null);
    assert_eq!(bob.keys(&emu, "text").await, ["mine"]);
    assert_eq!(bob.keys(&emu, "text?shared=true").await, ["k", "mine"]);
    assert_eq!(bob.keys(&emu, "text?shared_only=true").await, ["k"]);
    assert_eq!(bob.keys(&emu, "search?q=[a>0]").await, ["mine"]);
    assert_eq!(
        bob.keys(&emu, "search?q=[a>0]&shared_only=true").await,
        ["k"]
    );
    // The owner's own listing is not changed by sharing.
    assert!(alice.keys(&emu, "text?shared_only=true").await.is_empty());

    let (s, b) = bob.merge(&emu, "k", json!({"a": 9})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["errors"]["k"]["code"], 401, "{b}");
    assert_eq!(b["errors"]["k"]["message"], "permission denied");
    let (_, b) = bob.put(&emu, "k", json!({"a": 9})).await;
    assert_eq!(b["errors"]["k"]["code"], 401, "{b}");
    let (_, b) = bob.call(&emu, Method::DELETE, "data?keys=k", None).await;
    assert_eq!(b["errors"]["k"]["code"], 401, "{b}");
    assert_eq!(alice.get(&emu, "k").await["a"], 1);
}

#[tokio::test]
async fn update_and_delete_grants_reach_the_owners_object() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let acl = alice.acl(&emu, &[&bob], &["r", "u", "d"]).await;
    alice
        .put(&emu, "k", json!({"a": 1, "__access__": [acl]}))
        .await;

    let (s, b) = bob
        .merge(&emu, "k", json!({"b": 2, "__access__": []}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"]["k"], "updated");
    let (_, b) = bob.put(&emu, "k", json!({"c": 3})).await;
    assert_eq!(b["success"]["k"], "updated", "{b}");
    let stored = alice.get(&emu, "k").await;
    assert_eq!(
        stored,
        json!({"c": 3, "__access__": [acl]}),
        "the owner keeps __access__"
    );
    assert!(
        bob.keys(&emu, "text").await.is_empty(),
        "nothing written for bob"
    );
    let (_, b) = bob.put(&emu, "k", json!("a string")).await;
    assert_eq!(b["errors"]["k"]["code"], 400, "{b}");

    let (_, b) = bob.call(&emu, Method::DELETE, "data?keys=k", None).await;
    assert_eq!(b["success"]["k"], "deleted", "{b}");
    assert_eq!(alice.get(&emu, "k").await, Value::Null);
}

#[tokio::test]
async fn revoking_takes_effect_at_once() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let carol = User::sign_up(&emu, APP, "carol@example.com").await;
    let acl = alice.acl(&emu, &[&bob], &["r"]).await;
    alice
        .put(&emu, "k", json!({"a": 1, "__access__": [acl]}))
        .await;
    assert_eq!(bob.get(&emu, "k").await["a"], 1);
    assert_eq!(carol.get(&emu, "k").await, Value::Null);

    // Replacing the ACL without bob.
    let body = json!({"__id__": acl, "members": [carol.id], "permissions": ["r"]});
    let (s, b) = alice.call(&emu, Method::POST, "access", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(bob.get(&emu, "k").await, Value::Null);
    assert_eq!(carol.get(&emu, "k").await["a"], 1);

    // The owner taking the ACL off the object.
    alice.put(&emu, "k", json!({"a": 1})).await;
    assert_eq!(carol.get(&emu, "k").await, Value::Null);
    alice
        .put(&emu, "k", json!({"a": 1, "__access__": [acl]}))
        .await;
    assert_eq!(carol.get(&emu, "k").await["a"], 1);

    // Deleting the ACL.
    let (s, b) = alice
        .call(&emu, Method::DELETE, &format!("access/{acl}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b[&acl], "deleted");
    assert_eq!(carol.get(&emu, "k").await, Value::Null);
    assert!(carol.keys(&emu, "text?shared=true").await.is_empty());
}

#[tokio::test]
async fn a_logged_in_segment_shares_with_every_user_of_the_app() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let body = json!({"members": [], "permissions": ["r"], "segments": {"logged_in": true}});
    let (s, b) = alice.call(&emu, Method::PUT, "access", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let acl = b.as_object().unwrap().keys().next().unwrap().clone();
    assert_eq!(b[&acl]["segments"]["logged_in"], true);
    alice.put(&emu, "k", json!({"__access__": acl})).await;
    assert_eq!(bob.keys(&emu, "text?shared_only=true").await, ["k"]);
    let other = User::sign_up(&emu, OTHER, "bob@example.com").await;
    assert!(other.keys(&emu, "text?shared_only=true").await.is_empty());
}

#[tokio::test]
async fn only_the_owner_sees_or_changes_an_acl() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let acl = alice.acl(&emu, &[&bob], &["r", "u", "d"]).await;
    let path = format!("access/{acl}");

    let (s, b) = alice.call(&emu, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b[&acl]["members"], json!([bob.id]));
    assert_eq!(b[&acl]["permissions"], json!(["r", "u", "d"]));
    assert_eq!(alice.keys(&emu, "access").await, vec![acl.clone()]);
    assert_eq!(
        alice.keys(&emu, &format!("access?ids={acl},nope")).await,
        vec![acl.clone()]
    );
    let (_, b) = alice.call(&emu, Method::GET, "access?ids=nope", None).await;
    assert_eq!(b["errors"]["nope"]["code"], 404, "{b}");
    assert_eq!(
        alice.keys(&emu, "access/search?q=").await,
        vec![acl.clone()]
    );
    let q = "access/search?q=[__type__=\"acl\"]";
    assert_eq!(alice.keys(&emu, q).await, vec![acl.clone()]);
    assert!(
        alice
            .keys(&emu, "access/search?q=[nothing=1]")
            .await
            .is_empty()
    );

    let (s, b) = bob.call(&emu, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert!(bob.keys(&emu, "access").await.is_empty());
    assert!(bob.keys(&emu, "access/search?q=").await.is_empty());
    let body = json!({"__id__": acl, "members": [bob.id], "permissions": ["r"]});
    let (s, b) = bob.call(&emu, Method::PUT, "access", Some(body)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert!(message(&b).contains("its owner only"), "{b}");
    let (s, _) = bob.call(&emu, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, b) = alice.call(&emu, Method::GET, &path, None).await;
    assert_eq!(b[&acl]["permissions"], json!(["r", "u", "d"]), "unchanged");
}

#[tokio::test]
async fn access_endpoints_refuse_without_a_session_and_unknown_ids() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let body = json!({"members": [], "permissions": ["r"]}).to_string();
    for (method, path) in [
        (Method::PUT, "user/access"),
        (Method::POST, "user/access"),
        (Method::GET, "user/access"),
        (Method::GET, "user/access/search?q="),
        (Method::GET, "user/access/abc"),
        (Method::DELETE, "user/access/abc"),
    ] {
        let (s, b) = APP.call(&emu, method.clone(), path, Some(&body)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}: {b}");
    }
    let (s, _) = APP.call(&emu, Method::GET, "access", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no app-level ACLs");
    for (method, path) in [(Method::GET, "access/abc"), (Method::DELETE, "access/abc")] {
        let (s, b) = alice.call(&emu, method, path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    }
    let body = json!({"__id__": "abc", "members": [], "permissions": ["r"]});
    let (s, _) = alice.call(&emu, Method::PUT, "access", Some(body)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an unknown __id__ is not created");
    let (s, _) = alice.call(&emu, Method::PATCH, "access", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = alice
        .call(&emu, Method::GET, "access/search?q=[[", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn malformed_acl_bodies_and_access_lists_are_400() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let many: Vec<String> = (0..1001).map(|i| format!("user{i}")).collect();
    for (body, what) in [
        (
            json!({"members": [], "permissions": ["r", "x"]}),
            "unknown permission",
        ),
        (
            json!({"members": "bob", "permissions": ["r"]}),
            "members must be a list",
        ),
        (
            json!({"members": [""], "permissions": ["r"]}),
            "members must be user ids",
        ),
        (
            json!({"members": many, "permissions": ["r"]}),
            "at most 1000",
        ),
        (json!({"members": []}), "permissions must be a list"),
        (
            json!({"permissions": ["r"], "segments": {"public": 1}}),
            "true or false",
        ),
        (
            json!({"permissions": ["r"], "segments": {"world": true}}),
            "unknown segment",
        ),
        (
            json!({"permissions": ["r"], "__type__": "file"}),
            "__type__",
        ),
        (json!(["r"]), "must be an ACL object"),
    ] {
        let (s, b) = alice.call(&emu, Method::PUT, "access", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(message(&b).contains(what), "{what}: {b}");
    }
    let r = APP
        .request(&emu, Method::PUT, "user/access")
        .header("x-cloudmine-sessiontoken", &alice.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (s, b) = alice.put(&emu, "k", json!({"__access__": {"id": 1}})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let ids: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let (s, b) = alice.put(&emu, "k", json!({"__access__": ids})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = alice
        .call(&emu, Method::GET, "text?shared=maybe", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn apps_are_isolated_and_app_level_data_is_unaffected() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let stranger = User::sign_up(&emu, OTHER, "stranger@example.com").await;
    let acl = alice.acl(&emu, &[&bob, &stranger], &["r", "u", "d"]).await;
    alice
        .put(&emu, "k", json!({"a": 1, "__access__": [acl]}))
        .await;
    assert_eq!(bob.get(&emu, "k").await["a"], 1);
    assert_eq!(stranger.get(&emu, "k").await, Value::Null);
    assert!(stranger.keys(&emu, "text?shared=true").await.is_empty());
    let (s, _) = stranger
        .call(&emu, Method::GET, &format!("access/{acl}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // App-level `__access__` is plain data: stored as sent, shares nothing.
    let body = json!({"app": {"__access__": [acl], "x": 1}}).to_string();
    let (s, _) = APP.call(&emu, Method::PUT, "text", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, b) = APP.call(&emu, Method::GET, "text?keys=app", None).await;
    assert_eq!(b["success"]["app"]["__access__"], json!([acl]));
    assert_eq!(bob.keys(&emu, "text?shared=true").await, ["k"]);
    let (_, b) = APP.call(&emu, Method::GET, "text?shared=true", None).await;
    assert_eq!(b["success"].as_object().unwrap().len(), 1, "{b}");
}

#[tokio::test]
async fn deleting_a_user_ends_their_acls_and_memberships() {
    let emu = emulator().await;
    let alice = User::sign_up(&emu, APP, "alice@example.com").await;
    let bob = User::sign_up(&emu, APP, "bob@example.com").await;
    let carol = User::sign_up(&emu, APP, "carol@example.com").await;
    let from_alice = alice.acl(&emu, &[&bob, &carol], &["r"]).await;
    alice
        .put(&emu, "a", json!({"__access__": [from_alice]}))
        .await;
    let from_carol = carol.acl(&emu, &[&bob], &["r"]).await;
    carol
        .put(&emu, "c", json!({"__access__": [from_carol]}))
        .await;
    assert_eq!(bob.keys(&emu, "text?shared_only=true").await, ["a", "c"]);

    let body = json!({"email": "bob@example.com", "password": "pw"}).to_string();
    let (s, b) = APP.call(&emu, Method::DELETE, "account", Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let body = json!({"email": "alice@example.com", "password": "pw"}).to_string();
    let (s, b) = APP.call(&emu, Method::DELETE, "account", Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(carol.keys(&emu, "text?shared_only=true").await.is_empty());
    // Carol's ACL stays hers; bob's membership is gone with him.
    let (s, b) = carol
        .call(&emu, Method::GET, &format!("access/{from_carol}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}
