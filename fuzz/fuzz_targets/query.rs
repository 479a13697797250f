//! The emulator's query language (`?q=` of `search`): any text is either
//! refused with a message or parsed; a parsed query is evaluated against
//! objects that also come from the input, and sorted on its fields.
//!
//! Input: the query on the first line; the rest, when it is JSON, gives the
//! objects (an array: one object per element; anything else: one object).
#![no_main]

use std::cmp::Ordering;

use cloudmine_emulator::query::{self, Query, Test, Unit};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let (line, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(src) = std::str::from_utf8(line) else {
        return;
    };
    let parsed = query::parse(src);
    let query = match parsed {
        Ok(query) => query,
        Err(message) => {
            assert!(
                message.starts_with("unsupported query") || message.starts_with("invalid query"),
                "{message}"
            );
            return;
        }
    };
    assert!(!query.groups.is_empty() && query.groups.len() <= query::MAX_GROUPS);
    let mut objects = vec![
        json!({}),
        json!({"__class__": "car", "price": 15000, "specs": {"color": "red"}}),
        json!(5),
        json!({"loc": {"__type__": "geopoint", "longitude": -75.16, "latitude": 39.95},
               "location": {"blah": "blah"}, "showroom": [{"make": "Honda"}, 3]}),
    ];
    match serde_json::from_slice::<Value>(rest) {
        Ok(Value::Array(items)) => objects.extend(items),
        Ok(other) => objects.push(other),
        Err(_) => {}
    }
    evaluate(&query, &objects);
});

fn evaluate(query: &Query, objects: &[Value]) {
    for (i, object) in objects.iter().enumerate() {
        let key = format!("k{i}");
        assert!(query::json_eq(object, object));
        let matched = query.matches(&key, object);
        for unit in [Unit::Km, Unit::Mi, Unit::M, Unit::Ft] {
            if let Some(hit) = query.evaluate(&key, object, unit) {
                assert!(hit.distance_km.is_none_or(|d| d.is_finite() && d >= 0.0));
                assert!(hit.distance_km.is_none() || query.has_near());
            }
        }
        // In a one-group, one-condition query, `!=` is exactly the
        // negation of `=`.
        if let [group] = query.groups.as_slice()
            && group.field.is_empty()
            && let [c] = group.conditions.as_slice()
            && let Test::Compare(op, value) = &c.test
        {
            let flip = match op {
                query::Op::Eq => query::Op::Ne,
                query::Op::Ne => query::Op::Eq,
                _ => continue,
            };
            let mut negated = query.clone();
            negated.groups[0].conditions[0].test = Test::Compare(flip, value.clone());
            assert_ne!(matched, negated.matches(&key, object));
        }
    }
    for c in query.groups.iter().flat_map(|g| &g.conditions) {
        let path = c.path.join(".");
        let values: Vec<Option<Value>> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| query::sort_value(&format!("k{i}"), o, &path))
            .collect();
        for a in &values {
            assert_eq!(query::compare(a.as_ref(), a.as_ref()), Ordering::Equal);
            for b in &values {
                let ab = query::compare(a.as_ref(), b.as_ref());
                assert_eq!(ab, query::compare(b.as_ref(), a.as_ref()).reverse());
            }
        }
        let mut sorted = values.clone();
        sorted.sort_by(|a, b| query::compare(a.as_ref(), b.as_ref()));
        if let Test::Compare(_, value) = &c.test {
            assert!(query::json_eq(value, value));
        }
    }
}
