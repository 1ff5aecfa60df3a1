//! `roster export`: one row per user for an access review, as CSV or JSON, with the
//! commit that last changed each user's entry (one `git blame` per file, see
//! [`crate::blame`]). Read-only; the network only with `--live`, through the same
//! read-only client and connection settings as `plan`.

use std::collections::BTreeMap;
use std::io::Write;

use roster_client::ReadClient;
use roster_model::LiveState;
use roster_plan::export::{EXPORT_VERSION, ExportDocument, export_rows, export_targets};

use crate::cli::{ExportArgs, ExportFormat};
use crate::commands::audit::refuse_incomplete;
use crate::commands::plan::{fetch, refuse_to_overwrite_inputs, write_atomically};
use crate::commands::{Ui, validate};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};
use crate::output::{count, redact_secrets};

/// Reads the files (and with `--live` the service), writes the export.
pub async fn run(args: &ExportArgs, ui: &Ui) -> CommandResult {
    if let Some(out) = &args.out {
        refuse_to_overwrite_inputs(out, &args.files.files)?;
    }
    let as_of = args.files.as_of_day();
    let desired = validate::load(&args.files.files, as_of, ui)?;
    let last_changes = crate::blame::last_changes(&desired);
    let n_from_git = last_changes.iter().filter(|c| c.is_some()).count();
    let export = if desired.is_multi_target() {
        let live = if args.live { fetch_targets(args, &desired, ui).await? } else { BTreeMap::new() };
        export_targets(&desired, as_of, &last_changes, &live)
    } else {
        let live = if args.live { Some(fetch_live(args, desired.provider, ui).await?) } else { None };
        export_rows(&desired, as_of, &last_changes, live.as_ref())
    };
    for warning in &export.warnings {
        ui.status(&format!("warning: {warning}"));
    }
    let document = ExportDocument {
        version: EXPORT_VERSION,
        generated_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now())
            .to_string(),
        as_of,
        files: args.files.files.iter().map(|f| f.display().to_string()).collect(),
        live: args.live,
        rows: export.rows,
    };
    let mut bytes = Vec::new();
    match args.format {
        ExportFormat::Csv => roster_render::render_export_csv(&document, &mut bytes),
        ExportFormat::Json => roster_render::render_export_json(&document, &mut bytes),
    }
    .map_err(|err| Failure::from_error("cannot write the export", &err))?;
    // Every value is a Rust string, so the export is UTF-8; a token pasted into the file
    // (or an author name) does not leave in it.
    let text =
        String::from_utf8(bytes).map_err(|err| Failure::from_error("cannot write the export", &err))?;
    let text = redact_secrets(&text);
    match &args.out {
        Some(out) => write_atomically(out, text.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|err| Failure::from_error("cannot write the export", &err))?;
        }
    }
    let git = if n_from_git == 0 {
        "no git history found for the files (commit, author and date are empty)".to_owned()
    } else {
        format!("git history for {} of {}", n_from_git, desired.users.len())
    };
    let target = args.out.as_ref().map(|out| format!(" to {}", out.display())).unwrap_or_default();
    ui.status(&format!("exported {}{target}; {git}", count(document.rows.len(), "row")));
    Ok(Exit::Success)
}

/// The live state through the read-only client, complete or not at all: an export from
/// half a list would show people as absent from the service who are not.
async fn fetch_live(
    args: &ExportArgs,
    provider: roster_model::Provider,
    ui: &Ui,
) -> Result<LiveState, Failure> {
    let client = ReadClient::new(client_config(&args.connection, provider)?)
        .map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let live = fetch(&client, ui).await?;
    refuse_incomplete("the live view", &live.completeness, "nothing is exported", ui)?;
    Ok(live)
}

/// For a file with `targets`: every target's live state, each through its own read-only
/// client (its URL and token from the file), each complete or the run fails.
async fn fetch_targets(
    args: &ExportArgs,
    desired: &roster_model::DesiredState,
    ui: &Ui,
) -> Result<BTreeMap<String, LiveState>, Failure> {
    crate::connection::refuse_single_target_connection(&args.connection, ui)?;
    let mut live = BTreeMap::new();
    for name in desired.target_names() {
        let Some(target) = desired.target(name.as_str()) else { continue };
        let ui = ui.for_target(name.as_str());
        let client =
            ReadClient::new(crate::connection::target_config(target, &args.connection)?).map_err(|err| {
                Failure::from_error(&format!("target {name}: cannot set up the SCIM client"), &err)
            })?;
        let state = fetch(&client, &ui).await?;
        refuse_incomplete(
            &format!("target {name}: the live view"),
            &state.completeness,
            "nothing is exported",
            &ui,
        )?;
        live.insert(name.to_string(), state);
    }
    Ok(live)
}
