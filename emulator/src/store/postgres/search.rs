//! Searches in SQL on PostgreSQL: a query's [`Plan`] rendered as a `WHERE`
//! clause over the generated `doc jsonb` column. String, boolean and null
//! equality are `doc @> $n` containment (the GIN index `objects_doc`; a
//! `__class__` equality also names `doc->>'__class__'`, the expression
//! index `objects_by_class`), ranges are `jsonb_typeof` checks with the
//! extracted value compared (strings `COLLATE "C"`, byte order as in Rust;
//! numbers as `float8`). Every value is bound as a parameter; only plain
//! path parts (`[A-Za-z0-9_]+`, see [`crate::query::plan::plain`]) are
//! inlined.
//!
//! The rule is SQLite's (`store/sqlite/search.rs`): when the plan is exact,
//! the namespace has no files and every sort field has an SQL order, the
//! database sorts and pages; otherwise the rows the prefilter selects are
//! read through a portal in batches and re-checked by the Rust evaluator
//! in the shared [`crate::store::search::Collector`]. One extra rule here:
//! the evaluator orders arrays and objects by their JSON text, which jsonb
//! does not keep, so a sort field holding one in a match is sorted in Rust.

use deadpool_postgres::Transaction;
use serde_json::{Map, Value};
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::db::Pg;
use super::files;
use crate::query::Op;
use crate::query::plan::{Atom, Filter, Plan, SqlDialect, Target, op_sql, sort_targets};
use crate::store::values::parse_stored;
use crate::store::{ObjectSearch, SearchPage, StoreResult};

/// A bound parameter.
type Arg = Box<dyn ToSql + Sync + Send>;

/// A search is planned for its values (the pool's connections use generic
/// plans, see `db.rs`: an equality on a rare class and on a common one
/// want different plans) and bounded in time by itself too (the
/// connection's own limit, `db.rs`, is lost behind a pooler that drops
/// startup options).
const SEARCH_SETTINGS: &str =
    "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL statement_timeout = '30s'";

/// Rows fetched from the portal at a time (memory is bounded by this and
/// the page, not by the namespace).
const BATCH: i32 = 500;

impl Pg {
    /// One page of a namespace's matches (see [`crate::store::Store::search_objects`]),
    /// read in one read-only snapshot.
    pub(super) async fn search(
        &self,
        app_id: &str,
        owner: &str,
        search: &ObjectSearch,
    ) -> StoreResult<SearchPage> {
        let plan = pg_plan(search);
        let mut client = self.client().await?;
        let tx = begin_search(&mut client).await?;
        let mut args: Vec<Arg> = vec![Box::new(app_id.to_owned()), Box::new(owner.to_owned())];
        let filter = plan.filter.render::<Dialect>(&mut args);
        let sort = plan.exact.then(|| sort_targets(&search.sort)).flatten();
        let sorted = match sort {
            Some(sort) if !has_files(&tx, app_id, owner).await? => {
                exact_page(&tx, &filter, &sort, &args, search).await?
            }
            _ => None,
        };
        let page = match sorted {
            Some(page) => page,
            None => {
                let mut collector = search.collector();
                let sql = format!(
                    "SELECT key, value FROM objects WHERE app_id = $1 AND owner = $2 AND ({filter})"
                );
                let stmt = tx.prepare(&sql).await?;
                let portal = tx.bind(&stmt, &refs(&args)).await?;
                loop {
                    let rows = tx.query_portal(&portal, BATCH).await?;
                    for row in &rows {
                        collector.offer(row.get(0), parse_stored(row.get::<_, &str>(1)));
                    }
                    if rows.len() < BATCH as usize {
                        break;
                    }
                }
                for file in files::all(&tx, app_id, owner).await? {
                    let value = file.to_value();
                    collector.offer(file.key, value);
                }
                collector.finish()
            }
        };
        tx.commit().await?;
        Ok(page)
    }
}

/// The plan for PostgreSQL: a string with a NUL (which PostgreSQL text
/// cannot hold, and so no stored string has) is left to Rust.
fn pg_plan(search: &ObjectSearch) -> Plan {
    let plan = search
        .query
        .as_ref()
        .map_or_else(Plan::everything, Plan::of);
    if has_nul(&plan.filter) {
        return Plan {
            filter: Filter::True,
            exact: false,
        };
    }
    plan
}

fn has_nul(filter: &Filter) -> bool {
    match filter {
        Filter::Atom(Atom::Text(_, _, s)) => s.contains('\0'),
        Filter::Not(inner) => has_nul(inner),
        Filter::And(all) | Filter::Or(all) => all.iter().any(has_nul),
        _ => false,
    }
}

fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect()
}

/// Starts a search's snapshot: repeatable read, read-only, with
/// [`SEARCH_SETTINGS`].
pub(super) async fn begin_search(
    client: &mut deadpool_postgres::Object,
) -> StoreResult<Transaction<'_>> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    tx.batch_execute(SEARCH_SETTINGS).await?;
    Ok(tx)
}

async fn has_files(tx: &Transaction<'_>, app_id: &str, owner: &str) -> StoreResult<bool> {
    let stmt = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM files WHERE app_id = $1 AND owner = $2)")
        .await?;
    let row = tx.query_one(&stmt, &[&app_id, &owner]).await?;
    Ok(row.get(0))
}

/// The condition "this row holds an array or an object at a sort field"
/// (which the evaluator orders by JSON text, and jsonb cannot); `None` when
/// only the key sorts.
fn odd_condition(sort: &[(Target, bool)]) -> Option<String> {
    let odd: Vec<String> = sort
        .iter()
        .filter_map(|(target, _)| match target {
            Target::Field(parts) => Some(format!(
                "jsonb_typeof({}) IN ('array', 'object')",
                json(parts)
            )),
            Target::Key => None,
        })
        .collect();
    (!odd.is_empty()).then(|| format!("COALESCE(({}), FALSE)", odd.join(" OR ")))
}

/// The page and count when SQL selects exactly the matches; `None` when a
/// match holds an array or an object at a sort field (sorted in Rust then).
/// For a first page of a limited size one statement does both: rows
/// holding such a value sort first, so the first row says whether there is
/// any (one pass over the matches instead of two); otherwise a check that
/// stops at the first such row comes first.
async fn exact_page(
    tx: &Transaction<'_>,
    filter: &str,
    sort: &[(Target, bool)],
    args: &[Arg],
    search: &ObjectSearch,
) -> StoreResult<Option<SearchPage>> {
    let from = format!("FROM objects WHERE app_id = $1 AND owner = $2 AND ({filter})");
    let odd = odd_condition(sort);
    let folded = search.skip == 0 && search.limit.is_some();
    if let Some(odd) = odd.as_deref().filter(|_| !folded) {
        let sql = format!("SELECT EXISTS (SELECT 1 {from} AND {odd})");
        if tx.query_one(&sql, &refs(args)).await?.get::<_, bool>(0) {
            return Ok(None);
        }
    }
    let limit = search.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let skip = i64::try_from(search.skip).unwrap_or(i64::MAX);
    let (l, s) = (args.len() + 1, args.len() + 2);
    let mut params = refs(args);
    params.push(&limit);
    params.push(&skip);
    let (first, flag) = match odd.as_deref().filter(|_| folded) {
        Some(odd) => (format!("{odd} DESC, "), format!(", {odd}")),
        None => (String::new(), String::new()),
    };
    let sql = format!(
        "SELECT key, value{flag} {from} ORDER BY {first}{} LIMIT ${l}::int8 OFFSET ${s}::int8",
        order(sort)
    );
    let rows = tx.query(&sql, &params).await?;
    if !flag.is_empty() && rows.first().is_some_and(|r| r.get::<_, bool>(2)) {
        return Ok(None);
    }
    let items = rows
        .iter()
        .map(|r| (r.get(0), parse_stored(r.get::<_, &str>(1))))
        .collect();
    let total = if search.count {
        let row = tx
            .query_one(&format!("SELECT count(*) {from}"), &refs(args))
            .await?;
        usize::try_from(row.get::<_, i64>(0)).unwrap_or(0)
    } else {
        0
    };
    Ok(Some(SearchPage { items, total }))
}

/// The field as jsonb: `doc->'a'->'b'` (parts are plain identifiers).
fn json(parts: &[String]) -> String {
    let mut sql = String::from("doc");
    for part in parts {
        sql += &format!("->'{part}'");
    }
    sql
}

/// The field as text: `doc->'a'->>'b'`.
fn text(parts: &[String]) -> String {
    match parts.split_last() {
        Some((last, init)) => format!("{}->>'{last}'", json(init)),
        None => "doc#>>'{}'".into(),
    }
}

/// The field's value as the nested object `doc @>` looks for.
fn containing(parts: &[String], value: Value) -> Value {
    parts.iter().rev().fold(value, |inner, part| {
        let mut outer = Map::new();
        outer.insert(part.clone(), inner);
        Value::Object(outer)
    })
}

fn bind(args: &mut Vec<Arg>, value: Arg) -> String {
    args.push(value);
    format!("${}", args.len())
}

/// PostgreSQL's way of writing a [`Filter`].
struct Dialect;

impl SqlDialect for Dialect {
    type Arg = Arg;
    const TRUE: &'static str = "TRUE";
    const FALSE: &'static str = "FALSE";
    fn not(inner: &str) -> String {
        format!("NOT COALESCE(({inner}), FALSE)")
    }
    fn atom(atom: &Atom, args: &mut Vec<Arg>) -> String {
        render_atom(atom, args)
    }
}

fn render_atom(atom: &Atom, args: &mut Vec<Arg>) -> String {
    match atom {
        Atom::Text(Target::Key, op, s) => {
            let v = bind(args, Box::new(s.clone()));
            format!("key COLLATE \"C\" {} {v}", op_sql(*op))
        }
        Atom::Text(Target::Field(parts), Op::Eq, s) => {
            let doc = bind(args, Box::new(containing(parts, Value::from(s.as_str()))));
            if parts.len() == 1 && parts[0] == "__class__" {
                let v = bind(args, Box::new(s.clone()));
                format!("doc->>'__class__' = {v} AND doc @> {doc}")
            } else {
                format!("doc @> {doc}")
            }
        }
        Atom::Text(Target::Field(parts), op, s) => {
            let v = bind(args, Box::new(s.clone()));
            format!(
                "jsonb_typeof({}) = 'string' AND ({}) COLLATE \"C\" {} {v}",
                json(parts),
                text(parts),
                op_sql(*op)
            )
        }
        Atom::Bool(Target::Field(parts), b) => {
            let doc = bind(args, Box::new(containing(parts, Value::Bool(*b))));
            format!("doc @> {doc}")
        }
        Atom::Null(Target::Field(parts)) => {
            let doc = bind(args, Box::new(containing(parts, Value::Null)));
            format!("doc @> {doc}")
        }
        Atom::Number(Target::Field(parts), lo, hi) => {
            let p = json(parts);
            let n = format!("CASE WHEN jsonb_typeof({p}) = 'number' THEN ({p})::float8 END");
            let mut sql = format!("jsonb_typeof({p}) = 'number'");
            if let Some(lo) = lo {
                let v = bind(args, Box::new(*lo));
                sql += &format!(" AND {n} >= {v}::float8");
            }
            if let Some(hi) = hi {
                let v = bind(args, Box::new(*hi));
                sql += &format!(" AND {n} <= {v}::float8");
            }
            sql
        }
        // A key is a string: never a boolean, null or number.
        Atom::Bool(Target::Key, _) | Atom::Null(Target::Key) | Atom::Number(Target::Key, ..) => {
            "FALSE".into()
        }
    }
}

/// The `ORDER BY` of the sort fields then the key, in the evaluator's
/// order (missing/null < booleans < numbers < strings; arrays and objects
/// are kept out by [`exact_page`]).
fn order(sort: &[(Target, bool)]) -> String {
    let mut terms = Vec::new();
    for (target, desc) in sort {
        let dir = if *desc { "DESC" } else { "ASC" };
        let parts = match target {
            Target::Key => {
                terms.push(format!("key COLLATE \"C\" {dir}"));
                continue;
            }
            Target::Field(parts) => parts,
        };
        let (p, t) = (json(parts), text(parts));
        terms.push(format!(
            "CASE jsonb_typeof({p}) WHEN 'boolean' THEN 1 WHEN 'number' THEN 2 \
             WHEN 'string' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 5 ELSE 0 END {dir}"
        ));
        terms.push(format!(
            "CASE jsonb_typeof({p}) WHEN 'number' THEN ({p})::float8 \
             WHEN 'boolean' THEN CASE WHEN ({p})::boolean THEN 1 ELSE 0 END END {dir}"
        ));
        terms.push(format!(
            "(CASE WHEN jsonb_typeof({p}) = 'string' THEN {t} END) COLLATE \"C\" {dir}"
        ));
    }
    terms.push("key COLLATE \"C\" ASC".into());
    terms.join(", ")
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
