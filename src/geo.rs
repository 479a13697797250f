//! Geo search: [`GeoPoint`] (CloudMine's `geopoint` value), [`Near`] (the
//! `[field near (lon, lat), R unit]` query) and the distances a search with
//! the `distance` option answers in `meta` ([`Response::distances`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::response::Response;

/// A place on Earth, stored in an object as CloudMine's geopoint:
/// `{"__type__": "geopoint", "longitude": …, "latitude": …}`.
///
/// ```
/// use cloudmine::GeoPoint;
/// let philadelphia = GeoPoint::new(39.950727, -75.163994).unwrap();
/// let json = serde_json::to_value(philadelphia).unwrap();
/// assert_eq!(json["__type__"], "geopoint");
/// assert_eq!(json["longitude"], -75.163994);
/// assert!(GeoPoint::new(91.0, 0.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    latitude: f64,
    longitude: f64,
}

impl GeoPoint {
    /// A point from its latitude (−90..=90) and longitude (−180..=180), in
    /// degrees; anything else (or NaN) is [`Error::InvalidArgument`].
    /// ```
    /// let p = cloudmine::GeoPoint::new(51.5, -0.12).unwrap();
    /// assert_eq!((p.latitude(), p.longitude()), (51.5, -0.12));
    /// ```
    pub fn new(latitude: f64, longitude: f64) -> Result<GeoPoint> {
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(Error::invalid_argument(
                "latitude",
                format!("{latitude} is not within -90..=90"),
            ));
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(Error::invalid_argument(
                "longitude",
                format!("{longitude} is not within -180..=180"),
            ));
        }
        Ok(GeoPoint {
            latitude,
            longitude,
        })
    }

    /// The latitude, in degrees.
    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    /// The longitude, in degrees.
    pub fn longitude(&self) -> f64 {
        self.longitude
    }
}

impl Serialize for GeoPoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("__type__", "geopoint")?;
        map.serialize_entry("longitude", &self.longitude)?;
        map.serialize_entry("latitude", &self.latitude)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for GeoPoint {
    /// Reads `longitude`/`latitude` (or the short names the official SDKs
    /// read: `lon`/`lng`/`x`, `lat`/`y`) of a `geopoint` object.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        if value.get("__type__").and_then(Value::as_str) != Some("geopoint") {
            return Err(D::Error::custom(
                "not a geopoint (\"__type__\": \"geopoint\")",
            ));
        }
        let number = |names: &[&str]| names.iter().find_map(|n| value.get(*n)?.as_f64());
        let longitude = number(&["longitude", "lon", "lng", "x"])
            .ok_or_else(|| D::Error::custom("a geopoint without a numeric longitude"))?;
        let latitude = number(&["latitude", "lat", "y"])
            .ok_or_else(|| D::Error::custom("a geopoint without a numeric latitude"))?;
        GeoPoint::new(latitude, longitude).map_err(D::Error::custom)
    }
}

/// The unit of a radius and of the distances a geo search answers with.
/// Converts into the `units` option: `CallOptions::new().units(DistanceUnit::Mi)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DistanceUnit {
    /// Kilometres (`km`), the server's default.
    #[default]
    Km,
    /// Miles (`mi`).
    Mi,
    /// Metres (`m`).
    M,
    /// Feet (`ft`).
    Ft,
}

impl DistanceUnit {
    /// The unit as CloudMine writes it.
    /// ```
    /// assert_eq!(cloudmine::DistanceUnit::Mi.as_str(), "mi");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            DistanceUnit::Km => "km",
            DistanceUnit::Mi => "mi",
            DistanceUnit::M => "m",
            DistanceUnit::Ft => "ft",
        }
    }

    /// The unit CloudMine writes as `name`.
    /// ```
    /// use cloudmine::DistanceUnit;
    /// assert_eq!(DistanceUnit::parse("ft"), Some(DistanceUnit::Ft));
    /// assert_eq!(DistanceUnit::parse("yd"), None);
    /// ```
    pub fn parse(name: &str) -> Option<DistanceUnit> {
        [
            DistanceUnit::Km,
            DistanceUnit::Mi,
            DistanceUnit::M,
            DistanceUnit::Ft,
        ]
        .into_iter()
        .find(|u| u.as_str() == name)
    }
}

impl fmt::Display for DistanceUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<DistanceUnit> for String {
    fn from(unit: DistanceUnit) -> String {
        unit.as_str().to_owned()
    }
}

/// A distance from a geo search's `meta` (see [`Response::distances`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distance {
    /// How far, in `unit`.
    pub value: f64,
    /// The unit (the call's `units` option; km by default).
    pub unit: DistanceUnit,
}

/// A `near` condition: objects whose `field` holds a [`GeoPoint`], nearest
/// first, optionally within a radius. Its `Display` is the whole query,
/// `[field near (longitude, latitude), 30mi]`, ready for
/// [`Objects::search`](crate::Objects::search); [`condition`](Self::condition)
/// is the part inside the brackets, to combine with other conditions.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{CallOptions, DistanceUnit, GeoPoint, Near};
/// let here = GeoPoint::new(39.95, -75.16)?;
/// let near = Near::new("location", here)?.within(30.0, DistanceUnit::Mi)?;
/// assert_eq!(near.to_string(), "[location near (-75.16, 39.95), 30mi]");
/// let found = ws
///     .objects()
///     .search(near.to_string())
///     .options(CallOptions::new().distance(true).units(DistanceUnit::Mi))
///     .await?;
/// for (key, d) in found.distances()? {
///     println!("{key}: {} {}", d.value, d.unit);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    field: String,
    point: GeoPoint,
    radius: Option<(f64, DistanceUnit)>,
}

impl Near {
    /// Objects whose `field` (a name, or a dotted path such as
    /// `place.location`) is near `point`. A field the query language cannot
    /// name is [`Error::InvalidArgument`].
    /// ```
    /// use cloudmine::{GeoPoint, Near};
    /// let near = Near::new("place.loc", GeoPoint::new(0.0, 1.0).unwrap()).unwrap();
    /// assert_eq!(near.to_string(), "[place.loc near (1, 0)]");
    /// assert!(Near::new("2nd", GeoPoint::new(0.0, 1.0).unwrap()).is_err());
    /// ```
    pub fn new(field: impl Into<String>, point: GeoPoint) -> Result<Near> {
        let field = field.into();
        crate::query::check_path("field", &field)?;
        Ok(Near {
            field,
            point,
            radius: None,
        })
    }

    /// Only objects within `radius` (a finite number ≥ 0) of the point.
    /// ```
    /// use cloudmine::{DistanceUnit, GeoPoint, Near};
    /// let near = Near::new("loc", GeoPoint::new(0.0, 1.0).unwrap()).unwrap();
    /// assert_eq!(near.within(2.5, DistanceUnit::Km).unwrap().to_string(), "[loc near (1, 0), 2.5km]");
    /// ```
    pub fn within(mut self, radius: f64, unit: DistanceUnit) -> Result<Near> {
        if !(radius.is_finite() && radius >= 0.0) {
            return Err(Error::invalid_argument(
                "radius",
                format!("{radius} is not a finite number >= 0"),
            ));
        }
        self.radius = Some((radius, unit));
        Ok(self)
    }

    /// The condition without brackets: `field near (lon, lat)[, R unit]`.
    /// ```
    /// use cloudmine::{GeoPoint, Near};
    /// let near = Near::new("loc", GeoPoint::new(0.0, 1.0).unwrap()).unwrap();
    /// let query = format!(r#"[{}, kind = "cafe"]"#, near.condition());
    /// assert_eq!(query, r#"[loc near (1, 0), kind = "cafe"]"#);
    /// ```
    pub fn condition(&self) -> String {
        let mut out = format!(
            "{} near ({}, {})",
            self.field, self.point.longitude, self.point.latitude
        );
        if let Some((radius, unit)) = self.radius {
            out.push_str(&format!(", {radius}{unit}"));
        }
        out
    }
}

impl fmt::Display for Near {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.condition())
    }
}

impl From<Near> for String {
    fn from(near: Near) -> String {
        near.to_string()
    }
}

fn distance_of(key: &str, entry: &Value) -> Result<Option<Distance>> {
    let Some(geo) = entry.get("geo") else {
        return Ok(None);
    };
    let bad = |why: &str| Error::decode(format!("meta.{key}.geo"), why);
    let value = geo
        .get("distance")
        .and_then(Value::as_f64)
        .ok_or_else(|| bad("no numeric distance"))?;
    let unit = geo
        .get("units")
        .and_then(Value::as_str)
        .map_or(Some(DistanceUnit::Km), DistanceUnit::parse)
        .ok_or_else(|| bad("units is not km, mi, m or ft"))?;
    Ok(Some(Distance { value, unit }))
}

impl Response {
    /// The distances a geo search answered with (the
    /// [`distance`](crate::CallOptions::distance) option), by key, from
    /// `meta.{key}.geo`; empty when there are none. A malformed entry is
    /// [`Error::Decode`].
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::{CallOptions, GeoPoint, Near};
    /// let near = Near::new("loc", GeoPoint::new(39.95, -75.16)?)?;
    /// let found = ws.objects().search(near).options(CallOptions::new().distance(true)).await?;
    /// for (key, d) in found.distances()? {
    ///     println!("{key} is {} {} away", d.value, d.unit);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn distances(&self) -> Result<BTreeMap<String, Distance>> {
        let mut out = BTreeMap::new();
        if let Some(Value::Object(meta)) = self.meta() {
            for (key, entry) in meta {
                if let Some(d) = distance_of(key, entry)? {
                    out.insert(key.clone(), d);
                }
            }
        }
        Ok(out)
    }

    /// The distance of one result of a geo search, if the answer gave one.
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::{CallOptions, GeoPoint, Near};
    /// let near = Near::new("loc", GeoPoint::new(39.95, -75.16)?)?;
    /// let found = ws.objects().search(near).options(CallOptions::new().distance(true)).await?;
    /// if let Some(d) = found.distance("cafe")? {
    ///     println!("the cafe is {} {} away", d.value, d.unit);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn distance(&self, key: &str) -> Result<Option<Distance>> {
        match self.meta().and_then(|m| m.get(key)) {
            Some(entry) => distance_of(key, entry),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn points_and_queries() {
        let p = GeoPoint::new(39.95, -75.16).unwrap();
        let back: GeoPoint = serde_json::from_value(serde_json::to_value(p).unwrap()).unwrap();
        assert_eq!(back, p);
        let short: GeoPoint =
            serde_json::from_value(json!({"__type__": "geopoint", "lng": 1, "lat": 2})).unwrap();
        assert_eq!((short.latitude(), short.longitude()), (2.0, 1.0));
        assert!(
            serde_json::from_value::<GeoPoint>(json!({"longitude": 1, "latitude": 2})).is_err()
        );
        assert!(GeoPoint::new(0.0, f64::NAN).is_err());
        let near = Near::new("a.b_c", p).unwrap();
        assert_eq!(near.to_string(), "[a.b_c near (-75.16, 39.95)]");
        let near = near.within(0.5, DistanceUnit::Km).unwrap();
        assert_eq!(near.condition(), "a.b_c near (-75.16, 39.95), 0.5km");
        assert!(near.clone().within(-1.0, DistanceUnit::M).is_err());
        for bad in ["", "1a", "a]", "a..b", "a b"] {
            assert!(Near::new(bad, p).is_err(), "{bad}");
        }
    }

    #[test]
    fn meta_entries_are_checked() {
        let ok = json!({"geo": {"distance": 1.5, "units": "ft"}});
        let d = distance_of("k", &ok).unwrap().unwrap();
        assert_eq!((d.value, d.unit), (1.5, DistanceUnit::Ft));
        let no_units = json!({"geo": {"distance": 2}});
        assert_eq!(
            distance_of("k", &no_units).unwrap().unwrap().unit,
            DistanceUnit::Km
        );
        assert_eq!(distance_of("k", &json!({"other": 1})).unwrap(), None);
        for bad in [
            json!({"geo": {"units": "km"}}),
            json!({"geo": {"distance": 1, "units": "yd"}}),
        ] {
            let e = distance_of("k", &bad).unwrap_err();
            assert!(e.is_decode() && e.to_string().contains("meta.k.geo"), "{e}");
        }
    }
}
