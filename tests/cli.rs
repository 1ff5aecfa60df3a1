//! The command line without a network: validate, exit codes, annotations, completions.
//! Each case snapshots the exit code, stdout and stderr together.

mod support;

use std::path::Path;

use support::{root, roster, run};

fn snapshot_of(code: i32, stdout: &str, stderr: &str) -> String {
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

#[test]
fn the_example_validates() {
    let (code, stdout, stderr) = run(roster(None, &root()).args(["validate", "examples/users.yaml"]));
    insta::assert_snapshot!(snapshot_of(code, &stdout, &stderr));
}

#[test]
fn every_invalid_example_exits_1_with_its_message() {
    let dir = root().join("examples/invalid");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() >= 15, "the invalid examples are there: {names:?}");
    for name in names {
        let path = Path::new("examples/invalid").join(&name);
        let (code, stdout, stderr) = run(roster(None, &root()).arg("validate").arg(&path));
        assert_eq!(code, 1, "{}: {stderr}", path.display());
        insta::assert_snapshot!(
            format!("invalid-{}", name.to_string_lossy().trim_end_matches(".yaml")),
            snapshot_of(code, &stdout, &stderr)
        );
    }
}

#[test]
fn errors_become_github_annotations_inside_github_actions() {
    let (code, stdout, _) = run(roster(None, &root())
        .env("GITHUB_ACTIONS", "true")
        .args(["validate", "examples/invalid/duplicate-username.yaml"]));
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let (code, stdout, stderr) = run(roster(None, &root()).args(["validate", "no-such-file.yaml"]));
    insta::assert_snapshot!(snapshot_of(code, &stdout, &stderr));
}

#[test]
fn plan_without_a_url_or_token_says_how_to_set_them_and_sends_nothing() {
    let (code, _, stderr) = run(roster(None, &root()).args(["plan", "examples/users.yaml"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("ROSTER_SCIM_URL"), "{stderr}");
    let (code, _, stderr) = run(roster(None, &root())
        .env("ROSTER_SCIM_URL", "https://api.productboard.com/scim/v2")
        .args(["plan", "examples/users.yaml"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("ROSTER_SCIM_TOKEN"), "{stderr}");
}

#[test]
fn an_invalid_file_stops_plan_before_any_request() {
    // The URL points at a port nothing listens on: a request would fail differently.
    let (code, _, stderr) = run(roster(None, &root())
        .env("ROSTER_SCIM_URL", "http://127.0.0.1:9/scim/v2")
        .env("ROSTER_SCIM_TOKEN", "t")
        .args(["plan", "examples/invalid/unknown-key.yaml"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("nothing was sent"), "{stderr}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, _) = run(roster(None, &root()).args(["completions", shell]));
        assert_eq!(code, 0);
        assert!(stdout.contains("roster"), "{shell}");
        assert!(stdout.contains("validate"), "{shell}");
    }
}

#[test]
fn the_demo_converges() {
    // The README's first command.
    let (code, stdout, stderr) = run(roster(None, &root()).arg("demo"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("converged"), "{stderr}");
    assert!(stderr.contains("0 of them a user DELETE"), "{stderr}");
    assert!(stdout.contains("Plan: no changes."), "{stdout}");
}

#[test]
fn usage_errors_exit_1_never_the_changes_code() {
    for args in [
        vec!["plan", "--detailed-exitcod"],
        vec!["plan", "--format", "yaml"],
        vec!["no-such-command"],
        vec![],
        vec!["apply", "users.yaml", "--plan", "plan.json"],
        vec!["apply", "--plan", "plan.json", "--allow-deactivations", "3"],
        vec!["plan", "--max-rps", "0"],
        vec!["emulator", "--rate-limit", "1000/hour"],
        vec!["emulator", "--rate-limit", "0/s"],
        vec!["emulator", "--rate-headers", "github"],
    ] {
        let (code, _, stderr) = run(roster(None, &root()).args(&args));
        assert_eq!(code, 1, "roster {}: {stderr}", args.join(" "));
    }
    let (code, stdout, _) = run(roster(None, &root()).arg("--help"));
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage"));
}

#[test]
fn a_flood_of_problems_is_counted_not_all_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("version: 1\nusers:\n");
    for n in 0..300 {
        file.push_str(&format!("  - userName: not-an-email-{n}\n"));
    }
    std::fs::write(dir.path().join("users.yaml"), file).unwrap();
    let (code, stdout, stderr) = run(roster(None, dir.path()).env("GITHUB_ACTIONS", "true").arg("validate"));
    assert_eq!(code, 1);
    assert!(stderr.contains("… and 200 more problems, not shown"), "{stderr}");
    assert!(stderr.contains("300 problems in users.yaml"), "{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("::error ")).count(), 100);
}
