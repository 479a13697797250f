//! Tests of `search.rs`: the rendering, and against a real PostgreSQL
//! (skipped without one) that the indexes serve it.

use super::super::test_db;
use super::*;
use crate::query::parse;

fn where_of(q: &str) -> (String, usize) {
    let mut args: Vec<Arg> = vec![Box::new("a".to_owned()), Box::new("o".to_owned())];
    let filter = Plan::of(&parse(q).unwrap())
        .filter
        .render::<Dialect>(&mut args);
    (filter, args.len())
}

fn search(q: &str) -> ObjectSearch {
    ObjectSearch {
        query: Some(parse(q).unwrap()),
        sort: Vec::new(),
        skip: 0,
        limit: None,
        count: true,
    }
}

#[test]
fn values_are_bound_never_inlined() {
    let (filter, n) =
        where_of(r#"[name = "x' OR 1=1 --", __id__ < "k", n > 3, flag = true, s < "q'"]"#);
    assert!(!filter.contains("OR 1=1"), "{filter}");
    assert!(!filter.contains("q'"), "{filter}");
    assert_eq!(n, 7, "{filter}");
    // The class equality names the expression index's form too.
    let (filter, n) = where_of(r#"[__class__ = "car"]"#);
    assert!(filter.contains("doc->>'__class__' = $4"), "{filter}");
    assert!(filter.contains("doc @> $3"), "{filter}");
    assert_eq!(n, 4);
}

#[test]
fn a_nul_in_a_string_leaves_the_search_to_rust() {
    let plan = pg_plan(&search("[a = \"x\0y\"]"));
    assert_eq!(
        plan,
        Plan {
            filter: Filter::True,
            exact: false
        }
    );
    let plan = pg_plan(&search("[b = 1 or a != \"\0\"]"));
    assert_eq!(plan.filter, Filter::True);
    assert!(pg_plan(&search(r#"[a = "x"]"#)).exact);
}

#[test]
fn paths_nest_and_sorts_end_with_the_key() {
    let parts = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(json(&parts), "doc->'a'->'b'");
    assert_eq!(text(&parts), "doc->'a'->>'b'");
    assert_eq!(
        containing(&parts, Value::Null),
        serde_json::json!({"a": {"b": null}})
    );
    assert_eq!(order(&[]), "key COLLATE \"C\" ASC");
    let sorted = order(&[(Target::Key, true), (Target::Field(parts), false)]);
    assert!(sorted.starts_with("key COLLATE \"C\" DESC, "), "{sorted}");
}

/// The plan PostgreSQL picks for a search's `WHERE`, sequential scans off
/// (the test tables are too small for the planner to want an index).
async fn explain(pg: &Pg, q: &str) -> String {
    let mut client = pg.client().await.unwrap();
    let client = begin_search(&mut client).await.unwrap();
    client
        .batch_execute("SET LOCAL enable_seqscan = off")
        .await
        .unwrap();
    let mut args: Vec<Arg> = vec![Box::new("app".to_owned()), Box::new("o".to_owned())];
    let filter = Plan::of(&parse(q).unwrap())
        .filter
        .render::<Dialect>(&mut args);
    let sql = format!(
        "EXPLAIN SELECT key, value FROM objects WHERE app_id = $1 AND owner = $2 AND ({filter})"
    );
    let rows = client.query(&sql, &refs(&args)).await.unwrap();
    let lines: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    client.rollback().await.unwrap();
    lines.join("\n")
}

#[tokio::test]
async fn class_searches_use_the_class_index() {
    let Some(pg) = test_db::fresh("search_indexes").await else {
        return;
    };
    let class = explain(&pg, r#"[__class__ = "car"]"#).await;
    assert!(class.contains("objects_by_class"), "{class}");
    // On an empty table the planner prefers the primary key; what matters
    // is that the containment reaches the plan in the GIN-usable form.
    let nested = explain(&pg, r#"[spec.color = "red", done = true]"#).await;
    assert!(nested.contains("doc @> "), "{nested}");
}

#[tokio::test]
async fn a_search_plans_for_its_values_in_a_bounded_read_only_snapshot() {
    let Some(pg) = test_db::fresh("search_settings").await else {
        return;
    };
    let mut client = pg.client().await.unwrap();
    // As behind a pooler that dropped the connection's own limit.
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .unwrap();
    let tx = begin_search(&mut client).await.unwrap();
    assert_eq!(
        test_db::show(&tx, "plan_cache_mode").await,
        "force_custom_plan"
    );
    assert_eq!(
        test_db::show(&tx, "statement_timeout").await,
        super::super::db::STATEMENT_TIMEOUT
    );
    assert_eq!(test_db::show(&tx, "transaction_read_only").await, "on");
    assert_eq!(
        test_db::show(&tx, "transaction_isolation").await,
        "repeatable read"
    );
    tx.rollback().await.unwrap();
    // The settings end with the search: the connection goes back to the
    // pool planning generically.
    assert_eq!(
        test_db::show(&client, "plan_cache_mode").await,
        "force_generic_plan"
    );
    client
        .batch_execute("RESET statement_timeout")
        .await
        .unwrap();
}
