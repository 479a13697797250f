//! Attack review 4 (issue 17): an outsider's requests against what round 1
//! added — the query pushdown (hostile field names, values, sorts and
//! pages must answer exactly as the Rust evaluator does and never reach
//! another owner's objects), the sort-field limit, and PostgreSQL file
//! downloads held open by slow readers (they must not hold the pool).
//! Every test runs on the backend `CLOUDMINE_TEST_DB` picks.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::user::User;
use support::{App, json_of, message};

const CM: App = App("app", "attack-review-4-secret");

async fn emulator() -> Emulator {
    support::builder().app(CM.0, CM.1).start().await.unwrap()
}

/// `user/{path}` with these params (and `shared=true` for the Rust path).
async fn ask(
    emu: &Emulator,
    user: &User,
    path: &str,
    params: &[(&str, &str)],
    rust: bool,
) -> (StatusCode, Value) {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(params);
    if rust {
        query.append_pair("shared", "true");
    }
    user.call(
        emu,
        Method::GET,
        &format!("{path}?{}", query.finish()),
        None,
    )
    .await
}

fn keys(body: &Value) -> Vec<String> {
    body["success"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

async fn seeded(emu: &Emulator, email: &str, data: Value) -> User {
    let user = User::sign_up(emu, CM, email).await;
    let (s, b) = user.call(emu, Method::PUT, "text", Some(data)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    user
}

const HOSTILE: &[&str] = &[
    r#"[name = "x' OR 1=1 --"]"#,
    r#"[__id__ = "' OR '1'='1"]"#,
    r#"[__id__ > "" or name = "\" OR 1=1 --"]"#,
    r#"[a' = "x"]"#,
    r#"["a.b" = "x"]"#,
    r#"[$.a = "x"]"#,
    r#"[a[0] = "x"]"#,
    r#"[a.* = "x"]"#,
    r#"[ключ = "x"]"#,
    r#"[a.b = "x"]"#,
    r#"[a = 1e308]"#,
    r#"[a > -1e308]"#,
    r#"[a = -0]"#,
    r#"[a < 18446744073709551616]"#,
    r#"[a = 1e400]"#,
    r#"[name != "x' OR 1=1 --"]"#,
    r#"[name >= "ü"]"#,
];

fn data() -> Value {
    json!({
        "k1": {"name": "x' OR 1=1 --", "a": 1e308, "ключ": "x", "a.b": "x"},
        "k2": {"name": "\" OR 1=1 --", "a": {"b": "x"}, "$": {"a": "x"}},
        "k3": {"name": "über", "a": ["x"], "a'": "x"},
        "k4": {"name": "plain", "a": 0, "n": -0.0},
        "' OR '1'='1": {"name": "key with quotes", "a": -1e308},
    })
}

#[tokio::test]
async fn hostile_queries_answer_as_the_evaluator_and_stay_in_their_namespace() {
    let emu = emulator().await;
    let user = seeded(&emu, "attacker@example.com", data()).await;
    // Another owner's objects under the same keys: never in an answer.
    seeded(
        &emu,
        "victim@example.com",
        json!({"k1": {"secret": true, "name": "x' OR 1=1 --"}}),
    )
    .await;
    let mut found = 0;
    for q in HOSTILE {
        for sort in ["name", "a", "__id__:desc"] {
            let params = [("q", *q), ("sort", sort), ("count", "true")];
            let pushed = ask(&emu, &user, "search", &params, false).await;
            let rust = ask(&emu, &user, "search", &params, true).await;
            assert_eq!(pushed.0, rust.0, "{q}: {} / {}", pushed.1, rust.1);
            assert_eq!(keys(&pushed.1), keys(&rust.1), "order of {q} by {sort}");
            assert_eq!(pushed.1, rust.1, "{q} by {sort}");
            assert!(
                !pushed.1.to_string().contains("secret"),
                "{q}: {}",
                pushed.1
            );
            found += keys(&pushed.1).len();
        }
    }
    assert!(found > 20, "the comparison is not vacuous: {found}");
}

#[tokio::test]
async fn minus_zero_sorts_like_zero_in_sql_and_in_rust() {
    let emu = emulator().await;
    let user = seeded(
        &emu,
        "zero@example.com",
        json!({"z": {"n": -0.0}, "b": {"n": 0}, "a": {"n": 1}, "c": {"n": [-0.0]}}),
    )
    .await;
    for sort in ["n", "n:desc"] {
        let pushed = ask(&emu, &user, "text", &[("sort", sort)], false).await;
        let rust = ask(&emu, &user, "text", &[("sort", sort)], true).await;
        assert_eq!(keys(&pushed.1), keys(&rust.1), "{sort}");
    }
    let (_, body) = ask(&emu, &user, "text", &[("sort", "n")], false).await;
    assert_eq!(keys(&body), ["b", "z", "a", "c"]);
}

#[tokio::test]
async fn page_params_at_the_edges_are_answered_or_refused_clearly() {
    let emu = emulator().await;
    let user = seeded(&emu, "pages@example.com", data()).await;
    for (name, value) in [
        ("limit", "9223372036854775807"),
        ("skip", "18446744073709551615"),
        ("limit", "0"),
        ("limit", "-1"),
    ] {
        let params = [(name, value), ("sort", "name"), ("count", "true")];
        let pushed = ask(&emu, &user, "text", &params, false).await;
        let rust = ask(&emu, &user, "text", &params, true).await;
        assert_eq!(pushed.0, StatusCode::OK, "{name}={value}: {}", pushed.1);
        assert_eq!(pushed.1, rust.1, "{name}={value}");
    }
    for (name, value, says) in [
        ("limit", "-2", "invalid limit"),
        ("skip", "-1", "invalid skip"),
        ("limit", "1e3", "invalid limit"),
        ("skip", "99999999999999999999", "invalid skip"),
    ] {
        let (s, b) = ask(&emu, &user, "text", &[(name, value)], false).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}={value}: {b}");
        assert!(message(&b).contains(says), "{b}");
    }
}

#[tokio::test]
async fn too_many_sort_fields_are_refused_not_an_internal_error() {
    let emu = emulator().await;
    let user = seeded(&emu, "sorts@example.com", data()).await;
    let many: Vec<(&str, &str)> = std::iter::repeat_n(("sort", "name"), 1100).collect();
    for rust in [false, true] {
        let (s, b) = ask(&emu, &user, "text", &many, rust).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(message(&b).contains("more than 32 sort fields"), "{b}");
        let (s, b) = ask(
            &emu,
            &user,
            "search",
            &[&many[..33], &[("q", "[a = 0]")]].concat(),
            rust,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    }
    let (s, b) = ask(&emu, &user, "text", &many[..32], false).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(keys(&b).len(), 5);
}

/// Larger than every buffer between the store and a reader that stopped
/// (the pipe, hyper's, the loopback socket's), so its download stalls.
const BIG: usize = 24 * 1024 * 1024;

#[tokio::test]
async fn slow_downloads_do_not_hold_the_database_pool() {
    let emu = emulator().await;
    let body: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    let resp = CM
        .request(&emu, Method::PUT, "binary/big")
        .header("content-type", "application/x-test")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    // More stalled readers than the PostgreSQL pool has connections (16):
    // each has its headers and then reads nothing.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let client = support::http();
        let resp = CM
            .request_via(&client, &emu.base_url(), Method::GET, "binary/big")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        stalled.push((client, resp));
    }
    // Everyone else is still served: a write, a read and a whole download.
    let put = CM
        .call(
            &emu,
            Method::PUT,
            "text",
            Some(r#"{"still": {"up": true}}"#),
        )
        .await;
    assert!(put.0.is_success(), "{}", put.1);
    let (s, b) = CM.call(&emu, Method::GET, "text?keys=still", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"]["still"]["up"], true);
    let (_, first) = stalled.pop().unwrap();
    assert_eq!(first.bytes().await.unwrap().len(), BIG);
}

#[tokio::test]
async fn a_file_replaced_mid_download_is_never_mixed() {
    let emu = emulator().await;
    let resp = CM
        .request(&emu, Method::PUT, "binary/swap")
        .body(vec![b'o'; BIG])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let client = support::http();
    let reading = CM
        .request_via(&client, &emu.base_url(), Method::GET, "binary/swap")
        .send()
        .await
        .unwrap();
    assert_eq!(reading.status(), StatusCode::OK);
    let resp = CM
        .request(&emu, Method::PUT, "binary/swap")
        .body(vec![b'n'; BIG])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    // The old content, or a prefix of it cut short: never the new bytes.
    match reading.bytes().await {
        Ok(got) => {
            assert!(got.len() <= BIG);
            assert!(got.iter().all(|b| *b == b'o'), "mixed content");
        }
        Err(e) => assert!(!e.is_status(), "{e}"),
    }
    let (s, whole) = {
        let r = CM
            .request(&emu, Method::GET, "binary/swap")
            .send()
            .await
            .unwrap();
        (r.status(), r.bytes().await.unwrap())
    };
    assert_eq!(s, StatusCode::OK);
    assert!(whole.len() == BIG && whole.iter().all(|b| *b == b'n'));
}

#[tokio::test]
async fn a_public_url_with_line_breaks_or_credentials_is_refused_and_not_echoed() {
    for bad in [
        "https://cm.example.com/\r\nSet-Cookie: stolen=1",
        "https://cm.example.com/\tx",
        "javascript:alert(1)",
        "https://user:hunter2-secret@cm.example.com",
    ] {
        let e = support::builder()
            .app(CM.0, CM.1)
            .public_url(bad)
            .start()
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("public URL"), "{bad:?}: {e}");
        assert!(!e.contains("hunter2") && !e.contains("Set-Cookie"), "{e}");
    }
}

const OTHER: App = App("other", "attack-review-4-other-secret");
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// One instance on `db` (a SQLite file, or the test PostgreSQL schema).
async fn instance(db: &str, public: Option<&str>) -> Emulator {
    let mut builder = cloudmine_emulator::Emulator::builder()
        .app(CM.0, CM.1)
        .app(OTHER.0, OTHER.1)
        .database(db)
        .identity("Mary", "mary.gh@example.com");
    if let Some(url) = public {
        builder = builder.public_url(url);
    }
    builder.start().await.unwrap()
}

/// A database two instances (and a restart) can share.
fn shared_db(dir: &std::path::Path) -> String {
    let pg = support::postgres::requested()
        .then(support::postgres::fresh_url)
        .flatten();
    pg.unwrap_or_else(|| dir.join("shared.db").display().to_string())
}

async fn ticket(emu: &Emulator, user: &User) -> String {
    let (s, body) = json_of(
        CM.request(emu, Method::POST, "account/social/ticket")
            .header("x-cloudmine-sessiontoken", &user.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

/// The status of a social-login start with this ticket.
async fn start_with(app: App, emu: &Emulator, n: u32, ticket: &str) -> StatusCode {
    let c = support::challenge(n);
    let url = app.start_url(emu, &c, "github", Some(REDIRECT), &[("ticket", ticket)]);
    support::http().get(url).send().await.unwrap().status()
}

#[tokio::test]
async fn a_ticket_is_single_use_across_instances_apps_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = shared_db(dir.path());
    let a = instance(&db, None).await;
    let b = instance(&db, Some(&a.base_url())).await;
    let mary = User::seeded(&a, CM, "mary@example.com").await;

    // App A's ticket on app B, on either instance: refused.
    let foreign = ticket(&a, &mary).await;
    assert_eq!(
        start_with(OTHER, &b, 1, &foreign).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        start_with(OTHER, &a, 2, &foreign).await,
        StatusCode::UNAUTHORIZED
    );

    // Twelve redemptions at once, half on each instance: exactly one wins.
    let raced = ticket(&b, &mary).await;
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..12 {
        let emu = if i % 2 == 0 { &a } else { &b };
        let c = support::challenge(10 + i);
        let url = CM.start_url(emu, &c, "github", Some(REDIRECT), &[("ticket", &raced)]);
        starts.spawn(async move { support::http().get(url).send().await.unwrap().status() });
    }
    let statuses = starts.join_all().await;
    let won = statuses.iter().filter(|s| s.is_redirection()).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| s.is_redirection() || *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );

    // After both instances restart, the spent ticket stays spent.
    drop((a, b));
    let c = instance(&db, None).await;
    assert_eq!(
        start_with(CM, &c, 40, &raced).await,
        StatusCode::UNAUTHORIZED
    );
    let fresh = ticket(&c, &mary).await;
    assert!(start_with(CM, &c, 41, &fresh).await.is_redirection());
}
