//! Object GET through `WebService` against the same request through a bare
//! `reqwest::Client`, same emulator, same run.
//!
//! ```text
//! cargo bench --bench objects_get
//! ```
//!
//! Prints a Markdown table: p50/p99 latency of sequential requests and
//! throughput at 64 concurrent requests, with the SDK/baseline ratios.
//! `BENCH_SCALE` (default 1) multiplies the request counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudmine::WebService;
use cloudmine_emulator::Emulator;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const APP: &str = "bench";
const KEY: &str = "bench-key";
const CONCURRENCY: usize = 64;

struct Baseline {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
}

impl Baseline {
    async fn get(&self) -> Value {
        let bytes = self
            .client
            .get(&self.url)
            .headers(self.headers.clone())
            .send()
            .await
            .expect("baseline request")
            .bytes()
            .await
            .expect("baseline body");
        serde_json::from_slice(&bytes).expect("baseline JSON")
    }
}

async fn sdk_get(ws: &WebService) -> Value {
    ws.objects()
        .get(["car"])
        .await
        .expect("sdk request")
        .into_success()
}

/// `total` GETs from `CONCURRENCY` tasks, through the SDK or the baseline.
async fn concurrent(ws: &WebService, baseline: &Arc<Baseline>, sdk: bool, total: usize) {
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        let ws = ws.clone();
        let baseline = Arc::clone(baseline);
        tasks.push(tokio::spawn(async move {
            for _ in 0..total / CONCURRENCY {
                if sdk {
                    sdk_get(&ws).await;
                } else {
                    baseline.get().await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale: usize = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let emu = Emulator::builder()
        .app(APP, KEY)
        .start()
        .await
        .expect("emulator");
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(emu.base_url())
        .build()
        .expect("client");
    ws.objects()
        .set(
            "car",
            json!({"make": "Tesla", "model": "3", "price": 40000, "tags": ["ev", "sedan"]}),
        )
        .await
        .expect("seed");

    let options = ws.options();
    let mut headers = HeaderMap::new();
    headers.insert("x-cloudmine-apikey", HeaderValue::from_static(KEY));
    headers.insert(
        "x-cloudmine-agent",
        HeaderValue::from_str(&options.agent()).unwrap(),
    );
    headers.insert(
        "x-cloudmine-ut",
        HeaderValue::from_str(options.user_token()).unwrap(),
    );
    let baseline = Arc::new(Baseline {
        // The SDK's default client sends this User-Agent; without it the
        // baseline sent one header fewer and the emulator did less work for it
        // (parsing, recording and cloning one more header per request).
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cloudmine-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap(),
        url: format!("{}/v1/app/{APP}/text?keys=car", emu.base_url()),
        headers,
    });
    // Same answer, and the same request on the wire (method, path, query,
    // headers in any order), or the comparison is not fair.
    emu.clear_requests();
    assert_eq!(sdk_get(&ws).await, baseline.get().await["success"]);
    let sent = emu.requests();
    assert_eq!(sent.len(), 2);
    let wire = |r: &cloudmine_emulator::RecordedRequest| {
        let mut headers = r.headers.clone();
        headers.sort();
        (
            r.method.clone(),
            r.path.clone(),
            r.raw_query.clone(),
            headers,
            r.body.clone(),
        )
    };
    assert_eq!(
        wire(&sent[0]),
        wire(&sent[1]),
        "the baseline must send what the SDK sends"
    );
    emu.clear_requests();

    // `BENCH_ONLY=sdk|baseline`: only that side, 64 concurrent, for measuring
    // the process's CPU time per request from outside (perf stat).
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        let sdk = only == "sdk";
        // `BENCH_N` overrides the count (e.g. a few thousand under callgrind).
        let n = std::env::var("BENCH_N")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(32_000 * scale);
        concurrent(&ws, &baseline, sdk, n).await;
        println!("{only}: {n} requests");
        return;
    }

    // Warm both connection pools.
    for _ in 0..200 {
        sdk_get(&ws).await;
        baseline.get().await;
    }

    // Sequential latency, interleaved in blocks so drift hits both alike.
    let blocks = 20 * scale;
    let per_block = 100;
    let (mut sdk_lat, mut base_lat) = (Vec::new(), Vec::new());
    for block in 0..blocks {
        let order = if block % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for sdk in order {
            for _ in 0..per_block {
                let t = Instant::now();
                if sdk {
                    sdk_get(&ws).await;
                    sdk_lat.push(t.elapsed());
                } else {
                    baseline.get().await;
                    base_lat.push(t.elapsed());
                }
            }
        }
    }
    sdk_lat.sort();
    base_lat.sort();

    // Throughput at 64 concurrent requests: five rounds each, alternating
    // which side goes first, so server warm-up and drift hit both alike.
    let total = 6400 * scale;
    let rounds = 9;
    let (mut sdk_rps, mut base_rps) = (Vec::new(), Vec::new());
    let (mut sdk_cpu, mut base_cpu) = (0.0, 0.0);
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for sdk in order {
            let started = Instant::now();
            let cpu_before = process_cpu_seconds();
            concurrent(&ws, &baseline, sdk, total).await;
            let rps = total as f64 / started.elapsed().as_secs_f64();
            let cpu = process_cpu_seconds() - cpu_before;
            if sdk {
                sdk_cpu += cpu
            } else {
                base_cpu += cpu
            }
            if sdk {
                sdk_rps.push(rps)
            } else {
                base_rps.push(rps)
            }
        }
    }
    sdk_rps.sort_by(f64::total_cmp);
    base_rps.sort_by(f64::total_cmp);
    let (sdk_tp, base_tp) = (sdk_rps[rounds / 2], base_rps[rounds / 2]);

    let (s50, b50) = (percentile(&sdk_lat, 0.5), percentile(&base_lat, 0.5));
    let (s99, b99) = (percentile(&sdk_lat, 0.99), percentile(&base_lat, 0.99));
    println!("| measure | WebService | bare reqwest | ratio (SDK / baseline) |");
    println!("|---|---|---|---|");
    println!(
        "| p50 latency, sequential ({} requests each) | {:.1} µs | {:.1} µs | {:.3}× |",
        sdk_lat.len(),
        micros(s50),
        micros(b50),
        micros(s50) / micros(b50)
    );
    println!(
        "| p99 latency, sequential | {:.1} µs | {:.1} µs | {:.3}× |",
        micros(s99),
        micros(b99),
        micros(s99) / micros(b99)
    );
    println!(
        "| throughput, {CONCURRENCY} concurrent ({total} requests, median of {rounds}) | {:.0} req/s | {:.0} req/s | {:.3}× |",
        sdk_tp,
        base_tp,
        sdk_tp / base_tp
    );
    let per_request = |cpu: f64| cpu / (total * rounds) as f64 * 1e6;
    if sdk_cpu > 0.0 && base_cpu > 0.0 {
        println!(
            "| process CPU per request at 64 concurrent (client + emulator) | {:.1} µs | {:.1} µs | {:.3}× |",
            per_request(sdk_cpu),
            per_request(base_cpu),
            sdk_cpu / base_cpu
        );
    }
    emu.shutdown().await.expect("shutdown");
}

/// User + system CPU time of this process so far (Linux; 0 elsewhere).
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second on Linux).
    let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
