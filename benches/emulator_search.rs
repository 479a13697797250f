//! Searching a big namespace: 200,000 objects of one user.
//!
//! ```text
//! cargo bench --bench emulator_search
//! CLOUDMINE_BENCH_DB=postgres://… CLOUDMINE_BENCH_INSTANCES=2 cargo bench --bench emulator_search
//! ```
//!
//! Prints a Markdown table: p50 of an indexed equality search, of
//! `GET text?limit=1&sort=` and of an unindexed equality search, each
//! against the same request answered by loading the namespace and
//! evaluating in Rust (`shared=true`: the path every search took before
//! searches were narrowed in SQL), measured in the same run; another user's
//! GET p99 while four searches run, against the same GET on an idle
//! server; and the process's memory. `CLOUDMINE_BENCH_OBJECTS` changes the
//! object count, `BENCH_SCALE` multiplies the request counts.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;

#[path = "support/cluster.rs"]
mod cluster;
use cluster::{
    BenchUser, Cluster, client, memory_mb, ms, percentile, request, reset_peak, scale, seed, timed,
};

/// `runs` sequential requests to `path`; sorted latencies.
async fn latencies(
    c: &reqwest::Client,
    base: &str,
    user: &BenchUser,
    path: &str,
    runs: usize,
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        out.push(timed(request(c, base, user, Method::GET, path)).await);
    }
    out.sort();
    out
}

fn row(name: &str, new: &[Duration], old: &[Duration], p: f64) {
    let (n, o) = (ms(percentile(new, p)), ms(percentile(old, p)));
    println!("| {name} | {n:.2} ms | {o:.2} ms | {:.3}× |", n / o);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let objects: usize = std::env::var("CLOUDMINE_BENCH_OBJECTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let runs = 40 * scale();
    let rss_start = memory_mb("VmRSS");
    let cluster = Cluster::start().await;
    let c = client();
    let base = cluster.base(0).to_owned();
    let big = cluster.user("big@example.com").await;
    let other = cluster.user("other@example.com").await;
    seed(&c, &base, &big, objects, |i| {
        json!({"__class__": format!("c{:03}", i % 1000), "n": (i * 7919) % objects,
               "name": format!("obj{i}"), "done": i % 2 == 0})
    })
    .await;
    seed(&c, &base, &other, 10, |i| json!({"i": i})).await;
    let rss_seeded = memory_mb("VmRSS");

    let eq = "search?q=%5B__class__%20%3D%20%22c042%22%5D&limit=50";
    let sorted = "text?limit=1&sort=n";
    let scan = "search?q=%5Bname%20%3D%20%22obj77%22%5D";
    let old = |p: &str| format!("{p}&shared=true");
    let slow_runs = 3 * scale();
    // The peak memory of the narrowed path first, then the baseline's.
    reset_peak();
    let eq_new = latencies(&c, &base, &big, eq, runs).await;
    let sort_new = latencies(&c, &base, &big, sorted, runs / 4).await;
    let scan_new = latencies(&c, &base, &big, scan, runs / 4).await;

    // Another user's tiny GET, idle and while four searches run.
    let get = "text?keys=k0000001";
    let idle = latencies(&c, &base, &other, get, 10 * runs).await;
    let (stop, stopped) = watch::channel(false);
    let mut searchers = Vec::new();
    for i in 0..4 {
        let (c, big, base) = (c.clone(), big.clone(), cluster.base(i).to_owned());
        let mut stopped = stopped.clone();
        searchers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !*stopped.borrow_and_update() {
                timed(request(&c, &base, &big, Method::GET, sorted)).await;
                n += 1;
            }
            n
        }));
    }
    let busy = latencies(&c, cluster.base(1), &other, get, 10 * runs).await;
    stop.send(true).expect("stop");
    let mut searches = 0;
    for s in searchers {
        searches += s.await.expect("searcher");
    }
    let peak_new = memory_mb("VmHWM");
    reset_peak();
    let eq_old = latencies(&c, &base, &big, &old(eq), slow_runs).await;
    let sort_old = latencies(&c, &base, &big, &old(sorted), slow_runs).await;
    let scan_old = latencies(&c, &base, &big, &old(scan), slow_runs).await;
    let peak_old = memory_mb("VmHWM");

    println!(
        "{objects} objects, {}, {} instance(s)",
        cluster.database,
        cluster.bases.len()
    );
    println!();
    println!("| measure | narrowed in SQL | loaded and evaluated in Rust | ratio |");
    println!("|---|---|---|---|");
    row(
        &format!(
            "indexed equality search (`__class__`, {} matches, limit 50), p50",
            objects.div_ceil(1000)
        ),
        &eq_new,
        &eq_old,
        0.5,
    );
    row("`GET text?limit=1&sort=n`, p50", &sort_new, &sort_old, 0.5);
    row(
        "unindexed equality search (`name`), p50",
        &scan_new,
        &scan_old,
        0.5,
    );
    println!();
    println!("| measure | while 4 searches run | idle server | ratio |");
    println!("|---|---|---|---|");
    row(
        &format!(
            "another user's GET, p99 ({} GETs, {searches} searches alongside)",
            busy.len()
        ),
        &busy,
        &idle,
        0.99,
    );
    row("another user's GET, p50", &busy, &idle, 0.5);
    println!();
    println!(
        "memory (client and emulator in one process): RSS {rss_start:.0} MB at start, \
         {rss_seeded:.0} MB after seeding; peak {peak_new:.0} MB while the narrowed searches \
         and the GETs beside them ran, {peak_old:.0} MB during the load-and-evaluate baseline"
    );
    cluster.shutdown().await;
}
