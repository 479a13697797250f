//! The dashboard's smaller areas over real HTTP: the outbox page (only
//! with the test hooks), a user's ACLs on their page, the snippets page, a
//! user's own objects and files. `CLOUDMINE_TEST_DB=postgres` runs it on
//! PostgreSQL.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;

use support::dashboard::{PASSWORD, Visitor};
use support::user::User;
use support::{App, builder};

const CM: App = App("dash-app", "dash-key");

#[tokio::test]
async fn the_outbox_page_is_served_only_with_the_test_hooks() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v.get("/_dashboard/app/dash-app/outbox").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_secure("outbox 404");
    assert!(
        !v.get("/_dashboard/").await.text.contains("/outbox"),
        "no link to it"
    );

    let emu = builder()
        .app(CM.0, CM.1)
        .test_hooks(true)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    User::sign_up(&emu, CM, "reset@example.com").await;
    let (s, _) = CM
        .call(
            &emu,
            Method::POST,
            "account/password/reset",
            Some(r#"{"email": "reset@example.com"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v = Visitor::logged_in(&emu.base_url()).await;
    assert!(
        v.get("/_dashboard/")
            .await
            .text
            .contains("/_dashboard/app/dash-app/outbox")
    );
    let page = v.get("/_dashboard/app/dash-app/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_secure("outbox");
    assert!(page.text.contains("reset@example.com"), "{}", page.text);
    assert!(page.text.contains("Mails (1)"), "{}", page.text);
    // Logged out, it is not reachable.
    let anonymous = Visitor::new(&emu.base_url())
        .get("/_dashboard/app/dash-app/outbox")
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_users_page_shows_their_acls_escaped() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let owner = User::sign_up(&emu, CM, "owner@example.com").await;
    let friend = User::sign_up(&emu, CM, "friend@example.com").await;
    let acl = json!({"members": [friend.id], "permissions": ["r"], "note": "<script>x</script>"});
    let (s, body) = owner.call(&emu, Method::POST, "access", Some(acl)).await;
    assert!(s.is_success(), "{body}");
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v
        .get(&format!("/_dashboard/app/dash-app/users/{}", owner.id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(&friend.id), "{}", page.text);
    assert!(!page.text.contains("<script"), "{}", page.text);
    let none = v
        .get(&format!("/_dashboard/app/dash-app/users/{}", friend.id))
        .await;
    assert!(
        none.text
            .contains("ACLs of this user</h2><p class=\"muted\">None."),
        "{}",
        none.text
    );
}

#[tokio::test]
async fn the_snippets_page_lists_closures_and_js_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["greet.js", "bad name.js", "notes.txt"] {
        std::fs::write(dir.path().join(name), "exports.handler = () => 1;").unwrap();
    }
    let emu = builder()
        .app(CM.0, CM.1)
        .snippet("<b>closure</b>", |_| Ok(json!(1)))
        .snippets_dir(dir.path())
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v.get("/_dashboard/snippets").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_secure("snippets");
    assert!(
        page.text.contains("&lt;b&gt;closure&lt;/b&gt;"),
        "{}",
        page.text
    );
    assert!(page.text.contains("<code>greet</code>"), "{}", page.text);
    assert!(
        !page.text.contains("bad name") && !page.text.contains("notes"),
        "{}",
        page.text
    );
    // Without a directory or closures: said so.
    let bare = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let v = Visitor::logged_in(&bare.base_url()).await;
    let page = v.get("/_dashboard/snippets").await;
    assert!(page.text.contains("No snippets directory"), "{}", page.text);
}

/// The dashboard path of `user`'s own data area (`objects`, `files`).
fn user_area(user: &User, area: &str) -> String {
    format!("/_dashboard/app/dash-app/users/{}/{area}", user.id)
}

#[tokio::test]
async fn a_users_objects_are_listed_edited_and_deleted() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let ada = User::sign_up(&emu, CM, "ada@example.com").await;
    let bob = User::sign_up(&emu, CM, "bob@example.com").await;
    let (s, body) = ada
        .call(&emu, Method::PUT, "text", Some(json!({"note": {"n": 1}})))
        .await;
    assert!(s.is_success(), "{body}");
    let (s, body) = bob
        .call(&emu, Method::PUT, "text", Some(json!({"bobs": {"n": 2}})))
        .await;
    assert!(s.is_success(), "{body}");
    let v = Visitor::logged_in(&emu.base_url()).await;
    let profile = v
        .get(&format!("/_dashboard/app/dash-app/users/{}", ada.id))
        .await;
    assert!(profile.text.contains(&user_area(&ada, "objects")), "linked");

    let list = v.get(&user_area(&ada, "objects")).await;
    assert_eq!(list.status, StatusCode::OK);
    list.assert_secure("user objects");
    assert!(list.text.contains(">note<"), "{}", list.text);
    assert!(!list.text.contains("bobs"), "only ada's: {}", list.text);
    let found = v
        .get(&format!("{}?q=[n%20%3D%201]", user_area(&ada, "objects")))
        .await;
    assert!(found.text.contains(">note<"), "{}", found.text);

    let url = format!("{}/note", user_area(&ada, "objects"));
    let csrf = v.csrf().await;
    let saved = v
        .post(&url, &[("csrf", &csrf), ("json", r#"{"n": 42}"#)])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let (_, body) = ada.call(&emu, Method::GET, "text?keys=note", None).await;
    assert_eq!(body["success"]["note"]["n"], 42, "{body}");
    let bad = v.post(&url, &[("csrf", &csrf), ("json", "{n: 1")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("not valid JSON"), "{}", bad.text);
    let forged = v.post(&url, &[("json", "{}")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let confirm = v.get(&format!("{url}/delete")).await;
    assert!(
        confirm.text.contains("This cannot be undone"),
        "{}",
        confirm.text
    );
    let deleted = v.post(&format!("{url}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text);
    let (_, body) = ada.call(&emu, Method::GET, "text", None).await;
    assert!(body["success"].get("note").is_none(), "{body}");
    let (_, body) = bob.call(&emu, Method::GET, "text", None).await;
    assert_eq!(body["success"]["bobs"]["n"], 2, "bob's untouched: {body}");
    assert_eq!(v.get(&url).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unknown_user_has_no_data_pages() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let v = Visitor::logged_in(&emu.base_url()).await;
    for path in ["objects", "objects/k", "files", "files/k"] {
        let page = v
            .get(&format!("/_dashboard/app/dash-app/users/nobody/{path}"))
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.text.contains("There is no user"), "{}", page.text);
    }
    let csrf = v.csrf().await;
    let page = v
        .post(
            "/_dashboard/app/dash-app/users/nobody/objects/k",
            &[("csrf", &csrf), ("json", "{}")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let anonymous = Visitor::new(&emu.base_url())
        .get("/_dashboard/app/dash-app/users/nobody/objects")
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_users_files_are_listed_and_download_as_attachments() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let ada = User::sign_up(&emu, CM, "ada@example.com").await;
    let bob = User::sign_up(&emu, CM, "bob@example.com").await;
    for (user, key) in [(&ada, "notes"), (&bob, "bobfile")] {
        let r = CM
            .request(&emu, Method::PUT, &format!("user/binary/{key}"))
            .header("content-type", "text/html")
            .header("x-cloudmine-sessiontoken", &user.token)
            .body("<script>alert(1)</script>")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let v = Visitor::logged_in(&emu.base_url()).await;
    let list = v.get(&user_area(&ada, "files")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("notes"), "{}", list.text);
    assert!(list.text.contains("text/html"), "{}", list.text);
    assert!(!list.text.contains("bobfile"), "only ada's: {}", list.text);
    let file = v.get(&format!("{}/notes", user_area(&ada, "files"))).await;
    assert_eq!(file.status, StatusCode::OK);
    file.assert_secure("user file");
    assert_eq!(file.headers["content-type"], "application/octet-stream");
    let disposition = file.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(file.text, "<script>alert(1)</script>");
    let other = v
        .get(&format!("{}/bobfile", user_area(&ada, "files")))
        .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "bob's file is not ada's"
    );
}

#[tokio::test]
async fn a_script_in_a_users_object_is_escaped() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let ada = User::sign_up(&emu, CM, "ada@example.com").await;
    let evil = json!({"<script>k</script>": {"v": "<script>alert(1)</script>"}});
    let (s, body) = ada.call(&emu, Method::PUT, "text", Some(evil)).await;
    assert!(s.is_success(), "{body}");
    let v = Visitor::logged_in(&emu.base_url()).await;
    let list = v.get(&user_area(&ada, "objects")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text.contains("<script"), "{}", list.text);
    assert!(
        list.text.contains("&lt;script&gt;k&lt;/script&gt;"),
        "{}",
        list.text
    );
    let key = support::dashboard::key_segment("<script>k</script>");
    let one = v
        .get(&format!("{}/{key}", user_area(&ada, "objects")))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(!one.text.contains("<script"), "{}", one.text);
    assert!(one.text.contains("&lt;script&gt;alert(1)"), "{}", one.text);
}
