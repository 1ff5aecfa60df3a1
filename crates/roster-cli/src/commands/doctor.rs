//! `roster doctor`: check the connection step by step and say how to fix what fails.

use roster_client::{ClientConfig, ReadClient, Token};
use roster_model::{Provider, ServiceCapabilities, UserAttribute};

use crate::cli::{ApiArgs, DoctorArgs};
use crate::commands::Ui;
use crate::connection::{PRODUCTBOARD_SCIM_URL, PRODUCTBOARD_TOKEN_PLACES};
use crate::failure::{CommandResult, Exit, Failure};

/// Runs the checks in order (URL, connection and TLS, token, then what the service
/// answers) and prints one line per check, with a fix under each failure. With a REST
/// token, the REST member list is checked too (see [`crate::commands::rest_check`]).
/// With a file that names `targets` (FILES, or `users.yaml` here when no `--url` is
/// given), every target is checked, a section each.
pub async fn run(args: &DoctorArgs, ui: &Ui) -> CommandResult {
    if let Some(desired) = multi_target_file(args, ui)? {
        crate::connection::refuse_single_target_connection(&args.connection, ui)?;
        let mut report = Report { ui, failures: 0 };
        for name in desired.target_names() {
            let Some(target) = desired.target(name.as_str()) else { continue };
            println!("== target {name} ({})", target.url);
            let token = crate::connection::target_config(target, &args.connection)
                .map_err(|failure| failure.message)
                .and_then(|config| config.token.ok_or_else(|| "no token".to_owned()));
            let fix = format!(
                "set the variable or file the file's targets.{name} names ({}) to the target's SCIM token",
                target.token
            );
            check_service(&mut report, target.url.clone(), token, &fix, None).await;
            println!();
        }
        return report.finish();
    }
    let mut report = Report { ui, failures: 0 };
    let url = args.connection.url.clone().unwrap_or_default();
    let token = match &args.connection.token_file {
        Some(path) => Token::from_file(path).map_err(|e| e.to_string()),
        None => Token::from_env().map_err(|e| e.to_string()),
    };
    let fix = format!("set ROSTER_SCIM_TOKEN or pass --token-file; {PRODUCTBOARD_TOKEN_PLACES}");
    check_service(&mut report, url, token, &fix, Some(&args.api)).await;
    report.finish()
}

/// The desired state when doctor is to check the targets of a file: FILES given, or no
/// `--url` and a `users.yaml` here, naming `targets`.
fn multi_target_file(args: &DoctorArgs, ui: &Ui) -> Result<Option<roster_model::DesiredState>, Failure> {
    if !args.files.is_empty() {
        let desired = crate::commands::validate::load(&args.files, crate::cli::today_utc(), ui)?;
        return Ok(desired.is_multi_target().then_some(desired));
    }
    // Implicitly, only a readable `users.yaml` naming targets counts: a doctor run for
    // the single-target connection must not fail on a file it was not asked about.
    let implicit = std::path::PathBuf::from("users.yaml");
    if args.connection.url.is_some() || !implicit.is_file() {
        return Ok(None);
    }
    let desired = roster_spec::read_sources(&[implicit])
        .ok()
        .and_then(|sources| roster_spec::load_as_of(&sources, Some(crate::cli::today_utc())).ok());
    Ok(desired.filter(roster_model::DesiredState::is_multi_target))
}

/// The checks of one service, into `report`.
async fn check_service(
    report: &mut Report<'_>,
    url: String,
    token: Result<Token, String>,
    token_fix: &str,
    api: Option<&ApiArgs>,
) {
    if url.trim().is_empty() {
        report.fail(
            "url",
            "no SCIM URL given",
            &format!("pass --url or set ROSTER_SCIM_URL (Productboard: {PRODUCTBOARD_SCIM_URL})"),
        );
        return;
    }
    // The URL alone: https, or http to loopback; nothing is sent yet.
    if let Err(err) = ReadClient::new(ClientConfig::new(url.clone(), Provider::Productboard)) {
        report.fail(
            "url",
            &err.to_string(),
            err.hint().unwrap_or("use https://, or http:// to a loopback address only"),
        );
        return;
    }
    let note = if url.trim_end_matches('/').ends_with("/scim/v2") {
        url.clone()
    } else {
        format!("{url} (SCIM base URLs usually end in /scim/v2; Productboard's is {PRODUCTBOARD_SCIM_URL})")
    };
    report.pass("url", &note);

    let mut config = ClientConfig::new(url.clone(), Provider::Productboard);
    config.token = token.as_ref().ok().cloned();
    // A diagnosis should answer quickly: one retry per step, not the full budget.
    config.max_attempts = 2;
    let client = match ReadClient::new(config) {
        Ok(client) => client,
        Err(err) => {
            report.fail("client", &err.to_string(), "see the error; `-v` shows more");
            return;
        }
    };
    let steps = client.probe().await;

    // Any HTTP answer at all means DNS, TCP and (for https) TLS worked.
    let connected = steps.iter().any(|step| step.status.is_some());
    let scheme =
        if url.starts_with("https://") { "TLS handshake and HTTP answer" } else { "HTTP answer (loopback)" };
    match (connected, steps.first()) {
        (true, _) => report.pass("connection", scheme),
        (false, Some(first)) => report.fail(
            "connection",
            first.result.as_ref().err().map_or("no answer", String::as_str),
            "check the host name, network access from this machine, proxies, and any TLS interception \
             (a corporate proxy's certificate is not trusted by roster)",
        ),
        (false, None) => report.fail("connection", "nothing was probed", "run with -v to see the requests"),
    }
    // A refused token fails every later request alike: it is one failure, of the token,
    // with one hint, not one per check.
    let refused = steps.iter().find(|step| matches!(step.status, Some(401 | 403)));
    match (&token, refused) {
        (Err(err), _) => report.fail("token", err, token_fix),
        (Ok(_), Some(step)) => {
            let status = step.status.unwrap_or_default();
            report.fail(
                "token",
                &format!("the service refused it ({status} to {})", step.request),
                &format!("use a token the service accepts for SCIM: {token_fix}"),
            );
            return;
        }
        (Ok(_), None) if connected => report.pass("token", "present (not shown), accepted"),
        (Ok(_), None) => report.pass("token", "present (not shown)"),
    }
    if !connected {
        if let Some(api) = api {
            rest_checks(report, api, &url, token.as_ref().ok()).await;
        }
        return;
    }
    for step in steps {
        let name = format!("{} ({})", step.name, step.request);
        match &step.result {
            Ok(found) => report.pass(&name, found),
            Err(err) => {
                report.fail(&name, err, step.hint.unwrap_or("see the error above; `-v` shows every request"))
            }
        }
    }
    if let Some(api) = api {
        rest_checks(report, api, &url, token.as_ref().ok()).await;
    }
    print_capabilities(client.capabilities().await);
}

/// The table of what the service declares (or what roster assumes where it declares
/// nothing): what plan and apply rely on.
fn print_capabilities(caps: &ServiceCapabilities) {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let known = |b: Option<bool>| b.map_or("unknown", yes);
    let mut rows: Vec<(String, String)> = vec![
        ("PATCH".into(), yes(caps.patch).into()),
        (
            "filter".into(),
            format!(
                "{}{}",
                yes(caps.filter),
                caps.filter_max_results.map(|m| format!(" (max {m})")).unwrap_or_default()
            ),
        ),
        ("sort".into(), yes(caps.sort).into()),
        ("ETag".into(), yes(caps.etag).into()),
        ("groups".into(), known(caps.groups).into()),
        ("enterprise extension".into(), known(caps.enterprise_extension).into()),
    ];
    for attribute in UserAttribute::ALL {
        rows.push((
            format!("user {}", attribute.scim_path()),
            caps.user_attribute(attribute).as_str().into(),
        ));
    }
    rows.push(("group externalId".into(), caps.group_external_id.as_str().into()));
    let required = |b: bool| if b { "required, sent" } else { "not required" };
    rows.push(("name.formatted".into(), required(caps.name_formatted_required).into()));
    rows.push(("members.$ref".into(), required(caps.member_ref_required).into()));
    println!("capabilities:");
    println!("  /ServiceProviderConfig: {}", caps.service_provider_config_source);
    println!("  /ResourceTypes: {}", caps.resource_types_source);
    println!("  /Schemas: {}", caps.schemas_source);
    let width = rows.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);
    for (name, value) in rows {
        println!("  {name:<width$}  {value}");
    }
}

/// The REST API's checks, when a REST token is given, after SCIM's.
async fn rest_checks(report: &mut Report<'_>, api: &ApiArgs, scim_url: &str, scim_token: Option<&Token>) {
    for check in crate::commands::rest_check::rest_checks(api, scim_url, scim_token).await {
        match &check.outcome {
            Ok(found) => report.pass(&check.name, found),
            Err((err, fix)) => report.fail(&check.name, err, fix),
        }
    }
}

struct Report<'a> {
    ui: &'a Ui,
    failures: usize,
}

impl Report<'_> {
    fn pass(&mut self, name: &str, detail: &str) {
        let mark = if self.ui.stdout_color { "\x1b[32m✓\x1b[0m" } else { "✓" };
        println!("{mark} {name}: {detail}");
    }

    fn fail(&mut self, name: &str, detail: &str, fix: &str) {
        self.failures += 1;
        let mark = if self.ui.stdout_color { "\x1b[31m✗\x1b[0m" } else { "✗" };
        println!("{mark} {name}: {detail}\n    fix: {fix}");
    }

    fn finish(self) -> CommandResult {
        match self.failures {
            0 => {
                println!("all checks passed");
                Ok(Exit::Success)
            }
            1 => Err(Failure::error("1 check failed")),
            n => Err(Failure::error(format!("{n} checks failed"))),
        }
    }
}
