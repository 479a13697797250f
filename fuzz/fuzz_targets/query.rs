//! The emulator's query language (`?q=` of `search`): any text is either
//! refused with a message or parsed; a parsed query is evaluated against
//! objects that also come from the input, and sorted on its fields.
//!
//! Input: the query on the first line; the rest, when it is JSON, gives the
//! objects (an array: one object per element; anything else: one object).
#![no_main]

use std::cmp::Ordering;

use cloudmine_emulator::query::{self, Query};
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
            assert!(message.starts_with("unsupported query"), "{message}");
            return;
        }
    };
    assert!(!query.conditions.is_empty());
    let mut objects = vec![
        json!({}),
        json!({"__class__": "car", "price": 15000, "specs": {"color": "red"}}),
        json!(5),
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
        // One condition's `!=` is exactly the negation of its `=`.
        if let [c] = query.conditions.as_slice() {
            let flip = match c.op {
                query::Op::Eq => query::Op::Ne,
                query::Op::Ne => query::Op::Eq,
                _ => continue,
            };
            let mut negated = query.clone();
            negated.conditions[0].op = flip;
            assert_ne!(matched, negated.matches(&key, object));
        }
    }
    for c in &query.conditions {
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
        assert!(query::json_eq(&c.value, &c.value));
    }
}
