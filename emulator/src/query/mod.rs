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

mod ast;
mod eval;
pub mod geo;
mod order;
mod parse;
pub mod plan;
#[cfg(test)]
mod tests;

pub use ast::{Condition, Group, Join, Op, Query, Test};
pub use eval::Hit;
pub use geo::{Near, Point, Radius, Unit};
pub use order::{compare, json_eq, sort_value};
pub use parse::{MAX_CONDITIONS, MAX_GROUPS, MAX_LEN, SUPPORTED, parse};
