//! `cargo xtask size [--check]`: builds the distributed binary (`--profile dist`, as the
//! release workflow does) and records its size in BENCHMARKS.md; with `--check`, fails
//! when it is over [`SIZE_LIMIT`] and leaves BENCHMARKS.md alone.
//!
//! The tests below hold the release workflow and the Action to one naming scheme:
//! `.github/release/names.sh`, which both call.

#![allow(clippy::print_stderr, reason = "xtask is a command-line tool; what it prints is for the developer")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// The most the unpacked binary may weigh, in bytes (15 MB).
pub const SIZE_LIMIT: u64 = 15_000_000;

/// The section of BENCHMARKS.md that `cargo xtask size` rewrites, between these lines.
const BEGIN: &str = "<!-- xtask size: begin -->";
const END: &str = "<!-- xtask size: end -->";

/// Builds the dist binary, measures it, and records or checks the figure.
pub fn size(check: bool) -> Result<()> {
    crate::run(
        "cargo",
        &["build", "--locked", "--quiet", "--profile", "dist", "-p", "roster-cli", "--bin", "roster"],
    )?;
    let binary = target_dir()?.join("dist").join(format!("roster{}", std::env::consts::EXE_SUFFIX));
    let bytes =
        std::fs::metadata(&binary).with_context(|| format!("cannot read {}", binary.display()))?.len();
    let gzipped = gzipped_size(&binary);
    let rustc = command_line("rustc", &["--version"]).unwrap_or_else(|| "rustc (unknown version)".to_owned());
    eprintln!("size: {} is {} bytes ({}), limit {}", binary.display(), bytes, mb(bytes), mb(SIZE_LIMIT));
    if bytes > SIZE_LIMIT {
        bail!(
            "the distributed binary is {} ({bytes} bytes), over the limit of {}",
            mb(bytes),
            mb(SIZE_LIMIT)
        );
    }
    if check {
        return Ok(());
    }
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).context("cannot read BENCHMARKS.md")?;
    let section = section(bytes, gzipped, &rustc, std::env::consts::ARCH, std::env::consts::OS);
    std::fs::write(&path, replace_section(&text, &section)?).context("cannot write BENCHMARKS.md")?;
    eprintln!("size: BENCHMARKS.md updated");
    Ok(())
}

/// The Markdown between [`BEGIN`] and [`END`].
fn section(bytes: u64, gzipped: Option<u64>, rustc: &str, arch: &str, os: &str) -> String {
    let mut out = String::new();
    out.push_str("| measure | value |\n|---|---|\n");
    out.push_str(&format!("| `roster`, unpacked ({arch} {os}) | {} ({bytes} bytes) |\n", mb(bytes)));
    if let Some(gzipped) = gzipped {
        out.push_str(&format!(
            "| gzip -9 of it (about the `.tar.gz` download) | {} ({gzipped} bytes) |\n",
            mb(gzipped)
        ));
    }
    out.push_str(&format!("| limit (`cargo xtask size --check` fails above it) | {} |\n", mb(SIZE_LIMIT)));
    out.push_str(&format!("| compiler | {rustc} |\n"));
    out
}

/// `text` with the lines between the markers replaced by `section`.
fn replace_section(text: &str, section: &str) -> Result<String> {
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        bail!("BENCHMARKS.md has no `{BEGIN}` … `{END}` section to write the size into");
    };
    if end < begin {
        bail!("BENCHMARKS.md has `{END}` before `{BEGIN}`");
    }
    let head = &text[..begin + BEGIN.len()];
    let tail = &text[end..];
    Ok(format!("{head}\n{section}{tail}"))
}

/// Megabytes with one decimal, as people read sizes.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// The size of `gzip -9 -c FILE`, when gzip is there.
fn gzipped_size(file: &Path) -> Option<u64> {
    let output = Command::new("gzip").arg("-9").arg("-c").arg(file).output().ok()?;
    output.status.success().then_some(output.stdout.len() as u64)
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Cargo's target directory (it follows `CARGO_TARGET_DIR`).
fn target_dir() -> Result<PathBuf> {
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .context("cannot start cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let dir = metadata["target_directory"].as_str().context("cargo metadata gave no target_directory")?;
    Ok(PathBuf::from(dir))
}

#[cfg(test)]
mod tests {
    //! The release workflow builds and names archives, the Action downloads them: both
    //! go through `.github/release/names.sh`. These tests run the workflow's own `Pack`
    //! step and the Action's own `Resolve` step (the `run:` scripts, read from the YAML)
    //! and check that every runner the Action supports asks for an archive the release
    //! produced, at the URL the release is published under.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;
    use std::process::Command;

    use serde_json::Value;

    use super::{BEGIN, END, replace_section, section};
    use crate::root;

    const VERSION: &str = "1.2.3";

    fn yaml(path: &str) -> Value {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn names(args: &[&str]) -> String {
        let output =
            Command::new("bash").arg(root().join(".github/release/names.sh")).args(args).output().unwrap();
        assert!(output.status.success(), "names.sh {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// The build matrix, as the release workflow gets it.
    fn matrix() -> Vec<Value> {
        serde_json::from_str::<Value>(&names(&["matrix"])).unwrap().as_array().unwrap().clone()
    }

    /// The `run:` script of the step with `name` in `steps`.
    fn step_script(steps: &Value, name: &str) -> String {
        steps
            .as_array()
            .unwrap()
            .iter()
            .find(|step| step["name"] == name || step["id"] == name)
            .and_then(|step| step["run"].as_str())
            .unwrap_or_else(|| panic!("no step {name:?} with a run script"))
            .to_owned()
    }

    /// Runs a workflow step's script with bash in `dir` and `env`; returns what it wrote
    /// to `$GITHUB_OUTPUT` as a map.
    fn run_step(script: &str, dir: &Path, env: &[(&str, String)]) -> BTreeMap<String, String> {
        let output_file = dir.join("github-output");
        std::fs::write(&output_file, "").unwrap();
        let path =
            format!("{}:{}", dir.join("fake-bin").display(), std::env::var("PATH").unwrap_or_default());
        let output = Command::new("bash")
            .args(["-e", "-o", "pipefail", "-c", script])
            .current_dir(dir)
            .env("GITHUB_OUTPUT", &output_file)
            .env("PATH", path)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "step failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// Archives the release workflow's Pack step makes, by target, in a scratch copy of
    /// what it reads (a stand-in binary; a stand-in `7z` that writes a zip with `zip` or,
    /// without it, an empty file: only the name is checked for Windows).
    fn packed_archives(dir: &Path) -> BTreeMap<String, String> {
        let release = yaml(".github/workflows/release.yml");
        let pack = step_script(&release["jobs"]["build"]["steps"], "Pack");
        std::fs::create_dir_all(dir.join(".github/release")).unwrap();
        std::fs::copy(root().join(".github/release/names.sh"), dir.join(".github/release/names.sh")).unwrap();
        for file in ["LICENSE", "README.md", "CHANGELOG.md"] {
            std::fs::copy(root().join(file), dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        std::fs::create_dir_all(dir.join("fake-bin")).unwrap();
        let seven_zip = dir.join("fake-bin/7z");
        std::fs::write(&seven_zip, "#!/bin/sh\n# 7z a -tzip OUT FILES...\nout=$3; shift 3\ntouch \"$out\"\n")
            .unwrap();
        Command::new("chmod").arg("+x").arg(&seven_zip).status().unwrap();

        let mut archives = BTreeMap::new();
        for row in matrix() {
            let target = row["target"].as_str().unwrap().to_owned();
            let binary = names(&["binary", &target]);
            let built = dir.join("target").join(&target).join("dist");
            std::fs::create_dir_all(&built).unwrap();
            std::fs::write(built.join(&binary), format!("roster for {target}")).unwrap();
            let _ = std::fs::remove_dir_all(dir.join("dist"));
            let outputs =
                run_step(&pack, dir, &[("TARGET", target.clone()), ("VERSION", VERSION.to_owned())]);
            let archive = outputs.get("archive").cloned().expect("Pack sets the `archive` output");
            assert!(dir.join(&archive).is_file(), "Pack named {archive} but did not make it");
            if archive.ends_with(".tar.gz") {
                // The Action takes the binary from the archive's top level.
                let list = Command::new("tar").arg("-tzf").arg(dir.join(&archive)).output().unwrap();
                let list = String::from_utf8(list.stdout).unwrap();
                assert!(list.lines().any(|l| l == binary), "{archive} has no {binary} at its top: {list}");
            }
            archives.insert(target, archive);
        }
        archives
    }

    #[test]
    fn every_runner_the_action_supports_downloads_an_archive_the_release_publishes() {
        let scratch = tempfile::tempdir().unwrap();
        let archives = packed_archives(scratch.path());
        assert_eq!(archives.len(), matrix().len(), "one archive per target");

        let action = yaml("action.yml");
        let resolve = step_script(&action["runs"]["steps"], "resolve");
        for row in matrix() {
            let (os, arch) = (row["runner_os"].as_str().unwrap(), row["runner_arch"].as_str().unwrap());
            let outputs = run_step(
                &resolve,
                scratch.path(),
                &[
                    ("GITHUB_ACTION_PATH", root().display().to_string()),
                    ("RUNNER_OS", os.to_owned()),
                    ("RUNNER_ARCH", arch.to_owned()),
                    ("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache".to_owned()),
                    ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
                    ("GITHUB_REPOSITORY", "someone/uses-roster".to_owned()),
                    ("ACTION_REPOSITORY", "owner/roster".to_owned()),
                    ("ACTION_REF", format!("v{VERSION}")),
                    ("INPUT_COMMAND", "plan".to_owned()),
                    ("INPUT_VERSION", String::new()),
                    ("INPUT_ALLOW_DEACTIVATIONS", String::new()),
                    ("INPUT_ALLOW_REMOVALS", String::new()),
                ],
            );
            let target = &outputs["target"];
            let published =
                archives.get(target).unwrap_or_else(|| panic!("{os} {arch}: no archive for {target}"));
            // The download URL: the release of tag vVERSION, the archive the release made.
            assert_eq!(
                format!("{}/{}", outputs["url"], outputs["archive"]),
                format!("https://github.com/owner/roster/releases/download/v{VERSION}/{published}"),
                "{os} {arch}"
            );
            assert_eq!(outputs["version"], VERSION);
            assert_eq!(outputs["sums"], names(&["sums", VERSION]));
        }

        // A floating tag (`@v0`) or a commit: the version of the Action's own Cargo.toml,
        // which at a release commit is the released one.
        for action_ref in ["v0", "0123456789abcdef0123456789abcdef01234567"] {
            let outputs = run_step(
                &resolve,
                scratch.path(),
                &[
                    ("GITHUB_ACTION_PATH", root().display().to_string()),
                    ("RUNNER_OS", "Linux".to_owned()),
                    ("RUNNER_ARCH", "X64".to_owned()),
                    ("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache".to_owned()),
                    ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
                    ("GITHUB_REPOSITORY", "someone/uses-roster".to_owned()),
                    ("ACTION_REPOSITORY", String::new()),
                    ("ACTION_REF", action_ref.to_owned()),
                    ("INPUT_COMMAND", "apply".to_owned()),
                    ("INPUT_VERSION", String::new()),
                    ("INPUT_ALLOW_DEACTIVATIONS", "3".to_owned()),
                    ("INPUT_ALLOW_REMOVALS", "2".to_owned()),
                ],
            );
            assert_eq!(outputs["version"], env!("CARGO_PKG_VERSION"), "{action_ref}");
            // Used from its own repository (`uses: ./`), it downloads from there.
            assert!(outputs["url"].starts_with("https://github.com/someone/uses-roster/releases/download/v"));
        }
    }

    #[test]
    fn the_release_workflow_builds_the_matrix_and_publishes_every_target() {
        let release = yaml(".github/workflows/release.yml");
        let build = &release["jobs"]["build"];
        assert_eq!(build["strategy"]["matrix"]["include"], "${{ fromJSON(needs.plan.outputs.matrix) }}");
        assert_eq!(build["runs-on"], "${{ matrix.build_on }}");
        let plan = step_script(&release["jobs"]["plan"]["steps"], "plan");
        assert!(
            plan.contains(".github/release/names.sh matrix"),
            "the plan job reads the matrix from names.sh"
        );
        let sum = step_script(&release["jobs"]["publish"]["steps"], "sum");
        assert!(
            sum.contains("names.sh targets") && sum.contains("names.sh sums"),
            "publish checks every target"
        );
        // Provenance for each archive and for the sums file.
        let attests = |steps: &Value| {
            steps.as_array().unwrap().iter().any(|s| {
                s["uses"].as_str().is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
            })
        };
        assert!(attests(&build["steps"]) && attests(&release["jobs"]["publish"]["steps"]));
    }

    #[test]
    fn targets_runners_and_names_are_one_to_one() {
        let rows = matrix();
        let targets: BTreeSet<_> = rows.iter().map(|r| r["target"].as_str().unwrap()).collect();
        let runners: BTreeSet<_> = rows
            .iter()
            .map(|r| (r["runner_os"].as_str().unwrap(), r["runner_arch"].as_str().unwrap()))
            .collect();
        assert_eq!(targets.len(), rows.len());
        assert_eq!(runners.len(), rows.len());
        let wanted: BTreeSet<_> = [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc",
        ]
        .into_iter()
        .collect();
        assert_eq!(targets, wanted, "the targets the issue asks for");
        for row in &rows {
            let target = row["target"].as_str().unwrap();
            let windows = target.contains("-windows-");
            assert_eq!(names(&["binary", target]), if windows { "roster.exe" } else { "roster" });
            assert_eq!(row["format"], if windows { "zip" } else { "tar.gz" });
            assert_eq!(
                names(&["target", row["runner_os"].as_str().unwrap(), row["runner_arch"].as_str().unwrap()]),
                target
            );
        }
        // A runner without a build, a bad version and a tag's `v` are refused.
        for args in [
            &["target", "Windows", "ARM64"][..],
            &["archive", "v1.2.3", "x86_64-apple-darwin"],
            &["archive", "1.2", "x86_64-apple-darwin"],
        ] {
            let status = Command::new("bash")
                .arg(root().join(".github/release/names.sh"))
                .args(args)
                .output()
                .unwrap()
                .status;
            assert_eq!(status.code(), Some(1), "{args:?}");
        }
    }

    /// Every file users copy from or read install steps in.
    fn shipped_text_files() -> Vec<std::path::PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files: Vec<_> = ["README.md", "CHANGELOG.md", "ARCHITECTURE.md", "action.yml", "Dockerfile"]
            .iter()
            .map(|f| root().join(f))
            .collect();
        walk(&root().join("examples"), &mut files);
        walk(&root().join(".github"), &mut files);
        files
    }

    #[test]
    fn no_instruction_installs_a_crate_of_roster_s_name_from_a_registry() {
        // roster is not on crates.io: `cargo install roster-cli` would fetch whatever
        // someone published under that name and run it next to the SCIM token.
        let mut offenders = Vec::new();
        for file in shipped_text_files() {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            for (i, line) in text.lines().enumerate() {
                let installs = line.contains("cargo install") || line.contains("cargo binstall");
                if installs && !(line.contains("--git") || line.contains("--path")) {
                    offenders.push(format!("{}:{}: {line}", file.display(), i + 1));
                }
            }
        }
        assert!(offenders.is_empty(), "install from a registry:\n{}", offenders.join("\n"));
    }

    #[test]
    fn the_size_section_is_replaced_in_place() {
        let text = format!("# Benchmarks\n\n## Size\n\n{BEGIN}\nold\n{END}\n\n## Next\n");
        let new =
            replace_section(&text, &section(12_345_678, Some(4_000_000), "rustc 1.95.0", "x86_64", "linux"))
                .unwrap();
        assert!(new.starts_with("# Benchmarks\n\n## Size\n\n"));
        assert!(new.contains("| `roster`, unpacked (x86_64 linux) | 12.3 MB (12345678 bytes) |"), "{new}");
        assert!(new.contains("4.0 MB (4000000 bytes)"));
        assert!(!new.contains("old"));
        assert!(new.ends_with(&format!("{END}\n\n## Next\n")));
        assert!(replace_section("no markers", "x").is_err());
    }
}
