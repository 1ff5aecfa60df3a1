//! `roster plan`: fetch the live state through a read-only client and print the plan.

use std::io::Write;
use std::path::Path;

use roster_client::ReadClient;
use roster_model::{DesiredState, LiveState, Provider, ServiceCapabilities};
use roster_plan::{Plan, PlanOptions, SavedPlan};
use roster_render::{Context, TextOptions};

use crate::cli::{PlanArgs, PlanFormat, RailOverrides};
use crate::commands::target::{PlanSettings, Planned, plan_one};
use crate::commands::{Ui, validate};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};
use crate::output::count;

/// Plans and prints; `--out` saves the plan with the desired state it was made from.
pub async fn run(args: &PlanArgs, ui: &Ui) -> CommandResult {
    if let Some(out) = &args.out {
        refuse_to_overwrite_inputs(out, &args.files.files)?;
    }
    let as_of = args.files.as_of_day();
    let desired = validate::load(&args.files.files, as_of, ui)?;
    if desired.is_multi_target() {
        return crate::commands::multi::plan(args, &desired, as_of, ui).await;
    }
    crate::commands::multi::refuse_target_flag(&args.targets)?;
    let client = ReadClient::new(client_config(&args.connection, desired.provider)?)
        .map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let settings = plan_settings(&args.overrides, as_of, crate::git::last_change(&args.files.files))?;
    let Planned { plan, .. } = plan_one(&client, &desired, &settings, ui).await?;
    let context = render_context(desired.provider, &client, args.for_commit.as_deref());
    print_plan(&plan, args.format, &context, ui)?;
    if let Some(out) = &args.out {
        let digest = save(out, &plan, &desired)?;
        if plan.is_blocked() {
            ui.status(&format!(
                "saved the plan to {} (digest {digest}) for review only: it is blocked, so `roster apply \
                 --plan` will refuse it",
                out.display()
            ));
        } else {
            ui.status(&format!("saved the plan to {} (digest {digest})", out.display()));
        }
    }
    verdict(&plan, args.detailed_exitcode, ui)
}

/// The settings of a plan from this command line: the rails' overrides (never from a
/// saved plan), the day dates are judged on, when the desired files last changed.
pub fn plan_settings(
    overrides: &RailOverrides,
    as_of: roster_model::Date,
    files_changed_at: Option<String>,
) -> Result<PlanSettings, Failure> {
    let [allow_deactivations, allow_removals, allow_paid_seats] =
        overrides.single().map_err(Failure::error)?;
    Ok(PlanSettings { allow_deactivations, allow_removals, allow_paid_seats, as_of, files_changed_at })
}

/// The planner's options for a run: the settings, what the service keeps, and the
/// moment of planning (read here, since the planner reads no clock: an empty duplicate
/// team created within the hour before it may be deleted).
pub fn plan_options(settings: &PlanSettings, capabilities: ServiceCapabilities) -> PlanOptions {
    PlanOptions {
        allow_deactivations: settings.allow_deactivations,
        allow_removals: settings.allow_removals,
        allow_paid_seats: settings.allow_paid_seats,
        capabilities,
        as_of: Some(settings.as_of),
        files_changed_at: settings.files_changed_at.clone(),
        now: now(),
        ..PlanOptions::default()
    }
}

/// The moment of planning, from this machine's clock.
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
    ui.status(&format!(
        "fetched {} and {}",
        count(live.users.len(), "user"),
        count(live.groups.len(), "group")
    ));
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

/// The commit CI runs for (`GITHUB_SHA`, else `CI_COMMIT_SHA`), if any.
pub fn ci_commit() -> Option<String> {
    ["GITHUB_SHA", "CI_COMMIT_SHA"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// The host (and port, if any) of a URL the client accepted, for plans and reports:
/// it names the service without its path.
pub fn url_host(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.split(['/', '?', '#']).next().unwrap_or_default().to_owned()
}

/// The current time in UTC to the minute, as plans show it.
pub fn now_for_people() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// What the renderers say a plan was computed for: the provider, the commit
/// (`--for-commit`, else CI's), the time of the live read and the service's host.
pub fn render_context(provider: Provider, client: &ReadClient, for_commit: Option<&str>) -> Context {
    Context {
        provider,
        commit: for_commit.map(str::to_owned).filter(|c| !c.trim().is_empty()).or_else(ci_commit),
        computed_at: Some(now_for_people()),
        target_host: Some(url_host(client.base_url())),
    }
}

/// Prints a plan on stdout in the chosen format.
pub fn print_plan(plan: &Plan, format: PlanFormat, context: &Context, ui: &Ui) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = match format {
        PlanFormat::Text => roster_render::render_text(
            plan,
            &mut out,
            &TextOptions { color: ui.stdout_color, context: context.clone() },
        ),
        PlanFormat::Markdown => roster_render::render_markdown(plan, &mut out, context),
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

/// Writes a saved plan, with the digest of its content, atomically: a reader never sees
/// half a file. Returns the digest, which `apply --plan` checks the content against.
pub fn save(path: &Path, plan: &Plan, desired: &DesiredState) -> Result<String, Failure> {
    let saved = SavedPlan::new(plan.clone(), desired.clone());
    let mut text = serde_json::to_string_pretty(&saved)
        .map_err(|err| Failure::from_error("cannot serialise the plan", &err))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())?;
    Ok(saved.digest)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("https://api.productboard.com/scim/v2"), "api.productboard.com");
        assert_eq!(url_host("http://127.0.0.1:8080/scim/v2"), "127.0.0.1:8080");
        assert_eq!(url_host("https://[::1]:9000"), "[::1]:9000");
    }
}
