//! Geo search over HTTP: `near` with each radius unit, nearest-first order,
//! the `distance`/`units` metadata, refusals of bad coordinates and params,
//! at app and user level.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::user::User;
use support::{App, json_of, message};

const APP: &str = "app";
const KEY: &str = "geo-test-secret";
const CM: App = App(APP, KEY);

/// Philadelphia, the reference point of the JS SDK suite.
const PHILLY: &str = "(-75.163994, 39.950727)";

fn geopoint(longitude: f64, latitude: f64) -> Value {
    json!({"__type__": "geopoint", "longitude": longitude, "latitude": latitude})
}

/// Keys sort differently from distance: c_phl 0 km, a_con 18.69 km
/// (11.62 mi), b_nyc 129.32 km (80.36 mi) from Philadelphia.
fn places() -> Value {
    json!({
        "a_con": {"name": "Conshohocken", "loc": geopoint(-75.318146, 40.070400)},
        "b_nyc": {"name": "New York", "loc": geopoint(-73.992920, 40.696050)},
        "c_phl": {"name": "Philadelphia", "loc": geopoint(-75.163994, 39.950727)},
        "d_bad": {"name": "Broken", "loc": {"__type__": "geopoint", "longitude": -75.1, "latitude": 99}},
        "e_untyped": {"name": "Untyped", "loc": {"longitude": -75.16, "latitude": 39.95}},
        "f_none": {"name": "Nowhere"},
    })
}

async fn emulator() -> Emulator {
    let emu = support::builder().app(APP, KEY).start().await.unwrap();
    let (s, b) = CM
        .call(&emu, Method::PUT, "text", Some(&places().to_string()))
        .await;
    assert!(s.is_success(), "{s} {b}");
    emu
}

fn with_query(path: &str, q: &str, extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", q).extend_pairs(extra);
    format!("{path}?{}", query.finish())
}

async fn search(emu: &Emulator, q: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let path = with_query("search", q, extra);
    json_of(CM.request(emu, Method::GET, &path).send().await.unwrap()).await
}

/// The keys found, in answer order.
async fn found(emu: &Emulator, q: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let (s, b) = search(emu, q, extra).await;
    assert_eq!(s, StatusCode::OK, "{q}: {b}");
    b["success"].as_object().unwrap().keys().cloned().collect()
}

fn close(actual: &Value, expected: f64, tolerance: f64) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{actual} is not a number"));
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} vs {expected}"
    );
}

#[tokio::test]
async fn near_with_each_radius_unit() {
    let emu = emulator().await;
    let near = |radius: &str| format!("[loc near {PHILLY}{radius}]");
    for (radius, expected) in [
        (", 30mi", &["c_phl", "a_con"][..]),
        (", 11mi", &["c_phl"][..]),
        (", 100km", &["c_phl", "a_con"][..]),
        (", 130km", &["c_phl", "a_con", "b_nyc"][..]),
        (", 20000m", &["c_phl", "a_con"][..]),
        (", 18000m", &["c_phl"][..]),
        (", 62000ft", &["c_phl", "a_con"][..]),
        (", 61000ft", &["c_phl"][..]),
        (", 0km", &["c_phl"][..]),
        ("", &["c_phl", "a_con", "b_nyc"][..]),
    ] {
        assert_eq!(found(&emu, &near(radius), &[]).await, expected, "{radius}");
    }
    // A bare radius is in `units`, km by default.
    assert_eq!(found(&emu, &near(", 81"), &[]).await, ["c_phl", "a_con"]);
    assert_eq!(
        found(&emu, &near(", 81"), &[("units", "mi")]).await,
        ["c_phl", "a_con", "b_nyc"]
    );
    // A unit in the query wins over `units`.
    assert_eq!(
        found(&emu, &near(", 81km"), &[("units", "mi")]).await,
        ["c_phl", "a_con"]
    );
}

#[tokio::test]
async fn nearest_first_unless_sorted() {
    let emu = emulator().await;
    let from_nyc = "[loc near (-74, 40.70)]";
    assert_eq!(
        found(&emu, from_nyc, &[]).await,
        ["b_nyc", "c_phl", "a_con"]
    );
    assert_eq!(
        found(&emu, &format!("[loc near {PHILLY}]"), &[]).await,
        ["c_phl", "a_con", "b_nyc"]
    );
    // `sort` orders the matches instead; paging applies after the order.
    assert_eq!(
        found(&emu, from_nyc, &[("sort", "name")]).await,
        ["a_con", "b_nyc", "c_phl"]
    );
    assert_eq!(
        found(&emu, from_nyc, &[("limit", "1"), ("skip", "1")]).await,
        ["c_phl"]
    );
    // An `or` with a non-geo condition: located matches first.
    assert_eq!(
        found(
            &emu,
            &format!("[loc near {PHILLY}, 1km or name = \"Nowhere\"]"),
            &[]
        )
        .await,
        ["c_phl", "f_none"]
    );
}

#[tokio::test]
async fn distance_metadata() {
    let emu = emulator().await;
    let q = format!("[loc near {PHILLY}]");
    let (s, b) = search(&emu, &q, &[("distance", "true"), ("units", "mi")]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let meta = b["meta"].as_object().unwrap();
    assert_eq!(meta.keys().collect::<Vec<_>>(), ["c_phl", "a_con", "b_nyc"]);
    close(&meta["c_phl"]["geo"]["distance"], 0.0, 1e-9);
    close(&meta["a_con"]["geo"]["distance"], 11.62, 0.06);
    close(&meta["b_nyc"]["geo"]["distance"], 80.36, 0.4);
    assert_eq!(meta["b_nyc"]["geo"]["units"], "mi");
    assert_eq!(meta["b_nyc"], json!({"geo": meta["b_nyc"]["geo"].clone()}));
    for (units, expected) in [("km", 129.32), ("m", 129_320.0), ("ft", 424_280.0)] {
        let (_, b) = search(&emu, &q, &[("distance", "true"), ("units", units)]).await;
        close(
            &b["meta"]["b_nyc"]["geo"]["distance"],
            expected,
            expected * 0.005,
        );
        assert_eq!(b["meta"]["b_nyc"]["geo"]["units"], units);
    }
    // Default units: km.
    let (_, b) = search(&emu, &q, &[("distance", "true")]).await;
    assert_eq!(b["meta"]["a_con"]["geo"]["units"], "km");
    // Only the page's results; the count is of every match.
    let (_, b) = search(
        &emu,
        &q,
        &[("distance", "true"), ("limit", "1"), ("count", "true")],
    )
    .await;
    assert_eq!(
        b["meta"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["c_phl"]
    );
    assert_eq!(b["count"], 3);
    // No meta without distance=true, nor for a query without `near`.
    for extra in [&[][..], &[("distance", "false")][..]] {
        let (_, b) = search(&emu, &q, extra).await;
        assert!(b.get("meta").is_none(), "{b}");
    }
    let (_, b) = search(&emu, "[name = \"New York\"]", &[("distance", "true")]).await;
    assert!(b.get("meta").is_none(), "{b}");
    assert_eq!(b["success"].as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_stored_geopoints_do_not_match() {
    let emu = emulator().await;
    let everything = format!("[loc near {PHILLY}]");
    let keys = found(&emu, &everything, &[]).await;
    assert!(!keys.contains(&"d_bad".to_owned()), "{keys:?}");
    assert!(!keys.contains(&"e_untyped".to_owned()), "{keys:?}");
    assert_eq!(found(&emu, "[loc near (-75.1, 89.9)]", &[]).await.len(), 3);
}

#[tokio::test]
async fn bad_coordinates_and_params_are_refused() {
    let emu = emulator().await;
    for (q, part) in [
        (
            "[loc near (-75.1, 91)]",
            "latitude 91 is out of range (-90 to 90)",
        ),
        ("[loc near (-75.1, -90.5)]", "latitude -90.5"),
        (
            "[loc near (181, 40)]",
            "longitude 181 is out of range (-180 to 180)",
        ),
        ("[loc near (-180.01, 40)]", "longitude -180.01"),
        (
            "[loc near (0, 0), -1mi]",
            "radius `-1` must be a number >= 0",
        ),
    ] {
        let (s, b) = search(&emu, q, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
        assert!(message(&b).starts_with("invalid query: near: "), "{b}");
        assert!(message(&b).contains(part), "{q}: {b}");
    }
    for (q, part) in [
        ("[loc near (0, 0), 5yd]", "radius unit `yd`"),
        ("[loc near 0, 0]", "near needs (longitude, latitude)"),
        ("[loc near (0)]", "expected `,`"),
        ("[loc near (0, 1e999)]", "number `1e999`"),
    ] {
        let (s, b) = search(&emu, q, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
        assert!(message(&b).contains(part), "{q}: {b}");
    }
    let q = format!("[loc near {PHILLY}]");
    for (extra, part) in [
        (
            ("units", "yards"),
            "invalid units: \"yards\" is not one of km, mi, m or ft",
        ),
        (
            ("distance", "maybe"),
            "invalid distance: \"maybe\" is not true or false",
        ),
    ] {
        let (s, b) = search(&emu, &q, &[extra]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(message(&b), part);
    }
}

#[tokio::test]
async fn near_in_a_nested_group() {
    let emu = emulator().await;
    let chain = json!({"chain": {"kind": "shop", "branches": [
        {"city": "New York", "at": geopoint(-73.992920, 40.696050)},
        {"city": "Conshohocken", "at": geopoint(-75.318146, 40.070400)}
    ]}});
    let (s, _) = CM
        .call(&emu, Method::PUT, "text", Some(&chain.to_string()))
        .await;
    assert!(s.is_success());
    let q = format!("[kind = \"shop\"].branches[at near {PHILLY}, 20km]");
    let (s, b) = search(&emu, &q, &[("distance", "true")]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["success"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["chain"]
    );
    close(&b["meta"]["chain"]["geo"]["distance"], 18.69, 0.1);
    let q = format!("[kind = \"shop\"].branches[at near {PHILLY}, 10km]");
    assert!(found(&emu, &q, &[]).await.is_empty());
}

#[tokio::test]
async fn user_level_geo_search() {
    let emu = emulator().await;
    let user = User::seeded(&emu, CM, "geo@example.com").await;
    let mine =
        json!({"home": {"loc": geopoint(-75.2, 40.0)}, "far": {"loc": geopoint(2.35, 48.86)}});
    let (s, b) = user.call(&emu, Method::PUT, "text", Some(mine)).await;
    assert!(s.is_success(), "{b}");
    let path = with_query(
        "search",
        &format!("[loc near {PHILLY}, 10mi]"),
        &[("distance", "true"), ("units", "mi")],
    );
    let (s, b) = user.call(&emu, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The user's objects only: Philadelphia of the app data is not among them.
    assert_eq!(
        b["success"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["home"]
    );
    close(&b["meta"]["home"]["geo"]["distance"], 3.90, 0.05);
    // And the app-level search does not see the user's objects.
    let app = found(&emu, "[loc near (-75.2, 40.0), 5mi]", &[]).await;
    assert_eq!(app, ["c_phl"]);
}
