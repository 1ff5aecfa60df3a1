//! Benchmark: `roster export --format csv` (the release binary) on a file of 100,000 users
//! in a git repository of 1,000 commits that touched it.
//!
//! ```text
//! cargo xtask bench export
//! ```
//!
//! The history is built with `git fast-import` (one stream, no working tree per commit):
//! the first commit writes 90,010 users, each later one adds 10 users and edits 5
//! existing entries (a role, a title, a ticket), as a file grows and changes in real use.
//! The example then times, each three times: the whole export in the repository; the same
//! file outside any repository (everything but blame); and `git blame --porcelain` of the
//! file alone (the one blame the export runs).

#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const N_USERS: usize = 100_000;
const N_COMMITS: usize = 1_000;
const ADDED_PER_COMMIT: usize = 10;
const EDITED_PER_COMMIT: usize = 5;
const N_GROUPS: usize = 200;
const ROLES: [&str; 4] = ["admin", "maker", "contributor", "viewer"];

/// One user's entry, in its `n_edits`-th version.
fn entry(user: usize, n_edits: u32) -> String {
    format!(
        "  - userName: user{user:06}@bench.example\n    displayName: User {user}\n    role: {}\n    \
         title: Engineer {n_edits}\n    reason: bench access\n    approved_by: lead@bench.example\n    \
         ticket: IT-{}\n",
        ROLES[(user + n_edits as usize) % ROLES.len()],
        user * 7 + n_edits as usize
    )
}

fn file_text(entries: &[String]) -> String {
    let mut text = String::with_capacity(entries.len() * 200 + N_GROUPS * 1_000);
    text.push_str("version: 1\nprovider: productboard\npolicy:\n  unmanaged_users: keep\nusers:\n");
    for entry in entries {
        text.push_str(entry);
    }
    text.push_str("groups:\n");
    for group in 0..N_GROUPS {
        text.push_str(&format!("  - displayName: Team {group}\n    members: ["));
        let members: Vec<String> =
            (0..50).map(|i| format!("user{:06}@bench.example", (group * 50 + i) % entries.len())).collect();
        text.push_str(&members.join(", "));
        text.push_str("]\n");
    }
    text
}

/// A small deterministic generator (xorshift), so that every run builds the same history.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command.current_dir(dir).env("GIT_CONFIG_GLOBAL", "/dev/null").env("GIT_CONFIG_NOSYSTEM", "1");
    command
}

fn build_history(dir: &Path) {
    assert!(git(dir).args(["init", "-q", "-b", "main"]).status().unwrap().success());
    let mut importer = git(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    let mut stream = std::io::BufWriter::new(importer.stdin.take().unwrap());
    let n_first = N_USERS - (N_COMMITS - 1) * ADDED_PER_COMMIT;
    let mut edits: Vec<u32> = vec![0; n_first];
    let mut entries: Vec<String> = (0..n_first).map(|u| entry(u, 0)).collect();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    for commit in 0..N_COMMITS {
        if commit > 0 {
            for _ in 0..EDITED_PER_COMMIT {
                let user = rng.below(entries.len());
                edits[user] += 1;
                entries[user] = entry(user, edits[user]);
            }
            for _ in 0..ADDED_PER_COMMIT {
                let user = entries.len();
                edits.push(0);
                entries.push(entry(user, 0));
            }
        }
        let text = file_text(&entries);
        let when = 1_700_000_000 + commit as i64 * 3_600;
        let author = commit % 13;
        let message = format!("change {commit}");
        write!(
            stream,
            "commit refs/heads/main\nauthor Author {author} <a{author}@bench.example> {when} +0000\n\
             committer CI <ci@bench.example> {when} +0000\ndata {}\n{message}\n",
            message.len()
        )
        .unwrap();
        write!(stream, "M 100644 inline users.yaml\ndata {}\n", text.len()).unwrap();
        stream.write_all(text.as_bytes()).unwrap();
        stream.write_all(b"\n").unwrap();
    }
    drop(stream);
    assert!(importer.wait().unwrap().success(), "git fast-import failed");
    assert!(git(dir).args(["reset", "-q", "--hard", "main"]).status().unwrap().success());
}

/// Runs a command three times, or once when that took more than half a minute; returns
/// the seconds of each run.
fn time(mut make: impl FnMut() -> Command) -> Vec<f64> {
    let mut seconds = Vec::new();
    while seconds.len() < 3 && seconds.iter().all(|s| *s < 30.0) {
        let started = Instant::now();
        let output = make().stdout(Stdio::null()).stderr(Stdio::piped()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        seconds.push(started.elapsed().as_secs_f64());
    }
    seconds
}

fn show(what: &str, seconds: &[f64]) {
    let mut sorted = seconds.to_vec();
    sorted.sort_by(f64::total_cmp);
    let list: Vec<String> = sorted.iter().map(|s| format!("{s:.2}")).collect();
    println!("{what}: {} s (fastest {:.2} s)", list.join(", "), sorted[0]);
}

fn main() -> ExitCode {
    let me = std::env::current_exe().expect("the example's path");
    // target/release/examples/bench_export → target/release/roster
    let roster: PathBuf = me.parent().and_then(Path::parent).map(|d| d.join("roster")).expect("a target dir");
    if !roster.exists() {
        eprintln!(
            "build the release binary first: cargo build --release -p roster-cli ({} is missing)",
            roster.display()
        );
        return ExitCode::FAILURE;
    }
    // The history takes minutes to build (a thousand 10 MB versions to hash and
    // deltify), so it is kept beside the binary and built again only when missing.
    let kept = roster.parent().expect("a target dir").join("bench-export");
    let repo = kept.join("repo");
    let started = Instant::now();
    let complete = kept.join("complete");
    if !complete.exists() {
        let _ = std::fs::remove_dir_all(&kept);
        std::fs::create_dir_all(&repo).unwrap();
        build_history(&repo);
        std::fs::write(&complete, "").unwrap();
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = repo.join("users.yaml");
    let size = std::fs::metadata(&file).unwrap().len();
    let n_commits =
        String::from_utf8(git(&repo).args(["rev-list", "--count", "HEAD"]).output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
    println!(
        "history: {N_USERS} users ({:.1} MB), {n_commits} commits that touched the file, built or found in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::copy(&file, outside.join("users.yaml")).unwrap();
    let export = |cwd: &Path| {
        let mut command = Command::new(&roster);
        command
            .current_dir(cwd)
            .args(["export", "--format", "csv", "--as-of", "2026-01-01"])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        command
    };
    let review = dir.path().join("review.csv");
    show(
        "export in the repository (whole run)",
        &time(|| {
            let mut command = export(&repo);
            command.arg("--out").arg(&review);
            command
        }),
    );
    // The rows of that run: one per user, each with its commit's author.
    let csv = std::fs::read_to_string(&review).unwrap();
    let n_rows = csv.lines().count() - 1;
    let n_committed = csv.lines().skip(1).filter(|l| l.contains(",Author ")).count();
    println!("rows: {n_rows}, with a commit and author: {n_committed}");
    show("export outside git (everything but blame)", &time(|| export(&outside)));
    show(
        "git blame --porcelain of the file alone",
        &time(|| {
            let mut command = git(&repo);
            command.args(["blame", "--porcelain", "--", "users.yaml"]);
            command
        }),
    );
    ExitCode::SUCCESS
}
