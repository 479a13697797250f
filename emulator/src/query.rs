//! The supported subset of CloudMine's query language, parsed into a
//! [`Query`] and evaluated in Rust.
//!
//! Supported: one bracket group `[cond, cond, …]` where `,` is AND; a
//! condition is `path op value` with `path` a field name or a dotted path
//! (`specs.color`), `__id__` (the object's key) or `__class__`; `op` is one of
//! `=`, `!=`, `<`, `>`, `<=`, `>=`; `value` is a double-quoted string, a
//! number, `true`, `false` or `null`. Anything else is refused with an error
//! that names the unsupported part — never a silently wrong answer.

use std::cmp::Ordering;

use serde_json::Value;

/// What the supported subset is, appended to every refusal.
pub const SUPPORTED: &str = "supported: one [cond, cond, ...] group joined by ',' (and), \
     cond = field op value, field = name, a.b path, __id__ or __class__, \
     op = '=', '!=', '<', '>', '<=', '>=', value = \"string\", number, true, false or null";

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

/// One condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field path, split on dots.
    pub path: Vec<String>,
    /// The operator.
    pub op: Op,
    /// The value compared with.
    pub value: Value,
}

/// A parsed query: every condition must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The conditions, joined by AND.
    pub conditions: Vec<Condition>,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

fn unsupported(part: impl std::fmt::Display) -> String {
    format!("unsupported query: {part}; {SUPPORTED}")
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.src.len() - trimmed.len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(i, c)| !(c.is_ascii_alphanumeric() || *c == '_' || (*i > 0 && *c == '-')))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(&rest[..len])
    }

    /// A short excerpt of what follows, for messages.
    fn excerpt(&self) -> String {
        let rest = self.rest();
        let cut: String = rest.chars().take(24).collect();
        if cut.len() < rest.len() {
            format!("`{cut}…`")
        } else {
            format!("`{cut}`")
        }
    }

    fn path(&mut self) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        loop {
            match self.word() {
                Some(w) if w.starts_with(|c: char| c.is_ascii_digit()) => {
                    return Err(unsupported(format!("field name `{w}`")));
                }
                Some(w) => parts.push(w.to_owned()),
                None => {
                    return Err(if self.rest().is_empty() {
                        unsupported("a condition is missing its field")
                    } else {
                        unsupported(format!("expected a field name at {}", self.excerpt()))
                    });
                }
            }
            if !self.eat('.') {
                return Ok(parts);
            }
        }
    }

    fn op(&mut self, path: &[String]) -> Result<Op, String> {
        let rest = self.rest();
        for (text, op) in [
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if rest.starts_with(text) {
                self.pos += text.len();
                return Ok(op);
            }
        }
        let field = path.join(".");
        if rest.starts_with('[') {
            return Err(unsupported(format!(
                "nested `[` condition after `{field}` (field[...] form)"
            )));
        }
        match self.word() {
            Some("near") => Err(unsupported("geo `near` search")),
            Some(w) => Err(unsupported(format!("operator `{w}` after `{field}`"))),
            None if rest.is_empty() || rest.starts_with([']', ',']) => {
                Err(unsupported(format!("`{field}` has no operator")))
            }
            None => Err(unsupported(format!(
                "operator at {} after `{field}`",
                self.excerpt()
            ))),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('"') => self.string(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some('/') => Err(unsupported("regular expression values")),
            Some(_) => match self.word() {
                Some("true") => Ok(Value::Bool(true)),
                Some("false") => Ok(Value::Bool(false)),
                Some("null") => Ok(Value::Null),
                Some(w) => Err(unsupported(format!(
                    "value `{w}` (strings must be double-quoted)"
                ))),
                None => Err(unsupported(format!("value at {}", self.excerpt()))),
            },
            None => Err(unsupported("a condition is missing its value")),
        }
    }

    fn string(&mut self) -> Result<Value, String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(Value::String(out));
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\' | '/'))) => out.push(e),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, other)) => {
                        return Err(unsupported(format!("escape `\\{other}` in a string")));
                    }
                    None => break,
                },
                other => out.push(other),
            }
        }
        Err(unsupported("a string without its closing quote"))
    }

    fn number(&mut self) -> Result<Value, String> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit()
                    || matches!(c, '.' | 'e' | 'E' | '+')
                    || (*c == '-' && *i == 0))
            })
            .map_or(rest.len(), |(i, _)| i);
        let text = &rest[..len];
        let value: Value = serde_json::from_str(text)
            .ok()
            .filter(Value::is_number)
            .ok_or_else(|| unsupported(format!("number `{text}`")))?;
        self.pos += len;
        // A unit right after a number (`5mi`) is a geo radius.
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            return Err(unsupported(format!(
                "value `{text}{}`",
                self.word().unwrap_or("")
            )));
        }
        Ok(value)
    }
}

/// Parses a query string.
pub fn parse(src: &str) -> Result<Query, String> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    if p.rest().is_empty() {
        return Err(unsupported("an empty query"));
    }
    if !p.eat('[') {
        return Err(unsupported(format!(
            "a query must start with `[`, found {}",
            p.excerpt()
        )));
    }
    let mut conditions = Vec::new();
    loop {
        p.skip_ws();
        let path = p.path()?;
        p.skip_ws();
        let op = p.op(&path)?;
        p.skip_ws();
        let value = p.value()?;
        conditions.push(Condition { path, op, value });
        p.skip_ws();
        if p.eat(',') {
            continue;
        }
        if p.eat(']') {
            break;
        }
        return Err(match p.word() {
            Some(w) if w.eq_ignore_ascii_case("or") => {
                unsupported("`or` (only `,` for and is supported)")
            }
            Some(w) => unsupported(format!("`{w}` between conditions")),
            None if p.rest().is_empty() => unsupported("an unbalanced `[` (missing `]`)"),
            None => unsupported(format!("{} between conditions", p.excerpt())),
        });
    }
    p.skip_ws();
    if !p.rest().is_empty() {
        let excerpt = p.excerpt();
        return Err(match p.word() {
            Some(w) if w.eq_ignore_ascii_case("or") => unsupported("`or` between bracket groups"),
            _ if p.peek() == Some('[') => unsupported("more than one bracket group"),
            _ => unsupported(format!("trailing text {excerpt}")),
        });
    }
    Ok(Query { conditions })
}

fn field<'v>(
    key: &'v str,
    object: &'v Value,
    path: &[String],
) -> Option<std::borrow::Cow<'v, Value>> {
    if path.len() == 1 && path[0] == "__id__" {
        return Some(std::borrow::Cow::Owned(Value::String(key.to_owned())));
    }
    let mut current = object;
    for part in path {
        current = current.as_object()?.get(part)?;
    }
    Some(std::borrow::Cow::Borrowed(current))
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

impl Query {
    /// True when the object stored under `key` matches every condition.
    pub fn matches(&self, key: &str, object: &Value) -> bool {
        self.conditions.iter().all(|c| {
            let found = field(key, object, &c.path);
            match c.op {
                Op::Eq => found.is_some_and(|v| json_eq(&v, &c.value)),
                Op::Ne => !found.is_some_and(|v| json_eq(&v, &c.value)),
                op => found.is_some_and(|v| {
                    let ord = match (&*v, &c.value) {
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
                }),
            }
        })
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
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        _ => Ordering::Equal,
    })
}

/// The value a sort field selects (`__id__` is the key).
pub fn sort_value(key: &str, object: &Value, path: &str) -> Option<Value> {
    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    field(key, object, &parts).map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(q: &str) -> Query {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn refused(q: &str, part: &str) {
        let e = parse(q).expect_err(q);
        assert!(e.starts_with("unsupported query"), "{q}: {e}");
        assert!(e.contains(part), "{q}: {e} should name {part:?}");
    }

    #[test]
    fn parses_the_subset() {
        let q = ok(
            r#"[__class__ = "car", price < 20000, specs.color != "red", used = false, x >= -1.5, y <= 2, z > 0, n = null]"#,
        );
        assert_eq!(q.conditions.len(), 8);
        assert_eq!(q.conditions[2].path, ["specs", "color"]);
        assert_eq!(q.conditions[4].value, json!(-1.5));
        assert_eq!(ok(r#"  [ a="x\"y" ]  "#).conditions[0].value, json!("x\"y"));
        assert_eq!(ok("[__id__ = \"k\"]").conditions[0].path, ["__id__"]);
    }

    #[test]
    fn refuses_everything_else() {
        refused("", "empty");
        refused("   ", "empty");
        refused(r#"[a = 1] or [b = 2]"#, "or");
        refused(r#"[a = 1 or b = 2]"#, "or");
        refused("[loc near (1, 2), 5mi]", "near");
        refused(r#"[showroom[make = "x"]]"#, "[");
        refused(r#"[a = 1][b = 2]"#, "more than one");
        refused("[a = /x/]", "regular expression");
        refused("[a in (1, 2)]", "operator `in`");
        refused("[a like 1]", "operator `like`");
        refused("[a = 1", "unbalanced");
        refused("[a = 1] junk", "trailing");
        refused("a = 1", "start with `[`");
        refused("[a = bare]", "double-quoted");
        refused("[a = \"open]", "closing quote");
        refused("[a]", "no operator");
        refused("[= 1]", "field name");
        refused("[a = ]", "value");
        refused("[a = 5mi]", "5mi");
        refused("[1a = 1]", "field name `1a`");
        refused("[a = 1,]", "field");
        refused("[a ~ 1]", "operator");
    }

    #[test]
    fn evaluates() {
        let car =
            json!({"__class__": "car", "price": 15000, "specs": {"color": "red"}, "tags": [1, 2]});
        assert!(ok(r#"[__class__ = "car", price < 20000]"#).matches("k", &car));
        assert!(!ok("[price > 20000]").matches("k", &car));
        assert!(ok("[price = 15000.0]").matches("k", &car));
        assert!(ok(r#"[specs.color = "red"]"#).matches("k", &car));
        assert!(ok(r#"[missing != "x"]"#).matches("k", &car));
        assert!(!ok(r#"[missing = "x"]"#).matches("k", &car));
        assert!(
            !ok(r#"[price < "abc"]"#).matches("k", &car),
            "mixed types never compare"
        );
        assert!(ok(r#"[__id__ = "k"]"#).matches("k", &car));
        assert!(ok(r#"[__id__ >= "a"]"#).matches("k", &car));
        assert!(!ok("[specs.color.deep = 1]").matches("k", &car));
        assert!(
            !ok("[price = 1]").matches("k", &json!(5)),
            "scalars have no fields"
        );
    }

    #[test]
    fn sort_order_is_total() {
        let mut v = vec![
            Some(json!("b")),
            None,
            Some(json!(2)),
            Some(json!(true)),
            Some(json!(1.5)),
            Some(json!("a")),
        ];
        v.sort_by(|a, b| compare(a.as_ref(), b.as_ref()));
        assert_eq!(
            v,
            vec![
                None,
                Some(json!(true)),
                Some(json!(1.5)),
                Some(json!(2)),
                Some(json!("a")),
                Some(json!("b"))
            ]
        );
    }
}
