//! How to reach the SCIM service: the URL from `--url` or `ROSTER_SCIM_URL`, the token
//! from `--token-file` or `ROSTER_SCIM_TOKEN`, never from argv.

use std::time::Duration;

use roster_client::{API_TOKEN_ENV, ClientConfig, DEFAULT_API_URL, Token};
use roster_model::Provider;

use crate::cli::{ApiArgs, ConnectionArgs};
use crate::failure::Failure;

/// Where Productboard serves SCIM, for hints.
pub const PRODUCTBOARD_SCIM_URL: &str = "https://api.productboard.com/scim/v2";

/// Where a Productboard token for SCIM comes from, for hints: Productboard's own setup
/// article and a third-party guide name different places (DESIGN.md, "Productboard facts").
pub const PRODUCTBOARD_TOKEN_PLACES: &str = "Productboard's setup article uses an access token generated \
     under the profile menu → Integrations → Public API (or OAuth2), which may carry REST API rights too; a \
     third-party guide describes a separate SCIM token under Settings → Security, shown once when SCIM \
     provisioning is switched on (Enterprise plan, SAML SSO set up first)";

/// The client settings from the command line and the environment.
pub fn client_config(args: &ConnectionArgs, provider: Provider) -> Result<ClientConfig, Failure> {
    let Some(url) = args.url.clone().filter(|url| !url.trim().is_empty()) else {
        return Err(Failure::error("no SCIM URL given").with_hint(format!(
            "pass --url or set ROSTER_SCIM_URL (Productboard: {PRODUCTBOARD_SCIM_URL})"
        )));
    };
    let token = match &args.token_file {
        Some(path) => {
            Token::from_file(path).map_err(|err| Failure::from_error("cannot read the token", &err))?
        }
        None => Token::from_env().map_err(|_| {
            Failure::error("no SCIM token given").with_hint(format!(
                "set ROSTER_SCIM_TOKEN or pass --token-file FILE; {PRODUCTBOARD_TOKEN_PLACES}"
            ))
        })?,
    };
    let mut config = ClientConfig::new(url, provider);
    config.token = Some(token);
    config.concurrency = usize::from(args.concurrency);
    config.max_requests_per_second = args.max_rps;
    config.request_timeout = Duration::from_secs(30);
    Ok(config)
}

/// The REST API base URL: `--api-url`, `ROSTER_API_URL`, or Productboard's.
pub fn api_url(args: &ApiArgs) -> String {
    args.api_url.clone().filter(|url| !url.trim().is_empty()).unwrap_or_else(|| DEFAULT_API_URL.to_owned())
}

/// The REST API token from `--api-token-file` or `ROSTER_API_TOKEN`; `None` when neither
/// is given.
pub fn api_token(args: &ApiArgs) -> Result<Option<Token>, Failure> {
    match &args.api_token_file {
        Some(path) => Token::from_file(path)
            .map(Some)
            .map_err(|err| Failure::from_error("cannot read the REST API token", &err)),
        None if std::env::var_os(API_TOKEN_ENV).is_none() => Ok(None),
        None => Token::from_env_var(API_TOKEN_ENV)
            .map(Some)
            .map_err(|err| Failure::from_error("cannot read the REST API token", &err)),
    }
}

/// What to do without a REST API token.
pub const API_TOKEN_HINT: &str = "set ROSTER_API_TOKEN or pass --api-token-file FILE: a Productboard access \
     token generated under the profile menu's Integrations → Public API (or an OAuth2 token); a SCIM token \
     works only if it also carries REST API rights";

/// The REST API client settings; the token is required.
pub fn api_config(args: &ApiArgs, scim: &ClientConfig) -> Result<ClientConfig, Failure> {
    let Some(token) = api_token(args)? else {
        return Err(Failure::error("no REST API token given").with_hint(API_TOKEN_HINT));
    };
    let mut config = ClientConfig::new(api_url(args), scim.provider);
    config.token = Some(token);
    config.max_requests_per_second = scim.max_requests_per_second;
    config.request_timeout = scim.request_timeout;
    Ok(config)
}

/// Refuses `--url` and `--token-file` with a multi-target file, where each target names its
/// own URL and token, and warns that `ROSTER_SCIM_URL`/`ROSTER_SCIM_TOKEN` are ignored:
/// a flag given on purpose that would silently do nothing is an error; an environment
/// variable set for the whole CI job is only noise.
pub fn refuse_single_target_connection(
    args: &ConnectionArgs,
    ui: &crate::commands::Ui,
) -> Result<(), Failure> {
    let url_from_env = std::env::var("ROSTER_SCIM_URL").ok();
    let url_flag = args.url.as_ref().is_some_and(|url| url_from_env.as_ref() != Some(url));
    if url_flag || args.token_file.is_some() {
        return Err(Failure::error(format!(
            "{} cannot be used with a file that names `targets`: each target has its own url and token",
            if url_flag { "--url" } else { "--token-file" }
        ))
        .with_hint("set each target's `url` and `token_env` or `token_file` in the file"));
    }
    for var in ["ROSTER_SCIM_URL", "ROSTER_SCIM_TOKEN"] {
        if std::env::var_os(var).is_some() {
            ui.status(&format!(
                "warning: {var} is ignored: the file names `targets`, each with its own url and token"
            ));
        }
    }
    Ok(())
}

/// The client settings of one target of a multi-target file: its `url`, its token from
/// the variable or file it names (never shown), `--concurrency` and `--max-rps` for each
/// target alike. A missing token names the target and where it was looked for.
pub fn target_config(target: &roster_model::Target, args: &ConnectionArgs) -> Result<ClientConfig, Failure> {
    let name = &target.name;
    let token = match &target.token {
        roster_model::TokenSource::Env(var) => Token::from_env_named(var)
            .map_err(|err| Failure::from_error(&format!("target {name}: cannot read the token"), &err))?
            .ok_or_else(|| {
                Failure::error(format!(
                    "target {name}: no SCIM token: the environment variable {var} is not set"
                ))
                .with_hint(format!(
                    "set {var} to the target's SCIM token (the file's targets.{name}.token_env names it)"
                ))
            })?,
        roster_model::TokenSource::File(path) => Token::from_file(std::path::Path::new(path))
            .map_err(|err| Failure::from_error(&format!("target {name}: cannot read the token"), &err))?,
    };
    let mut config = ClientConfig::new(target.url.clone(), target.provider);
    config.token = Some(token);
    config.concurrency = usize::from(args.concurrency);
    config.max_requests_per_second = args.max_rps;
    config.request_timeout = Duration::from_secs(30);
    Ok(config)
}

/// The REST API token of a target (`api_token_env`/`api_token_file`), `None` when the
/// target names none.
pub fn target_api_token(target: &roster_model::Target) -> Result<Option<Token>, Failure> {
    let name = &target.name;
    let fail = |err: roster_client::TokenError| {
        Failure::from_error(&format!("target {name}: cannot read the REST API token"), &err)
    };
    match &target.api_token {
        None => Ok(None),
        Some(roster_model::TokenSource::Env(var)) => match Token::from_env_named(var).map_err(fail)? {
            Some(token) => Ok(Some(token)),
            None => Err(Failure::error(format!(
                "target {name}: no REST API token: the environment variable {var} is not set"
            ))),
        },
        Some(roster_model::TokenSource::File(path)) => {
            Token::from_file(std::path::Path::new(path)).map(Some).map_err(fail)
        }
    }
}
