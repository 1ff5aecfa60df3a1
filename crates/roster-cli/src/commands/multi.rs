//! `plan` and `apply` for a file with `targets:`: every selected target is fetched at
//! once (each with its own client, pacing and capabilities), planned from its projection
//! of the file by `roster_plan::plan_targets` (the single-target planner, per target,
//! then the cross-target summary and rail), and applied through the same single-target
//! run as a file without targets ([`crate::commands::target`]).
//!
//! What holds across targets:
//! - `--target NAME` (repeatable) limits a run; an unknown name is an error listing the
//!   targets.
//! - `plan`: a target that cannot be fetched fails the plan (exit 1) naming the target,
//!   and no plan is printed: a plan of the other targets would read as the whole picture.
//! - `apply`: a blocked multi-plan (a target's rail, the cross-target rail, a target whose
//!   view was incomplete or conflicted) applies nowhere. A target that cannot be fetched
//!   at all (a refused token, an unreachable host) is left out and is an error (exit 1),
//!   while the others are planned and applied, since offboarding in the apps that can be
//!   reached should not wait for one that cannot. Targets are applied concurrently, each
//!   on its own; one failing does not stop the others.
//! - Exit codes aggregate, the worst wins: 1 > 3 > 4 > 2 > 0.

use std::sync::Arc;

use futures_util::future::join_all;
use roster_apply::{ApplyOptions, ApplyReport};
use roster_client::{ReadClient, WriteClient};
use roster_model::{DesiredState, LiveState, Target};
use roster_plan::targets::{MultiOverrides, MultiRefusal, TargetInput};
use roster_plan::{MultiPlan, PlanOptions, SavedMultiPlan};
use roster_render::MultiContext;
use serde::Serialize;

use crate::cli::{ConnectionArgs, PlanFormat};
use crate::commands::Ui;
use crate::commands::plan::{ci_commit, client_failure, now_for_people};
use crate::commands::target::{self, PlanSettings, fetch_one};
use crate::connection::{refuse_single_target_connection, target_config};
use crate::failure::{CommandResult, Exit, Failure};

/// The targets a run covers: those named by `--target`, else all; sorted by name.
pub fn select<'a>(desired: &'a DesiredState, wanted: &[String]) -> Result<Vec<&'a Target>, Failure> {
    let names = desired.target_names();
    let listed = || names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
    if let Some(unknown) = wanted.iter().find(|w| desired.target(w).is_none()) {
        return Err(Failure::error(format!(
            "--target {unknown}: no such target; the file names {}",
            listed()
        )));
    }
    Ok(names
        .into_iter()
        .filter(|name| wanted.is_empty() || wanted.iter().any(|w| w == name.as_str()))
        .filter_map(|name| desired.target(name.as_str()))
        .collect())
}

/// Refuses `--target` for a file without `targets:`.
pub fn refuse_target_flag(wanted: &[String]) -> Result<(), Failure> {
    match wanted.first() {
        Some(name) => Err(Failure::error(format!(
            "--target {name}: the files name no `targets`, so there is only the one service"
        ))
        .with_hint("leave out --target, or add a `targets:` map to the file")),
        None => Ok(()),
    }
}

/// One target fetched, with what its plan and run need next.
pub struct Fetched<C> {
    /// The target.
    pub target: Target,
    /// The client the target was read through.
    pub client: C,
    /// Its live state.
    pub live: LiveState,
    /// The planner's options for it (capabilities, day, moment), before the overrides.
    pub options: PlanOptions,
}

/// A target and how its fetch ended.
pub type Outcome<C> = (Target, Result<Fetched<C>, Failure>);

/// Connects to every selected target and fetches each at once, each with its own client,
/// pacing and capabilities. `client` builds the target's client from its settings;
/// `reader` gives the read handle of it.
pub async fn fetch_all<C>(
    targets: &[Target],
    connection: &ConnectionArgs,
    settings: &PlanSettings,
    client: impl Fn(roster_client::ClientConfig) -> Result<C, roster_client::ClientError>,
    reader: impl Fn(&C) -> &ReadClient + Copy,
    ui: &Ui,
) -> Vec<Outcome<C>> {
    let runs = targets.iter().map(|target| {
        let target = target.clone();
        let ui = ui.for_target(target.name.as_str());
        let setup = target_config(&target, connection).and_then(|config| {
            client(config).map_err(|err| {
                client_failure(&format!("target {}: cannot set up the SCIM client", target.name), &err)
            })
        });
        async move {
            let client = match setup {
                Ok(client) => client,
                Err(failure) => return (target, Err(failure)),
            };
            match fetch_one(reader(&client), settings, &ui).await {
                Ok((live, options)) => {
                    let fetched = Fetched { target: target.clone(), client, live, options };
                    (target, Ok(fetched))
                }
                Err(failure) => {
                    let message = format!("target {}: {}", target.name, failure.message);
                    // The client's hint names the single-target token's places.
                    let hint = failure.hint.map(|hint| {
                        hint.replace(
                            "the token comes from ROSTER_SCIM_TOKEN, or the file named by --token-file",
                            &format!(
                                "target {}'s token comes from the {} that the file names",
                                target.name, target.token
                            ),
                        )
                    });
                    (target, Err(Failure { message, hint, ..failure }))
                }
            }
        }
    });
    join_all(runs).await
}

/// The targets' rails' overrides from this command line (never from a saved plan).
fn overrides(flags: &crate::cli::RailOverrides, names: &[&str]) -> Result<MultiOverrides, Failure> {
    MultiOverrides::parse(&flags.allow_deactivations, &flags.allow_removals, &flags.allow_paid_seats, names)
        .map_err(|err| Failure::error(err.0))
}

/// The planner's inputs of the fetched targets.
fn inputs<C>(fetched: &[Fetched<C>]) -> Vec<TargetInput<'_>> {
    fetched
        .iter()
        .map(|f| TargetInput { target: f.target.name.as_str(), live: &f.live, options: f.options.clone() })
        .collect()
}

/// Prints a multi-target plan in the chosen format.
pub fn print_multi(
    multi: &MultiPlan,
    desired: &DesiredState,
    format: PlanFormat,
    for_commit: Option<&str>,
    ui: &Ui,
) -> Result<(), Failure> {
    use std::io::Write;
    let commit = for_commit.map(str::to_owned).filter(|c| !c.trim().is_empty()).or_else(ci_commit);
    let contexts = MultiContext::of(desired, commit, Some(now_for_people()));
    let mut out = std::io::stdout().lock();
    let written = match format {
        PlanFormat::Text => roster_render::render_multi_text(
            multi,
            &mut out,
            &roster_render::TextOptions { color: ui.stdout_color, ..Default::default() },
            &contexts,
        ),
        PlanFormat::Markdown => roster_render::render_multi_markdown(multi, &mut out, &contexts),
        PlanFormat::Json => roster_render::render_multi_json(multi, &mut out),
    };
    written.and_then(|()| out.flush()).map_err(|err| Failure::from_error("cannot write the plan", &err))
}

/// The exit code of a multi-target plan, the worst wins: 1 for a target whose view was
/// incomplete or conflicted, 3 for a rail (a target's or the cross-target one), 2 with
/// `--detailed-exitcode` for changes. Prints the blockers on stderr.
fn verdict(multi: &MultiPlan, detailed_exitcode: bool, ui: &Ui) -> Exit {
    for blocker in &multi.blockers {
        eprintln!("{}", ui.paint_error(&format!("error: {}", blocker.headline())));
    }
    let mut codes = vec![multi.exit_code(detailed_exitcode)];
    for target in &multi.targets {
        if target.plan.incomplete() || target.plan.conflicted() {
            codes.push(1);
        }
    }
    exit_from_code(roster_plan::targets::worst_exit_code(codes))
}

/// An exit code as an [`Exit`].
fn exit_from_code(code: u8) -> Exit {
    match code {
        0 => Exit::Success,
        2 => Exit::Changes,
        3 => Exit::Blocked,
        4 => Exit::Partial,
        _ => Exit::Error,
    }
}

/// The worst of two exits: 1 > 3 > 4 > 2 > 0.
pub fn worst(a: Exit, b: Exit) -> Exit {
    exit_from_code(roster_plan::targets::worst_exit_code([a as u8, b as u8]))
}

/// The exit of a command result.
fn exit_of(result: &CommandResult) -> Exit {
    match result {
        Ok(exit) => *exit,
        Err(failure) => failure.exit,
    }
}

/// Prints a failure that was not printed yet.
fn report_failure(failure: &Failure, ui: &Ui) {
    if !failure.reported {
        eprintln!("{}", ui.paint_error(&failure.to_string()));
    }
}

/// The overall exit as a command result: the worst target's.
fn overall(exit: Exit) -> CommandResult {
    match exit {
        Exit::Success | Exit::Changes => Ok(exit),
        Exit::Error => Err(Failure::reported(Exit::Error, "a target failed")),
        Exit::Blocked => Err(Failure::reported(Exit::Blocked, "blocked by a safety rail")),
        Exit::Partial => Err(Failure::reported(Exit::Partial, "apply partly failed")),
    }
}

/// The targets of a run, cloned: those selected from the file.
fn selected(desired: &DesiredState, wanted: &[String]) -> Result<Vec<Target>, Failure> {
    Ok(select(desired, wanted)?.into_iter().cloned().collect())
}

/// `roster plan` for a multi-target file.
pub async fn plan(
    args: &crate::cli::PlanArgs,
    desired: &DesiredState,
    as_of: roster_model::Date,
    ui: &Ui,
) -> CommandResult {
    refuse_single_target_connection(&args.connection, ui)?;
    let targets = selected(desired, &args.targets)?;
    let names: Vec<&str> = desired.targets.iter().map(|t| t.name.as_str()).collect();
    let overrides = overrides(&args.overrides, &names)?;
    let settings = settings(as_of, crate::git::last_change(&args.files.files));
    let outcomes =
        fetch_all(&targets, &args.connection, &settings, ReadClient::new, |client| client, ui).await;
    let mut fetched = Vec::new();
    let mut failures = Vec::new();
    for (_, outcome) in outcomes {
        match outcome {
            Ok(f) => fetched.push(f),
            Err(failure) => failures.push(failure),
        }
    }
    if !failures.is_empty() {
        // A plan of the other targets would read as the whole picture: none is printed.
        for failure in &failures {
            report_failure(failure, ui);
        }
        return Err(Failure::reported(
            Exit::Error,
            format!("{} of {} targets could not be fetched; no plan", failures.len(), targets.len()),
        ));
    }
    let multi = roster_plan::plan_targets(desired, &inputs(&fetched), &overrides);
    print_multi(&multi, desired, args.format, args.for_commit.as_deref(), ui)?;
    if let Some(out) = &args.out {
        let saved = SavedMultiPlan::new(multi.clone(), desired);
        let mut text = serde_json::to_string_pretty(&saved)
            .map_err(|err| Failure::from_error("cannot serialise the plan", &err))?;
        text.push('\n');
        crate::commands::plan::write_atomically(out, text.as_bytes())?;
        let note = if multi.is_blocked() {
            " for review only: it is blocked, so `roster apply --plan` will refuse it"
        } else {
            ""
        };
        ui.status(&format!("saved the plan to {} (digest {}){note}", out.display(), saved.digest));
    }
    overall(verdict(&multi, args.detailed_exitcode, ui))
}

/// The planner's settings of each target; the overrides come per target from
/// [`MultiOverrides`].
fn settings(as_of: roster_model::Date, files_changed_at: Option<String>) -> PlanSettings {
    PlanSettings {
        allow_deactivations: None,
        allow_removals: None,
        allow_paid_seats: None,
        as_of,
        files_changed_at,
    }
}

/// Applies a saved multi-target plan: refused before connecting when edited or blocked
/// when saved; applied as of its own day, to the services it names.
pub async fn apply_saved(args: &crate::cli::ApplyArgs, saved: &SavedMultiPlan, ui: &Ui) -> CommandResult {
    saved.verify().map_err(|refused| refusal(&refused))?;
    ui.status(&format!("the saved plan is as it was saved (digest {})", saved.digest));
    let pinned = saved.targets.iter().find_map(|t| t.saved.plan.as_of);
    let as_of = crate::commands::apply::saved_as_of(pinned, args.files.as_of)?;
    if saved.connections.len() != saved.targets.len() {
        return Err(Failure::error(
            "the saved plan does not name the services of its targets (made by another roster version); plan again",
        ));
    }
    let desired = DesiredState {
        policy: saved.policy.clone(),
        targets: saved.connections.clone(),
        ..DesiredState::default()
    };
    apply(args, &desired, as_of, Some(saved), ui).await
}

/// Reads a saved plan file of a multi-target file; `None` when the file is a
/// single-target saved plan.
pub fn read_saved(path: &std::path::Path) -> Result<Option<SavedMultiPlan>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::from_error(&format!("cannot read the plan {}", path.display()), &err))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
        Failure::error(format!(
            "{} cannot be read as a plan saved by `roster plan --out`: {err}",
            path.display()
        ))
    })?;
    if value.get("kind").and_then(serde_json::Value::as_str) != Some("multiTarget") {
        return Ok(None);
    }
    serde_json::from_value(value).map(Some).map_err(|err| {
        Failure::error(format!(
            "{} cannot be read as a multi-target plan saved by `roster plan --out` (it was edited, or written \
             by another roster version): {err}",
            path.display()
        ))
    })
}

/// A refused saved multi-target plan as a failure (exit 1), naming the targets.
fn refusal(refusal: &MultiRefusal) -> Failure {
    Failure::error(refusal.message()).with_hint(refusal.hint())
}

/// What `apply --report` writes for a multi-target file: a section per target.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiReport {
    /// The version of this document's shape.
    pub format_version: u32,
    /// The commit the desired state came from (`GITHUB_SHA` where set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Each selected target's report, by name.
    pub targets: std::collections::BTreeMap<String, TargetReport>,
}

/// One target's section of a [`MultiReport`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    /// `applied`, `unchanged`, `partial` (some operations failed or were not taken),
    /// `blocked` (the plan was blocked: nothing sent anywhere), or `failed` (could not be
    /// fetched: nothing sent).
    pub status: &'static str,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The operations, when the target was planned and applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ApplyReport>,
}

/// `roster apply` for a multi-target file, or a saved multi-target plan.
pub async fn apply(
    args: &crate::cli::ApplyArgs,
    desired: &DesiredState,
    as_of: roster_model::Date,
    saved: Option<&SavedMultiPlan>,
    ui: &Ui,
) -> CommandResult {
    refuse_single_target_connection(&args.connection, ui)?;
    // A saved plan is applied to the targets it was made for.
    let wanted = match saved {
        Some(saved) => {
            let names: Vec<String> = saved.target_names().into_iter().map(str::to_owned).collect();
            let mut given = args.targets.clone();
            given.sort();
            given.dedup();
            if !given.is_empty() && given != names {
                return Err(Failure::error(format!(
                    "--target {}: the saved plan covers {}; apply it whole, or plan again with the same --target",
                    given.join(" --target "),
                    names.join(", ")
                )));
            }
            names
        }
        None => args.targets.clone(),
    };
    let targets = selected(desired, &wanted)?;
    let names: Vec<&str> = desired.targets.iter().map(|t| t.name.as_str()).collect();
    let overrides = overrides(&args.overrides, &names)?;
    let files_changed_at = if saved.is_none() { crate::git::last_change(&args.files.files) } else { None };
    let settings = settings(as_of, files_changed_at);
    let outcomes =
        fetch_all(&targets, &args.connection, &settings, WriteClient::new, WriteClient::reader, ui).await;

    let mut exit = Exit::Success;
    let mut sections = std::collections::BTreeMap::new();
    let mut fetched = Vec::new();
    for (target, outcome) in outcomes {
        match outcome {
            Ok(f) => fetched.push(f),
            Err(failure) => {
                // The others go on: offboarding in the apps that can be reached does not
                // wait for one that cannot.
                report_failure(&failure, ui);
                exit = worst(exit, failure.exit);
                sections.insert(
                    target.name.to_string(),
                    TargetReport { status: "failed", error: Some(failure.message.clone()), report: None },
                );
            }
        }
    }
    let multi = match saved {
        Some(saved) => {
            let multi = saved.replan(&inputs(&fetched), &overrides);
            if let Err(refused) = saved.check_against(&multi) {
                return Err(refusal(&refused));
            }
            multi
        }
        None => roster_plan::plan_targets(desired, &inputs(&fetched), &overrides),
    };
    print_multi(&multi, desired, PlanFormat::Text, None, ui)?;
    if multi.is_blocked() {
        // A rail anywhere, or a target whose view cannot be trusted, blocks every target.
        exit = worst(exit, verdict(&multi, false, ui));
        eprintln!("{}", ui.paint_error("error: the plan is blocked, so no target is applied"));
        let why: Vec<String> = multi.blockers.iter().map(|b| b.headline()).collect();
        for planned in &multi.targets {
            sections.insert(
                planned.target.to_string(),
                TargetReport { status: "blocked", error: Some(why.join("; ")), report: None },
            );
        }
        write_multi_report(args.report.as_deref(), sections, ui)?;
        return overall(exit);
    }
    if !multi.is_empty() && !args.auto_approve && saved.is_none() {
        let n_operations = multi.targets.iter().map(|t| t.plan.operations.len()).sum();
        crate::commands::apply::confirm(n_operations)?;
    }

    let concurrency = usize::from(args.connection.concurrency);
    let options: Vec<Arc<ApplyOptions>> =
        fetched.iter().map(|_| Arc::new(ApplyOptions { concurrency, ..ApplyOptions::default() })).collect();
    let interrupt_watch = crate::commands::apply::watch_interrupt(options.clone());
    let contexts = MultiContext::of(desired, ci_commit(), Some(now_for_people()));
    let executions = fetched.iter().zip(&options).map(|(f, apply_options)| {
        let name = f.target.name.as_str();
        let plan = multi.target(name);
        let context = contexts.targets.get(name).cloned().unwrap_or_default();
        let projection = match saved {
            Some(saved) => {
                saved.targets.iter().find(|t| t.target.as_str() == name).map(|t| t.saved.desired.clone())
            }
            None => desired.for_target(name),
        };
        let plan_options = overrides.options_for(name, f.options.clone());
        let ui = ui.for_target(name);
        async move {
            let (Some(plan), Some(projection)) = (plan, projection) else { return None };
            if plan.is_empty() {
                return Some((None, target::empty_report(plan, &f.client, &context).await));
            }
            let executed =
                target::execute(plan, &f.client, &projection, &plan_options, apply_options, &context, &ui)
                    .await;
            let report = executed.report.clone();
            Some((Some(executed), report))
        }
    });
    let executed = join_all(executions).await;
    interrupt_watch.abort();

    for (f, result) in fetched.iter().zip(executed) {
        let name = f.target.name.to_string();
        let target_ui = ui.for_target(&name);
        let Some((executed, report)) = result else {
            exit = worst(exit, Exit::Error);
            sections.insert(
                name,
                TargetReport { status: "failed", error: Some("not planned".into()), report: None },
            );
            continue;
        };
        let (status, result) = match &executed {
            None => ("unchanged", Ok(Exit::Success)),
            Some(executed) => {
                let result = target::conclude(executed, &target_ui);
                (if result.is_ok() { "applied" } else { "partial" }, result)
            }
        };
        if let Err(failure) = &result {
            // Its message starts with the target's name.
            report_failure(failure, ui);
        }
        exit = worst(exit, exit_of(&result));
        sections.insert(name, TargetReport { status, error: None, report: Some(report) });
    }
    write_multi_report(args.report.as_deref(), sections, ui)?;
    overall(exit)
}

/// Writes `--report` with a section per target.
fn write_multi_report(
    path: Option<&std::path::Path>,
    sections: std::collections::BTreeMap<String, TargetReport>,
    ui: &Ui,
) -> Result<(), Failure> {
    let Some(path) = path else { return Ok(()) };
    let document = MultiReport { format_version: 1, commit: ci_commit(), targets: sections };
    let mut text = serde_json::to_string_pretty(&document)
        .map_err(|err| Failure::from_error("cannot serialise the report", &err))?;
    text.push('\n');
    crate::commands::plan::write_atomically(path, text.as_bytes())?;
    ui.status(&format!("wrote the report to {}", path.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_exit_wins() {
        use Exit::*;
        let order = [Error, Blocked, Partial, Changes, Success];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i..] {
                assert_eq!(worst(*a, *b), *a, "{a:?} over {b:?}");
                assert_eq!(worst(*b, *a), *a, "{a:?} over {b:?}");
            }
        }
    }
}
