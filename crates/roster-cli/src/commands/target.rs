//! One target's run, as functions of (connection, a single-target desired state, options):
//! fetch and plan ([`plan_one`]), then apply, re-read and re-plan ([`execute`]), then say
//! how it went ([`conclude`]). The single-target `plan` and `apply` call them once; a
//! file with `targets:` calls them once per target, concurrently.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;

use indicatif::{ProgressBar, ProgressStyle};
use roster_apply::{ApplyOptions, ApplyReport, OperationReport, Outcome, Verified};
use roster_client::{ReadClient, WriteClient};
use roster_model::{DesiredState, LiveState};
use roster_plan::{Plan, PlanOptions};
use roster_render::Context;

use crate::commands::Ui;
use crate::commands::plan::{ci_commit, fetch};
use crate::failure::{CommandResult, Exit, Failure};
use crate::output::count;

/// What a target's plan is made with besides the desired and live states.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// `--allow-deactivations`, for this target's own rail.
    pub allow_deactivations: Option<u64>,
    /// `--allow-removals`, for this target's own rail.
    pub allow_removals: Option<u64>,
    /// `--allow-paid-seats`, for this target's own rail.
    pub allow_paid_seats: Option<u64>,
    /// The day dates are judged on.
    pub as_of: roster_model::Date,
    /// When the desired files last changed (for arrivals), if known.
    pub files_changed_at: Option<String>,
}

/// A target fetched and planned.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The options it was made with, for the re-plan after apply.
    pub options: PlanOptions,
}

/// Reads what the service declares and fetches its live state: the live state, and the
/// planner's options for it (its capabilities, the settings).
pub async fn fetch_one(
    client: &ReadClient,
    settings: &PlanSettings,
    ui: &Ui,
) -> Result<(LiveState, PlanOptions), Failure> {
    let capabilities = client.capabilities().await.clone();
    let live = fetch(client, ui).await?;
    Ok((live, crate::commands::plan::plan_options(settings, capabilities)))
}

/// Reads what the service declares, fetches its live state and plans `desired` against it.
pub async fn plan_one(
    client: &ReadClient,
    desired: &DesiredState,
    settings: &PlanSettings,
    ui: &Ui,
) -> Result<Planned, Failure> {
    let (live, options) = fetch_one(client, settings, ui).await?;
    let plan = roster_plan::plan(desired, &live, &options);
    Ok(Planned { plan, options })
}

/// How an apply went, before anything is printed about it.
#[derive(Debug)]
pub struct Executed {
    /// Every operation and its outcome.
    pub report: ApplyReport,
    /// Why the changes could not be confirmed by a re-plan, if they could not.
    pub replan_problem: Option<String>,
}

/// Applies a plan that is not blocked and not empty, then re-reads the service and plans
/// again: whatever is still different was not taken by the service. The `ui`'s label
/// names the target in progress lines when several run at once.
/// `apply_options.interrupted`, set from a signal handler, stops it starting operations.
pub async fn execute(
    plan: &Plan,
    client: &WriteClient,
    desired: &DesiredState,
    options: &PlanOptions,
    apply_options: &ApplyOptions,
    context: &Context,
    ui: &Ui,
) -> Executed {
    let progress = Progress::new(plan.operations.len() as u64, ui);
    let started_at = jiff::Timestamp::now();
    let mut report =
        roster_apply::apply(plan, client, apply_options, ci_commit(), |op| progress.done(op)).await;
    stamp(&mut report, started_at, context);
    progress.finish();

    // What the service holds now, planned again: whatever is still different was not
    // taken by the service, whatever its answers said. An interrupted run stops here.
    let replan_problem = if apply_options.interrupted.load(Ordering::SeqCst) {
        None
    } else {
        match client.reader().fetch_live().await {
            Ok(after) => {
                let again = roster_plan::plan(desired, &after, options);
                if again.incomplete() {
                    Some(
                        "the live state fetched after apply was incomplete, so the changes could not be confirmed"
                            .to_owned(),
                    )
                } else {
                    report.record_replan(&again);
                    None
                }
            }
            Err(err) => {
                Some(format!("cannot fetch the live state after apply to confirm the changes: {err}"))
            }
        }
    };
    Executed { report, replan_problem }
}

/// Prints how an apply went (prefixed by `label` where several targets ran) and gives
/// its exit: success only when everything was done and confirmed, else partial (exit 4).
pub fn conclude(executed: &Executed, ui: &Ui) -> CommandResult {
    let prefix = ui.prefix();
    let report = &executed.report;
    let summary = &report.summary;
    let not_taken = report.not_taken.as_deref().unwrap_or_default();
    let unconfirmed = report
        .operations
        .iter()
        .filter(|op| matches!(op.outcome, Outcome::Done | Outcome::Adopted) && op.verified == Verified::No)
        .count();
    let line = format!(
        "{prefix}applied: {} done, {} adopted, {} failed, {} skipped, {} confirmed by the service{}{}; {}",
        summary.done,
        summary.adopted,
        summary.failed,
        summary.skipped,
        summary.verified,
        if not_taken.is_empty() {
            String::new()
        } else {
            format!(", {} not taken by the service", not_taken.len())
        },
        if summary.skipped_members > 0 {
            format!(", {} left out", count(summary.skipped_members as usize, "member"))
        } else {
            String::new()
        },
        count(summary.requests as usize, "request")
    );
    if let Some(problem) = &executed.replan_problem {
        if unconfirmed == 0 {
            // Every operation was already confirmed by its answer or a read-back.
            ui.status(&format!("warning: {problem}"));
        } else {
            eprintln!(
                "{}",
                ui.paint_error(&format!(
                    "error: {prefix}{problem}; {unconfirmed} operations stay unconfirmed"
                ))
            );
        }
    }
    if !not_taken.is_empty() {
        eprintln!(
            "{}",
            ui.paint_error(&format!(
                "error: {prefix}after apply, a fresh plan still has {} {}: the service did not take {}",
                not_taken.len(),
                if not_taken.len() == 1 { "operation" } else { "operations" },
                if not_taken.len() == 1 { "it" } else { "them" }
            ))
        );
        for line in not_taken {
            eprintln!("  - {line}");
        }
    }
    let confirmed = not_taken.is_empty() && (executed.replan_problem.is_none() || unconfirmed == 0);
    if summary.is_complete() && confirmed {
        ui.status(line.strip_prefix(&prefix).unwrap_or(&line));
        Ok(Exit::Success)
    } else {
        for op in report.operations.iter().filter(|op| op.outcome == Outcome::Failed) {
            eprintln!(
                "{prefix}failed: {}: {}",
                op.description,
                op.message.as_deref().unwrap_or("no message")
            );
        }
        Err(Failure { exit: Exit::Partial, message: line, hint: Some(
            "independent operations went through; fix the cause and run apply again: it plans afresh and converges"
                .to_owned(),
        ), reported: false })
    }
}

/// The report of an empty plan: nothing sent, the service's host and the time named.
pub async fn empty_report(plan: &Plan, client: &WriteClient, context: &Context) -> ApplyReport {
    let started_at = jiff::Timestamp::now();
    let mut report = roster_apply::apply(plan, client, &ApplyOptions::default(), ci_commit(), |_| {}).await;
    stamp(&mut report, started_at, context);
    report
}

/// Adds what only the command line knows to a report: roster's version, the start and
/// end of the run, and the service's host.
fn stamp(report: &mut ApplyReport, started_at: jiff::Timestamp, context: &Context) {
    report.roster_version = Some(env!("CARGO_PKG_VERSION").to_owned());
    report.started_at = Some(started_at.to_string());
    report.finished_at = Some(jiff::Timestamp::now().to_string());
    report.target_host.clone_from(&context.target_host);
}

/// A progress bar on a terminal for one target, a line per operation elsewhere (CI logs,
/// and several targets at once, whose lines name their target).
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    finished: std::sync::atomic::AtomicU64,
    quiet: bool,
    prefix: String,
}

impl Progress {
    fn new(total: u64, ui: &Ui) -> Self {
        let bar = (std::io::stderr().is_terminal() && !ui.quiet && ui.label.is_none()).then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            finished: std::sync::atomic::AtomicU64::new(0),
            quiet: ui.quiet,
            prefix: ui.prefix(),
        }
    }

    fn done(&self, op: &OperationReport) {
        let finished = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = match (op.outcome, op.verified) {
            (Outcome::Done, Verified::Answer) => "done, the answer shows it",
            (Outcome::Done, Verified::ReadBack) => "done, a read-back shows it",
            (Outcome::Done, _) => "accepted, to be confirmed by the re-plan",
            (Outcome::Adopted, _) => "adopted",
            (Outcome::Failed, _) => "FAILED",
            (Outcome::Skipped, _) => "skipped",
        };
        match &self.bar {
            Some(bar) => {
                // Printed above the bar, so that the list of what was done stays on
                // screen when the bar clears.
                bar.println(format!("  {outcome}: {}", op.description));
                bar.set_message(format!("{outcome}: {}", op.description));
                bar.inc(1);
            }
            None if !self.quiet => {
                let note = match (op.outcome, &op.message) {
                    (Outcome::Done | Outcome::Adopted, Some(message)) => format!(" ({message})"),
                    _ => String::new(),
                };
                eprintln!("{}[{finished}/{}] {outcome}: {}{note}", self.prefix, self.total, op.description)
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
