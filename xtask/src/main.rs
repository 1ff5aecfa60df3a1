//! Project automation, run as `cargo xtask <command>`.
//!
//! Everything CI does is here, so that a developer runs exactly what CI runs:
//! `cargo xtask ci` is the one test command.

#![allow(clippy::print_stderr, clippy::print_stdout, reason = "xtask is a command-line tool")]

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

mod interop;
mod lint;
mod peers;
mod release;
mod schema;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci               everything CI checks: fmt, clippy, schemas, tests, linters, the dist
                   binary's size, interop
  schema [--check] write schemas/*.json from the Rust types, or check they are current
  lint             check workflows, action.yml, examples/ and the Dockerfile (actionlint,
                   check-jsonschema, hadolint)
  size [--check]   build the distributed binary (--profile dist) and write its size into
                   BENCHMARKS.md, or only check it is under the limit
  interop          run roster against third-party SCIM software from PyPI
  bench [NAME]     run the benchmarks recorded in BENCHMARKS.md (validate, plan, plan-targets, fetch,
                   fetch-targets, apply, pacing, verify, hostile, export)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("schema") => schema::run(args.iter().any(|a| a == "--check")),
        Some("interop") => interop::run(),
        Some("lint") => lint::run(),
        Some("size") => release::size(args.iter().any(|a| a == "--check")),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask always runs from there.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs a command from the workspace root, echoing it, and fails when it fails.
fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    eprintln!(
        "ci: fmt, clippy, schemas, tests, doc tests, lint (installs linters into .peers/ once), interop \
         (installs SCIM peers into .peers/ once)"
    );
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    schema::run(true)?;
    let mut tally = Tally::default();
    run_tests(&["test", "--workspace", "--all-targets"], &mut tally)?;
    run_tests(&["test", "--workspace", "--doc"], &mut tally)?;
    lint::run()?;
    // The shipped binary (`--profile dist`) stays under the size limit.
    release::size(true)?;
    interop::run()?;
    // One closing line for every test run above, for people and for CI's reader.
    println!("ci: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// Test counts summed over every `test result:` line cargo prints.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Adds the counts of a line like `test result: ok. 12 passed; 0 failed; ...`.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else { return };
        for part in rest.split(['.', ';']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next()) {
                match (n.parse::<u64>(), what) {
                    (Ok(n), "passed") => self.passed += n,
                    (Ok(n), "failed") => self.failed += n,
                    _ => {}
                }
            }
        }
    }
}

/// Runs `cargo ARGS`, passing its output through and counting its test results.
fn run_tests(args: &[&str], tally: &mut Tally) -> Result<()> {
    use std::io::BufRead;
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start cargo")?;
    let stdout = child.stdout.take().context("no stdout")?;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        tally.add(&line);
        println!("{line}");
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The benchmarks of BENCHMARKS.md, each a release-built example; `cargo xtask bench NAME`
/// runs one of them.
const BENCHMARKS: &[(&str, &str, &str)] = &[
    ("validate", "roster-spec", "bench_validate"),
    ("plan", "roster-plan", "bench_plan"),
    ("plan-targets", "roster-plan", "bench_plan_targets"),
    ("fetch", "roster-client", "bench_fetch"),
    ("fetch-targets", "roster-client", "bench_fetch_targets"),
    ("apply", "roster-apply", "bench_apply"),
    ("pacing", "roster-apply", "bench_pacing"),
    ("verify", "roster-apply", "bench_verify"),
    ("hostile", "roster-cli", "bench_hostile"),
    ("export", "roster-cli", "bench_export"),
];

fn bench(args: &[String]) -> Result<()> {
    let chosen: Vec<_> =
        BENCHMARKS.iter().filter(|(name, _, _)| args.is_empty() || args.iter().any(|a| a == name)).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = BENCHMARKS.iter().map(|(name, _, _)| *name).collect();
        bail!("no benchmark named {}; there are: {}", args.join(" "), names.join(", "));
    }
    for (name, package, example) in chosen {
        if *name == "hostile" || *name == "export" {
            // It measures the release binary itself, in a process of its own per file.
            run("cargo", &["build", "--release", "--quiet", "-p", "roster-cli", "--bin", "roster"])?;
        }
        run("cargo", &["run", "--release", "--quiet", "-p", package, "--example", example])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tally_reads_cargo_test_result_lines() {
        let mut tally = Tally::default();
        tally.add(
            "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s",
        );
        tally.add("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out");
        tally.add("running 5 tests");
        assert_eq!((tally.passed, tally.failed), (15, 2));
    }
}
