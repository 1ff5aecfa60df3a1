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
    // The two-app part: one removed line, both apps.
    assert!(
        stdout.contains("sam.wilde@lumenlabs.example loses access to 2 apps: miro, productboard"),
        "{stdout}"
    );
    assert!(stderr.contains("converged: Sam is deactivated in miro and productboard"), "{stderr}");
    // The demo reads its own example file: no warning about the folders beside it.
    assert!(!stderr.contains("WARN") && !stderr.contains("not reading"), "{stderr}");
}

#[test]
fn usage_errors_exit_1_never_the_changes_code() {
    for args in [
        vec!["plan", "--detailed-exitcod"],
        vec!["plan", "--format", "yaml"],
        vec!["no-such-command"],
        vec![],
        vec!["apply", "users.yaml", "--plan", "plan.json"],
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

#[test]
fn a_null_users_or_members_says_what_each_choice_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\nusers:\ngroups:\n  - displayName: Eng\n    members:\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(roster(None, dir.path()).arg("validate"));
    assert_eq!(code, 1);
    insta::assert_snapshot!(snapshot_of(code, &stdout, &stderr));
}

/// A saved plan of a team emptied by the file (two removals), with or without the
/// override, made through the library as `roster plan --out` makes it.
fn saved_plan(allow_removals: Option<u64>) -> roster_plan::SavedPlan {
    let desired = roster_spec::load(&[roster_spec::SourceFile::new(
        "users.yaml",
        "version: 1\npolicy:\n  max_removals: 1\nusers:\n  - userName: ada@example.com\n  - userName: bob@example.com\ngroups:\n  - displayName: Eng\n    members: []\n",
    )])
    .unwrap();
    let live: roster_model::LiveState = serde_json::from_str(
        r#"{"users": [{"id": "u1", "userName": "ada@example.com", "active": true},
                      {"id": "u2", "userName": "bob@example.com", "active": true}],
            "groups": [{"id": "g1", "displayName": "Eng", "members": ["u1", "u2"]}]}"#,
    )
    .unwrap();
    let options = roster_plan::PlanOptions { allow_removals, ..roster_plan::PlanOptions::default() };
    roster_plan::SavedPlan::new(roster_plan::plan(&desired, &live, &options), desired)
}

#[test]
fn apply_refuses_an_edited_or_blocked_saved_plan_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: &serde_json::Value| {
        std::fs::write(dir.path().join(name), serde_json::to_string_pretty(value).unwrap()).unwrap();
    };
    let blocked = serde_json::to_value(saved_plan(None)).unwrap();
    write("blocked.json", &blocked);
    let mut edited = serde_json::to_value(saved_plan(Some(2))).unwrap();
    edited["operations"][0]["members"].as_array_mut().unwrap().pop();
    write("edited.json", &edited);

    let mut outputs = String::new();
    for name in ["blocked.json", "edited.json"] {
        // No URL and no token: a refusal needs no service.
        let (code, stdout, stderr) =
            run(roster(None, dir.path()).args(["apply", "--plan", name, "--allow-removals", "2"]));
        assert_eq!(code, 1, "{stderr}");
        outputs.push_str(&format!("$ roster apply --plan {name} --allow-removals 2\n"));
        outputs.push_str(&snapshot_of(code, &stdout, &stderr));
    }
    insta::assert_snapshot!(outputs);
}

#[test]
fn validate_says_what_an_empty_users_and_a_team_without_members_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), "version: 1\nusers: []\ngroups:\n  - displayName: Eng\n")
        .unwrap();
    let (code, stdout, stderr) = run(roster(None, dir.path()).arg("validate"));
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(snapshot_of(code, &stdout, &stderr));
}

#[test]
fn the_shipped_ci_files_add_no_second_caution_banner() {
    // roster's Markdown carries the one caution banner of a blocked plan; a workflow
    // or the Action printing its own would show two.
    for file in [
        "examples/github/roster-plan.yml",
        "examples/github/roster-drift.yml",
        "examples/gitlab/.gitlab-ci.yml",
        "action.yml",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(!text.to_lowercase().contains("[!caution]"), "{file} adds a caution banner of its own");
    }
}

#[test]
fn roster_validate_agrees_with_the_schema_cases() {
    // `cargo xtask lint` checks the same files with check-jsonschema: what the schema
    // refuses, roster refuses too, and the other way round.
    for (dir, expected) in [("tests/schema/valid", 0), ("tests/schema/invalid", 1)] {
        let mut files: Vec<_> =
            std::fs::read_dir(root().join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(files.len() >= 2, "{dir} holds cases");
        for file in files {
            let (code, _, stderr) = run(roster(None, &root()).arg("validate").arg(&file));
            assert_eq!(code, expected, "{}: {stderr}", file.display());
        }
    }
}

#[test]
fn the_schema_role_enum_is_productboards_builtin_roles() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/roster.schema.json")).unwrap())
            .unwrap();
    let roles = &schema["else"]["properties"]["users"]["items"]["properties"]["role"]["enum"];
    let builtin = roster_model::Provider::Productboard.builtin_roles().unwrap();
    assert_eq!(roles, &serde_json::json!(builtin), "{schema:#}");
}

#[test]
fn roster_schema_prints_and_writes_the_generated_schema() {
    let committed = std::fs::read_to_string(root().join("schemas/roster.schema.json")).unwrap();
    let (code, stdout, _) = run(roster(None, &root()).arg("schema"));
    assert_eq!(code, 0);
    assert_eq!(stdout, committed, "`roster schema` prints schemas/roster.schema.json of this version");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(roster(None, dir.path()).args(["schema", "--out", "roster.schema.json"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("roster.schema.json")).unwrap(), committed);
}

/// `roster validate` as an unprivileged user: as root (where tests and CI run),
/// permissions would not stop any read, so the run drops to `nobody` with `setpriv`.
fn validate_unprivileged(dir: &Path, target: &Path) -> (i32, String, String) {
    let is_root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");
    let mut command = if is_root {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_roster")]);
        command
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
    };
    command.current_dir(dir).stdin(std::process::Stdio::null()).env("NO_COLOR", "1");
    run(command.arg("validate").arg(target))
}

#[test]
fn directory_entries_that_cannot_be_read_fail_the_run_with_their_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::create_dir(&users).unwrap();
    std::fs::write(users.join("a.yaml"), "version: 1\nusers:\n  - userName: ada@example.com\n").unwrap();
    for path in [dir.path(), users.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let valid = run(roster(None, dir.path()).args(["validate", "users"]));
    assert_eq!(valid.0, 0, "{}", valid.2);

    // A broken link, a link to itself, a FIFO and a file without read permission: each
    // fails the run and is named; none is skipped.
    std::os::unix::fs::symlink("gone.yaml", users.join("broken.yaml")).unwrap();
    let (code, _, stderr) = run(roster(None, dir.path()).args(["validate", "users"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("users/broken.yaml"), "{stderr}");
    std::fs::remove_file(users.join("broken.yaml")).unwrap();

    std::os::unix::fs::symlink("loop.yaml", users.join("loop.yaml")).unwrap();
    let (code, _, stderr) = run(roster(None, dir.path()).args(["validate", "users"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("users/loop.yaml"), "{stderr}");
    std::fs::remove_file(users.join("loop.yaml")).unwrap();

    assert!(std::process::Command::new("mkfifo").arg(users.join("pipe.yaml")).status().unwrap().success());
    let (code, _, stderr) = run(roster(None, dir.path()).args(["validate", "users"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("users/pipe.yaml is a FIFO, not a regular file"), "{stderr}");
    std::fs::remove_file(users.join("pipe.yaml")).unwrap();

    let secret = users.join("secret.yaml");
    std::fs::write(&secret, "version: 1\nusers:\n  - userName: grace@example.com\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (code, _, stderr) = validate_unprivileged(dir.path(), Path::new("users"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("users/secret.yaml") && stderr.contains("ermission denied"), "{stderr}");
    let (code, _, stderr) = validate_unprivileged(dir.path(), Path::new("users/a.yaml"));
    assert_eq!(code, 0, "the readable file alone is fine: {stderr}");
}

#[test]
fn special_files_are_refused_and_content_is_never_echoed() {
    let secret = "pb_scim_N0tForOutput_9f8e7d6c5b4a";
    let dir = tempfile::tempdir().unwrap();
    for special in ["/dev/null", "/proc/self/environ"] {
        let (code, stdout, stderr) =
            run(roster(None, dir.path()).env("ROSTER_SCIM_TOKEN", secret).args(["validate", special]));
        assert_eq!(code, 1, "{special}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{special}: {stderr}");
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{stderr}");
    }
    // Not UTF-8: the place of the first invalid byte, and nothing of the content.
    std::fs::write(
        dir.path().join("latin1.yaml"),
        b"version: 1\nusers:\n  - userName: caf\xe9@example.com\n",
    )
    .unwrap();
    let (code, _, stderr) = run(roster(None, dir.path()).args(["validate", "latin1.yaml"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("latin1.yaml:3:18: not UTF-8 text"), "{stderr}");
    assert!(!stderr.contains("caf"), "{stderr}");
    // The token file named where the desired state belongs.
    std::fs::write(dir.path().join("token"), format!("{secret}\n")).unwrap();
    let (code, stdout, stderr) =
        run(roster(None, dir.path()).env("ROSTER_SCIM_TOKEN", secret).args(["validate", "token"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not a desired-state file"), "{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret), "{stderr}");
    // The token inside a desired-state file, where messages quote it.
    std::fs::write(
        dir.path().join("users.yaml"),
        format!("version: 1\nusers:\n  - userName: {secret}\n    role: {secret}\n"),
    )
    .unwrap();
    let (code, stdout, stderr) = run(roster(None, dir.path())
        .env("ROSTER_SCIM_TOKEN", secret)
        .env("GITHUB_ACTIONS", "true")
        .args(["validate", "users.yaml"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("malformed email `***`"), "{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret), "{stdout}{stderr}");
}

#[test]
fn validate_judges_max_access_days_on_the_as_of_day() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\npolicy:\n  max_access_days: 30\nusers:\n  - userName: contractor@example.com\n    expires: 2027-01-15\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(roster(None, dir.path()).args(["validate", "--as-of", "2026-12-01"]));
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(snapshot_of(code, &stdout, &stderr));
    let (code, _, stderr) = run(roster(None, dir.path()).args(["validate", "--as-of", "2026-12-16"]));
    assert_eq!(code, 0, "exactly 30 days ahead is allowed: {stderr}");
    let (code, _, stderr) = run(roster(None, dir.path()).args(["validate", "--as-of", "2026-02-30"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("no such day: 2026-02-30"), "{stderr}");
}
