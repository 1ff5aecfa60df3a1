//! Fetch benchmark against the emulator (see BENCHMARKS.md): 20,000 users behind 20 ms
//! of latency, concurrent against sequential paging; and the same under a rate limit,
//! against the lower bound pages / rate.
//!
//! Run with `cargo run --release -p roster-client --example bench_fetch`.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roster_client::{ClientConfig, ReadClient};
use roster_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use roster_model::{LiveState, LiveUser, Provider, UserAttributes};

const USERS: usize = 20_000;

async fn emulator(config: EmulatorConfig) -> RunningEmulator {
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
    let running = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    running.state().load_live_state(&live).unwrap();
    running
}

async fn fetch(running: &RunningEmulator, concurrency: usize) -> Duration {
    let mut config = ClientConfig::new(running.base_url(), Provider::Productboard);
    config.concurrency = concurrency;
    let client = ReadClient::new(config).unwrap();
    let started = Instant::now();
    let (users, completeness) = client.fetch_users().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(users.len(), USERS);
    assert!(completeness.is_complete());
    elapsed
}

#[tokio::main]
async fn main() {
    let latency = EmulatorConfig { latency: Duration::from_millis(20), ..EmulatorConfig::default() };
    let running = emulator(latency).await;
    let sequential = fetch(&running, 1).await;
    let concurrent = fetch(&running, 8).await;
    println!(
        "fetch {USERS} users, 20 ms latency: sequential {sequential:.2?}, concurrent (8) {concurrent:.2?}; \
         speed-up {:.1}x",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
    running.shutdown().await.unwrap();

    let rate = 50;
    let limited = EmulatorConfig {
        latency: Duration::from_millis(20),
        rate_limit: Some(rate),
        ..EmulatorConfig::default()
    };
    let running = emulator(limited).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    running.clear_request_log();
    let elapsed = fetch(&running, 8).await;
    let log = running.request_log();
    let n_429 = log.iter().filter(|r| r.status == Some(429)).count();
    let n_ok = log.len() - n_429;
    let lost = log.iter().filter(|r| r.status.is_none()).count();
    let bound = n_ok as f64 / f64::from(rate);
    let bound_after_burst = (n_ok as f64 - f64::from(rate)) / f64::from(rate);
    println!(
        "fetch {USERS} users, 20 ms latency, {rate} requests/s: {elapsed:.2?} for {n_ok} answered requests \
         ({n_429} answered 429 and retried, {lost} lost); lower bound pages/rate {bound:.2} s (ratio {:.3}); \
         less the initial burst of {rate} {bound_after_burst:.2} s (ratio {:.3})",
        elapsed.as_secs_f64() / bound,
        elapsed.as_secs_f64() / bound_after_burst
    );
    running.shutdown().await.unwrap();
}
