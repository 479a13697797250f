//! Field lookup, JSON equality and the total order `sort` uses.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

/// The value at `path` in `object`; `__id__` alone is the key when there is
/// one (the stored object), else the object's own `__id__` field.
pub(crate) fn field<'v>(
    key: Option<&'v str>,
    object: &'v Value,
    path: &[String],
) -> Option<Cow<'v, Value>> {
    if let (Some(key), [only]) = (key, path)
        && only == "__id__"
    {
        return Some(Cow::Owned(Value::String(key.to_owned())));
    }
    let mut current = object;
    for part in path {
        current = current.as_object()?.get(part)?;
    }
    Some(Cow::Borrowed(current))
}

/// JSON equality where `1` equals `1.0`.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        _ => a == b,
    }
}

fn rank(v: Option<&Value>) -> u8 {
    match v {
        None | Some(Value::Null) => 0,
        Some(Value::Bool(_)) => 1,
        Some(Value::Number(_)) => 2,
        Some(Value::String(_)) => 3,
        Some(Value::Array(_)) => 4,
        Some(Value::Object(_)) => 5,
    }
}

/// A total order over optional JSON values, for `sort`: missing/null < bool
/// < number < string < array < object.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            sort_number(x).total_cmp(&sort_number(y))
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        _ => Ordering::Equal,
    })
}

/// A number as `sort` orders it: `-0` is `0` (they are equal, as `=`
/// says and as SQL orders them), so equal numbers fall back to the key.
fn sort_number(n: &serde_json::Number) -> f64 {
    match n.as_f64() {
        Some(f) if f != 0.0 => f,
        _ => 0.0,
    }
}

/// The value a sort field selects (`__id__` is the key).
pub fn sort_value(key: &str, object: &Value, path: &str) -> Option<Value> {
    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    field(Some(key), object, &parts).map(Cow::into_owned)
}
