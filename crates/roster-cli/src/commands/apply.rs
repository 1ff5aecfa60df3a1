//! `roster apply`: plan afresh (or check a saved plan against a fresh one), confirm,
//! apply phase by phase, report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use roster_apply::{ApplyOptions, ApplyReport};
use roster_client::WriteClient;
use roster_plan::{Refusal, SavedPlan};

use crate::cli::{ApplyArgs, PlanFormat};
use crate::commands::plan::{plan_settings, print_plan, render_context, verdict, write_atomically};
use crate::commands::target::{self, Planned, plan_one};
use crate::commands::{Ui, validate};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};

/// Applies the desired state, or a saved plan.
pub async fn run(args: &ApplyArgs, ui: &Ui) -> CommandResult {
    if let Some(path) = &args.plan
        && let Some(saved) = crate::commands::multi::read_saved(path)?
    {
        return crate::commands::multi::apply_saved(args, &saved, ui).await;
    }
    let saved = args.plan.as_deref().map(read_saved_plan).transpose()?;
    // The edit and blocked checks need no service: refuse before connecting.
    if let Some(saved) = &saved {
        saved.verify().map_err(refusal)?;
        ui.status(&format!("the saved plan is as it was saved (digest {})", saved.digest));
    }
    // A saved plan is judged on the day it was made for, so that a plan reviewed on
    // Friday applies the same operations on Monday.
    let as_of = match &saved {
        Some(saved) => saved_as_of(saved.plan.as_of, args.files.as_of)?,
        None => args.files.as_of_day(),
    };
    let desired = match &saved {
        Some(saved) => saved.desired.clone(),
        None => validate::load(&args.files.files, as_of, ui)?,
    };
    if desired.is_multi_target() {
        return crate::commands::multi::apply(args, &desired, as_of, None, ui).await;
    }
    crate::commands::multi::refuse_target_flag(&args.targets)?;
    let config = client_config(&args.connection, desired.provider)?;
    let concurrency = config.concurrency;
    let client =
        WriteClient::new(config).map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    // The rails' overrides come from this command line only, never from a saved plan:
    // a plan file is a reviewed artefact, not a permission.
    // Arrivals are news for the reviewer, not operations: a saved plan has no files to
    // ask git about, and its check compares operations only.
    let files_changed_at = if saved.is_none() { crate::git::last_change(&args.files.files) } else { None };
    let settings = plan_settings(&args.overrides, as_of, files_changed_at)?;
    let Planned { plan, options } = plan_one(client.reader(), &desired, &settings, ui).await?;

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
            write_report(path, &target::empty_report(&plan, &client, &context).await)?;
        }
        return Ok(Exit::Success);
    }
    if !args.auto_approve && saved.is_none() {
        confirm(plan.operations.len())?;
    }

    let apply_options = Arc::new(ApplyOptions { concurrency, ..ApplyOptions::default() });
    let interrupt_watch = watch_interrupt(vec![Arc::clone(&apply_options)]);
    let executed = target::execute(&plan, &client, &desired, &options, &apply_options, &context, ui).await;
    interrupt_watch.abort();

    if let Some(path) = &args.report {
        write_report(path, &executed.report)?;
        ui.status(&format!("wrote the report to {}", path.display()));
    }
    target::conclude(&executed, ui)
}

/// The day a saved plan is applied as of: the day it pins; `--as-of` may only repeat it.
pub fn saved_as_of(
    pinned: Option<roster_model::Date>,
    given: Option<roster_model::Date>,
) -> Result<roster_model::Date, Failure> {
    match (pinned, given) {
        (Some(pinned), Some(given)) if pinned != given => Err(Failure::error(format!(
            "--as-of {given} differs from the day the saved plan was made for, {pinned}"
        ))
        .with_hint("a saved plan is applied as of its own day: leave out --as-of, or plan again")),
        (Some(pinned), _) => Ok(pinned),
        (None, given) => Ok(given.unwrap_or_else(crate::cli::today_utc)),
    }
}

/// Sets every run's `interrupted` on Ctrl-C: the runs finish the operations in flight
/// and start no more.
pub fn watch_interrupt(runs: Vec<Arc<ApplyOptions>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            for run in &runs {
                run.interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            tracing::warn!("interrupted: finishing the operations in flight, starting no more");
        }
    })
}

/// A refused saved plan as a failure (exit 1), with what to do about it.
pub fn refusal(refusal: Refusal) -> Failure {
    Failure::error(refusal.message()).with_hint(refusal.hint())
}

pub fn read_saved_plan(path: &std::path::Path) -> Result<SavedPlan, Failure> {
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
pub fn confirm(n_operations: usize) -> Result<(), Failure> {
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

/// Writes a report as JSON, atomically.
pub fn write_report(path: &std::path::Path, report: &ApplyReport) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(report)
        .map_err(|err| Failure::from_error("cannot serialise the report", &err))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}
