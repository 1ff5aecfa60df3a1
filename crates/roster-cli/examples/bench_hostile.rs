//! Benchmark: `roster validate` (the release binary) on the worst file of each hostile
//! category and on a valid file of about 30 MB, in one run, each in its own process.
//!
//! ```text
//! cargo xtask bench hostile
//! ```
//!
//! The files come from `tests/support/hostile.rs`, which the test `tests/hostile.rs` also
//! runs (there held to exit 1, at most 200 MB of peak memory and 1 MB of output). Each
//! file is validated under a small measuring process of this example (`--measure`), so
//! that the peak resident memory the kernel reports for its children
//! (`getrusage(RUSAGE_CHILDREN)`) is that one run's.

#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

#[path = "../../../tests/support/hostile.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};

/// Runs `roster validate FILE` once and prints `exit seconds peak_kb output_bytes`.
fn measure(roster: &Path, file: &Path) -> ExitCode {
    let started = Instant::now();
    let output = Command::new(roster)
        .args(["validate", "--color", "never"])
        .arg(file)
        .env("ROSTER_SCIM_TOKEN", hostile::SECRET_TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("roster runs");
    let seconds = started.elapsed().as_secs_f64();
    let peak_kb = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage").max_rss();
    let n_bytes = output.stdout.len() + output.stderr.len();
    println!("{} {seconds:.2} {peak_kb} {n_bytes}", output.status.code().unwrap_or(-1));
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--measure") {
        return measure(Path::new(&args[2]), Path::new(&args[3]));
    }
    let me = std::env::current_exe().expect("the example's path");
    // target/release/examples/bench_hostile → target/release/roster
    let roster: PathBuf = me.parent().and_then(Path::parent).map(|d| d.join("roster")).expect("a target dir");
    if !roster.exists() {
        eprintln!(
            "build the release binary first: cargo build --release -p roster-cli ({} is missing)",
            roster.display()
        );
        return ExitCode::FAILURE;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut cases = hostile::hostile_files();
    cases
        .push(hostile::Hostile { name: "valid-30mb", make: Box::new(|| hostile::valid_30mb().into_bytes()) });
    println!("| file | size | exit | time | peak memory | output |");
    println!("|---|---|---|---|---|---|");
    for hostile::Hostile { name, make } in cases {
        let path = dir.path().join(format!("{name}.yaml"));
        let bytes = make();
        let size = bytes.len();
        std::fs::write(&path, bytes).expect("the file is written");
        let measured = Command::new(&me).arg("--measure").arg(&roster).arg(&path).output().expect("measures");
        let line = String::from_utf8_lossy(&measured.stdout);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [code, seconds, peak_kb, n_bytes] = fields[..] else {
            eprintln!("{name}: no measurement: {line}");
            return ExitCode::FAILURE;
        };
        let peak_mb = peak_kb.parse::<f64>().unwrap_or(0.0) / 1000.0;
        println!(
            "| {name} | {:.1} MB | {code} | {seconds} s | {peak_mb:.0} MB | {n_bytes} bytes |",
            size as f64 / 1e6
        );
        std::fs::remove_file(&path).expect("the file is removed");
    }
    ExitCode::SUCCESS
}
