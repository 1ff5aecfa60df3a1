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
