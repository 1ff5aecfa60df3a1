//! What git knows about the desired files: when they last changed, for marking arrivals
//! that are newer than the file. Read with the git command line, which every CI runner
//! and workstation that holds the file's repository has; outside a repository (or
//! without git) there is no answer and no error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The committer time (RFC 3339) of the last commit that changed any of `files`, or
/// `None` when none of them is in a git repository with history.
pub fn last_change(files: &[PathBuf]) -> Option<String> {
    files
        .iter()
        .filter_map(|file| last_change_of(file))
        .filter_map(|time| time.parse::<jiff::Timestamp>().ok().map(|at| (at, time)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, time)| time)
}

fn last_change_of(file: &Path) -> Option<String> {
    let (dir, name) = if file.is_dir() {
        (file.to_path_buf(), PathBuf::from("."))
    } else {
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        (dir.to_path_buf(), PathBuf::from(file.file_name()?))
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["log", "-1", "--format=%cI", "--"])
        .arg(&name)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let time = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!time.is_empty()).then_some(time)
}
