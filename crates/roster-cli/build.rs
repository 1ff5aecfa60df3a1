//! Build script of `roster`: gives `roster --version` the commit it was built from.
//!
//! The commit comes from, in order:
//! 1. `ROSTER_BUILD_COMMIT`, when set (the release workflow sets it to `GITHUB_SHA`; a
//!    packager building from a source tarball can set it too); it must be 7 to 64
//!    hexadecimal digits, or the build fails naming the value;
//! 2. `git rev-parse HEAD`, when this crate is a file tracked by the enclosing git
//!    repository (so a tarball unpacked inside some other repository does not borrow
//!    that repository's commit);
//! 3. otherwise `unknown`: the build never needs git.
//!
//! It sets `ROSTER_VERSION_LINE` for the crate, e.g. `0.1.0 (commit 4985638…)`.

#![allow(clippy::print_stdout, reason = "a build script talks to cargo on stdout")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable that overrides the commit.
const COMMIT_VAR: &str = "ROSTER_BUILD_COMMIT";

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    println!("cargo::rerun-if-env-changed={COMMIT_VAR}");

    let git = |args: &[&str]| git_output(&manifest_dir, args);
    for path in git_watch_paths(&git) {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    let commit = match commit(std::env::var(COMMIT_VAR).ok(), &git) {
        Ok(commit) => commit,
        Err(message) => {
            println!("cargo::error={message}");
            return;
        }
    };
    println!("cargo::rustc-env=ROSTER_VERSION_LINE={}", version_line(&version, &commit));
}

/// The text after `roster ` in `roster --version`.
pub fn version_line(version: &str, commit: &str) -> String {
    format!("{version} (commit {commit})")
}

/// The commit to report: the override when set, else git's answer, else `unknown`.
///
/// `git` runs git with the given arguments in the crate's folder and returns its trimmed
/// standard output, or `None` when git is missing or fails.
pub fn commit(overridden: Option<String>, git: &dyn Fn(&[&str]) -> Option<String>) -> Result<String, String> {
    if let Some(value) = overridden.filter(|v| !v.trim().is_empty()) {
        let value = value.trim();
        return if is_commit_id(value) {
            Ok(value.to_ascii_lowercase())
        } else {
            Err(format!("{COMMIT_VAR} must be a commit id of 7 to 64 hexadecimal digits, got {value:?}"))
        };
    }
    // Only a repository that tracks this build script is roster's own.
    if git(&["ls-files", "--error-unmatch", "build.rs"]).is_none() {
        return Ok("unknown".to_owned());
    }
    Ok(git(&["rev-parse", "HEAD"]).filter(|id| is_commit_id(id)).unwrap_or_else(|| "unknown".to_owned()))
}

/// 7 to 64 hexadecimal digits: an abbreviated or full SHA-1 or SHA-256 commit id.
pub fn is_commit_id(value: &str) -> bool {
    (7..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The files whose change moves HEAD: HEAD itself, the branch it points to and the
/// packed refs, those that exist. In a worktree, HEAD lives in the worktree's git dir and the refs in the
/// common one. Outside git, nothing.
pub fn git_watch_paths(git: &dyn Fn(&[&str]) -> Option<String>) -> Vec<PathBuf> {
    let (Some(git_dir), Some(common_dir)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let (git_dir, common_dir) = (Path::new(&git_dir), Path::new(&common_dir));
    let mut paths = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        // A branch whose ref is only in packed-refs (as after a clone) gets a loose ref
        // file at its next commit: then watch the folder where that file will appear.
        let loose = common_dir.join(branch);
        match loose.parent() {
            Some(folder) if !loose.exists() => paths.push(folder.to_path_buf()),
            _ => paths.push(loose),
        }
    }
    // A path that does not exist would make cargo run this script on every build.
    paths.retain(|path| path.exists());
    paths
}

/// Runs git in `dir`; its trimmed stdout on success, `None` otherwise.
fn git_output(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).current_dir(dir).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned())
}
