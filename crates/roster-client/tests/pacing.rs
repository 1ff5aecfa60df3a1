//! The pacer end to end: the client against the emulator's rate limit in each header
//! style. With budget headers a fetch or a run of writes meets no 429 at all; without
//! them it backs off and loses nothing. Assertions count requests and statuses, never
//! time.

use std::net::SocketAddr;
use std::time::Duration;

use roster_client::{ClientConfig, ReadClient, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig, RateHeaders, RunningEmulator};
use roster_model::{Completeness, LiveState, LiveUser, Provider, UserAttributes};

const USERS: usize = 1_500;

fn attributes(n: usize) -> UserAttributes {
    UserAttributes {
        user_name: format!("user{n:05}@example.com"),
        display_name: Some(format!("User {n}")),
        active: true,
        ..UserAttributes::default()
    }
}

async fn start(rate_limit: u32, rate_headers: RateHeaders) -> RunningEmulator {
    let config = EmulatorConfig {
        rate_limit: Some(rate_limit),
        rate_headers,
        latency: Duration::from_millis(5),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    let live = LiveState {
        users: (0..USERS).map(|n| LiveUser { id: format!("u{n:05}"), attributes: attributes(n) }).collect(),
        ..LiveState::default()
    };
    emulator.state().load_live_state(&live).unwrap();
    emulator
}

fn client_config(emulator: &RunningEmulator) -> ClientConfig {
    let mut config = ClientConfig::new(emulator.base_url(), Provider::Productboard);
    config.max_attempts = 10;
    config.backoff_base = Duration::from_millis(50);
    config
}

fn count(emulator: &RunningEmulator, status: u16) -> usize {
    emulator.request_log().iter().filter(|r| r.status == Some(status)).count()
}

#[tokio::test]
async fn a_fetch_under_an_advertised_limit_meets_no_429() {
    for style in [RateHeaders::XRateLimit, RateHeaders::Ietf] {
        let emulator = start(20, style).await;
        let client = ReadClient::new(client_config(&emulator)).unwrap();
        let (users, completeness) = client.fetch_users().await.unwrap();
        assert_eq!((users.len(), completeness), (USERS, Completeness::Complete), "{style:?}");
        assert_eq!(count(&emulator, 429), 0, "{style:?}: {:?}", emulator.request_log());
        emulator.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn writes_under_an_advertised_limit_meet_no_429() {
    let emulator = start(20, RateHeaders::XRateLimit).await;
    let writer = WriteClient::new(client_config(&emulator)).unwrap();
    let creates = (0..60).map(|n| {
        let writer = writer.clone();
        async move { writer.create_user(&attributes(USERS + n)).await.map(|applied| applied.value.id) }
    });
    let created: Vec<_> = futures_util::future::join_all(creates).await;
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    assert_eq!(count(&emulator, 201), 60);
    assert_eq!(count(&emulator, 429), 0, "{:?}", emulator.request_log());
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_budget_headers_the_client_backs_off_and_loses_nothing() {
    let emulator = start(5, RateHeaders::None).await;
    let client = ReadClient::new(client_config(&emulator)).unwrap();
    let (users, completeness) = client.fetch_users().await.unwrap();
    assert_eq!((users.len(), completeness), (USERS, Completeness::Complete));
    let log = emulator.request_log();
    assert!(log.iter().all(|r| matches!(r.status, Some(200 | 429))), "{log:?}");
    // The three discovery documents, 15 pages and the empty one past them answered, each
    // once; the 429s that taught the pace were retried.
    assert_eq!(count(&emulator, 200), 19, "{log:?}");
    assert!(count(&emulator, 429) > 0, "a burst of 5 a second is exceeded: {log:?}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_client_cap_holds_below_the_service_limit() {
    let emulator = start(1000, RateHeaders::XRateLimit).await;
    let mut config = client_config(&emulator);
    config.max_requests_per_second = Some(40.0);
    let client = ReadClient::new(config).unwrap();
    let started = tokio::time::Instant::now();
    let (users, _) = client.fetch_users().await.unwrap();
    assert_eq!(users.len(), USERS);
    // 16 requests 25 ms apart cannot take less than 15 gaps: a lower bound, which no
    // slow machine can break.
    assert!(started.elapsed() >= Duration::from_millis(15 * 25), "{:?}", started.elapsed());
    assert_eq!(count(&emulator, 429), 0);
    emulator.shutdown().await.unwrap();
}
