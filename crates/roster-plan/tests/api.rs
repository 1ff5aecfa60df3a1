//! The plan's API beyond `plan` itself: steps, staleness checks, saved plans, the schema,
//! blocker messages and the flags the command line reads.

use roster_model::{
    Completeness, DeactivationLimit, DesiredGroup, DesiredState, DesiredUser, LiveGroup, LiveState, LiveUser,
    Policy, UserAttributes,
};
use roster_plan::{
    Blocker, FORMAT_VERSION, Operation, Phase, Plan, PlanOptions, RailExceeded, RailStatus, Refusal,
    SavedPlan, compare, json_schema,
};

fn attrs(user_name: &str, external_id: Option<&str>) -> UserAttributes {
    UserAttributes {
        user_name: user_name.into(),
        external_id: external_id.map(String::from),
        active: true,
        ..UserAttributes::default()
    }
}

fn desired(users: Vec<UserAttributes>, groups: Vec<DesiredGroup>, policy: Policy) -> DesiredState {
    DesiredState {
        policy,
        users: users
            .into_iter()
            .map(|attributes| DesiredUser {
                apps: Default::default(),
                expires: None,
                review_after: None,
                grant: Default::default(),
                attributes,
                previously: vec![],
                source: None,
            })
            .collect(),
        groups,
        ..DesiredState::default()
    }
}

fn live(users: Vec<(&str, UserAttributes)>, groups: Vec<LiveGroup>) -> LiveState {
    LiveState {
        users: users
            .into_iter()
            .map(|(id, attributes)| LiveUser { created: None, id: id.into(), attributes })
            .collect(),
        groups,
        completeness: Completeness::Complete,
    }
}

fn group(name: &str, members: &[&str]) -> DesiredGroup {
    DesiredGroup {
        target: Default::default(),
        expiring_members: Vec::new(),
        member_grants: Vec::new(),
        display_name: name.into(),
        external_id: None,
        members: Some(members.iter().map(|m| m.to_string()).collect()),
        source: None,
    }
}

/// b takes a's userName while a moves to a new one: two renames that must not run together.
fn rename_chain() -> Plan {
    roster_plan::plan(
        &desired(
            vec![
                attrs("a@example.com", Some("2")),
                attrs("a.new@example.com", Some("1")),
                attrs("c@example.com", None),
            ],
            vec![group("Eng", &["c@example.com", "a@example.com"])],
            Policy::default(),
        ),
        &live(
            vec![("u1", attrs("a@example.com", Some("1"))), ("u2", attrs("b@example.com", Some("2")))],
            vec![],
        ),
        &PlanOptions::default(),
    )
}

#[test]
fn steps_keep_phases_apart_and_order_dependent_renames() {
    let plan = rename_chain();
    let steps = plan.steps();
    let described: Vec<Vec<String>> =
        steps.iter().map(|step| step.iter().map(Operation::describe).collect()).collect();
    assert_eq!(
        described,
        vec![
            vec!["update user a@example.com (id u1)".to_string()],
            vec!["update user b@example.com (id u2)".to_string()],
            vec!["create user c@example.com".to_string()],
            vec!["create group \"Eng\" with 2 members".to_string()],
        ]
    );
    for step in &steps {
        assert!(step.iter().all(|op| op.phase() == step[0].phase()));
    }
    assert_eq!(steps.iter().map(|s| s.len()).sum::<usize>(), plan.operations.len());
    let phases: Vec<Phase> = plan.operations.iter().map(Operation::phase).collect();
    assert!(phases.windows(2).all(|pair| pair[0] <= pair[1]), "operations out of phase order: {phases:?}");
}

#[test]
fn compare_finds_no_difference_in_the_same_plan() {
    let plan = rename_chain();
    assert!(compare(&plan, &rename_chain()).is_empty());
}

#[test]
fn compare_names_what_changed() {
    let saved = rename_chain();
    let mut fresh = saved.clone();
    fresh.operations.remove(0);
    fresh.operations.push(Operation::DeleteGroup {
        id: "g9".into(),
        display_name: "Old".into(),
        empty_duplicate: false,
    });
    assert_eq!(
        compare(&saved, &fresh),
        vec![
            "the saved plan would update user a@example.com (id u1), which the live state no longer needs",
            "the live state now needs to delete group \"Old\" (id g9), which the saved plan lacks",
        ]
    );
    let mut reordered = saved.clone();
    reordered.operations.swap(0, 1);
    assert_eq!(
        compare(&saved, &reordered),
        vec!["the saved plan has the same operations in a different order"]
    );
}

#[test]
fn compare_caps_its_lines() {
    let saved = rename_chain();
    let mut fresh = saved.clone();
    for i in 0..30 {
        fresh.operations.push(Operation::DeleteGroup {
            id: format!("g{i}"),
            display_name: format!("G{i}"),
            empty_duplicate: false,
        });
    }
    let lines = compare(&saved, &fresh);
    assert_eq!(lines.len(), 21);
    assert_eq!(lines[20], "… and 10 more differences");
}

#[test]
fn a_saved_plan_carries_the_desired_state_and_reads_back() {
    let state = desired(vec![attrs("ada@example.com", None)], vec![], Policy::default());
    let plan = roster_plan::plan(&state, &LiveState::default(), &PlanOptions::default());
    let saved = SavedPlan::new(plan.clone(), state.clone());
    let json = serde_json::to_value(&saved).unwrap();
    assert_eq!(json["formatVersion"], FORMAT_VERSION);
    assert_eq!(json["digest"].as_str().unwrap().len(), 64);
    assert_eq!(json["desired"]["users"][0]["userName"], "ada@example.com");
    assert_eq!(serde_json::from_value::<SavedPlan>(json.clone()).unwrap(), saved);
    // A saved plan is a plan with one more field.
    assert_eq!(serde_json::from_value::<Plan>(json).unwrap(), plan);
}

#[test]
fn the_schema_describes_plans_and_saved_plans() {
    let schema = json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["title"], "roster plan");
    let properties = schema["properties"].as_object().unwrap();
    for name in [
        "formatVersion",
        "liveFingerprint",
        "operations",
        "blockers",
        "warnings",
        "summary",
        "desired",
        "digest",
    ] {
        assert!(properties.contains_key(name), "no {name} in the schema");
    }
    assert_eq!(properties["formatVersion"]["const"], FORMAT_VERSION);
    let required: Vec<&str> =
        schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(
        required.contains(&"operations") && !required.contains(&"desired") && !required.contains(&"digest")
    );
    assert!(required.contains(&"deactivationRail") && required.contains(&"removalRail"));
    assert!(schema["definitions"]["Revival"]["properties"]["groups"].is_object());
    // No user deletion anywhere in the format.
    assert!(!schema.to_string().to_lowercase().contains("deleteuser"));
}

#[test]
fn blocker_messages_say_what_to_do() {
    let rail = Blocker::DeactivationRail(RailExceeded {
        planned: 12,
        limit: 10,
        setting: DeactivationLimit::PercentHundredths(1000),
        allow: None,
    });
    assert_eq!(
        rail.message(),
        "the plan deactivates 12 users, more than the limit of 10 (max_deactivations: 10%); review them, then \
         pass --allow-deactivations 12 to allow exactly these 12"
    );
    let wrong = Blocker::DeactivationRail(RailExceeded {
        planned: 1,
        limit: 0,
        setting: DeactivationLimit::Count(0),
        allow: Some(2),
    });
    assert_eq!(
        wrong.message(),
        "the plan deactivates 1 user, more than the limit of 0 (max_deactivations: 0); --allow-deactivations 2 \
         does not match: pass --allow-deactivations 1 to allow exactly this one"
    );
    let removals = Blocker::RemovalRail(RailExceeded {
        planned: 30,
        limit: 10,
        setting: DeactivationLimit::Count(10),
        allow: Some(29),
    });
    assert_eq!(
        removals.message(),
        "the plan makes 30 removals (members removed from groups, and groups deleted), more than the limit \
         of 10 (max_removals: 10); --allow-removals 29 does not match: pass --allow-removals 30 to allow exactly \
         these 30"
    );
    let view =
        Blocker::IncompleteView { reasons: vec!["page 2 was short".into(), "totalResults changed".into()] };
    assert_eq!(
        view.message(),
        "the live state was not fetched completely, so no deactivation, member removal or group deletion was \
         planned: page 2 was short; totalResults changed"
    );
}

#[test]
fn flags_for_the_command_line() {
    let departed: Vec<(&str, UserAttributes)> =
        vec![("u1", attrs("a@example.com", None)), ("u2", attrs("b@example.com", None))];
    let strict = Policy { max_deactivations: DeactivationLimit::Count(1), ..Policy::default() };
    let empty = desired(vec![], vec![], strict);

    let blocked = roster_plan::plan(&empty, &live(departed.clone(), vec![]), &PlanOptions::default());
    assert!(blocked.is_blocked() && blocked.rail_blocked() && !blocked.incomplete());
    assert_eq!(blocked.deactivation_rail.status, RailStatus::OverLimit);

    let allowed = roster_plan::plan(
        &empty,
        &live(departed.clone(), vec![]),
        &PlanOptions { allow_deactivations: Some(2), ..PlanOptions::default() },
    );
    assert!(!allowed.is_blocked() && !allowed.is_empty());
    assert_eq!(allowed.deactivation_rail.status, RailStatus::AllowedByOverride);

    let mut partial = live(departed, vec![]);
    partial.completeness = Completeness::Incomplete(vec!["a page was missing".into()]);
    let incomplete = roster_plan::plan(&empty, &partial, &PlanOptions::default());
    assert!(incomplete.is_blocked() && incomplete.incomplete() && !incomplete.rail_blocked());
    assert!(incomplete.is_empty(), "no deactivation from an incomplete view");
}

#[test]
fn zero_members_per_request_means_one() {
    let state = desired(
        vec![attrs("a@example.com", None), attrs("b@example.com", None)],
        vec![group("Eng", &["a@example.com", "b@example.com"])],
        Policy::default(),
    );
    let current = live(
        vec![("u1", attrs("a@example.com", None)), ("u2", attrs("b@example.com", None))],
        vec![LiveGroup {
            id: "g1".into(),
            display_name: "Eng".into(),
            external_id: None,
            members: vec![],
            created: None,
        }],
    );
    let plan = roster_plan::plan(
        &state,
        &current,
        &PlanOptions { max_members_per_request: 0, ..PlanOptions::default() },
    );
    let sizes: Vec<usize> = plan
        .operations
        .iter()
        .map(|op| match op {
            Operation::AddMembers { members, .. } => members.len(),
            other => panic!("unexpected {}", other.describe()),
        })
        .collect();
    assert_eq!(sizes, vec![1, 1]);
}

#[test]
fn the_fingerprint_ignores_order_and_follows_content() {
    let a = live(vec![("u1", attrs("a@example.com", None)), ("u2", attrs("b@example.com", None))], vec![]);
    let mut b = a.clone();
    b.users.reverse();
    assert_eq!(roster_plan::live_fingerprint(&a), roster_plan::live_fingerprint(&b));
    b.users[0].attributes.title = Some("Engineer".into());
    assert_ne!(roster_plan::live_fingerprint(&a), roster_plan::live_fingerprint(&b));
    let plan = roster_plan::plan(&DesiredState::default(), &a, &PlanOptions::default());
    assert_eq!(plan.live_fingerprint, roster_plan::live_fingerprint(&a));
}

#[test]
fn a_large_workspace_gets_the_same_fingerprint() {
    // Above 10,000 users the fingerprint is computed on a second thread.
    let users: Vec<(String, UserAttributes)> =
        (0..10_001).map(|i| (format!("u{i}"), attrs(&format!("user{i}@example.com"), None))).collect();
    let large = LiveState {
        users: users.into_iter().map(|(id, attributes)| LiveUser { created: None, id, attributes }).collect(),
        groups: vec![],
        completeness: Completeness::Complete,
    };
    let keep = Policy { unmanaged_users: roster_model::UnmanagedUsers::Keep, ..Policy::default() };
    let plan = roster_plan::plan(&desired(vec![], vec![], keep), &large, &PlanOptions::default());
    assert_eq!(plan.live_fingerprint, roster_plan::live_fingerprint(&large));
    assert_eq!(plan.unmanaged.users.len(), 10_001);
}

#[test]
fn an_empty_duplicate_team_is_deleted_only_within_the_hour_before_now_and_from_a_complete_view() {
    let at = |t: &str| roster_model::Timestamp::parse(t).unwrap();
    let team = |id: &str, members: &[&str], created: &str| LiveGroup {
        id: id.into(),
        display_name: "Eng".into(),
        external_id: None,
        members: members.iter().map(|m| m.to_string()).collect(),
        created: Some(at(created)),
    };
    let policy = Policy { unmanaged_groups: roster_model::UnmanagedGroups::Delete, ..Policy::default() };
    let state = desired(vec![attrs("a@example.com", None)], vec![group("Eng", &["a@example.com"])], policy);
    let current = live(
        vec![("u1", attrs("a@example.com", None))],
        vec![team("g-new", &[], "2026-11-30T09:30:00Z"), team("g-used", &["u1"], "2026-01-01T00:00:00Z")],
    );
    let deletes = |plan: &Plan| -> Vec<String> {
        plan.operations
            .iter()
            .filter_map(|op| match op {
                Operation::DeleteGroup { id, empty_duplicate: true, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    };
    let plan_at = |now: Option<&str>, live: &LiveState| {
        roster_plan::plan(&state, live, &PlanOptions { now: now.map(at), ..PlanOptions::default() })
    };

    let within = plan_at(Some("2026-11-30T10:00:00Z"), &current);
    assert_eq!(deletes(&within), ["g-new"]);
    assert!(!within.is_blocked(), "{:?}", within.blockers);
    for too_late_or_unknown in [Some("2026-11-30T10:30:01Z"), None] {
        let plan = plan_at(too_late_or_unknown, &current);
        assert!(
            deletes(&plan).is_empty() && plan.conflicted(),
            "{too_late_or_unknown:?}: {:?}",
            plan.operations
        );
    }
    let mut partial = current.clone();
    partial.completeness = Completeness::Incomplete(vec!["a short page".into()]);
    let plan = plan_at(Some("2026-11-30T10:00:00Z"), &partial);
    assert!(deletes(&plan).is_empty() && plan.conflicted(), "nothing deleted from an incomplete view");
}

/// Ada and Bob in team Eng, which the file empties: two removals.
fn emptied_team() -> (DesiredState, LiveState) {
    let state = desired(
        vec![attrs("ada@example.com", None), attrs("bob@example.com", None)],
        vec![group("Eng", &[])],
        Policy { max_removals: DeactivationLimit::Count(1), ..Policy::default() },
    );
    let current = live(
        vec![("u1", attrs("ada@example.com", None)), ("u2", attrs("bob@example.com", None))],
        vec![LiveGroup {
            id: "g1".into(),
            display_name: "Eng".into(),
            external_id: None,
            members: vec!["u1".into(), "u2".into()],
            created: None,
        }],
    );
    (state, current)
}

#[test]
fn the_removal_rail_blocks_and_lets_exactly_n_through() {
    let (state, current) = emptied_team();
    let blocked = roster_plan::plan(&state, &current, &PlanOptions::default());
    assert!(blocked.rail_blocked(), "{:?}", blocked.blockers);
    assert_eq!((blocked.removal_rail.planned, blocked.removal_rail.limit), (2, 1));
    assert_eq!(blocked.removal_rail.base, 3, "two memberships and one group");
    let wrong = roster_plan::plan(
        &state,
        &current,
        &PlanOptions { allow_removals: Some(1), ..PlanOptions::default() },
    );
    assert!(wrong.rail_blocked());
    let allowed = roster_plan::plan(
        &state,
        &current,
        &PlanOptions { allow_removals: Some(2), ..PlanOptions::default() },
    );
    assert!(!allowed.is_blocked());
    assert_eq!(allowed.removal_rail.status, RailStatus::AllowedByOverride);
    // The deactivation override does not open the removal rail.
    let other = roster_plan::plan(
        &state,
        &current,
        &PlanOptions { allow_deactivations: Some(2), ..PlanOptions::default() },
    );
    assert!(other.rail_blocked());

    // Without `members`, the team's membership is not managed: nothing is removed.
    let mut unmanaged = state.clone();
    unmanaged.groups[0].members = None;
    let plan = roster_plan::plan(&unmanaged, &current, &PlanOptions::default());
    assert!(plan.is_empty() && !plan.is_blocked(), "{:?}", plan.operations);
}

#[test]
fn a_saved_plan_refuses_edits_blocked_plans_and_a_changed_service_each_in_its_own_words() {
    let (state, current) = emptied_team();
    let allow = PlanOptions { allow_removals: Some(2), ..PlanOptions::default() };
    let plan = roster_plan::plan(&state, &current, &allow);
    let saved = SavedPlan::new(plan.clone(), state.clone());
    assert_eq!(saved.verify(), Ok(()));
    assert_eq!(saved.check_against(&roster_plan::plan(&state, &current, &allow)), Ok(()));

    // Reformatting is no edit; any change of a value is.
    let pretty: SavedPlan = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
    assert_eq!(pretty.verify(), Ok(()));
    let mut edits: Vec<SavedPlan> = Vec::new();
    let mut edit = saved.clone();
    edit.plan.removal_rail.allow = Some(5);
    edits.push(edit);
    let mut edit = saved.clone();
    edit.plan.operations.pop();
    edits.push(edit);
    let mut edit = saved.clone();
    edit.desired.groups[0].members = None;
    edits.push(edit);
    let mut edit = saved.clone();
    edit.plan.live_fingerprint = "0".repeat(64);
    edits.push(edit);
    let mut edit = saved.clone();
    edit.plan.warnings.push("all good".into());
    edits.push(edit);
    for edit in edits {
        let refusal = edit.verify().unwrap_err();
        assert!(matches!(refusal, Refusal::Tampered { .. }), "{refusal:?}");
        assert!(refusal.message().contains("edited after it was saved"), "{}", refusal.message());
    }
    let mut no_digest = saved.clone();
    no_digest.digest.clear();
    assert_eq!(no_digest.verify(), Err(Refusal::NoDigest));

    // A plan blocked when saved is refused, even with a correct digest.
    let blocked = SavedPlan::new(roster_plan::plan(&state, &current, &PlanOptions::default()), state.clone());
    let refusal = blocked.verify().unwrap_err();
    assert!(
        matches!(&refusal, Refusal::BlockedWhenSaved { headlines } if headlines[0].contains("--allow-removals 2"))
    );

    // The service changed: a third member to remove.
    let mut changed = current.clone();
    changed.users.push(LiveUser {
        created: None,
        id: "u3".into(),
        attributes: attrs("cy@example.com", None),
    });
    changed.groups[0].members.push("u3".into());
    let fresh =
        roster_plan::plan(&state, &changed, &PlanOptions { allow_removals: Some(3), ..allow.clone() });
    let refusal = saved.check_against(&fresh).unwrap_err();
    assert!(matches!(refusal, Refusal::ServiceChanged { .. }), "{refusal:?}");
    assert!(refusal.message().contains("the service changed"), "{}", refusal.message());
    assert!(refusal.message().contains("cy@example.com"), "{}", refusal.message());

    // The service is the same, but the saved operations are not what the inputs give.
    let mut forged = saved.clone();
    forged.plan.operations.clear();
    let forged = SavedPlan::new(forged.plan, forged.desired);
    assert_eq!(forged.verify(), Ok(()), "a recomputed digest passes the edit check");
    let refusal = forged.check_against(&roster_plan::plan(&state, &current, &allow)).unwrap_err();
    assert!(matches!(refusal, Refusal::NotReproduced { .. }), "{refusal:?}");
}
