//! What discovery and verification cost (see BENCHMARKS.md): a plan and an apply over a
//! workspace of 10,000 users, each measured with them on and off, side by side in one
//! run, against the emulator in this process with 2 ms latency per request.
//!
//! - plan: discovery (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`) plus the
//!   fetch, against the fetch alone;
//! - apply: 1,000 title updates and 100 deactivations confirmed by their answers (or a
//!   read-back), plus the fetch and re-plan after the writes, against the writes alone.
//!
//! Run with `cargo run --release -p roster-apply --example bench_verify`.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roster_apply::{ApplyOptions, apply};
use roster_client::{ClientConfig, ReadClient, Token, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use roster_model::{DesiredState, DesiredUser, LiveState, LiveUser, Policy, Provider, UserAttributes};
use roster_plan::{PlanOptions, plan};

const USERS: usize = 10_000;
const UPDATES: usize = 1_000;
const DEACTIVATIONS: usize = 100;

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

fn live() -> LiveState {
    LiveState {
        users: (0..USERS)
            .map(|n| LiveUser { created: None, id: format!("u{n}"), attributes: attributes(n, "Analyst") })
            .collect(),
        ..LiveState::default()
    }
}

/// The file: the first 1,000 users get a new title, the last 100 are left out.
fn desired() -> DesiredState {
    let users = (0..USERS - DEACTIVATIONS)
        .map(|n| DesiredUser {
            apps: Default::default(),
            expires: None,
            review_after: None,
            grant: Default::default(),
            attributes: attributes(n, if n < UPDATES { "Senior Analyst" } else { "Analyst" }),
            previously: Vec::new(),
            source: None,
        })
        .collect();
    let policy = Policy {
        max_deactivations: roster_model::DeactivationLimit::Count(DEACTIVATIONS as u64),
        ..Policy::default()
    };
    DesiredState { provider: Provider::Productboard, policy, users, ..DesiredState::default() }
}

async fn emulator() -> RunningEmulator {
    let config = EmulatorConfig {
        latency: Duration::from_millis(2),
        token: Some("bench".into()),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    emulator.state().load_live_state(&live()).unwrap();
    emulator
}

fn client_config(emulator: &RunningEmulator, on: bool) -> ClientConfig {
    let mut config = ClientConfig::new(emulator.base_url(), Provider::Productboard);
    config.token = Some(Token::new("bench"));
    config.concurrency = 8;
    config.discover = on;
    config.verify_writes = on;
    config
}

/// `roster plan`'s work: discovery (when on), the fetch and the plan.
async fn measure_plan(on: bool) -> (usize, Duration) {
    let emulator = emulator().await;
    let desired = desired();
    emulator.clear_request_log();
    let started = Instant::now();
    let client = ReadClient::new(client_config(&emulator, on)).unwrap();
    let capabilities = client.capabilities().await.clone();
    let live = client.fetch_live().await.unwrap();
    let the_plan = plan(&desired, &live, &PlanOptions { capabilities, ..PlanOptions::default() });
    let elapsed = started.elapsed();
    assert_eq!(the_plan.operations.len(), UPDATES + DEACTIVATIONS);
    let requests = emulator.request_log().len();
    emulator.shutdown().await.unwrap();
    (requests, elapsed)
}

/// `roster apply`'s work after the plan: the writes, and (when on) their confirmation
/// and the fetch and re-plan after them.
async fn measure_apply(on: bool) -> (usize, Duration, u64) {
    let emulator = emulator().await;
    let desired = desired();
    let client = WriteClient::new(client_config(&emulator, on)).unwrap();
    let capabilities = client.reader().capabilities().await.clone();
    let options = PlanOptions { capabilities, ..PlanOptions::default() };
    let the_plan = plan(&desired, &live(), &options);
    emulator.clear_request_log();
    let started = Instant::now();
    let mut report =
        apply(&the_plan, &client, &ApplyOptions { concurrency: 8, ..ApplyOptions::default() }, None, |_| {})
            .await;
    if on {
        let after = client.reader().fetch_live().await.unwrap();
        let again = plan(&desired, &after, &options);
        report.record_replan(&again);
        assert_eq!(report.not_taken.as_deref().map(<[String]>::len), Some(0));
    }
    let elapsed = started.elapsed();
    assert!(report.summary.is_complete(), "{:?}", report.summary);
    let requests = emulator.request_log().len();
    emulator.shutdown().await.unwrap();
    (requests, elapsed, report.summary.verified)
}

#[tokio::main]
async fn main() {
    let (plan_off, plan_off_time) = measure_plan(false).await;
    let (plan_on, plan_on_time) = measure_plan(true).await;
    println!(
        "plan of {USERS} users: discovery off {plan_off} requests in {plan_off_time:.2?}; on {plan_on} requests \
         in {plan_on_time:.2?}; added {} requests, {:.2?}",
        plan_on - plan_off,
        plan_on_time.saturating_sub(plan_off_time)
    );
    let (apply_off, apply_off_time, verified_off) = measure_apply(false).await;
    let (apply_on, apply_on_time, verified_on) = measure_apply(true).await;
    let operations = UPDATES + DEACTIVATIONS;
    println!(
        "apply of {operations} operations over {USERS} users: verification off {apply_off} requests in \
         {apply_off_time:.2?} ({verified_off} confirmed); on {apply_on} requests in {apply_on_time:.2?} \
         ({verified_on} confirmed); added {} requests, {:.2?}",
        apply_on - apply_off,
        apply_on_time.saturating_sub(apply_off_time)
    );
}
