//! Project automation, run as `cargo xtask <command>`.
//!
//! Everything CI does is here, so that a developer runs exactly what CI runs:
//! `cargo xtask ci` is the one test command.

#![allow(clippy::print_stderr, reason = "xtask is a command-line tool: it reports on stderr")]

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

mod interop;
mod lint;
mod peers;
mod schema;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci               everything CI checks: fmt, clippy, schemas, tests, linters, interop
  schema [--check] write schemas/*.json from the Rust types, or check they are current
  lint             check examples/ with check-jsonschema and actionlint
  interop          run roster against third-party SCIM software from PyPI
  bench            run the benchmarks recorded in BENCHMARKS.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("schema") => schema::run(args.iter().any(|a| a == "--check")),
        Some("interop") => interop::run(),
        Some("lint") => lint::run(),
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
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    schema::run(true)?;
    run("cargo", &["test", "--workspace", "--all-targets"])?;
    run("cargo", &["test", "--workspace", "--doc"])?;
    lint::run()?;
    interop::run()?;
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    bail!("no benchmarks yet ({args:?})")
}
