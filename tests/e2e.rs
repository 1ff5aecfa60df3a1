//! End to end: the `roster` binary against the emulator, including faults, rate limits,
//! lost responses, a killed apply, safety rails and stale plans.

mod support;

use std::time::Duration;

use roster_emulator::{EmulatorConfig, Misbehaviour, RateHeaders};
use roster_model::{LiveGroup, LiveState, LiveUser, UserAttributes};
use support::{Server, TOKEN, demo_seed, roster, run, workdir_with_example};

/// Applies until apply exits 0 (at most `tries` times), then checks that a fresh plan
/// has no changes. Returns the exit codes of the applies.
fn apply_until_converged(server: &Server, dir: &std::path::Path, tries: usize) -> Vec<i32> {
    let mut codes = Vec::new();
    for _ in 0..tries {
        let (code, _, stderr) = run(roster(Some(server), dir).args(["apply", "--auto-approve"]));
        assert!(code == 0 || code == 4, "apply exit {code}: {stderr}");
        codes.push(code);
        if code == 0 {
            break;
        }
    }
    let (code, stdout, stderr) = run(roster(Some(server), dir).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "plan after apply must show no changes:\n{stdout}\n{stderr}");
    server.assert_no_user_delete();
    codes
}

#[test]
fn plan_apply_plan_converges() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();

    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 2, "changes present: {stderr}");
    assert!(stdout.contains("jordan.lee@lumenlabs.example"), "{stdout}");
    assert!(server.writes().is_empty(), "plan must not write: {:?}", server.writes());

    assert_eq!(apply_until_converged(&server, dir.path(), 1), vec![0]);
    let live = server.live();
    let jordan =
        live.users.iter().find(|u| u.attributes.user_name == "jordan.lee@lumenlabs.example").unwrap();
    assert!(!jordan.attributes.active, "offboarded by deactivation");
    let priya = live.users.iter().find(|u| u.id == "u-priya").unwrap();
    assert_eq!(priya.attributes.user_name, "priya.shah-ellis@lumenlabs.example", "renamed in place");
}

#[test]
fn converges_under_faults_rate_limits_and_latency() {
    let config = EmulatorConfig {
        fault_rate: 0.1,
        rate_limit: Some(40),
        latency: Duration::from_millis(5),
        seed: 7,
        ..EmulatorConfig::default()
    };
    let server = Server::seeded(config, &demo_seed());
    let dir = workdir_with_example();
    apply_until_converged(&server, dir.path(), 3);
    let log = server.log();
    assert!(log.iter().any(|r| r.status == Some(500) || r.status.is_none()), "faults were injected");
}

#[test]
fn converges_through_429_storms_without_retry_after() {
    // No budget headers either: with them the pacer meets no 429 at all.
    let config = EmulatorConfig {
        rate_limit: Some(5),
        rate_headers: RateHeaders::None,
        misbehaviour: Misbehaviour { omit_retry_after: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    };
    let server = Server::seeded(config, &demo_seed());
    let dir = workdir_with_example();
    apply_until_converged(&server, dir.path(), 2);
    assert!(server.log().iter().any(|r| r.status == Some(429)), "the rate limit was hit");
}

#[test]
fn a_post_whose_response_is_lost_is_adopted() {
    let config = EmulatorConfig {
        misbehaviour: Misbehaviour { drop_response_after_post: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    };
    let server = Server::seeded(config, &demo_seed());
    let dir = workdir_with_example();
    let report = dir.path().join("report.json");
    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve", "--report"]).arg(&report));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let adopted =
        report["operations"].as_array().unwrap().iter().filter(|op| op["outcome"] == "adopted").count();
    assert_eq!(adopted, 3, "two users and one group created through lost responses: {report:#}");
    // The report says which roster ran when against what, and the ids the plan could not know.
    assert_eq!(report["rosterVersion"], env!("CARGO_PKG_VERSION"));
    let (started, finished) = (report["startedAt"].as_str().unwrap(), report["finishedAt"].as_str().unwrap());
    assert!(started.ends_with('Z') && started <= finished, "{started} .. {finished}");
    assert_eq!(report["targetHost"].as_str(), server.url().split('/').nth(2));
    let mut new_member_ids = 0;
    for op in report["operations"].as_array().unwrap() {
        let kind = op["operation"]["op"].as_str().unwrap();
        if kind == "createUser" || kind == "createGroup" {
            assert!(op["resolvedIds"]["created"].is_string(), "{op:#}");
        }
        let members = op["operation"]["members"].as_array().into_iter().flatten();
        for member in members.filter(|m| m["id"].is_null()) {
            let user_name = member["userName"].as_str().unwrap();
            assert!(op["resolvedIds"]["members"][user_name].is_string(), "{user_name} in {op:#}");
            new_member_ids += 1;
        }
    }
    assert!(new_member_ids > 0, "the example adds new users to teams: {report:#}");
    let users = server.live().users;
    let diegos = users.iter().filter(|u| u.attributes.user_name.starts_with("diego.ramirez")).count();
    assert_eq!(diegos, 1, "adopted, not created twice");
    apply_until_converged(&server, dir.path(), 1);
}

#[test]
fn an_apply_killed_halfway_converges_when_run_again() {
    // Many slow operations, one at a time, so that the kill lands in the middle.
    let live = LiveState::default();
    let server = Server::seeded(
        EmulatorConfig { latency: Duration::from_millis(40), ..EmulatorConfig::default() },
        &live,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("version: 1\nprovider: productboard\nusers:\n");
    for n in 0..40 {
        file.push_str(&format!("  - userName: hire{n:02}@example.com\n    role: maker\n"));
    }
    file.push_str("groups:\n  - displayName: Everyone\n    members:\n");
    for n in 0..40 {
        file.push_str(&format!("      - hire{n:02}@example.com\n"));
    }
    std::fs::write(dir.path().join("users.yaml"), file).unwrap();

    // Its progress lines are expected and not looked at: kept out of the test output.
    let mut child = roster(Some(&server), dir.path())
        .args(["apply", "--auto-approve", "--concurrency", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while server.writes().len() < 10 {
        assert!(child.try_wait().unwrap().is_none(), "apply finished before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let created_before = server.live().users.len();
    assert!(created_before < 40, "killed halfway: {created_before} users created");

    apply_until_converged(&server, dir.path(), 1);
    let live = server.live();
    assert_eq!(live.users.len(), 40, "each user once");
    assert_eq!(live.groups.len(), 1);
    assert_eq!(live.groups[0].members.len(), 40);
}

fn active_user(n: usize) -> LiveUser {
    LiveUser {
        created: None,
        id: format!("old-{n}"),
        attributes: UserAttributes {
            user_name: format!("old{n}@example.com"),
            active: true,
            ..UserAttributes::default()
        },
    }
}

#[test]
fn the_mass_deactivation_rail_blocks_apply_and_changes_nothing() {
    let live = LiveState { users: (0..12).map(active_user).collect(), ..LiveState::default() };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\npolicy:\n  max_deactivations: 10\nusers:\n  - userName: new@example.com\n",
    )
    .unwrap();

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("--allow-deactivations 12"), "{stderr}");
    assert!(server.writes().is_empty(), "nothing may be sent: {:?}", server.writes());

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "apply",
        "--auto-approve",
        "--allow-deactivations",
        "11",
    ]));
    assert_eq!(code, 3, "a wrong override still blocks: {stderr}");
    assert!(server.writes().is_empty());

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "apply",
        "--auto-approve",
        "--allow-deactivations",
        "12",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.live().users.iter().filter(|u| u.attributes.active).count(), 1);
    server.assert_no_user_delete();
}

#[test]
fn a_stale_saved_plan_is_refused_and_a_fresh_one_applies() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--out", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");

    // Someone changes the workspace after the review.
    server
        .emulator()
        .state()
        .add_user(&UserAttributes {
            user_name: "late.hire@lumenlabs.example".into(),
            active: true,
            ..UserAttributes::default()
        })
        .unwrap();
    let writes_before = server.writes().len();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--plan", "plan.json"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("stale") && stderr.contains("the service changed"), "{stderr}");
    assert!(!stderr.contains("edited"), "a changed service is not called tampering: {stderr}");
    assert!(stderr.contains("late.hire@lumenlabs.example"), "the message names what changed: {stderr}");
    assert_eq!(server.writes().len(), writes_before, "nothing sent");

    // A fresh plan, reviewed again, applies: three deactivations now, exactly the limit.
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--out", "plan.json"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("late.hire@lumenlabs.example"), "{stdout}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--plan", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0);
    server.assert_no_user_delete();
}

#[test]
fn apply_without_a_terminal_refuses_unless_approved() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).arg("apply"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--auto-approve"), "{stderr}");
    assert!(server.writes().is_empty());
}

#[test]
fn secrets_never_reach_output_logs_plans_or_reports() {
    let config = EmulatorConfig { fault_rate: 0.2, seed: 3, ..EmulatorConfig::default() };
    let server = Server::seeded(config, &demo_seed());
    let dir = workdir_with_example();
    let mut seen = String::new();
    for args in [
        vec!["-vv", "plan", "--out", "plan.json", "--format", "json"],
        vec!["-vv", "--log-format", "json", "apply", "--auto-approve", "--report", "report.json"],
        vec!["-vv", "doctor"],
        vec!["-vv", "import"],
    ] {
        let (_, stdout, stderr) = run(roster(Some(&server), dir.path()).args(&args));
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    for file in ["plan.json", "report.json"] {
        seen.push_str(&std::fs::read_to_string(dir.path().join(file)).unwrap());
    }
    assert!(seen.contains("Authorization") || seen.len() > 1000, "the run produced output to search");
    assert!(!seen.contains(TOKEN), "the token leaked");

    // A wrong token: the error explains, and does not echo the token either.
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path())
        .env("ROSTER_SCIM_TOKEN", "wrong-token-123")
        .args(["-vv", "plan"]));
    assert_eq!(code, 1);
    assert!(!stdout.contains("wrong-token-123") && !stderr.contains("wrong-token-123"));
    assert!(stderr.contains("401"), "{stderr}");
    assert!(stderr.contains("hint"), "{stderr}");
}

#[test]
fn import_writes_a_file_that_plans_no_changes() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["import", "--out", "users.yaml"]));
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("users.yaml")).unwrap();
    // The schema reference resolves: the schema of this version is written beside.
    assert!(text.starts_with("# yaml-language-server: $schema=roster.schema.json\n"), "{text}");
    let schema = std::fs::read_to_string(dir.path().join("roster.schema.json")).unwrap();
    let (_, printed, _) = run(roster(None, dir.path()).arg("schema"));
    assert_eq!(schema, printed, "import writes what `roster schema` prints");
    // Every team is anchored: the one without an externalId gets its live id.
    assert!(text.contains("  - displayName: Offsite 2025\n    externalId: g-offsite\n"), "{text}");
    assert!(stderr.contains("1 group had no externalId"), "{stderr}");
    let (code, stdout, stderr) =
        run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode", "--format", "json"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ops: Vec<&str> =
        plan["operations"].as_array().unwrap().iter().map(|op| op["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["setGroupExternalId"], "{plan:#}");
    assert!(server.writes().is_empty());

    // Renamed in the file, the team is renamed, not created a second time.
    let renamed = text.replace("displayName: Offsite 2025", "displayName: Offsite 2026");
    std::fs::write(dir.path().join("users.yaml"), renamed).unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ops: Vec<&str> =
        plan["operations"].as_array().unwrap().iter().map(|op| op["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["renameGroup", "setGroupExternalId"], "{plan:#}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "{stderr}");
    let live = server.live();
    assert_eq!(live.groups.iter().filter(|g| g.display_name.starts_with("Offsite")).count(), 1);
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    let dir = workdir_with_example();
    let (code, _, stderr) = run(roster(None, dir.path())
        .env("ROSTER_SCIM_URL", "http://scim.example.com/scim/v2")
        .env("ROSTER_SCIM_TOKEN", "t")
        .arg("plan"));
    assert_eq!(code, 1);
    assert!(stderr.contains("http://"), "{stderr}");
}

#[test]
fn the_emulator_command_prints_its_url_first_and_serves_scim() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = roster(None, dir.path())
        .args(["emulator", "--listen", "127.0.0.1:0", "--token", "t0k", "--state"])
        .arg(&state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first_line)
        .unwrap();
    let url = first_line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/scim/v2"), "{url}");

    // Use it as a user would: import from the empty workspace, then apply a file.
    let work = workdir_with_example();
    let (code, _, stderr) = run(roster(None, work.path())
        .env("ROSTER_SCIM_URL", &url)
        .env("ROSTER_SCIM_TOKEN", "t0k")
        .args(["apply", "--auto-approve"]));
    assert_eq!(code, 0, "{stderr}");
    // SIGTERM: the emulator saves its state and exits cleanly.
    let pid = child.id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved.to_string().contains("maya.okafor@lumenlabs.example"), "state saved: {saved}");
}

#[test]
fn the_emulator_serves_several_targets_each_with_its_own_token_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let states = dir.path().join("states");
    let mut child = roster(None, dir.path())
        .args(["emulator", "--listen", "127.0.0.1:0", "--token", "shared", "--target", "board"])
        .args(["--target", "my-app", "--state"])
        .arg(&states)
        .env("ROSTER_EMULATOR_TOKEN_MY_APP", "app-token")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut urls = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        urls.push(line.trim().to_owned());
    }
    assert!(urls[0].starts_with("http://127.0.0.1:") && urls[0].ends_with("/board/scim/v2"), "{urls:?}");
    assert!(urls[1].ends_with("/my-app/scim/v2"), "{urls:?}");

    // Each target is a service of its own: apply the example to one, with its own token.
    let work = workdir_with_example();
    let apply = |url: &str, token: &str| {
        run(roster(None, work.path())
            .env("ROSTER_SCIM_URL", url)
            .env("ROSTER_SCIM_TOKEN", token)
            .args(["apply", "--auto-approve"]))
    };
    let (code, _, stderr) = apply(&urls[1], "shared");
    assert_eq!(code, 1, "the shared token does not open a target with its own: {stderr}");
    let (code, _, stderr) = apply(&urls[1], "app-token");
    assert_eq!(code, 0, "{stderr}");
    let pid = child.id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(child.wait().unwrap().success());
    let read = |name: &str| std::fs::read_to_string(states.join(name)).unwrap();
    assert!(read("my-app.json").contains("maya.okafor@lumenlabs.example"));
    assert!(!read("board.json").contains("maya.okafor@lumenlabs.example"));
}

/// Every `roster` command in the README's shell blocks, run as written against an
/// emulator (the connection is the test's; `roster emulator` gets a free port).
#[test]
fn every_roster_command_in_the_readme_runs() {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_shell_block = false;
    for line in readme.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            in_shell_block = line == "```sh";
            continue;
        }
        if !in_shell_block {
            continue;
        }
        let command = line.split(" #").next().unwrap().trim().trim_end_matches('&').trim();
        // Leading VAR=value assignments set what the test sets itself.
        let words: Vec<&str> = command.split_whitespace().skip_while(|w| w.contains('=')).collect();
        if words.first() == Some(&"roster") {
            commands.push(words[1..].iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
        }
    }
    assert!(commands.len() >= 5, "README commands found: {commands:?}");

    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("examples");
    std::fs::create_dir(&examples).unwrap();
    std::fs::copy(support::root().join("examples/users.yaml"), examples.join("users.yaml")).unwrap();
    for args in commands {
        if args[0] == "emulator" {
            let args: Vec<String> = args
                .iter()
                .map(|a| if a.starts_with("127.0.0.1:") { "127.0.0.1:0".to_owned() } else { a.clone() })
                .collect();
            let mut child = roster(None, dir.path())
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(child.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert!(line.starts_with("http://127.0.0.1:"), "roster {}: {line}", args.join(" "));
            child.kill().unwrap();
            child.wait().unwrap();
            continue;
        }
        // The REST API (for `audit`) is the emulator's too; it takes any token here.
        let mut command = roster(Some(&server), dir.path());
        command
            .env("ROSTER_API_URL", server.emulator().api_url())
            .env("ROSTER_API_TOKEN", "readme-api-token");
        let (code, stdout, stderr) = run(command.args(&args));
        assert_eq!(code, 0, "roster {}:\n{stdout}\n{stderr}", args.join(" "));
    }
    server.assert_no_user_delete();
}

#[test]
fn doctor_passes_against_the_emulator_and_explains_a_wrong_token() {
    let server = Server::start(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).arg("doctor"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");

    let (code, stdout, _) =
        run(roster(Some(&server), dir.path()).env("ROSTER_SCIM_TOKEN", "not-the-token").arg("doctor"));
    assert_eq!(code, 1);
    // One failure, of the token, with one fix naming both places a token comes from.
    assert_eq!(stdout.matches('✗').count(), 1, "{stdout}");
    assert!(stdout.contains("✗ token: the service refused it (401"), "{stdout}");
    assert_eq!(stdout.matches("fix:").count(), 1, "{stdout}");
    assert!(stdout.contains("Integrations → Public API"), "{stdout}");
    assert!(stdout.contains("Settings → Security"), "{stdout}");
    assert!(stdout.contains("Enterprise"), "the fix names Productboard's prerequisites: {stdout}");
    assert!(!stdout.contains("not-the-token"));
    assert!(server.writes().is_empty(), "doctor never writes");

    // Nothing listening: one connection failure, its retries logged once, not once per check.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/scim/v2", closed.local_addr().unwrap());
    drop(closed);
    let (code, stdout, stderr) =
        run(roster(Some(&server), dir.path()).env("ROSTER_SCIM_URL", &url).arg("doctor"));
    assert_eq!(code, 1);
    assert_eq!(stdout.matches('✗').count(), 1, "{stdout}");
    assert!(stdout.contains("✗ connection"), "{stdout}");
    assert!(stderr.matches("retrying").count() <= 1, "{stderr}");
}

#[test]
fn an_incomplete_live_view_fails_plan_and_apply_and_deactivates_no_one() {
    // 250 users, but the service reports totalResults equal to each page's size.
    let live = LiveState { users: (0..250).map(active_user).collect(), ..LiveState::default() };
    let config = EmulatorConfig {
        misbehaviour: Misbehaviour { total_results_is_page_size: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    };
    let server = Server::seeded(config, &live);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\npolicy:\n  max_deactivations: 100%\nusers:\n  - userName: old0@example.com\n",
    )
    .unwrap();

    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not fetched completely"), "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let destructive = plan["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| ["deactivateUser", "removeMembers", "deleteGroup"].contains(&op["op"].as_str().unwrap()))
        .count();
    assert_eq!(destructive, 0, "{plan:#}");

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());
}

/// Runs `roster apply` on a pseudo-terminal (util-linux `script`), answering `answer`.
fn apply_on_a_terminal(server: &Server, dir: &std::path::Path, answer: &str) -> (i32, String) {
    use std::io::Write;
    let command = format!("{} apply", env!("CARGO_BIN_EXE_roster"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("ROSTER_SCIM_URL", server.url())
        .env("ROSTER_SCIM_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn apply_on_a_terminal_asks_and_takes_only_yes() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();

    let (code, screen) = apply_on_a_terminal(&server, dir.path(), "y\n");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Only 'yes' is accepted"), "{screen}");
    assert!(screen.contains("nothing was changed"), "{screen}");
    assert!(server.writes().is_empty());

    let (code, screen) = apply_on_a_terminal(&server, dir.path(), "yes\n");
    assert_eq!(code, 0, "{screen}");
    // What was done stays on screen after the progress bar clears.
    assert!(screen.contains("  done, the answer shows it: deactivate user"), "{screen}");
    assert!(!server.writes().is_empty());
    let (code, _, _) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0);
}

#[test]
fn ctrl_c_during_apply_finishes_what_is_in_flight_and_reports_the_rest_as_skipped() {
    let server = Server::seeded(
        EmulatorConfig { latency: Duration::from_millis(40), ..EmulatorConfig::default() },
        &LiveState::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("version: 1\nusers:\n");
    for n in 0..40 {
        file.push_str(&format!("  - userName: hire{n:02}@example.com\n"));
    }
    std::fs::write(dir.path().join("users.yaml"), file).unwrap();
    let mut child = roster(Some(&server), dir.path())
        .args(["apply", "--auto-approve", "--concurrency", "1", "--report", "report.json"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while server.writes().len() < 5 {
        assert!(child.try_wait().unwrap().is_none(), "apply finished before the interrupt");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "partial: {:?}\n{stderr}", output.status);
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let skipped = report["summary"]["skipped"].as_u64().unwrap();
    let done = report["summary"]["done"].as_u64().unwrap();
    assert!(skipped > 0 && done > 0 && skipped + done == 40, "{:#}", report["summary"]);
    assert_eq!(server.live().users.len() as u64, done, "the report tells the truth");
    apply_until_converged(&server, dir.path(), 1);
}

#[test]
fn an_identity_conflict_blocks_plan_and_apply_and_sends_nothing() {
    // Bob leaves, but his entry carries Ada's externalId by mistake.
    let live = LiveState {
        users: vec![
            LiveUser {
                created: None,
                id: "u1".into(),
                attributes: UserAttributes {
                    user_name: "ada@example.com".into(),
                    external_id: Some("ext-ada".into()),
                    active: true,
                    ..UserAttributes::default()
                },
            },
            active_user(2),
        ],
        ..LiveState::default()
    };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\nusers:\n  - userName: ada@example.com\n  - userName: old2@example.com\n    externalId: ext-ada\n    active: false\n",
    )
    .unwrap();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("disagree about who is who"), "{stderr}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());
    assert!(server.live().users.iter().all(|u| u.attributes.active), "no one deactivated");
}

fn live_user(id: &str, user_name: &str) -> LiveUser {
    LiveUser {
        id: id.into(),
        attributes: UserAttributes { user_name: user_name.into(), active: true, ..UserAttributes::default() },
        created: None,
    }
}

#[test]
fn live_names_that_only_look_alike_block_plan_and_apply_and_name_both() {
    // The service holds a Cyrillic "а" twin of Ada and Bob with a trailing space; the
    // file names Ada and Bob in plain letters.
    let live = LiveState {
        users: vec![
            live_user("u1", "ada@example.com"),
            live_user("u2", "\u{430}da@example.com"),
            live_user("u3", "bob@example.com "),
        ],
        ..LiveState::default()
    };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\nusers:\n  - userName: ada@example.com\n  - userName: bob@example.com\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("live user `\\u{430}da@example.com` (id u2)"), "{stdout}");
    assert!(
        stdout.contains("desired user `bob@example.com`, live user `bob@example.com\\u{20}` (id u3)"),
        "{stdout}"
    );
    assert!(!stdout.contains("Deactivate") && !stdout.contains("Create"), "{stdout}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());
    assert!(server.live().users.iter().all(|u| u.attributes.active), "no one deactivated");
}

#[test]
fn one_identity_key_in_the_planner_and_the_emulator() {
    // The service holds José decomposed and Strasse in capitals with the Punycode domain;
    // the file writes them composed, in lower case, with the Unicode domain. The planner
    // matches each to its account (a create would meet the emulator's 409).
    let live = LiveState {
        users: vec![live_user("u1", "jose\u{301}@example.com"), live_user("u2", "STRASSE@xn--bcher-kva.de")],
        ..LiveState::default()
    };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\nusers:\n  - userName: jos\u{e9}@example.com\n    title: Analyst\n  - userName: straße@bücher.de\n    title: Engineer\n",
    )
    .unwrap();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 0, "{stderr}");
    let users = server.live().users;
    assert_eq!(users.len(), 2, "no second account: {users:?}");
    assert!(users.iter().all(|u| u.attributes.active && u.attributes.title.is_some()), "{users:?}");
    assert!(server.writes().iter().all(|r| r.method == "PATCH"), "{:?}", server.writes());
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "converged: {stderr}");
}

#[test]
fn outputs_never_replace_inputs_or_existing_files_silently() {
    let mut seed = demo_seed();
    // Empty values are common in SCIM; import leaves them out instead of failing.
    seed.users[0].attributes.title = Some(String::new());
    let server = Server::seeded(EmulatorConfig::default(), &seed);
    let dir = workdir_with_example();
    let before = std::fs::read_to_string(dir.path().join("users.yaml")).unwrap();

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--out", "users.yaml"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("would replace desired-state input"), "{stderr}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["import", "--out", "users.yaml"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("users.yaml")).unwrap(), before, "untouched");
    assert!(server.log().is_empty(), "refused before any request");

    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["import", "--out", "users.yaml", "--force"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ops = plan["operations"].as_array().unwrap();
    assert!(
        ops.iter().all(|op| op["op"] == "setGroupExternalId" && op["from"].is_null()),
        "the imported file plans nothing but anchors for teams without one: {plan:#}"
    );
}

#[test]
fn the_markdown_plan_names_its_commit_time_and_host() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();
    let host = server.url().split('/').nth(2).unwrap().to_owned();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path())
        .env("GITHUB_SHA", "1111111111111111111111111111111111111111")
        .args(["plan", "--format", "markdown"]));
    assert_eq!(code, 0, "{stderr}");
    let provenance =
        stdout.lines().find(|l| l.starts_with("<sub>Computed for commit")).unwrap_or_else(|| {
            panic!("no provenance line in:\n{stdout}");
        });
    assert!(provenance.contains("<code>1111111111111111111111111111111111111111</code>"), "{provenance}");
    assert!(provenance.contains(" UTC against <code>"), "{provenance}");
    // The host with its port; Markdown gets the colon as an entity.
    assert!(provenance.contains(&format!("<code>{}</code>", host.replace(':', "&#58;"))), "{provenance}");
    // --for-commit names the pull request's head where CI's variable names another commit.
    let (_, stdout, _) = run(roster(Some(&server), dir.path())
        .env("GITHUB_SHA", "1111111111111111111111111111111111111111")
        .args(["plan", "--format", "markdown", "--for-commit", "2222222"]));
    assert!(stdout.contains("for commit <code>2222222</code>"), "{stdout}");
    assert!(server.writes().is_empty());
}

/// Twelve active users, all in team "Everyone"; a file that keeps them all and gives the
/// team `members: []` removes twelve memberships, over the default `max_removals` of 10.
fn a_team_of_twelve(dir: &std::path::Path) -> Server {
    let users: Vec<LiveUser> = (0..12).map(active_user).collect();
    let group = LiveGroup {
        id: "team-everyone".into(),
        display_name: "Everyone".into(),
        external_id: None,
        members: users.iter().map(|u| u.id.clone()).collect(),
        created: None,
    };
    let live = LiveState { users, groups: vec![group], ..LiveState::default() };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    let mut file = String::from("version: 1\nusers:\n");
    for n in 0..12 {
        file.push_str(&format!("  - userName: old{n}@example.com\n"));
    }
    file.push_str("groups:\n  - displayName: Everyone\n    members: []\n");
    std::fs::write(dir.join("users.yaml"), file).unwrap();
    server
}

fn members_of_everyone(server: &Server) -> usize {
    server.live().groups.iter().find(|g| g.display_name == "Everyone").map_or(0, |g| g.members.len())
}

#[test]
fn the_mass_removal_rail_blocks_plan_and_apply_until_exactly_n_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = a_team_of_twelve(dir.path());

    for format in ["text", "markdown", "json"] {
        let (code, stdout, stderr) =
            run(roster(Some(&server), dir.path()).args(["plan", "--format", format]));
        assert_eq!(code, 3, "{format}: {stderr}");
        assert!(stderr.contains("--allow-removals 12"), "{stderr}");
        let shown = ["max_removals", "max&#95;removals", "\"removalRail\""];
        assert!(shown.iter().any(|s| stdout.contains(s)), "{format}: {stdout}");
    }
    let (code, stdout, _) = run(roster(Some(&server), dir.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 3);
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["removalRail"]["planned"], 12);
    assert_eq!(plan["removalRail"]["status"], "overLimit");

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 3, "{stderr}");
    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve", "--allow-removals", "11"]));
    assert_eq!(code, 3, "a wrong count still blocks: {stderr}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "apply",
        "--auto-approve",
        "--allow-deactivations",
        "12",
    ]));
    assert_eq!(code, 3, "the other rail's override does not open this one: {stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());
    assert_eq!(members_of_everyone(&server), 12);

    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve", "--allow-removals", "12"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(members_of_everyone(&server), 0);
    assert!(server.live().users.iter().all(|u| u.attributes.active), "removals deactivate no one");
    server.assert_no_user_delete();
}

#[test]
fn a_saved_plan_takes_the_rails_overrides_only_from_applys_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = a_team_of_twelve(dir.path());
    let plan = |args: &[&str]| run(roster(Some(&server), dir.path()).arg("plan").args(args));
    let apply = |args: &[&str]| run(roster(Some(&server), dir.path()).arg("apply").args(args));

    // Reviewed with the override: the saved plan records it, but apply must repeat it.
    let (code, _, stderr) = plan(&["--out", "plan.json", "--allow-removals", "12"]);
    assert_eq!(code, 0, "{stderr}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["removalRail"]["allow"], 12);
    assert_eq!(saved["digest"].as_str().unwrap().len(), 64);
    let (code, _, stderr) = apply(&["--plan", "plan.json"]);
    assert_eq!(code, 3, "the file's override is not taken: {stderr}");
    assert!(stderr.contains("--allow-removals 12"), "{stderr}");
    let (code, _, stderr) = apply(&["--plan", "plan.json", "--allow-removals", "11"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());

    // A file whose override was raised by hand is edited, and says so.
    let text = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(&text).unwrap();
    edited["deactivationRail"]["allow"] = 500.into();
    std::fs::write(dir.path().join("edited.json"), serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let (code, _, stderr) = apply(&["--plan", "edited.json", "--allow-removals", "12"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("edited after it was saved"), "{stderr}");
    assert!(!stderr.contains("stale"), "tampering is not called a changed service: {stderr}");
    assert!(server.writes().is_empty());

    // Reformatting the file is no edit.
    let compact: serde_json::Value = serde_json::from_str(&text).unwrap();
    std::fs::write(dir.path().join("compact.json"), serde_json::to_string(&compact).unwrap()).unwrap();
    let (code, _, stderr) = apply(&["--plan", "compact.json", "--allow-removals", "12"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(members_of_everyone(&server), 0);
    server.assert_no_user_delete();
}

#[test]
fn a_saved_plan_that_was_blocked_or_edited_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = a_team_of_twelve(dir.path());

    // Saved while blocked by the removal rail (exit 3, saved for review).
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--out", "blocked.json"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("for review only"), "{stderr}");
    let requests_before = server.log().len();
    for extra in [&[][..], &["--allow-removals", "12"][..]] {
        let (code, _, stderr) =
            run(roster(Some(&server), dir.path()).args(["apply", "--plan", "blocked.json"]).args(extra));
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("blocked when it was saved"), "{stderr}");
    }
    assert_eq!(server.log().len(), requests_before, "refused before any request");

    // Edits of every part of the content are tampering: an operation, the blockers, the
    // desired state, the live fingerprint.
    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["plan", "--out", "plan.json", "--allow-removals", "12"]));
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 6] = [
        ("an operation", |p| p["operations"][0]["members"].as_array_mut().unwrap().truncate(1)),
        ("the desired state", |p| {
            p["desired"]["groups"][0]["members"] = serde_json::json!(["old0@example.com"])
        }),
        ("a blocker", |p| p["blockers"] = serde_json::json!([{"kind": "conflict", "reasons": ["x"]}])),
        ("the fingerprint", |p| p["liveFingerprint"] = "0".repeat(64).into()),
        ("the digest", |p| p["digest"] = "f".repeat(64).into()),
        ("the format version", |p| p["formatVersion"] = 2.into()),
    ];
    // Writes an edited plan and applies it with the reviewed override; returns the exit
    // code and stderr.
    let apply_edited = |edited: &serde_json::Value| {
        std::fs::write(dir.path().join("edited.json"), serde_json::to_string_pretty(edited).unwrap())
            .unwrap();
        let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
            "apply",
            "--plan",
            "edited.json",
            "--allow-removals",
            "12",
        ]));
        (code, stderr)
    };
    for (what, edit) in edits {
        let mut edited = original.clone();
        edit(&mut edited);
        let (code, stderr) = apply_edited(&edited);
        assert_eq!(code, 1, "{what}: {stderr}");
        assert!(stderr.contains("edited after it was saved"), "{what}: {stderr}");
    }
    let mut stripped = original.clone();
    stripped.as_object_mut().unwrap().remove("digest");
    let (code, stderr) = apply_edited(&stripped);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("carries no digest"), "{stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());
    assert_eq!(members_of_everyone(&server), 12);
}

#[test]
fn a_saved_plan_past_the_deactivation_rail_needs_the_override_again_at_apply() {
    let live = LiveState { users: (0..12).map(active_user).collect(), ..LiveState::default() };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), "version: 1\nusers:\n  - userName: new@example.com\n")
        .unwrap();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "plan",
        "--out",
        "plan.json",
        "--allow-deactivations",
        "12",
    ]));
    assert_eq!(code, 0, "{stderr}");

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--plan", "plan.json"]));
    assert_eq!(code, 3, "the saved override is not used: {stderr}");
    assert!(stderr.contains("--allow-deactivations 12"), "{stderr}");
    assert!(server.writes().is_empty(), "nothing sent: {:?}", server.writes());

    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "apply",
        "--plan",
        "plan.json",
        "--allow-deactivations",
        "12",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.live().users.iter().filter(|u| u.attributes.active).count(), 1);
    server.assert_no_user_delete();
}

/// `roster emulator --rate-limit 4/s --rate-headers ietf`, then an apply of 30 hires
/// through it: the pacer reads the IETF headers and no request meets a 429.
#[test]
fn an_apply_through_the_emulator_command_at_its_advertised_rate_meets_no_429() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("version: 1\nusers:\n");
    for n in 0..30 {
        file.push_str(&format!("  - userName: hire{n:02}@example.com\n"));
    }
    std::fs::write(dir.path().join("users.yaml"), file).unwrap();
    let mut child = roster(None, dir.path())
        .args(["emulator", "--listen", "127.0.0.1:0", "--token", "t0k"])
        .args(["--rate-limit", "4/s", "--rate-headers", "ietf"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut url)
        .unwrap();
    let (code, _, stderr) = run(roster(None, dir.path())
        .env("ROSTER_SCIM_URL", url.trim())
        .env("ROSTER_SCIM_TOKEN", "t0k")
        .args(["apply", "--auto-approve", "--report", "report.json"]));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let requests: Vec<&serde_json::Value> = report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|operation| operation["requests"].as_array().unwrap())
        .collect();
    assert_eq!(requests.len(), 30, "{report:#}");
    assert!(requests.iter().all(|r| r["status"] == 201 && r["attempts"] == 1), "{report:#}");
}

/// A workspace of two people in one team, for the dates tests.
fn a_contractor_and_a_guest(dir: &std::path::Path) -> Server {
    let user = |id: &str, user_name: &str| LiveUser {
        created: None,
        id: id.into(),
        attributes: UserAttributes { user_name: user_name.into(), active: true, ..UserAttributes::default() },
    };
    let live = LiveState {
        users: vec![user("u1", "contractor@example.com"), user("u2", "guest@example.com")],
        groups: vec![LiveGroup {
            id: "g1".into(),
            display_name: "Product".into(),
            external_id: None,
            members: vec!["u1".into(), "u2".into()],
            created: None,
        }],
        ..LiveState::default()
    };
    std::fs::write(
        dir.join("users.yaml"),
        "version: 1\nusers:\n  - userName: contractor@example.com\n    expires: 2026-06-01\n  - userName: guest@example.com\n\
         groups:\n  - displayName: Product\n    members:\n      - contractor@example.com\n      - { userName: guest@example.com, expires: 2026-05-31 }\n",
    )
    .unwrap();
    Server::seeded(EmulatorConfig::default(), &live)
}

#[test]
fn access_ends_on_its_day_and_a_saved_plan_is_judged_on_the_day_it_was_made_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = a_contractor_and_a_guest(dir.path());

    // Before the end dates: no change, both listed as expiring, in every format.
    let plan = |format: &str, as_of: &str| {
        run(roster(Some(&server), dir.path()).args([
            "plan",
            "--detailed-exitcode",
            "--format",
            format,
            "--as-of",
            as_of,
        ]))
    };
    let (code, stdout, stderr) = plan("text", "2026-05-25");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Expiring within 14 days (2)"), "{stdout}");
    assert!(stdout.contains("user contractor@example.com: expires 2026-06-01 (in 7 days)"), "{stdout}");
    let (code, stdout, _) = plan("markdown", "2026-05-25");
    assert_eq!(code, 0);
    assert!(stdout.contains("Expiring within 14 days (2)"), "{stdout}");
    let (_, stdout, _) = plan("json", "2026-05-25");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["asOf"], "2026-05-25");
    assert_eq!(json["access"]["expiring"].as_array().unwrap().len(), 2);

    // A plan saved on the 25th applies as of the 25th, whatever day apply runs on.
    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["plan", "--as-of", "2026-05-25", "--out", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "apply",
        "--plan",
        "plan.json",
        "--as-of",
        "2026-06-02",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("differs from the day the saved plan was made for, 2026-05-25"), "{stderr}");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args(["apply", "--plan", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(server.writes().is_empty(), "nothing expired on the plan's day: {:?}", server.writes());

    // On the day: the membership (ended the day before) and the user are gone, with the
    // reason in every format.
    let (code, stdout, _) = plan("text", "2026-06-01");
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("contractor@example.com (id u1): expired 2026-06-01 (expires: 2026-06-01)"),
        "{stdout}"
    );
    assert!(stdout.contains("- guest@example.com: expired 2026-05-31"), "{stdout}");
    let (_, stdout, _) = plan("markdown", "2026-06-01");
    assert!(stdout.contains("expired 2026-06-01"), "{stdout}");
    assert!(stdout.contains("<code>guest&#64;example.com</code> (expired 2026-05-31)"), "{stdout}");
    let (_, stdout, _) = plan("json", "2026-06-01");
    assert!(stdout.contains(r#""expired": "2026-06-01""#), "{stdout}");
    // The three formats, as a reviewer sees them (the time and port of the run aside).
    let mut formats = String::new();
    for format in ["text", "markdown", "json"] {
        let (code, stdout, _) = plan(format, "2026-06-01");
        let stdout: String = stdout
            .lines()
            .filter(|line| !line.starts_with("<sub>Computed at") && !line.contains("\"liveFingerprint\""))
            .map(|line| format!("{line}\n"))
            .collect();
        formats.push_str(&format!(
            "$ roster plan --format {format} --as-of 2026-06-01 (exit {code})\n{stdout}\n"
        ));
    }
    insta::assert_snapshot!("expiry_in_three_formats", formats);
    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve", "--as-of", "2026-06-01"]));
    assert_eq!(code, 0, "{stderr}");
    let live = server.live();
    let contractor = live.users.iter().find(|u| u.attributes.user_name == "contractor@example.com").unwrap();
    assert!(!contractor.attributes.active, "deactivated, not deleted");
    assert_eq!(live.groups[0].members, ["u1"], "the guest's membership is removed");
    let (code, stdout, _) = plan("text", "2026-06-01");
    assert_eq!(code, 0, "converged: {stdout}");
    server.assert_no_user_delete();
}

/// Starts two `roster apply` runs at the same moment and waits for both; returns their
/// exit codes, stderr and reports.
fn two_applies_at_once(server: &Server, dir: &std::path::Path) -> Vec<(i32, String, serde_json::Value)> {
    let children: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            let report = dir.join(format!("report-{name}.json"));
            let child = roster(Some(server), dir)
                .args(["apply", "--auto-approve", "--report"])
                .arg(&report)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (child, report)
        })
        .collect();
    children
        .into_iter()
        .map(|(child, report)| {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            let report = std::fs::read_to_string(&report)
                .map(|text| serde_json::from_str(&text).unwrap())
                .unwrap_or(serde_json::Value::Null);
            (output.status.code().unwrap_or(-1), stderr, report)
        })
        .collect()
}

#[test]
fn two_applies_at_once_converge_on_one_team_where_duplicate_names_are_allowed() {
    let config = EmulatorConfig {
        latency: Duration::from_millis(25),
        misbehaviour: Misbehaviour { allow_duplicate_group_names: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    };
    let server = Server::seeded(config, &LiveState::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\npolicy: { unmanaged_groups: delete }\nusers:\n  - { userName: ada@example.com, role: maker }\n  \
         - { userName: bob@example.com, title: Engineer }\ngroups:\n  - displayName: Platform\n    \
         members: [ada@example.com, bob@example.com]\n  - displayName: Empty Team\n",
    )
    .unwrap();

    let runs = two_applies_at_once(&server, dir.path());
    for (code, stderr, _) in &runs {
        assert_eq!(*code, 0, "both applies succeed:\n{stderr}");
    }
    let live = server.live();
    for name in ["Platform", "Empty Team"] {
        let teams: Vec<_> = live.groups.iter().filter(|g| g.display_name == name).collect();
        assert_eq!(teams.len(), 1, "one team {name:?}: {:?}", live.groups);
    }
    assert_eq!(live.users.len(), 2, "each user once");
    // Every create either made the team or adopted the other run's; one made each.
    for op in ["createUser", "createGroup"] {
        let outcomes: Vec<&str> = runs
            .iter()
            .flat_map(|(_, _, report)| report["operations"].as_array().cloned().unwrap_or_default())
            .filter(|o| o["operation"]["op"] == op)
            .inspect(|o| assert!(o["verified"].is_string(), "an adoption is verified like any write: {o}"))
            .map(|o| if o["outcome"] == "done" { "done" } else { "adopted" })
            .collect();
        assert_eq!(outcomes.iter().filter(|o| **o == "done").count(), 2, "{op}: {outcomes:?}");
    }
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "the re-plan is converged:\n{stdout}\n{stderr}");
    server.assert_no_user_delete();
}

#[test]
fn arrivals_are_listed_with_their_creation_time_marked_new_after_the_files_last_commit_and_adoptable() {
    let dir = tempfile::tempdir().unwrap();
    let user = |id: &str, user_name: &str, created: Option<&str>| LiveUser {
        id: id.into(),
        attributes: UserAttributes { user_name: user_name.into(), active: true, ..UserAttributes::default() },
        created: created.map(str::to_owned),
    };
    let live = LiveState {
        users: vec![
            user("u1", "ada@example.com", Some("2025-01-10T09:00:00Z")),
            user("u2", "sso.newcomer@example.com", Some("2026-11-29T14:02:37Z")),
            user("u3", "old.timer@example.com", Some("2024-03-01T08:00:00Z")),
        ],
        ..LiveState::default()
    };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    std::fs::write(dir.path().join("users.yaml"), "version: 1\nusers:\n  - userName: ada@example.com\n")
        .unwrap();

    // The emulator sends meta.created and meta.lastModified, as Productboard does.
    let fetched = server.live();
    assert!(fetched.users.iter().all(|u| u.created.is_some()), "{fetched:?}");

    // Outside git: listed with their creation time, none marked, no error.
    let (code, stdout, stderr) =
        run(roster(Some(&server), dir.path()).args(["plan", "--allow-deactivations", "2"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Arrivals: live users not in the file (2)"), "{stdout}");
    assert!(
        stdout.contains("sso.newcomer@example.com (id u2): arrived 2026-11-29 14:02 UTC; deactivated"),
        "{stdout}"
    );
    assert!(!stdout.contains("first SSO login"), "{stdout}");

    // In git, committed on 2026-11-20: the account made on the 29th is new.
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .env("GIT_COMMITTER_DATE", "2026-11-20T10:00:00Z")
            .env("GIT_AUTHOR_DATE", "2026-11-20T10:00:00Z")
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "users.yaml"]);
    git(&["commit", "-q", "-m", "users"]);
    let (code, stdout, stderr) =
        run(roster(Some(&server), dir.path()).args(["plan", "--allow-deactivations", "2"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("(unmanaged_users: deactivate); arrived 2026-11-29 14:02, likely a first SSO login"),
        "{stdout}"
    );
    assert!(
        stdout.contains("old.timer@example.com (id u3): arrived 2024-03-01 08:00 UTC; deactivated"),
        "{stdout}"
    );
    let (_, stdout, _) = run(roster(Some(&server), dir.path()).args([
        "plan",
        "--allow-deactivations",
        "2",
        "--format",
        "json",
    ]));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let arrivals = json["arrivals"].as_array().unwrap();
    assert_eq!(arrivals.len(), 2);
    assert_eq!(arrivals[1]["userName"], "sso.newcomer@example.com");
    assert_eq!(arrivals[1]["new"], true);
    assert_eq!(arrivals[0]["new"], false);

    // Adopting them is a paste (or --append) and a review: the plan is then empty.
    let (code, stdout, stderr) =
        run(roster(Some(&server), dir.path()).args(["import", "--unmanaged", "users.yaml"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "  - userName: old.timer@example.com\n  - userName: sso.newcomer@example.com\n");
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "import",
        "--unmanaged",
        "users.yaml",
        "--out",
        "users.yaml",
        "--append",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(server.writes().is_empty());

    // A file that does not end with its users is refused, not corrupted.
    std::fs::write(
        dir.path().join("teams.yaml"),
        "version: 1\nusers:\n  - userName: ada@example.com\ngroups:\n  - displayName: T\n    members: [ada@example.com]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("users.yaml"), "version: 1\nusers: []\n").unwrap();
    let (code, _, stderr) = run(roster(Some(&server), dir.path()).args([
        "import",
        "--unmanaged",
        "teams.yaml",
        "--out",
        "teams.yaml",
        "--append",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("must end with that list"), "{stderr}");
    assert!(std::fs::read_to_string(dir.path().join("teams.yaml")).unwrap().ends_with("[ada@example.com]\n"));
}

#[test]
fn the_paid_seat_rail_blocks_plan_and_apply_until_exactly_the_seats_after_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let user = |id: &str, user_name: &str, role: &str| LiveUser {
        id: id.into(),
        attributes: UserAttributes {
            user_name: user_name.into(),
            role: Some(role.into()),
            active: true,
            ..UserAttributes::default()
        },
        created: None,
    };
    let live = LiveState {
        users: vec![user("u1", "ada@example.com", "admin"), user("u2", "bob@example.com", "contributor")],
        ..LiveState::default()
    };
    let server = Server::seeded(EmulatorConfig::default(), &live);
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\npolicy:\n  max_paid_seats: 1\nusers:\n  - userName: ada@example.com\n    role: admin\n  - userName: bob@example.com\n    role: maker\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan"]));
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Paid seats: 1 → 2 (admin 1, maker 0 → 1; free: contributor 1 → 0), limit 1."),
        "{stdout}"
    );
    assert!(stderr.contains("pass --allow-paid-seats 2"), "{stderr}");
    let (code, _, _) =
        run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve", "--allow-paid-seats", "3"]));
    assert_eq!(code, 3, "a wrong override is no override");
    assert!(server.writes().is_empty(), "nothing sent while blocked");
    let (code, _, stderr) =
        run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve", "--allow-paid-seats", "2"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn duplicate_teams_block_with_the_steps_to_resolve_and_an_empty_recent_one_is_deleted_under_delete() {
    let live = LiveState {
        users: vec![active_user(1)],
        groups: vec![
            roster_model::LiveGroup {
                id: "g-used".into(),
                display_name: "Platform".into(),
                external_id: None,
                members: vec!["old-1".into()],
                created: None,
            },
            // Seeded without a creation time, the emulator stamps it now: a duplicate a
            // racing apply has just left.
            roster_model::LiveGroup {
                id: "g-empty".into(),
                display_name: "platform".into(),
                external_id: None,
                members: vec![],
                created: None,
            },
        ],
        ..LiveState::default()
    };
    let config = EmulatorConfig {
        misbehaviour: Misbehaviour { allow_duplicate_group_names: true, ..Misbehaviour::default() },
        ..EmulatorConfig::default()
    };
    let server = Server::seeded(config, &live);
    let dir = tempfile::tempdir().unwrap();
    let file = |policy: &str| {
        format!(
            "version: 1\npolicy: {{ unmanaged_users: keep, unmanaged_groups: {policy} }}\nusers:\n  \
             - userName: old1@example.com\ngroups:\n  - displayName: Platform\n    members: [old1@example.com]\n"
        )
    };
    std::fs::write(dir.path().join("users.yaml"), file("keep")).unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 1, "blocked:\n{stdout}\n{stderr}");
    for expected in [
        "team \"Platform\" exists twice",
        "(id g-used, 1 member, created 20",
        "(id g-empty, no members, created 20",
        "keep \"Platform\" (id g-used), as it has the most members",
        "delete \"platform\" (id g-empty) in the service's admin UI (it is empty)",
        "with `unmanaged_groups: delete`, roster deletes a duplicate itself",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    let (code, _, _) = run(roster(Some(&server), dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 1);
    assert!(server.writes().is_empty(), "a blocked plan sends nothing: {:?}", server.writes());

    std::fs::write(dir.path().join("users.yaml"), file("delete")).unwrap();
    let (code, stdout, stderr) = run(roster(Some(&server), dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"platform\" (id g-empty): an empty duplicate of a team in the file"),
        "{stdout}"
    );
    assert!(stdout.contains("is an empty duplicate of \"Platform\" (id g-used"), "warned: {stdout}");
    apply_until_converged(&server, dir.path(), 1);
    let groups = server.live().groups;
    assert_eq!(groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["g-used"]);
}
