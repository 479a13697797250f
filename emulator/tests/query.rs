//! The query language over HTTP: chained field groups (`field[...]`,
//! `[...].field[...]`), `or` groups, files search with the JS SDK's nested
//! form, and refusals that name what is not supported.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::{App, json_of, message};

const APP: &str = "app";
const KEY: &str = "query-test-secret";
const CM: App = App(APP, KEY);

async fn emulator() -> Emulator {
    support::builder().app(APP, KEY).start().await.unwrap()
}

async fn put(emu: &Emulator, body: Value) {
    let (s, b) = CM
        .call(emu, Method::PUT, "text", Some(&body.to_string()))
        .await;
    assert!(s.is_success(), "{s} {b}");
}

/// `GET search?q=` (with extra params): status and body.
async fn search(emu: &Emulator, q: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let path = with_query("search", q, extra);
    json_of(CM.request(emu, Method::GET, &path).send().await.unwrap()).await
}

/// `path?q=...&extra...`, percent-encoded.
fn with_query(path: &str, q: &str, extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", q).extend_pairs(extra);
    format!("{path}?{}", query.finish())
}

/// The keys a successful search found, sorted.
async fn found(emu: &Emulator, q: &str) -> Vec<String> {
    let (s, b) = search(emu, q, &[]).await;
    assert_eq!(s, StatusCode::OK, "{q}: {b}");
    let mut keys: Vec<String> = b["success"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn dealers(emu: &Emulator) {
    put(
        emu,
        json!({
            "joe": {"name": "Joe's auto", "kind": "dealer",
                    "location": {"blah": "blah", "city": {"name": "Philly"}},
                    "showroom": [{"make": "Toyota", "year": 2013}, {"make": "Honda", "year": 2012}]},
            "ann": {"name": "Ann's cars", "kind": "dealer",
                    "location": {"blah": "other", "city": {"name": "NYC"}},
                    "showroom": [{"make": "Ford", "year": 2013}]},
            "bob": {"name": "Bob", "kind": "person", "location": "a string, not an object"},
        }),
    )
    .await;
}

#[tokio::test]
async fn nested_groups_apply_to_the_field() {
    let emu = emulator().await;
    dealers(&emu).await;
    assert_eq!(found(&emu, r#"location[blah = "blah"]"#).await, ["joe"]);
    assert_eq!(
        found(&emu, r#"location[blah != "x"]"#).await,
        ["ann", "joe"]
    );
    assert_eq!(
        found(&emu, r#"[kind = "dealer"].location[blah = "other"]"#).await,
        ["ann"]
    );
    assert_eq!(
        found(&emu, r#"[kind = "person"].location[blah = "blah"]"#).await,
        Vec::<String>::new()
    );
    assert_eq!(found(&emu, r#"[].location[blah = "blah"]"#).await, ["joe"]);
    assert_eq!(found(&emu, r#"location.city[name = "NYC"]"#).await, ["ann"]);
    assert_eq!(
        found(&emu, r#"location[blah = "blah"].city[name = "Philly"]"#).await,
        ["joe"]
    );
    assert_eq!(
        found(&emu, r#"location[blah = "blah"].city[name = "NYC"]"#).await,
        Vec::<String>::new()
    );
    // An array field: any element matches the whole group.
    assert_eq!(
        found(&emu, r#"showroom[make = "Honda" or make = "Ford"]"#).await,
        ["ann", "joe"]
    );
    assert_eq!(
        found(&emu, r#"showroom[make = "Honda", year = 2012]"#).await,
        ["joe"]
    );
    assert_eq!(
        found(&emu, r#"showroom[make = "Honda", year = 2013]"#).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn or_groups_and_post_search() {
    let emu = emulator().await;
    dealers(&emu).await;
    assert_eq!(
        found(&emu, r#"[name = "Bob" or kind = "dealer"]"#).await,
        ["ann", "bob", "joe"]
    );
    assert_eq!(
        found(&emu, r#"[name = "Bob" or name = "nobody"]"#).await,
        ["bob"]
    );
    let body = json!({"q": r#"[kind = "dealer"].showroom[make = "Ford"]"#}).to_string();
    let (s, b) = CM.call(&emu, Method::POST, "search", Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["success"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ann"]
    );
}

#[tokio::test]
async fn delete_by_a_nested_query() {
    let emu = emulator().await;
    dealers(&emu).await;
    let (s, b) = json_of(
        CM.request(
            &emu,
            Method::DELETE,
            &with_query("data", r#"location[blah = "blah"]"#, &[]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], json!({"joe": "deleted"}));
    assert_eq!(found(&emu, "[]").await, ["ann", "bob"]);
}

#[tokio::test]
async fn files_search_with_the_js_sdk_forms() {
    let emu = emulator().await;
    let (s, b) = json_of(
        CM.request(&emu, Method::POST, "binary/notes?filename=notes.txt")
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.is_success(), "{s} {b}");
    dealers(&emu).await;
    // What `searchFiles` sends for null/"", [color = "red"] and the nested forms.
    assert_eq!(found(&emu, r#"[__type__ = "file"]"#).await, ["notes"]);
    assert_eq!(
        found(&emu, r#"[__type__ = "file", content_type = "text/plain"]"#).await,
        ["notes"]
    );
    assert_eq!(
        found(&emu, r#"[__type__ = "file", color = "red"]"#).await,
        Vec::<String>::new()
    );
    for q in [
        r#"[__type__ = "file"].location[blah = "blah"]"#,
        r#"[__type__ = "file", color = "red"].location[blah = "blah"]"#,
        r#"[__type__ = "file", color = "red", bad = "good"].location[blah = "blah"]"#,
    ] {
        assert_eq!(found(&emu, q).await, Vec::<String>::new(), "{q}");
    }
    // The same nested group without the file type finds the dealer.
    assert_eq!(found(&emu, r#"[].location[blah = "blah"]"#).await, ["joe"]);
}

#[tokio::test]
async fn refusals_name_the_unsupported_part() {
    let emu = emulator().await;
    dealers(&emu).await;
    let long = format!("[a = \"{}\"]", "x".repeat(17 * 1024));
    let chain = format!("[]{}", ".f[]".repeat(8));
    for (q, part) in [
        (
            r#"[a = 1, b = 2 or c = 3]"#,
            "`,` (and) and `or` in one group",
        ),
        (r#"[showroom[make = "x"]]"#, "nested `[` inside a group"),
        (r#"[a = 1][b = 2]"#, "more than one bracket group"),
        (r#"[a = 1] or [b = 2]"#, "`or` between bracket groups"),
        ("[a in (1, 2)]", "operator `in`"),
        ("[a = (1, 2)]", "list values"),
        ("[a = /x/]", "regular expression"),
        ("a = 1", "must start with `[` or `field[`"),
        ("[a = 1].b", "expected `[` after `.b`"),
        ("[a = 5mi]", "only allowed after near"),
        ("[a near (0, 0), b near (1, 1)]", "more than one `near`"),
        (long.as_str(), "longer than 16384 bytes"),
        (chain.as_str(), "more than 8 chained groups"),
    ] {
        let (s, b) = search(&emu, q, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
        let m = message(&b);
        assert!(m.starts_with("unsupported query: "), "{q}: {m}");
        assert!(m.contains(part), "{q}: {m} should name {part:?}");
        assert!(m.contains("supported: "), "{m}");
    }
    // A long query through POST is refused the same way.
    let body = json!({ "q": long }).to_string();
    let (s, b) = CM.call(&emu, Method::POST, "search", Some(&body)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&b).contains("longer than"), "{b}");
}

/// The same language in the users search (`account/search?p=`): dotted
/// paths, nested groups and `or` over profiles.
#[tokio::test]
async fn users_search_takes_nested_groups_and_or() {
    let emu = emulator().await;
    for (email, city, age) in [
        ("ada@example.com", "London", 36),
        ("grace@example.com", "New York", 85),
        ("alan@example.com", "London", 41),
    ] {
        let body = json!({
            "credentials": {"email": email, "password": "abcde"},
            "profile": {"address": {"city": city}, "age": age}
        });
        let (s, b) = CM
            .call(
                &emu,
                Method::POST,
                "account/create",
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let emails = |body: &Value| {
        let mut found: Vec<String> = body["success"]
            .as_object()
            .unwrap()
            .values()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect();
        found.sort();
        found
    };
    for (q, expected) in [
        (
            r#"[address.city = "London"]"#,
            vec!["ada@example.com", "alan@example.com"],
        ),
        (
            r#"address[city = "London"]"#,
            vec!["ada@example.com", "alan@example.com"],
        ),
        (
            r#"[age > 40].address[city = "London"]"#,
            vec!["alan@example.com"],
        ),
        (
            r#"[age < 40 or address.city = "New York"]"#,
            vec!["ada@example.com", "grace@example.com"],
        ),
        (r#"[address.city != "London"]"#, vec!["grace@example.com"]),
    ] {
        let path = with_query("account/search", "", &[("p", q)]);
        let (s, b) = json_of(CM.request(&emu, Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{q}: {b}");
        assert_eq!(emails(&b), expected, "{q}");
    }
}
