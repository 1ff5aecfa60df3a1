//! The read-only client: `plan`, `validate`, `import` and `doctor` hold this type, which
//! has no method that writes.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt, stream};
use roster_model::{Completeness, LiveGroup, LiveState, LiveUser, ServiceCapabilities};
use roster_scim::{
    DiscoveryDocuments, Group, Identified, ListResponse, Listing, Paged, Pager, ScimRequest,
    ServiceProviderConfig, User, capabilities_from_discovery,
};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::transport::{Exchange, Transport, target};

/// Headers worth showing in `roster doctor`: none of them carries a secret.
const PROBE_HEADERS: &[&str] = &[
    "content-type",
    "retry-after",
    "server",
    "www-authenticate",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

/// What to check when the service has no groups endpoint.
pub const GROUPS_HINT: &str = "Productboard serves groups (teams) only with \"Manage teams with SCIM\" switched on in the SCIM settings";

#[derive(Debug)]
struct Inner {
    transport: Transport,
    capabilities: OnceCell<ServiceCapabilities>,
}

/// A SCIM client that can only read.
#[derive(Clone, Debug)]
pub struct ReadClient {
    inner: Arc<Inner>,
}

/// One step of [`ReadClient::probe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeStep {
    /// What the step checks, e.g. `users`.
    pub name: &'static str,
    /// The request, e.g. `GET /Users?startIndex=1&count=1`.
    pub request: String,
    /// The final HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Selected response headers (content type, rate limits, ...), sorted by name.
    pub headers: Vec<(String, String)>,
    /// What was found, or what went wrong.
    pub result: Result<String, String>,
    /// What to check, when the step failed in a way with a known cause.
    pub hint: Option<&'static str>,
}

impl ReadClient {
    /// A client for the configured service; checks the URL (`https://`, or `http://` to
    /// loopback only) and the token, and sends nothing yet.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let transport = Transport::new(config)?;
        Ok(ReadClient { inner: Arc::new(Inner { transport, capabilities: OnceCell::new() }) })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.transport.config
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// `GET /ServiceProviderConfig`.
    pub async fn service_provider_config(&self) -> Result<ServiceProviderConfig, ClientError> {
        let req = ScimRequest::service_provider_config();
        self.transport().send(&req).await?.parse(&req, "ServiceProviderConfig")
    }

    /// What the service declares it can do and keeps, read once from
    /// `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`. Each is optional: one
    /// that is absent, fails or does not parse leaves the provider's defaults in place,
    /// with a debug log line saying why.
    pub async fn capabilities(&self) -> &ServiceCapabilities {
        self.inner
            .capabilities
            .get_or_init(|| async {
                if !self.config().discover {
                    return ServiceCapabilities::defaults_for(self.config().provider);
                }
                let service_provider_config =
                    self.discovery_document(ScimRequest::service_provider_config()).await;
                // A service that gave no answer at all (connection, TLS, proxy, name) will
                // not answer the next two either: asking would repeat the same failure.
                let (resource_types, schemas) = match &service_provider_config {
                    Err(Miss::Unanswered(why)) => {
                        let skipped = format!("not asked: /ServiceProviderConfig got no answer ({why})");
                        (Err(Miss::Unanswered(skipped.clone())), Err(Miss::Unanswered(skipped)))
                    }
                    _ => (
                        self.discovery_document(ScimRequest::resource_types()).await,
                        self.discovery_document(ScimRequest::schemas()).await,
                    ),
                };
                let documents = DiscoveryDocuments {
                    service_provider_config: service_provider_config.map_err(Miss::into_reason),
                    resource_types: resource_types.map_err(Miss::into_reason),
                    schemas: schemas.map_err(Miss::into_reason),
                };
                let (capabilities, notes) = capabilities_from_discovery(self.config().provider, &documents);
                for note in notes {
                    tracing::debug!("discovery: {note}");
                }
                capabilities
            })
            .await
    }

    /// One discovery document's body, or why there is none.
    async fn discovery_document(&self, req: ScimRequest) -> Result<Vec<u8>, Miss> {
        match self.transport().send(&req).await {
            Ok(exchange) if exchange.is_success() => Ok(exchange.body),
            Ok(exchange) => Err(Miss::Answered(format!("answered {}", exchange.status))),
            Err(err) if err.status().is_some() => Err(Miss::Answered(err.to_string())),
            Err(err) => Err(Miss::Unanswered(err.to_string())),
        }
    }

    async fn get_resource<T: DeserializeOwned>(
        &self,
        req: ScimRequest,
        expected: &'static str,
    ) -> Result<Option<T>, ClientError> {
        let exchange = self.transport().send(&req).await?;
        if exchange.status == 404 {
            return Ok(None);
        }
        exchange.parse(&req, expected).map(Some)
    }

    /// `GET /Users/{id}`; `None` when the service answers 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>, ClientError> {
        self.get_resource(ScimRequest::get_user(id)?, "User").await
    }

    /// `GET /Groups/{id}`, members included; `None` when the service answers 404.
    pub async fn get_group(&self, id: &str) -> Result<Option<Group>, ClientError> {
        self.get_resource(ScimRequest::get_group(id)?, "Group").await
    }

    async fn find<T: DeserializeOwned>(
        &self,
        req: ScimRequest,
        matches: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, ClientError> {
        let list: ListResponse<T> = self.transport().send(&req).await?.parse(&req, "ListResponse")?;
        // A service that ignores the filter answers with the whole first page: only an
        // exact match counts.
        Ok(list.resources.into_iter().find(matches))
    }

    /// The user with this userName (compared by identity key: case, Unicode form and the
    /// domain's IDNA form aside), if there is one.
    pub async fn find_user_by_user_name(&self, user_name: &str) -> Result<Option<User>, ClientError> {
        let key = roster_model::UserKey::new(user_name);
        self.find(ScimRequest::find_user_by_user_name(user_name), |u: &User| {
            roster_model::UserKey::new(&u.user_name) == key
        })
        .await
    }

    /// The user with this externalId, if there is one.
    pub async fn find_user_by_external_id(&self, external_id: &str) -> Result<Option<User>, ClientError> {
        self.find(ScimRequest::find_user_by_external_id(external_id), |u: &User| {
            u.external_id.as_deref() == Some(external_id)
        })
        .await
    }

    /// The first group with exactly this displayName, if there is one.
    pub async fn find_group_by_display_name(&self, display_name: &str) -> Result<Option<Group>, ClientError> {
        self.find(ScimRequest::find_group_by_display_name(display_name), |g: &Group| {
            g.display_name == display_name
        })
        .await
    }

    /// Every page of a listing: the first page, then (with `concurrency` above 1) all the
    /// remaining pages at once, at most `concurrency` in flight.
    async fn list_all<T>(&self, listing: Listing) -> Result<Paged<T>, ClientError>
    where
        T: DeserializeOwned + Identified + Send,
    {
        let config = self.config();
        let concurrency = config.concurrency.max(1);
        let mut pager = Pager::new(listing, config.page_size as u64).plan_ahead(concurrency > 1);
        loop {
            let requests = pager.next_requests();
            if requests.is_empty() {
                break;
            }
            let pages: Vec<(u64, ListResponse<T>)> = stream::iter(requests)
                .map(|page| async move {
                    let exchange = self.transport().send(page.request()).await?;
                    let list = exchange.parse(page.request(), "ListResponse")?;
                    Ok::<_, ClientError>((page.start_index(), list))
                })
                .buffer_unordered(concurrency)
                .try_collect()
                .await?;
            for (start_index, list) in pages {
                pager.receive(start_index, list);
            }
        }
        Ok(pager.finish())
    }

    async fn sort_by(&self, attribute: &'static str) -> Option<&'static str> {
        let supported = self.capabilities().await.sort;
        supported.then_some(attribute)
    }

    /// Every user, with whether the listing was complete. Users sort by userName when the
    /// service supports sorting, for a stable order across pages.
    pub async fn fetch_users(&self) -> Result<(Vec<LiveUser>, Completeness), ClientError> {
        let paged = self.list_all::<User>(Listing::users(self.sort_by("userName").await)).await?;
        let mut reasons = reasons_of(paged.completeness);
        let mut users = Vec::with_capacity(paged.resources.len());
        for user in paged.resources {
            match user.to_live() {
                Ok(live) => users.push(live),
                Err(err) => reasons.push(format!("users: {err}")),
            }
        }
        Ok((users, completeness_of(reasons)))
    }

    /// Every group with its members, with whether the listing was complete.
    ///
    /// Groups are listed with `excludedAttributes=members`, so that big groups do not
    /// bloat the pages, and each group's members are then read with `GET /Groups/{id}`.
    /// A service that ignores `excludedAttributes` sends members in the listing; then
    /// they are used as they are.
    pub async fn fetch_groups(&self) -> Result<(Vec<LiveGroup>, Completeness), ClientError> {
        let paged = self.list_all::<Group>(Listing::groups(self.sort_by("displayName").await, true)).await?;
        let mut reasons = reasons_of(paged.completeness);
        let members_listed = paged.resources.iter().any(|g| g.members.is_some());
        let groups: Vec<Group> = if members_listed || paged.resources.is_empty() {
            paged.resources
        } else {
            let concurrency = self.config().concurrency.max(1);
            let fetched: Vec<(Group, Option<Group>)> = stream::iter(paged.resources)
                .map(|listed| async move {
                    let id = listed.resource_id().unwrap_or_default().to_owned();
                    let full = self.get_group(&id).await?;
                    Ok::<_, ClientError>((listed, full))
                })
                .buffered(concurrency)
                .try_collect()
                .await?;
            let mut groups = Vec::with_capacity(fetched.len());
            for (listed, full) in fetched {
                match full {
                    Some(full) => groups.push(full),
                    None => reasons.push(format!(
                        "groups: group {:?} ({}) disappeared during the fetch",
                        listed.display_name,
                        listed.id.unwrap_or_default()
                    )),
                }
            }
            groups
        };
        let mut live = Vec::with_capacity(groups.len());
        for group in groups {
            match group.to_live() {
                Ok(group) => live.push(group),
                Err(err) => reasons.push(format!("groups: {err}")),
            }
        }
        Ok((live, completeness_of(reasons)))
    }

    /// The whole live state: every user and every group with members. An error after
    /// retries fails the fetch; inconsistencies the service shows (short or repeated
    /// pages, `totalResults` that disagree) make it [`Completeness::Incomplete`].
    pub async fn fetch_live(&self) -> Result<LiveState, ClientError> {
        let (users, users_completeness) = self.fetch_users().await?;
        let (groups, groups_completeness) = self.fetch_groups().await?;
        let mut reasons = reasons_of(users_completeness);
        reasons.extend(reasons_of(groups_completeness));
        Ok(LiveState { users, groups, completeness: completeness_of(reasons) })
    }

    /// Checks the connection step by step for `roster doctor`: the service provider
    /// config, listing users, filtering users, listing groups. Every step runs; each
    /// reports its status, selected headers and result.
    ///
    /// The probe stops early when the first request gets no answer or any request has
    /// its token refused (401, 403): every later step would fail the same way.
    pub async fn probe(&self) -> Vec<ProbeStep> {
        let probe_filter = ScimRequest::find_user_by_user_name("roster-doctor-probe@example.invalid");
        let steps: [(&'static str, ScimRequest); 4] = [
            ("service provider config", ScimRequest::service_provider_config()),
            ("users", ScimRequest::list_users(1, 1, None)),
            ("user filter", probe_filter),
            ("groups", ScimRequest::list_groups(1, 1, None, true)),
        ];
        let mut out = Vec::with_capacity(steps.len());
        for (name, req) in steps {
            // Discovery runs only once the service has answered: asked first, a service
            // that is not there would fail three more times, each after its retries.
            if name == "user filter" && !self.capabilities().await.filter {
                // A service that says it has no filters is not failing by not filtering.
                out.push(ProbeStep {
                    name,
                    request: format!("{} {}", req.method(), target(&req)),
                    status: None,
                    headers: Vec::new(),
                    result: Ok("not checked: the service declares filter.supported false".to_owned()),
                    hint: None,
                });
                continue;
            }
            let step = self.probe_step(name, req).await;
            // Later steps would fail the same way, each after its own retries: when the
            // first request gets no answer at all, or the token is refused, stop here.
            let stop = (out.is_empty() && step.status.is_none()) || matches!(step.status, Some(401 | 403));
            out.push(step);
            if stop {
                break;
            }
        }
        out
    }

    async fn probe_step(&self, name: &'static str, req: ScimRequest) -> ProbeStep {
        let request = format!("{} {}", req.method(), target(&req));
        let exchange = match self.transport().send(&req).await {
            Ok(exchange) => exchange,
            Err(err) => {
                let hint = err.hint();
                return ProbeStep {
                    name,
                    request,
                    status: err.status(),
                    headers: Vec::new(),
                    result: Err(err.to_string()),
                    hint,
                };
            }
        };
        let headers = probe_headers(&exchange);
        let result = summarize(name, &req, &exchange);
        let hint = match (&result, exchange.status) {
            (Err(_), 401) => Some(crate::error::TOKEN_HINT),
            (Err(_), 403) => Some(crate::error::AUTH_HINT),
            (Err(_), 404) if name == "groups" => Some(GROUPS_HINT),
            _ => None,
        };
        ProbeStep { name, request, status: Some(exchange.status), headers, result, hint }
    }
}

fn probe_headers(exchange: &Exchange) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = PROBE_HEADERS
        .iter()
        .filter_map(|name| {
            let value = exchange.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    headers.sort();
    headers
}

fn summarize(name: &str, req: &ScimRequest, exchange: &Exchange) -> Result<String, String> {
    if name == "service provider config" {
        let config: ServiceProviderConfig =
            exchange.parse(req, "ServiceProviderConfig").map_err(|e| e.to_string())?;
        let yes = |b: bool| if b { "yes" } else { "no" };
        let max = config.filter.max_results.map(|m| format!(" (max {m})")).unwrap_or_default();
        return Ok(format!(
            "patch: {}, filter: {}{max}, sort: {}, bulk: {}, etag: {}",
            yes(config.patch.supported),
            yes(config.filter.supported),
            yes(config.sort.supported),
            yes(config.bulk.supported),
            yes(config.etag.supported)
        ));
    }
    let list: ListResponse<serde_json::Value> =
        exchange.parse(req, "ListResponse").map_err(|e| e.to_string())?;
    match (name, list.total_results) {
        ("user filter", _) if list.resources.len() > 1 => Err(format!(
            "a filter for one userName returned {} users: filters seem ignored",
            list.resources.len()
        )),
        ("user filter", _) => Ok("filters answer".to_owned()),
        (_, Some(total)) => Ok(format!("totalResults {total}")),
        (_, None) => Ok("no totalResults in the answer".to_owned()),
    }
}

fn reasons_of(completeness: Completeness) -> Vec<String> {
    match completeness {
        Completeness::Complete => Vec::new(),
        Completeness::Incomplete(reasons) => reasons,
    }
}

fn completeness_of(reasons: Vec<String>) -> Completeness {
    if reasons.is_empty() { Completeness::Complete } else { Completeness::Incomplete(reasons) }
}

/// Why a discovery document is missing: the service answered without it, or gave no
/// answer at all.
enum Miss {
    Answered(String),
    Unanswered(String),
}

impl Miss {
    fn into_reason(self) -> String {
        match self {
            Miss::Answered(why) | Miss::Unanswered(why) => why,
        }
    }
}
