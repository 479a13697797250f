//! A small JavaScript CloudMine app — a to-do list shared between two users —
//! ported to Rust end to end: objects, a server snippet, and sharing with a
//! second user through an ACL.
//!
//! ```text
//! cargo run --example shared_todos        # needs `node` for the snippet
//! ```
//!
//! It starts a `cloudmine-emulator` in this process serving
//! `examples/snippets/todo_summary.js`. Each step shows the JS SDK 0.10.3
//! call it replaces.

use cloudmine::{Acl, CallOptions, Credentials, EventEmitter, Permission, Permissions, WebService};
use cloudmine_emulator::Emulator;
use serde::Deserialize;
use serde_json::json;

const APP: &str = "todos";
const KEY: &str = "todos-key";

/// What the `todo_summary` snippet answers.
#[derive(Debug, Deserialize)]
struct Summary {
    open: u32,
    done: u32,
    titles: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let snippets = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/snippets");
    let emulator = Emulator::builder()
        .app(APP, KEY)
        .snippets_dir(snippets)
        .start()
        .await?;
    let root = emulator.base_url();
    println!("emulator listening on {root}");

    // var ws = new cloudmine.WebService({appid, apikey, apiroot});
    // ws.createUser({email, password}); ws.login({email, password});
    let alice = signed_in(&root, "alice@example.com").await?;
    let bob = signed_in(&root, "bob@example.com").await?;
    let bob_id = bob.options().user_id().ok_or("bob has no id")?.to_owned();

    // ws.updateACL({members: [bobId], permissions: ['r', 'u']})
    let grant = Permissions::from(Permission::Read).with(Permission::Update);
    let acl = alice
        .acls()
        .save(&Acl::new([bob_id.as_str()], grant))
        .await?;
    let acl_id = acl.id.clone().ok_or("the server gave the ACL no id")?;
    println!("alice shares with bob through ACL {acl_id}");

    // ws.set(key, {__class__: 'todo', title, done: false, __access__: [aclId]})
    for (key, title) in [
        ("milk", "buy milk"),
        ("bike", "fix the bike"),
        ("tax", "file taxes"),
    ] {
        let todo = json!({"__class__": "todo", "title": title, "done": false});
        alice
            .objects()
            .set_with_access(key, todo, [&acl_id])
            .await?
            .require_all()?;
    }
    // ws.update('milk', {done: true})
    alice
        .objects()
        .update("milk", json!({"done": true}))
        .await?;

    // ws.search('[__class__ = "todo"]', {snippet: 'todo_summary', resultsonly: true})
    let summary = summarize(&alice).await?;
    println!(
        "alice's list: {} open, {} done: {:?}",
        summary.open, summary.done, summary.titles
    );

    // Bob: ws.get(null, {shared_only: true}) then ws.update('bike', {done: true})
    let shared = bob
        .objects()
        .get_all()
        .options(CallOptions::new().shared_only(true))
        .await?;
    println!("bob sees alice's {:?}", shared.keys());
    bob.objects()
        .update("bike", json!({"done": true}))
        .await?
        .require_all()?;
    let summary = summarize(&alice).await?;
    println!(
        "after bob's change: {} open, {} done",
        summary.open, summary.done
    );
    assert_eq!(
        (summary.open, summary.done),
        (1, 2),
        "bob's update reached alice's list"
    );

    // ws.deleteACL(aclId): bob loses access at once.
    alice.acls().delete(&acl_id).await?;
    let after = bob
        .objects()
        .get_all()
        .options(CallOptions::new().shared_only(true))
        .await?;
    println!(
        "after revoking, bob sees {} of alice's items",
        after.keys().len()
    );
    assert!(after.keys().is_empty(), "revoking the ACL ends the sharing");

    // ws.logout()
    alice.users().logout().await?;
    bob.users().logout().await?;
    drop(emulator);
    println!("done");
    Ok(())
}

/// A client for `email`, signed up and logged in.
async fn signed_in(root: &str, email: &str) -> cloudmine::Result<WebService> {
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(root)
        .app_name("shared_todos")
        .build()?;
    let credentials = || Credentials::email(email, "correct horse battery");
    ws.users()
        .create(credentials(), json!({"name": email}))
        .await?;
    let login = ws.users().login(credentials()).await?;
    println!("{email} logged in as {}", login.profile().id());
    Ok(ws)
}

/// Alice's to-dos summarised by the `todo_summary` snippet on the server.
async fn summarize(ws: &WebService) -> cloudmine::Result<Summary> {
    ws.objects()
        .search(r#"[__class__ = "todo"]"#)
        .options(CallOptions::new().snippet("todo_summary").resultsonly(true))
        .on(
            cloudmine::Event::Error,
            |errors: &serde_json::Value, _: &cloudmine::CallInfo| {
                eprintln!("the summary failed: {errors}")
            },
        )
        .await?
        .result_as()
}
