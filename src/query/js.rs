//! `JSON.stringify` as JavaScript writes it, for the values the JS SDK's
//! `convertQueryInput` puts in a query: numbers in JavaScript's
//! `Number.prototype.toString` form (`1e+21`, `1e-7`, `1` for `1.0`),
//! object keys that are array indices first in ascending order, then the
//! others in insertion order, strings escaped as JSON.

use serde_json::{Map, Number, Value};

/// `value` as JavaScript's `JSON.stringify(value)` writes it.
pub(crate) fn stringify(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

/// A string as JSON writes it; `JSON.stringify` and serde_json escape the
/// same characters the same way (`\"`, `\\`, `\b\f\n\r\t`, `\u00xx`).
fn write_string(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// An array index in JavaScript's sense: a canonical integer below 2³² − 1.
fn array_index(key: &str) -> Option<u32> {
    let n: u32 = key.parse().ok()?;
    (n != u32::MAX && n.to_string() == key).then_some(n)
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    let mut indices: Vec<(u32, &String, &Value)> = map
        .iter()
        .filter_map(|(k, v)| array_index(k).map(|n| (n, k, v)))
        .collect();
    indices.sort_by_key(|(n, _, _)| *n);
    let others = map.iter().filter(|(k, _)| array_index(k).is_none());
    out.push('{');
    let entries = indices.into_iter().map(|(_, k, v)| (k, v)).chain(others);
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

/// A number as JavaScript writes it. Integers are written exactly (where
/// JavaScript, whose numbers are doubles, would round those beyond 2⁵³).
fn number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if !(n.is_i64() || n.is_u64()) => js_float(f),
        _ => n.to_string(),
    }
}

/// `Number.prototype.toString()` for a finite double: the shortest digits
/// that read back as the same double, placed by ECMAScript's rules.
pub(crate) fn js_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_owned();
    }
    if !f.is_finite() {
        return "null".to_owned(); // JSON.stringify of NaN and ±Infinity
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Rust's `{:e}` is the shortest round-trip form: `d.ddde[-]x`.
    let exp_form = format!("{:e}", f.abs());
    let (mantissa, exponent) = exp_form.split_once('e').unwrap_or((&exp_form, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let rest = if k > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let e = n - 1;
        let e_sign = if e >= 0 { "+" } else { "-" };
        format!("{}{rest}e{e_sign}{}", &digits[..1], e.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_as_javascript_writes_them() {
        for (value, text) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (-2.5e300, "-2.5e+300"),
            (f64::NAN, "null"),
        ] {
            assert_eq!(js_float(value), text, "{value}");
        }
    }

    #[test]
    fn objects_put_array_indices_first() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"10":2,"2":3,"01":4,"a":[1.0,"x\n"]}"#).unwrap();
        assert_eq!(
            stringify(&v),
            r#"{"2":3,"10":2,"b":1,"01":4,"a":[1,"x\n"]}"#
        );
        assert_eq!(
            stringify(&json!(12345678901234567890u64)),
            "12345678901234567890"
        );
    }
}
