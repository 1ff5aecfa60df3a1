//! The GitHub Action (`action.yml` at the root): its "Run roster" and "Report the outcome"
//! steps, the `run:` scripts as written in the file, run with bash the way a runner runs
//! them (inputs in the environment, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) against an
//! emulator, with the real binary in place of the downloaded one.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use roster_emulator::EmulatorConfig;
use support::{Server, TOKEN, demo_seed, root, workdir_with_example};

/// The `run:` script of the step of `action.yml` with this id or name.
fn step(id_or_name: &str) -> String {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id_or_name || s["name"] == id_or_name)
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("action.yml has no step {id_or_name:?} with a script"))
        .to_owned()
}

/// What one step left behind.
struct Ran {
    code: i32,
    stdout: String,
    outputs: BTreeMap<String, String>,
    summary: String,
}

/// Runs a step's script in `dir` as a runner would, with `inputs` as its env.
fn run_step(script: &str, dir: &Path, server: Option<&Server>, env: &[(&str, &str)]) -> Ran {
    let github = dir.join(".github-files");
    std::fs::create_dir_all(github.join("temp")).unwrap();
    for file in ["output", "summary", "path"] {
        std::fs::write(github.join(file), "").unwrap();
    }
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env_remove("ROSTER_SCIM_URL")
        .env_remove("ROSTER_SCIM_TOKEN")
        .env_remove("ROSTER_API_URL")
        .env_remove("ROSTER_API_TOKEN")
        .env_remove("GITHUB_SHA")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", github.join("temp"))
        .env("GITHUB_OUTPUT", github.join("output"))
        .env("GITHUB_STEP_SUMMARY", github.join("summary"))
        .env("GITHUB_PATH", github.join("path"))
        .env("ROSTER", env!("CARGO_BIN_EXE_roster"))
        .envs(env.iter().copied());
    if let Some(server) = server {
        command.env("ROSTER_SCIM_URL", server.url()).env("ROSTER_SCIM_TOKEN", TOKEN);
    }
    let output = command.output().unwrap();
    let outputs = std::fs::read_to_string(github.join("output"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        outputs,
        summary: std::fs::read_to_string(github.join("summary")).unwrap(),
    }
}

/// The "Run roster" step with these inputs (and `more`, like `("INPUT_ALLOW_REMOVALS", "2")`),
/// then "Report the outcome" on its exit code.
fn action(
    dir: &Path,
    server: Option<&Server>,
    command: &str,
    files: &str,
    more: &[(&str, &str)],
) -> (Ran, Ran) {
    let mut inputs = vec![
        ("INPUT_COMMAND", command),
        ("INPUT_FILES", files),
        ("INPUT_ALLOW_DEACTIVATIONS", ""),
        ("INPUT_ALLOW_REMOVALS", ""),
        ("INPUT_FOR_COMMIT", ""),
    ];
    inputs.extend_from_slice(more);
    let ran = run_step(&step("run"), dir, server, &inputs);
    assert_eq!(ran.code, 0, "the Run step itself never fails; the Report step does: {}", ran.stdout);
    let code = ran.outputs.get("exit-code").expect("exit-code output").clone();
    let report = run_step(
        &step("Report the outcome"),
        dir,
        None,
        &[("INPUT_COMMAND", command), ("CODE", code.as_str())],
    );
    (ran, report)
}

#[test]
fn plan_apply_and_plan_again_through_the_action() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = workdir_with_example();

    // Changes pending: exit 2 passes, with a notice; the plan is the job summary.
    let (plan, report) = action(dir.path(), Some(&server), "plan", "users.yaml", &[]);
    assert_eq!(plan.outputs["exit-code"], "2");
    assert!(plan.summary.starts_with("### roster plan"), "{}", plan.summary);
    assert!(Path::new(&plan.outputs["plan-file"]).is_file(), "plan --out was written");
    assert_eq!(report.code, 0);
    assert!(report.stdout.contains("::notice title=roster plan::changes pending"), "{}", report.stdout);
    assert!(server.writes().is_empty(), "plan sent a write: {:?}", server.writes());

    // Apply: exit 0, the report written where the output says.
    let (apply, report) = action(dir.path(), Some(&server), "apply", "users.yaml", &[]);
    assert_eq!(apply.outputs["exit-code"], "0", "{}", apply.summary);
    assert!(Path::new(&apply.outputs["report-file"]).is_file());
    assert!(apply.summary.starts_with("### roster apply"));
    assert_eq!(report.code, 0);

    // And the plan is clean.
    let (plan, report) = action(dir.path(), Some(&server), "plan", "users.yaml", &[]);
    assert_eq!(plan.outputs["exit-code"], "0");
    assert!(report.stdout.contains("no changes"), "{}", report.stdout);

    for ran in [&plan, &apply] {
        assert!(!ran.summary.contains(TOKEN) && !ran.stdout.contains(TOKEN), "the token leaked");
    }
    server.assert_no_user_delete();
}

#[test]
fn a_blocked_plan_and_a_bad_file_fail_with_an_annotation() {
    let server = Server::seeded(EmulatorConfig::default(), &demo_seed());
    let dir = tempfile::tempdir().unwrap();
    // One user in the file: everyone else live would be deactivated, past a rail of 0.
    std::fs::write(
        dir.path().join("only.yaml"),
        "version: 1\npolicy:\n  max_deactivations: 0\nusers:\n  - userName: someone.new@example.com\n",
    )
    .unwrap();
    let (plan, report) = action(dir.path(), Some(&server), "plan", "only.yaml", &[]);
    assert_eq!(plan.outputs["exit-code"], "3", "{}", plan.summary);
    assert_eq!(report.code, 3);
    assert!(report.stdout.contains("::error title=roster plan blocked::"), "{}", report.stdout);
    assert!(server.writes().is_empty());

    std::fs::write(dir.path().join("bad.yaml"), "version: 1\nusers:\n  - userName: not-an-email\n").unwrap();
    let (validate, report) = action(dir.path(), None, "validate", "bad.yaml", &[]);
    assert_eq!(validate.outputs["exit-code"], "1");
    // The error, with its file and line, is in the job summary.
    assert!(validate.summary.contains("bad.yaml:3:"), "{}", validate.summary);
    assert_eq!(report.code, 1);
    assert!(report.stdout.contains("::error title=roster validate failed::"), "{}", report.stdout);
}

#[test]
fn files_are_split_on_white_space_and_never_expanded() {
    let dir = workdir_with_example();
    std::fs::copy(dir.path().join("users.yaml"), dir.path().join("second.yaml")).unwrap();
    // Two files given, one per line: both are read (and clash, which proves it).
    let (validate, _) = action(dir.path(), None, "validate", "users.yaml\nsecond.yaml\n", &[]);
    assert_eq!(validate.outputs["exit-code"], "1");
    assert!(validate.summary.contains("second.yaml"), "{}", validate.summary);
    // A glob or a command substitution is a file name, not shell.
    let (validate, _) = action(dir.path(), None, "validate", "*.yaml $(touch pwned)", &[]);
    assert_eq!(validate.outputs["exit-code"], "1");
    assert!(!dir.path().join("pwned").exists());
    assert!(validate.summary.contains("*.yaml"), "{}", validate.summary);
}

/// The "Download and verify roster" step against a stand-in release folder: `curl` and
/// `gh` on PATH are scripts (no network here); `gh_verifies` is what the stand-in
/// `gh attestation verify` answers, `None` for a gh without that command.
fn download(release: &Path, sums: &str, gh_verifies: Option<bool>) -> (Ran, tempfile::TempDir) {
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path();
    let bin = work.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let curl = format!(
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in --output) out=$2; shift 2;; --proto|--retry) shift 2;; -*) shift;; *) url=$1; shift;; esac; done\ncp \"{}/${{url##*/}}\" \"$out\"\n",
        release.display()
    );
    let gh = match gh_verifies {
        None => "#!/bin/sh\nexit 1\n".to_owned(),
        Some(ok) => format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"attestation verify\" ] || exit 1\n[ \"$3\" = --help ] && exit 0\necho \"gh $*\" >> {}/gh.log\nexit {}\n",
            work.display(),
            if ok { 0 } else { 1 }
        ),
    };
    for (name, body) in [("curl", curl), ("gh", gh)] {
        std::fs::write(bin.join(name), body).unwrap();
        Command::new("chmod").arg("+x").arg(bin.join(name)).status().unwrap();
    }
    let install = work.join("install");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let ran = run_step(
        &step("Download and verify roster"),
        work,
        None,
        &[
            ("PATH", path.as_str()),
            ("URL", "https://github.com/owner/roster/releases/download/v0.1.0"),
            ("ARCHIVE", "roster-0.1.0-x86_64-unknown-linux-musl.tar.gz"),
            ("SUMS", sums),
            ("BINARY", "roster"),
            ("DIR", install.to_str().unwrap()),
            ("REPOSITORY", "owner/roster"),
            ("GH_TOKEN", "not-a-real-token"),
        ],
    );
    (ran, scratch)
}

#[test]
fn the_download_is_installed_only_when_its_sha256_and_provenance_hold() {
    // A release folder: the archive with the real binary, and the sums file.
    let release = tempfile::tempdir().unwrap();
    let archive = "roster-0.1.0-x86_64-unknown-linux-musl.tar.gz";
    std::fs::copy(env!("CARGO_BIN_EXE_roster"), release.path().join("roster")).unwrap();
    let tar =
        Command::new("tar").args(["-czf", archive, "roster"]).current_dir(release.path()).status().unwrap();
    assert!(tar.success());
    let sum = Command::new("sha256sum").arg(archive).current_dir(release.path()).output().unwrap();
    std::fs::write(release.path().join("roster-0.1.0-SHA256SUMS"), &sum.stdout).unwrap();
    std::fs::write(release.path().join("other-SHA256SUMS"), "0000  some-other-file.tar.gz\n").unwrap();

    // Sum and provenance hold: installed, and the attestation was asked about the archive.
    let (ran, scratch) = download(release.path(), "roster-0.1.0-SHA256SUMS", Some(true));
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let work = scratch.path();
    let installed = work.join("install/roster");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("roster "));
    let gh_log = std::fs::read_to_string(work.join("gh.log")).unwrap();
    assert_eq!(gh_log.trim(), format!("gh attestation verify {archive} --repo owner/roster"));

    // A gh without `attestation verify`: installed on the SHA-256 alone, with a warning.
    let (ran, scratch) = download(release.path(), "roster-0.1.0-SHA256SUMS", None);
    assert_eq!(ran.code, 0);
    assert!(ran.stdout.contains("::warning title=roster::"), "{}", ran.stdout);
    assert!(scratch.path().join("install/roster").is_file());

    // Provenance that does not verify: nothing installed.
    let (ran, scratch) = download(release.path(), "roster-0.1.0-SHA256SUMS", Some(false));
    assert_ne!(ran.code, 0);
    assert!(ran.stdout.contains("no valid build provenance"), "{}", ran.stdout);
    assert!(!scratch.path().join("install").exists());

    // A sums file without the archive's line: nothing installed.
    let (ran, scratch) = download(release.path(), "other-SHA256SUMS", Some(true));
    assert_ne!(ran.code, 0);
    assert!(ran.stdout.contains("has no line for"), "{}", ran.stdout);
    assert!(!scratch.path().join("install").exists());

    // An archive that is not the one summed: nothing installed, provenance not even asked.
    let mut bytes = std::fs::read(release.path().join(archive)).unwrap();
    bytes.push(0);
    std::fs::write(release.path().join(archive), bytes).unwrap();
    let (ran, scratch) = download(release.path(), "roster-0.1.0-SHA256SUMS", Some(true));
    assert_ne!(ran.code, 0);
    assert!(ran.stdout.contains("does not match its SHA-256"), "{}", ran.stdout);
    assert!(!scratch.path().join("install").exists() && !scratch.path().join("gh.log").exists());
}

/// A team of two whose file empties it, past `max_removals: 1`.
fn team_of_two() -> (Server, tempfile::TempDir) {
    let server = Server::start(EmulatorConfig::default());
    let state = server.emulator().state();
    let mut ids = Vec::new();
    for name in ["ada@example.com", "bob@example.com"] {
        let user =
            roster_model::UserAttributes { user_name: name.into(), active: true, ..Default::default() };
        ids.push(state.add_user(&user).unwrap());
    }
    state.add_group("Eng", None, &[ids[0].as_str(), ids[1].as_str()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\npolicy:\n  max_removals: 1\nusers:\n  - userName: ada@example.com\n  - userName: bob@example.com\ngroups:\n  - displayName: Eng\n    members: []\n",
    )
    .unwrap();
    (server, dir)
}

#[test]
fn a_plan_names_the_given_commit_and_allow_removals_passes_the_removal_rail() {
    let (server, dir) = team_of_two();
    let head = "0123456789abcdef0123456789abcdef01234567";

    // Past the rail: blocked, with roster's one caution banner, naming the given commit.
    let (plan, report) = action(dir.path(), Some(&server), "plan", "", &[("INPUT_FOR_COMMIT", head)]);
    assert_eq!(plan.outputs["exit-code"], "3", "{}", plan.summary);
    assert_eq!(plan.summary.matches("[!CAUTION]").count(), 1, "{}", plan.summary);
    assert!(plan.summary.contains(head), "the plan names the pull request's head: {}", plan.summary);
    assert_eq!(report.code, 3);
    assert!(report.stdout.contains("allow-removals"), "{}", report.stdout);

    // allow-removals with the exact number: changes pending, nothing blocked.
    let (plan, report) = action(dir.path(), Some(&server), "plan", "", &[("INPUT_ALLOW_REMOVALS", "2")]);
    assert_eq!(plan.outputs["exit-code"], "2", "{}", plan.summary);
    assert!(!plan.summary.contains("[!CAUTION]"), "{}", plan.summary);
    assert_eq!(report.code, 0);

    // And apply with it removes both members.
    let (apply, report) = action(dir.path(), Some(&server), "apply", "", &[("INPUT_ALLOW_REMOVALS", "2")]);
    assert_eq!(apply.outputs["exit-code"], "0", "{}", apply.summary);
    assert_eq!(report.code, 0);
    let groups = server.emulator().state().groups();
    assert!(groups[0]["members"].as_array().is_none_or(Vec::is_empty), "{groups:?}");

    // An override for a command without rails is ignored with a warning, not passed.
    let (validate, _) = action(dir.path(), None, "validate", "", &[("INPUT_ALLOW_REMOVALS", "2")]);
    assert_eq!(validate.outputs["exit-code"], "0", "{}", validate.summary);
    assert!(
        validate.stdout.contains("::warning title=roster::allow-removals applies to plan and apply only"),
        "{}",
        validate.stdout
    );
}

/// The "Post the plan" step with roster's output and exit code, `gh` a script that keeps
/// the body it is given (and lists no earlier comment); returns the posted comment.
fn posted_comment(plan_exit: &str, output: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path();
    let bin = work.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = format!(
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in body=@*) cp \"${{a#body=@}}\" {}/posted.md;; esac; done\n",
        work.display()
    );
    std::fs::write(bin.join("gh"), gh).unwrap();
    Command::new("chmod").arg("+x").arg(bin.join("gh")).status().unwrap();
    let output_file = work.join("output.md");
    std::fs::write(&output_file, output).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let ran = run_step(
        &step("Post the plan"),
        work,
        None,
        &[
            ("PATH", path.as_str()),
            ("GH_TOKEN", "not-a-real-token"),
            ("GITHUB_REPOSITORY", "owner/repo"),
            ("PR_NUMBER", "7"),
            ("PLAN_EXIT", plan_exit),
            ("OUTPUT_FILE", output_file.to_str().unwrap()),
            ("RUN_URL", "https://github.com/owner/repo/actions/runs/1"),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    std::fs::read_to_string(work.join("posted.md")).unwrap()
}

#[test]
fn the_comment_is_rosters_plan_as_it_is_also_after_exit_1_with_a_plan() {
    let (server, dir) = team_of_two();
    let (blocked, _) = action(dir.path(), Some(&server), "plan", "", &[]);
    assert_eq!(blocked.outputs["exit-code"], "3");
    let plan = std::fs::read_to_string(&blocked.outputs["output-file"]).unwrap();

    // Blocked: roster's plan with its one banner, after the marker; nothing added.
    let comment = posted_comment("3", &plan);
    assert_eq!(comment, format!("<!-- roster-plan -->\n{plan}"));
    assert_eq!(comment.matches("[!CAUTION]").count(), 1, "{comment}");
    // Exit 1 that still made a plan (an identity conflict, an incomplete view): posted.
    assert_eq!(posted_comment("1", &plan), format!("<!-- roster-plan -->\n{plan}"));
    // Exit 1 without a plan: the failure note, never a stale plan.
    let comment = posted_comment("1", "");
    assert!(comment.starts_with("<!-- roster-plan -->\n### roster plan failed\n"), "{comment}");
    assert!(comment.contains("https://github.com/owner/repo/actions/runs/1"), "{comment}");
}

#[test]
fn audit_findings_exit_2_and_pass_like_a_plans_changes() {
    const API_TOKEN: &str = "action-rest-api-token-3c1e";
    let server =
        Server::start(EmulatorConfig { api_token: Some(API_TOKEN.to_owned()), ..EmulatorConfig::default() });
    let user = roster_model::UserAttributes {
        user_name: "ada@example.com".into(),
        active: true,
        ..Default::default()
    };
    server.emulator().state().add_user(&user).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), "version: 1\nusers:\n  - userName: ada@example.com\n")
        .unwrap();
    let api_url = server.emulator().api_url();
    let api = [("ROSTER_API_URL", api_url.as_str()), ("ROSTER_API_TOKEN", API_TOKEN)];

    let (audit, report) = action(dir.path(), Some(&server), "audit", "", &api);
    assert_eq!(audit.outputs["exit-code"], "0", "{}", audit.summary);
    assert!(
        audit.summary.starts_with("## roster audit"),
        "roster's Markdown is the summary: {}",
        audit.summary
    );
    assert_eq!(report.code, 0);
    assert!(report.stdout.contains("::notice title=roster audit::no findings"), "{}", report.stdout);

    // A member invited by hand: findings, exit 2, which passes with a notice.
    server
        .emulator()
        .state()
        .add_rest_member(serde_json::json!({"email": "guest@agency.example", "role": "admin"}))
        .unwrap();
    let (audit, report) = action(dir.path(), Some(&server), "audit", "", &api);
    assert_eq!(audit.outputs["exit-code"], "2", "{}", audit.summary);
    assert!(audit.summary.contains("guest&#64;agency.example"), "{}", audit.summary);
    assert_eq!(report.code, 0);
    assert!(report.stdout.contains("::notice title=roster audit::findings"), "{}", report.stdout);
    for secret in [TOKEN, API_TOKEN] {
        assert!(!audit.summary.contains(secret) && !audit.stdout.contains(secret), "a token leaked");
    }
    assert!(server.writes().is_empty(), "audit wrote: {:?}", server.writes());

    // Without the REST token roster cannot audit: exit 1 fails the step.
    let (audit, report) = action(dir.path(), Some(&server), "audit", "", &[]);
    assert_eq!(audit.outputs["exit-code"], "1", "{}", audit.summary);
    assert_eq!(report.code, 1);
}
