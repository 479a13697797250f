//! The dashboard's smaller areas over real HTTP: the outbox page (only
//! with the test hooks), a user's ACLs on their page, the snippets page. `CLOUDMINE_TEST_DB=postgres` runs
//! it on PostgreSQL.

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
