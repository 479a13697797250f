//! [`Query`] and [`Field`]: a CloudMine query built from typed parts and
//! written as the query text every search call takes.

use std::fmt;

use serde_json::Value;

use super::field::check_path;
use super::js;
use super::literal::Literal;
use crate::error::{Error, Result};
use crate::geo::Near;

/// How a group's conditions are joined: `,` (and) or `or`. CloudMine
/// allows one or the other in a group, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    And,
    Or,
}

/// A CloudMine query: one bracket group of conditions joined by `,` (and)
/// or by `or`. Its `Display` (and `Into<String>`) is the query text, so
/// every search call ([`Objects::search`](crate::Objects::search),
/// [`Users::search`](crate::Users::search), [`Acls::search`](crate::Acls::search)…)
/// takes a `Query` as well as a string.
///
/// Field names are checked when they enter ([`Query::field`]); strings are
/// escaped for the query language; combining `and` with `or` in one group,
/// which CloudMine does not allow, is refused with [`Error::InvalidArgument`].
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::Query;
/// let cheap_fords = Query::class("car")
///     .and(Query::field("price")?.lt(20000))?
///     .and(Query::field("make")?.eq("Ford"))?;
/// assert_eq!(
///     cheap_fords.to_string(),
///     r#"[__class__ = "car", price < 20000, make = "Ford"]"#
/// );
/// let found = ws.objects().search(cheap_fords).await?;
/// let either = Query::field("color")?.is_in(["red", "blue"])?;
/// assert_eq!(either.to_string(), r#"[color = "red" or color = "blue"]"#);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `field` of a nested group, `field[...]`.
    scope: Option<String>,
    join: Join,
    conditions: Vec<String>,
    nears: usize,
}

/// A field (a name or a dotted path) to compare, from [`Query::field`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    path: String,
}

impl Query {
    /// A query with no conditions, `[]`: everything matches.
    pub fn all() -> Query {
        Query {
            scope: None,
            join: Join::And,
            conditions: Vec::new(),
            nears: 0,
        }
    }

    fn one(condition: String) -> Query {
        Query {
            conditions: vec![condition],
            ..Query::all()
        }
    }

    /// The field `path` (`price`, `place.city`, `__id__`) to compare. A
    /// name the query language cannot write (a space, a quote, a leading
    /// digit…: it has no quoting) is [`Error::InvalidArgument`].
    /// ```
    /// use cloudmine::Query;
    /// assert_eq!(Query::field("owner.name").unwrap().eq("Ann").to_string(), r#"[owner.name = "Ann"]"#);
    /// assert!(Query::field("first name").is_err());
    /// assert!(Query::field("a]").is_err());
    /// ```
    pub fn field(path: impl Into<String>) -> Result<Field> {
        let path = path.into();
        check_path("field", &path)?;
        Ok(Field { path })
    }

    /// Objects of one class: `[__class__ = "car"]`.
    /// ```
    /// assert_eq!(cloudmine::Query::class("car").to_string(), r#"[__class__ = "car"]"#);
    /// ```
    pub fn class(name: impl Into<String>) -> Query {
        Field {
            path: "__class__".to_owned(),
        }
        .eq(name.into())
    }

    /// A [`Near`] condition, to combine with others by [`and`](Self::and).
    /// ```
    /// use cloudmine::{GeoPoint, Near, Query};
    /// let near = Near::new("loc", GeoPoint::new(0.0, 1.0).unwrap()).unwrap();
    /// let q = Query::near(&near).and(Query::class("cafe")).unwrap();
    /// assert_eq!(q.to_string(), r#"[loc near (1, 0), __class__ = "cafe"]"#);
    /// ```
    pub fn near(near: &Near) -> Query {
        Query {
            nears: 1,
            ..Query::one(near.condition())
        }
    }

    /// Both this query's conditions and `other`'s (`,`). Either one already
    /// joined by `or`, or a second `near`, is [`Error::InvalidArgument`].
    pub fn and(self, other: Query) -> Result<Query> {
        self.join_with(other, Join::And)
    }

    /// This query's conditions or `other`'s (`or`). Either one already
    /// joined by `,`, or a second `near`, is [`Error::InvalidArgument`].
    /// ```
    /// use cloudmine::Query;
    /// let q = Query::field("a").unwrap().eq(1).or(Query::field("b").unwrap().eq(2)).unwrap();
    /// assert_eq!(q.to_string(), "[a = 1 or b = 2]");
    /// assert!(q.and(Query::class("x")).is_err());
    /// ```
    pub fn or(self, other: Query) -> Result<Query> {
        self.join_with(other, Join::Or)
    }

    fn joins_as(&self, join: Join) -> bool {
        self.conditions.len() < 2 || self.join == join
    }

    fn join_with(mut self, other: Query, join: Join) -> Result<Query> {
        if !(self.joins_as(join) && other.joins_as(join)) {
            return Err(Error::invalid_argument(
                "query",
                "CloudMine allows `,` (and) or `or` in one query, not both",
            ));
        }
        if self.scope != other.scope {
            return Err(Error::invalid_argument(
                "query",
                "queries on different nested fields (`field[...]`) cannot be joined",
            ));
        }
        if self.nears + other.nears > 1 {
            return Err(Error::invalid_argument(
                "query",
                "CloudMine allows one `near` in a query",
            ));
        }
        self.conditions.extend(other.conditions);
        self.nears += other.nears;
        self.join = join;
        Ok(self)
    }

    /// The query the official JS SDK's `convertQueryInput` makes of a JSON
    /// object, byte for byte: `{"make": "Ford", "year": 2012}` becomes
    /// `[make = "Ford", year = 2012]`, each value written by JavaScript's
    /// `JSON.stringify` (so nested objects and arrays are written as JSON,
    /// which CloudMine's language does not read). Unlike the JS SDK, which
    /// writes keys as they are, a key that is not a field name is
    /// [`Error::InvalidArgument`], and so is a value that is not an object.
    /// Integers beyond 2⁵³ are written exactly, where JavaScript rounds them.
    /// ```
    /// use cloudmine::Query;
    /// use serde_json::json;
    /// let q = Query::from_json(&json!({"make": "Ford", "price": 19999.5})).unwrap();
    /// assert_eq!(q.to_string(), r#"[make = "Ford", price = 19999.5]"#);
    /// assert!(Query::from_json(&json!({"first name": "Ann"})).is_err());
    /// ```
    pub fn from_json(input: &Value) -> Result<Query> {
        let Value::Object(map) = input else {
            return Err(Error::invalid_argument(
                "query",
                "a JSON query is an object of field = value pairs (pass a text query as a string)",
            ));
        };
        let mut query = Query::all();
        for (key, value) in map {
            let field = Query::field(key.as_str())?;
            let written = Literal::written(js::stringify(value));
            query.conditions.push(field.condition("=", written));
        }
        Ok(query)
    }
}

impl Field {
    fn condition(&self, op: &str, value: Literal) -> String {
        format!("{} {op} {value}", self.path)
    }

    fn compare(self, op: &str, value: impl Into<Literal>) -> Query {
        Query::one(self.condition(op, value.into()))
    }

    /// `field = value`.
    pub fn eq(self, value: impl Into<Literal>) -> Query {
        self.compare("=", value)
    }

    /// `field != value`.
    pub fn ne(self, value: impl Into<Literal>) -> Query {
        self.compare("!=", value)
    }

    /// `field < value` (CloudMine compares numbers only).
    pub fn lt(self, value: impl Into<Literal>) -> Query {
        self.compare("<", value)
    }

    /// `field <= value`.
    pub fn le(self, value: impl Into<Literal>) -> Query {
        self.compare("<=", value)
    }

    /// `field > value`.
    pub fn gt(self, value: impl Into<Literal>) -> Query {
        self.compare(">", value)
    }

    /// `field >= value`.
    pub fn ge(self, value: impl Into<Literal>) -> Query {
        self.compare(">=", value)
    }

    /// The field equals one of `values`, written `[f = a or f = b …]` (the
    /// form CloudMine's documentation gives; so it joins others only by
    /// [`or`](Query::or)). No values is [`Error::InvalidArgument`].
    /// ```
    /// use cloudmine::Query;
    /// let q = Query::field("year").unwrap().is_in([2012, 2013]).unwrap();
    /// assert_eq!(q.to_string(), "[year = 2012 or year = 2013]");
    /// assert!(Query::field("year").unwrap().is_in(Vec::<i32>::new()).is_err());
    /// ```
    pub fn is_in<V: Into<Literal>>(self, values: impl IntoIterator<Item = V>) -> Result<Query> {
        let conditions: Vec<String> = values
            .into_iter()
            .map(|v| self.condition("=", v.into()))
            .collect();
        if conditions.is_empty() {
            return Err(Error::invalid_argument(
                "values",
                format!("`{} in` needs at least one value", self.path),
            ));
        }
        Ok(Query {
            join: Join::Or,
            conditions,
            ..Query::all()
        })
    }
}

impl Field {
    /// `query` applied to the sub-object at this field, `field[...]`: when
    /// the field holds an array, to each object in it (CloudMine's
    /// `showroom[make = "Honda" or make = "Toyota"]`). A query that is
    /// already nested is [`Error::InvalidArgument`].
    /// ```
    /// use cloudmine::Query;
    /// let makes = Query::field("make").unwrap().is_in(["Honda", "Toyota"]).unwrap();
    /// let q = Query::field("showroom").unwrap().has(makes).unwrap();
    /// assert_eq!(q.to_string(), r#"showroom[make = "Honda" or make = "Toyota"]"#);
    /// ```
    pub fn has(self, query: Query) -> Result<Query> {
        if query.scope.is_some() {
            return Err(Error::invalid_argument(
                "query",
                "the query is already on a nested field; write the path with `.` instead",
            ));
        }
        Ok(Query {
            scope: Some(self.path),
            ..query
        })
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = match self.join {
            Join::And => ", ",
            Join::Or => " or ",
        };
        if let Some(scope) = &self.scope {
            f.write_str(scope)?;
        }
        write!(f, "[{}]", self.conditions.join(separator))
    }
}

impl From<Query> for String {
    fn from(query: Query) -> String {
        query.to_string()
    }
}

impl From<&Query> for String {
    fn from(query: &Query) -> String {
        query.to_string()
    }
}
