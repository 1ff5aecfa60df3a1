//! `roster --version` names the version and the commit, and the build script that finds
//! the commit works without git.

#![allow(missing_docs)]

use std::process::Command;

#[allow(dead_code, reason = "the build script's `main` is not run here; its functions are")]
#[path = "../build.rs"]
mod build;

#[test]
fn version_names_the_package_version_and_the_commit_built_from() {
    let output = Command::new(env!("CARGO_BIN_EXE_roster")).arg("--version").output().unwrap();
    assert!(output.status.success(), "roster --version failed: {output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.trim_end();
    let prefix = format!("roster {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version output: {line:?}"));
    assert!(commit == "unknown" || build::is_commit_id(commit), "not a commit id: {commit:?}");

    // Built from a git checkout of roster (as the tests are, here and in CI) and not
    // told otherwise, it is the checkout's HEAD.
    if std::env::var_os("ROSTER_BUILD_COMMIT").is_none() {
        let head = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned());
        if let Some(head) = head {
            assert_eq!(commit, head);
        }
    }

    // A subcommand prints the same line.
    let output = Command::new(env!("CARGO_BIN_EXE_roster")).args(["plan", "--version"]).output().unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim_end(),
        line.replacen("roster ", "roster-plan ", 1)
    );
}

#[test]
fn without_git_the_commit_is_unknown() {
    let no_git = |_: &[&str]| None;
    assert_eq!(build::commit(None, &no_git).unwrap(), "unknown");
    assert!(build::git_watch_paths(&no_git).is_empty());
    assert_eq!(build::version_line("1.2.3", "unknown"), "1.2.3 (commit unknown)");
}

#[test]
fn a_repository_that_does_not_track_roster_lends_no_commit() {
    // `git ls-files --error-unmatch build.rs` fails: a tarball unpacked inside another
    // project's checkout.
    let other_repo = |args: &[&str]| match args {
        ["rev-parse", "HEAD"] => Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        _ => None,
    };
    assert_eq!(build::commit(None, &other_repo).unwrap(), "unknown");
}

#[test]
fn a_checkout_of_roster_gives_its_head() {
    let head = "89abcdef0123456789abcdef0123456789abcdef";
    let checkout = |args: &[&str]| match args {
        ["ls-files", "--error-unmatch", "build.rs"] => Some("build.rs".to_owned()),
        ["rev-parse", "HEAD"] => Some(head.to_owned()),
        _ => None,
    };
    assert_eq!(build::commit(None, &checkout).unwrap(), head);
    // A HEAD that is no commit yet (a fresh `git init`) is unknown, not garbage.
    let unborn = |args: &[&str]| match args {
        ["ls-files", "--error-unmatch", "build.rs"] => Some("build.rs".to_owned()),
        ["rev-parse", "HEAD"] => Some("HEAD".to_owned()),
        _ => None,
    };
    assert_eq!(build::commit(None, &unborn).unwrap(), "unknown");
}

#[test]
fn the_override_wins_and_must_be_a_commit_id() {
    let checkout = |_: &[&str]| Some("ffffffffffffffffffffffffffffffffffffffff".to_owned());
    assert_eq!(build::commit(Some("ABCDEF1234567".into()), &checkout).unwrap(), "abcdef1234567");
    assert_eq!(
        build::commit(Some("  ".into()), &checkout).unwrap(),
        "ffffffffffffffffffffffffffffffffffffffff"
    );
    let err = build::commit(Some("main; rm -rf /".into()), &checkout).unwrap_err();
    assert!(err.contains("ROSTER_BUILD_COMMIT") && err.contains("\"main; rm -rf /\""), "{err}");
    assert!(build::commit(Some("abc12".into()), &checkout).is_err(), "too short");
}
