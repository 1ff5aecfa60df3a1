//! End to end: `roster audit` against the emulator's SCIM and REST member list, one test
//! per section, the exit codes, the paging faults, and proof that nothing is written.

mod support;

use std::path::Path;
use std::process::Command;

use roster_emulator::{EmulatorConfig, Misbehaviour};
use roster_model::UserAttributes;
use serde_json::{Value, json};
use support::{Server, TOKEN, roster, run};

/// The REST API token of the test emulators.
const API_TOKEN: &str = "e2e-rest-api-token-51d0";

const FILE: &str = "\
version: 1
users:
  - userName: ada@lumen.example
    role: maker
  - userName: bob@lumen.example
    role: maker
  - userName: cy@lumen.example
    role: viewer
";

fn server(config: EmulatorConfig) -> Server {
    let server = Server::start(EmulatorConfig { api_token: Some(API_TOKEN.to_owned()), ..config });
    for (name, role) in
        [("ada@lumen.example", "maker"), ("bob@lumen.example", "maker"), ("cy@lumen.example", "viewer")]
    {
        let user = UserAttributes {
            user_name: name.into(),
            role: Some(role.into()),
            active: true,
            ..Default::default()
        };
        server.emulator().state().add_user(&user).unwrap();
    }
    server
}

fn user_id(server: &Server, user_name: &str) -> String {
    let users = server.emulator().state().users();
    let user = users.iter().find(|u| u["userName"] == user_name).unwrap();
    user["id"].as_str().unwrap().to_owned()
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), FILE).unwrap();
    dir
}

/// `roster` with both connections set.
fn audit(server: &Server, dir: &Path) -> Command {
    let mut command = roster(Some(server), dir);
    command
        .env("ROSTER_API_URL", server.emulator().api_url())
        .env("ROSTER_API_TOKEN", API_TOKEN)
        .arg("audit");
    command
}

/// Runs `roster audit --format json --detailed-exitcode`; returns the exit code and report.
fn audit_json(server: &Server, dir: &Path) -> (i32, Value) {
    let (code, stdout, stderr) = run(audit(server, dir).args(["--format", "json", "--detailed-exitcode"]));
    assert!(code == 0 || code == 2, "exit {code}: {stderr}");
    assert_no_secret(&stdout, &stderr);
    (code, serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

fn assert_no_secret(stdout: &str, stderr: &str) {
    for secret in [TOKEN, API_TOKEN] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "a token was printed");
    }
}

/// Only reads: no request but GET reached the emulator.
fn assert_read_only(server: &Server) {
    assert!(server.writes().is_empty(), "audit wrote: {:?}", server.writes());
    assert!(server.log().iter().any(|r| r.path == "/members"), "the member list was read");
}

fn emails(section: &Value) -> Vec<String> {
    section.as_array().unwrap().iter().map(|f| f["member"]["email"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn all_agree_exits_zero() {
    let server = server(EmulatorConfig::default());
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["counts"],
        json!({"members": 3, "membersWithAccess": 3, "scimUsers": 3, "fileUsers": 3})
    );
    let (code, stdout, _) = run(&mut audit(&server, dir.path()));
    assert_eq!(code, 0);
    assert!(stdout.contains("No findings: the file, SCIM and the REST member list agree."), "{stdout}");
    assert_read_only(&server);
}

#[test]
fn a_member_invited_by_hand_is_not_in_scim_nor_in_the_file() {
    let server = server(EmulatorConfig::default());
    let state = server.emulator().state();
    state
        .add_rest_member(json!({"email": "guest@agency.example", "name": "Guest", "role": "admin"}))
        .unwrap();
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 2);
    assert_eq!(emails(&report["notInScim"]), ["guest@agency.example"]);
    assert_eq!(emails(&report["notInFile"]), ["guest@agency.example"]);
    assert_eq!(report["notInScim"][0]["member"]["role"], "admin");
    assert_eq!(report["differences"], json!([]));
    // Without --detailed-exitcode, findings are still success.
    let (code, stdout, _) = run(&mut audit(&server, dir.path()));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Members with access that SCIM does not show (1):\n  - \"guest@agency.example\""),
        "{stdout}"
    );
    assert_read_only(&server);
}

#[test]
fn a_role_changed_in_the_ui_and_a_status_that_differs() {
    let server = server(EmulatorConfig::default());
    let state = server.emulator().state();
    state.add_rest_member(json!({"userId": user_id(&server, "bob@lumen.example"), "role": "admin"})).unwrap();
    state
        .add_rest_member(json!({"userId": user_id(&server, "cy@lumen.example"), "status": "disabled"}))
        .unwrap();
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 2);
    let differences = report["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 2, "{report:#}");
    assert_eq!(differences[0]["member"]["email"], "bob@lumen.example");
    assert_eq!(differences[0]["role"], json!({"rest": "admin", "scim": "maker"}));
    assert_eq!(differences[1]["member"]["email"], "cy@lumen.example");
    assert_eq!(differences[1]["status"], json!({"rest": "inactive", "scim": "active"}));
    let (_, stdout, _) = run(audit(&server, dir.path()).args(["--format", "markdown"]));
    assert!(
        stdout.contains("| Roles or statuses that differ between the REST list and SCIM | 2 |"),
        "{stdout}"
    );
    assert_read_only(&server);
}

#[test]
fn a_scim_account_absent_from_the_file_is_listed_with_its_arrival() {
    let server = server(EmulatorConfig::default());
    let newcomer =
        UserAttributes { user_name: "dee@lumen.example".into(), active: true, ..Default::default() };
    server.emulator().state().add_user(&newcomer).unwrap();
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 2);
    assert_eq!(emails(&report["notInFile"]), ["dee@lumen.example"]);
    let finding = &report["notInFile"][0];
    assert!(finding["member"]["created"].is_string(), "arrival time: {finding:#}");
    assert_eq!(finding["scim"]["id"], user_id(&server, "dee@lumen.example"));
    assert_eq!(report["notInScim"], json!([]));
    assert_read_only(&server);
}

#[test]
fn a_scim_user_the_rest_list_does_not_know() {
    let server = server(EmulatorConfig::default());
    server
        .emulator()
        .state()
        .add_rest_member(json!({"userId": user_id(&server, "ada@lumen.example"), "hidden": true}))
        .unwrap();
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 2);
    let unknown = report["unknownToRest"].as_array().unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["userName"], "ada@lumen.example");
    assert_read_only(&server);
}

#[test]
fn many_pages_under_rate_limits_and_faults_give_the_same_report() {
    let config = EmulatorConfig {
        max_page_size: 2,
        rate_limit: Some(20),
        fault_rate: 0.15,
        seed: 11,
        ..EmulatorConfig::default()
    };
    let server = server(config);
    let state = server.emulator().state();
    for i in 0..9 {
        state
            .add_rest_member(json!({"email": format!("hand{i}@lumen.example"), "status": "invited"}))
            .unwrap();
    }
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 2);
    assert_eq!(report["notInScim"].as_array().unwrap().len(), 9);
    let member_pages = server.log().iter().filter(|r| r.path == "/members" && r.succeeded()).count();
    assert_eq!(member_pages, 6, "12 members, 2 a page");
    assert_read_only(&server);
}

#[test]
fn a_rate_limited_member_list_is_paced_not_cut_short() {
    let server =
        server(EmulatorConfig { max_page_size: 1, rate_limit: Some(3), ..EmulatorConfig::default() });
    for i in 0..3 {
        server
            .emulator()
            .state()
            .add_rest_member(json!({"email": format!("hand{i}@lumen.example")}))
            .unwrap();
    }
    let dir = workdir();
    let (code, report) = audit_json(&server, dir.path());
    assert_eq!(code, 2);
    assert_eq!(report["counts"]["members"], 6);
    // The emulator's X-RateLimit-* headers pace the client (a 429, if one comes, is
    // retried after Retry-After); every page arrives once.
    let log = server.log();
    let pages: Vec<_> = log.iter().filter(|r| r.path == "/members" && r.succeeded()).collect();
    assert_eq!(pages.len(), 6, "{log:?}");
    assert!(log.iter().all(|r| r.succeeded() || r.status == Some(429)), "{log:?}");
    assert_read_only(&server);
}

#[test]
fn a_repeated_cursor_ends_the_audit_as_incomplete() {
    let misbehaviour = Misbehaviour { repeat_member_cursor: true, ..Misbehaviour::default() };
    let server = server(EmulatorConfig { max_page_size: 2, misbehaviour, ..EmulatorConfig::default() });
    let dir = workdir();
    let (code, stdout, stderr) = run(&mut audit(&server, dir.path()));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("the REST member list was incomplete"), "{stderr}");
    assert!(stderr.contains("gave back the cursor it was fetched with"), "{stderr}");
    assert!(stdout.is_empty(), "no report from half a list: {stdout}");
    assert_no_secret(&stdout, &stderr);
    assert_read_only(&server);
}

#[test]
fn an_ignored_cursor_repeating_members_ends_the_audit_as_incomplete() {
    let misbehaviour = Misbehaviour { ignore_member_cursor: true, ..Misbehaviour::default() };
    let server = server(EmulatorConfig { max_page_size: 2, misbehaviour, ..EmulatorConfig::default() });
    let dir = workdir();
    let (code, stdout, stderr) = run(audit(&server, dir.path()).args(["--format", "json"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("page 2 (cursor \"pc-2\") repeats 2 of its 2 members already listed"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert_read_only(&server);
}

#[test]
fn a_cursor_that_never_ends_ends_the_audit_as_incomplete() {
    let misbehaviour = Misbehaviour { endless_member_cursor: true, ..Misbehaviour::default() };
    let server = server(EmulatorConfig { misbehaviour, ..EmulatorConfig::default() });
    let dir = workdir();
    let (code, stdout, stderr) = run(audit(&server, dir.path()).arg("--detailed-exitcode"));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("cursor never ends"), "{stderr}");
    let member_requests = server.log().iter().filter(|r| r.path == "/members").count();
    assert_eq!(member_requests, 4, "one page, then three empty ones");
    assert_read_only(&server);
}

#[test]
fn an_invalid_file_or_an_incomplete_scim_view_is_an_error() {
    let misbehaviour = Misbehaviour { total_results_is_page_size: true, ..Misbehaviour::default() };
    let server = server(EmulatorConfig { max_page_size: 2, misbehaviour, ..EmulatorConfig::default() });
    let dir = workdir();
    std::fs::write(dir.path().join("bad.yaml"), "version: 1\nusers:\n  - userName: not-an-email\n").unwrap();
    let (code, stdout, stderr) = run(audit(&server, dir.path()).arg("bad.yaml"));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("bad.yaml:3"), "{stderr}");
    assert!(server.log().is_empty(), "nothing is asked of the service for an invalid file");

    let (code, stdout, stderr) = run(audit(&server, dir.path()).arg("--detailed-exitcode"));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("the SCIM view was incomplete"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(server.writes().is_empty());
}

#[test]
fn a_missing_or_refused_rest_token_is_an_error_with_both_places_named() {
    let server = server(EmulatorConfig::default());
    let dir = workdir();
    let (code, _, stderr) = run(audit(&server, dir.path()).env_remove("ROSTER_API_TOKEN"));
    assert_eq!(code, 1);
    assert!(stderr.contains("no REST API token given"), "{stderr}");
    assert!(stderr.contains("Integrations → Public API"), "{stderr}");
    assert!(server.log().iter().all(|r| r.path != "/members"), "nothing sent without a token");

    let (code, stdout, stderr) = run(audit(&server, dir.path()).env("ROSTER_API_TOKEN", TOKEN));
    assert_eq!(code, 1);
    assert!(stderr.contains("GET /members?pageLimit=100 answered 401"), "{stderr}");
    assert!(stderr.contains("Integrations → Public API") && stderr.contains("REST API rights"), "{stderr}");
    assert_no_secret(&stdout, &stderr);
}

#[test]
fn doctor_checks_the_rest_token_and_whether_the_scim_token_opens_rest() {
    let dir = workdir();
    for (scim_token_on_rest, expected) in [
        (false, "refused (401): the SCIM token carries no REST API rights"),
        (true, "it works: the SCIM token carries REST API rights too"),
    ] {
        let server = server(EmulatorConfig { scim_token_on_rest, ..EmulatorConfig::default() });
        let mut command = roster(Some(&server), dir.path());
        command
            .env("ROSTER_API_URL", server.emulator().api_url())
            .env("ROSTER_API_TOKEN", API_TOKEN)
            .arg("doctor");
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(stdout.contains("✓ REST token: present (not shown)"), "{stdout}");
        assert!(stdout.contains("✓ member list (GET /members?pageLimit=1 on "), "{stdout}");
        assert!(stdout.contains(&format!("✓ SCIM token on the REST API: {expected}")), "{stdout}");
        assert_no_secret(&stdout, &stderr);
        assert!(server.writes().is_empty());
    }
    // Without a REST token, doctor does not touch the REST API.
    let server = server(EmulatorConfig::default());
    let (code, stdout, _) =
        run(roster(Some(&server), dir.path()).env_remove("ROSTER_API_TOKEN").arg("doctor"));
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("REST"), "{stdout}");
    assert!(server.log().iter().all(|r| r.path != "/members"));
}

#[test]
fn doctor_never_sends_the_scim_token_to_a_rest_api_on_another_host() {
    let scim = server(EmulatorConfig::default());
    let rest = server(EmulatorConfig::default());
    let dir = workdir();
    let mut command = roster(Some(&scim), dir.path());
    command.env("ROSTER_API_URL", rest.emulator().api_url()).env("ROSTER_API_TOKEN", API_TOKEN).arg("doctor");
    let (code, stdout, _) = run(&mut command);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("✓ SCIM token on the REST API: not tried: the REST API"), "{stdout}");
    let member_requests = rest.log().iter().filter(|r| r.path == "/members").count();
    assert_eq!(member_requests, 1, "only the REST token's probe reached the other host");
    assert!(scim.log().iter().all(|r| r.path != "/members"));
}

#[test]
fn doctor_names_both_token_places_when_the_rest_token_is_refused() {
    let server = server(EmulatorConfig::default());
    let dir = workdir();
    let mut command = roster(Some(&server), dir.path());
    command
        .env("ROSTER_API_URL", server.emulator().api_url())
        .env("ROSTER_API_TOKEN", "wrong-token")
        .arg("doctor");
    let (code, stdout, _) = run(&mut command);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("✗ member list (GET /members?pageLimit=1"), "{stdout}");
    assert!(
        stdout.contains("Integrations → Public API") && stdout.contains("Settings → Security"),
        "{stdout}"
    );
}
