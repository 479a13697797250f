//! The parsed form of a query: a chain of groups of conditions.

use serde_json::Value;

use super::geo::Near;

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
