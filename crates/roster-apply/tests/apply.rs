//! Apply against an in-memory service: order, dependencies, skips, convergence.

use std::collections::HashSet;
use std::sync::Mutex;

use roster_apply::{
    ApplyOptions, Outcome, RequestRecord, Verified, WriteFailure, WriteResult, Writer, Written, apply,
};
use roster_model::{
    DesiredGroup, DesiredState, DesiredUser, LiveGroup, LiveState, LiveUser, Policy, UnmanagedUsers,
    UserAttributes, UserChanges,
};
use roster_plan::{PlanOptions, plan};

/// A SCIM service in memory that can be told to refuse some writes.
#[derive(Default)]
struct FakeService {
    live: Mutex<LiveState>,
    next_id: Mutex<u64>,
    /// userNames and group names whose creation fails.
    refuse_create: HashSet<String>,
    /// Ids of users and groups whose renames fail.
    refuse_rename: HashSet<String>,
    /// Every call, in order, as "method path".
    calls: Mutex<Vec<String>>,
}

impl FakeService {
    fn new(live: LiveState) -> Self {
        FakeService { live: Mutex::new(live), next_id: Mutex::new(1000), ..FakeService::default() }
    }

    fn record(&self, method: &str, path: String) -> Vec<RequestRecord> {
        self.calls.lock().unwrap().push(format!("{method} {path}"));
        vec![RequestRecord { method: method.into(), path, status: Some(200), attempts: 1 }]
    }

    fn fresh_id(&self) -> String {
        let mut next = self.next_id.lock().unwrap();
        *next += 1;
        next.to_string()
    }

    fn refuse(&self, method: &str, path: String) -> WriteFailure {
        let requests = self.record(method, path);
        WriteFailure { message: "409 uniqueness: refused by the test".into(), requests }
    }

    fn group_mut<T>(&self, id: &str, f: impl FnOnce(&mut LiveGroup) -> T) -> T {
        let mut live = self.live.lock().unwrap();
        f(live.groups.iter_mut().find(|g| g.id == id).expect("group exists"))
    }
}

fn ok<T>(value: T, requests: Vec<RequestRecord>) -> WriteResult<T> {
    // As a service whose answers show nothing: only the re-plan can confirm.
    Ok(Written { value, requests, adopted: false, adoption: None, verified: Verified::No })
}

impl Writer for FakeService {
    async fn create_user(&self, attributes: &UserAttributes) -> WriteResult<String> {
        if self.refuse_create.contains(&attributes.user_name) {
            return Err(self.refuse("POST", "/Users".into()));
        }
        let id = self.fresh_id();
        let requests = self.record("POST", "/Users".into());
        self.live.lock().unwrap().users.push(LiveUser {
            created: None,
            id: id.clone(),
            attributes: attributes.clone(),
        });
        ok(id, requests)
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> WriteResult<()> {
        if changes.user_name.is_some() && self.refuse_rename.contains(id) {
            return Err(self.refuse("PATCH", format!("/Users/{id}")));
        }
        let requests = self.record("PATCH", format!("/Users/{id}"));
        let mut live = self.live.lock().unwrap();
        let user = live.users.iter_mut().find(|u| u.id == id).expect("user exists");
        changes.apply_to(&mut user.attributes);
        ok((), requests)
    }

    async fn create_group(
        &self,
        name: &str,
        external_id: Option<&str>,
        ids: &[String],
    ) -> WriteResult<String> {
        if self.refuse_create.contains(name) {
            return Err(self.refuse("POST", "/Groups".into()));
        }
        let id = self.fresh_id();
        let requests = self.record("POST", "/Groups".into());
        self.live.lock().unwrap().groups.push(LiveGroup {
            id: id.clone(),
            display_name: name.into(),
            external_id: external_id.map(Into::into),
            members: ids.to_vec(),
            created: None,
        });
        ok(id, requests)
    }

    async fn rename_group(&self, id: &str, name: &str) -> WriteResult<()> {
        if self.refuse_rename.contains(id) {
            return Err(self.refuse("PATCH", format!("/Groups/{id}")));
        }
        let requests = self.record("PATCH", format!("/Groups/{id}"));
        self.group_mut(id, |g| g.display_name = name.into());
        ok((), requests)
    }

    async fn set_group_external_id(&self, id: &str, external_id: &str) -> WriteResult<()> {
        let requests = self.record("PATCH", format!("/Groups/{id}"));
        self.group_mut(id, |g| g.external_id = Some(external_id.into()));
        ok((), requests)
    }

    async fn add_members(&self, group_id: &str, ids: &[String]) -> WriteResult<()> {
        let requests = self.record("PATCH", format!("/Groups/{group_id}"));
        self.group_mut(group_id, |g| g.members.extend(ids.iter().cloned()));
        ok((), requests)
    }

    async fn remove_members(&self, group_id: &str, ids: &[String]) -> WriteResult<()> {
        let requests = self.record("PATCH", format!("/Groups/{group_id}"));
        self.group_mut(group_id, |g| g.members.retain(|m| !ids.contains(m)));
        ok((), requests)
    }

    async fn delete_group(&self, id: &str) -> WriteResult<()> {
        let requests = self.record("DELETE", format!("/Groups/{id}"));
        self.live.lock().unwrap().groups.retain(|g| g.id != id);
        ok((), requests)
    }
}

fn user(user_name: &str, active: bool) -> DesiredUser {
    DesiredUser {
        apps: Default::default(),
        expires: None,
        review_after: None,
        grant: Default::default(),
        attributes: UserAttributes {
            user_name: user_name.into(),
            display_name: Some(user_name.split('@').next().unwrap().to_owned()),
            active,
            ..UserAttributes::default()
        },
        previously: Vec::new(),
        source: None,
    }
}

fn live_user(id: &str, user_name: &str) -> LiveUser {
    LiveUser {
        created: None,
        id: id.into(),
        attributes: UserAttributes { user_name: user_name.into(), active: true, ..Default::default() },
    }
}

fn group(name: &str, members: &[&str]) -> DesiredGroup {
    DesiredGroup {
        target: Default::default(),
        expiring_members: Vec::new(),
        member_grants: Vec::new(),
        display_name: name.into(),
        external_id: None,
        members: Some(members.iter().map(|m| (*m).to_owned()).collect()),
        source: None,
    }
}

/// A workspace with two users and a group, and a file that offboards one, hires two,
/// creates a group with a new hire and changes the existing group's members.
fn scenario() -> (DesiredState, LiveState) {
    let desired = DesiredState {
        policy: Policy { unmanaged_users: UnmanagedUsers::Deactivate, ..Policy::default() },
        users: vec![
            user("ada@example.com", true),
            user("grace@example.com", true),
            user("linus@example.com", true),
        ],
        groups: vec![
            group("Product", &["ada@example.com", "grace@example.com"]),
            group("Design", &["grace@example.com", "linus@example.com"]),
        ],
        ..DesiredState::default()
    };
    let live = LiveState {
        users: vec![live_user("1", "ada@example.com"), live_user("2", "bob@example.com")],
        groups: vec![LiveGroup {
            id: "10".into(),
            display_name: "Product".into(),
            external_id: None,
            members: vec!["1".into(), "2".into()],
            created: None,
        }],
        ..LiveState::default()
    };
    (desired, live)
}

fn run(service: &FakeService, desired: &DesiredState) -> roster_apply::ApplyReport {
    let live = service.live.lock().unwrap().clone();
    let plan = plan(desired, &live, &PlanOptions::default());
    assert!(!plan.is_blocked(), "{:?}", plan.blockers);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(apply(&plan, service, &ApplyOptions::default(), Some("abc123".into()), |_| {}))
}

#[test]
fn apply_converges_and_deactivates_first() {
    let (desired, live) = scenario();
    let service = FakeService::new(live);
    let report = run(&service, &desired);
    assert!(report.summary.is_complete(), "{:#?}", report);
    assert_eq!(report.commit.as_deref(), Some("abc123"));
    let calls = service.calls.lock().unwrap().clone();
    assert_eq!(calls[0], "PATCH /Users/2", "the deactivation goes first: {calls:?}");

    let live = service.live.lock().unwrap().clone();
    let again = plan(&desired, &live, &PlanOptions::default());
    assert!(again.is_empty(), "second plan: {:#?}", again.operations);
    let bob = live.users.iter().find(|u| u.id == "2").unwrap();
    assert!(!bob.attributes.active, "bob is deactivated, never deleted");
}

#[test]
fn a_failed_create_skips_its_memberships_and_nothing_else() {
    let (desired, live) = scenario();
    let mut service = FakeService::new(live);
    service.refuse_create.insert("linus@example.com".into());
    let report = run(&service, &desired);

    let outcome_of = |needle: &str| {
        report.operations.iter().find(|op| op.description.contains(needle)).map(|op| op.outcome).unwrap()
    };
    assert_eq!(outcome_of("create user linus@example.com"), Outcome::Failed);
    assert_eq!(outcome_of("create user grace@example.com"), Outcome::Done);
    assert_eq!(outcome_of("deactivate user bob@example.com"), Outcome::Done);
    let design = report.operations.iter().find(|op| op.description.contains("\"Design\"")).unwrap();
    assert_eq!(design.skipped_members, vec!["linus@example.com".to_owned()]);
    assert!(!report.summary.is_complete());
    assert_eq!(report.summary.failed, 1);
    assert_eq!(report.summary.skipped_members, 1);

    // The next run, with the service no longer refusing, converges.
    service.refuse_create.clear();
    let second = run(&service, &desired);
    assert!(second.summary.is_complete(), "{:#?}", second);
    let live = service.live.lock().unwrap().clone();
    assert!(plan(&desired, &live, &PlanOptions::default()).is_empty());
}

#[test]
fn a_failed_group_create_skips_its_later_member_additions() {
    let (mut desired, live) = scenario();
    // 150 members: the create carries the first ones, AddMembers operations follow
    // for the group that does not exist yet.
    let many: Vec<String> = (0..150).map(|n| format!("user{n:03}@example.com")).collect();
    desired.users.extend(many.iter().map(|n| user(n, true)));
    desired.groups.push(DesiredGroup {
        target: Default::default(),
        expiring_members: Vec::new(),
        member_grants: Vec::new(),
        display_name: "Everyone".into(),
        external_id: None,
        members: Some(many.clone()),
        source: None,
    });
    let mut service = FakeService::new(live);
    service.refuse_create.insert("Everyone".into());
    let live_now = service.live.lock().unwrap().clone();
    let the_plan = plan(&desired, &live_now, &PlanOptions::default());
    let adds_to_new_group = the_plan
        .operations
        .iter()
        .filter(|op| matches!(op, roster_plan::Operation::AddMembers { group_id: None, .. }))
        .count();
    let report = run(&service, &desired);
    let skipped: Vec<_> = report.operations.iter().filter(|op| op.outcome == Outcome::Skipped).collect();
    assert_eq!(skipped.len(), adds_to_new_group);
    assert!(skipped.iter().all(|op| op.message.as_deref() == Some("group \"Everyone\" was not created")));
    assert_eq!(report.summary.failed, 1);
}

#[test]
fn an_interrupted_apply_starts_nothing_and_says_so() {
    let (desired, live) = scenario();
    let service = FakeService::new(live.clone());
    let the_plan = plan(&desired, &live, &PlanOptions::default());
    let options = ApplyOptions::default();
    options.interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let report = runtime.block_on(apply(&the_plan, &service, &options, None, |_| {}));
    assert_eq!(report.summary.skipped as usize, the_plan.operations.len());
    assert!(service.calls.lock().unwrap().is_empty());
    assert_eq!(service.live.lock().unwrap().clone(), live);
}

#[test]
fn progress_hears_of_every_operation_once() {
    let (desired, live) = scenario();
    let service = FakeService::new(live.clone());
    let the_plan = plan(&desired, &live, &PlanOptions::default());
    let mut heard = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(apply(&the_plan, &service, &ApplyOptions::default(), None, |op| heard.push(op.index)));
    heard.sort_unstable();
    assert_eq!(heard, (0..the_plan.operations.len()).collect::<Vec<_>>());
}

#[test]
fn the_report_lists_operations_in_plan_order_with_their_requests() {
    let (desired, live) = scenario();
    let service = FakeService::new(live);
    let report = run(&service, &desired);
    let indexes: Vec<usize> = report.operations.iter().map(|op| op.index).collect();
    assert_eq!(indexes, (0..report.operations.len()).collect::<Vec<_>>());
    assert!(report.operations.iter().all(|op| !op.requests.is_empty()));
    assert_eq!(report.summary.requests, service.calls.lock().unwrap().len() as u64);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["formatVersion"], 1);
    assert_eq!(json["operations"][0]["outcome"], "done");
}

#[test]
fn a_create_whose_name_a_failed_rename_did_not_free_is_skipped() {
    // Ada is renamed away from ada@ and a new hire takes ada@; the team "Product" is
    // renamed to "Product Old" and a new "Product" is created. Both renames fail: the
    // creates would meet the very user and team that stayed, and must not adopt them.
    let mut ada = user("ada.new@example.com", true);
    ada.attributes.external_id = Some("ext-ada".into());
    let mut live_ada = live_user("1", "ada@example.com");
    live_ada.attributes.external_id = Some("ext-ada".into());
    let desired = DesiredState {
        policy: Policy { unmanaged_users: UnmanagedUsers::Keep, ..Policy::default() },
        users: vec![ada, user("ada@example.com", true)],
        groups: vec![
            DesiredGroup {
                target: Default::default(),
                display_name: "Product Old".into(),
                external_id: Some("grp-old".into()),
                members: Some(vec![]),
                expiring_members: Vec::new(),
                member_grants: Vec::new(),
                source: None,
            },
            group("Product", &[]),
        ],
        ..DesiredState::default()
    };
    let live = LiveState {
        users: vec![live_ada],
        groups: vec![LiveGroup {
            id: "10".into(),
            display_name: "Product".into(),
            external_id: Some("grp-old".into()),
            members: vec![],
            created: None,
        }],
        ..LiveState::default()
    };
    let mut service = FakeService::new(live);
    service.refuse_rename.extend(["1".to_owned(), "10".to_owned()]);
    let report = run(&service, &desired);
    let outcome = |op: &str| {
        report
            .operations
            .iter()
            .find(|r| r.description.starts_with(op))
            .map(|r| (r.outcome, r.message.clone()))
    };
    let skipped = Some((Outcome::Skipped, Some("the rename that was to free its name failed".to_owned())));
    assert_eq!(outcome("create user ada@example.com"), skipped);
    assert_eq!(outcome("create group \"Product\""), skipped);
    assert_eq!(report.summary.failed, 2, "{report:#?}");
    assert!(!service.calls.lock().unwrap().iter().any(|c| c.starts_with("POST")), "no create was sent");
}

#[test]
fn the_replan_after_apply_names_what_the_service_did_not_take() {
    let (desired, live) = scenario();
    let mut service = FakeService::new(live);
    service.refuse_create.insert("linus@example.com".into());
    let mut report = run(&service, &desired);
    assert_eq!(report.not_taken, None, "not recorded before the re-plan runs");
    let after = service.live.lock().unwrap().clone();
    let remaining = plan(&desired, &after, &PlanOptions::default());
    assert!(!remaining.is_empty());
    report.record_replan(&remaining);
    let lines = report.not_taken.clone().unwrap();
    assert_eq!(lines.len(), remaining.operations.len(), "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "create user linus@example.com: not taken by the service"),
        "{lines:?}"
    );
    let verified_of = |needle: &str| {
        report.operations.iter().find(|op| op.description.contains(needle)).map(|op| op.verified).unwrap()
    };
    assert_eq!(verified_of("deactivate user bob@example.com"), Verified::Replan, "nothing left touches bob");
    assert_eq!(verified_of("create user linus@example.com"), Verified::No, "it failed");
    let design = report.operations.iter().find(|op| op.description.contains("\"Design\"")).unwrap();
    assert_eq!(
        design.verified,
        Verified::No,
        "the re-plan still adds linus to Design: {:?}",
        remaining.operations
    );

    // Converged: nothing is left, and what was done is confirmed.
    service.refuse_create.clear();
    let mut second = run(&service, &desired);
    let after = service.live.lock().unwrap().clone();
    second.record_replan(&plan(&desired, &after, &PlanOptions::default()));
    assert_eq!(second.not_taken, Some(Vec::new()));
    assert!(second.operations.iter().all(|op| op.verified != Verified::No), "{second:#?}");
    assert_eq!(second.summary.verified, second.operations.len() as u64);
}

#[test]
fn the_report_names_the_ids_learned_in_the_run() {
    let (desired, live) = scenario();
    let service = FakeService::new(live.clone());
    // One member per request: the created group "Design" gets its second member in an
    // `addMembers` that names the group without an id.
    let options = PlanOptions { max_members_per_request: 1, ..PlanOptions::default() };
    let plan = plan(&desired, &live, &options);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let report = runtime.block_on(apply(&plan, &service, &ApplyOptions::default(), None, |_| {}));
    assert!(report.summary.is_complete(), "{report:#?}");
    let live = service.live.lock().unwrap().clone();
    let id_of = |user_name: &str| {
        live.users.iter().find(|u| u.attributes.user_name == user_name).map(|u| u.id.clone()).unwrap()
    };
    let design = live.groups.iter().find(|g| g.display_name == "Design").unwrap().id.clone();
    let mut seen_group = false;
    for op in &report.operations {
        match &op.operation {
            roster_plan::Operation::CreateUser { attributes } => {
                assert_eq!(op.resolved_ids.created, Some(id_of(&attributes.user_name)), "{op:#?}");
            }
            roster_plan::Operation::CreateGroup { .. } => {
                assert_eq!(op.resolved_ids.created.as_ref(), Some(&design), "{op:#?}");
            }
            roster_plan::Operation::AddMembers { group_id: None, members, .. } => {
                seen_group = true;
                assert_eq!(op.resolved_ids.group.as_ref(), Some(&design), "{op:#?}");
                for member in members.iter().filter(|m| m.id.is_none()) {
                    assert_eq!(
                        op.resolved_ids.members.get(&member.user_name),
                        Some(&id_of(&member.user_name))
                    );
                }
            }
            _ => assert!(op.resolved_ids.is_empty() || !op.resolved_ids.members.is_empty(), "{op:#?}"),
        }
    }
    assert!(seen_group, "the plan adds members to the created group by name: {:#?}", plan.operations);
}
