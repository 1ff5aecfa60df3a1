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

/// The "Run roster" step with these inputs, then "Report the outcome" on its exit code.
fn action(dir: &Path, server: Option<&Server>, command: &str, files: &str, allow: &str) -> (Ran, Ran) {
    let inputs = [("INPUT_COMMAND", command), ("INPUT_FILES", files), ("INPUT_ALLOW_DEACTIVATIONS", allow)];
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
    let (plan, report) = action(dir.path(), Some(&server), "plan", "users.yaml", "");
    assert_eq!(plan.outputs["exit-code"], "2");
    assert!(plan.summary.starts_with("### roster plan"), "{}", plan.summary);
    assert!(Path::new(&plan.outputs["plan-file"]).is_file(), "plan --out was written");
    assert_eq!(report.code, 0);
    assert!(report.stdout.contains("::notice title=roster plan::changes pending"), "{}", report.stdout);
    assert!(server.writes().is_empty(), "plan sent a write: {:?}", server.writes());

    // Apply: exit 0, the report written where the output says.
    let (apply, report) = action(dir.path(), Some(&server), "apply", "users.yaml", "");
    assert_eq!(apply.outputs["exit-code"], "0", "{}", apply.summary);
    assert!(Path::new(&apply.outputs["report-file"]).is_file());
    assert!(apply.summary.starts_with("### roster apply"));
    assert_eq!(report.code, 0);

    // And the plan is clean.
    let (plan, report) = action(dir.path(), Some(&server), "plan", "users.yaml", "");
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
    let (plan, report) = action(dir.path(), Some(&server), "plan", "only.yaml", "");
    assert_eq!(plan.outputs["exit-code"], "3", "{}", plan.summary);
    assert_eq!(report.code, 3);
    assert!(report.stdout.contains("::error title=roster plan blocked::"), "{}", report.stdout);
    assert!(server.writes().is_empty());

    std::fs::write(dir.path().join("bad.yaml"), "version: 1\nusers:\n  - userName: not-an-email\n").unwrap();
    let (validate, report) = action(dir.path(), None, "validate", "bad.yaml", "");
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
    let (validate, _) = action(dir.path(), None, "validate", "users.yaml\nsecond.yaml\n", "");
    assert_eq!(validate.outputs["exit-code"], "1");
    assert!(validate.summary.contains("second.yaml"), "{}", validate.summary);
    // A glob or a command substitution is a file name, not shell.
    let (validate, _) = action(dir.path(), None, "validate", "*.yaml $(touch pwned)", "");
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
