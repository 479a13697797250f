//! Searches in SQL: a query's [`Plan`] rendered as a `WHERE` clause over
//! `json_extract`/`json_type` of the stored JSON. When the plan is exact,
//! the namespace has no files and every sort field has an SQL order, the
//! database sorts and pages (`LIMIT`/`OFFSET`, `count(*)`); otherwise the
//! rows the prefilter selects are streamed through a [`Collector`], which
//! re-checks each with the Rust evaluator and keeps only the page.

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, params_from_iter};

use super::db::Db;
use super::files;
use crate::query::plan::{Atom, Plan, SqlDialect, Target, op_sql, sort_targets};
use crate::store::values::parse_stored;
use crate::store::{ObjectSearch, SearchPage, StoreError};

impl Db {
    /// One page of a namespace's matches (see [`crate::store::Store::search_objects`]).
    pub fn search_objects(
        &self,
        app_id: &str,
        owner: &str,
        search: &ObjectSearch,
    ) -> Result<SearchPage, StoreError> {
        let plan = search
            .query
            .as_ref()
            .map_or_else(Plan::everything, Plan::of);
        let conn = self.read()?;
        let mut args = vec![Sql::from(app_id.to_owned()), Sql::from(owner.to_owned())];
        let filter = plan.filter.render::<Dialect>(&mut args);
        let order = (plan.exact && !has_files(&conn, app_id, owner)?)
            .then(|| sql_order(&search.sort))
            .flatten();
        match order {
            Some(order) => exact_page(&conn, &filter, &order, args, search),
            None => {
                let mut collector = search.collector();
                let sql = format!(
                    "SELECT key, value FROM objects WHERE app_id = ?1 AND owner = ?2 AND ({filter})"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(args))?;
                while let Some(row) = rows.next()? {
                    let text: String = row.get(1)?;
                    collector.offer(row.get(0)?, parse_stored(&text));
                }
                for file in files::all(&conn, app_id, owner)? {
                    let value = file.to_value();
                    collector.offer(file.key, value);
                }
                Ok(collector.finish())
            }
        }
    }
}

fn has_files(conn: &Connection, app_id: &str, owner: &str) -> Result<bool, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM files WHERE app_id = ?1 AND owner = ?2)")?;
    Ok(stmt.query_row([app_id, owner], |r| r.get(0))?)
}

/// The page and count when SQL selects exactly the matches.
fn exact_page(
    conn: &Connection,
    filter: &str,
    order: &str,
    mut args: Vec<Sql>,
    search: &ObjectSearch,
) -> Result<SearchPage, StoreError> {
    let total = if search.count {
        let sql =
            format!("SELECT count(*) FROM objects WHERE app_id = ?1 AND owner = ?2 AND ({filter})");
        let n: i64 = conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(&args), |r| r.get(0))?;
        usize::try_from(n).unwrap_or(0)
    } else {
        0
    };
    let limit = search
        .limit
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let skip = i64::try_from(search.skip).unwrap_or(i64::MAX);
    let (l, s) = (args.len() + 1, args.len() + 2);
    args.extend([Sql::from(limit), Sql::from(skip)]);
    let sql = format!(
        "SELECT key, value FROM objects WHERE app_id = ?1 AND owner = ?2 AND ({filter})
         ORDER BY {order} LIMIT ?{l} OFFSET ?{s}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (key, text) = row?;
        items.push((key, parse_stored(&text)));
    }
    Ok(SearchPage { items, total })
}

/// The stored JSON, or NULL for a value that is not JSON (stored by an
/// older version; the evaluator reads it as a string, which has no fields):
/// `json_extract` would fail on it. Migration 7's index is on this form.
const DOC: &str = "CASE WHEN json_valid(value) THEN value END";

/// A JSON path of plain identifiers, as an SQL string literal.
fn path(parts: &[String]) -> String {
    format!("'$.{}'", parts.join("."))
}

/// SQLite's way of writing a [`Filter`](crate::query::plan::Filter).
struct Dialect;

impl SqlDialect for Dialect {
    type Arg = Sql;
    const TRUE: &'static str = "1";
    const FALSE: &'static str = "0";
    fn not(inner: &str) -> String {
        format!("NOT IFNULL(({inner}), 0)")
    }
    fn atom(atom: &Atom, args: &mut Vec<Sql>) -> String {
        render_atom(atom, args)
    }
}

fn bind(args: &mut Vec<Sql>, value: Sql) -> String {
    args.push(value);
    format!("?{}", args.len())
}

fn render_atom(atom: &Atom, args: &mut Vec<Sql>) -> String {
    let doc = DOC;
    let field = |t: &Target| match t {
        Target::Field(parts) => Some(path(parts)),
        Target::Key => None,
    };
    match atom {
        Atom::Text(Target::Key, op, s) => {
            format!("key {} {}", op_sql(*op), bind(args, Sql::from(s.clone())))
        }
        Atom::Text(Target::Field(parts), op, s) => {
            let p = path(parts);
            let v = bind(args, Sql::from(s.clone()));
            // The extract first: the form the class index is on.
            format!(
                "json_extract({doc}, {p}) {} {v} AND json_type({doc}, {p}) = 'text'",
                op_sql(*op)
            )
        }
        Atom::Bool(t, b) => match field(t) {
            Some(p) => format!("json_type({doc}, {p}) = '{b}'"),
            None => "0".into(),
        },
        Atom::Null(t) => match field(t) {
            Some(p) => format!("json_type({doc}, {p}) = 'null'"),
            None => "0".into(),
        },
        Atom::Number(t, lo, hi) => match field(t) {
            Some(p) => {
                let mut sql = format!("json_type({doc}, {p}) IN ('integer', 'real')");
                if let Some(lo) = lo {
                    let v = bind(args, Sql::from(*lo));
                    sql += &format!(" AND json_extract({doc}, {p}) >= {v}");
                }
                if let Some(hi) = hi {
                    let v = bind(args, Sql::from(*hi));
                    sql += &format!(" AND json_extract({doc}, {p}) <= {v}");
                }
                sql
            }
            None => "0".into(),
        },
    }
}

/// The `ORDER BY` of the sort fields then the key, in the evaluator's
/// order (missing/null < booleans < numbers < strings < arrays < objects);
/// `None` when a field's path is not plain.
fn sql_order(sort: &[(String, bool)]) -> Option<String> {
    let doc = DOC;
    let mut terms = Vec::new();
    for (target, desc) in sort_targets(sort)? {
        let dir = if desc { "DESC" } else { "ASC" };
        let parts = match target {
            Target::Key => {
                terms.push(format!("key {dir}"));
                continue;
            }
            Target::Field(parts) => parts,
        };
        let p = path(&parts);
        terms.push(format!(
            "CASE json_type({doc}, {p}) WHEN 'true' THEN 1 WHEN 'false' THEN 1 \
             WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 \
             WHEN 'array' THEN 4 WHEN 'object' THEN 5 ELSE 0 END {dir}"
        ));
        terms.push(format!(
            "CASE WHEN json_type({doc}, {p}) IN ('true', 'false', 'integer', 'real') \
             THEN CAST(json_extract({doc}, {p}) AS REAL) \
             ELSE json_extract({doc}, {p}) END {dir}"
        ));
    }
    terms.push("key ASC".into());
    Some(terms.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;
    use serde_json::Value;

    fn where_of(q: &str) -> (String, Vec<Sql>) {
        let mut args = vec![Sql::from("a".to_owned()), Sql::from("o".to_owned())];
        let filter = Plan::of(&parse(q).unwrap())
            .filter
            .render::<Dialect>(&mut args);
        (filter, args)
    }

    #[test]
    fn a_class_search_uses_the_class_index() {
        let db = Db::open(std::path::Path::new(":memory:")).unwrap();
        let (filter, args) = where_of(r#"[__class__ = "car", n > 2]"#);
        // The page's statement as `exact_page` writes it: the order and
        // limit must not lure the planner onto the primary key.
        let order = sql_order(&[]).unwrap();
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT key, value FROM objects \
             WHERE app_id = ?1 AND owner = ?2 AND ({filter}) ORDER BY {order} LIMIT 50 OFFSET 0"
        );
        let conn = db.read().unwrap();
        let mut stmt = conn.prepare(&sql).unwrap();
        let plan: Vec<String> = stmt
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("objects_by_class_key")),
            "{plan:?}"
        );
    }

    #[test]
    fn values_that_are_not_json_have_no_fields() {
        let db = Db::open(std::path::Path::new(":memory:")).unwrap();
        db.conn()
            .execute(
                "INSERT INTO objects VALUES ('a', 'o', 'old', 'not json', 0, 0),
                 ('a', 'o', 'new', '{\"a\": \"x\"}', 0, 0)",
                [],
            )
            .unwrap();
        let search = |q: &str, sort: &str| ObjectSearch {
            query: Some(parse(q).unwrap()),
            sort: vec![(sort.to_owned(), false)],
            skip: 0,
            limit: Some(10),
            count: true,
        };
        let page = db
            .search_objects("a", "o", &search(r#"[a != "x"]"#, "a"))
            .unwrap();
        assert_eq!(page.items, vec![("old".into(), Value::from("not json"))]);
        assert_eq!(page.total, 1);
        let page = db
            .search_objects("a", "o", &search(r#"[a = "x"]"#, "a"))
            .unwrap();
        assert_eq!(page.items.len(), 1);
    }

    #[test]
    fn values_are_bound_never_inlined() {
        let (filter, args) = where_of(r#"[name = "x' OR 1=1 --", __id__ < "k"]"#);
        assert!(!filter.contains("OR 1=1"), "{filter}");
        assert_eq!(args.len(), 4);
        assert_eq!(sql_order(&[("a-b".into(), false)]), None);
        assert_eq!(sql_order(&[]).as_deref(), Some("key ASC"));
    }
}
