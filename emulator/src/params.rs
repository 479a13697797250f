//! CloudMine's server params (`limit`, `skip`, `count`, `sort`, `f`,
//! `params`, `result_only`): parsing, and paging a list with them.

use axum::http::StatusCode;
use serde_json::Value;

use crate::fail::Fail;
use crate::query;

/// The most `sort` params one request may have (each is a comparison
/// per pair of objects, and an `ORDER BY` term when SQL sorts).
pub const MAX_SORT_FIELDS: usize = 32;

/// Query parameters that are CloudMine's, not a snippet's.
pub(crate) const SERVER_PARAMS: &[&str] = &[
    "limit",
    "skip",
    "count",
    "sort",
    "f",
    "params",
    "async",
    "result_only",
    "shared",
    "shared_only",
    "extended_responses",
    "distance",
    "units",
    "userid",
];

/// The server params of a request.
pub(crate) struct ServerParams {
    pub(crate) limit: i64,
    skip: usize,
    pub(crate) count: bool,
    sort: Vec<(String, bool)>,
    pub(crate) snippet: Option<String>,
    pub(crate) snippet_params: Value,
    pub(crate) result_only: bool,
    /// `async=true` (the SDK's `dontwait`): the snippet runs in the background.
    pub(crate) dont_wait: bool,
}

fn flag(name: &str, value: &str) -> Result<bool, Fail> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Fail::new(
            StatusCode::BAD_REQUEST,
            format!("invalid {name}: {other:?} is not true or false"),
        )),
    }
}

impl ServerParams {
    pub(crate) fn parse(query: &[(String, String)]) -> Result<Self, Fail> {
        let mut p = ServerParams {
            limit: 50,
            skip: 0,
            count: false,
            sort: Vec::new(),
            snippet: None,
            snippet_params: Value::Null,
            result_only: false,
            dont_wait: false,
        };
        let number_error = |name: &str, v: &str| {
            Fail::new(
                StatusCode::BAD_REQUEST,
                format!("invalid {name}: {v:?} is not a number"),
            )
        };
        for (name, value) in query {
            match name.as_str() {
                "limit" => {
                    p.limit = value.parse().map_err(|_| number_error("limit", value))?;
                    if p.limit < -1 {
                        return Err(Fail::new(
                            StatusCode::BAD_REQUEST,
                            format!("invalid limit: {value} (use -1 for no limit)"),
                        ));
                    }
                }
                "skip" => p.skip = value.parse().map_err(|_| number_error("skip", value))?,
                "count" => p.count = flag("count", value)?,
                "result_only" => p.result_only = flag("result_only", value)?,
                "async" => p.dont_wait = flag("async", value)?,
                // Only for CloudMine's atomic operations, which the emulator
                // (like the JS SDK) has none of: checked, then without effect.
                "extended_responses" => {
                    flag("extended_responses", value)?;
                }
                "sort" => {
                    let (field, desc) = match value.rsplit_once(':') {
                        Some((f, "desc")) => (f, true),
                        Some((f, "asc")) => (f, false),
                        _ => (value.as_str(), false),
                    };
                    if field.is_empty() {
                        return Err(Fail::new(
                            StatusCode::BAD_REQUEST,
                            "invalid sort: empty field",
                        ));
                    }
                    if p.sort.len() == MAX_SORT_FIELDS {
                        return Err(Fail::new(
                            StatusCode::BAD_REQUEST,
                            format!("invalid sort: more than {MAX_SORT_FIELDS} sort fields"),
                        ));
                    }
                    p.sort.push((field.to_owned(), desc));
                }
                "f" => p.snippet = Some(value.clone()),
                "params" => {
                    p.snippet_params = serde_json::from_str(value).map_err(|e| {
                        Fail::new(
                            StatusCode::BAD_REQUEST,
                            format!("invalid params: not JSON: {e}"),
                        )
                    })?;
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// A store search with these params' sort, skip, limit and count.
    pub(crate) fn search(&self, query: Option<query::Query>) -> crate::store::ObjectSearch {
        crate::store::ObjectSearch {
            query,
            sort: self.sort.clone(),
            skip: self.skip,
            limit: usize::try_from(self.limit).ok(),
            count: self.count,
        }
    }

    /// Sorts, counts and pages a list.
    pub(crate) fn page(&self, mut items: Vec<(String, Value)>) -> (Vec<(String, Value)>, usize) {
        if !self.sort.is_empty() {
            items.sort_by(|(ka, a), (kb, b)| {
                for (field, desc) in &self.sort {
                    let va = query::sort_value(ka, a, field);
                    let vb = query::sort_value(kb, b, field);
                    let ord = query::compare(va.as_ref(), vb.as_ref());
                    let ord = if *desc { ord.reverse() } else { ord };
                    if ord.is_ne() {
                        return ord;
                    }
                }
                ka.cmp(kb)
            });
        }
        let total = items.len();
        let page = items.into_iter().skip(self.skip);
        let page = match usize::try_from(self.limit) {
            Ok(n) => page.take(n).collect(),
            Err(_) => page.collect(), // -1: no limit
        };
        (page, total)
    }
}
