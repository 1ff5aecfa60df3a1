//! `roster plan`: fetch the live state through a read-only client and print the plan.

use std::io::Write;
use std::path::Path;

use roster_client::ReadClient;
use roster_model::{DesiredState, LiveState};
use roster_plan::{Plan, PlanOptions, SavedPlan};
use roster_render::TextOptions;

use crate::cli::{PlanArgs, PlanFormat};
use crate::commands::{Ui, validate};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};

/// Plans and prints; `--out` saves the plan with the desired state it was made from.
pub async fn run(args: &PlanArgs, ui: &Ui) -> CommandResult {
    if let Some(out) = &args.out {
        refuse_to_overwrite_inputs(out, &args.files.files)?;
    }
    let desired = validate::load(&args.files.files, ui)?;
    let client = ReadClient::new(client_config(&args.connection, desired.provider)?)
        .map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let live = fetch(&client, ui).await?;
    let options =
        PlanOptions { allow_deactivations: args.allow_deactivations, now: now(), ..PlanOptions::default() };
    let plan = roster_plan::plan(&desired, &live, &options);
    print_plan(&plan, args.format, ui)?;
    if let Some(out) = &args.out {
        save(out, &plan, &desired)?;
        ui.status(&format!("saved the plan to {}", out.display()));
    }
    verdict(&plan, args.detailed_exitcode, ui)
}

/// The time a plan is made at, read here since the planner reads no clock: an empty
/// duplicate team created within the hour before it may be deleted.
pub fn now() -> Option<roster_model::Timestamp> {
    roster_model::Timestamp::from_system_time(std::time::SystemTime::now())
}

/// Refuses an output path that is one of the desired-state files, or a `*.yaml` file in a
/// directory of them: `--out users.yaml` would replace the file with a plan.
pub fn refuse_to_overwrite_inputs(out: &Path, inputs: &[std::path::PathBuf]) -> Result<(), Failure> {
    let canonical = |path: &Path| std::fs::canonicalize(path).ok();
    let out_dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let out_is_yaml = out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    for input in inputs {
        let same_file = input.is_file() && canonical(input).is_some() && canonical(input) == canonical(out);
        let into_input_dir = input.is_dir() && out_is_yaml && canonical(input) == canonical(out_dir);
        if same_file || into_input_dir {
            return Err(Failure::error(format!(
                "refusing to write the plan to {}: it would replace desired-state input {}",
                out.display(),
                input.display()
            ))
            .with_hint("save plans under another name, e.g. --out plan.json"));
        }
    }
    Ok(())
}

/// Fetches the whole live state, with progress on stderr.
pub async fn fetch(client: &ReadClient, ui: &Ui) -> Result<LiveState, Failure> {
    let live =
        client.fetch_live().await.map_err(|err| client_failure("cannot fetch the live state", &err))?;
    ui.status(&format!("fetched {} users and {} groups", live.users.len(), live.groups.len()));
    Ok(live)
}

/// A client error as a failure, with the client's hint where it has one.
pub fn client_failure(context: &str, err: &roster_client::ClientError) -> Failure {
    let failure = Failure::from_error(context, err);
    match err.hint() {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}

/// Prints a plan on stdout in the chosen format.
pub fn print_plan(plan: &Plan, format: PlanFormat, ui: &Ui) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = match format {
        PlanFormat::Text => {
            roster_render::render_text(plan, &mut out, &TextOptions { color: ui.stdout_color })
        }
        PlanFormat::Markdown => roster_render::render_markdown(plan, &mut out),
        PlanFormat::Json => roster_render::render_json(plan, &mut out),
    };
    written.and_then(|()| out.flush()).map_err(|err| Failure::from_error("cannot write the plan", &err))
}

/// The exit code a plan earns: blocked plans fail, changes show with `--detailed-exitcode`.
pub fn verdict(plan: &Plan, detailed_exitcode: bool, ui: &Ui) -> CommandResult {
    for blocker in &plan.blockers {
        eprintln!("{}", ui.paint_error(&format!("error: {}", blocker.headline())));
        for reason in blocker.reasons() {
            eprintln!("  - {reason}");
        }
    }
    if plan.incomplete() {
        return Err(Failure::reported(Exit::Error, "the live view was incomplete"));
    }
    if plan.conflicted() {
        return Err(Failure::reported(Exit::Error, "the file and the live state disagree about who is who"));
    }
    if plan.rail_blocked() {
        return Err(Failure::reported(Exit::Blocked, "blocked by a safety rail"));
    }
    if detailed_exitcode && !plan.is_empty() {
        return Ok(Exit::Changes);
    }
    Ok(Exit::Success)
}

/// Writes a saved plan atomically: a reader never sees half a file.
pub fn save(path: &Path, plan: &Plan, desired: &DesiredState) -> Result<(), Failure> {
    let saved = SavedPlan { plan: plan.clone(), desired: desired.clone() };
    let mut text = serde_json::to_string_pretty(&saved)
        .map_err(|err| Failure::from_error("cannot serialise the plan", &err))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}

/// Writes a file through a temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |err: std::io::Error| Failure::from_error(&format!("cannot write {}", path.display()), &err);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(fail)
}
