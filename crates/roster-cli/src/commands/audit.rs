//! `roster audit`: the file and SCIM cross-checked against Productboard's REST member
//! list. Read-only: it holds a `ReadClient` and a `MembersClient`, neither of which has a
//! method that writes.

use std::io::Write;

use roster_client::{MembersClient, ReadClient};
use roster_model::Completeness;
use roster_plan::audit::{AuditReport, audit};

use crate::cli::{AuditArgs, PlanFormat};
use crate::commands::plan::{client_failure, fetch};
use crate::commands::{Ui, validate};
use crate::connection::{api_config, client_config};
use crate::failure::{CommandResult, Exit, Failure};

/// Reads the file, SCIM and the member list, prints the report; exit 2 with
/// `--detailed-exitcode` when something differs, 1 when either view is incomplete.
pub async fn run(args: &AuditArgs, ui: &Ui) -> CommandResult {
    let desired = validate::load(&args.files.files, args.files.as_of_day(), ui)?;
    if desired.is_multi_target() {
        return multi(args, &desired, ui).await;
    }
    let scim_config = client_config(&args.connection, desired.provider)?;
    let rest_config = api_config(&args.api, &scim_config)?;
    let scim = ReadClient::new(scim_config)
        .map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let rest = MembersClient::new(rest_config)
        .map_err(|err| Failure::from_error("cannot set up the REST API client", &err))?;
    let live = fetch(&scim, ui).await?;
    refuse_incomplete("the SCIM view", &live.completeness, "no audit is reported", ui)?;
    let paged = rest
        .fetch_members()
        .await
        .map_err(|err| client_failure("cannot fetch the REST member list", &err))?;
    let pages = if paged.pages == 1 { "1 page".to_owned() } else { format!("{} pages", paged.pages) };
    ui.status(&format!("fetched {} members in {pages} from {}", paged.members.len(), rest.base_url()));
    refuse_incomplete("the REST member list", &paged.completeness, "no audit is reported", ui)?;
    let report = audit(&desired, &live, &paged.members);
    print(&report, args.format)?;
    if args.detailed_exitcode && !report.is_clean() {
        return Ok(Exit::Changes);
    }
    Ok(Exit::Success)
}

/// `roster audit` for a file that names `targets`: each target whose file entry names a
/// REST API token (`api_token_env`/`api_token_file`) is audited on its projection of the
/// file, one after another, a section each; the others are skipped with a note. The REST
/// URL is `--api-url`/`ROSTER_API_URL`, else Productboard's, for every target.
async fn multi(args: &AuditArgs, desired: &roster_model::DesiredState, ui: &Ui) -> CommandResult {
    crate::connection::refuse_single_target_connection(&args.connection, ui)?;
    let mut exit = Exit::Success;
    let mut audited = 0;
    // JSON is one document, `{"targets": {NAME: report}}`; text and Markdown a section each.
    let mut json = serde_json::Map::new();
    for name in desired.target_names() {
        let Some(target) = desired.target(name.as_str()) else { continue };
        let Some(api_token) = crate::connection::target_api_token(target)? else {
            ui.status(&format!(
                "note: target {name} is not audited: its entry names no REST API token (api_token_env or \
                 api_token_file)"
            ));
            continue;
        };
        let ui = ui.for_target(name.as_str());
        let scim_config = crate::connection::target_config(target, &args.connection)?;
        let mut rest_config =
            roster_client::ClientConfig::new(crate::connection::api_url(&args.api), target.provider);
        rest_config.token = Some(api_token);
        rest_config.max_requests_per_second = scim_config.max_requests_per_second;
        rest_config.request_timeout = scim_config.request_timeout;
        let scim = ReadClient::new(scim_config).map_err(|err| {
            Failure::from_error(&format!("target {name}: cannot set up the SCIM client"), &err)
        })?;
        let rest = MembersClient::new(rest_config).map_err(|err| {
            Failure::from_error(&format!("target {name}: cannot set up the REST API client"), &err)
        })?;
        let live = fetch(&scim, &ui).await?;
        refuse_incomplete(
            &format!("target {name}: the SCIM view"),
            &live.completeness,
            "no audit is reported",
            &ui,
        )?;
        let paged = rest.fetch_members().await.map_err(|err| {
            client_failure(&format!("target {name}: cannot fetch the REST member list"), &err)
        })?;
        refuse_incomplete(
            &format!("target {name}: the REST member list"),
            &paged.completeness,
            "no audit is reported",
            &ui,
        )?;
        let projection = desired.for_target(name.as_str()).unwrap_or_default();
        let report = audit(&projection, &live, &paged.members);
        match args.format {
            PlanFormat::Json => {
                let value = serde_json::to_value(&report)
                    .map_err(|err| Failure::from_error("cannot serialise the report", &err))?;
                json.insert(name.to_string(), value);
            }
            PlanFormat::Markdown => {
                println!("## {name}\n");
                print(&report, args.format)?;
            }
            PlanFormat::Text => {
                println!("== target {name}");
                print(&report, args.format)?;
            }
        }
        audited += 1;
        if args.detailed_exitcode && !report.is_clean() {
            exit = Exit::Changes;
        }
    }
    if audited == 0 {
        return Err(Failure::error("no target names a REST API token, so there is nothing to audit")
            .with_hint("add api_token_env or api_token_file to a productboard target"));
    }
    if args.format == PlanFormat::Json {
        let document = serde_json::json!({ "formatVersion": 1, "targets": json });
        let text = serde_json::to_string_pretty(&document)
            .map_err(|err| Failure::from_error("cannot serialise the report", &err))?;
        println!("{text}");
    }
    Ok(exit)
}

/// An audit (or export) from half a list would name people as missing who are not: an
/// incomplete view is an error, with its reasons; `nothing` says what is not produced.
pub fn refuse_incomplete(
    what: &str,
    completeness: &Completeness,
    nothing: &str,
    ui: &Ui,
) -> Result<(), Failure> {
    let Completeness::Incomplete(reasons) = completeness else { return Ok(()) };
    eprintln!("{}", ui.paint_error(&format!("error: {what} was incomplete; {nothing}")));
    for reason in reasons {
        eprintln!("  - {reason}");
    }
    Err(Failure::reported(Exit::Error, format!("{what} was incomplete")))
}

fn print(report: &AuditReport, format: PlanFormat) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = match format {
        PlanFormat::Text => roster_render::render_audit_text(report, &mut out),
        PlanFormat::Markdown => roster_render::render_audit_markdown(report, &mut out),
        PlanFormat::Json => roster_render::render_audit_json(report, &mut out),
    };
    written.and_then(|()| out.flush()).map_err(|err| Failure::from_error("cannot write the report", &err))
}
