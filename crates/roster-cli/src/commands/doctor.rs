//! `roster doctor`: check the connection step by step and say how to fix what fails.

use roster_client::{ReadClient, Token};
use roster_model::Provider;

use crate::cli::ConnectionArgs;
use crate::commands::Ui;
use crate::connection::{PRODUCTBOARD_SCIM_URL, client_config};
use crate::failure::{CommandResult, Exit, Failure};

/// Runs every check it can and prints one line per check, with a fix under each failure.
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
    let token = match &args.token_file {
        Some(path) => Token::from_file(path).map_err(|e| e.to_string()),
        None => Token::from_env().map_err(|e| e.to_string()),
    };
    match &token {
        Ok(_) => report.pass("token", "present (not shown)"),
        Err(err) => report.fail(
            "token",
            err,
            "set ROSTER_SCIM_TOKEN or pass --token-file; Productboard's SCIM token is shown once when SCIM is \
             switched on under Settings → Security, and is not a REST API token",
        ),
    }
    let config = match client_config(args, Provider::Productboard) {
        Ok(config) => config,
        Err(_) if token.is_err() => return report.finish(),
        Err(failure) => return Err(failure),
    };
    let client = match ReadClient::new(config) {
        Ok(client) => {
            let note = if url.trim_end_matches('/').ends_with("/scim/v2") {
                url.clone()
            } else {
                format!(
                    "{url} (SCIM base URLs usually end in /scim/v2; Productboard's is {PRODUCTBOARD_SCIM_URL})"
                )
            };
            report.pass("url", &note);
            client
        }
        Err(err) => {
            report.fail(
                "url",
                &err.to_string(),
                err.hint().unwrap_or("use https://, or http:// to a loopback address only"),
            );
            return report.finish();
        }
    };
    for step in client.probe().await {
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
        if self.failures == 0 {
            println!("all checks passed");
            Ok(Exit::Success)
        } else {
            Err(Failure::error(format!("{} of the checks failed", self.failures)))
        }
    }
}
