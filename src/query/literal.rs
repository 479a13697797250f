//! [`Literal`]: a value on the right of a comparison, written the way the
//! query language reads it.

use std::fmt;

use crate::error::{Error, Result};

/// A value to compare a field with: a string, a number, `true`/`false` or
/// `null`. Made from Rust values with `From` (`"Ford"`, `20000`, `true`);
/// a float goes through [`Literal::float`], which refuses NaN and the
/// infinities (the query language has no way to write them).
///
/// ```
/// use cloudmine::Literal;
/// assert_eq!(Literal::from("say \"hi\"").to_string(), r#""say \"hi\"""#);
/// assert_eq!(Literal::from(-3).to_string(), "-3");
/// assert_eq!(Literal::float(2.5).unwrap().to_string(), "2.5");
/// assert!(Literal::float(f64::NAN).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Literal(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Text(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    Null,
    /// Already written (a JSON value of [`Query::from_json`](crate::Query::from_json)).
    Written(String),
}

impl Literal {
    /// A finite float; NaN or an infinity is [`Error::InvalidArgument`].
    pub fn float(value: f64) -> Result<Literal> {
        if value.is_finite() {
            Ok(Literal(Kind::Float(value)))
        } else {
            Err(Error::invalid_argument(
                "value",
                format!("{value} is not a finite number"),
            ))
        }
    }

    /// `null`.
    pub fn null() -> Literal {
        Literal(Kind::Null)
    }

    pub(crate) fn written(text: String) -> Literal {
        Literal(Kind::Written(text))
    }
}

/// A string in double quotes, escaped as the query language reads it:
/// `\"` and `\\`, and `\n`/`\t` for newline and tab; every other character
/// (other control characters and all of Unicode) as it is.
fn write_text(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            other => write!(f, "{other}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Text(text) => write_text(f, text),
            Kind::Int(n) => write!(f, "{n}"),
            // Rust writes a finite f64 without an exponent, in the shortest
            // digits that read back the same: a JSON number.
            Kind::Float(x) => write!(f, "{x}"),
            Kind::Bool(b) => write!(f, "{b}"),
            Kind::Null => f.write_str("null"),
            Kind::Written(text) => f.write_str(text),
        }
    }
}

impl From<&str> for Literal {
    fn from(text: &str) -> Literal {
        Literal(Kind::Text(text.to_owned()))
    }
}

impl From<String> for Literal {
    fn from(text: String) -> Literal {
        Literal(Kind::Text(text))
    }
}

impl From<&String> for Literal {
    fn from(text: &String) -> Literal {
        Literal(Kind::Text(text.clone()))
    }
}

impl From<bool> for Literal {
    fn from(b: bool) -> Literal {
        Literal(Kind::Bool(b))
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl From<$t> for Literal {
            fn from(n: $t) -> Literal {
                Literal(Kind::Int(i128::from(n)))
            }
        }
    )*};
}

integers!(i8, i16, i32, i64, u8, u16, u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_only_what_the_language_needs() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b", r#""a\"b""#),
            ("back\\slash", r#""back\\slash""#),
            ("line\nbreak\ttab", r#""line\nbreak\ttab""#),
            ("], = or [", r#""], = or [""#),
            ("é ü 漢 😀 \r", "\"é ü 漢 😀 \r\""),
        ];
        for (text, written) in cases {
            assert_eq!(Literal::from(text).to_string(), written);
        }
    }

    #[test]
    fn numbers_and_keywords() {
        assert_eq!(Literal::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Literal::from(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(
            Literal::float(1e21).unwrap().to_string(),
            "1000000000000000000000"
        );
        assert_eq!(Literal::float(-0.5).unwrap().to_string(), "-0.5");
        assert!(Literal::float(f64::INFINITY).is_err());
        assert_eq!(Literal::from(false).to_string(), "false");
        assert_eq!(Literal::null().to_string(), "null");
    }
}
