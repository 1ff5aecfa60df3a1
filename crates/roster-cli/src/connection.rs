//! How to reach the SCIM service: the URL from `--url` or `ROSTER_SCIM_URL`, the token
//! from `--token-file` or `ROSTER_SCIM_TOKEN`, never from argv.

use std::time::Duration;

use roster_client::{ClientConfig, Token};
use roster_model::Provider;

use crate::cli::ConnectionArgs;
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
