//! Pacing benchmark against the emulator (see BENCHMARKS.md), all runs side by side:
//!
//! 1. a fetch of 20,000 users under 50 requests/s, with `X-RateLimit-*` headers, with the
//!    IETF draft's headers, and with nothing but `Retry-After`: wall time against
//!    pages / rate, and the 429s seen;
//! 2. an apply of 2,000 users and 2,000 memberships from empty against 1000/min with
//!    80 ms latency (Productboard-like), adaptive concurrency against the old fixed 4;
//! 3. the same apply against 100/s, where 4 in flight at 80 ms cannot keep up.
//!
//! Every parameter can be chosen, since the apply at 1000/min takes minutes:
//! `ROSTER_BENCH_FETCH_USERS`, `ROSTER_BENCH_FETCH_RATE` (per second),
//! `ROSTER_BENCH_APPLY_USERS` (0 skips the applies), `ROSTER_BENCH_APPLY_MEMBERSHIPS`,
//! `ROSTER_BENCH_APPLY_RATE` (per minute), `ROSTER_BENCH_FAST_RATE` (per second),
//! `ROSTER_BENCH_LATENCY_MS`.
//!
//! Run with `cargo xtask bench pacing`.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roster_apply::{ApplyOptions, apply};
use roster_client::{ClientConfig, ReadClient, Token, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig, RateHeaders, RunningEmulator};
use roster_model::{
    DesiredGroup, DesiredState, DesiredUser, LiveState, LiveUser, Policy, Provider, UserAttributes,
};
use roster_plan::{PlanOptions, plan};

fn param(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn attributes(n: usize) -> UserAttributes {
    UserAttributes {
        user_name: format!("user{n:05}@example.com"),
        display_name: Some(format!("User {n}")),
        role: Some("maker".into()),
        active: true,
        ..UserAttributes::default()
    }
}

async fn emulator(config: EmulatorConfig, live: &LiveState) -> RunningEmulator {
    let config = EmulatorConfig { token: Some("bench".into()), ..config };
    let running = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    running.state().load_live_state(live).unwrap();
    running
}

fn client_config(running: &RunningEmulator) -> ClientConfig {
    let mut config = ClientConfig::new(running.base_url(), Provider::Productboard);
    config.token = Some(Token::new("bench"));
    config.max_attempts = 20;
    config
}

/// Answered requests (not 429) and 429s in the emulator's log.
fn counts(running: &RunningEmulator) -> (usize, usize) {
    let log = running.request_log();
    let throttled = log.iter().filter(|r| r.status == Some(429)).count();
    (log.len() - throttled, throttled)
}

fn style_name(style: RateHeaders) -> &'static str {
    match style {
        RateHeaders::XRateLimit => "X-RateLimit-*",
        RateHeaders::Ietf => "IETF RateLimit",
        RateHeaders::None => "no headers (Retry-After only)",
    }
}

async fn fetch(users: usize, rate: u32, latency: Duration, style: RateHeaders) {
    let live = LiveState {
        users: (0..users)
            .map(|n| LiveUser { created: None, id: format!("u{n:05}"), attributes: attributes(n) })
            .collect(),
        ..LiveState::default()
    };
    let config =
        EmulatorConfig { latency, rate_limit: Some(rate), rate_headers: style, ..EmulatorConfig::default() };
    let running = emulator(config, &live).await;
    let client = ReadClient::new(client_config(&running)).unwrap();
    let started = Instant::now();
    let (fetched, completeness) = client.fetch_users().await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(fetched.len(), users);
    assert!(completeness.is_complete());
    let (answered, throttled) = counts(&running);
    let bound = answered as f64 / f64::from(rate);
    let bound_after_burst = (answered as f64 - f64::from(rate)) / f64::from(rate);
    println!(
        "| fetch {users} users, {rate}/s, {} | {elapsed:.2} s | {answered} | {throttled} | {bound:.2} s | **{:.3}** | {:.3} |",
        style_name(style),
        elapsed / bound,
        elapsed / bound_after_burst,
    );
    running.shutdown().await.unwrap();
}

async fn apply_from_empty(
    users: usize,
    memberships: usize,
    (limit, window): (u32, Duration),
    latency: Duration,
    adaptive: bool,
) {
    const TEAM_SIZE: usize = 100;
    let desired = DesiredState {
        provider: Provider::Productboard,
        policy: Policy::default(),
        users: (0..users)
            .map(|n| DesiredUser {
                apps: Default::default(),
                expires: None,
                review_after: None,
                grant: Default::default(),
                attributes: attributes(n),
                previously: Vec::new(),
                source: None,
            })
            .collect(),
        // Memberships in teams of 100, going round the users.
        groups: (0..memberships.div_ceil(TEAM_SIZE))
            .map(|t| DesiredGroup {
                target: Default::default(),
                expiring_members: Vec::new(),
                member_grants: Vec::new(),
                display_name: format!("Team {t:03}"),
                external_id: None,
                members: Some(
                    (t * TEAM_SIZE..((t + 1) * TEAM_SIZE).min(memberships))
                        .map(|m| attributes(m % users).user_name)
                        .collect(),
                ),
                source: None,
            })
            .collect(),
        ..DesiredState::default()
    };
    let live = LiveState::default();
    let config = EmulatorConfig {
        latency,
        rate_limit: Some(limit),
        rate_limit_window: window,
        ..EmulatorConfig::default()
    };
    let running = emulator(config, &live).await;
    let mut client_config = client_config(&running);
    if !adaptive {
        client_config.concurrency = 4;
        client_config.adaptive_concurrency = false;
    }
    let concurrency = client_config.concurrency;
    let client = WriteClient::new(client_config).unwrap();
    let the_plan = plan(&desired, &live, &PlanOptions::default());
    let started = Instant::now();
    let report =
        apply(&the_plan, &client, &ApplyOptions { concurrency, ..ApplyOptions::default() }, None, |_| {})
            .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert!(report.summary.is_complete(), "{:?}", report.summary);
    let (answered, throttled) = counts(&running);
    let rate = f64::from(limit) / window.as_secs_f64();
    let bound = answered as f64 / rate;
    // The bucket starts full: with fewer requests than it holds, there is no such bound.
    let after_burst = if answered > limit as usize {
        format!("{:.3}", elapsed / ((answered as f64 - f64::from(limit)) / rate))
    } else {
        "–".to_owned()
    };
    let how = if adaptive { "adaptive (4 up to 16)" } else { "fixed 4" };
    let per = if window.as_secs() == 60 { "min" } else { "s" };
    println!(
        "| apply {users} users + {memberships} memberships, {limit}/{per}, {} ms, {how} | {elapsed:.1} s | {answered} | {throttled} | {bound:.1} s | **{:.3}** | {after_burst} |",
        latency.as_millis(),
        elapsed / bound,
    );
    running.shutdown().await.unwrap();
}

#[tokio::main]
async fn main() {
    let fetch_users = param("ROSTER_BENCH_FETCH_USERS", 20_000) as usize;
    let fetch_rate = param("ROSTER_BENCH_FETCH_RATE", 50);
    let apply_users = param("ROSTER_BENCH_APPLY_USERS", 2_000) as usize;
    let apply_memberships = param("ROSTER_BENCH_APPLY_MEMBERSHIPS", 2_000) as usize;
    let apply_rate = param("ROSTER_BENCH_APPLY_RATE", 1_000);
    let fast_rate = param("ROSTER_BENCH_FAST_RATE", 100);
    let latency = Duration::from_millis(u64::from(param("ROSTER_BENCH_LATENCY_MS", 80)));
    println!(
        "| run | wall time | answered requests | 429s | requests / rate | ratio | ratio less the initial burst |"
    );
    println!("|---|---|---|---|---|---|---|");
    for style in [RateHeaders::XRateLimit, RateHeaders::Ietf, RateHeaders::None] {
        fetch(fetch_users, fetch_rate, Duration::from_millis(20), style).await;
    }
    if apply_users == 0 {
        return;
    }
    for rate in [(apply_rate, Duration::from_secs(60)), (fast_rate, Duration::from_secs(1))] {
        for adaptive in [true, false] {
            apply_from_empty(apply_users, apply_memberships, rate, latency, adaptive).await;
        }
    }
}
