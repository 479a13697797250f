//! Evaluating a parsed [`Query`] against a stored object.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{Condition, Group, Join, Op, Query, Test};
use super::geo::Unit;
use super::order::{field, json_eq};

/// How an object matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The distance in km from the `near` condition's point to the
    /// object's geopoint, when the query has a `near` and the object a
    /// well-formed geopoint at its field (the nearest matching element's
    /// when the field is in an array).
    pub distance_km: Option<f64>,
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

    /// How the object stored under `key` matches, or `None`. A `near`
    /// radius without a unit is in `default_unit`.
    pub fn evaluate(&self, key: &str, object: &Value, default_unit: Unit) -> Option<Hit> {
        chain(&self.groups, Some(key), object, default_unit)
    }
}

/// Nearest first; a hit without a distance after every hit with one.
fn nearer(a: &Hit, b: &Hit) -> Ordering {
    match (a.distance_km, b.distance_km) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The subjects a group applies to: the subject itself (no field), else the
/// object at the field, or each object element of an array there.
fn subjects<'v>(group: &Group, subject: &'v Value) -> Vec<&'v Value> {
    if group.field.is_empty() {
        return vec![subject];
    }
    let mut current = subject;
    for part in &group.field {
        match current.as_object().and_then(|o| o.get(part)) {
            Some(next) => current = next,
            None => return Vec::new(),
        }
    }
    match current {
        Value::Array(items) => items.iter().filter(|v| v.is_object()).collect(),
        Value::Object(_) => vec![current],
        _ => Vec::new(),
    }
}

fn chain(groups: &[Group], key: Option<&str>, subject: &Value, unit: Unit) -> Option<Hit> {
    let Some((group, rest)) = groups.split_first() else {
        return Some(Hit { distance_km: None });
    };
    // `__id__` is the stored object's key only in a group on the object.
    let key = if group.field.is_empty() { key } else { None };
    subjects(group, subject)
        .into_iter()
        .filter_map(|s| {
            let here = group_hit(group, key, s, unit)?;
            let after = chain(rest, None, s, unit)?;
            Some(Hit {
                distance_km: here.distance_km.or(after.distance_km),
            })
        })
        .min_by(nearer)
}

fn group_hit(group: &Group, key: Option<&str>, subject: &Value, unit: Unit) -> Option<Hit> {
    // Every condition is evaluated, so that an `or` reports the distance
    // even when another condition is the one that held.
    let mut distance_km = None;
    let holds: Vec<bool> = group
        .conditions
        .iter()
        .map(|c| {
            let (holds, distance) = condition(c, key, subject, unit);
            distance_km = distance_km.or(distance);
            holds
        })
        .collect();
    let matched = match group.join {
        Join::And => holds.iter().all(|h| *h),
        Join::Or => holds.iter().any(|h| *h),
    };
    matched.then_some(Hit { distance_km })
}

/// Whether the condition holds, and the `near` distance it found.
fn condition(c: &Condition, key: Option<&str>, subject: &Value, unit: Unit) -> (bool, Option<f64>) {
    let found = field(key, subject, &c.path);
    match &c.test {
        Test::Near(near) => match found.and_then(|v| near.test(&v, unit)) {
            Some((km, within)) => (within, Some(km)),
            None => (false, None),
        },
        Test::Compare(Op::Eq, value) => (found.is_some_and(|v| json_eq(&v, value)), None),
        Test::Compare(Op::Ne, value) => (!found.is_some_and(|v| json_eq(&v, value)), None),
        Test::Compare(op, value) => (found.is_some_and(|v| ordered(*op, &v, value)), None),
    }
}

fn ordered(op: Op, found: &Value, value: &Value) -> bool {
    let ord = match (found, value) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match (ord, op) {
        (Some(o), Op::Lt) => o == Ordering::Less,
        (Some(o), Op::Gt) => o == Ordering::Greater,
        (Some(o), Op::Le) => o != Ordering::Greater,
        (Some(o), Op::Ge) => o != Ordering::Less,
        _ => false,
    }
}
