//! Geopoints and great-circle distance for `near` conditions.
//!
//! A geopoint is a JSON object `{"__type__": "geopoint", "longitude": x,
//! "latitude": y}`; the short names the CloudMine SDKs read (`lon`/`lng`/`x`
//! for the longitude, `lat`/`y` for the latitude) are accepted too. One that
//! lacks the type, a coordinate, or has a coordinate out of range is not a
//! geopoint, and a `near` condition on it does not match.

use serde_json::Value;

/// The mean radius of the Earth in kilometres (IUGG).
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A distance unit, as CloudMine named them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `km` (the default).
    Km,
    /// `mi`: statute miles.
    Mi,
    /// `m`: metres.
    M,
    /// `ft`: international feet.
    Ft,
}

impl Unit {
    /// Every unit, for messages.
    pub const NAMES: &'static str = "km, mi, m or ft";

    /// The unit a name stands for.
    pub fn parse(name: &str) -> Option<Unit> {
        match name {
            "km" => Some(Unit::Km),
            "mi" => Some(Unit::Mi),
            "m" => Some(Unit::M),
            "ft" => Some(Unit::Ft),
            _ => None,
        }
    }

    /// The unit's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Km => "km",
            Unit::Mi => "mi",
            Unit::M => "m",
            Unit::Ft => "ft",
        }
    }

    /// How many kilometres one of this unit is.
    pub fn km(self) -> f64 {
        match self {
            Unit::Km => 1.0,
            Unit::Mi => 1.609_344,
            Unit::M => 0.001,
            Unit::Ft => 0.000_304_8,
        }
    }

    /// `km` kilometres in this unit.
    pub fn from_km(self, km: f64) -> f64 {
        km / self.km()
    }
}

/// A point on the Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// −180..=180.
    pub longitude: f64,
    /// −90..=90.
    pub latitude: f64,
}

impl Point {
    /// A point when both coordinates are finite and in range; otherwise a
    /// message naming the bad one.
    pub fn new(longitude: f64, latitude: f64) -> Result<Point, String> {
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(format!(
                "longitude {longitude} is out of range (-180 to 180)"
            ));
        }
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(format!("latitude {latitude} is out of range (-90 to 90)"));
        }
        Ok(Point {
            longitude,
            latitude,
        })
    }

    /// The geopoint a stored value holds, if it is a well-formed one.
    pub fn of(value: &Value) -> Option<Point> {
        let object = value.as_object()?;
        if object.get("__type__")?.as_str()? != "geopoint" {
            return None;
        }
        let coordinate = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| object.get(*n))
                .and_then(Value::as_f64)
        };
        let longitude = coordinate(&["longitude", "lon", "lng", "x"])?;
        let latitude = coordinate(&["latitude", "lat", "y"])?;
        Point::new(longitude, latitude).ok()
    }

    /// The great-circle (haversine) distance to `other`, in kilometres.
    pub fn distance_km(self, other: Point) -> f64 {
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.longitude - self.longitude).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }
}

/// The distance limit of a `near` condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Radius {
    /// The amount, finite and not negative.
    pub amount: f64,
    /// Its unit; `None` when the query gave a bare number (then the
    /// request's `units`, by default km).
    pub unit: Option<Unit>,
}

/// A `field near (longitude, latitude)[, radius]` condition's test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    /// The reference point.
    pub point: Point,
    /// The optional distance limit.
    pub radius: Option<Radius>,
}

impl Near {
    /// The distance in km from the reference point to the geopoint in
    /// `value` (`None`: not a geopoint), and whether it is within the
    /// radius (a bare radius is in `default_unit`).
    pub fn test(&self, value: &Value, default_unit: Unit) -> Option<(f64, bool)> {
        let km = self.point.distance_km(Point::of(value)?);
        let within = self
            .radius
            .is_none_or(|r| km <= r.amount * r.unit.unwrap_or(default_unit).km());
        Some((km, within))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn point(longitude: f64, latitude: f64) -> Point {
        Point::new(longitude, latitude).unwrap()
    }

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    #[test]
    fn known_city_distances() {
        let philadelphia = point(-75.163994, 39.950727);
        let new_york = point(-73.992920, 40.696050);
        let london = point(-0.1278, 51.5074);
        let paris = point(2.3522, 48.8566);
        let sydney = point(151.2093, -33.8688);
        // Published great-circle distances, within 0.5 %.
        close(philadelphia.distance_km(new_york), 129.6, 0.65);
        close(london.distance_km(paris), 343.6, 1.7);
        close(london.distance_km(sydney), 16_994.0, 85.0);
        close(
            Unit::Mi.from_km(philadelphia.distance_km(new_york)),
            80.5,
            0.4,
        );
        assert_eq!(paris.distance_km(paris), 0.0);
        close(
            point(0.0, 0.0).distance_km(point(180.0, 0.0)),
            20_015.1,
            1.0,
        );
        close(
            point(0.0, 90.0).distance_km(point(0.0, -90.0)),
            20_015.1,
            1.0,
        );
    }

    #[test]
    fn units_convert() {
        close(Unit::Ft.from_km(1.0), 3280.84, 0.01);
        close(Unit::M.from_km(1.5), 1500.0, 1e-9);
        close(Unit::Mi.km(), 1.609344, 1e-12);
        for name in ["km", "mi", "m", "ft"] {
            assert_eq!(Unit::parse(name).unwrap().name(), name);
        }
        assert_eq!(Unit::parse("miles"), None);
    }

    #[test]
    fn coordinates_are_checked() {
        assert!(Point::new(-180.0, 90.0).is_ok());
        assert!(Point::new(180.1, 0.0).unwrap_err().contains("longitude"));
        assert!(Point::new(0.0, -90.5).unwrap_err().contains("latitude"));
        assert!(Point::new(f64::NAN, 0.0).is_err());
        assert!(Point::new(0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn geopoints_in_data() {
        let full = json!({"__type__": "geopoint", "longitude": 1, "latitude": 2.5});
        assert_eq!(Point::of(&full), Some(point(1.0, 2.5)));
        let short = json!({"__type__": "geopoint", "lng": 1, "lat": 2});
        assert_eq!(Point::of(&short), Some(point(1.0, 2.0)));
        let xy = json!({"__type__": "geopoint", "x": 3, "y": 4});
        assert_eq!(Point::of(&xy), Some(point(3.0, 4.0)));
        for bad in [
            json!({"longitude": 1, "latitude": 2}),
            json!({"__type__": "point", "longitude": 1, "latitude": 2}),
            json!({"__type__": "geopoint", "longitude": 1}),
            json!({"__type__": "geopoint", "longitude": "1", "latitude": 2}),
            json!({"__type__": "geopoint", "longitude": 1, "latitude": 91}),
            json!([1, 2]),
            json!("geopoint"),
        ] {
            assert_eq!(Point::of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn near_uses_the_radius_unit() {
        let near = |amount, unit| Near {
            point: point(0.0, 0.0),
            radius: Some(Radius { amount, unit }),
        };
        // One degree of longitude at the equator: about 111.2 km.
        let there = json!({"__type__": "geopoint", "longitude": 1, "latitude": 0});
        let (km, within) = near(112.0, Some(Unit::Km)).test(&there, Unit::Mi).unwrap();
        close(km, 111.2, 0.1);
        assert!(within);
        assert!(
            !near(111.0, Some(Unit::Km))
                .test(&there, Unit::Mi)
                .unwrap()
                .1
        );
        assert!(near(70.0, None).test(&there, Unit::Mi).unwrap().1);
        assert!(!near(70.0, None).test(&there, Unit::Km).unwrap().1);
        assert!(
            !near(364_000.0, Some(Unit::Ft))
                .test(&there, Unit::Km)
                .unwrap()
                .1
        );
        assert!(
            near(365_000.0, Some(Unit::Ft))
                .test(&there, Unit::Km)
                .unwrap()
                .1
        );
        assert!(
            near(111_200.0, Some(Unit::M))
                .test(&there, Unit::Km)
                .unwrap()
                .1
        );
        assert_eq!(near(1.0, None).test(&json!({}), Unit::Km), None);
    }
}
