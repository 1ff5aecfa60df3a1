//! `plan` and `apply` for a file with `targets:`: every selected target is fetched and
//! planned at once (each with its own client, pacing and capabilities), through the same
//! single-target run as a file without targets ([`crate::commands::target`]), on the
//! target's projection of the file (`DesiredState::for_target`).
//!
//! What holds across targets:
//! - `--target NAME` (repeatable) limits a run; an unknown name is an error listing the
//!   targets.
//! - `plan`: a target that cannot be fetched fails the plan (exit 1) naming the target,
//!   and no plan is printed: a plan of the other targets would read as the whole picture.
//! - `apply`: a target blocked by a rail blocks every target (exit 3); a target that
//!   cannot be fetched or planned (bad token, incomplete view, identity conflict) is an
//!   error (exit 1) for that target while the others are applied, since offboarding in the
//!   apps that can be reached should not wait for one that cannot. Targets are applied
//!   concurrently, each on its own; one failing does not stop the others.
//! - Exit codes aggregate, the worst wins: 1 > 3 > 4 > 2 > 0.

use std::sync::Arc;

use futures_util::future::join_all;
use roster_apply::{ApplyOptions, ApplyReport};
use roster_client::{ReadClient, WriteClient};
use roster_model::{DesiredState, Target};
use roster_plan::Plan;
use roster_render::Context;
use serde::Serialize;

use crate::cli::{ConnectionArgs, PlanFormat};
use crate::commands::Ui;
use crate::commands::plan::{ci_commit, client_failure, now_for_people, url_host};
use crate::commands::target::{self, PlanSettings, Planned, plan_one};
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

/// One target fetched and planned, with what its run needs next.
pub struct TargetRun<C> {
    /// The target.
    pub target: Target,
    /// The target's projection of the file: what its plan is made from.
    pub desired: DesiredState,
    /// The client the target was read through.
    pub client: C,
    /// The plan and its options.
    pub planned: Planned,
    /// What the renderers say about it.
    pub context: Context,
}

/// A target and how its fetch and plan ended.
pub type Outcome<C> = (Target, Result<TargetRun<C>, Failure>);

/// Connects to every selected target and plans each at once. `client` builds the
/// target's client from its settings; `reader` gives the read handle of it.
#[allow(clippy::too_many_arguments, reason = "the inputs of every target's plan, each once")]
pub async fn plan_all<C>(
    desired: &DesiredState,
    targets: &[&Target],
    connection: &ConnectionArgs,
    settings: &PlanSettings,
    for_commit: Option<&str>,
    client: impl Fn(roster_client::ClientConfig) -> Result<C, roster_client::ClientError>,
    reader: impl Fn(&C) -> &ReadClient + Copy,
    ui: &Ui,
) -> Vec<Outcome<C>> {
    let runs = targets.iter().map(|target| {
        let target = (*target).clone();
        let ui = ui.for_target(target.name.as_str());
        let setup = target_config(&target, connection).and_then(|config| {
            client(config).map_err(|err| {
                client_failure(&format!("target {}: cannot set up the SCIM client", target.name), &err)
            })
        });
        let projection = desired.for_target(target.name.as_str()).unwrap_or_default();
        async move {
            let client = match setup {
                Ok(client) => client,
                Err(failure) => return (target, Err(failure)),
            };
            match plan_one(reader(&client), &projection, settings, &ui).await {
                Ok(planned) => {
                    let context = Context {
                        provider: target.provider,
                        commit: for_commit
                            .map(str::to_owned)
                            .filter(|c| !c.trim().is_empty())
                            .or_else(ci_commit),
                        computed_at: Some(now_for_people()),
                        target_host: Some(url_host(reader(&client).base_url())),
                    };
                    let run =
                        TargetRun { target: target.clone(), desired: projection, client, planned, context };
                    (target, Ok(run))
                }
                Err(failure) => {
                    let message = format!("target {}: {}", target.name, failure.message);
                    (target, Err(Failure { message, ..failure }))
                }
            }
        }
    });
    join_all(runs).await
}

/// Prints every target's plan in one document, a section per target.
pub fn print_plans<C>(runs: &[&TargetRun<C>], format: PlanFormat, ui: &Ui) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written: std::io::Result<()> = (|| {
        match format {
            PlanFormat::Json => {
                let document = serde_json::json!({
                    "formatVersion": 1,
                    "targets": runs.iter().map(|run| (run.target.name.to_string(), serde_json::to_value(&run.planned.plan).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
                });
                serde_json::to_writer_pretty(&mut out, &document)?;
                writeln!(out)?;
            }
            PlanFormat::Markdown => {
                for run in runs {
                    writeln!(out, "## {}\n", run.target.name)?;
                    roster_render::render_markdown(&run.planned.plan, &mut out, &run.context)?;
                    writeln!(out)?;
                }
            }
            PlanFormat::Text => {
                for run in runs {
                    writeln!(
                        out,
                        "== target {} ({})\n",
                        run.target.name,
                        run.context.target_host.as_deref().unwrap_or_default()
                    )?;
                    roster_render::render_text(
                        &run.planned.plan,
                        &mut out,
                        &roster_render::TextOptions { color: ui.stdout_color, context: run.context.clone() },
                    )?;
                    writeln!(out)?;
                }
            }
        }
        out.flush()
    })();
    written.map_err(|err| Failure::from_error("cannot write the plan", &err))
}

/// The worst of two exits: 1 > 3 > 4 > 2 > 0.
pub fn worst(a: Exit, b: Exit) -> Exit {
    let rank = |exit: Exit| match exit {
        Exit::Success => 0,
        Exit::Changes => 1,
        Exit::Partial => 2,
        Exit::Blocked => 3,
        Exit::Error => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The exit of a command result.
fn exit_of(result: &CommandResult) -> Exit {
    match result {
        Ok(exit) => *exit,
        Err(failure) => failure.exit,
    }
}

/// Prints a target's failure (prefixed by nothing more: its message names the target).
fn report_failure(failure: &Failure, ui: &Ui) {
    if !failure.reported {
        eprintln!("{}", ui.paint_error(&failure.to_string()));
    }
}

/// The plan's verdict for one target, its lines prefixed by the target.
fn target_verdict(plan: &Plan, name: &str, detailed_exitcode: bool, ui: &Ui) -> Exit {
    for blocker in &plan.blockers {
        eprintln!("{}", ui.paint_error(&format!("error: {name}: {}", blocker.headline())));
        for reason in blocker.reasons() {
            eprintln!("  - {reason}");
        }
    }
    if plan.incomplete() || plan.conflicted() {
        Exit::Error
    } else if plan.rail_blocked() {
        Exit::Blocked
    } else if detailed_exitcode && !plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    }
}

/// The overall exit as a command result: the worst target's.
fn overall(exit: Exit, what: &str) -> CommandResult {
    match exit {
        Exit::Success | Exit::Changes => Ok(exit),
        Exit::Error => Err(Failure::reported(Exit::Error, format!("{what}: a target failed"))),
        Exit::Blocked => Err(Failure::reported(Exit::Blocked, "blocked by a safety rail")),
        Exit::Partial => Err(Failure::reported(Exit::Partial, "apply partly failed")),
    }
}

/// `roster plan` for a multi-target file.
pub async fn plan(
    args: &crate::cli::PlanArgs,
    desired: &DesiredState,
    as_of: roster_model::Date,
    ui: &Ui,
) -> CommandResult {
    refuse_single_target_connection(&args.connection, ui)?;
    let targets = select(desired, &args.targets)?;
    let settings = settings(&args.overrides, as_of, crate::git::last_change(&args.files.files));
    let outcomes = plan_all(
        desired,
        &targets,
        &args.connection,
        &settings,
        args.for_commit.as_deref(),
        ReadClient::new,
        |client| client,
        ui,
    )
    .await;
    let failures: Vec<&Failure> = outcomes.iter().filter_map(|(_, outcome)| outcome.as_ref().err()).collect();
    if !failures.is_empty() {
        for failure in &failures {
            report_failure(failure, ui);
        }
        return Err(Failure::reported(
            Exit::Error,
            format!("{} of {} targets could not be planned", failures.len(), outcomes.len()),
        ));
    }
    let runs: Vec<&TargetRun<ReadClient>> = outcomes.iter().filter_map(|(_, o)| o.as_ref().ok()).collect();
    print_plans(&runs, args.format, ui)?;
    let mut exit = Exit::Success;
    for run in &runs {
        exit = worst(
            exit,
            target_verdict(&run.planned.plan, run.target.name.as_str(), args.detailed_exitcode, ui),
        );
    }
    overall(exit, "plan")
}

/// The planner's settings of each target from this command line.
fn settings(
    overrides: &crate::cli::RailOverrides,
    as_of: roster_model::Date,
    files_changed_at: Option<String>,
) -> PlanSettings {
    crate::commands::plan::plan_settings(overrides, as_of, files_changed_at)
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
    /// `applied`, `unchanged`, `failed` (could not be fetched or planned: nothing sent),
    /// or `partial` (some operations failed or were not taken).
    pub status: &'static str,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The operations, when any were planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ApplyReport>,
}

/// `roster apply` for a multi-target file.
pub async fn apply(
    args: &crate::cli::ApplyArgs,
    desired: &DesiredState,
    as_of: roster_model::Date,
    saved: Option<&std::collections::BTreeMap<String, roster_plan::SavedPlan>>,
    ui: &Ui,
) -> CommandResult {
    refuse_single_target_connection(&args.connection, ui)?;
    let targets = select(desired, &args.targets)?;
    let files_changed_at = if saved.is_none() { crate::git::last_change(&args.files.files) } else { None };
    let settings = settings(&args.overrides, as_of, files_changed_at);
    let outcomes = plan_all(
        desired,
        &targets,
        &args.connection,
        &settings,
        None,
        WriteClient::new,
        WriteClient::reader,
        ui,
    )
    .await;

    let mut exit = Exit::Success;
    let mut sections = std::collections::BTreeMap::new();
    let mut runs = Vec::new();
    for (target, outcome) in outcomes {
        let checked = outcome.and_then(|run| match saved.and_then(|s| s.get(target.name.as_str())) {
            Some(saved) => saved.check_against(&run.planned.plan).map(|()| run).map_err(|refusal| {
                let failure = crate::commands::apply::refusal(refusal);
                Failure { message: format!("target {}: {}", target.name, failure.message), ..failure }
            }),
            None => Ok(run),
        });
        match checked {
            Ok(run) => runs.push(run),
            Err(failure) => {
                report_failure(&failure, ui);
                exit = worst(exit, failure.exit);
                sections.insert(
                    target.name.to_string(),
                    TargetReport { status: "failed", error: Some(failure.message.clone()), report: None },
                );
            }
        }
    }

    let shown: Vec<&TargetRun<WriteClient>> = runs.iter().collect();
    print_plans(&shown, PlanFormat::Text, ui)?;
    // A rail anywhere blocks everything; a target that cannot be planned safely is an
    // error of its own, and the others go on.
    let mut blocked = false;
    let mut appliable = Vec::new();
    for run in runs {
        let verdict = target_verdict(&run.planned.plan, run.target.name.as_str(), false, ui);
        exit = worst(exit, verdict);
        match verdict {
            Exit::Blocked => blocked = true,
            Exit::Error => {
                sections.insert(
                    run.target.name.to_string(),
                    TargetReport {
                        status: "failed",
                        error: Some(format!("target {}: the plan is not safe to apply", run.target.name)),
                        report: None,
                    },
                );
            }
            _ => appliable.push(run),
        }
    }
    if blocked {
        eprintln!(
            "{}",
            ui.paint_error("error: a target is blocked by a safety rail, so no target is applied")
        );
        return overall(exit, "apply");
    }
    let n_operations: usize = appliable.iter().map(|run| run.planned.plan.operations.len()).sum();
    if n_operations > 0 && !args.auto_approve && saved.is_none() {
        crate::commands::apply::confirm(n_operations)?;
    }

    let concurrency = usize::from(args.connection.concurrency);
    let options: Vec<Arc<ApplyOptions>> =
        appliable.iter().map(|_| Arc::new(ApplyOptions { concurrency, ..ApplyOptions::default() })).collect();
    let interrupt_watch = crate::commands::apply::watch_interrupt(options.clone());
    let executions = appliable.iter().zip(&options).map(|(run, apply_options)| async move {
        let ui = ui.for_target(run.target.name.as_str());
        if run.planned.plan.is_empty() {
            (None, target::empty_report(&run.planned.plan, &run.client, &run.context).await)
        } else {
            let executed = target::execute(
                &run.planned.plan,
                &run.client,
                &run.desired,
                &run.planned.options,
                apply_options,
                &run.context,
                &ui,
            )
            .await;
            let report = executed.report.clone();
            (Some(executed), report)
        }
    });
    let executed = join_all(executions).await;
    interrupt_watch.abort();

    let mut conclusions = Vec::new();
    for (run, (executed, report)) in appliable.iter().zip(executed) {
        let ui = ui.for_target(run.target.name.as_str());
        let (status, result) = match &executed {
            None => ("unchanged", Ok(Exit::Success)),
            Some(executed) => {
                let result = target::conclude(executed, &ui);
                (if result.is_ok() { "applied" } else { "partial" }, result)
            }
        };
        exit = worst(exit, exit_of(&result));
        sections
            .insert(run.target.name.to_string(), TargetReport { status, error: None, report: Some(report) });
        conclusions.push(result);
    }
    for failure in conclusions.iter().filter_map(|r| r.as_ref().err()) {
        report_failure(failure, ui);
    }
    if let Some(path) = &args.report {
        let document = MultiReport { format_version: 1, commit: ci_commit(), targets: sections };
        let mut text = serde_json::to_string_pretty(&document)
            .map_err(|err| Failure::from_error("cannot serialise the report", &err))?;
        text.push('\n');
        crate::commands::plan::write_atomically(path, text.as_bytes())?;
        ui.status(&format!("wrote the report to {}", path.display()));
    }
    overall(exit, "apply")
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
