//! Queries built with `Query` against the emulator: strings with the query
//! language's special characters found exactly, ranges and `or`, JSON-built
//! queries, users and ACL search; and `Query::from_json` compared byte for
//! byte with the official JS SDK's own `convertQueryInput` run under node.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use cloudmine::{Acl, Credentials, Literal, Permission, Query, WebService};
use serde_json::{Value, json};
use support::*;

/// Values with each character the query language treats specially, and
/// near-misses of one another (a newline and a backslash followed by `n`).
const TRICKY: &[&str] = &[
    "say \"hi\"",
    "back\\slash",
    "\\\"",
    "close]bracket",
    "]",
    "a, b",
    "x = y",
    "unicode é 漢 😀",
    "line\nbreak",
    "line\\nbreak",
    "tab\there",
    "cr\rreturn",
    "or",
    "",
];

async fn keys_found(ws: &WebService, query: Query) -> Vec<String> {
    let mut keys: Vec<String> = ws
        .objects()
        .search(query)
        .await
        .unwrap()
        .keys()
        .iter()
        .map(|k| k.to_string())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn each_tricky_string_is_found_exactly() {
    let emu = emulator().await;
    let ws = client(&emu);
    for (i, value) in TRICKY.iter().enumerate() {
        let body = json!({"__class__": "esc", "v": value});
        ws.objects().set(format!("k{i}"), body).await.unwrap();
    }
    for (i, value) in TRICKY.iter().enumerate() {
        let query = Query::class("esc")
            .and(Query::field("v").unwrap().eq(*value))
            .unwrap();
        assert_eq!(keys_found(&ws, query).await, [format!("k{i}")], "{value:?}");
    }
    let none = Query::field("v").unwrap().eq("line\\\nbreak");
    assert!(keys_found(&ws, none).await.is_empty());
}

async fn cars(ws: &WebService) {
    for (key, make, price) in [
        ("a", "Ford", 15000),
        ("b", "Ford", 25000),
        ("c", "BMW", 40000),
        ("d", "Kia", 12000),
    ] {
        let body = json!({"__class__": "car", "make": make, "price": price, "spec": {"seats": price / 5000}});
        ws.objects().set(key, body).await.unwrap();
    }
    ws.objects()
        .set("z", json!({"__class__": "bike", "make": "Ford"}))
        .await
        .unwrap();
}

fn field(path: &str) -> cloudmine::Field {
    Query::field(path).unwrap()
}

#[tokio::test]
async fn ranges_or_in_and_paths_return_the_right_sets() {
    let emu = emulator().await;
    let ws = client(&emu);
    cars(&ws).await;
    let cheap_fords = field("price")
        .lt(20000)
        .and(field("make").eq("Ford"))
        .unwrap();
    assert_eq!(keys_found(&ws, cheap_fords).await, ["a"]);
    let range = field("price")
        .ge(12000)
        .and(field("price").le(25000))
        .unwrap();
    assert_eq!(keys_found(&ws, range).await, ["a", "b", "d"]);
    let band = field("price").gt(Literal::float(12000.5).unwrap());
    let band = band.and(field("price").ne(40000)).unwrap();
    assert_eq!(keys_found(&ws, band).await, ["a", "b"]);
    let either = field("make")
        .eq("BMW")
        .or(field("price").lt(13000))
        .unwrap();
    assert_eq!(keys_found(&ws, either).await, ["c", "d"]);
    let makes = field("make").is_in(["Kia", "BMW"]).unwrap();
    assert_eq!(keys_found(&ws, makes).await, ["c", "d"]);
    assert_eq!(keys_found(&ws, field("spec.seats").ge(5)).await, ["b", "c"]);
    assert_eq!(keys_found(&ws, Query::class("bike")).await, ["z"]);
}

#[tokio::test]
async fn nested_groups_match_objects_in_arrays() {
    let emu = emulator().await;
    let ws = client(&emu);
    let lot = |makes: &[&str]| json!({"showroom": makes.iter().map(|m| json!({"make": m})).collect::<Vec<_>>()});
    ws.objects()
        .set("joe", lot(&["Honda", "Kia"]))
        .await
        .unwrap();
    ws.objects().set("ann", lot(&["Toyota"])).await.unwrap();
    ws.objects().set("bob", lot(&["BMW"])).await.unwrap();
    let makes = field("make").is_in(["Honda", "Toyota"]).unwrap();
    let q = field("showroom").has(makes).unwrap();
    assert_eq!(keys_found(&ws, q).await, ["ann", "joe"]);
}

#[tokio::test]
async fn json_queries_find_what_builder_queries_find() {
    let emu = emulator().await;
    let ws = client(&emu);
    cars(&ws).await;
    let from_json = Query::from_json(&json!({"__class__": "car", "make": "Ford"})).unwrap();
    assert_eq!(
        from_json.to_string(),
        r#"[__class__ = "car", make = "Ford"]"#
    );
    let built = Query::class("car").and(field("make").eq("Ford")).unwrap();
    assert_eq!(
        keys_found(&ws, from_json).await,
        keys_found(&ws, built).await
    );
    assert_eq!(
        keys_found(&ws, Query::from_json(&json!({"price": 40000.0})).unwrap()).await,
        ["c"]
    );
    // An object value is written as JSON, as the JS SDK writes it; the
    // query language has no object values, and the server refuses it.
    let nested = Query::from_json(&json!({"spec": {"seats": 3}})).unwrap();
    let e = ws.objects().search(nested).await.unwrap_err();
    assert!(e.is_bad_request(), "{e}");
}

#[tokio::test]
async fn users_and_acl_search_take_a_query() {
    let emu = emulator().await;
    let ws = client(&emu);
    for (email, name) in [("ann@example.com", "Ann \"A\""), ("bo@example.com", "Bo")] {
        let who = Credentials::email(email, "a long enough password");
        ws.users().create(who, json!({"name": name})).await.unwrap();
    }
    let found = ws
        .users()
        .search(field("name").eq("Ann \"A\""))
        .await
        .unwrap();
    assert_eq!(found.keys().len(), 1);
    let value = found.value(found.keys()[0]).unwrap();
    assert_eq!(value["email"], "ann@example.com");

    let (alice, _) = user_client(&emu, "alice@example.com").await;
    for label in ["work, home", "work"] {
        let mut acl = Acl::new(["bob-id"], Permission::Read.into());
        acl.extra.insert("label".into(), json!(label));
        alice.acls().save(&acl).await.unwrap();
    }
    let found = alice
        .acls()
        .search(field("label").eq("work, home"))
        .await
        .unwrap();
    assert_eq!(found.acls.len(), 1);
    let acl = found.acls.values().next().unwrap();
    assert_eq!(acl.extra["label"], "work, home");
}

#[test]
fn the_blocking_client_takes_a_query() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(emulator());
    let ws = cloudmine::blocking::WebService::new(builder(&emu)).unwrap();
    ws.objects().set("k", json!({"n": 1})).wait().unwrap();
    ws.objects().set("l", json!({"n": 2})).wait().unwrap();
    let found = ws.objects().search(field("n").gt(1)).wait().unwrap();
    assert_eq!(found.keys(), ["l"]);
}

/// Inputs for the JS comparison: JSON texts, as `JSON.parse` and serde_json
/// read them (key order, array-index keys, number forms, escapes).
const JS_INPUTS: &[&str] = &[
    r#"{"a": 1}"#,
    r#"{"make": "Ford", "year": 2012, "price": 19999.5, "used": false, "owner": null}"#,
    r#"{"s": "quote\" back\\ ]bracket, comma = eq or"}"#,
    r#"{"u": "é 漢 😀 \u2028 \u2029 \ud83d\ude00"}"#,
    r#"{"c": "line\nbreak\r\ttab\b\f\u0001\u001f\u007f/"}"#,
    r#"{"n": [1e21, 1e20, 1e-7, 1.5e-7, 0.000001, 1.0, -0, 0.1, 123456789012, -2.5e300, 5e-324, 1.7976931348623157e308]}"#,
    r#"{"nested": {"b": 1, "10": 2, "2": 3, "01": 4, "4294967295": 5, "x": {"y": [true, false, null, {}]}}}"#,
    r#"{"empty": {}, "arr": [], "deep": [[["x"]]]}"#,
    r#"{}"#,
    r#"{"a.b": "dotted", "__class__": "car", "x-y": -42, "big": 9007199254740991}"#,
];

/// A function of the JS SDK, from `  function NAME(` to its closing `  }`.
fn js_function(source: &str, name: &str) -> String {
    let start = source
        .find(&format!("\n  function {name}("))
        .unwrap_or_else(|| panic!("cloudmine.js has no function {name}"));
    let end = start + source[start..].find("\n  }\n").expect("its end") + 5;
    source[start..end].to_owned()
}

/// The child's output once it exits, killed if it has not within `limit`
/// (its output is a few hundred bytes, well under a pipe's buffer).
fn within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("node did not finish within {limit:?}");
        }
        sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn from_json_matches_the_js_sdk_byte_for_byte() {
    let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js-sdk/cloudmine.js");
    let source = std::fs::read_to_string(sdk).unwrap();
    let inputs = serde_json::to_string(&JS_INPUTS).unwrap();
    let script = format!(
        "{}{}\nconst out = {inputs}.map(t => convertQueryInput(JSON.parse(t)));\n\
         process.stdout.write(JSON.stringify(out));\n",
        js_function(&source, "isObject"),
        js_function(&source, "convertQueryInput"),
    );
    let mut node = Command::new("node");
    node.arg("-e")
        .arg(&script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = match node.spawn() {
        Ok(child) => child,
        Err(e) => {
            support::skip::skip_or_fail(&format!("node is not available ({e})"));
            return;
        }
    };
    let ran = within(child, Duration::from_secs(60));
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let expected: Vec<String> = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(expected.len(), JS_INPUTS.len());
    for (input, js) in JS_INPUTS.iter().zip(expected) {
        let value: Value = serde_json::from_str(input).unwrap();
        let rust = Query::from_json(&value).unwrap().to_string();
        assert_eq!(rust, js, "{input}");
    }
}
