//! The read-only client of Productboard's REST member list (`GET /members`), for
//! `roster audit` and `roster doctor`. It has no method that writes.

use std::sync::Arc;

use roster_scim::ScimRequest;
use roster_scim::members::{MEMBERS_PAGE_LIMIT, MemberPage, MemberPager, PagedMembers};

use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::read::ProbeStep;
use crate::transport::{Transport, target};

/// The environment variable the REST API token is read from.
pub const API_TOKEN_ENV: &str = "ROSTER_API_TOKEN";

/// Productboard's REST API.
pub const DEFAULT_API_URL: &str = "https://api.productboard.com";

/// What to check when Productboard's REST API refuses the token.
pub const REST_AUTH_HINT: &str = "Productboard's REST API takes an access token generated under the profile \
     menu's Integrations → Public API (or an OAuth2 token); a SCIM token from Settings → Security works here \
     only if it also carries REST API rights";

/// A client of the REST member list that can only read.
#[derive(Clone, Debug)]
pub struct MembersClient {
    transport: Arc<Transport>,
}

impl MembersClient {
    /// A client for the REST API at `config.base_url` (e.g. `https://api.productboard.com`)
    /// with `config.token`; checks the URL as the SCIM client does and sends nothing yet.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(MembersClient { transport: Arc::new(Transport::new(config)?) })
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    async fn page(&self, request: &ScimRequest) -> Result<MemberPage, ClientError> {
        let exchange = self.transport.send(request).await.map_err(rest_hint)?;
        exchange.parse(request, "member list page").map_err(rest_hint)
    }

    /// Every member, page by page, with whether the listing was complete. An error
    /// after retries fails the fetch; a cursor that repeats, loops or never ends makes it
    /// incomplete.
    pub async fn fetch_members(&self) -> Result<PagedMembers, ClientError> {
        let page_limit = (self.transport.config.page_size as u64).min(MEMBERS_PAGE_LIMIT);
        let mut pager = MemberPager::new(self.base_url(), page_limit);
        while let Some(request) = pager.next_request() {
            let page = self.page(&request).await?;
            pager.receive(page);
        }
        Ok(pager.finish())
    }

    /// One request for the first member, for `roster doctor`.
    pub async fn probe(&self) -> ProbeStep {
        let request =
            MemberPager::new(self.base_url(), 1).next_request().expect("a new pager asks for the first page");
        let shown = format!("{} {}", request.method(), target(&request));
        let (status, result, hint) = match self.transport.send(&request).await.map_err(rest_hint) {
            Err(err) => (err.status(), Err(err.to_string()), err.hint()),
            Ok(exchange) => {
                let status = Some(exchange.status);
                match exchange.parse::<MemberPage>(&request, "member list page").map_err(rest_hint) {
                    Ok(page) => {
                        let more = if page.page_cursor.is_some() || page.links.next.is_some() {
                            ", more pages follow"
                        } else {
                            ""
                        };
                        (
                            status,
                            Ok(format!(
                                "the member list answers ({} on the first page{more})",
                                page.data.len()
                            )),
                            None,
                        )
                    }
                    Err(err) => (status, Err(err.to_string()), err.hint()),
                }
            }
        };
        ProbeStep { name: "member list", request: shown, status, headers: Vec::new(), result, hint }
    }
}

/// A refused token on the REST API needs the REST hint, not the SCIM one.
fn rest_hint(mut err: ClientError) -> ClientError {
    if let ClientError::Http { status: 401 | 403, hint, .. } = &mut err {
        *hint = Some(REST_AUTH_HINT);
    }
    err
}
