//! `roster doctor`: check the connection step by step and say how to fix what fails.

use roster_client::{ClientConfig, ReadClient, Token};
use roster_model::Provider;

use crate::cli::ConnectionArgs;
use crate::commands::Ui;
use crate::connection::{PRODUCTBOARD_SCIM_URL, PRODUCTBOARD_TOKEN_PLACES};
use crate::failure::{CommandResult, Exit, Failure};

/// Runs the checks in order (URL, connection and TLS, token, then what the service
/// answers) and prints one line per check, with a fix under each failure.
pub async fn run(args: &ConnectionArgs, ui: &Ui) -> CommandResult {
    let mut report = Report { ui, failures: 0 };
    let url = args.url.clone().unwrap_or_default();
    if url.trim().is_empty() {
        report.fail(
            "url",
            "no SCIM URL given",
            &format!("pass --url or set ROSTER_SCIM_URL (Productboard: {PRODUCTBOARD_SCIM_URL})"),
        );
        return report.finish();
    }
    // The URL alone: https, or http to loopback; nothing is sent yet.
    if let Err(err) = ReadClient::new(ClientConfig::new(url.clone(), Provider::Productboard)) {
        report.fail(
            "url",
            &err.to_string(),
            err.hint().unwrap_or("use https://, or http:// to a loopback address only"),
        );
        return report.finish();
    }
    let note = if url.trim_end_matches('/').ends_with("/scim/v2") {
        url.clone()
    } else {
        format!("{url} (SCIM base URLs usually end in /scim/v2; Productboard's is {PRODUCTBOARD_SCIM_URL})")
    };
    report.pass("url", &note);

    let token = match &args.token_file {
        Some(path) => Token::from_file(path).map_err(|e| e.to_string()),
        None => Token::from_env().map_err(|e| e.to_string()),
    };
    let mut config = ClientConfig::new(url.clone(), Provider::Productboard);
    config.token = token.as_ref().ok().cloned();
    // A diagnosis should answer quickly: one retry per step, not the full budget.
    config.max_attempts = 2;
    let client =
        ReadClient::new(config).map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
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
        (Err(err), _) => report.fail(
            "token",
            err,
            &format!("set ROSTER_SCIM_TOKEN or pass --token-file; {PRODUCTBOARD_TOKEN_PLACES}"),
        ),
        (Ok(_), Some(step)) => {
            let status = step.status.unwrap_or_default();
            report.fail(
                "token",
                &format!("the service refused it ({status} to {})", step.request),
                &format!(
                    "use a token the service accepts for SCIM, in ROSTER_SCIM_TOKEN or --token-file; \
                     {PRODUCTBOARD_TOKEN_PLACES}"
                ),
            );
            return report.finish();
        }
        (Ok(_), None) if connected => report.pass("token", "present (not shown), accepted"),
        (Ok(_), None) => report.pass("token", "present (not shown)"),
    }
    if !connected {
        return report.finish();
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
    report.finish()
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
