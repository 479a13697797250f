//! The activity page: the chart of the last ten minutes and the latest
//! requests of the log (method, redacted path without query, status,
//! latency). Dashboard pages themselves are not recorded.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::activity::LOG_CAPACITY;
use super::chart;
use super::layout::{answer, page};
use super::session::Session;
use super::shared::Dash;

/// Requests shown on the page.
const SHOWN: usize = 200;

/// `GET /_dashboard/activity`.
pub(crate) async fn page_handler(State(dash): State<Arc<Dash>>, session: Session) -> Response {
    let entries = dash.activity.latest(SHOWN);
    let body = html! {
        (chart::render(&dash.activity.series()))
        h2 { "Latest requests" }
        p class="muted" {
            "The API's requests (not the dashboard's), newest first: " (entries.len())
            " shown of the last " (LOG_CAPACITY) " kept in this instance's memory."
        }
        table id="log" {
            thead { tr {
                th class="wide" { "Time (UTC)" } th { "Method" } th { "Path" } th class="num" { "Status" } th class="num" { "Latency" }
            } }
            tbody {
                @for e in &entries {
                    tr {
                        td class="wide" { (clock(e.at_ms)) }
                        td { (e.method) }
                        td { code { (e.path) } }
                        td class="num" { (e.status) }
                        td class="num" { (format!("{:.1} ms", e.latency_us as f64 / 1000.0)) }
                    }
                }
            }
        }
    };
    answer(StatusCode::OK, page("Activity", Some(&session), body))
}

/// `HH:MM:SS` of a time in ms since the epoch.
pub(crate) fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
