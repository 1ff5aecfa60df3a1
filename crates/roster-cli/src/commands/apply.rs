//! `roster apply`: plan afresh (or check a saved plan against a fresh one), confirm,
//! apply phase by phase, report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use roster_apply::{ApplyOptions, ApplyReport, OperationReport, Outcome};
use roster_client::WriteClient;
use roster_plan::{PlanOptions, SavedPlan};

use crate::cli::{ApplyArgs, PlanFormat};
use crate::commands::plan::{fetch, now, print_plan, verdict, write_atomically};
use crate::commands::{Ui, validate};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};

/// Applies the desired state, or a saved plan.
pub async fn run(args: &ApplyArgs, ui: &Ui) -> CommandResult {
    let saved = args.plan.as_deref().map(read_saved_plan).transpose()?;
    let desired = match &saved {
        Some(saved) => saved.desired.clone(),
        None => validate::load(&args.files.files, ui)?,
    };
    let config = client_config(&args.connection, desired.provider)?;
    let concurrency = config.concurrency;
    let client =
        WriteClient::new(config).map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let live = fetch(client.reader(), ui).await?;
    let allow_deactivations = match &saved {
        Some(saved) => saved.plan.deactivation_rail.allow_deactivations,
        None => args.allow_deactivations,
    };
    let options = PlanOptions { allow_deactivations, now: now(), ..PlanOptions::default() };
    let plan = roster_plan::plan(&desired, &live, &options);

    if let Some(saved) = &saved {
        let differences = roster_plan::compare(&saved.plan, &plan);
        if !differences.is_empty() {
            let mut message = String::from(
                "the saved plan is stale: the live state changed since it was made, and applying it now \
                 would do something else than what was reviewed",
            );
            for difference in &differences {
                message.push_str("\n  - ");
                message.push_str(difference);
            }
            return Err(
                Failure::error(message).with_hint("run `roster plan --out` again and review the new plan")
            );
        }
    }

    print_plan(&plan, PlanFormat::Text, ui)?;
    if plan.is_blocked() {
        return verdict(&plan, false, ui);
    }
    if plan.is_empty() {
        if let Some(path) = &args.report {
            let report =
                roster_apply::apply(&plan, &client, &ApplyOptions::default(), commit(), |_| {}).await;
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
    let report = roster_apply::apply(&plan, &client, &apply_options, commit(), |op| progress.done(op)).await;
    interrupt_watch.abort();
    progress.finish();

    if let Some(path) = &args.report {
        write_report(path, &report)?;
        ui.status(&format!("wrote the report to {}", path.display()));
    }
    let summary = &report.summary;
    let line = format!(
        "applied: {} done, {} adopted, {} failed, {} skipped{}; {} requests",
        summary.done,
        summary.adopted,
        summary.failed,
        summary.skipped,
        if summary.skipped_members > 0 {
            format!(", {} members left out", summary.skipped_members)
        } else {
            String::new()
        },
        summary.requests
    );
    if summary.is_complete() {
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

/// The commit the desired state came from, where CI says.
fn commit() -> Option<String> {
    ["GITHUB_SHA", "CI_COMMIT_SHA"].iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn read_saved_plan(path: &std::path::Path) -> Result<SavedPlan, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::from_error(&format!("cannot read the plan {}", path.display()), &err))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|err| {
        Failure::error(format!("{} is not a plan saved by `roster plan --out`: {err}", path.display()))
    })?;
    if saved.plan.format_version != roster_plan::FORMAT_VERSION {
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
    eprint!("\nApply these {n_operations} operations? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| Failure::from_error("cannot read the answer", &err))?;
    if answer.trim() == "yes" { Ok(()) } else { Err(Failure::error("apply cancelled; nothing was changed")) }
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
        let outcome = match op.outcome {
            Outcome::Done => "done",
            Outcome::Adopted => "adopted",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
        };
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{outcome}: {}", op.description));
                bar.inc(1);
            }
            None if !self.quiet => {
                eprintln!("[{}/{}] {outcome}: {}", self.finished.get(), self.total, op.description)
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
