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
