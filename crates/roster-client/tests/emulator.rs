//! The client against roster's emulator, one test per misbehaviour knob and fault: the
//! fetch either returns the complete, correct view or says that it is incomplete, and it
//! never loops (every test bounds the number of requests the emulator saw).

use std::time::Duration;

use roster_client::{ClientConfig, ClientError, ReadClient, RecordOutcome, Token, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig, Misbehaviour, RunningEmulator};
use roster_model::{Completeness, LiveGroup, LiveState, LiveUser, Provider, UserAttributes, UserChanges};

const TOKEN: &str = "emulator-test-token";

async fn start(config: EmulatorConfig) -> RunningEmulator {
    let config = EmulatorConfig { token: Some(TOKEN.to_owned()), seed: 7, ..config };
    Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn client_config(emulator: &RunningEmulator) -> ClientConfig {
    let mut config = ClientConfig::new(emulator.base_url(), Provider::Productboard);
    config.token = Some(Token::new(TOKEN));
    config.backoff_base = Duration::from_millis(2);
    config.backoff_max = Duration::from_millis(50);
    config
}

fn user(i: usize) -> UserAttributes {
    UserAttributes {
        user_name: format!("user{i:04}@example.com"),
        display_name: Some(format!("User {i}")),
        role: Some(["admin", "maker", "contributor", "viewer"][i % 4].to_owned()),
        active: !i.is_multiple_of(7),
        ..UserAttributes::default()
    }
}

/// Seeds `n_users` users and three groups, without HTTP.
fn seed(emulator: &RunningEmulator, n_users: usize) {
    let state = emulator.state();
    let ids: Vec<String> = (0..n_users).map(|i| state.add_user(&user(i)).unwrap()).collect();
    for (g, name) in ["Product", "Design", "Empty"].iter().enumerate() {
        let members: Vec<&str> =
            ids.iter().skip(g).step_by(3 + g).map(String::as_str).take(if g == 2 { 0 } else { 40 }).collect();
        state.add_group(name, Some(&format!("grp-{g}")), &members).unwrap();
    }
}

/// The emulator's own view, read without HTTP, as roster's live state.
fn truth(emulator: &RunningEmulator) -> LiveState {
    let state = emulator.state();
    let mut users: Vec<LiveUser> = state
        .users()
        .into_iter()
        .map(|v| serde_json::from_value::<roster_scim::User>(v).unwrap().to_live().unwrap())
        .collect();
    let mut groups: Vec<LiveGroup> = state
        .groups()
        .into_iter()
        .map(|v| serde_json::from_value::<roster_scim::Group>(v).unwrap().to_live().unwrap())
        .collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    LiveState { users, groups, completeness: Completeness::Complete }
}

fn sorted(mut live: LiveState) -> LiveState {
    live.users.sort_by(|a, b| a.id.cmp(&b.id));
    live.groups.sort_by(|a, b| a.id.cmp(&b.id));
    for group in &mut live.groups {
        group.members.sort();
    }
    live
}

fn sorted_truth(emulator: &RunningEmulator) -> LiveState {
    sorted(truth(emulator))
}

/// Fetches with the given concurrency; the request log must stay small.
async fn fetch(emulator: &RunningEmulator, concurrency: usize) -> LiveState {
    emulator.clear_request_log();
    let mut config = client_config(emulator);
    config.concurrency = concurrency;
    let live = ReadClient::new(config).unwrap().fetch_live().await.unwrap();
    let n_requests = emulator.request_log().len();
    assert!(n_requests < 60, "the client sent {n_requests} requests: it loops");
    live
}

/// The fetch is either complete and equal to the truth, or says it is incomplete.
fn complete_and_correct_or_incomplete(live: LiveState, emulator: &RunningEmulator) -> bool {
    match &live.completeness {
        Completeness::Complete => {
            assert_eq!(sorted(live), sorted_truth(emulator));
            true
        }
        Completeness::Incomplete(reasons) => {
            assert!(!reasons.is_empty());
            false
        }
    }
}

async fn assert_complete_and_correct(misbehaviour: Misbehaviour, n_users: usize) {
    let emulator =
        start(EmulatorConfig { misbehaviour: misbehaviour.clone(), ..EmulatorConfig::default() }).await;
    seed(&emulator, n_users);
    for concurrency in [1, 4] {
        let live = fetch(&emulator, concurrency).await;
        assert_eq!(live.completeness, Completeness::Complete, "{misbehaviour:?}, concurrency {concurrency}");
        assert_eq!(sorted(live), sorted_truth(&emulator), "{misbehaviour:?}, concurrency {concurrency}");
    }
}

async fn assert_incomplete(misbehaviour: Misbehaviour, n_users: usize, reason_contains: &str) {
    let emulator =
        start(EmulatorConfig { misbehaviour: misbehaviour.clone(), ..EmulatorConfig::default() }).await;
    seed(&emulator, n_users);
    for concurrency in [1, 4] {
        let live = fetch(&emulator, concurrency).await;
        match &live.completeness {
            Completeness::Incomplete(reasons) => {
                assert!(reasons.iter().any(|r| r.contains(reason_contains)), "{misbehaviour:?}: {reasons:?}")
            }
            Completeness::Complete => {
                panic!("{misbehaviour:?}, concurrency {concurrency}: reported complete")
            }
        }
    }
}

#[tokio::test]
async fn a_well_behaved_emulator_gives_the_whole_view() {
    assert_complete_and_correct(Misbehaviour::default(), 250).await;
    assert_complete_and_correct(Misbehaviour::default(), 0).await;
}

#[tokio::test]
async fn pages_requested_concurrently_and_once_each() {
    let emulator = start(EmulatorConfig::default()).await;
    seed(&emulator, 450);
    fetch(&emulator, 4).await;
    let lists: Vec<String> = emulator
        .request_log()
        .into_iter()
        .filter(|r| r.path.ends_with("/Users"))
        .map(|r| r.query.unwrap_or_default())
        .collect();
    assert_eq!(lists.len(), 5, "{lists:?}");
    let mut unique = lists.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no page twice: {lists:?}");
}

#[tokio::test]
async fn count_ignored_with_a_fixed_page_size() {
    for size in [30, 150] {
        let misbehaviour = Misbehaviour { fixed_page_size: Some(size), ..Misbehaviour::default() };
        assert_complete_and_correct(misbehaviour, 250).await;
    }
}

#[tokio::test]
async fn pages_capped_below_the_count_asked() {
    assert_complete_and_correct(Misbehaviour { page_size_cap: Some(50), ..Misbehaviour::default() }, 230)
        .await;
}

#[tokio::test]
async fn first_page_again_past_the_end() {
    // 200 users: the last page is full, so the client looks past the end and meets
    // the first page again, which it recognises as the end.
    let misbehaviour = Misbehaviour { repeat_first_page_past_end: true, ..Misbehaviour::default() };
    assert_complete_and_correct(misbehaviour.clone(), 200).await;
    assert_complete_and_correct(misbehaviour, 250).await;
}

#[tokio::test]
async fn total_results_equal_to_the_page_size() {
    let misbehaviour = Misbehaviour { total_results_is_page_size: true, ..Misbehaviour::default() };
    assert_incomplete(misbehaviour, 250, "totalResults").await;
}

#[tokio::test]
async fn total_results_that_drift() {
    let misbehaviour = Misbehaviour { drifting_total_results: true, ..Misbehaviour::default() };
    assert_incomplete(misbehaviour, 250, "totalResults changed").await;
}

#[tokio::test]
async fn unstable_order() {
    let emulator = start(EmulatorConfig {
        misbehaviour: Misbehaviour { unstable_order: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    })
    .await;
    seed(&emulator, 250);
    for concurrency in [1, 4] {
        let live = fetch(&emulator, concurrency).await;
        complete_and_correct_or_incomplete(live, &emulator);
        // The emulator announces sorting, so the client asks for a stable order.
        let log = emulator.request_log();
        let lists: Vec<&str> =
            log.iter().filter(|r| r.path.ends_with("/Users")).filter_map(|r| r.query.as_deref()).collect();
        assert!(!lists.is_empty() && lists.iter().all(|q| q.contains("sortBy=userName")), "{lists:?}");
    }
}

#[tokio::test]
async fn random_faults_are_retried() {
    let emulator = start(EmulatorConfig { fault_rate: 0.3, ..EmulatorConfig::default() }).await;
    seed(&emulator, 250);
    let mut config = client_config(&emulator);
    config.max_attempts = 12;
    let live = ReadClient::new(config.clone()).unwrap().fetch_live().await.unwrap();
    assert!(complete_and_correct_or_incomplete(live, &emulator));
    let log = emulator.request_log();
    assert!(log.iter().any(|r| r.dropped()) && log.iter().any(|r| r.status == Some(500)), "faults happened");

    // Writes under faults: every user is created exactly once (a POST whose answer was
    // dropped is retried and the 409 adopts the user).
    let writer = WriteClient::new(config).unwrap();
    for i in 1000..1030 {
        let created = writer.create_user(&user(i)).await.unwrap();
        assert_eq!(created.value.attributes, user(i));
    }
    let after = truth(&emulator);
    assert_eq!(after.users.len(), 280);
}

#[tokio::test]
async fn faults_beyond_the_attempts_fail_the_fetch() {
    let emulator = start(EmulatorConfig { fault_rate: 1.0, ..EmulatorConfig::default() }).await;
    seed(&emulator, 5);
    let mut config = client_config(&emulator);
    config.max_attempts = 3;
    let err = ReadClient::new(config).unwrap().fetch_live().await.unwrap_err();
    assert_eq!(err.attempts(), 3, "{err}");
    assert!(matches!(err, ClientError::Http { status: 500, .. } | ClientError::Connection { .. }), "{err}");
    // Three attempts at each discovery document (/ServiceProviderConfig, /ResourceTypes,
    // /Schemas; read once, for sorting), three at the first page of users, and nothing
    // after that.
    assert_eq!(emulator.request_log().len(), 12);
}

#[tokio::test]
async fn rate_limited_fetch_loses_no_request() {
    for misbehaviour in [
        Misbehaviour::default(),
        Misbehaviour { omit_retry_after: true, ..Misbehaviour::default() },
        Misbehaviour { throttle_as_500: true, ..Misbehaviour::default() },
    ] {
        let emulator = start(EmulatorConfig {
            rate_limit: Some(25),
            misbehaviour: misbehaviour.clone(),
            ..EmulatorConfig::default()
        })
        .await;
        seed(&emulator, 450);
        let mut config = client_config(&emulator);
        config.max_attempts = 10;
        config.backoff_base = Duration::from_millis(100);
        let live = ReadClient::new(config).unwrap().fetch_live().await.unwrap();
        assert_eq!(live.completeness, Completeness::Complete, "{misbehaviour:?}");
        assert_eq!(sorted(live), sorted_truth(&emulator), "{misbehaviour:?}");
    }
}

#[tokio::test]
async fn a_lost_post_answer_is_adopted() {
    for misbehaviour in [
        Misbehaviour { drop_response_after_post: true, ..Misbehaviour::default() },
        Misbehaviour {
            drop_response_after_post: true,
            conflict_without_scim_type: true,
            numeric_status: true,
            ..Misbehaviour::default()
        },
    ] {
        let emulator =
            start(EmulatorConfig { misbehaviour: misbehaviour.clone(), ..EmulatorConfig::default() }).await;
        let writer = WriteClient::new(client_config(&emulator)).unwrap();
        let created = writer.create_user(&user(1)).await.unwrap();
        assert!(created.adopted(), "{misbehaviour:?}: {:?}", created.records);
        assert_eq!(created.records[0].status, Some(409));
        assert_eq!(created.records[0].attempts, 2);
        assert_eq!(created.value.attributes, user(1));

        let a = writer.create_user(&user(2)).await.unwrap().value;
        let group = writer
            .create_group("Adopted Team", Some("grp-adopt"), std::slice::from_ref(&a.id))
            .await
            .unwrap();
        assert!(group.adopted(), "{misbehaviour:?}: {:?}", group.records);
        assert_eq!(group.value.members, std::slice::from_ref(&a.id));
        let live = truth(&emulator);
        assert_eq!(live.users.len(), 2);
        assert_eq!(live.groups.len(), 1);
        assert_eq!(live.groups[0].members, [a.id]);
    }
}

#[tokio::test]
async fn error_bodies_with_numeric_status_and_no_scim_type() {
    let emulator = start(EmulatorConfig {
        misbehaviour: Misbehaviour {
            numeric_status: true,
            conflict_without_scim_type: true,
            ..Misbehaviour::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let writer = WriteClient::new(client_config(&emulator)).unwrap();
    writer.create_user(&user(1)).await.unwrap();
    let mut same = user(1);
    same.user_name = same.user_name.to_uppercase();
    let err = writer.create_user(&same).await.unwrap_err();
    assert!(
        matches!(err.error, ClientError::Http { status: 409, scim_type: None, attempts: 1, .. }),
        "{}",
        err.error
    );
    assert!(matches!(&err.records[0].outcome, RecordOutcome::Failed { message } if message.contains("409")));
}

#[tokio::test]
async fn productboard_writes_round_trip() {
    let emulator = start(EmulatorConfig::default()).await;
    let mut config = client_config(&emulator);
    config.max_members_per_request = 3;
    let writer = WriteClient::new(config).unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(writer.create_user(&user(i)).await.unwrap().value.id);
    }
    // A user created without a role gets Productboard's default.
    let plain =
        UserAttributes { user_name: "plain@example.com".into(), active: true, ..UserAttributes::default() };
    let plain = writer.create_user(&plain).await.unwrap().value;
    assert_eq!(plain.attributes.role.as_deref(), Some("contributor"));

    let changes = UserChanges {
        family_name: Some("Lovelace".into()),
        role: Some("viewer".into()),
        active: Some(false),
        ..UserChanges::default()
    };
    writer.update_user(&ids[1], &changes).await.unwrap();
    let mut expected = user(1);
    changes.apply_to(&mut expected);
    let back = writer.reader().get_user(&ids[1]).await.unwrap().unwrap().to_live().unwrap();
    assert_eq!(back.attributes, expected);

    let group = writer.create_group("Team", None, &ids).await.unwrap();
    assert_eq!(group.records.len(), 3, "8 members, 3 per request: a POST and two PATCH");
    let removed = writer.remove_members(&group.value.id, &ids[..4]).await.unwrap();
    assert_eq!(removed.records.len(), 2);
    writer.rename_group(&group.value.id, "Team 2").await.unwrap();
    let live = writer.reader().fetch_live().await.unwrap();
    assert!(live.completeness.is_complete());
    let team = live.groups.iter().find(|g| g.id == group.value.id).unwrap();
    assert_eq!(team.display_name, "Team 2");
    let mut members = team.members.clone();
    members.sort();
    let mut rest = ids[4..].to_vec();
    rest.sort();
    assert_eq!(members, rest);
    writer.delete_group(&group.value.id).await.unwrap();
    assert!(writer.reader().get_group(&group.value.id).await.unwrap().is_none());
    // Users were never deleted: all nine are still there.
    assert_eq!(truth(&emulator).users.len(), 9);
    assert!(emulator.request_log().iter().all(|r| !(r.method == "DELETE" && r.path.contains("/Users"))));
}

#[tokio::test]
async fn latency_and_an_attempt_timeout_below_it() {
    let emulator =
        start(EmulatorConfig { latency: Duration::from_millis(300), ..EmulatorConfig::default() }).await;
    seed(&emulator, 120);
    let live = fetch(&emulator, 4).await;
    assert_eq!(sorted(live), sorted_truth(&emulator));

    // Every attempt times out: the fetch fails after its attempts, it does not hang.
    let mut config = client_config(&emulator);
    config.request_timeout = Duration::from_millis(50);
    config.max_attempts = 2;
    let err = ReadClient::new(config).unwrap().fetch_live().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { attempts: 2, .. }), "{err}");
}
