//! The parser and evaluator on their own.

use serde_json::json;

use super::*;

fn ok(q: &str) -> Query {
    parse(q).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn refused(q: &str, part: &str) {
    let e = parse(q).expect_err(q);
    assert!(e.starts_with("unsupported query"), "{q}: {e}");
    assert!(e.contains(part), "{q}: {e} should name {part:?}");
}

fn invalid(q: &str, part: &str) {
    let e = parse(q).expect_err(q);
    assert!(e.starts_with("invalid query"), "{q}: {e}");
    assert!(e.contains(part), "{q}: {e} should name {part:?}");
}

fn comparison(c: &Condition) -> (Op, &serde_json::Value) {
    match &c.test {
        Test::Compare(op, v) => (*op, v),
        Test::Near(_) => panic!("not a comparison"),
    }
}

#[test]
fn parses_one_group() {
    let q = ok(
        r#"[__class__ = "car", price < 20000, specs.color != "red", used = false, x >= -1.5, y <= 2, z > 0, n = null]"#,
    );
    assert_eq!(q.groups.len(), 1);
    let g = &q.groups[0];
    assert!(g.field.is_empty());
    assert_eq!(g.join, Join::And);
    assert_eq!(g.conditions.len(), 8);
    assert_eq!(g.conditions[2].path, ["specs", "color"]);
    assert_eq!(comparison(&g.conditions[4]), (Op::Ge, &json!(-1.5)));
    let q = ok(r#"  [ a="x\"y" ]  "#);
    assert_eq!(comparison(&q.groups[0].conditions[0]).1, &json!("x\"y"));
    assert_eq!(
        ok("[__id__ = \"k\"]").groups[0].conditions[0].path,
        ["__id__"]
    );
    assert!(ok("[]").groups[0].conditions.is_empty());
    assert!(ok("[ ]").groups[0].conditions.is_empty());
}

#[test]
fn parses_or_groups() {
    let q = ok(r#"[a = 1 or b = 2 OR c = "x"]"#);
    assert_eq!(q.groups[0].join, Join::Or);
    assert_eq!(q.groups[0].conditions.len(), 3);
    refused("[a = 1, b = 2 or c = 3]", "one or the other");
    refused("[a = 1 or b = 2, c = 3]", "one or the other");
    refused("[a = 1 or]", "expected a field name at `]`");
}

#[test]
fn parses_chains() {
    let q = ok(r#"[__type__ = "file", color = "red"].location[blah = "blah"]"#);
    assert_eq!(q.groups.len(), 2);
    assert!(q.groups[0].field.is_empty());
    assert_eq!(q.groups[1].field, ["location"]);
    let q = ok(r#"location[blah = "blah"]"#);
    assert_eq!(q.groups.len(), 1);
    assert_eq!(q.groups[0].field, ["location"]);
    let q = ok(r#"field.innerField[name = "Joe"].deeper[n > 1 or n < -1]"#);
    assert_eq!(q.groups[0].field, ["field", "innerField"]);
    assert_eq!(q.groups[1].field, ["deeper"]);
    assert_eq!(q.groups[1].join, Join::Or);
    assert_eq!(ok("[].location[]").groups.len(), 2);
}

#[test]
fn parses_near() {
    let q = ok("[loc near (-75.1, 39.9), 30mi, name = \"x\"]");
    let g = &q.groups[0];
    assert_eq!(g.conditions.len(), 2);
    let Test::Near(near) = g.conditions[0].test else {
        panic!("near")
    };
    assert_eq!(near.point, Point::new(-75.1, 39.9).unwrap());
    assert_eq!(
        near.radius,
        Some(Radius {
            amount: 30.0,
            unit: Some(Unit::Mi)
        })
    );
    let radius = |q: &str| match ok(q).groups[0].conditions[0].test {
        Test::Near(n) => n.radius,
        Test::Compare(..) => panic!("near"),
    };
    assert_eq!(radius("[l near (1,2)]"), None);
    assert_eq!(radius("[l near ( 1 , 2 ) , 2.5]").unwrap().unit, None);
    for unit in ["km", "mi", "m", "ft"] {
        let r = radius(&format!("[l near (1, 2), 10{unit}]")).unwrap();
        assert_eq!(r.unit.map(Unit::name), Some(unit));
    }
    assert_eq!(radius("[l near (1, 2), 0km]").unwrap().amount, 0.0);
    assert_eq!(
        ok("[l near (1, 2), 5km or b = 2]").groups[0]
            .conditions
            .len(),
        2
    );
    assert!(ok("[a = 1].x[l near (1, 2)]").has_near());
    assert!(!ok("[a = 1].x[l = 2]").has_near());
}

#[test]
fn refuses_bad_near() {
    invalid("[l near (181, 0)]", "longitude 181");
    invalid("[l near (-180.5, 0)]", "longitude");
    invalid("[l near (0, 90.01)]", "latitude 90.01");
    invalid("[l near (0, -91)]", "latitude");
    refused("[l near (1e999, 0)]", "number `1e999`");
    invalid("[l near (0, 0), -5mi]", "radius");
    refused("[l near (0, 0), 1e999km]", "number `1e999`");
    refused("[l near (0, 0), 5miles]", "unit `miles`");
    refused("[l near (0, 0), 5 mi]", "`mi` between");
    refused("[l near 0, 0]", "near needs");
    refused("[l near (0 0)]", "expected `,`");
    refused("[l near (0, 0]", "expected `)`");
    refused("[l near (a, 0)]", "longitude");
    refused("[l near (0, \"x\")]", "latitude");
    refused("[l near (0, 0)", "unbalanced");
    refused("[a near (0, 0), b near (1, 1)]", "more than one `near`");
    refused("[a near (0, 0)].b[c near (1, 1)]", "more than one `near`");
}

#[test]
fn refuses_everything_else() {
    refused("", "empty");
    refused("   ", "empty");
    refused(r#"[a = 1] or [b = 2]"#, "or");
    refused(r#"[showroom[make = "x"]]"#, "nested `[`");
    refused(r#"[a = 1][b = 2]"#, "more than one bracket group");
    refused("[a = /x/]", "regular expression");
    refused("[a in (1, 2)]", "operator `in`");
    refused("[a = (1, 2)]", "list values");
    refused("[a like 1]", "operator `like`");
    refused("[a = 1", "unbalanced");
    refused("[a = 1] junk", "trailing");
    refused("a = 1", "start with `[` or `field[`");
    refused("[a = 1].b", "expected `[` after `.b`");
    refused("[a = 1].", "missing its field");
    refused("[a = 1].[b = 1]", "field name");
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
fn refuses_beyond_the_limits() {
    refused(&format!("[a = \"{}\"]", "x".repeat(MAX_LEN)), "longer than");
    let chain: String = std::iter::once("[]".to_owned())
        .chain((0..MAX_GROUPS).map(|i| format!(".f{i}[]")))
        .collect();
    refused(&chain, "chained groups");
    let ok_chain: String = std::iter::once("[]".to_owned())
        .chain((1..MAX_GROUPS).map(|i| format!(".f{i}[]")))
        .collect();
    assert_eq!(ok(&ok_chain).groups.len(), MAX_GROUPS);
    let many = vec!["a = 1"; MAX_CONDITIONS + 1].join(", ");
    refused(&format!("[{many}]"), "conditions in one group");
    let enough = vec!["a = 1"; MAX_CONDITIONS].join(", ");
    assert_eq!(
        ok(&format!("[{enough}]")).groups[0].conditions.len(),
        MAX_CONDITIONS
    );
}

#[test]
fn evaluates_one_group() {
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
    assert!(ok("[]").matches("k", &car));
    assert!(ok("[price = 1 or __class__ = \"car\"]").matches("k", &car));
    assert!(!ok("[price = 1 or __class__ = \"bus\"]").matches("k", &car));
}

#[test]
fn evaluates_chains() {
    let dealer = json!({
        "name": "Joe's auto",
        "location": {"blah": "blah", "city": {"name": "Philly"}},
        "showroom": [
            {"make": "Toyota", "year": 2013},
            {"make": "Honda", "year": 2012},
            "not an object"
        ],
        "__id__": "inner-id-is-not-the-key"
    });
    let m = |q: &str| ok(q).matches("dealer", &dealer);
    assert!(m(r#"location[blah = "blah"]"#));
    assert!(m(r#"[name = "Joe's auto"].location[blah = "blah"]"#));
    assert!(m(r#"[].location[blah = "blah"]"#));
    assert!(!m(r#"[name = "other"].location[blah = "blah"]"#));
    assert!(!m(r#"location[blah = "other"]"#));
    assert!(m(r#"location.city[name = "Philly"]"#));
    assert!(m(r#"location[blah = "blah"].city[name = "Philly"]"#));
    assert!(!m(r#"location[blah = "blah"].city[name = "NYC"]"#));
    assert!(
        !m(r#"nowhere[a != 1]"#),
        "a missing field has no sub-object"
    );
    assert!(!m(r#"name[a != 1]"#), "a string is not a sub-object");
    assert!(m(r#"showroom[make = "Honda" or make = "Toyota"]"#));
    assert!(m(r#"showroom[make = "Honda", year = 2012]"#));
    assert!(
        !m(r#"showroom[make = "Honda", year = 2013]"#),
        "one element must match all"
    );
    assert!(m(r#"[__id__ = "dealer"]"#));
    assert!(
        !m(r#"location[__id__ = "dealer"]"#),
        "__id__ in a sub-object is its own"
    );
}

#[test]
fn evaluates_near_with_distance() {
    let philly =
        json!({"loc": {"__type__": "geopoint", "longitude": -75.163994, "latitude": 39.950727}});
    let nyc =
        json!({"loc": {"__type__": "geopoint", "longitude": -73.992920, "latitude": 40.696050}});
    let broken = json!({"loc": {"__type__": "geopoint", "longitude": -75.1, "latitude": 99}});
    let q = ok("[loc near (-75.163994, 39.950727), 30mi]");
    let hit = q.evaluate("p", &philly, Unit::Km).unwrap();
    assert!(hit.distance_km.unwrap() < 1e-9);
    assert!(q.evaluate("n", &nyc, Unit::Km).is_none());
    assert!(q.evaluate("b", &broken, Unit::Km).is_none());
    let q = ok("[loc near (-75.163994, 39.950727), 81]");
    assert!(q.evaluate("n", &nyc, Unit::Mi).is_some(), "81 mi");
    assert!(q.evaluate("n", &nyc, Unit::Km).is_none(), "81 km");
    let unbounded = ok("[loc near (-75.163994, 39.950727)]");
    let d = unbounded
        .evaluate("n", &nyc, Unit::Km)
        .unwrap()
        .distance_km
        .unwrap();
    assert!((d - 129.6).abs() < 0.7, "{d}");
    assert!(unbounded.evaluate("b", &broken, Unit::Km).is_none());
    let either = ok("[loc near (0, 0), 1km or name = \"x\"]");
    let named = json!({"name": "x", "loc": {"__type__": "geopoint", "lon": 1, "lat": 0}});
    let d = either
        .evaluate("x", &named, Unit::Km)
        .unwrap()
        .distance_km
        .unwrap();
    assert!((d - 111.2).abs() < 0.1, "{d}");
}

#[test]
fn near_in_an_array_takes_the_nearest_match() {
    let shops = json!({"shops": [
        {"at": {"__type__": "geopoint", "longitude": 2, "latitude": 0}},
        {"at": {"__type__": "geopoint", "longitude": 1, "latitude": 0}},
        {"at": "nowhere"}
    ]});
    let q = ok("shops[at near (0, 0)]");
    let d = q
        .evaluate("s", &shops, Unit::Km)
        .unwrap()
        .distance_km
        .unwrap();
    assert!((d - 111.2).abs() < 0.1, "{d}");
    assert!(
        ok("shops[at near (0, 0), 100km]")
            .evaluate("s", &shops, Unit::Km)
            .is_none()
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

#[test]
fn minus_zero_sorts_as_zero() {
    let (minus, zero) = (json!(-0.0), json!(0));
    assert_eq!(
        compare(Some(&minus), Some(&zero)),
        std::cmp::Ordering::Equal
    );
    assert_eq!(
        compare(Some(&json!(-1e-300)), Some(&minus)),
        std::cmp::Ordering::Less
    );
}
