//! The query text → [`Query`] parser: total (every input is either parsed
//! or refused with a message), iterative (no recursion), bounded in length,
//! groups and conditions.

use serde_json::Value;

use super::ast::{Condition, Group, Join, Op, Query, Test};
use super::geo::{Near, Point, Radius, Unit};

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

/// A refusal of a form the emulator does not support.
fn unsupported(part: impl std::fmt::Display) -> String {
    format!("unsupported query: {part}; {SUPPORTED}")
}

/// A refusal of a supported form with a wrong value.
fn invalid(part: impl std::fmt::Display) -> String {
    format!("invalid query: {part}")
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
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
                None if self.rest().is_empty() => {
                    return Err(unsupported("a condition is missing its field"));
                }
                None => {
                    return Err(unsupported(format!(
                        "expected a field name at {}",
                        self.excerpt()
                    )));
                }
            }
            if !self.eat('.') {
                return Ok(parts);
            }
        }
    }

    /// The operator and what follows it.
    fn test(&mut self, path: &[String]) -> Result<Test, String> {
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
                self.skip_ws();
                return Ok(Test::Compare(op, self.value()?));
            }
        }
        let field = path.join(".");
        if rest.starts_with('[') {
            return Err(unsupported(format!(
                "a nested `[` inside a group after `{field}` (write it after the group: \
                 [...].{field}[...])"
            )));
        }
        match self.word() {
            Some("near") => Ok(Test::Near(self.near()?)),
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
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let (text, number) = self.number()?;
                if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    let unit = self.word().unwrap_or("");
                    return Err(unsupported(format!(
                        "value `{text}{unit}` (a distance is only allowed after near (...))"
                    )));
                }
                Ok(number)
            }
            Some('/') => Err(unsupported("regular expression values")),
            Some('(') => Err(unsupported("list values (`in (...)`)")),
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

    /// A JSON number: its text and value.
    fn number(&mut self) -> Result<(&'a str, Value), String> {
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
        Ok((text, value))
    }

    /// A number for `near`: finite.
    fn coordinate(&mut self, what: &str) -> Result<f64, String> {
        self.skip_ws();
        if !self.peek().is_some_and(|c| c == '-' || c.is_ascii_digit()) {
            return Err(unsupported(format!(
                "near needs (longitude, latitude): expected the {what} at {}",
                self.excerpt()
            )));
        }
        let (text, value) = self.number()?;
        value
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| invalid(format!("the {what} `{text}` is not a finite number")))
    }

    /// `(longitude, latitude)` and an optional `, radius[unit]`.
    fn near(&mut self) -> Result<Near, String> {
        self.skip_ws();
        if !self.eat('(') {
            return Err(unsupported(format!(
                "near needs (longitude, latitude), found {}",
                self.excerpt()
            )));
        }
        let longitude = self.coordinate("longitude")?;
        self.skip_ws();
        if !self.eat(',') {
            return Err(unsupported(format!(
                "near needs (longitude, latitude): expected `,` at {}",
                self.excerpt()
            )));
        }
        let latitude = self.coordinate("latitude")?;
        self.skip_ws();
        if !self.eat(')') {
            return Err(unsupported(format!(
                "near needs (longitude, latitude): expected `)` at {}",
                self.excerpt()
            )));
        }
        let point = Point::new(longitude, latitude).map_err(|e| invalid(format!("near: {e}")))?;
        Ok(Near {
            point,
            radius: self.radius()?,
        })
    }

    /// `, 30mi` after `near (...)`: a comma followed by a number (a field
    /// name cannot start with a digit, so this is not the next condition).
    fn radius(&mut self) -> Result<Option<Radius>, String> {
        let before = self.pos;
        self.skip_ws();
        if !self.eat(',') {
            self.pos = before;
            return Ok(None);
        }
        self.skip_ws();
        if !self
            .peek()
            .is_some_and(|c| c == '-' || c == '.' || c.is_ascii_digit())
        {
            self.pos = before;
            return Ok(None);
        }
        let (text, value) = self.number()?;
        let amount = value
            .as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| invalid(format!("near: the radius `{text}` must be a number >= 0")))?;
        let unit = match self.word() {
            None => None,
            Some(name) => Some(Unit::parse(name).ok_or_else(|| {
                unsupported(format!("radius unit `{name}` (use {})", Unit::NAMES))
            })?),
        };
        Ok(Some(Radius { amount, unit }))
    }
}

impl Parser<'_> {
    /// The separator after a condition: `,`, `or`, or the group's end (`None`).
    fn separator(&mut self) -> Result<Option<Join>, String> {
        self.skip_ws();
        if self.eat(',') {
            return Ok(Some(Join::And));
        }
        if self.eat(']') {
            return Ok(None);
        }
        match self.word() {
            Some(w) if w.eq_ignore_ascii_case("or") => Ok(Some(Join::Or)),
            Some(w) => Err(unsupported(format!("`{w}` between conditions"))),
            None if self.rest().is_empty() => Err(unsupported("an unbalanced `[` (missing `]`)")),
            None => Err(unsupported(format!(
                "{} between conditions",
                self.excerpt()
            ))),
        }
    }

    /// A group's conditions after its `[`, through its `]`.
    fn group(&mut self, field: Vec<String>) -> Result<Group, String> {
        let mut group = Group {
            field,
            join: Join::And,
            conditions: Vec::new(),
        };
        self.skip_ws();
        if self.eat(']') {
            return Ok(group);
        }
        let mut join = None;
        loop {
            self.skip_ws();
            let path = self.path()?;
            self.skip_ws();
            let test = self.test(&path)?;
            group.conditions.push(Condition { path, test });
            if group.conditions.len() > MAX_CONDITIONS {
                return Err(unsupported(format!(
                    "more than {MAX_CONDITIONS} conditions in one group"
                )));
            }
            match (self.separator()?, join) {
                (None, _) => break,
                (Some(next), None) => join = Some(next),
                (Some(next), Some(before)) if next == before => {}
                (Some(_), Some(_)) => {
                    return Err(unsupported(
                        "`,` (and) and `or` in one group (CloudMine allows one or the other)",
                    ));
                }
            }
        }
        group.join = join.unwrap_or(Join::And);
        Ok(group)
    }

    /// The field before a group's `[` (empty for the first group's bare `[`).
    fn group_field(&mut self, first: bool) -> Result<Vec<String>, String> {
        if first && self.eat('[') {
            return Ok(Vec::new());
        }
        let field = self.path()?;
        if self.eat('[') {
            return Ok(field);
        }
        let field = field.join(".");
        Err(if first {
            unsupported(format!(
                "a query must start with `[` or `field[`, found `{field}` then {}",
                self.excerpt()
            ))
        } else {
            unsupported(format!("expected `[` after `.{field}`"))
        })
    }

    /// What follows a group: the end, or `.field[` of the next group.
    fn after_group(&mut self) -> Result<Option<Vec<String>>, String> {
        self.skip_ws();
        if self.rest().is_empty() {
            return Ok(None);
        }
        if self.eat('.') {
            return self.group_field(false).map(Some);
        }
        let excerpt = self.excerpt();
        Err(match self.word() {
            Some(w) if w.eq_ignore_ascii_case("or") => unsupported("`or` between bracket groups"),
            _ if self.peek() == Some('[') => {
                unsupported("more than one bracket group without a `.field` between them")
            }
            _ => unsupported(format!("trailing text {excerpt}")),
        })
    }
}

/// Parses a query string.
pub fn parse(src: &str) -> Result<Query, String> {
    if src.len() > MAX_LEN {
        return Err(unsupported(format!("a query longer than {MAX_LEN} bytes")));
    }
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    if p.rest().is_empty() {
        return Err(unsupported("an empty query"));
    }
    let mut groups = Vec::new();
    let mut field = Some(p.group_field(true)?);
    while let Some(f) = field {
        if groups.len() == MAX_GROUPS {
            return Err(unsupported(format!(
                "more than {MAX_GROUPS} chained groups"
            )));
        }
        groups.push(p.group(f)?);
        field = p.after_group()?;
    }
    let query = Query { groups };
    let nears = query
        .groups
        .iter()
        .flat_map(|g| &g.conditions)
        .filter(|c| matches!(c.test, Test::Near(_)))
        .count();
    if nears > 1 {
        return Err(unsupported("more than one `near` in a query"));
    }
    Ok(query)
}
