//! Fetch benchmark across targets (see BENCHMARKS.md, "Fetch across targets"): ten
//! emulators of 10,000 users each, each behind 20 ms of latency and its own rate limit
//! (from 20 to 65 requests per second), fetched at once the way `roster plan` fetches the
//! targets of a multi-target file: one client each (its own pacer and discovered
//! capabilities), all joined. The wall time is compared with the slowest target's bound,
//! its answered requests / its rate: concurrent targets should cost about as much as the
//! slowest one alone, not the sum.
//!
//! Run with `cargo run --release -p roster-client --example bench_fetch_targets`.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use roster_client::{ClientConfig, ReadClient};
use roster_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use roster_model::{LiveState, LiveUser, Provider, UserAttributes};

const TARGETS: u32 = 10;
const USERS: usize = 10_000;

async fn emulator(rate: u32) -> RunningEmulator {
    let live = LiveState {
        users: (0..USERS)
            .map(|n| LiveUser {
                created: None,
                id: format!("u{n:05}"),
                attributes: UserAttributes {
                    user_name: format!("user{n:05}@example.com"),
                    display_name: Some(format!("User {n}")),
                    role: Some("maker".into()),
                    active: true,
                    ..UserAttributes::default()
                },
            })
            .collect(),
        ..LiveState::default()
    };
    let config = EmulatorConfig {
        latency: Duration::from_millis(20),
        rate_limit: Some(rate),
        ..EmulatorConfig::default()
    };
    let running = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    running.state().load_live_state(&live).unwrap();
    running
}

#[tokio::main]
async fn main() {
    let rates: Vec<u32> = (0..TARGETS).map(|n| 20 + 5 * n).collect();
    let mut emulators = Vec::new();
    for &rate in &rates {
        emulators.push(emulator(rate).await);
    }
    // Let every bucket settle at its full one-second burst, as the single-target bench does.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for running in &emulators {
        running.clear_request_log();
    }
    let clients: Vec<ReadClient> = emulators
        .iter()
        .map(|running| {
            let mut config = ClientConfig::new(running.base_url(), Provider::Productboard);
            config.concurrency = 16;
            ReadClient::new(config).unwrap()
        })
        .collect();
    let started = Instant::now();
    let fetched = join_all(clients.iter().map(|client| async move {
        let _ = client.capabilities().await;
        let live = client.fetch_live().await.unwrap();
        (live, Instant::now())
    }))
    .await;
    let elapsed = started.elapsed();

    let mut slowest_bound = 0.0_f64;
    let mut slowest_after_burst = 0.0_f64;
    let mut sum_of_bounds = 0.0_f64;
    let (mut n_ok_total, mut n_429_total, mut lost_total) = (0, 0, 0);
    for ((running, (live, finished)), &rate) in emulators.iter().zip(&fetched).zip(&rates) {
        assert_eq!(live.users.len(), USERS);
        assert!(live.completeness.is_complete());
        let log = running.request_log();
        let n_429 = log.iter().filter(|r| r.status == Some(429)).count();
        let lost = log.iter().filter(|r| r.status.is_none()).count();
        let n_ok = log.len() - n_429 - lost;
        let bound = n_ok as f64 / f64::from(rate);
        let after_burst = (n_ok as f64 - f64::from(rate)) / f64::from(rate);
        println!(
            "  target at {rate}/s: {n_ok} answered requests, {n_429} 429s, {lost} lost; done after {:.2?}; \
             bound {bound:.2} s",
            finished.duration_since(started)
        );
        slowest_bound = slowest_bound.max(bound);
        slowest_after_burst = slowest_after_burst.max(after_burst);
        sum_of_bounds += bound;
        n_ok_total += n_ok;
        n_429_total += n_429;
        lost_total += lost;
    }
    println!(
        "fetch {TARGETS} targets x {USERS} users at once, 20 ms latency, {}..{} requests/s: {elapsed:.2?} for \
         {n_ok_total} answered requests ({n_429_total} 429s, {lost_total} lost); slowest target's bound \
         {slowest_bound:.2} s (ratio {:.3}); less its initial burst {slowest_after_burst:.2} s (ratio {:.3}); \
         sum of the targets' bounds {sum_of_bounds:.2} s (ratio {:.3})",
        rates[0],
        rates[rates.len() - 1],
        elapsed.as_secs_f64() / slowest_bound,
        elapsed.as_secs_f64() / slowest_after_burst,
        elapsed.as_secs_f64() / sum_of_bounds
    );
    for running in emulators {
        running.shutdown().await.unwrap();
    }
}
