//! Every hostile category through the real binary: `roster validate` ends with exit 1,
//! at most 200 MB of peak memory and at most 1 MB of output, and never prints the token
//! of its environment. A valid file of about 30 MB still loads. Measured in counts and
//! bytes, never in time.
//!
//! This is its own test binary with one test, so that the peak memory of the process's
//! children (`getrusage(RUSAGE_CHILDREN)`, the largest child's maximum resident set) is
//! the peak of the `roster` runs started here and of nothing else.

#[path = "support/hostile.rs"]
mod hostile;

use std::process::{Command, Stdio};

use nix::sys::resource::{UsageWho, getrusage};

const MAX_PEAK_BYTES: i64 = 200 * 1000 * 1000;
const MAX_OUTPUT_BYTES: usize = 1000 * 1000;

/// The largest maximum resident set of any child waited for so far, in bytes.
fn children_peak_bytes() -> i64 {
    // Linux reports kilobytes.
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss() * 1024
}

fn validate(path: &std::path::Path) -> (i32, Vec<u8>) {
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["validate", "--color", "never"])
        .arg(path)
        .env("ROSTER_SCIM_TOKEN", hostile::SECRET_TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut all = output.stdout;
    all.extend(output.stderr);
    (output.status.code().unwrap_or(-1), all)
}

#[test]
fn hostile_files_end_with_exit_1_in_bounded_memory_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for file in hostile::hostile_files() {
        let path = dir.path().join(format!("{}.yaml", file.name));
        // Written and dropped before the run: a child starts as a copy of this process.
        std::fs::write(&path, (file.make)()).unwrap();
        let (code, output) = validate(&path);
        let text = String::from_utf8_lossy(&output);
        let head: String = text.chars().take(2_000).collect();
        assert_eq!(code, 1, "{}: exit {code}\n{head}", file.name);
        assert!(output.len() <= MAX_OUTPUT_BYTES, "{}: {} bytes of output\n{head}", file.name, output.len());
        assert!(!text.contains(hostile::SECRET_TOKEN), "{}: the token was printed\n{text}", file.name);
        let peak = children_peak_bytes();
        assert!(peak <= MAX_PEAK_BYTES, "{}: peak memory of {peak} bytes", file.name);
        report.push(format!(
            "{}: {} bytes of output, peak so far {} MB",
            file.name,
            output.len(),
            peak / 1_000_000
        ));
        std::fs::remove_file(&path).unwrap();
    }
    // The valid 30 MB file loads (its memory is not held to the hostile bound).
    let path = dir.path().join("valid.yaml");
    std::fs::write(&path, hostile::valid_30mb()).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() >= 30_000_000);
    let (code, output) = validate(&path);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&output));
    // What each file cost, for a failure's context and for `--nocapture`.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{}", report.join("\n"));
    }
}
