//! End to end: what roster learns from the service, and apply telling the truth. Each
//! emulator misbehaviour of a service that says yes and does less (or needs more) has a
//! test here that roster either adapts or fails loudly (exit 4, naming what was not
//! applied).

mod support;

use roster_emulator::{EmulatorConfig, Misbehaviour};
use roster_model::{LiveGroup, LiveState, LiveUser, UserAttributes};
use serde_json::Value;
use support::{Server, demo_seed, roster, run, workdir_with_example};

fn server_with(misbehaviour: Misbehaviour, live: &LiveState) -> Server {
    Server::seeded(EmulatorConfig { misbehaviour, ..EmulatorConfig::default() }, live)
}

fn user(id: &str, user_name: &str) -> LiveUser {
    LiveUser {
        id: id.to_owned(),
        attributes: UserAttributes {
            user_name: user_name.to_owned(),
            role: Some("contributor".to_owned()),
            active: true,
            ..UserAttributes::default()
        },
    }
}

/// Three users, all members of one team.
fn team_of_three() -> LiveState {
    LiveState {
        users: vec![user("u-a", "a@example.com"), user("u-b", "b@example.com"), user("u-c", "c@example.com")],
        groups: vec![LiveGroup {
            id: "g-1".into(),
            display_name: "Team".into(),
            external_id: None,
            members: vec!["u-a".into(), "u-b".into(), "u-c".into()],
        }],
        ..LiveState::default()
    }
}

/// The file for [`team_of_three`] with `c` taken out of the team (still a user).
fn workdir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), text).unwrap();
    dir
}

const TEAM_WITHOUT_C: &str = "version: 1
users:
  - userName: a@example.com
    role: contributor
  - userName: b@example.com
    role: contributor
  - userName: c@example.com
    role: contributor
groups:
  - displayName: Team
    members: [a@example.com, b@example.com]
";

fn apply_with_report(server: &Server, dir: &std::path::Path) -> (i32, String, Value) {
    let report = dir.join("report.json");
    let (code, _, stderr) =
        run(roster(Some(server), dir).args(["apply", "--auto-approve", "--report"]).arg(&report));
    let report = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_else(|_| "null".into()))
        .unwrap_or(Value::Null);
    (code, stderr, report)
}

fn plan_is_empty(server: &Server, dir: &std::path::Path) -> bool {
    let (code, stdout, stderr) = run(roster(Some(server), dir).args(["plan", "--detailed-exitcode"]));
    assert!(code == 0 || code == 2, "plan exit {code}: {stdout}\n{stderr}");
    code == 0
}

fn members_of(server: &Server, name: &str) -> Vec<String> {
    let mut members =
        server.live().groups.into_iter().find(|g| g.display_name == name).expect("the group exists").members;
    members.sort();
    members
}

#[test]
fn a_converged_apply_reports_every_operation_confirmed() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();
    let (code, stderr, report) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    let operations = report["operations"].as_array().unwrap();
    assert!(!operations.is_empty());
    for op in operations {
        assert_ne!(op["verified"], "no", "every operation is confirmed: {op:#}");
    }
    assert_eq!(report["notTaken"], serde_json::json!([]), "the re-plan after apply is empty");
    assert_eq!(report["summary"]["verified"].as_u64(), Some(operations.len() as u64));
    let deactivation = operations.iter().find(|op| op["operation"]["op"] == "deactivateUser").unwrap();
    assert_eq!(deactivation["verified"], "answer", "the PATCH answer shows active false");
    assert!(stderr.contains("the answer shows it"), "console lines say what was confirmed: {stderr}");
}

#[test]
fn attributes_the_service_does_not_keep_are_not_planned_and_never_repeat() {
    let misbehaviour = Misbehaviour { ignore_unknown_attributes: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &demo_seed());
    let dir = workdir_with_example();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan"]));
    assert_eq!(code, 0, "{stderr}");
    let warning =
        stdout.lines().find(|l| l.contains("title is not kept by the service")).unwrap_or_else(|| {
            panic!("one warning for title: {stdout}");
        });
    assert!(warning.contains("users in the file set it, first at users.yaml:"), "{warning}");
    assert_eq!(stdout.matches("title is not kept").count(), 1, "one warning per attribute: {stdout}");
    assert!(!stdout.contains("title: "), "no title change is planned: {stdout}");

    let (code, stderr, _) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(plan_is_empty(&server, dir.path()), "no perpetual diff");
    let (_, stdout, _) = run(roster(Some(&server), dir.path()).args(["plan"]));
    assert!(stdout.contains("title is not kept by the service"), "the warning stays: {stdout}");
}

#[test]
fn without_discovery_a_dropped_attribute_fails_apply_loudly() {
    let misbehaviour =
        Misbehaviour { ignore_unknown_attributes: true, no_schemas: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &demo_seed());
    let dir = workdir_with_example();
    let (code, stderr, report) = apply_with_report(&server, dir.path());
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("but did not apply: title"), "names what was not applied: {stderr}");
    let failed: Vec<&Value> =
        report["operations"].as_array().unwrap().iter().filter(|op| op["outcome"] == "failed").collect();
    assert!(!failed.is_empty(), "{report:#}");
    for op in &failed {
        assert_eq!(op["verified"], "no");
        assert!(op["message"].as_str().unwrap().contains("the service answered"), "{op:#}");
    }
    assert!(
        report["notTaken"].as_array().is_some_and(|lines| !lines.is_empty()),
        "the re-plan names what the service did not take: {report:#}"
    );
    assert!(stderr.contains("not taken by the service"), "{stderr}");
    server.assert_no_user_delete();
}

#[test]
fn a_service_without_discovery_documents_gets_the_defaults_and_converges() {
    let misbehaviour = Misbehaviour { no_schemas: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &demo_seed());
    let dir = workdir_with_example();
    let (code, stderr, _) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(plan_is_empty(&server, dir.path()));
    let (_, stdout, _) = run(roster(Some(&server), dir.path()).arg("doctor"));
    assert!(stdout.contains("/Schemas: defaults (answered 404)"), "{stdout}");
}

#[test]
fn a_required_name_formatted_is_sent() {
    let misbehaviour = Misbehaviour { require_name_formatted: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &demo_seed());
    let dir = workdir_with_example();
    let (code, stderr, _) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(plan_is_empty(&server, dir.path()));
    let created =
        server.log().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/Users")).count();
    assert!(created > 0, "users were created");
}

#[test]
fn a_required_member_ref_is_sent() {
    let misbehaviour = Misbehaviour { require_member_ref: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &demo_seed());
    let dir = workdir_with_example();
    let (code, stderr, _) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(plan_is_empty(&server, dir.path()));
    let group_writes = server.writes().into_iter().filter(|r| r.path.contains("/Groups")).count();
    assert!(group_writes > 0, "groups were written");
}

#[test]
fn member_removal_never_empties_a_group_on_a_strict_server() {
    let misbehaviour = Misbehaviour { remove_by_value_wipes_all: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &team_of_three());
    let dir = workdir(TEAM_WITHOUT_C);
    let (code, stderr, report) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(members_of(&server, "Team"), ["u-a", "u-b"], "only c was removed");
    let removal = &report["operations"][0];
    assert_eq!(removal["operation"]["op"], "removeMembers");
    assert_eq!(removal["verified"], "answer");
}

#[test]
fn patch_refused_although_declared_falls_back_to_a_verified_put() {
    let misbehaviour = Misbehaviour { patch_unsupported: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &team_of_three());
    let dir = workdir(TEAM_WITHOUT_C);
    let (code, stderr, report) = apply_with_report(&server, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(members_of(&server, "Team"), ["u-a", "u-b"]);
    let methods: Vec<(&str, Option<u64>)> = report["operations"][0]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["method"].as_str().unwrap(), r["status"].as_u64()))
        .collect();
    assert_eq!(methods, [("PATCH", Some(501)), ("PUT", Some(200))], "{report:#}");
    assert!(plan_is_empty(&server, dir.path()));
}

#[test]
fn a_put_that_ignores_members_fails_and_says_so() {
    let misbehaviour =
        Misbehaviour { patch_unsupported: true, put_ignores_members: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &team_of_three());
    let dir = workdir(TEAM_WITHOUT_C);
    let (code, stderr, report) = apply_with_report(&server, dir.path());
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("the service answered 200 but did not apply: members (sent removed \"u-c\""),
        "{stderr}"
    );
    let removal = &report["operations"][0];
    assert_eq!((removal["outcome"].as_str(), removal["verified"].as_str()), (Some("failed"), Some("no")));
    assert!(stderr.contains("remove 1 member from group \"Team\": not taken by the service"), "{stderr}");
    assert_eq!(members_of(&server, "Team"), ["u-a", "u-b", "u-c"], "the service kept c");
}

#[test]
fn doctor_prints_what_the_service_declares() {
    let misbehaviour =
        Misbehaviour { ignore_unknown_attributes: true, require_member_ref: true, ..Misbehaviour::default() };
    let server = server_with(misbehaviour, &LiveState::default());
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).arg("doctor"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("/Schemas: declared by the service"), "{stdout}");
    let row =
        |name: &str| stdout.lines().find(|l| l.trim_start().starts_with(name)).map(str::trim).unwrap_or("");
    assert!(row("user title").ends_with("not kept"), "{stdout}");
    assert!(row("user displayName").ends_with("read-write"), "{stdout}");
    assert!(row("members.$ref").ends_with("required, sent"), "{stdout}");
    assert!(row("PATCH").ends_with("yes"), "{stdout}");
}
