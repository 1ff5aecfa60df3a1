//! Apply benchmark against the emulator (see BENCHMARKS.md):
//!
//! 1. 2,000 user operations with 20 ms latency and a rate limit of 100 requests/s: the
//!    wall time against its lower bound, requests / rate.
//! 2. 1,000 member additions across 5 teams: how many requests they take.
//!
//! Run with `cargo run --release -p roster-apply --example bench_apply`.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roster_apply::{ApplyOptions, apply};
use roster_client::{ClientConfig, Token, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig};
use roster_model::{
    DesiredGroup, DesiredState, DesiredUser, LiveState, LiveUser, Policy, Provider, UserAttributes,
};
use roster_plan::{PlanOptions, plan};

const RATE: u32 = 100;

fn attributes(n: usize, title: &str) -> UserAttributes {
    UserAttributes {
        user_name: format!("user{n:05}@example.com"),
        display_name: Some(format!("User {n}")),
        title: Some(title.to_owned()),
        role: Some("maker".into()),
        active: true,
        ..UserAttributes::default()
    }
}

fn desired_user(attributes: UserAttributes) -> DesiredUser {
    DesiredUser {
        apps: Default::default(),
        expires: None,
        review_after: None,
        grant: Default::default(),
        attributes,
        previously: Vec::new(),
        source: None,
    }
}

#[tokio::main]
async fn main() {
    // 1,000 users to create and 1,000 to update: 2,000 user operations.
    let live = LiveState {
        users: (0..1000)
            .map(|n| LiveUser { created: None, id: format!("u{n}"), attributes: attributes(n, "Analyst") })
            .collect(),
        ..LiveState::default()
    };
    let desired = DesiredState {
        provider: Provider::Productboard,
        policy: Policy::default(),
        users: (0..2000).map(|n| desired_user(attributes(n, "Senior Analyst"))).collect(),
        ..DesiredState::default()
    };
    let config = EmulatorConfig {
        latency: Duration::from_millis(20),
        rate_limit: Some(RATE),
        token: Some("bench".into()),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    emulator.state().load_live_state(&live).unwrap();
    let mut client_config = ClientConfig::new(emulator.base_url(), Provider::Productboard);
    client_config.token = Some(Token::new("bench"));
    client_config.concurrency = 8;
    let client = WriteClient::new(client_config).unwrap();
    let the_plan = plan(&desired, &live, &PlanOptions::default());
    assert_eq!(the_plan.operations.len(), 2000);
    // The emulator's bucket starts full (one second's worth); start from an empty log.
    tokio::time::sleep(Duration::from_secs(1)).await;
    emulator.clear_request_log();
    let started = Instant::now();
    let report =
        apply(&the_plan, &client, &ApplyOptions { concurrency: 8, ..ApplyOptions::default() }, None, |_| {})
            .await;
    let elapsed = started.elapsed();
    let log = emulator.request_log();
    let n_429 = log.iter().filter(|r| r.status == Some(429)).count();
    let n_ok = log.len() - n_429;
    assert!(report.summary.is_complete(), "{:?}", report.summary);
    let bound = Duration::from_secs_f64(n_ok as f64 / f64::from(RATE));
    // The emulator's bucket starts full: one second's worth of requests goes at once.
    let bound_after_burst = Duration::from_secs_f64((n_ok as f64 - f64::from(RATE)) / f64::from(RATE));
    println!(
        "apply 2000 user operations, 20 ms latency, {RATE} requests/s: {:.2?} for {n_ok} answered requests \
         ({n_429} answered 429 and retried); lower bound requests/rate {:.2?} (ratio {:.3}); \
         lower bound less the initial burst of {RATE} {:.2?} (ratio {:.3})",
        elapsed,
        bound,
        elapsed.as_secs_f64() / bound.as_secs_f64(),
        bound_after_burst,
        elapsed.as_secs_f64() / bound_after_burst.as_secs_f64()
    );
    emulator.shutdown().await.unwrap();

    // 1,000 member additions across 5 teams.
    let users: Vec<LiveUser> = (0..1000)
        .map(|n| LiveUser { created: None, id: format!("m{n}"), attributes: attributes(n, "Engineer") })
        .collect();
    let emulator =
        Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), EmulatorConfig::default()).await.unwrap();
    let teams: Vec<roster_model::LiveGroup> = (0..5)
        .map(|t| roster_model::LiveGroup {
            id: format!("t{t}"),
            display_name: format!("Team {t}"),
            external_id: None,
            members: Vec::new(),
            created: None,
        })
        .collect();
    let live = LiveState { users: users.clone(), groups: teams, ..LiveState::default() };
    emulator.state().load_live_state(&live).unwrap();
    let desired = DesiredState {
        users: users.iter().map(|u| desired_user(u.attributes.clone())).collect(),
        groups: (0..5)
            .map(|t| DesiredGroup {
                target: Default::default(),
                expiring_members: Vec::new(),
                member_grants: Vec::new(),
                display_name: format!("Team {t}"),
                external_id: None,
                members: Some(
                    users[t * 200..(t + 1) * 200].iter().map(|u| u.attributes.user_name.clone()).collect(),
                ),
                source: None,
            })
            .collect(),
        ..DesiredState::default()
    };
    let client = WriteClient::new(ClientConfig::new(emulator.base_url(), Provider::Productboard)).unwrap();
    let the_plan = plan(&desired, &live, &PlanOptions::default());
    emulator.clear_request_log();
    let report = apply(&the_plan, &client, &ApplyOptions::default(), None, |_| {}).await;
    assert!(report.summary.is_complete());
    let writes = emulator.request_log().iter().filter(|r| r.method != "GET").count();
    println!(
        "1000 member additions across 5 teams: {} operations, {writes} requests (one request per change would be 1000)",
        the_plan.operations.len()
    );
    emulator.shutdown().await.unwrap();
}
