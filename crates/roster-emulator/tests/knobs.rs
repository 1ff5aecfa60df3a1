//! Latency, rate limit, injected faults and every misbehaviour switch, each observed.

mod common;

use std::time::Duration;

use common::{Scim, assert_scim_error, ids, start};
use roster_emulator::{EmulatorConfig, Misbehaviour, RateHeaders, RunningEmulator};
use roster_model::UserAttributes;
use serde_json::json;

async fn with_users(config: EmulatorConfig, n: usize) -> (RunningEmulator, Scim) {
    let emulator = start(config).await;
    let state = emulator.state();
    for i in 0..n {
        state
            .add_user(&UserAttributes {
                user_name: format!("user{i:03}@example.com"),
                ..UserAttributes::default()
            })
            .unwrap();
    }
    let scim = Scim::new(&emulator);
    (emulator, scim)
}

fn misbehaving(misbehaviour: Misbehaviour) -> EmulatorConfig {
    EmulatorConfig { misbehaviour, ..EmulatorConfig::default() }
}

#[tokio::test(start_paused = true)]
async fn latency_delays_every_request() {
    // The clock is paused and jumps ahead when the runtime idles: the test proves the
    // delay without waiting for it.
    let latency = Duration::from_secs(600);
    let emulator = start(EmulatorConfig { latency, ..EmulatorConfig::default() }).await;
    let scim = Scim::new(&emulator);
    let before = tokio::time::Instant::now();
    assert_eq!(scim.get("/ServiceProviderConfig").await.status, 200);
    assert_eq!(scim.get("/Users/nobody").await.status, 404);
    assert!(before.elapsed() >= 2 * latency, "two requests took {:?}", before.elapsed());
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_headers_on_every_answer() {
    let emulator = start(EmulatorConfig { rate_limit: Some(1), ..EmulatorConfig::default() }).await;
    let scim = Scim::new(&emulator);
    let first = scim.get("/Users").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-ratelimit-limit"), Some("1"));
    assert!(first.header("x-ratelimit-remaining").is_some() && first.header("x-ratelimit-reset").is_some());
    // One request per second: one of the next few is throttled, however slow the machine.
    let mut throttled = None;
    for _ in 0..50 {
        let reply = scim.get("/Users").await;
        if reply.status == 429 {
            throttled = Some(reply);
            break;
        }
    }
    let throttled = throttled.expect("a request over the limit is throttled");
    assert_scim_error(&throttled, 429, None);
    // Milliseconds: the wait until the next token, not a whole second.
    let retry_after: f64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after > 0.0 && retry_after <= 1.0, "{retry_after}");
    assert_eq!(throttled.header("x-ratelimit-remaining"), Some("0"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let reset: f64 = throttled.header("x-ratelimit-reset").unwrap().parse().unwrap();
    // At most a second ahead of the answer; the header is rounded up to a millisecond and
    // the wall clock read here may be a hair behind the server's, hence the 10 ms slack.
    assert!(reset + 1.0 >= now && reset <= now + 1.01, "reset is a Unix time: {reset} vs now {now}");
}

#[tokio::test]
async fn ietf_and_bare_rate_headers_and_a_per_minute_limit() {
    let ietf = first_throttled(EmulatorConfig {
        rate_limit: Some(3),
        rate_limit_window: Duration::from_secs(60),
        rate_headers: RateHeaders::Ietf,
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(ietf.status, 429);
    assert_eq!(ietf.header("ratelimit-policy"), Some("\"default\";q=3;w=60"));
    // Three a minute: the next token comes in about 20 s, the bucket is full in about 60 s.
    let retry_after: u64 = ietf.header("retry-after").unwrap().parse().unwrap();
    assert!((15..=20).contains(&retry_after), "{retry_after}");
    let ratelimit = ietf.header("ratelimit").unwrap();
    assert!(ratelimit.starts_with("\"default\";r=0;t="), "{ratelimit}");
    assert!(ietf.header("x-ratelimit-remaining").is_none());
    let bare = first_throttled(EmulatorConfig {
        rate_limit: Some(1),
        rate_headers: RateHeaders::None,
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(bare.status, 429);
    assert_eq!(bare.header("retry-after"), Some("1"));
    assert!(bare.header("ratelimit").is_none() && bare.header("x-ratelimit-reset").is_none());
}

async fn first_throttled(config: EmulatorConfig) -> common::Reply {
    let emulator = start(config).await;
    let scim = Scim::new(&emulator);
    for _ in 0..50 {
        let reply = scim.get("/Users").await;
        if reply.status != 200 {
            return reply;
        }
    }
    panic!("nothing was throttled");
}

#[tokio::test]
async fn throttling_without_retry_after_or_disguised_as_500() {
    let bare = first_throttled(EmulatorConfig {
        rate_limit: Some(1),
        misbehaviour: Misbehaviour { omit_retry_after: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(bare.status, 429);
    assert!(bare.header("retry-after").is_none());
    let disguised = first_throttled(EmulatorConfig {
        rate_limit: Some(1),
        misbehaviour: Misbehaviour { throttle_as_500: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    })
    .await;
    assert_scim_error(&disguised, 500, None);
    assert!(disguised.header("retry-after").is_none());
}

/// What a client saw for each of `n` requests: a status, or `None` for a dropped connection.
async fn fault_outcomes(seed: u64, n: usize) -> (Vec<Option<u16>>, Vec<Option<u16>>) {
    let emulator = start(EmulatorConfig { fault_rate: 0.5, seed, ..EmulatorConfig::default() }).await;
    let scim = Scim::new(&emulator);
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.push(
            scim.try_send(reqwest::Method::GET, "/ServiceProviderConfig", None).await.ok().map(|r| r.status),
        );
    }
    let logged = emulator.request_log().into_iter().map(|r| r.status).collect();
    (seen, logged)
}

#[tokio::test]
async fn faults_are_500s_and_dropped_connections_reproducible_from_the_seed() {
    let (seen, logged) = fault_outcomes(42, 40).await;
    assert!(seen.contains(&Some(200)), "{seen:?}");
    assert!(seen.contains(&Some(500)), "{seen:?}");
    assert!(seen.contains(&None), "some connections are dropped: {seen:?}");
    assert!(seen.iter().all(|s| matches!(s, Some(200 | 500) | None)), "{seen:?}");
    assert_eq!(seen, logged, "the log records what the client saw; None is a dropped connection");
    let (again, _) = fault_outcomes(42, 40).await;
    assert_eq!(seen, again, "the same seed gives the same faults");
    let (other, _) = fault_outcomes(43, 40).await;
    assert_ne!(seen, other, "another seed gives other faults");
}

#[tokio::test]
async fn a_post_can_be_committed_and_its_answer_dropped() {
    let emulator =
        start(misbehaving(Misbehaviour { drop_response_after_post: true, ..Misbehaviour::default() })).await;
    let scim = Scim::new(&emulator);
    let lost =
        scim.try_send(reqwest::Method::POST, "/Users", Some(json!({"userName": "ada@example.com"}))).await;
    assert!(lost.is_err(), "the client sees a dropped connection");
    assert_eq!(emulator.state().users().len(), 1, "but the user was created");
    let retried = scim.post("/Users", json!({"userName": "ada@example.com"})).await;
    assert_scim_error(&retried, 409, Some("uniqueness"));
    let statuses: Vec<_> = emulator.request_log().into_iter().map(|r| (r.method, r.status)).collect();
    assert_eq!(statuses, vec![("POST".to_owned(), None), ("POST".to_owned(), Some(409))]);
}

#[tokio::test]
async fn ignoring_count_serves_a_fixed_page_size() {
    let (_emulator, scim) =
        with_users(misbehaving(Misbehaviour { fixed_page_size: Some(7), ..Misbehaviour::default() }), 20)
            .await;
    for count in [1, 10, 100] {
        let page = scim.get(&format!("/Users?count={count}")).await.body;
        assert_eq!(
            (page["itemsPerPage"].as_u64(), page["totalResults"].as_u64()),
            (Some(7), Some(20)),
            "count={count}"
        );
    }
}

#[tokio::test]
async fn pages_can_be_capped_lower_than_asked() {
    let (_emulator, scim) =
        with_users(misbehaving(Misbehaviour { page_size_cap: Some(50), ..Misbehaviour::default() }), 120)
            .await;
    assert_eq!(scim.get("/Users?count=100").await.body["itemsPerPage"], 50);
    assert_eq!(scim.get("/Users?count=20").await.body["itemsPerPage"], 20);
}

#[tokio::test]
async fn past_the_end_the_first_page_comes_again() {
    let (_emulator, scim) = with_users(
        misbehaving(Misbehaviour { repeat_first_page_past_end: true, ..Misbehaviour::default() }),
        15,
    )
    .await;
    let first = ids(&scim.get("/Users?startIndex=1&count=10").await.body);
    let past = scim.get("/Users?startIndex=16&count=10").await.body;
    assert_eq!(ids(&past), first);
    assert_eq!(past["startIndex"], 1);
    assert_eq!(
        ids(&scim.get("/Users?startIndex=11&count=10").await.body).len(),
        5,
        "inside the list, paging is right"
    );
}

#[tokio::test]
async fn total_results_can_equal_the_page_size() {
    let (_emulator, scim) = with_users(
        misbehaving(Misbehaviour { total_results_is_page_size: true, ..Misbehaviour::default() }),
        30,
    )
    .await;
    let page = scim.get("/Users?count=10").await.body;
    assert_eq!((page["totalResults"].as_u64(), page["itemsPerPage"].as_u64()), (Some(10), Some(10)));
}

#[tokio::test]
async fn total_results_can_drift_during_a_fetch() {
    let (_emulator, scim) =
        with_users(misbehaving(Misbehaviour { drifting_total_results: true, ..Misbehaviour::default() }), 30)
            .await;
    let totals: Vec<u64> = {
        let mut totals = Vec::new();
        for start in [1, 11, 21] {
            totals.push(
                scim.get(&format!("/Users?startIndex={start}&count=10")).await.body["totalResults"]
                    .as_u64()
                    .unwrap(),
            );
        }
        totals
    };
    assert_eq!(totals, vec![30, 31, 32]);
}

#[tokio::test]
async fn order_can_be_unstable_but_reproducible() {
    let order = |seed: u64| async move {
        let config = EmulatorConfig {
            seed,
            ..misbehaving(Misbehaviour { unstable_order: true, ..Misbehaviour::default() })
        };
        let (_emulator, scim) = with_users(config, 30).await;
        let a = ids(&scim.get("/Users?count=30").await.body);
        let b = ids(&scim.get("/Users?count=30").await.body);
        (a, b)
    };
    let (a, b) = order(5).await;
    assert_ne!(a, b, "each request shuffles anew");
    let mut sorted_a = a.clone();
    let mut sorted_b = b.clone();
    sorted_a.sort();
    sorted_b.sort();
    assert_eq!(sorted_a, sorted_b, "a whole page still holds every user");
    assert_eq!(order(5).await, (a, b), "the same seed shuffles the same way");
}

#[tokio::test]
async fn conflicts_can_lack_scim_type_and_status_can_be_a_number() {
    let emulator = start(misbehaving(Misbehaviour {
        conflict_without_scim_type: true,
        numeric_status: true,
        ..Misbehaviour::default()
    }))
    .await;
    let scim = Scim::new(&emulator);
    scim.create_user("a@x").await;
    let conflict = scim.post("/Users", json!({"userName": "A@X"})).await;
    assert_eq!(conflict.status, 409);
    assert!(conflict.body.get("scimType").is_none(), "{}", conflict.body);
    assert_eq!(conflict.body["status"], 409, "a number, not a string: {}", conflict.body);
    let other = scim.post("/Users", json!({})).await;
    assert_eq!(
        (other.body["status"].as_u64(), other.body["scimType"].as_str()),
        (Some(400), Some("invalidValue"))
    );
}

async fn team(scim: &Scim, members: &[&str]) -> String {
    let members: Vec<_> = members.iter().map(|id| json!({"value": id})).collect();
    let reply = scim.post("/Groups", json!({"displayName": "Team", "members": members})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn member_ids(reply: &common::Reply) -> Vec<String> {
    reply.body["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn remove_by_value_wipes_all_empties_the_group_only_for_the_unfiltered_form() {
    let emulator =
        start(misbehaving(Misbehaviour { remove_by_value_wipes_all: true, ..Misbehaviour::default() })).await;
    let scim = Scim::new(&emulator);
    let (a, b, c) = (
        scim.create_user("a@x.io").await,
        scim.create_user("b@x.io").await,
        scim.create_user("c@x.io").await,
    );
    let group = team(&scim, &[&a, &b, &c]).await;
    let path = format!("/Groups/{group}");
    let reply =
        scim.patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{c}\"]")}])).await;
    assert_eq!(member_ids(&reply), [a.clone(), b.clone()], "the value path removes one");
    let reply =
        scim.patch(&path, json!([{"op": "remove", "path": "members", "value": [{"value": b}]}])).await;
    assert_eq!(reply.status, 200);
    assert!(member_ids(&reply).is_empty(), "the value-list form empties the group: {}", reply.body);
}

#[tokio::test]
async fn put_ignores_members_answers_200_and_keeps_them() {
    let emulator =
        start(misbehaving(Misbehaviour { put_ignores_members: true, ..Misbehaviour::default() })).await;
    let scim = Scim::new(&emulator);
    let (a, b) = (scim.create_user("a@x.io").await, scim.create_user("b@x.io").await);
    let group = team(&scim, &[&a, &b]).await;
    let reply = scim
        .put(&format!("/Groups/{group}"), json!({"displayName": "Team 2", "members": [{"value": a}]}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["displayName"], "Team 2");
    assert_eq!(member_ids(&reply), [a, b]);
}

#[tokio::test]
async fn require_knobs_refuse_what_lacks_the_required_sub_attributes_and_declare_them() {
    let emulator = start(misbehaving(Misbehaviour {
        require_name_formatted: true,
        require_member_ref: true,
        ..Misbehaviour::default()
    }))
    .await;
    let scim = Scim::new(&emulator);
    let reply = scim.post("/Users", json!({"userName": "a@x.io", "name": {"givenName": "A"}})).await;
    assert_scim_error(&reply, 400, Some("invalidValue"));
    let reply = scim.post("/Users", json!({"userName": "a@x.io", "name": {"formatted": "A"}})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let a = reply.body["id"].as_str().unwrap().to_owned();
    let reply = scim.post("/Groups", json!({"displayName": "T", "members": [{"value": a}]})).await;
    assert_scim_error(&reply, 400, Some("invalidValue"));
    let reference = format!("{}/Users/{a}", emulator.base_url());
    let reply =
        scim.post("/Groups", json!({"displayName": "T", "members": [{"value": a, "$ref": reference}]})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let group = reply.body["id"].as_str().unwrap().to_owned();
    let reply = scim
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
        )
        .await;
    assert_scim_error(&reply, 400, Some("invalidValue"));
    let schemas = scim.get("/Schemas").await.body.to_string();
    assert!(
        schemas.matches("\"required\":true").count() >= 4,
        "userName, displayName, formatted, $ref: {schemas}"
    );
}

#[tokio::test]
async fn patch_unsupported_answers_501_while_declaring_support() {
    let emulator =
        start(misbehaving(Misbehaviour { patch_unsupported: true, ..Misbehaviour::default() })).await;
    let scim = Scim::new(&emulator);
    let a = scim.create_user("a@x.io").await;
    assert_eq!(scim.get("/ServiceProviderConfig").await.body["patch"]["supported"], true);
    let reply = scim
        .patch(&format!("/Users/{a}"), json!([{"op": "replace", "path": "active", "value": false}]))
        .await;
    assert_eq!(reply.status, 501);
}

#[tokio::test]
async fn no_schemas_hides_every_discovery_endpoint() {
    let emulator = start(misbehaving(Misbehaviour { no_schemas: true, ..Misbehaviour::default() })).await;
    let scim = Scim::new(&emulator);
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas", "/Schemas/x"]
    {
        assert_eq!(scim.get(path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn ignore_unknown_attributes_answers_2xx_and_drops_what_the_schema_lacks() {
    let emulator =
        start(misbehaving(Misbehaviour { ignore_unknown_attributes: true, ..Misbehaviour::default() })).await;
    let scim = Scim::new(&emulator);
    let reply = scim
        .post("/Users", json!({"userName": "a@x.io", "title": "CTO", "nickName": "a", "externalId": "x"}))
        .await;
    assert_eq!(reply.status, 201);
    assert!(reply.body.get("title").is_none() && reply.body.get("nickName").is_none(), "{}", reply.body);
    assert_eq!(reply.body["externalId"], "x");
    let id = reply.body["id"].as_str().unwrap();
    let reply = scim
        .patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "title", "value": "CTO"}]))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("title").is_none());
    let schemas = scim.get("/Schemas").await.body.to_string();
    assert!(!schemas.contains("\"title\""), "the schema does not declare title");
}
