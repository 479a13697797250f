//! The supported subset of CloudMine's query language, parsed into a
//! [`Query`] and evaluated in Rust.
//!
//! A query is a chain of bracket groups. The first group applies to the
//! object itself (`[a = 1]`) or to the sub-object at a field
//! (`location[a = 1]`); each further `.field[...]` applies to the sub-object
//! at that field of the one before (`[a = 1].location[b = 2]`). When the
//! field holds an array, any element may match. A group's conditions are
//! joined by `,` (and) or by `or`, not both. A condition is
//! `path op value` (`path` a field name or dotted path, `__id__` or
//! `__class__`; `op` one of `=`, `!=`, `<`, `>`, `<=`, `>=`; `value` a
//! double-quoted string, a number, `true`, `false` or `null`) or
//! `path near (longitude, latitude)` with an optional radius (`, 30mi`).
//! Anything else is refused with an error that names the unsupported part —
//! never a silently wrong answer.

mod eval;
pub mod geo;
mod order;
mod parse;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use eval::Hit;
pub use geo::{Near, Point, Radius, Unit};
pub use order::{compare, json_eq, sort_value};
pub use parse::parse;

/// What the supported subset is, appended to every refusal.
pub const SUPPORTED: &str = "supported: [cond, cond, ...] (and) or [cond or cond ...] (or), \
     optionally on a field and chained: field[...] and [...].field[...]; \
     cond = field op value or field near (longitude, latitude)[, radius with km, mi, m or ft]; \
     field = name, a.b path, __id__ or __class__, \
     op = '=', '!=', '<', '>', '<=', '>=', value = \"string\", number, true, false or null";

/// The longest query text accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// The most bracket groups in one chain.
pub const MAX_GROUPS: usize = 8;

/// The most conditions in one bracket group.
pub const MAX_CONDITIONS: usize = 256;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// What a condition checks of the value at its path.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `op value`.
    Compare(Op, Value),
    /// `near (longitude, latitude)[, radius]`.
    Near(Near),
}

/// One condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field path, split on dots.
    pub path: Vec<String>,
    /// The test.
    pub test: Test,
}

/// How a group's conditions combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// `,`: every condition must hold (also an empty group: `[]`).
    And,
    /// `or`: one condition must hold.
    Or,
}

/// One bracket group and the field it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The field, relative to the previous group's subject (empty: that
    /// subject itself, only for the first group).
    pub field: Vec<String>,
    /// How the conditions combine.
    pub join: Join,
    /// The conditions.
    pub conditions: Vec<Condition>,
}

/// A parsed query: a chain of groups, each applying to the sub-object at its
/// field of the previous group's subject. At most one `near` in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The chain, at least one group.
    pub groups: Vec<Group>,
}

impl Query {
    /// True when the object stored under `key` matches (a `near` radius
    /// without a unit is in km).
    pub fn matches(&self, key: &str, object: &Value) -> bool {
        self.evaluate(key, object, Unit::Km).is_some()
    }

    /// True when the query has a `near` condition.
    pub fn has_near(&self) -> bool {
        self.groups
            .iter()
            .flat_map(|g| &g.conditions)
            .any(|c| matches!(c.test, Test::Near(_)))
    }
}
