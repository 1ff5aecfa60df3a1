//! `roster validate`: parse and validate, no network.

use std::path::PathBuf;

use roster_model::{DesiredState, UnmanagedUsers};

use crate::cli::FilesArgs;
use crate::commands::Ui;
use crate::failure::{CommandResult, Exit, Failure};
use crate::output;

/// Validates the files and prints a one-line summary on stderr.
pub fn run(args: &FilesArgs, ui: &Ui) -> CommandResult {
    let desired = load(&args.files, ui)?;
    let n_inactive = desired.users.iter().filter(|u| !u.attributes.active).count();
    let n_unmanaged_members = desired.groups.iter().filter(|g| g.members.is_none()).count();
    eprintln!(
        "{}: valid: {} ({} inactive), {}{}, provider {}",
        names(&args.files),
        output::count(desired.users.len(), "user"),
        n_inactive,
        output::count(desired.groups.len(), "group"),
        if n_unmanaged_members > 0 {
            format!(" ({n_unmanaged_members} without `members`: their membership is left alone)")
        } else {
            String::new()
        },
        desired.provider.as_str()
    );
    // An empty `users` is valid, and under the default policy it means "nobody": say so
    // before a plan shows every account deactivated.
    if desired.users.is_empty() && desired.policy.unmanaged_users == UnmanagedUsers::Deactivate {
        eprintln!(
            "note: the files list no users; with policy.unmanaged_users: deactivate, a plan deactivates every \
             active user of the service (within max_deactivations). Set policy.unmanaged_users: keep to leave \
             users alone"
        );
    }
    Ok(Exit::Success)
}

/// The most problems printed (and annotated) in one run; the count says how many more.
const MAX_SHOWN: usize = 100;

/// Reads, parses and validates desired-state files. On failure every problem is printed
/// on stderr (and as GitHub annotations inside GitHub Actions) before returning.
pub fn load(files: &[PathBuf], ui: &Ui) -> Result<DesiredState, Failure> {
    let sources = roster_spec::read_sources(files)
        .map_err(|err| Failure::from_error("cannot read the desired state", &err))?;
    // A directory stands for the files in it: say which, since a file left out means
    // users planned for deactivation.
    if files.iter().any(|f| f.is_dir()) {
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        ui.status(&format!("reading {}", names.join(", ")));
    }
    match roster_spec::load(&sources) {
        Ok(desired) => Ok(desired),
        Err(all) => {
            let n = all.len();
            let shown = all.first(MAX_SHOWN);
            eprintln!("{}", output::redact_secrets(&shown.render(ui.stderr_color)));
            if n > MAX_SHOWN {
                eprintln!("… and {} more problems, not shown\n", n - MAX_SHOWN);
            }
            if output::in_github_actions() {
                print!("{}", output::redact_secrets(&shown.github_annotations()));
            }
            let message = format!(
                "{} in {}; nothing was sent anywhere",
                if n == 1 { "1 problem".to_owned() } else { format!("{n} problems") },
                names(files)
            );
            eprintln!("error: {message}");
            Err(Failure::reported(Exit::Error, message))
        }
    }
}

fn names(files: &[PathBuf]) -> String {
    files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
}
