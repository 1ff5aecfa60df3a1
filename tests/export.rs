//! End to end: `roster export` from a git repository the test builds (fixed authors and
//! dates, several commits, an uncommitted edit), outside git, against formula injection,
//! and with `--live` against the emulator.

mod support;

use std::path::Path;
use std::process::Command;

use roster_emulator::{EmulatorConfig, Misbehaviour};
use roster_model::UserAttributes;
use serde_json::Value;
use support::{Server, TOKEN, roster, run};

/// Runs git in `dir` as `author` at `date`, with no configuration of this machine.
fn git(dir: &Path, author: &str, date: &str, args: &[&str]) {
    let (name, email) = author.split_once(" <").map(|(n, e)| (n, e.trim_end_matches('>'))).unwrap();
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Writes `users.yaml` and commits it.
fn commit(dir: &Path, text: &str, author: &str, date: &str, message: &str) {
    std::fs::write(dir.join("users.yaml"), text).unwrap();
    git(dir, author, date, &["add", "users.yaml"]);
    git(dir, author, date, &["commit", "-q", "-m", message]);
}

const FIRST: &str = "\
version: 1
provider: productboard
users:
  - userName: ada@lumen.example
    displayName: Ada Lovelace
    role: admin
    reason: runs the workspace
    approved_by: cto@lumen.example
    ticket: IT-1
  - userName: bob@lumen.example
    displayName: Bob Stone
    role: maker

  - userName: cy@lumen.example
    role: viewer
    expires: 2026-03-01
groups:
  - displayName: Product
    members: [ada@lumen.example, BOB@lumen.example]
";

/// The second version: bob becomes an admin for on-call duty, dee arrives.
fn second() -> String {
    FIRST
        .replace(
            "    role: maker\n",
            "    role: admin\n    reason: \"on call, Q2\"\n    review_after: 2026-06-30\n",
        )
        .replace(
            "groups:\n",
            "  - userName: dee@lumen.example\n    displayName: Dee\n    role: contributor\n    \
             approved_by: ada@lumen.example\ngroups:\n",
        )
}

/// The third version: zed leaves (a tombstone), a Design team with a membership's reason.
fn third() -> String {
    second().replace("groups:\n", "  - userName: zed@lumen.example\n    active: false\ngroups:\n")
        + "  - displayName: Design\n    members:\n      - ada@lumen.example\n      \
           - { userName: dee@lumen.example, reason: pairing }\n"
}

/// A repository with three commits by three authors, then an uncommitted edit of dee.
fn fixture_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(
        dir.path(),
        "Ann Admin <ann@lumen.example>",
        "2026-01-05T09:00:00+01:00",
        &["init", "-q", "-b", "main"],
    );
    commit(dir.path(), FIRST, "Ann Admin <ann@lumen.example>", "2026-01-05T09:00:00+01:00", "first users");
    commit(
        dir.path(),
        &second(),
        "Bea Builder <bea@lumen.example>",
        "2026-02-10T12:30:00-05:00",
        "bob on call, dee",
    );
    commit(
        dir.path(),
        &third(),
        "Cyd Clerk <cyd@lumen.example>",
        "2026-03-15T18:00:00Z",
        "design team, zed leaves",
    );
    let edited = third().replace("    displayName: Dee\n", "    displayName: Dee Diaz\n");
    std::fs::write(dir.path().join("users.yaml"), edited).unwrap();
    dir
}

/// `roster export` in `dir`, with no git configuration of this machine.
fn export(server: Option<&Server>, dir: &Path) -> Command {
    let mut command = roster(server, dir);
    command.env("GIT_CONFIG_GLOBAL", "/dev/null").env("GIT_CONFIG_NOSYSTEM", "1").arg("export");
    command
}

/// The export's JSON with its `generatedAt` checked and pinned, for a snapshot.
fn pinned(stdout: &str) -> Value {
    let mut document: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let generated = document["generatedAt"].as_str().unwrap();
    assert!(generated.parse::<jiff::Timestamp>().is_ok() && generated.ends_with('Z'), "{generated}");
    document["generatedAt"] = "<now>".into();
    document
}

#[test]
fn csv_from_a_repository_names_the_commit_of_each_entry() {
    let dir = fixture_repository();
    let (code, stdout, stderr) =
        run(export(None, dir.path()).args(["--format", "csv", "--as-of", "2026-04-01"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("exported 5 rows; git history for 5 of 5"), "{stderr}");
    assert!(stdout.contains("\r\n") && !stdout.replace("\r\n", "").contains('\n'), "CRLF records");
    insta::assert_snapshot!("export_csv", stdout);
}

#[test]
fn json_from_a_repository_is_the_versioned_document() {
    let dir = fixture_repository();
    let out = dir.path().join("review.json");
    let (code, stdout, stderr) = run(export(None, dir.path()).args([
        "--format",
        "json",
        "--as-of",
        "2026-04-01",
        "--out",
        "review.json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("exported 5 rows to review.json"), "{stderr}");
    let text = std::fs::read_to_string(out).unwrap();
    insta::assert_json_snapshot!("export_json", pinned(&text));
    // Run after run, the same rows.
    let (_, again, _) = run(export(None, dir.path()).args(["--format", "json", "--as-of", "2026-04-01"]));
    assert_eq!(pinned(&again), pinned(&text));
}

#[test]
fn a_shallow_clone_names_no_commit_for_history_it_lacks() {
    let origin = fixture_repository();
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(
        clone.path(),
        "Ann <ann@lumen.example>",
        "2026-01-05T09:00:00Z",
        &["clone", "-q", "--depth", "2", &url, "."],
    );
    let (code, stdout, stderr) =
        run(export(None, clone.path()).args(["--format", "json", "--as-of", "2026-04-01"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("shallow clone") && stderr.contains("fetch-depth: 0"), "{stderr}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    let authors: Vec<(&str, &Value)> = document["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["userName"].as_str().unwrap(), &r["author"]))
        .collect();
    // Only the newest commit is whole; the edge of the clone stands for older history.
    assert_eq!(
        authors,
        [
            ("ada@lumen.example", &Value::Null),
            ("bob@lumen.example", &Value::Null),
            ("cy@lumen.example", &Value::Null),
            ("dee@lumen.example", &Value::Null),
            ("zed@lumen.example", &Value::from("Cyd Clerk <cyd@lumen.example>")),
        ]
    );
}

#[test]
fn outside_git_the_git_columns_are_empty_without_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), FIRST).unwrap();
    let check = |command: &mut Command, why: &str| {
        let (code, stdout, stderr) = run(command.args(["--format", "json", "--as-of", "2026-04-01"]));
        assert_eq!(code, 0, "{why}: {stderr}");
        assert!(stderr.contains("no git history found"), "{why}: {stderr}");
        let document: Value = serde_json::from_str(&stdout).unwrap();
        let rows = document["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "{why}");
        for row in rows {
            for column in ["commit", "author", "date"] {
                assert_eq!(row[column], Value::Null, "{why}: {column} of {row}");
            }
        }
    };
    check(&mut export(None, dir.path()), "not a repository");
    // git missing: nothing on PATH.
    let empty = tempfile::tempdir().unwrap();
    check(export(None, dir.path()).env("PATH", empty.path()), "no git");
    // A repository whose users.yaml is untracked (and one with no commit at all).
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["init", "-q", "-b", "main"]);
    check(&mut export(None, dir.path()), "no commit yet");
    std::fs::write(dir.path().join("other.txt"), "x").unwrap();
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["add", "other.txt"]);
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["commit", "-q", "-m", "other"]);
    check(&mut export(None, dir.path()), "untracked");
}

/// Every trigger in every column of the CSV, from the file, git and the service. Tabs and
/// carriage returns, which the file refuses in values, are covered by `roster-render`'s
/// unit test of each trigger.
#[test]
fn formulas_are_neutralised_whatever_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let file = "\
version: 1
users:
  - userName: ada@lumen.example
    displayName: \"=HYPERLINK(\\\"http://evil.example\\\",\\\"x\\\")\"
    role: admin
    reason: \"+1 for access\"
    approved_by: \"@SUM(1+1)\"
    ticket: \"-2+3\"
  - userName: \"-bob@lumen.example\"
groups:
  - displayName: \"=cmd|' /C calc'!A0\"
    members: [ada@lumen.example]
";
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["init", "-q", "-b", "main"]);
    commit(dir.path(), file, "=Mallory <mallory@lumen.example>", "2026-01-05T09:00:00Z", "hostile");
    let (code, stdout, stderr) =
        run(export(None, dir.path()).args(["--format", "csv", "--as-of", "2026-04-01"]));
    assert_eq!(code, 0, "{stderr}");
    let mut reader = csv::ReaderBuilder::new().from_reader(stdout.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let cell = |row: usize, column: &str| {
        let at = header.iter().position(|h| h == column).unwrap();
        rows[row][at].to_owned()
    };
    for (row, column, expected) in [
        (1, "displayName", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
        (1, "reason", "'+1 for access"),
        (1, "approvedBy", "'@SUM(1+1)"),
        (1, "ticket", "'-2+3"),
        (1, "teams", "'=cmd|' /C calc'!A0"),
        (1, "author", "'=Mallory <mallory@lumen.example>"),
        (0, "userName", "'-bob@lumen.example"),
    ] {
        assert_eq!(cell(row, column), expected, "{column} of row {row}");
    }
    for row in &rows {
        for value in row {
            assert!(!value.starts_with(['=', '+', '-', '@', '\t', '\r']), "{value:?}");
        }
    }
}

const LIVE_FILE: &str = "\
version: 1
users:
  - userName: ada@lumen.example
    role: admin
  - userName: Bob@Lumen.example
    role: maker
  - userName: cy@lumen.example
    previously: [cy@old.example]
  - userName: new@lumen.example
";

fn live_server(config: EmulatorConfig) -> Server {
    let server = Server::start(config);
    for (name, role, active) in [
        ("ada@lumen.example", "admin", true),
        ("bob@lumen.example", "viewer", false),
        ("cy@old.example", "viewer", true),
        ("eve@lumen.example", "maker", true),
    ] {
        let user =
            UserAttributes { user_name: name.into(), role: Some(role.into()), active, ..Default::default() };
        server.emulator().state().add_user(&user).unwrap();
    }
    server
}

#[test]
fn live_accounts_sit_beside_the_file_and_absent_ones_are_marked() {
    let server = live_server(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    // The token in the file by mistake: it must not leave in the export.
    let file = format!("{LIVE_FILE}    reason: \"pasted {TOKEN} by mistake\"\n");
    std::fs::write(dir.path().join("users.yaml"), file).unwrap();
    let (code, stdout, stderr) =
        run(export(Some(&server), dir.path()).args(["--format", "json", "--live", "--as-of", "2026-04-01"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token left in the export");
    assert!(server.writes().is_empty(), "export wrote: {:?}", server.writes());
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["live"], true);
    let summary: Vec<String> = document["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} inFile={} status={} role={} id={}",
                r["userName"].as_str().unwrap(),
                r["inFile"],
                r["liveStatus"].as_str().unwrap(),
                r["liveRole"].as_str().unwrap_or("-"),
                if r["liveId"].is_string() { "yes" } else { "no" }
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "ada@lumen.example inFile=true status=active role=admin id=yes",
            "Bob@Lumen.example inFile=true status=inactive role=viewer id=yes",
            "cy@lumen.example inFile=true status=active role=viewer id=yes",
            "eve@lumen.example inFile=false status=active role=maker id=yes",
            "new@lumen.example inFile=true status=absent role=- id=no",
        ]
    );
    let rows = document["rows"].as_array().unwrap();
    assert_eq!(rows[4]["reason"], "pasted *** by mistake");

    // The CSV has the live columns after the file's.
    let (code, stdout, stderr) =
        run(export(Some(&server), dir.path()).args(["--format", "csv", "--live", "--as-of", "2026-04-01"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(
        "userName,displayName,role,paidSeat,active,inactiveReason,teams,expires,reviewAfter,reason,approvedBy,\
         ticket,commit,author,date,inFile,liveId,liveStatus,liveRole\r\n"
    ));
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    assert!(server.writes().is_empty());
}

#[test]
fn an_incomplete_live_view_exports_nothing() {
    let misbehaviour = Misbehaviour { total_results_is_page_size: true, ..Misbehaviour::default() };
    let server = live_server(EmulatorConfig { max_page_size: 2, misbehaviour, ..EmulatorConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), LIVE_FILE).unwrap();
    let (code, stdout, stderr) =
        run(export(Some(&server), dir.path()).args(["--format", "csv", "--live", "--out", "review.csv"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("the live view was incomplete; nothing is exported"), "{stderr}");
    assert!(stdout.is_empty() && !dir.path().join("review.csv").exists());
    assert!(server.writes().is_empty());
}

#[test]
fn without_live_nothing_is_asked_of_the_network() {
    let server = live_server(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), LIVE_FILE).unwrap();
    let (code, stdout, stderr) = run(export(Some(&server), dir.path()).args(["--format", "csv"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("liveId"), "{stdout}");
    assert!(server.log().is_empty(), "export without --live asked the service");
}

#[test]
fn the_export_never_replaces_an_input_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.yaml"), LIVE_FILE).unwrap();
    let (code, _, stderr) = run(export(None, dir.path()).args(["--format", "csv", "--out", "users.yaml"]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("users.yaml")).unwrap(), LIVE_FILE);
}

/// A directory of two files: one blame per file, whatever the number of users.
#[test]
fn blame_runs_once_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let team = dir.path().join("team");
    std::fs::create_dir(&team).unwrap();
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["init", "-q", "-b", "main"]);
    let users = |names: &[&str]| {
        let entries: String =
            names.iter().map(|n| format!("  - userName: {n}@lumen.example\n    role: maker\n")).collect();
        format!("version: 1\nusers:\n{entries}")
    };
    std::fs::write(team.join("a.yaml"), users(&["ada", "bob", "cy"])).unwrap();
    std::fs::write(team.join("b.yaml"), users(&["dee", "eve"])).unwrap();
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["add", "team"]);
    git(dir.path(), "Ann <ann@lumen.example>", "2026-01-05T09:00:00Z", &["commit", "-q", "-m", "team"]);
    std::fs::write(team.join("b.yaml"), users(&["dee", "eve", "fay"])).unwrap();
    git(dir.path(), "Bea <bea@lumen.example>", "2026-02-05T09:00:00Z", &["commit", "-q", "-am", "fay"]);

    // git, through a wrapper that logs each call.
    let real_git =
        String::from_utf8(Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls.log");
    let wrapper = bin.path().join("git");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real_git}' \"$@\"\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let (code, stdout, stderr) = run(export(None, dir.path()).env("PATH", bin.path()).args([
        "--format",
        "json",
        "--as-of",
        "2026-04-01",
        "team",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let calls = std::fs::read_to_string(&log).unwrap();
    let blames: Vec<&str> = calls.lines().filter(|l| l.contains("blame")).collect();
    assert_eq!(blames.len(), 2, "{calls}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    let authors: Vec<String> = document["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["userName"].as_str().unwrap(), r["author"].as_str().unwrap()))
        .collect();
    assert_eq!(
        authors,
        [
            "ada@lumen.example Ann <ann@lumen.example>",
            "bob@lumen.example Ann <ann@lumen.example>",
            "cy@lumen.example Ann <ann@lumen.example>",
            "dee@lumen.example Ann <ann@lumen.example>",
            "eve@lumen.example Ann <ann@lumen.example>",
            "fay@lumen.example Bea <bea@lumen.example>",
        ]
    );
}
