//! `ws.run(name)`: server snippets run directly, and a snippet's typed
//! `result` on object calls.

mod support;

use cloudmine::{CallOptions, Method};
use cloudmine_emulator::Emulator;
use serde::Deserialize;
use serde_json::{Value, json};
use support::{APP, EventLog, KEY, builder, client};

/// An emulator with an `echo` snippet (its input back) and a `fail` one.
async fn emulator() -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .snippet("echo", |input| {
            Ok(json!({"params": input.params, "user": input.user_id, "response": input.response}))
        })
        .snippet("fail", |_| Err("it broke".to_owned()))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn get_sends_owned_params_and_the_result_is_typed() {
    let emu = emulator().await;
    let ws = client(&emu);
    let name = String::from("color");
    let value = format!("{}-{}", "deep", "blue");
    let answer = ws
        .run("echo")
        .param(name, value)
        .param("n", "2")
        .get()
        .await
        .unwrap();
    assert_eq!(
        answer.result().unwrap()["params"],
        json!({"color": "deep-blue", "n": "2"})
    );
    #[derive(Deserialize)]
    struct Echo {
        params: std::collections::BTreeMap<String, String>,
    }
    let typed: Echo = answer.result_as().unwrap();
    assert_eq!(typed.params["color"], "deep-blue");
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, format!("/v1/app/{APP}/run/echo"));
    assert_eq!(req.query_values("color"), ["deep-blue"]);
    // A result that is not the asked-for type is a decode error.
    assert!(
        answer
            .result_as::<Vec<u8>>()
            .unwrap_err()
            .to_string()
            .contains("result")
    );
}

#[tokio::test]
async fn post_and_put_send_a_json_body_at_user_level() {
    let emu = emulator().await;
    let (ws, user_id) = support::user_client(&emu, "ada@example.com").await;
    for (method, call) in [
        ("POST", ws.run("echo").post(json!({"x": [1, 2]}))),
        ("PUT", ws.run("echo").put(json!({"x": [1, 2]}))),
    ] {
        let answer = call.await.unwrap();
        assert_eq!(answer.result().unwrap()["params"], json!({"x": [1, 2]}));
        assert_eq!(answer.result().unwrap()["user"], json!(user_id));
        let req = emu.requests().pop().unwrap();
        assert_eq!(req.method, method);
        assert_eq!(req.path, format!("/v1/app/{APP}/user/run/echo"));
        assert_eq!(req.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn result_only_and_dont_wait_are_sent() {
    let emu = emulator().await;
    let ws = client(&emu);
    let answer = ws.run("echo").result_only(true).get().await.unwrap();
    assert!(answer.result().is_some());
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.query_values("result_only"), ["true"]);
    // The emulator runs closures inline whatever `async` says (node
    // snippets go to the background): only the wire is checked here.
    ws.run("echo").dont_wait(true).get().await.unwrap();
    assert_eq!(
        emu.requests().pop().unwrap().query_values("async"),
        ["true"]
    );
}

#[tokio::test]
async fn a_run_never_sends_the_clients_snippet_or_params() {
    let emu = emulator().await;
    let ws = builder(&emu)
        .snippet("fail")
        .params(json!({"n": 1}))
        .build()
        .unwrap();
    let answer = ws.run("echo").get().await.unwrap();
    assert!(answer.result().is_some());
    let req = emu.requests().pop().unwrap();
    assert!(req.query_values("f").is_empty());
    assert!(req.query_values("params").is_empty());
}

#[tokio::test]
async fn events_fire_in_order() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = EventLog::default();
    log.attach(ws.run("echo").param("a", "b").get())
        .await
        .unwrap();
    assert_eq!(
        log.names(),
        // A run's answer is `{"result": …}` alone: no success data, so
        // (as in CloudMine's JS SDK) no `success`/`ok` events.
        ["result", "complete"],
        "{:?}",
        log.names()
    );
    assert_eq!(log.data("result").unwrap()["params"], json!({"a": "b"}));
}

#[tokio::test]
async fn a_bad_name_is_refused_before_sending() {
    let emu = emulator().await;
    let ws = client(&emu);
    for name in ["", "  ", "a/b", ".", ".."] {
        let e = ws.run(name).get().await.unwrap_err();
        assert!(e.is_invalid(), "{name:?}: {e}");
    }
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused() {
    let emu = emulator().await;
    let ws = client(&emu);
    let mut bad = std::collections::HashMap::new();
    bad.insert(vec![1u8], 1); // a map with non-string keys cannot be JSON
    let e = ws.run("echo").post(bad).await.unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn failing_and_unknown_snippets_are_errors() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws.run("fail").get().await.unwrap_err();
    assert!(e.status().is_some_and(|s| s >= 400), "{e}");
    let e = ws.run("nowhere").get().await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
}

#[tokio::test]
async fn api_query_takes_owned_names() {
    let emu = emulator().await;
    let ws = client(&emu);
    let name = String::from("k");
    let answer = ws
        .api(Method::GET, "run/echo")
        .query(name, "v")
        .await
        .unwrap();
    assert_eq!(answer.result().unwrap()["params"], json!({"k": "v"}));
}

#[tokio::test]
async fn an_object_calls_snippet_result_is_typed() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects()
        .set("car", json!({"make": "Fiat"}))
        .await
        .unwrap();
    let answer = ws
        .objects()
        .get(["car"])
        .options(CallOptions::new().snippet("echo").params(json!({"n": 1})))
        .await
        .unwrap();
    #[derive(Deserialize)]
    struct Echo {
        params: Value,
        response: Value,
    }
    let typed: Echo = answer.result_as().unwrap();
    assert_eq!(typed.params, json!({"n": 1}));
    assert_eq!(typed.response["success"]["car"]["make"], "Fiat");
    assert_eq!(answer.value("car").unwrap()["make"], "Fiat");
}
