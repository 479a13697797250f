//! A mixed load: 60 % GET, 30 % PUT, 10 % search, from 64 clients, over
//! 16 users × 1,000 objects.
//!
//! ```text
//! cargo bench --bench emulator_mixed
//! CLOUDMINE_BENCH_DB=postgres://… CLOUDMINE_BENCH_INSTANCES=2 cargo bench --bench emulator_mixed
//! CLOUDMINE_BENCH_CLIENT=conn cargo bench --bench emulator_mixed   # the lean load generator
//! ```
//!
//! Prints a Markdown table: throughput and p50/p99 latency of the mix,
//! against a GET-only load from the same clients in the same run (the
//! ceiling the mix is compared with). `CLOUDMINE_BENCH_REQUESTS` sets the
//! requests each client sends a round (default 500), `BENCH_SCALE`
//! multiplies them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

#[path = "support/cluster.rs"]
mod cluster;
use cluster::{BenchUser, Cluster, client, ms, percentile, requests_per_client, scale, seed};
#[path = "support/sender.rs"]
mod sender;
use sender::Sender;

const CLIENTS: usize = 64;
const USERS: usize = 16;
const OBJECTS: usize = 1000;

/// A small xorshift generator: the same mix in every run, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn object(i: usize, version: u64) -> serde_json::Value {
    json!({"__class__": format!("c{:02}", i % 50), "n": i, "version": version})
}

/// One request of the mix (or a GET only); its latency.
async fn one(sender: &mut Sender, user: &BenchUser, rng: &mut Rng, mixed: bool) -> Duration {
    let roll = if mixed { rng.below(100) } else { 0 };
    let i = rng.below(OBJECTS);
    let (method, path, body) = if roll < 60 {
        (Method::GET, format!("text?keys=k{i:07}"), None)
    } else if roll < 90 {
        let body = json!({ format!("k{i:07}"): object(i, rng.next()) });
        (Method::PUT, "text".to_owned(), Some(body.to_string()))
    } else {
        let q = format!(
            "search?q=%5B__class__%20%3D%20%22c{:02}%22%5D&limit=10",
            i % 50
        );
        (Method::GET, q, None)
    };
    sender.send(method, &path, &user.token, body).await
}

/// `per_client` requests from each of the clients; (req/s, sorted latencies).
async fn load(
    cluster: &Cluster,
    users: &Arc<Vec<BenchUser>>,
    per_client: usize,
    mixed: bool,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(CLIENTS);
    for k in 0..CLIENTS {
        let (users, base) = (Arc::clone(users), cluster.base(k).to_owned());
        tasks.push(tokio::spawn(async move {
            let mut sender = Sender::new(&base).await;
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1));
            let user = &users[k % USERS];
            let mut out = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                out.push(one(&mut sender, user, &mut rng, mixed).await);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    let rps = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (rps, all)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cluster = Cluster::start().await;
    let c = client();
    let mut users = Vec::new();
    for u in 0..USERS {
        let user = cluster.user(&format!("user{u}@example.com")).await;
        seed(&c, cluster.base(0), &user, OBJECTS, |i| object(i, 0)).await;
        users.push(user);
    }
    let users = Arc::new(users);
    let per_client = requests_per_client(500) * scale();
    load(&cluster, &users, per_client / 5, true).await; // warm-up
    let (mut mix, mut gets) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for mixed in order {
            let result = load(&cluster, &users, per_client, mixed).await;
            if mixed {
                mix.push(result)
            } else {
                gets.push(result)
            }
        }
    }
    // The median round of each by throughput.
    mix.sort_by(|a, b| a.0.total_cmp(&b.0));
    gets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (m, g) = (&mix[1], &gets[1]);
    println!(
        "{USERS} users × {OBJECTS} objects, {CLIENTS} clients ({}), {}, {} instance(s), {} requests a round, median of 3 rounds",
        if sender::lean() {
            "one hyper connection each"
        } else {
            "reqwest"
        },
        cluster.database,
        cluster.bases.len(),
        m.1.len()
    );
    println!();
    println!("| measure | mix (60 % GET, 30 % PUT, 10 % search) | GET only | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| throughput | {:.0} req/s | {:.0} req/s | {:.3}× |",
        m.0,
        g.0,
        m.0 / g.0
    );
    for p in [0.5, 0.99] {
        let (a, b) = (ms(percentile(&m.1, p)), ms(percentile(&g.1, p)));
        println!(
            "| p{} latency | {a:.2} ms | {b:.2} ms | {:.3}× |",
            (p * 100.0) as u32,
            a / b
        );
    }
    cluster.shutdown().await;
}
