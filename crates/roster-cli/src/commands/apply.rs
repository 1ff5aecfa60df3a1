//! `roster apply`: plan afresh (or check a saved plan against a fresh one), confirm,
//! apply phase by phase, report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use roster_apply::{ApplyOptions, ApplyReport, OperationReport, Outcome, Verified};
use roster_client::WriteClient;
use roster_plan::{Refusal, SavedPlan};

use crate::cli::{ApplyArgs, PlanFormat};
use crate::commands::plan::{
    ci_commit, fetch, plan_options, print_plan, render_context, verdict, write_atomically,
};
use crate::commands::{Ui, validate};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};
use crate::output::count;

/// Applies the desired state, or a saved plan.
pub async fn run(args: &ApplyArgs, ui: &Ui) -> CommandResult {
    let saved = args.plan.as_deref().map(read_saved_plan).transpose()?;
    // The edit and blocked checks need no service: refuse before connecting.
    if let Some(saved) = &saved {
        saved.verify().map_err(refusal)?;
        ui.status(&format!("the saved plan is as it was saved (digest {})", saved.digest));
    }
    // A saved plan is judged on the day it was made for, so that a plan reviewed on
    // Friday applies the same operations on Monday.
    let as_of = match &saved {
        Some(saved) => match (saved.plan.as_of, args.files.as_of) {
            (Some(pinned), Some(given)) if pinned != given => {
                return Err(Failure::error(format!(
                    "--as-of {given} differs from the day the saved plan was made for, {pinned}"
                ))
                .with_hint("a saved plan is applied as of its own day: leave out --as-of, or plan again"));
            }
            (Some(pinned), _) => pinned,
            (None, given) => given.unwrap_or_else(crate::cli::today_utc),
        },
        None => args.files.as_of_day(),
    };
    let desired = match &saved {
        Some(saved) => saved.desired.clone(),
        None => validate::load(&args.files.files, as_of, ui)?,
    };
    let config = client_config(&args.connection, desired.provider)?;
    let concurrency = config.concurrency;
    let client =
        WriteClient::new(config).map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let capabilities = client.reader().capabilities().await.clone();
    let live = fetch(client.reader(), ui).await?;
    // The rails' overrides come from this command line only, never from a saved plan:
    // a plan file is a reviewed artefact, not a permission.
    // Arrivals are news for the reviewer, not operations: a saved plan has no files to
    // ask git about, and its check compares operations only.
    let files_changed_at = if saved.is_none() { crate::git::last_change(&args.files.files) } else { None };
    let options = plan_options(&args.overrides, capabilities, as_of, files_changed_at);
    let plan = roster_plan::plan(&desired, &live, &options);

    if let Some(saved) = &saved {
        saved.check_against(&plan).map_err(refusal)?;
    }

    let context = render_context(desired.provider, client.reader(), None);
    print_plan(&plan, PlanFormat::Text, &context, ui)?;
    if plan.is_blocked() {
        return verdict(&plan, false, ui);
    }
    if plan.is_empty() {
        if let Some(path) = &args.report {
            let started_at = jiff::Timestamp::now();
            let mut report =
                roster_apply::apply(&plan, &client, &ApplyOptions::default(), ci_commit(), |_| {}).await;
            stamp(&mut report, started_at, &context);
            write_report(path, &report)?;
        }
        return Ok(Exit::Success);
    }
    if !args.auto_approve && saved.is_none() {
        confirm(plan.operations.len())?;
    }

    let apply_options = Arc::new(ApplyOptions { concurrency, ..ApplyOptions::default() });
    let on_interrupt = Arc::clone(&apply_options);
    let interrupt_watch = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::warn!("interrupted: finishing the operations in flight, starting no more");
        }
    });
    let progress = Progress::new(plan.operations.len() as u64, ui);
    let started_at = jiff::Timestamp::now();
    let mut report =
        roster_apply::apply(&plan, &client, &apply_options, ci_commit(), |op| progress.done(op)).await;
    stamp(&mut report, started_at, &context);
    interrupt_watch.abort();
    progress.finish();

    // What the service holds now, planned again: whatever is still different was not
    // taken by the service, whatever its answers said. An interrupted run stops here.
    let interrupted = apply_options.interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let replan_problem = if interrupted {
        None
    } else {
        match client.reader().fetch_live().await {
            Ok(after) => {
                let again = roster_plan::plan(&desired, &after, &options);
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

    if let Some(path) = &args.report {
        write_report(path, &report)?;
        ui.status(&format!("wrote the report to {}", path.display()));
    }
    let summary = &report.summary;
    let not_taken = report.not_taken.as_deref().unwrap_or_default();
    let unconfirmed = report
        .operations
        .iter()
        .filter(|op| matches!(op.outcome, Outcome::Done | Outcome::Adopted) && op.verified == Verified::No)
        .count();
    let line = format!(
        "applied: {} done, {} adopted, {} failed, {} skipped, {} confirmed by the service{}{}; {}",
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
    if let Some(problem) = &replan_problem {
        if unconfirmed == 0 {
            // Every operation was already confirmed by its answer or a read-back.
            ui.status(&format!("warning: {problem}"));
        } else {
            eprintln!(
                "{}",
                ui.paint_error(&format!("error: {problem}; {unconfirmed} operations stay unconfirmed"))
            );
        }
    }
    if !not_taken.is_empty() {
        eprintln!(
            "{}",
            ui.paint_error(&format!(
                "error: after apply, a fresh plan still has {} {}: the service did not take {}",
                not_taken.len(),
                if not_taken.len() == 1 { "operation" } else { "operations" },
                if not_taken.len() == 1 { "it" } else { "them" }
            ))
        );
        for line in not_taken {
            eprintln!("  - {line}");
        }
    }
    let confirmed = not_taken.is_empty() && (replan_problem.is_none() || unconfirmed == 0);
    if summary.is_complete() && confirmed {
        ui.status(&line);
        Ok(Exit::Success)
    } else {
        for op in report.operations.iter().filter(|op| op.outcome == Outcome::Failed) {
            eprintln!("failed: {}: {}", op.description, op.message.as_deref().unwrap_or("no message"));
        }
        Err(Failure { exit: Exit::Partial, message: line, hint: Some(
            "independent operations went through; fix the cause and run apply again: it plans afresh and converges"
                .to_owned(),
        ), reported: false })
    }
}

/// A refused saved plan as a failure (exit 1), with what to do about it.
fn refusal(refusal: Refusal) -> Failure {
    Failure::error(refusal.message()).with_hint(refusal.hint())
}

fn read_saved_plan(path: &std::path::Path) -> Result<SavedPlan, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::from_error(&format!("cannot read the plan {}", path.display()), &err))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|err| {
        Failure::error(format!(
            "{} cannot be read as a plan saved by `roster plan --out` (it was edited, or written by another \
             roster version): {err}",
            path.display()
        ))
    })?;
    // A version this roster does not know is said so, unless the content was edited: a
    // changed version number is tampering like any other edit, which `verify` names.
    if saved.plan.format_version != roster_plan::FORMAT_VERSION && saved.digest == saved.content_digest() {
        return Err(Failure::error(format!(
            "{} has plan format version {}, this roster reads version {}",
            path.display(),
            saved.plan.format_version,
            roster_plan::FORMAT_VERSION
        )));
    }
    Ok(saved)
}

/// Asks on the terminal; anything but `yes` declines. Without a terminal, refuses.
fn confirm(n_operations: usize) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::error("refusing to apply without confirmation: there is no terminal to ask on")
            .with_hint(
                "review the plan, then pass --auto-approve, or apply a reviewed plan with --plan FILE",
            ));
    }
    let these = if n_operations == 1 {
        "this operation".to_owned()
    } else {
        format!("these {n_operations} operations")
    };
    eprint!("\nApply {these}? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| Failure::from_error("cannot read the answer", &err))?;
    if answer.trim() == "yes" { Ok(()) } else { Err(Failure::error("apply cancelled; nothing was changed")) }
}

/// Adds what only the command line knows to a report: roster's version, the start and
/// end of the run, and the service's host.
fn stamp(report: &mut ApplyReport, started_at: jiff::Timestamp, context: &roster_render::Context) {
    report.roster_version = Some(env!("CARGO_PKG_VERSION").to_owned());
    report.started_at = Some(started_at.to_string());
    report.finished_at = Some(jiff::Timestamp::now().to_string());
    report.target_host.clone_from(&context.target_host);
}

fn write_report(path: &std::path::Path, report: &ApplyReport) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(report)
        .map_err(|err| Failure::from_error("cannot serialise the report", &err))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}

/// A progress bar on a terminal, a line per operation elsewhere (CI logs).
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    finished: std::cell::Cell<u64>,
    quiet: bool,
}

impl Progress {
    fn new(total: u64, ui: &Ui) -> Self {
        let bar = (std::io::stderr().is_terminal() && !ui.quiet).then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, total, finished: std::cell::Cell::new(0), quiet: ui.quiet }
    }

    fn done(&self, op: &OperationReport) {
        self.finished.set(self.finished.get() + 1);
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
                eprintln!("[{}/{}] {outcome}: {}{note}", self.finished.get(), self.total, op.description)
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
