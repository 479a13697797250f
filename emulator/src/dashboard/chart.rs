//! The activity chart as inline SVG drawn on the server: requests per
//! second as bars and the p50/p99 latency as two lines, one point per
//! interval of [`super::activity::series`](super::Activity::series).
//! Colours come from the stylesheet (classes), never inline styles.

use maud::{Markup, html};

use super::activity::{BUCKET_SECS, Point};

const LEFT: f64 = 40.0;
const WIDTH: f64 = 600.0;
const RATE_TOP: f64 = 24.0;
const RATE_HEIGHT: f64 = 90.0;
const LAT_TOP: f64 = 150.0;
const LAT_HEIGHT: f64 = 90.0;

/// The chart of `points` (oldest first).
pub(crate) fn render(points: &[Point]) -> Markup {
    let n = points.len().max(1) as f64;
    let step = WIDTH / n;
    let rate = |p: &Point| p.count as f64 / BUCKET_SECS as f64;
    let max_rate = points.iter().map(rate).fold(0.0, f64::max).max(1.0);
    let ms = |us: Option<u64>| us.map(|u| u as f64 / 1000.0);
    let max_ms = points
        .iter()
        .filter_map(|p| ms(p.p99_us))
        .fold(0.0, f64::max)
        .max(1.0);
    let line = |pick: fn(&Point) -> Option<u64>| -> String {
        points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let v = ms(pick(p))?;
                let x = LEFT + step * (i as f64 + 0.5);
                let y = LAT_TOP + LAT_HEIGHT - v / max_ms * LAT_HEIGHT;
                Some(format!("{x:.1},{y:.1}"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let total: u64 = points.iter().map(|p| p.count).sum();
    html! {
        svg class="chart" id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 660 270"
            role="img" aria-label="Request rate and latency over the last 10 minutes" {
            title { "Request rate and p50/p99 latency, 10-second intervals, last 10 minutes" }
            text x=(LEFT) y="16" { "Requests per second (max " (format!("{max_rate:.1}")) "), " (total) " requests" }
            line class="axis" x1=(LEFT) y1=(RATE_TOP + RATE_HEIGHT) x2=(LEFT + WIDTH) y2=(RATE_TOP + RATE_HEIGHT) {}
            @for (i, p) in points.iter().enumerate() {
                @let h = rate(p) / max_rate * RATE_HEIGHT;
                @if p.count > 0 {
                    rect class="bar" x=(format!("{:.1}", LEFT + step * i as f64 + 1.0))
                        y=(format!("{:.1}", RATE_TOP + RATE_HEIGHT - h))
                        width=(format!("{:.1}", (step - 2.0).max(1.0))) height=(format!("{h:.1}")) {}
                }
            }
            text x=(LEFT) y=(LAT_TOP - 10.0) { "Latency in ms (max " (format!("{max_ms:.1}")) "): p50 blue, p99 red" }
            line class="axis" x1=(LEFT) y1=(LAT_TOP + LAT_HEIGHT) x2=(LEFT + WIDTH) y2=(LAT_TOP + LAT_HEIGHT) {}
            polyline class="p50" points=(line(|p| p.p50_us)) {}
            polyline class="p99" points=(line(|p| p.p99_us)) {}
            text x=(LEFT) y="262" { "−10 min" }
            text x=(LEFT + WIDTH - 24.0) y="262" { "now" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_for_busy_intervals_and_lines_through_latencies() {
        let mut points = vec![
            Point {
                count: 0,
                p50_us: None,
                p99_us: None
            };
            60
        ];
        points[59] = Point {
            count: 20,
            p50_us: Some(1000),
            p99_us: Some(4000),
        };
        let svg = render(&points).into_string();
        assert_eq!(svg.matches("<rect").count(), 1, "{svg}");
        assert!(svg.contains("20 requests"), "{svg}");
        assert!(svg.contains("max 4.0"), "{svg}");
    }
}
