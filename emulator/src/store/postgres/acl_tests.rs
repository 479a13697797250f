//! Tests of `acl.rs` against a real PostgreSQL (skipped without one).

use serde_json::json;

use super::super::test_db;
use super::*;

fn acl(id: &str, members: &[&str], permissions: &str, everyone: bool) -> NewAcl {
    NewAcl {
        id: id.into(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        permissions: permissions.into(),
        everyone,
        value: json!({"__id__": id, "permissions": permissions}),
    }
}

/// Writes an object as the objects code does: the row, then its index.
async fn put_object(pg: &Pg, owner: &str, key: &str, value: Option<Value>) {
    let mut client = pg.client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    match &value {
        Some(v) => {
            tx.execute(
                "INSERT INTO objects (app_id, owner, key, value, created, updated)
                 VALUES ('app', $1, $2, $3, 0, 0)
                 ON CONFLICT (app_id, owner, key) DO UPDATE SET value = excluded.value",
                &[&owner, &key, &v.to_string()],
            )
            .await
            .unwrap();
        }
        None => {
            tx.execute(
                "DELETE FROM objects WHERE app_id = 'app' AND owner = $1 AND key = $2",
                &[&owner, &key],
            )
            .await
            .unwrap();
        }
    }
    sync_access(&tx, "app", owner, key, value.as_ref())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn index(pg: &Pg) -> Vec<(String, String, String)> {
    let rows = pg
        .client()
        .await
        .unwrap()
        .query(
            "SELECT owner, key, acl_id FROM object_access ORDER BY owner, key, acl_id",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

fn triple(o: &str, k: &str, a: &str) -> (String, String, String) {
    (o.into(), k.into(), a.into())
}

#[tokio::test]
async fn the_access_index_follows_object_writes() {
    let Some(pg) = test_db::fresh("acl_index").await else {
        return;
    };
    put_object(
        &pg,
        "u",
        "list",
        Some(json!({"__access__": ["a1", 2, "a2", "a1"]})),
    )
    .await;
    put_object(&pg, "u", "one", Some(json!({"__access__": "a3"}))).await;
    put_object(&pg, "u", "none", Some(json!({"x": "__access__"}))).await;
    put_object(&pg, "", "app", Some(json!({"__access__": ["a4"]}))).await;
    let expected = [
        triple("u", "list", "a1"),
        triple("u", "list", "a2"),
        triple("u", "one", "a3"),
    ];
    assert_eq!(index(&pg).await, expected);
    put_object(&pg, "u", "list", Some(json!({"__access__": ["a2"]}))).await;
    put_object(&pg, "u", "one", None).await;
    assert_eq!(index(&pg).await, [triple("u", "list", "a2")]);
}

/// Shares `k` (a1: bob reads, a2: bob updates) and `pub` (segment `seg`)
/// of `owner`; eve's `k` lists a1, which is not hers.
async fn shared_setup(pg: &Pg) {
    put_object(
        pg,
        "owner",
        "k",
        Some(json!({"x": 1, "__access__": ["a1", "a2"]})),
    )
    .await;
    put_object(pg, "owner", "pub", Some(json!({"__access__": "seg"}))).await;
    put_object(pg, "eve", "k", Some(json!({"__access__": ["a1"]}))).await;
    let put = |owner: &'static str, a: NewAcl, create: bool| {
        let pg = pg.clone();
        async move { pg.put_acl("app", owner, &a, create).await.unwrap() }
    };
    assert_eq!(
        put("owner", acl("a1", &["bob"], "r", false), true).await,
        AclWrite::Created
    );
    assert_eq!(
        put("owner", acl("a2", &["bob"], "u", false), true).await,
        AclWrite::Created
    );
    assert_eq!(
        put("owner", acl("seg", &[], "r", true), true).await,
        AclWrite::Created
    );
    assert_eq!(
        put("owner", acl("a1", &["bob"], "r", false), true).await,
        AclWrite::Unknown
    );
    assert_eq!(
        put("eve", acl("a1", &["eve"], "rud", false), false).await,
        AclWrite::Unknown,
        "only the owner replaces an ACL"
    );
    assert_eq!(
        put("eve", acl("zz", &[], "r", false), false).await,
        AclWrite::Unknown
    );
}

fn keys_of(shared: &[SharedObject]) -> Vec<&str> {
    shared.iter().map(|s| s.key.as_str()).collect()
}

#[tokio::test]
async fn sharing_follows_members_and_segments() {
    let Some(pg) = test_db::fresh("acl_share").await else {
        return;
    };
    shared_setup(&pg).await;
    let shared = pg.shared_objects("app", "bob", None).await.unwrap();
    let keys = keys_of(&shared);
    assert_eq!(
        keys,
        ["k", "pub"],
        "eve's object lists a1 but a1 is not eve's"
    );
    assert_eq!(shared[0].permissions, "ru");
    assert!(shared[0].allows('u') && !shared[0].allows('d'));
    assert_eq!(shared[0].value["x"], 1);
    let carol = pg.shared_objects("app", "carol", None).await.unwrap();
    assert_eq!(carol.len(), 1, "a segment shares with every user");
    assert!(
        pg.shared_objects("other", "bob", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        pg.shared_objects("app", "owner", None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn replacing_listing_and_deleting_acls() {
    let Some(pg) = test_db::fresh("acl_replace").await else {
        return;
    };
    shared_setup(&pg).await;
    let put = |owner: &'static str, a: NewAcl, create: bool| {
        let pg = pg.clone();
        async move { pg.put_acl("app", owner, &a, create).await.unwrap() }
    };
    // Replacing an ACL replaces its members.
    assert_eq!(
        put("owner", acl("a1", &["carol"], "d", false), false).await,
        AclWrite::Updated
    );
    let asked = ["pub".to_owned(), "k".to_owned(), "nope".to_owned()];
    let carol = pg
        .shared_objects("app", "carol", Some(&asked))
        .await
        .unwrap();
    let keys = keys_of(&carol);
    assert_eq!(keys, ["pub", "k"], "in the order asked");
    assert_eq!(carol[1].permissions, "d");
    let ids: Vec<String> = pg
        .acls("app", "owner", None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(ids, ["a1", "a2", "seg"]);
    let some = pg
        .acls(
            "app",
            "owner",
            Some(&["seg".into(), "zz".into(), "a1".into()]),
        )
        .await
        .unwrap();
    assert_eq!(some[0].0, "seg");
    assert_eq!(some[1].1["permissions"], "d");
    assert_eq!(some.len(), 2);
    assert!(pg.acls("app", "eve", None).await.unwrap().is_empty());
    assert!(pg.delete_acl("app", "owner", "a2").await.unwrap());
    assert!(!pg.delete_acl("app", "owner", "a2").await.unwrap());
    assert!(
        !pg.delete_acl("app", "eve", "a1").await.unwrap(),
        "not eve's"
    );
    let bob = pg.shared_objects("app", "bob", None).await.unwrap();
    let keys = keys_of(&bob);
    assert_eq!(keys, ["pub"]);
}

#[tokio::test]
async fn of_two_creators_of_one_acl_id_one_wins() {
    let Some(pg) = test_db::fresh("acl_race").await else {
        return;
    };
    let tasks = ["ann", "ben", "cid", "dan"].map(|owner| {
        let pg = pg.clone();
        tokio::spawn(async move {
            pg.put_acl("app", owner, &acl("same", &[owner], "r", false), true)
                .await
                .unwrap()
        })
    });
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap() == AclWrite::Created);
    }
    assert_eq!(created, 1);
    let members: i64 = pg
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM acl_members", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(members, 1, "the winner's members only");
}
