//! Searches narrowed in SQL answer exactly what the Rust evaluator answers.
//!
//! A user-level search or listing without `shared` goes through the store's
//! search (SQLite: a prefilter, paging and sort in SQL where exact); with
//! `shared=true` and nothing shared it is the same namespace loaded and
//! evaluated in Rust. Every query form, sort and page is asked both ways
//! over HTTP and the answers compared, before and after a file joins the
//! objects; deletes by query remove exactly the Rust matches. With
//! `CLOUDMINE_TEST_DB=postgres` the same runs on PostgreSQL (jsonb), and
//! a second data set covers what jsonb treats apart: numbers beside their
//! text, big integers, quoted and non-ASCII keys, deep paths, strings in
//! byte order and a NUL in a query.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::user::User;
use support::{App, json_of, message};

const APP: &str = "app";
const KEY: &str = "pushdown-test-secret";
const CM: App = App(APP, KEY);

/// An emulator on a database file (so reads use the read pool), or on a
/// fresh PostgreSQL schema with `CLOUDMINE_TEST_DB=postgres`.
async fn emulator(dir: &std::path::Path) -> Emulator {
    let builder = if support::postgres::requested() {
        support::builder()
    } else {
        Emulator::builder().database(dir.join("db.sqlite"))
    };
    builder
        .app(APP, KEY)
        .files_dir(dir.join("files"))
        .start()
        .await
        .unwrap()
}

/// Objects covering the value kinds queries treat differently.
fn data() -> Value {
    json!({
        "k01": {"__class__": "car", "v": 10, "spec": {"color": "red"}, "tags": ["a", "b"]},
        "k02": {"__class__": "car", "v": "10", "spec": {"color": "blue"}, "flag": true},
        "k03": {"__class__": "truck", "v": 9.5, "flag": false, "gone": null},
        "k04": {"__class__": "Car", "v": "9", "spec": "not an object"},
        "k05": {"__class__": 5, "v": true, "big": 9007199254740993_i64},
        "k06": {"v": false, "big": 18446744073709551615_u64, "tags": "a"},
        "k07": {"v": null, "big": -9223372036854775808_i64, "spec": {"color": ["red"]}},
        "k08": {"v": [1, 2], "gone": 0, "__id__": "k01"},
        "k09": {"v": {"x": 1}, "loc": {"__type__": "geopoint", "longitude": 1.0, "latitude": 2.0}},
        "k10": {"__class__": "car", "v": -3, "spec": {"color": "red", "size": 2}},
        "k11": {"v": "", "a-b": "x", "__class__": ""},
        "k12": {"v": 0, "big": 9007199254740992_i64, "spec": {"size": 1.5}},
        "k13": "a plain string",
        "k14": 42,
        "k15": [1, 2, 3],
        "k16": {"__class__": "car", "v": "abc", "spec": {"color": "red"}},
    })
}

const QUERIES: &[&str] = &[
    r#"[__class__ = "car"]"#,
    r#"[__class__ != "car"]"#,
    r#"[__class__ = "car" or __class__ = "truck"]"#,
    r#"[__class__ > "C"]"#,
    r#"[__class__ = 5]"#,
    r#"[__id__ = "k03"]"#,
    r#"[__id__ >= "k10"]"#,
    r#"[__id__ != "k03"]"#,
    r#"[__id__ = 5]"#,
    r#"[__id__ < 5]"#,
    r#"[v = "10"]"#,
    r#"[v = 10]"#,
    r#"[v > 9]"#,
    r#"[v <= "9"]"#,
    r#"[v < 10.0]"#,
    r#"[v != 10]"#,
    r#"[v = true]"#,
    r#"[v != false]"#,
    r#"[v = null]"#,
    r#"[v != null]"#,
    r#"[v < true]"#,
    r#"[v >= null]"#,
    r#"[spec.color = "red"]"#,
    r#"[spec.color != "red"]"#,
    r#"[spec.size > 1]"#,
    r#"[big = 9007199254740992]"#,
    r#"[big > 18446744073709551614]"#,
    r#"[big = 18446744073709551615]"#,
    r#"[big < -9223372036854775807]"#,
    r#"[gone = null]"#,
    r#"[gone != null]"#,
    r#"[missing != "x"]"#,
    r#"[tags = "a"]"#,
    r#"[flag = true or v = 0]"#,
    r#"[v = "10", __class__ = "car"]"#,
    r#"[]"#,
    r#"[__class__ = "car"].spec[color = "red"]"#,
    r#"spec[color = "red"]"#,
    r#"[a-b = "x"]"#,
    r#"[__type__ = "file"]"#,
    r#"[loc near (1, 2), 500km]"#,
];

const PAGES: &[&[(&str, &str)]] = &[
    &[],
    &[("sort", "v")],
    &[("sort", "v:desc"), ("limit", "3"), ("skip", "1")],
    &[("sort", "v"), ("limit", "1")],
    &[("sort", "v:desc"), ("limit", "0")],
    &[
        ("sort", "__class__"),
        ("sort", "__id__:desc"),
        ("limit", "2"),
    ],
    &[("sort", "spec.color"), ("limit", "-1")],
    &[("sort", "tags:desc"), ("sort", "big")],
    &[("sort", "a-b"), ("limit", "4")],
    &[("limit", "0")],
    &[("skip", "100")],
    &[("limit", "1"), ("skip", "2")],
];

/// `path?extra...&count=true` (and `shared=true` for the Rust path).
fn url(path: &str, q: Option<&str>, extra: &[(&str, &str)], rust: bool) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = q {
        query.append_pair("q", q);
    }
    query.extend_pairs(extra).append_pair("count", "true");
    if rust {
        query.append_pair("shared", "true");
    }
    format!("{path}?{}", query.finish())
}

thread_local! {
    /// One client per test (each test has its own runtime and thread), so
    /// that hundreds of requests share connections.
    static CLIENT: reqwest::Client = support::http();
}

/// The keys in answer order, and the whole body.
async fn ask(emu: &Emulator, user: &User, path: &str) -> (Vec<String>, Value) {
    let client = CLIENT.with(reqwest::Client::clone);
    let req = CM
        .request_via(
            &client,
            &emu.base_url(),
            Method::GET,
            &format!("user/{path}"),
        )
        .header("x-cloudmine-sessiontoken", &user.token);
    let (s, b) = json_of(req.send().await.unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{path}: {b}");
    let keys = b["success"].as_object().unwrap().keys().cloned().collect();
    (keys, b)
}

/// Every query and page, searched both ways, and every page listed both ways.
async fn compare_all(emu: &Emulator, user: &User) -> usize {
    compare(emu, user, QUERIES, PAGES).await
}

/// `queries` by `pages` searched both ways, and `pages` listed both ways;
/// how many searches found something.
async fn compare(
    emu: &Emulator,
    user: &User,
    queries: &[&str],
    pages: &[&[(&str, &str)]],
) -> usize {
    let mut nonempty = 0;
    for q in queries {
        for extra in pages {
            let pushed = ask(emu, user, &url("search", Some(q), extra, false)).await;
            let rust = ask(emu, user, &url("search", Some(q), extra, true)).await;
            assert_eq!(pushed.0, rust.0, "order of {q} {extra:?}");
            assert_eq!(pushed.1, rust.1, "answer to {q} {extra:?}");
            nonempty += usize::from(!pushed.0.is_empty());
        }
    }
    for extra in pages {
        let pushed = ask(emu, user, &url("text", None, extra, false)).await;
        let rust = ask(emu, user, &url("text", None, extra, true)).await;
        assert_eq!(pushed.0, rust.0, "order of text {extra:?}");
        assert_eq!(pushed.1, rust.1, "text {extra:?}");
    }
    nonempty
}

async fn seeded_user(emu: &Emulator, email: &str) -> User {
    let user = User::sign_up(emu, CM, email).await;
    let (s, b) = user.call(emu, Method::PUT, "text", Some(data())).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    user
}

#[tokio::test]
async fn every_query_form_sort_and_page_answers_as_the_evaluator_does() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(dir.path()).await;
    let user = seeded_user(&emu, "pushdown@example.com").await;
    let nonempty = compare_all(&emu, &user).await;
    // The comparison is not vacuous: most searches find something.
    assert!(nonempty > QUERIES.len() * 5, "{nonempty}");

    // A file among the objects: the same answers (files are searched too).
    let resp = CM
        .request(&emu, Method::POST, "user/binary/k00?filename=a.txt")
        .header("x-cloudmine-sessiontoken", &user.token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let (s, b) = json_of(resp).await;
    assert!(s.is_success(), "{s} {b}");
    let (keys, _) = ask(
        &emu,
        &user,
        &url("search", Some(r#"[__type__ = "file"]"#), &[], false),
    )
    .await;
    assert_eq!(keys, ["k00"]);
    compare_all(&emu, &user).await;
}

/// Values jsonb keeps apart from their look-alikes, keys and strings whose
/// byte order differs from a locale's, and paths through arrays.
fn odd_data() -> Value {
    json!({
        "n1": {"n": 10, "s": "10", "deep": {"a": {"b": {"c": "x"}}}, "é": "accent"},
        "n2": {"n": "10", "s": 10, "deep": {"a": {"b": {"c": 1}}}},
        "n3": {"n": 10.0, "deep": {"a": [{"b": {"c": "x"}}]}},
        "n4": {"n": 1e300, "s": "É"},
        "n5": {"n": -1e-300, "s": "z", "deep": {"a": {"b": null}}},
        "n6": {"n": 9007199254740993_u64, "s": "a'b"},
        "n7": {"n": 9007199254740992_u64, "s": "a\"b"},
        "n8": {"n": 18446744073709551615_u64, "s": "ключ"},
        "n9": {"n": -9223372036854775808_i64, "s": "😀"},
        "it's": {"n": 1, "s": "quote key"},
        "ключ": {"n": 2, "s": "unicode key"},
        "a\"b": {"n": 3, "s": "Z", "deep": {"a": {"b": {"c": "x", "d": true}}}},
        "é": {"n": true, "s": ""},
        "E": {"n": null, "s": "e", "deep": {"a": "x"}},
        "x.y": {"deep": {"a": {"b": {"c": "y"}}}, "n": false},
    })
}

const ODD_QUERIES: &[&str] = &[
    "[n = 10]",
    r#"[n = "10"]"#,
    r#"[n > "1"]"#,
    "[n >= 10]",
    "[n < 10]",
    "[n != 10]",
    "[n = 9007199254740993]",
    "[n = 9007199254740992]",
    "[n > 9007199254740992]",
    "[n = 18446744073709551615]",
    "[n < -9223372036854775807]",
    "[n > 100000000000000000000]",
    "[n = true]",
    "[n != true]",
    "[n = null]",
    "[n < 0.5]",
    r#"[s > "Z"]"#,
    r#"[s < "é"]"#,
    r#"[s >= "É"]"#,
    r#"[s = "a'b"]"#,
    r#"[s = "a\"b"]"#,
    r#"[s = "ключ"]"#,
    r#"[s != "😀"]"#,
    r#"[s = 10]"#,
    r#"[deep.a.b.c = "x"]"#,
    r#"[deep.a.b.c != "x"]"#,
    "[deep.a.b.c = 1]",
    "[deep.a.b = null]",
    "[deep.a.b != null]",
    "[deep.a.b.d = true]",
    r#"[deep.a = "x"]"#,
    r#"[__id__ > "z"]"#,
    r#"[__id__ = "it's"]"#,
    r#"[__id__ < "é"]"#,
    r#"[__id__ = "a\"b"]"#,
    "[s = \"a\0b\"]",
    "[s > \"a\0\"]",
    "[__id__ != \"n\0\"]",
    r#"[s = "a'b" or n = true]"#,
];

const ODD_PAGES: &[&[(&str, &str)]] = &[
    &[],
    &[("sort", "n")],
    &[("sort", "n:desc"), ("limit", "3"), ("skip", "1")],
    &[("sort", "s"), ("limit", "4")],
    &[("sort", "s:desc")],
    &[("sort", "__id__:desc"), ("limit", "5")],
    &[("sort", "deep.a.b.c"), ("sort", "s")],
    &[("limit", "2"), ("skip", "1")],
];

#[tokio::test]
async fn jsonb_look_alikes_big_numbers_and_odd_keys_answer_as_the_evaluator_does() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(dir.path()).await;
    let user = User::sign_up(&emu, CM, "odd@example.com").await;
    let (s, b) = user.call(&emu, Method::PUT, "text", Some(odd_data())).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let nonempty = compare(&emu, &user, ODD_QUERIES, ODD_PAGES).await;
    assert!(nonempty > ODD_QUERIES.len() * 4, "{nonempty}");
    // Spot checks that the comparison sees what jsonb could confuse.
    let q = Some(r#"[n = "10"]"#);
    let (keys, _) = ask(&emu, &user, &url("search", q, &[], false)).await;
    assert_eq!(keys, ["n2"]);
    let q = Some("[n = 9007199254740993]");
    let (keys, _) = ask(&emu, &user, &url("search", q, &[("sort", "__id__")], false)).await;
    assert_eq!(keys, ["n6", "n7"], "numbers compare as f64, as in Rust");
    let (keys, _) = ask(
        &emu,
        &user,
        &url("search", Some("[s = \"a\0b\"]"), &[], false),
    )
    .await;
    assert!(keys.is_empty(), "{keys:?}");
    let q = Some(r#"[s > "Z"]"#);
    let (keys, _) = ask(&emu, &user, &url("search", q, &[("sort", "s")], false)).await;
    let bytewise = ["n7", "n6", "E", "it's", "ключ", "n5", "n4", "n8", "n9"];
    assert_eq!(keys, bytewise, "strings sort in byte order");
}

#[tokio::test]
async fn counts_skip_and_limit_are_pushed_down_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(dir.path()).await;
    let user = seeded_user(&emu, "paging@example.com").await;
    let q = r#"[__class__ = "car"]"#;
    let extra = [("sort", "__id__:desc"), ("limit", "2"), ("skip", "1")];
    let (keys, body) = ask(&emu, &user, &url("search", Some(q), &extra, false)).await;
    assert_eq!(keys, ["k10", "k02"]);
    assert_eq!(body["count"], 4);
    let (keys, body) = ask(&emu, &user, &url("text", None, &[("limit", "1")], false)).await;
    assert_eq!(keys, ["k01"]);
    assert_eq!(body["count"], 16);
}

#[tokio::test]
async fn delete_by_query_removes_exactly_the_evaluator_matches() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(dir.path()).await;
    for (i, q) in [
        r#"[v > 9]"#,
        r#"[__class__ = "car"]"#,
        r#"[spec.color != "red"]"#,
        r#"[__id__ < "k05", v != null]"#,
    ]
    .iter()
    .enumerate()
    {
        let user = seeded_user(&emu, &format!("delete{i}@example.com")).await;
        let all = ("limit", "-1");
        let (mut expected, _) = ask(&emu, &user, &url("search", Some(q), &[all], true)).await;
        let (everything, _) = ask(&emu, &user, &url("text", None, &[all], false)).await;
        let path = url("data", Some(q), &[], false);
        let (s, b) = user.call(&emu, Method::DELETE, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{q}: {b}");
        let mut deleted: Vec<String> = b["success"].as_object().unwrap().keys().cloned().collect();
        deleted.sort();
        expected.sort();
        assert!(!expected.is_empty(), "{q}");
        assert_eq!(deleted, expected, "{q}");
        let (left, _) = ask(&emu, &user, &url("text", None, &[all], false)).await;
        let kept: Vec<String> = everything
            .into_iter()
            .filter(|k| !expected.contains(k))
            .collect();
        assert_eq!(left, kept, "{q}");
    }
}

#[tokio::test]
async fn shared_objects_join_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(dir.path()).await;
    let alice = User::sign_up(&emu, CM, "alice@example.com").await;
    let bob = seeded_user(&emu, "bob@example.com").await;
    let body = json!({"members": [bob.id], "permissions": ["r"], "__type__": "acl"});
    let (s, b) = alice.call(&emu, Method::PUT, "access", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let acl = b.as_object().unwrap().keys().next().unwrap().clone();
    let shared = json!({"a1": {"__class__": "car", "__access__": [acl]}});
    let (s, b) = alice.call(&emu, Method::PUT, "text", Some(shared)).await;
    assert!(s.is_success(), "{b}");
    let q = Some(r#"[__class__ = "car"]"#);
    let (own, _) = ask(&emu, &bob, &url("search", q, &[("sort", "__id__")], false)).await;
    assert_eq!(own, ["k01", "k02", "k10", "k16"]);
    let (with, _) = ask(&emu, &bob, &url("search", q, &[("sort", "__id__")], true)).await;
    assert_eq!(with, ["a1", "k01", "k02", "k10", "k16"]);
}

#[tokio::test]
async fn a_wrong_shared_flag_is_refused_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(dir.path()).await;
    let user = seeded_user(&emu, "flags@example.com").await;
    for path in ["search?q=[v%20=%201]&shared=maybe", "text?shared_only=2"] {
        let (s, b) = user.call(&emu, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert!(message(&b).contains("is not true or false"), "{b}");
    }
    // At app level too (there the flags change nothing, but are checked).
    let (s, b) = CM
        .call(&emu, Method::GET, "search?q=[v%20=%201]&shared=yes", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}
