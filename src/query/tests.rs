//! Unit tests of the query text the builder writes.

use serde_json::json;

use super::{Literal, Query};
use crate::geo::{DistanceUnit, GeoPoint, Near};

fn field(path: &str) -> super::Field {
    Query::field(path).unwrap()
}

#[test]
fn every_operator() {
    let q = field("a").eq(1).and(field("b").ne("x")).unwrap();
    let q = q
        .and(field("c").lt(2))
        .unwrap()
        .and(field("d").le(3))
        .unwrap();
    let q = q.and(field("e").gt(Literal::float(-1.5).unwrap())).unwrap();
    let q = q.and(field("f").ge(0u8)).unwrap();
    assert_eq!(
        q.to_string(),
        r#"[a = 1, b != "x", c < 2, d <= 3, e > -1.5, f >= 0]"#
    );
    assert_eq!(String::from(field("g").eq(true)), "[g = true]");
    assert_eq!(String::from(&field("h").eq(Literal::null())), "[h = null]");
    assert_eq!(Query::all().to_string(), "[]");
}

#[test]
fn paths_and_names() {
    for ok in ["a.b.c", "__id__", "x-y", "_1", "A9"] {
        assert!(Query::field(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "1a", "-a", "a b", "a.", ".a", "a..b", "a\"", "a]", "a,b", "a=b", "é", "a\n",
    ] {
        let e = Query::field(bad).unwrap_err();
        assert!(e.to_string().contains("not a field name"), "{bad}: {e}");
    }
}

#[test]
fn and_or_mixing_is_refused() {
    let or = field("a").eq(1).or(field("b").eq(2)).unwrap();
    let e = or.clone().and(field("c").eq(3)).unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
    assert!(field("c").eq(3).and(or.clone()).is_err());
    let or3 = or.or(field("c").eq(3)).unwrap();
    assert_eq!(or3.to_string(), "[a = 1 or b = 2 or c = 3]");
    let and = field("a").eq(1).and(field("b").eq(2)).unwrap();
    assert!(and.or(field("c").eq(3)).is_err());
    // An empty query joins either way.
    assert_eq!(
        Query::all().or(or3).unwrap().to_string(),
        "[a = 1 or b = 2 or c = 3]"
    );
}

#[test]
fn in_and_near() {
    let q = field("make").is_in(vec!["Ford".to_string()]).unwrap();
    assert_eq!(q.to_string(), r#"[make = "Ford"]"#);
    let e = field("make").is_in(Vec::<&str>::new()).unwrap_err();
    assert!(e.to_string().contains("at least one value"), "{e}");
    let here = GeoPoint::new(1.0, 2.0).unwrap();
    let near = Near::new("loc", here)
        .unwrap()
        .within(3.0, DistanceUnit::Mi)
        .unwrap();
    let q = Query::near(&near).and(field("kind").eq("cafe")).unwrap();
    assert_eq!(q.to_string(), r#"[loc near (2, 1), 3mi, kind = "cafe"]"#);
    let e = q.and(Query::near(&near)).unwrap_err();
    assert!(e.to_string().contains("one `near`"), "{e}");
}

#[test]
fn from_json_as_the_js_sdk() {
    let q = Query::from_json(&json!({"a": 1, "b": "x\"y", "c": {"d": [1, null]}, "e": 1.0}));
    assert_eq!(
        q.unwrap().to_string(),
        r#"[a = 1, b = "x\"y", c = {"d":[1,null]}, e = 1]"#
    );
    assert_eq!(Query::from_json(&json!({})).unwrap().to_string(), "[]");
    for bad in [json!("[a = 1]"), json!([1]), json!(null), json!({"2": 1})] {
        assert!(Query::from_json(&bad).is_err(), "{bad}");
    }
}

#[test]
fn nested_groups() {
    let inner = field("make")
        .eq("Honda")
        .and(field("year").gt(2010))
        .unwrap();
    let q = field("showroom").has(inner).unwrap();
    assert_eq!(q.to_string(), r#"showroom[make = "Honda", year > 2010]"#);
    let e = field("lot").has(q.clone()).unwrap_err();
    assert!(e.to_string().contains("already on a nested field"), "{e}");
    let e = q.clone().and(field("name").eq("x")).unwrap_err();
    assert!(e.to_string().contains("different nested fields"), "{e}");
    let more = field("showroom").has(field("color").eq("red")).unwrap();
    assert_eq!(
        q.and(more).unwrap().to_string(),
        r#"showroom[make = "Honda", year > 2010, color = "red"]"#
    );
}
