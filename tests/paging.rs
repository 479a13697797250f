//! Paging as a stream (`Pages`): objects, files and users read page by page
//! from the emulator over real HTTP.

mod support;

use cloudmine::{CallOptions, Error, FileInfo, Source, WebService, blocking};
use cloudmine_emulator::Emulator;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use support::{APP, KEY, client, emulator, user_client};

/// Stores `n` objects `k000`, `k001`… with `n` (their number) and a class.
async fn fill(ws: &WebService, n: usize) -> Vec<String> {
    let keys: Vec<String> = (0..n).map(|i| format!("k{i:03}")).collect();
    for chunk in keys.chunks(100) {
        let mut objects = Map::new();
        for key in chunk {
            let i: usize = key[1..].parse().unwrap();
            let class = if i.is_multiple_of(2) { "even" } else { "odd" };
            objects.insert(key.clone(), json!({ "n": i, "__class__": class }));
        }
        ws.objects().set_many(Value::Object(objects)).await.unwrap();
    }
    keys
}

/// The page requests (`text` or `search`) the emulator received.
fn page_requests(emu: &Emulator) -> Vec<cloudmine_emulator::RecordedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.query_value("limit").is_some())
        .collect()
}

async fn keys_of(
    stream: impl futures_util::Stream<Item = cloudmine::Result<(String, Value)>>,
) -> Vec<String> {
    stream.map_ok(|(k, _)| k).try_collect().await.unwrap()
}

#[tokio::test]
async fn no_objects_is_an_empty_stream_after_one_request() {
    let emu = emulator().await;
    let ws = client(&emu);
    let keys = keys_of(ws.objects().get_all_pages().into_stream()).await;
    assert!(keys.is_empty());
    assert_eq!(page_requests(&emu).len(), 1);
}

#[tokio::test]
async fn one_object() {
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 1).await;
    let items: Vec<(String, Value)> = ws
        .objects()
        .get_all_pages()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        items,
        vec![("k000".to_owned(), json!({"n": 0, "__class__": "even"}))]
    );
}

#[tokio::test]
async fn exactly_one_page_takes_one_request() {
    let emu = emulator().await;
    let ws = client(&emu);
    let expected = fill(&ws, 5).await;
    emu.clear_requests();
    let keys = keys_of(ws.objects().get_all_pages().page_size(5).into_stream()).await;
    assert_eq!(keys, expected);
    let pages = page_requests(&emu);
    assert_eq!(pages.len(), 1, "skip reached count: no second request");
    assert_eq!(pages[0].query_value("limit"), Some("5"));
    assert_eq!(pages[0].query_value("skip"), Some("0"));
    assert_eq!(pages[0].query_value("count"), Some("true"));
}

#[tokio::test]
async fn two_hundred_fifty_objects_in_pages_of_forty() {
    let emu = emulator().await;
    let ws = client(&emu);
    let expected = fill(&ws, 250).await;
    emu.clear_requests();
    let keys = keys_of(ws.objects().get_all_pages().page_size(40).into_stream()).await;
    assert_eq!(keys, expected, "every key exactly once, in order");
    let skips: Vec<String> = page_requests(&emu)
        .iter()
        .map(|r| r.query_value("skip").unwrap().to_owned())
        .collect();
    assert_eq!(skips, ["0", "40", "80", "120", "160", "200", "240"]);

    // With a sort, in its order.
    let sorted = keys_of(
        ws.objects()
            .get_all_pages()
            .page_size(40)
            .options(CallOptions::new().sort(["n:desc"]))
            .into_stream(),
    )
    .await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(sorted, reversed);
}

#[tokio::test]
async fn search_pages() {
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 25).await;
    emu.clear_requests();
    let keys = keys_of(
        ws.objects()
            .search_pages(r#"[__class__ = "odd"]"#)
            .page_size(4)
            .into_stream(),
    )
    .await;
    let odd: Vec<String> = (0..25)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("k{i:03}"))
        .collect();
    assert_eq!(keys, odd);
    let pages = page_requests(&emu);
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|r| r.path.ends_with("/search")));
}

#[tokio::test]
async fn files_list_and_search_pages() {
    let emu = emulator().await;
    let ws = client(&emu);
    for i in 0..5 {
        let ct = if i < 2 { "image/png" } else { "text/plain" };
        ws.files()
            .upload(Source::bytes(vec![b'x'; i + 1]))
            .key(format!("f{i}"))
            .content_type(ct)
            .await
            .unwrap();
    }
    fill(&ws, 3).await; // objects are not files
    let files: Vec<(String, FileInfo)> = ws
        .files()
        .list_pages()
        .page_size(2)
        .into_stream_as::<FileInfo>()
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["f0", "f1", "f2", "f3", "f4"]);
    assert_eq!(files[4].1.size, Some(5));
    let pngs = keys_of(
        ws.files()
            .search_pages(r#"content_type = "image/png""#)
            .page_size(1)
            .into_stream(),
    )
    .await;
    assert_eq!(pngs, ["f0", "f1"]);
}

#[tokio::test]
async fn users_list_and_search_pages() {
    let emu = emulator().await;
    let ws = client(&emu);
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            emu.create_user(APP, &format!("u{i}@example.com"))
                .await
                .unwrap(),
        );
    }
    ids.sort();
    let listed = keys_of(ws.users().list_pages().page_size(3).into_stream()).await;
    assert_eq!(listed, ids);
    let found: Vec<(String, Value)> = ws
        .users()
        .search_pages(r#"[email = "u3@example.com"]"#)
        .page_size(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1["email"], "u3@example.com");
}

/// Collects a stream to its end, keeping errors as items.
async fn all_items<T>(
    stream: impl futures_util::Stream<Item = cloudmine::Result<T>>,
) -> Vec<cloudmine::Result<T>> {
    stream.collect().await
}

#[tokio::test]
async fn invalid_page_sizes_are_refused_before_sending() {
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 3).await;
    emu.clear_requests();
    for size in [0, cloudmine::MAX_PAGE_SIZE + 1] {
        let items = all_items(ws.objects().get_all_pages().page_size(size).into_stream()).await;
        assert_eq!(items.len(), 1, "one error, then the end");
        let e = items.into_iter().next().unwrap().unwrap_err();
        assert!(e.is_invalid(), "{e}");
        assert!(e.to_string().contains("page_size"), "{e}");
    }
    let items = all_items(ws.objects().get_all_pages().max_pages(0).into_stream()).await;
    assert!(items[0].as_ref().unwrap_err().is_invalid());
    assert_eq!(items.len(), 1);
    // An invalid query, as the plain call refuses it.
    let items = all_items(ws.objects().search_pages(" ").into_stream()).await;
    assert!(items[0].as_ref().unwrap_err().is_invalid());
    assert_eq!(items.len(), 1);
    assert!(page_requests(&emu).is_empty(), "nothing was sent");
    // The largest page size is accepted.
    let keys = keys_of(
        ws.objects()
            .get_all_pages()
            .page_size(cloudmine::MAX_PAGE_SIZE)
            .into_stream(),
    )
    .await;
    assert_eq!(keys.len(), 3);
}

#[tokio::test]
async fn the_page_cap_ends_the_stream_with_an_error() {
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 10).await;
    emu.clear_requests();
    let items = all_items(
        ws.objects()
            .get_all_pages()
            .page_size(3)
            .max_pages(2)
            .into_stream(),
    )
    .await;
    assert_eq!(items.len(), 7, "six objects, then the error");
    let e = items[6].as_ref().unwrap_err();
    assert!(e.is_invalid() && e.to_string().contains("max_pages"), "{e}");
    assert_eq!(page_requests(&emu).len(), 2);
}

#[tokio::test]
async fn a_session_ended_between_pages_fails_the_next_page() {
    let emu = emulator().await;
    let (ws, _) = user_client(&emu, "pager@example.com").await;
    fill(&ws, 10).await;
    // Application objects that must never show up in the user's stream.
    let app = client(&emu);
    app.objects().set("app-object", json!({})).await.unwrap();
    emu.clear_requests();
    let mut stream = ws.objects().get_all_pages().page_size(4).into_stream();
    for _ in 0..4 {
        stream.try_next().await.unwrap().unwrap();
    }
    ws.users().logout().await.unwrap();
    let e = stream.next().await.unwrap().unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert!(stream.next().await.is_none(), "an error is the last item");
    let pages = page_requests(&emu);
    assert_eq!(pages.len(), 2);
    assert!(
        pages.iter().all(|r| r.path.contains("/user/")),
        "the level stayed the user's"
    );
}

#[tokio::test]
async fn the_emulator_stopping_between_pages_ends_with_one_error() {
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 10).await;
    let mut stream = ws.objects().get_all_pages().page_size(4).into_stream();
    for _ in 0..4 {
        stream.try_next().await.unwrap().unwrap();
    }
    emu.shutdown().await.unwrap();
    let e = stream.next().await.unwrap().unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn nothing_is_sent_before_the_first_poll_and_one_page_at_a_time() {
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 10).await;
    emu.clear_requests();
    let mut stream = ws.objects().get_all_pages().page_size(4).into_stream();
    assert!(emu.requests().is_empty(), "lazy: no request before polling");
    for _ in 0..4 {
        stream.try_next().await.unwrap().unwrap();
    }
    assert_eq!(
        page_requests(&emu).len(),
        1,
        "the first page is still being read"
    );
    stream.try_next().await.unwrap().unwrap();
    assert_eq!(page_requests(&emu).len(), 2);
}

#[tokio::test]
async fn app_and_user_levels_stay_apart() {
    let emu = emulator().await;
    let app = client(&emu);
    app.objects().set("app-only", json!({})).await.unwrap();
    let (user, _) = user_client(&emu, "level@example.com").await;
    user.objects().set("user-only", json!({})).await.unwrap();
    assert_eq!(
        keys_of(user.objects().get_all_pages().into_stream()).await,
        ["user-only"]
    );
    assert_eq!(
        keys_of(app.objects().get_all_pages().into_stream()).await,
        ["app-only"]
    );
    let forced = user
        .objects()
        .get_all_pages()
        .options(CallOptions::new().applevel(cloudmine::AppLevel::App))
        .into_stream();
    assert_eq!(keys_of(forced).await, ["app-only"]);
}

#[tokio::test]
async fn an_object_added_before_the_cursor_is_not_repeated() {
    let emu = emulator().await;
    let ws = client(&emu);
    let expected = fill(&ws, 10).await;
    let mut stream = ws.objects().get_all_pages().page_size(4).into_stream();
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(stream.try_next().await.unwrap().unwrap().0);
    }
    // Sorts first: shifts every later object one place back.
    ws.objects().set("a-new", json!({})).await.unwrap();
    while let Some((key, _)) = stream.try_next().await.unwrap() {
        keys.push(key);
    }
    assert_eq!(
        keys, expected,
        "k003 came back on the next page and was skipped"
    );
}

#[tokio::test]
async fn a_value_that_does_not_decode_ends_the_stream() {
    #[derive(Debug, serde::Deserialize)]
    struct Numbered {
        #[allow(dead_code)]
        n: u64,
    }
    let emu = emulator().await;
    let ws = client(&emu);
    fill(&ws, 2).await;
    ws.objects().set("k001", json!({"n": "one"})).await.unwrap();
    let items = all_items(ws.objects().get_all_pages().into_stream_as::<Numbered>()).await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let e = items[1].as_ref().unwrap_err();
    assert!(e.is_decode() && e.to_string().contains("k001"), "{e}");
}

/// An emulator on a runtime of its own, for the blocking client.
fn blocking_setup() -> (tokio::runtime::Runtime, Emulator, blocking::WebService) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::builder().app(APP, KEY).start())
        .unwrap();
    let ws = blocking::WebService::new(
        WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .api_root(emu.base_url()),
    )
    .unwrap();
    (rt, emu, ws)
}

#[test]
fn blocking_iterator() {
    let (_rt, emu, ws) = blocking_setup();
    let mut objects = Map::new();
    for i in 0..9 {
        objects.insert(format!("b{i}"), json!({ "n": i }));
    }
    ws.objects()
        .set_many(Value::Object(objects))
        .wait()
        .unwrap();
    emu.clear_requests();
    let mut iter = ws.objects().get_all_pages().page_size(4).iter();
    assert!(emu.requests().is_empty(), "lazy");
    let keys: Vec<String> = iter.by_ref().map(|item| item.unwrap().0).collect();
    assert_eq!(keys, (0..9).map(|i| format!("b{i}")).collect::<Vec<_>>());
    assert!(iter.next().is_none());
    assert_eq!(page_requests(&emu).len(), 3);

    let typed: Vec<(String, serde_json::Map<String, Value>)> = ws
        .objects()
        .search_pages("[n >= 7]")
        .iter_as()
        .collect::<cloudmine::Result<_>>()
        .unwrap();
    assert_eq!(typed.len(), 2);

    let mut bad = ws.objects().get_all_pages().page_size(0).iter();
    assert!(bad.next().unwrap().unwrap_err().is_invalid());
    assert!(bad.next().is_none());
}

#[tokio::test]
async fn the_blocking_iterator_inside_a_runtime_is_an_error() {
    let emu = emulator().await;
    let ws = client(&emu);
    let mut iter = ws.objects().get_all_pages().iter();
    let e = iter.next().unwrap().unwrap_err();
    assert!(matches!(e, Error::BlockingInRuntime), "{e}");
    assert!(iter.next().is_none());
    assert!(page_requests(&emu).is_empty());
}
