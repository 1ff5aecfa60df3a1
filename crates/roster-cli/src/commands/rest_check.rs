//! `roster doctor`'s checks of Productboard's REST API, run when a REST token is given:
//! does the member list answer with it, and does the SCIM token open it too?

use roster_client::{ClientConfig, MembersClient, Token};
use roster_model::Provider;

use crate::cli::ApiArgs;
use crate::connection::{API_TOKEN_HINT, api_token, api_url};

/// One line of the doctor's report: what was found, or what failed and its fix.
pub struct Check {
    /// What was checked.
    pub name: String,
    /// What was found, or what failed and how to fix it.
    pub outcome: Result<String, (String, String)>,
}

fn check(name: impl Into<String>, outcome: Result<String, (String, String)>) -> Check {
    Check { name: name.into(), outcome }
}

/// `scheme://host[:port]` of a URL, lower-case: where a token would go.
fn origin(url: &str) -> String {
    let url = url.trim().to_lowercase();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            format!("{scheme}://{}", rest.split(['/', '?', '#']).next().unwrap_or_default())
        }
        None => url,
    }
}

async fn probe(url: &str, token: Token) -> Result<roster_client::ProbeStep, String> {
    let mut config = ClientConfig::new(url.to_owned(), Provider::Productboard);
    config.token = Some(token);
    // A diagnosis should answer quickly: one retry, not the full budget.
    config.max_attempts = 2;
    let client = MembersClient::new(config).map_err(|err| err.to_string())?;
    Ok(client.probe().await)
}

/// The REST checks; none when no REST token is given. The SCIM token is tried on the
/// REST API only when both are served from the same origin: roster never sends a token
/// to a host it was not given for.
pub async fn rest_checks(api: &ApiArgs, scim_url: &str, scim_token: Option<&Token>) -> Vec<Check> {
    let token = match api_token(api) {
        Ok(Some(token)) => token,
        Ok(None) => return Vec::new(),
        Err(failure) => return vec![check("REST token", Err((failure.message, API_TOKEN_HINT.to_owned())))],
    };
    let url = api_url(api);
    let mut checks = vec![check("REST token", Ok("present (not shown)".to_owned()))];
    match probe(&url, token).await {
        Err(err) => checks.push(check(
            "REST API URL",
            Err((err, "use https://, or http:// to a loopback address only".to_owned())),
        )),
        Ok(step) => {
            let fix = step.hint.unwrap_or("see the error above; `-v` shows every request").to_owned();
            checks.push(check(
                format!("{} ({} on {url})", step.name, step.request),
                step.result.map_err(|e| (e, fix)),
            ));
        }
    }
    let Some(scim_token) = scim_token else { return checks };
    let name = "SCIM token on the REST API";
    if origin(&url) != origin(scim_url) {
        checks.push(check(
            name,
            Ok(format!(
                "not tried: the REST API ({}) is on another host than SCIM, and roster sends the SCIM token nowhere \
                 else",
                origin(&url)
            )),
        ));
        return checks;
    }
    let found = match probe(&url, scim_token.clone()).await {
        Ok(step) => match (&step.result, step.status) {
            (Ok(_), _) => {
                "it works: the SCIM token carries REST API rights too, so guard it like a REST API token"
                    .to_owned()
            }
            (Err(_), Some(status @ (401 | 403))) => {
                format!(
                    "refused ({status}): the SCIM token carries no REST API rights; audit needs the REST token"
                )
            }
            (Err(err), _) => format!("could not tell: {err}"),
        },
        Err(err) => format!("could not tell: {err}"),
    };
    checks.push(check(name, Ok(found)));
    checks
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(origin("https://API.productboard.com/scim/v2"), "https://api.productboard.com");
        assert_eq!(origin("https://api.productboard.com"), "https://api.productboard.com");
        assert_eq!(origin("http://127.0.0.1:8080/scim/v2"), "http://127.0.0.1:8080");
        assert_ne!(origin("http://127.0.0.1:8080/scim/v2"), origin("http://127.0.0.1:8081"));
    }
}
