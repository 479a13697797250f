//! A search's geo side: the `distance` and `units` server params, the
//! nearest-first order of a `near` query's matches and the distance
//! metadata (`meta: {key: {geo: {distance, units}}}`) CloudMine answered
//! with when `distance=true`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::extract::first;
use crate::fail::Fail;
use crate::query::{Query, Unit};

/// The `distance` and `units` params of a search.
pub(crate) struct GeoSearch {
    distance: bool,
    units: Unit,
}

/// The matches of a search and the distance (km) of those that have one.
pub(crate) type Matches = (Vec<(String, Value)>, HashMap<String, f64>);

impl GeoSearch {
    /// Reads `distance` (`true`/`false`, default false) and `units` (km,
    /// mi, m or ft; default km), refusing any other value.
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Self, Fail> {
        let distance = match first(pairs, "distance") {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(Fail::bad(format!(
                    "invalid distance: {other:?} is not true or false"
                )));
            }
        };
        let units = match first(pairs, "units") {
            None => Unit::Km,
            Some(name) => Unit::parse(name).ok_or_else(|| {
                Fail::bad(format!(
                    "invalid units: {name:?} is not one of {}",
                    Unit::NAMES
                ))
            })?,
        };
        Ok(GeoSearch { distance, units })
    }

    /// The objects that match, nearest first when the query has a `near`
    /// (then those without a distance, in their stored order); a radius
    /// without a unit is in `units`.
    pub(crate) fn filter(&self, query: &Query, objects: Vec<(String, Value)>) -> Matches {
        let mut hits: Vec<(String, Value, Option<f64>)> = objects
            .into_iter()
            .filter_map(|(k, v)| {
                let hit = query.evaluate(&k, &v, self.units)?;
                Some((k, v, hit.distance_km))
            })
            .collect();
        if query.has_near() {
            hits.sort_by(|a, b| match (a.2, b.2) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => y.is_some().cmp(&x.is_some()),
            });
        }
        let distances = hits
            .iter()
            .filter_map(|(k, _, d)| Some((k.clone(), (*d)?)))
            .collect();
        let matching = hits.into_iter().map(|(k, v, _)| (k, v)).collect();
        (matching, distances)
    }

    /// The `meta` object for a page of results: empty unless
    /// `distance=true`; then each result with a distance, in `units`.
    pub(crate) fn meta(
        &self,
        page: &[(String, Value)],
        distances: &HashMap<String, f64>,
    ) -> Map<String, Value> {
        if !self.distance {
            return Map::new();
        }
        page.iter()
            .filter_map(|(key, _)| {
                let km = distances.get(key)?;
                let geo = json!({
                    "geo": {"distance": self.units.from_km(*km), "units": self.units.name()}
                });
                Some((key.clone(), geo))
            })
            .collect()
    }
}
