//! Searching one namespace: what handlers ask `Store::search_objects`
//! for ([`ObjectSearch`]: a query, a sort and a page), what they get back
//! ([`SearchPage`]), and the bounded [`Collector`] that evaluates candidates
//! in Rust and keeps only what the page needs.

use std::cmp::Ordering;

use serde_json::Value;

use crate::query::{self, Query};

/// A search of one namespace (its objects and files).
#[derive(Debug, Clone)]
pub struct ObjectSearch {
    /// The query; `None` lists everything.
    pub query: Option<Query>,
    /// Sort fields (dotted paths, `__id__` for the key), each descending or
    /// not; ties (and no sort) go by key.
    pub sort: Vec<(String, bool)>,
    /// How many matches to skip.
    pub skip: usize,
    /// How many matches to return after `skip`; `None`: all.
    pub limit: Option<usize>,
    /// Whether [`SearchPage::total`] is wanted (else it may be 0).
    pub count: bool,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The page, in order.
    pub items: Vec<(String, Value)>,
    /// How many objects match in all (when counted).
    pub total: usize,
}

impl ObjectSearch {
    /// Whether the object stored under `key` matches the query.
    pub fn matches(&self, key: &str, value: &Value) -> bool {
        self.query.as_ref().is_none_or(|q| q.matches(key, value))
    }

    /// The order of results: the sort fields, then the key.
    pub fn order(&self, (ka, a): &(String, Value), (kb, b): &(String, Value)) -> Ordering {
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
    }

    /// How many matches the page needs kept (`None`: all of them).
    fn keep(&self) -> Option<usize> {
        self.limit.map(|n| n.saturating_add(self.skip))
    }

    /// A collector for this search's candidates.
    pub fn collector(&self) -> Collector<'_> {
        Collector {
            search: self,
            kept: Vec::new(),
            total: 0,
        }
    }
}

/// Evaluates candidates one at a time, counting the matches and keeping
/// only the best `skip + limit` of them (memory bounded by the page, not
/// by the namespace).
pub struct Collector<'a> {
    search: &'a ObjectSearch,
    kept: Vec<(String, Value)>,
    total: usize,
}

impl Collector<'_> {
    /// Considers one candidate (re-checked with the Rust evaluator).
    pub fn offer(&mut self, key: String, value: Value) {
        if !self.search.matches(&key, &value) {
            return;
        }
        self.total += 1;
        self.kept.push((key, value));
        if let Some(keep) = self.search.keep()
            && self.kept.len() >= keep.saturating_mul(2).max(64)
        {
            self.trim(keep);
        }
    }

    fn trim(&mut self, keep: usize) {
        let search = self.search;
        self.kept.sort_by(|a, b| search.order(a, b));
        self.kept.truncate(keep);
    }

    /// The page and the number of matches.
    pub fn finish(mut self) -> SearchPage {
        let keep = self.search.keep().unwrap_or(usize::MAX);
        self.trim(keep);
        let items = self.kept.into_iter().skip(self.search.skip).collect();
        SearchPage {
            items,
            total: self.total,
        }
    }
}
