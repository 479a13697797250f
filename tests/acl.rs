//! The ACL API against the emulator: save/get/list/search/delete, and
//! objects shared through `__access__` read with `shared`/`shared_only`.

mod support;

use cloudmine::{Acl, AppLevel, CallOptions, Permission, Permissions, Segments};
use serde_json::json;
use support::*;

#[tokio::test]
async fn save_get_replace_list_search_delete() {
    let emu = emulator().await;
    let (alice, _) = user_client(&emu, "alice@example.com").await;
    let log = EventLog::default();
    let mut acl = Acl::new(["bob-id"], Permission::Read.into());
    acl.extra.insert("label".into(), json!("friends"));
    let saved = log.attach(alice.acls().save(&acl)).await.unwrap();
    assert_eq!(log.names(), ["created", "201", "success", "complete"]);
    let id = saved.id.clone().expect("an id");
    assert_eq!(id.len(), 32);
    assert_eq!(saved.members, ["bob-id"]);
    assert_eq!(saved.permissions, Permission::Read.into());
    assert_eq!(saved.segments, Segments::default());
    assert_eq!(saved.extra.get("label"), Some(&json!("friends")));
    assert!(!saved.extra.contains_key("__type__"));

    let got = alice.acls().get(&id).await.unwrap();
    assert_eq!(got, saved);

    let mut changed = got.clone();
    changed.permissions = Permissions::ALL.without(Permission::Delete);
    changed.segments.logged_in = true;
    let log = EventLog::default();
    let replaced = log.attach(alice.acls().save(&changed)).await.unwrap();
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert_eq!(replaced, changed);

    let mut other = Acl::new(["carol-id"], Permission::Update.into());
    other.extra.insert("label".into(), json!("work"));
    let other = alice.acls().save(&other).await.unwrap();
    let other_id = other.id.clone().unwrap();
    let all = alice
        .acls()
        .all()
        .options(CallOptions::new().count(true))
        .await
        .unwrap();
    assert_eq!(all.acls.len(), 2);
    assert_eq!(all.count, Some(2));
    assert_eq!(all.acls[&id], changed);

    let some = alice.acls().get_many([&id, "nope"]).await.unwrap();
    assert_eq!(some.acls.keys().collect::<Vec<_>>(), [&id]);
    assert_eq!(some.key_errors["nope"].status, 404);

    let found = alice.acls().search(r#"[label = "work"]"#).await.unwrap();
    assert_eq!(found.acls.keys().collect::<Vec<_>>(), [&other_id]);
    assert_eq!(alice.acls().search("").await.unwrap().acls.len(), 2);

    let log = EventLog::default();
    let gone = log.attach(alice.acls().delete(&id)).await.unwrap();
    assert_eq!(gone.success(), &json!({ id.clone(): "deleted" }));
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    let e = alice.acls().get(&id).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
}

#[tokio::test]
async fn errors_are_typed() {
    let emu = emulator().await;
    let (alice, _) = user_client(&emu, "alice@example.com").await;
    let (bob, _) = user_client(&emu, "bob@example.com").await;
    let mine = alice
        .acls()
        .save(&Acl::new(["x"], Permissions::ALL))
        .await
        .unwrap();
    let id = mine.id.unwrap();

    // Another user's ACL is unknown to Bob: get, replace and delete are 404.
    let log = EventLog::default();
    let e = log.attach(bob.acls().get(&id)).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(log.names(), ["notfound", "404", "error", "complete"]);
    let mut theirs = Acl::new(["bob"], Permissions::ALL);
    theirs.id = Some(id.clone());
    assert_eq!(
        bob.acls().save(&theirs).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        bob.acls().delete(&id).await.unwrap_err().status(),
        Some(404)
    );
    // No id found at all: Error::Keys.
    let e = bob.acls().get_many([&id]).await.unwrap_err();
    assert!(matches!(e, cloudmine::Error::Keys { .. }), "{e:?}");
    // A query the server cannot parse: 400.
    let e = alice.acls().search("[members ==").await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // Arguments refused before sending.
    assert!(alice.acls().get("").await.unwrap_err().is_invalid());
    assert!(alice.acls().delete("").await.unwrap_err().is_invalid());
    assert!(
        alice
            .acls()
            .get_many(Vec::<String>::new())
            .await
            .unwrap_err()
            .is_invalid()
    );
    assert!(
        alice
            .acls()
            .get_many(["a,b"])
            .await
            .unwrap_err()
            .is_invalid()
    );

    // Without a session (or at the app level) the call goes to the app's
    // `access`, which does not exist: ACLs belong to users.
    let anonymous = client(&emu);
    let e = anonymous.acls().all().await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    assert!(e.to_string().contains("no such endpoint"), "{e}");
    let app = alice
        .acls()
        .all()
        .options(CallOptions::new().applevel(AppLevel::App));
    assert_eq!(app.await.unwrap_err().status(), Some(404));
}

#[tokio::test]
async fn sharing_grant_read_and_revoke() {
    let emu = emulator().await;
    let (alice, _) = user_client(&emu, "alice@example.com").await;
    let (bob, bob_id) = user_client(&emu, "bob@example.com").await;
    bob.objects().set("own", json!({"a": 2})).await.unwrap();
    alice.objects().set("note", json!({"a": 1})).await.unwrap();
    let shared = CallOptions::new().shared(true);
    let shared_only = CallOptions::new().shared_only(true);

    // No grant: Bob sees only his own objects.
    let e = bob
        .objects()
        .get(["note"])
        .options(shared.clone())
        .await
        .unwrap_err();
    assert!(matches!(e, cloudmine::Error::Keys { .. }), "{e:?}");
    let all = bob
        .objects()
        .get_all()
        .options(shared.clone())
        .await
        .unwrap();
    assert_eq!(all.keys(), ["own"]);

    // A read grant through __access__.
    let acl = alice
        .acls()
        .save(&Acl::new([bob_id.as_str()], Permission::Read.into()))
        .await
        .unwrap();
    let acl_id = acl.id.unwrap();
    alice
        .objects()
        .set_with_access("note", json!({"a": 1}), [&acl_id])
        .await
        .unwrap();
    let note = bob
        .objects()
        .get(["note"])
        .options(shared.clone())
        .await
        .unwrap();
    assert_eq!(note.value("note").unwrap()["a"], 1);
    assert_eq!(note.value("note").unwrap()["__access__"], json!([acl_id]));
    let all = bob
        .objects()
        .get_all()
        .options(shared.clone())
        .await
        .unwrap();
    assert_eq!(all.keys(), ["note", "own"]);
    let only = bob
        .objects()
        .get_all()
        .options(shared_only.clone())
        .await
        .unwrap();
    assert_eq!(only.keys(), ["note"]);
    let searched = bob
        .objects()
        .search("[a > 0]")
        .options(shared_only.clone())
        .await
        .unwrap();
    assert_eq!(searched.keys(), ["note"]);
    // Without the option, shared objects stay out.
    assert_eq!(bob.objects().get_all().await.unwrap().keys(), ["own"]);

    // Revocation: deleting the ACL ends the grant.
    alice.acls().delete(&acl_id).await.unwrap();
    let after = bob.objects().get_all().options(shared_only).await.unwrap();
    assert!(after.keys().is_empty(), "{:?}", after.keys());
}

#[tokio::test]
async fn access_lists_are_checked_before_sending() {
    let emu = emulator().await;
    let (alice, _) = user_client(&emu, "alice@example.com").await;
    let e = alice
        .objects()
        .set_with_access("k", json!([1]), ["a"])
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    let e = alice
        .objects()
        .set_with_access("k", json!({}), [""])
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    // An empty list shares with no one, and is stored as such.
    alice
        .objects()
        .set_with_access("k", json!({"a": 1}), Vec::<String>::new())
        .await
        .unwrap();
    let got = alice.objects().get(["k"]).await.unwrap();
    assert_eq!(got.value("k").unwrap()["__access__"], json!([]));
}
