//! A parsed [`Query`] as a backend-neutral filter plan: which of its
//! conditions a database can check itself (on the stored key and on
//! fields of the stored JSON), and whether that check is *exact* (selects
//! precisely what the Rust evaluator matches) or only a *prefilter* (a
//! superset, re-checked in Rust). Backends render a [`Plan`] into their SQL
//! (`store/sqlite/search.rs`); the evaluator stays the single source of
//! truth for what matches.

use serde_json::Value;

use super::ast::{Condition, Group, Join, Op, Query, Test};

/// What an atom looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The stored object's key (`__id__` in the first group).
    Key,
    /// A field of the stored JSON, by path; every part is a plain
    /// identifier (`[A-Za-z0-9_]+`), so backends may inline it in SQL.
    Field(Vec<String>),
}

/// One check a database can make. Each is exact on its own; `Number` is
/// how inexact numeric conditions are prefiltered.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// The target is a JSON string (the key always is) and `target op text`
    /// holds in byte order; `op` is never [`Op::Ne`].
    Text(Target, Op, String),
    /// The target is this JSON boolean.
    Bool(Target, bool),
    /// The target is JSON `null` (present, not missing).
    Null(Target),
    /// The target is a JSON number within the bounds (inclusive).
    Number(Target, Option<f64>, Option<f64>),
}

/// A filter over stored objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every object.
    True,
    /// No object.
    False,
    /// One check.
    Atom(Atom),
    /// The opposite of an exact filter.
    Not(Box<Filter>),
    /// Every filter holds.
    And(Vec<Filter>),
    /// One filter holds.
    Or(Vec<Filter>),
}

/// How one SQL dialect writes a [`Filter`]: its boolean literals, a
/// negation in which NULL (a missing field) counts as false, and one check
/// with its values bound as parameters. [`Filter::render`] writes the rest
/// (the `AND`/`OR` structure) for every backend.
pub trait SqlDialect {
    /// A bound parameter's value.
    type Arg;
    /// The condition that always holds.
    const TRUE: &'static str;
    /// The condition that never holds.
    const FALSE: &'static str;
    /// The negation of `inner`, NULL counting as false before negating.
    fn not(inner: &str) -> String;
    /// One check, its values appended to `args`.
    fn atom(atom: &Atom, args: &mut Vec<Self::Arg>) -> String;
}

impl Filter {
    /// The filter as an SQL condition in dialect `D`, its values appended
    /// to `args`.
    pub fn render<D: SqlDialect>(&self, args: &mut Vec<D::Arg>) -> String {
        match self {
            Filter::True => D::TRUE.into(),
            Filter::False => D::FALSE.into(),
            Filter::Atom(atom) => D::atom(atom, args),
            Filter::Not(inner) => D::not(&inner.render::<D>(args)),
            Filter::And(all) => Filter::join::<D>(all, " AND ", args),
            Filter::Or(any) => Filter::join::<D>(any, " OR ", args),
        }
    }

    fn join<D: SqlDialect>(filters: &[Filter], with: &str, args: &mut Vec<D::Arg>) -> String {
        let parts: Vec<String> = filters
            .iter()
            .map(|f| format!("({})", f.render::<D>(args)))
            .collect();
        parts.join(with)
    }
}

/// An operator as SQL writes it.
pub fn op_sql(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "<>",
        Op::Lt => "<",
        Op::Gt => ">",
        Op::Le => "<=",
        Op::Ge => ">=",
    }
}

/// A query as a filter, with whether the filter is exact.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Selects a superset of the matches (exactly them when `exact`).
    pub filter: Filter,
    /// Whether the filter selects exactly what [`Query::matches`] matches.
    pub exact: bool,
}

/// How far (relative) a numeric prefilter's bounds are widened, so that
/// a database comparing integers exactly never drops an object the
/// evaluator (comparing as `f64`) matches.
const NUMBER_SLACK: f64 = 1e-9;

impl Plan {
    /// The plan of a query: the first group's conditions when that group is
    /// on the object itself; later groups and `near` are left to Rust.
    pub fn of(query: &Query) -> Plan {
        let Some((first, rest)) = query.groups.split_first() else {
            return Plan::exact(Filter::True);
        };
        if !first.field.is_empty() {
            return Plan::prefilter(Filter::True);
        }
        let plan = group(first);
        Plan {
            exact: plan.exact && rest.is_empty(),
            ..plan
        }
    }

    /// Every object, exactly (a listing without a query).
    pub fn everything() -> Plan {
        Plan::exact(Filter::True)
    }

    fn exact(filter: Filter) -> Plan {
        Plan {
            filter,
            exact: true,
        }
    }

    fn prefilter(filter: Filter) -> Plan {
        Plan {
            filter,
            exact: false,
        }
    }
}

fn group(g: &Group) -> Plan {
    let plans: Vec<Plan> = g.conditions.iter().map(condition).collect();
    let exact = plans.iter().all(|p| p.exact);
    let filters = plans.into_iter().map(|p| p.filter);
    let filter = match g.join {
        Join::And => {
            let kept: Vec<Filter> = filters.filter(|f| *f != Filter::True).collect();
            if kept.contains(&Filter::False) {
                Filter::False
            } else if kept.is_empty() {
                Filter::True
            } else {
                Filter::And(kept)
            }
        }
        Join::Or => {
            let kept: Vec<Filter> = filters.filter(|f| *f != Filter::False).collect();
            if kept.contains(&Filter::True) {
                Filter::True
            } else if kept.is_empty() {
                Filter::False
            } else {
                Filter::Or(kept)
            }
        }
    };
    Plan { filter, exact }
}

/// Whether a path part can be inlined in a JSON path as it is.
pub fn plain(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The sort fields as targets a database can order by (`__id__` is the
/// key), each with whether it is descending; `None` when a field's path is
/// not plain. Ties, and no sort, go by key (the caller adds it).
pub fn sort_targets(sort: &[(String, bool)]) -> Option<Vec<(Target, bool)>> {
    sort.iter()
        .map(|(field, desc)| {
            if field == "__id__" {
                return Some((Target::Key, *desc));
            }
            let parts: Vec<String> = field.split('.').map(str::to_owned).collect();
            parts
                .iter()
                .all(|p| plain(p))
                .then_some((Target::Field(parts), *desc))
        })
        .collect()
}

fn condition(c: &Condition) -> Plan {
    let Test::Compare(op, value) = &c.test else {
        return Plan::prefilter(Filter::True); // `near`: Rust measures it
    };
    let target = match c.path.as_slice() {
        [only] if only == "__id__" => Target::Key,
        parts if parts.iter().all(|p| plain(p)) => Target::Field(parts.to_vec()),
        _ => return Plan::prefilter(Filter::True),
    };
    compare(target, *op, value)
}

fn atom(a: Atom) -> Filter {
    Filter::Atom(a)
}

/// `target op value` as the evaluator reads it (`json_eq` for `=`/`!=`,
/// numbers as `f64` and strings in byte order for ranges; a range with
/// any other value never holds).
fn compare(target: Target, op: Op, value: &Value) -> Plan {
    let is_key = target == Target::Key;
    let positive = match (value, op) {
        (Value::String(s), _) => {
            let op = if op == Op::Ne { Op::Eq } else { op };
            Plan::exact(atom(Atom::Text(target, op, s.clone())))
        }
        (_, Op::Lt | Op::Gt | Op::Le | Op::Ge) if !value.is_number() => {
            return Plan::exact(Filter::False);
        }
        _ if is_key => Plan::exact(Filter::False), // a key is a string
        (Value::Bool(b), _) => Plan::exact(atom(Atom::Bool(target, *b))),
        (Value::Null, _) => Plan::exact(atom(Atom::Null(target))),
        (Value::Number(n), _) => match n.as_f64().filter(|f| f.is_finite()) {
            Some(f) => Plan::prefilter(atom(number(target, op, f))),
            None => Plan::prefilter(Filter::True),
        },
        _ => return Plan::prefilter(Filter::True),
    };
    if op != Op::Ne {
        return positive;
    }
    if !positive.exact {
        // The complement of a superset is no superset of the complement.
        return Plan::prefilter(Filter::True);
    }
    match positive.filter {
        Filter::False => Plan::exact(Filter::True),
        other => Plan::exact(Filter::Not(Box::new(other))),
    }
}

fn number(target: Target, op: Op, f: f64) -> Atom {
    let slack = f.abs() * NUMBER_SLACK;
    let (lo, hi) = (f - slack, f + slack);
    match op {
        Op::Eq | Op::Ne => Atom::Number(target, Some(lo), Some(hi)),
        Op::Lt | Op::Le => Atom::Number(target, None, Some(hi)),
        Op::Gt | Op::Ge => Atom::Number(target, Some(lo), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;

    fn plan(q: &str) -> Plan {
        Plan::of(&parse(q).unwrap())
    }

    fn field(name: &str) -> Target {
        Target::Field(vec![name.to_owned()])
    }

    #[test]
    fn strings_booleans_and_null_are_exact() {
        let p = plan(r#"[__class__ = "car", done = true, gone = null]"#);
        assert!(p.exact);
        assert_eq!(
            p.filter,
            Filter::And(vec![
                atom(Atom::Text(field("__class__"), Op::Eq, "car".into())),
                atom(Atom::Bool(field("done"), true)),
                atom(Atom::Null(field("gone"))),
            ])
        );
        let p = plan(r#"[__id__ != "k"]"#);
        assert!(p.exact);
        assert_eq!(
            p.filter,
            Filter::And(vec![Filter::Not(Box::new(atom(Atom::Text(
                Target::Key,
                Op::Eq,
                "k".into()
            ))))])
        );
    }

    #[test]
    fn numbers_near_and_chains_are_prefilters() {
        assert!(!plan("[n = 3]").exact);
        assert_eq!(plan("[n != 3]").filter, Filter::True);
        assert!(!plan(r#"[a = "x"].b[c = 1]"#).exact);
        assert_eq!(plan("location[n = 1]").filter, Filter::True);
        assert!(!plan("[location near (1, 2), 5km]").exact);
        assert_eq!(plan(r#"[a-b = "x"]"#), Plan::prefilter(Filter::True));
    }

    #[test]
    fn impossible_conditions_fold() {
        assert_eq!(plan("[__id__ = 5]").filter, Filter::False);
        assert_eq!(plan("[__id__ != 5]").filter, Filter::True);
        assert_eq!(plan("[a < true]").filter, Filter::False);
        assert_eq!(
            plan(r#"[a < true or b = "x"]"#).filter,
            atom(Atom::Text(field("b"), Op::Eq, "x".into())).pipe_or()
        );
        assert!(plan("[]").exact);
    }

    trait PipeOr {
        fn pipe_or(self) -> Filter;
    }
    impl PipeOr for Filter {
        fn pipe_or(self) -> Filter {
            Filter::Or(vec![self])
        }
    }
}
