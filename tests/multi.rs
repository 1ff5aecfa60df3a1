//! End to end: one file, two SCIM apps. The `roster` binary against two emulators at once,
//! each with its own token: one removed line offboards from both, dropping an app
//! deactivates there only, `--target` limits a run, a failing target does not stop the
//! other, a rail in one blocks both, saved plans pin both, and no token leaks.

mod support;

use std::path::Path;

use roster_emulator::EmulatorConfig;
use roster_model::{LiveState, LiveUser, UserAttributes};
use support::{Server, roster, run};

/// The tokens of the two apps: markers that must never show anywhere.
const PB_TOKEN: &str = "pb-marker-token-4d1c8e7a";
const MIRO_TOKEN: &str = "miro-marker-token-9b2f5c3e";

fn user(id: &str, user_name: &str) -> LiveUser {
    LiveUser {
        created: None,
        id: id.into(),
        attributes: UserAttributes { user_name: user_name.into(), active: true, ..UserAttributes::default() },
    }
}

/// Ada, Bob and Carol, active in both apps.
fn two_apps() -> (Server, Server) {
    let live = LiveState {
        users: vec![
            user("u-ada", "ada@example.com"),
            user("u-bob", "bob@example.com"),
            user("u-carol", "carol@example.com"),
        ],
        ..LiveState::default()
    };
    let pb = Server::start_with_token(EmulatorConfig::default(), PB_TOKEN);
    pb.emulator().state().load_live_state(&live).unwrap();
    let miro = Server::start_with_token(EmulatorConfig::default(), MIRO_TOKEN);
    miro.emulator().state().load_live_state(&live).unwrap();
    (pb, miro)
}

/// The multi-target file for the two emulators; `users` is the YAML under `users:`,
/// `miro_policy` extra keys of miro's target.
fn write_file(dir: &Path, pb: &Server, miro: &Server, miro_extra: &str, users: &str) {
    let file = format!(
        "version: 1\n\
         targets:\n  \
           productboard: {{ provider: productboard, url: \"{}\", token_env: ROSTER_TOKEN_PB }}\n  \
           miro: {{ provider: generic, url: \"{}\", token_env: ROSTER_TOKEN_MIRO{miro_extra} }}\n\
         users:\n{users}",
        pb.url(),
        miro.url()
    );
    std::fs::write(dir.join("users.yaml"), file).unwrap();
}

/// `roster` with both tokens in the environment and no single-target connection.
fn roster_multi(dir: &Path) -> std::process::Command {
    let mut command = roster(None, dir);
    command.env("ROSTER_TOKEN_PB", PB_TOKEN).env("ROSTER_TOKEN_MIRO", MIRO_TOKEN);
    command
}

fn active(server: &Server, user_name: &str) -> bool {
    server.live().users.iter().find(|u| u.attributes.user_name == user_name).expect("user").attributes.active
}

const ADA_BOTH_CAROL_PB: &str = "  - userName: ada@example.com\n    apps: [productboard, miro]\n  \
                                 - userName: carol@example.com\n    apps: [productboard]\n";

#[test]
fn one_removed_line_offboards_from_both_apps_and_a_dropped_app_from_that_one() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    // Bob's line is gone; Carol has only productboard now.
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);

    let (code, stdout, stderr) = run(roster_multi(dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 2, "changes present:\n{stdout}\n{stderr}");
    assert!(stdout.contains("productboard") && stdout.contains("miro"), "{stdout}");
    assert!(pb.writes().is_empty() && miro.writes().is_empty(), "plan must not write");

    let (code, json, stderr) = run(roster_multi(dir.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let deactivated = |target: &str| -> Vec<String> {
        let plans = &plan["targets"];
        let target_plan = if plans.is_array() {
            plans.as_array().unwrap().iter().find(|p| p["target"] == target).unwrap()
        } else {
            &plans[target]
        };
        let ops = target_plan["operations"]
            .as_array()
            .or_else(|| target_plan["plan"]["operations"].as_array())
            .unwrap();
        let mut names: Vec<String> = ops
            .iter()
            .filter(|op| op["op"] == "deactivateUser")
            .map(|op| op["userName"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(deactivated("productboard"), ["bob@example.com"], "{json}");
    assert_eq!(deactivated("miro"), ["bob@example.com", "carol@example.com"], "{json}");

    let report = dir.path().join("report.json");
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["apply", "--auto-approve", "--report"]).arg(&report));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !active(&pb, "bob@example.com") && !active(&miro, "bob@example.com"),
        "bob offboarded everywhere"
    );
    assert!(
        active(&pb, "carol@example.com") && !active(&miro, "carol@example.com"),
        "carol keeps productboard only"
    );
    assert!(active(&pb, "ada@example.com") && active(&miro, "ada@example.com"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["targets"]["productboard"]["status"], "applied", "{report:#}");
    assert_eq!(report["targets"]["miro"]["status"], "applied", "{report:#}");
    pb.assert_no_user_delete();
    miro.assert_no_user_delete();

    let (code, stdout, stderr) = run(roster_multi(dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "converged:\n{stdout}\n{stderr}");
}

#[test]
fn target_limits_a_run_and_an_unknown_target_is_named() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);

    let (code, _, stderr) = run(roster_multi(dir.path()).args(["plan", "--target", "zoom"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("zoom") && stderr.contains("miro, productboard"), "{stderr}");

    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["apply", "--auto-approve", "--target", "miro"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(pb.writes().is_empty(), "productboard was not in the run: {:?}", pb.writes());
    assert!(pb.log().is_empty(), "not even read");
    assert!(!active(&miro, "bob@example.com") && !active(&miro, "carol@example.com"));
    assert!(active(&pb, "bob@example.com"));
}

#[test]
fn a_target_that_fails_does_not_stop_the_other_and_the_run_fails() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);
    let report = dir.path().join("report.json");
    let (code, _, stderr) = run(roster_multi(dir.path())
        .env("ROSTER_TOKEN_PB", "a-wrong-token-value")
        .args(["apply", "--auto-approve", "--report"])
        .arg(&report));
    assert_eq!(code, 1, "a target that could not be planned is an error: {stderr}");
    assert!(stderr.contains("target productboard"), "{stderr}");
    // The hint names where this target's token comes from, not the single-target places.
    assert!(stderr.contains("environment variable ROSTER_TOKEN_PB"), "{stderr}");
    assert!(!stderr.contains("ROSTER_SCIM_TOKEN"), "{stderr}");
    assert!(!active(&miro, "bob@example.com"), "miro was applied: {stderr}");
    assert!(pb.writes().is_empty());
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["targets"]["productboard"]["status"], "failed", "{report:#}");
    assert!(report["targets"]["productboard"]["error"].as_str().unwrap().contains("productboard"));
    assert_eq!(report["targets"]["miro"]["status"], "applied", "{report:#}");
    assert!(
        !std::fs::read_to_string(dir.path().join("report.json")).unwrap().contains("a-wrong-token-value")
    );

    // A plan with a target that cannot be fetched fails and shows no partial plan.
    let (code, stdout, stderr) =
        run(roster_multi(dir.path()).env("ROSTER_TOKEN_PB", "a-wrong-token-value").args(["plan"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("target productboard"), "{stderr}");
}

#[test]
fn a_missing_token_names_the_target_and_the_variable() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);
    let (code, _, stderr) = run(roster_multi(dir.path()).env_remove("ROSTER_TOKEN_MIRO").args(["plan"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("target miro") && stderr.contains("ROSTER_TOKEN_MIRO"), "{stderr}");
    // --url has no meaning with targets: each names its own.
    let (code, _, stderr) = run(roster_multi(dir.path()).args(["plan", "--url", &pb.url()]));
    assert_eq!(code, 1);
    assert!(stderr.contains("--url"), "{stderr}");
    assert!(pb.writes().is_empty() && miro.writes().is_empty());
}

#[test]
fn a_blocked_target_blocks_both_unless_left_out() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, ", policy: { max_deactivations: 1 }", ADA_BOTH_CAROL_PB);
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["apply", "--auto-approve", "--report", "report.json"]));
    assert_eq!(code, 3, "miro deactivates 2 of at most 1: {stderr}");
    assert!(pb.writes().is_empty() && miro.writes().is_empty(), "nothing applied anywhere");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    for target in ["miro", "productboard"] {
        assert_eq!(report["targets"][target]["status"], "blocked", "{report:#}");
    }
    assert!(stderr.contains("miro"), "{stderr}");

    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["apply", "--auto-approve", "--target", "productboard"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!active(&pb, "bob@example.com"));
    assert!(miro.writes().is_empty());
}

#[test]
fn a_saved_plan_pins_every_target_and_a_stale_one_names_its_target() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);
    let (code, _, stderr) = run(roster_multi(dir.path()).args(["plan", "--out", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");

    // Stale: an account appears in miro after the plan was saved.
    miro.emulator().state().add_user(&user("u-dan", "dan@example.com").attributes).unwrap();
    let (code, _, stderr) = run(roster_multi(dir.path()).args(["apply", "--plan", "plan.json"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("miro"), "the stale target is named: {stderr}");
    assert!(pb.writes().is_empty() && miro.writes().is_empty(), "a stale plan applies nowhere");

    let (code, _, stderr) = run(roster_multi(dir.path()).args(["plan", "--out", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");
    // Tampered: an edit after saving is named as such.
    let text = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    let edited = text.replacen("bob@example.com", "bobby@example.com", 1);
    assert_ne!(text, edited);
    std::fs::write(dir.path().join("edited.json"), edited).unwrap();
    let (code, _, stderr) = run(roster_multi(dir.path()).args(["apply", "--plan", "edited.json"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("edited") || stderr.contains("tamper"), "{stderr}");

    let (code, _, stderr) = run(roster_multi(dir.path()).args(["apply", "--plan", "plan.json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!active(&pb, "bob@example.com") && !active(&miro, "dan@example.com"));
}

#[test]
fn no_token_reaches_output_logs_plans_or_reports() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);
    let mut seen = String::new();
    for args in [
        vec!["-vv", "plan"],
        vec!["-vv", "plan", "--format", "json"],
        vec!["-vv", "plan", "--format", "markdown", "--out", "plan.json"],
        vec!["--log-format", "json", "-vv", "doctor"],
        vec!["-vv", "apply", "--plan", "plan.json", "--report", "report.json"],
        vec!["-vv", "plan", "--target", "nope"],
    ] {
        let (_, stdout, stderr) = run(roster_multi(dir.path()).args(&args));
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    // A token pasted into the file is quoted by the error, redacted.
    std::fs::write(dir.path().join("bad.yaml"), format!("version: 1\nusers:\n  - userName: {MIRO_TOKEN}\n"))
        .unwrap();
    let (code, stdout, stderr) = run(roster_multi(dir.path()).args(["validate", "bad.yaml"]));
    assert_eq!(code, 1);
    seen.push_str(&stdout);
    seen.push_str(&stderr);
    for file in ["plan.json", "report.json"] {
        seen.push_str(&std::fs::read_to_string(dir.path().join(file)).unwrap());
    }
    assert!(seen.contains("miro") && seen.contains("productboard"), "the runs ran");
    for token in [PB_TOKEN, MIRO_TOKEN] {
        assert!(!seen.contains(token), "{token} leaked");
        assert!(!seen.contains(&token[..12]), "part of {token} leaked");
    }
}

#[test]
fn import_target_merges_one_app_and_plans_no_changes_there() {
    // Miro also has Dan, with a role, and Ada with another title there.
    let (pb, _) = two_apps();
    let mut ada = user("u-ada", "ada@example.com");
    ada.attributes.title = Some("Design lead".into());
    let mut dan = user("u-dan", "dan@example.com");
    dan.attributes.role = Some("editor".into());
    let live = LiveState {
        users: vec![ada, user("u-bob", "bob@example.com"), user("u-carol", "carol@example.com"), dan],
        ..LiveState::default()
    };
    let miro = Server::start_with_token(EmulatorConfig::default(), MIRO_TOKEN);
    miro.emulator().state().load_live_state(&live).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The file lists only productboard users so far.
    write_file(
        dir.path(),
        &pb,
        &miro,
        "",
        "  - userName: ada@example.com\n    apps: [productboard]\n  \
         - userName: bob@example.com\n    apps: [productboard]\n  \
         - userName: carol@example.com\n    apps: [productboard]\n",
    );
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["import", "--target", "miro", "--out", "merged.yaml"]));
    assert_eq!(code, 0, "{stderr}");
    let merged = std::fs::read_to_string(dir.path().join("merged.yaml")).unwrap();
    assert!(merged.contains("apps: [miro, productboard]"), "{merged}");
    assert!(merged.contains("miro: { title: Design lead }"), "{merged}");
    assert!(merged.contains("userName: dan@example.com") && merged.contains("apps: [miro]"), "{merged}");
    assert!(miro.writes().is_empty() && pb.writes().is_empty(), "import only reads");

    let (code, stdout, stderr) = run(roster_multi(dir.path()).args([
        "plan",
        "merged.yaml",
        "--target",
        "miro",
        "--detailed-exitcode",
    ]));
    assert_eq!(code, 0, "no changes for miro after import:\n{stdout}\n{stderr}");
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["plan", "merged.yaml", "--detailed-exitcode"]));
    assert_eq!(code, 0, "nor for productboard:\n{stderr}");

    let (code, _, stderr) = run(roster_multi(dir.path()).args(["import", "--target", "zoom"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("zoom") && stderr.contains("miro, productboard"), "{stderr}");
}

#[test]
fn doctor_checks_every_target() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);
    let (code, stdout, stderr) = run(roster_multi(dir.path()).arg("doctor"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("== target miro") && stdout.contains("== target productboard"), "{stdout}");
    let (code, stdout, _) =
        run(roster_multi(dir.path()).env("ROSTER_TOKEN_MIRO", "wrong-token-123").arg("doctor"));
    assert_eq!(code, 1);
    let miro_section = stdout.split("== target miro").nth(1).unwrap().split("== target").next().unwrap();
    assert!(miro_section.contains("✗ token"), "{stdout}");
    assert!(!stdout.split("== target productboard").nth(1).unwrap().contains('✗'), "{stdout}");
}

#[test]
fn audit_runs_where_a_target_names_a_rest_token() {
    let pb = Server::start_with_token(
        EmulatorConfig { api_token: Some("pb-rest-marker-8c1d".into()), ..EmulatorConfig::default() },
        PB_TOKEN,
    );
    pb.emulator().state().load_live_state(&two_apps().0.live()).unwrap();
    let miro = Server::start_with_token(EmulatorConfig::default(), MIRO_TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let file = format!(
        "version: 1\ntargets:\n  \
           productboard: {{ provider: productboard, url: \"{}\", token_env: ROSTER_TOKEN_PB, api_token_env: ROSTER_REST_PB, everyone: true }}\n  \
           miro: {{ provider: generic, url: \"{}\", token_env: ROSTER_TOKEN_MIRO }}\n\
         users:\n  - userName: ada@example.com\n  - userName: bob@example.com\n  - userName: carol@example.com\n",
        pb.url(),
        miro.url()
    );
    std::fs::write(dir.path().join("users.yaml"), file).unwrap();
    let (code, stdout, stderr) = run(roster_multi(dir.path())
        .env("ROSTER_API_URL", pb.emulator().api_url())
        .env("ROSTER_REST_PB", "pb-rest-marker-8c1d")
        .args(["audit", "--format", "json"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(report["targets"]["productboard"].is_object(), "{report:#}");
    assert!(report["targets"]["miro"].is_null(), "{report:#}");
    assert!(stderr.contains("target miro is not audited"), "{stderr}");
    assert!(!stdout.contains("pb-rest-marker-8c1d") && !stderr.contains("pb-rest-marker-8c1d"));
}

#[test]
fn exit_codes_aggregate_the_worst_wins() {
    use roster_emulator::Misbehaviour;
    use roster_model::LiveGroup;
    let live = LiveState {
        users: vec![user("u-ada", "ada@example.com"), user("u-bob", "bob@example.com")],
        ..LiveState::default()
    };
    // Miro refuses PATCH and answers a group PUT without taking its members: a member
    // added there is never taken, so miro's apply ends partial.
    let misbehaviour =
        Misbehaviour { patch_unsupported: true, put_ignores_members: true, ..Misbehaviour::default() };
    let miro =
        Server::start_with_token(EmulatorConfig { misbehaviour, ..EmulatorConfig::default() }, MIRO_TOKEN);
    let design = LiveGroup {
        id: "g-design".into(),
        display_name: "Design".into(),
        external_id: None,
        members: Vec::new(),
        created: None,
    };
    miro.emulator().state().load_live_state(&LiveState { groups: vec![design], ..live.clone() }).unwrap();
    let pb = Server::start_with_token(EmulatorConfig::default(), PB_TOKEN);
    pb.emulator().state().load_live_state(&live).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users = "  - userName: ada@example.com\n    apps: [productboard, miro]\n\
                 groups:\n  - displayName: Design\n    target: miro\n    members: [ada@example.com]\n";
    write_file(dir.path(), &pb, &miro, "", users);

    // Changes in both, with --detailed-exitcode: 2.
    let (code, _, stderr) = run(roster_multi(dir.path()).args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 2, "{stderr}");
    // Productboard alone has changes too; a target without changes adds 0.
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["plan", "--detailed-exitcode", "--target", "productboard"]));
    assert_eq!(code, 2, "{stderr}");

    // The cross-target rail (3) outranks changes (2): Bob loses both apps, over 0.
    let file = std::fs::read_to_string(dir.path().join("users.yaml")).unwrap();
    let railed = file.replacen("version: 1\n", "version: 1\npolicy: { max_deactivations: 0 }\n", 1);
    std::fs::write(dir.path().join("railed.yaml"), railed).unwrap();
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["plan", "railed.yaml", "--detailed-exitcode"]));
    assert_eq!(code, 3, "{stderr}");
    // The top-level policy is each target's too: the cross-target rail and each
    // target's own are let through by exactly the planned numbers.
    let (code, _, stderr) = run(roster_multi(dir.path()).args([
        "plan",
        "railed.yaml",
        "--detailed-exitcode",
        "--allow-deactivations",
        "1",
        "--allow-deactivations",
        "miro=1",
        "--allow-deactivations",
        "productboard=1",
    ]));
    assert_eq!(code, 2, "{stderr}");

    // Apply: productboard is applied, miro partly fails (4) and its report says so.
    let report = dir.path().join("report.json");
    let (code, _, stderr) =
        run(roster_multi(dir.path()).args(["apply", "--auto-approve", "--report"]).arg(&report));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("miro: "), "{stderr}");
    assert!(!active(&pb, "bob@example.com") && !active(&miro, "bob@example.com"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["targets"]["miro"]["status"], "partial", "{report:#}");
    assert_eq!(report["targets"]["productboard"]["status"], "applied", "{report:#}");

    // A target that cannot be reached (1) outranks the partial one (4).
    let (code, _, stderr) = run(roster_multi(dir.path())
        .env("ROSTER_TOKEN_PB", "a-wrong-token-value")
        .args(["apply", "--auto-approve"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("target productboard"), "{stderr}");
}

#[test]
fn export_of_a_multi_target_file_has_a_row_per_person_and_app() {
    let (pb, miro) = two_apps();
    let dir = tempfile::tempdir().unwrap();
    // Bob's line is gone; Carol has productboard only, yet still an account in miro.
    write_file(dir.path(), &pb, &miro, "", ADA_BOTH_CAROL_PB);

    let (code, csv, stderr) = run(roster_multi(dir.path()).args(["export", "--format", "csv"]));
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("target,userName,"), "{csv}");
    let rows: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let mut cells = l.split(',');
            (cells.next().unwrap(), cells.next().unwrap())
        })
        .collect();
    // Without --live, only the apps the file gives: Carol has no miro row.
    assert_eq!(
        rows,
        [
            ("miro", "ada@example.com"),
            ("productboard", "ada@example.com"),
            ("productboard", "carol@example.com")
        ]
    );

    let (code, json, stderr) = run(roster_multi(dir.path()).args(["export", "--format", "json", "--live"]));
    assert_eq!(code, 0, "{stderr}");
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = |target: &str, user_name: &str| {
        document["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target"] == target && r["userName"] == user_name)
            .cloned()
            .unwrap_or_else(|| panic!("no row {target} {user_name}: {json}"))
    };
    // Carol's miro account is still there: a row says the file no longer gives it.
    let carol = row("miro", "carol@example.com");
    assert_eq!(carol["inactiveReason"], "notInApps", "{carol}");
    assert_eq!(carol["liveStatus"], "active");
    // Bob is in neither app's file: a live-only row in each.
    for target in ["miro", "productboard"] {
        assert_eq!(row(target, "bob@example.com")["inFile"], false);
    }
    assert_eq!(row("productboard", "ada@example.com")["liveId"], "u-ada");
    assert!(pb.writes().is_empty() && miro.writes().is_empty(), "export must not write");
    for text in [&csv, &json, &stderr] {
        assert!(!text.contains(PB_TOKEN) && !text.contains(MIRO_TOKEN));
    }
}
