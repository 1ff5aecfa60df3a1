//! Evidence (`reason`, `approved_by`, `ticket`) is shown in the plan and never sent: an
//! apply through the real client against the emulator, which keeps every attribute a
//! request carries (unknown ones included), leaves no trace of it in the service.

use std::net::SocketAddr;

use roster_apply::{ApplyOptions, apply};
use roster_client::{ClientConfig, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig};
use roster_model::{DesiredState, LiveState, Provider};
use roster_plan::{Operation, PlanOptions, plan};
use serde_json::json;

/// Markers that appear nowhere but in the evidence.
const MARKERS: [&str; 6] = [
    "reason-7f3a",
    "approver-7f3a",
    "TICKET-7f3a",
    "member-reason-7f3a",
    "member-approver-7f3a",
    "MTICKET-7f3a",
];

#[tokio::test]
async fn evidence_is_planned_but_never_sent() {
    let emulator =
        Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), EmulatorConfig::default()).await.unwrap();
    let live: LiveState = serde_json::from_value(json!({
        "users": [
            {"id": "u1", "userName": "promoted@example.com", "role": "maker"},
            {"id": "u2", "userName": "returning@example.com", "active": false},
        ],
        "groups": [{"id": "g1", "displayName": "Research", "members": []}],
    }))
    .unwrap();
    emulator.state().load_live_state(&live).unwrap();
    let grant = json!({"reason": MARKERS[0], "approvedBy": MARKERS[1], "ticket": MARKERS[2]});
    let member_grant = json!({"reason": MARKERS[3], "approvedBy": MARKERS[4], "ticket": MARKERS[5]});
    let with = |mut user: serde_json::Value, grant: &serde_json::Value| {
        user.as_object_mut().unwrap().extend(grant.as_object().unwrap().clone());
        user
    };
    let membership = |user_name: &str| with(json!({"userName": user_name}), &member_grant);
    let desired: DesiredState = serde_json::from_value(json!({
        "provider": "productboard",
        "policy": {"unmanagedUsers": "keep", "unmanagedGroups": "keep", "maxDeactivations": {"count": 10}},
        "users": [
            with(json!({"userName": "new@example.com", "role": "maker"}), &grant),
            with(json!({"userName": "promoted@example.com", "role": "admin"}), &grant),
            with(json!({"userName": "returning@example.com"}), &grant),
        ],
        "groups": [
            {"displayName": "Research", "members": ["new@example.com", "promoted@example.com"],
             "memberGrants": [membership("new@example.com"), membership("promoted@example.com")]},
            {"displayName": "Leadership", "members": ["promoted@example.com"],
             "memberGrants": [membership("promoted@example.com")]},
        ],
    }))
    .unwrap();

    let the_plan = plan(&desired, &live, &PlanOptions::default());
    // The plan carries the evidence beside each grant of access...
    let planned = serde_json::to_string(&the_plan).unwrap();
    for marker in MARKERS {
        assert!(planned.contains(marker), "{marker} is not in the plan: {planned}");
    }
    let kinds: Vec<&str> = the_plan
        .operations
        .iter()
        .map(|op| match op {
            Operation::CreateUser { .. } => "create",
            Operation::UpdateUser { .. } => "update",
            Operation::ReactivateUser { .. } => "reactivate",
            Operation::CreateGroup { .. } => "create group",
            Operation::AddMembers { .. } => "add members",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["update", "reactivate", "create", "create group", "add members"]);

    // ...and the service, which keeps whatever a request carries, never sees it.
    let client = WriteClient::new(ClientConfig::new(emulator.base_url(), Provider::Productboard)).unwrap();
    let report = apply(&the_plan, &client, &ApplyOptions::default(), None, |_| {}).await;
    assert!(report.summary.is_complete(), "{:#?}", report.summary);
    let stored = emulator.snapshot().to_string();
    for expected in ["new@example.com", "Leadership", "admin"] {
        assert!(stored.contains(expected), "the apply did not reach the service: {expected} in {stored}");
    }
    for marker in MARKERS {
        assert!(!stored.contains(marker), "{marker} was sent to the service: {stored}");
    }
    emulator.shutdown().await.unwrap();
}
