//! Geo search against the emulator: geopoints stored from `GeoPoint`, a
//! `Near` query, the `distance`/`units` options and the typed distances.

mod support;

use cloudmine::{CallOptions, DistanceUnit, Event, EventEmitter, GeoPoint, Near};
use serde_json::{Value, json};
use support::*;

fn point(latitude: f64, longitude: f64) -> GeoPoint {
    GeoPoint::new(latitude, longitude).unwrap()
}

async fn cities(ws: &cloudmine::WebService) {
    // Philadelphia, New York, London.
    for (key, p) in [
        ("phl", point(39.950727, -75.163994)),
        ("nyc", point(40.712776, -74.005974)),
        ("lon", point(51.507351, -0.127758)),
    ] {
        ws.objects()
            .set(key, json!({"name": key, "loc": p}))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn near_with_distances_nearest_first() {
    let emu = emulator().await;
    let ws = client(&emu);
    cities(&ws).await;
    let stored = ws.objects().get(["phl"]).await.unwrap();
    let back: GeoPoint =
        serde_json::from_value(stored.value("phl").unwrap()["loc"].clone()).unwrap();
    assert_eq!(back, point(39.950727, -75.163994));

    let near = Near::new("loc", point(39.95, -75.16))
        .unwrap()
        .within(200.0, DistanceUnit::Mi)
        .unwrap();
    let meta = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
    let seen = std::sync::Arc::clone(&meta);
    let found = ws
        .objects()
        .search(near)
        .options(CallOptions::new().distance(true).units(DistanceUnit::Mi))
        .on(Event::Meta, move |m: &Value, _: &cloudmine::CallInfo| {
            *seen.lock().unwrap() = m.clone();
        })
        .await
        .unwrap();
    assert_eq!(
        found.keys(),
        ["phl", "nyc"],
        "nearest first, London out of range"
    );
    let distances = found.distances().unwrap();
    assert_eq!(distances.len(), 2);
    let phl = distances["phl"];
    assert_eq!(phl.unit, DistanceUnit::Mi);
    assert!(phl.value < 1.0, "{phl:?}");
    let nyc = found.distance("nyc").unwrap().unwrap();
    assert!((75.0..85.0).contains(&nyc.value), "{nyc:?}");
    assert_eq!(found.distance("lon").unwrap(), None);
    assert_eq!(meta.lock().unwrap()["nyc"]["geo"]["units"], "mi");
}

#[tokio::test]
async fn units_default_to_km_and_no_distance_without_the_option() {
    let emu = emulator().await;
    let ws = client(&emu);
    cities(&ws).await;
    let near = Near::new("loc", point(39.95, -75.16)).unwrap();
    let plain = ws.objects().search(near.clone()).await.unwrap();
    assert_eq!(plain.keys(), ["phl", "nyc", "lon"]);
    assert!(plain.distances().unwrap().is_empty());

    let km = ws
        .objects()
        .search(format!("[{}, name != \"phl\"]", near.condition()))
        .options(CallOptions::new().distance(true))
        .await
        .unwrap();
    assert_eq!(km.keys(), ["nyc", "lon"]);
    let nyc = km.distance("nyc").unwrap().unwrap();
    assert_eq!(nyc.unit, DistanceUnit::Km);
    assert!((120.0..135.0).contains(&nyc.value), "{nyc:?}");

    let feet = ws
        .objects()
        .search(near.within(1.0, DistanceUnit::Km).unwrap())
        .options(CallOptions::new().distance(true).units(DistanceUnit::Ft))
        .await
        .unwrap();
    assert_eq!(feet.keys(), ["phl"]);
    assert_eq!(
        feet.distance("phl").unwrap().unwrap().unit,
        DistanceUnit::Ft
    );
}

#[tokio::test]
async fn refusals() {
    let emu = emulator().await;
    let ws = client(&emu);
    assert!(GeoPoint::new(-90.5, 0.0).unwrap_err().is_invalid());
    assert!(GeoPoint::new(0.0, 180.5).unwrap_err().is_invalid());
    let p = point(1.0, 2.0);
    assert!(Near::new("1st", p).unwrap_err().is_invalid());
    assert!(
        Near::new("loc", p)
            .unwrap()
            .within(f64::INFINITY, DistanceUnit::M)
            .unwrap_err()
            .is_invalid()
    );
    // A unit the server does not know, through the raw option: 400.
    let e = ws
        .objects()
        .search(Near::new("loc", p).unwrap())
        .options(CallOptions::new().distance(true).units("parsecs"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(e.to_string().contains("invalid units"), "{e}");
    // A stored value that is not a geopoint does not decode as one.
    assert!(
        serde_json::from_value::<GeoPoint>(json!({"__type__": "geopoint", "latitude": 1})).is_err()
    );
    assert_eq!(DistanceUnit::parse("mi"), Some(DistanceUnit::Mi));
    assert_eq!(DistanceUnit::parse("yd"), None);
}
