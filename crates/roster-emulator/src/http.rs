//! The HTTP API: routes, handlers and the pipeline every request goes through
//! (latency, rate limit, faults, authentication, error bodies, the request log).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::config::EmulatorConfig;
use crate::discovery;
use crate::error::ScimError;
use crate::filter::{AttrPath, Filter};
use crate::patch::{parse_patch, wipe_on_remove_by_value};
use crate::projection::{Projection, param};
use crate::ratelimit::{Decision, TokenBucket};
use crate::state::EmulatorState;
use crate::store::{Kind, ListQuery, PagePolicy};

/// The path under which SCIM is served, as Productboard serves it.
pub(crate) const BASE_PATH: &str = "/scim/v2";

const SCIM_JSON: &str = "application/scim+json";

/// One request as the emulator saw it, for tests to assert on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The HTTP method, e.g. `"DELETE"`.
    pub method: String,
    /// The path, e.g. `"/scim/v2/Users/…"`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The status answered; `None` when the connection was closed without an answer
    /// (an injected drop, or a POST whose answer was dropped after the write).
    pub status: Option<u16>,
}

impl LoggedRequest {
    /// Whether the request was answered with a 2xx status.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// Whether the connection was closed instead of answering.
    pub fn dropped(&self) -> bool {
        self.status.is_none()
    }
}

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// Put into each request by the server: notifying it closes the request's connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionKiller(pub(crate) Arc<Notify>);

/// What every handler shares.
pub(crate) struct App {
    pub(crate) config: EmulatorConfig,
    pub(crate) base_url: String,
    pub(crate) state: EmulatorState,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
    limiter: Option<Mutex<TokenBucket>>,
    fault_rng: Mutex<Xoshiro256PlusPlus>,
    order_rng: Mutex<Xoshiro256PlusPlus>,
    list_counter: AtomicU64,
}

/// An injected fault.
enum Fault {
    ServerError,
    Drop,
}

impl App {
    pub(crate) fn new(config: EmulatorConfig, base_url: String, state: EmulatorState) -> Self {
        if config.misbehaviour.ignore_unknown_attributes {
            state.lock().kept_user_attributes =
                Some(discovery::declared_user_attributes(&config.misbehaviour));
        }
        let limiter = config
            .rate_limit
            .map(|limit| Mutex::new(TokenBucket::new(limit, config.rate_limit_window, Instant::now())));
        let fault_rng = Mutex::new(Xoshiro256PlusPlus::seed_from_u64(config.seed));
        let order_rng = Mutex::new(Xoshiro256PlusPlus::seed_from_u64(config.seed.wrapping_add(0x0bde_5eed)));
        Self {
            config,
            base_url,
            state,
            log: Mutex::new(Vec::new()),
            limiter,
            fault_rng,
            order_rng,
            list_counter: AtomicU64::new(0),
        }
    }

    fn draw_fault(&self) -> Option<Fault> {
        if self.config.fault_rate <= 0.0 {
            return None;
        }
        let mut rng = self.fault_rng.lock().unwrap_or_else(|e| e.into_inner());
        if rng.random::<f64>() >= self.config.fault_rate {
            return None;
        }
        Some(if rng.random_bool(0.5) { Fault::ServerError } else { Fault::Drop })
    }

    fn authorized(&self, path: &str, headers: &HeaderMap) -> bool {
        if crate::members::is_rest_path(path) {
            return crate::members::authorized(self, headers);
        }
        let Some(expected) = &self.config.token else { return true };
        let Some(presented) = presented_bearer(headers) else { return false };
        constant_time_eq(presented.as_bytes(), expected.as_bytes())
    }

    fn url(&self, kind: Kind, id: &str) -> String {
        format!("{}/{}/{id}", self.base_url, kind.endpoint())
    }

    /// A stored resource as served: with its `meta.location`.
    fn render(&self, kind: Kind, mut stored: Value) -> Value {
        let id = stored["id"].as_str().unwrap_or_default().to_owned();
        if let Some(meta) = stored.get_mut("meta").and_then(Value::as_object_mut) {
            meta.insert("location".to_owned(), Value::String(self.url(kind, &id)));
        }
        stored
    }

    fn record(&self, entry: LoggedRequest) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn presented_bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    let (scheme, presented) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| presented.trim())
}

/// Compares without stopping at the first difference, so that the time taken does not
/// tell how much of a guessed token was right. The length is not secret.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

/// The emulator's routes, wrapped in the request pipeline.
pub(crate) fn router(app: Arc<App>) -> Router {
    let p = BASE_PATH;
    Router::new()
        .route(&format!("{p}/ServiceProviderConfig"), get(service_provider_config))
        .route(&format!("{p}/ResourceTypes"), get(resource_types))
        .route(&format!("{p}/ResourceTypes/{{id}}"), get(resource_type))
        .route(&format!("{p}/Schemas"), get(schemas))
        .route(&format!("{p}/Schemas/{{id}}"), get(schema))
        .route(&format!("{p}/.search"), post(search_all))
        .route(
            &format!("{p}/Users"),
            get(move |s: AppState, q: Params| list(s, Kind::User, q))
                .post(move |s: AppState, q: Params, b: Bytes| create(s, Kind::User, q, b)),
        )
        .route(&format!("{p}/Users/.search"), post(move |s: AppState, b: Bytes| search(s, Kind::User, b)))
        .route(
            &format!("{p}/Users/{{id}}"),
            get(move |s: AppState, i: Id, q: Params, h: HeaderMap| get_one(s, Kind::User, i, q, h))
                .put(move |s: AppState, i: Id, q: Params, h: HeaderMap, b: Bytes| {
                    replace(s, Kind::User, i, q, h, b)
                })
                .patch(move |s: AppState, i: Id, q: Params, h: HeaderMap, b: Bytes| {
                    patch(s, Kind::User, i, q, h, b)
                })
                .delete(delete_user),
        )
        .route(
            &format!("{p}/Groups"),
            get(move |s: AppState, q: Params| list(s, Kind::Group, q))
                .post(move |s: AppState, q: Params, b: Bytes| create(s, Kind::Group, q, b)),
        )
        .route(&format!("{p}/Groups/.search"), post(move |s: AppState, b: Bytes| search(s, Kind::Group, b)))
        .route(
            &format!("{p}/Groups/{{id}}"),
            get(move |s: AppState, i: Id, q: Params, h: HeaderMap| get_one(s, Kind::Group, i, q, h))
                .put(move |s: AppState, i: Id, q: Params, h: HeaderMap, b: Bytes| {
                    replace(s, Kind::Group, i, q, h, b)
                })
                .patch(move |s: AppState, i: Id, q: Params, h: HeaderMap, b: Bytes| {
                    patch(s, Kind::Group, i, q, h, b)
                })
                .delete(delete_group),
        )
        .route(crate::members::MEMBERS_PATH, get(crate::members::list))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), pipeline))
        .with_state(app)
}

type AppState = State<Arc<App>>;
type Params = Query<Vec<(String, String)>>;
type Id = Path<String>;
type Answer = Result<Response, ScimError>;

/// Every request: latency, rate limit, faults, authentication, then the handler; then
/// error bodies, rate-limit headers, the log and, when asked, the dropped connection.
async fn pipeline(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let killer = request.extensions().get::<ConnectionKiller>().cloned();
    if !app.config.latency.is_zero() {
        tokio::time::sleep(app.config.latency).await;
    }
    let decision = app
        .limiter
        .as_ref()
        .map(|bucket| bucket.lock().unwrap_or_else(|e| e.into_inner()).take(Instant::now()));
    let response = match &decision {
        Some(decision) if !decision.allowed => throttled(&app, decision),
        _ => match app.draw_fault() {
            Some(Fault::ServerError) => ScimError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "injected fault: internal server error",
            )
            .into_response(),
            Some(Fault::Drop) => drop_marker(),
            None if !app.authorized(&path, request.headers()) => (
                [(header::WWW_AUTHENTICATE, "Bearer")],
                ScimError::new(StatusCode::UNAUTHORIZED, None, "missing or invalid bearer token"),
            )
                .into_response(),
            None => next.run(request).await,
        },
    };
    let mut response = render_error_body(&app, response).await;
    if let Some(decision) = &decision {
        add_rate_limit_headers(&app, response.headers_mut(), decision);
    }
    let dropped = response.extensions().get::<DropConnection>().is_some();
    let status = (!dropped).then(|| response.status().as_u16());
    tracing::debug!(%method, %path, ?status, "emulator request");
    app.record(LoggedRequest { method, path, query, status });
    if dropped {
        if let Some(killer) = killer {
            // The connection task closes the socket; this answer is never sent.
            killer.0.notify_one();
            std::future::pending::<()>().await;
        }
        let body = ScimError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "cannot drop a connection outside the emulator's server",
        )
        .body(&app.config.misbehaviour);
        return scim_response(StatusCode::INTERNAL_SERVER_ERROR, &body);
    }
    response
}

fn drop_marker() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

fn throttled(app: &App, decision: &Decision) -> Response {
    if app.config.misbehaviour.throttle_as_500 {
        return ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal server error")
            .into_response();
    }
    let per = match decision.window.as_secs() {
        1 => "second".to_owned(),
        60 => "minute".to_owned(),
        seconds => format!("{seconds} seconds"),
    };
    ScimError::new(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        format!("rate limit of {} requests per {per} exceeded", decision.limit),
    )
    .into_response()
}

/// The rate-limit headers in the configured style; `Retry-After` only on a 429, and not
/// when the server is told to leave it out (or to disguise throttling as a 500).
fn add_rate_limit_headers(app: &App, headers: &mut HeaderMap, decision: &Decision) {
    let misbehaviour = &app.config.misbehaviour;
    for (name, value) in decision.headers(app.config.rate_headers, SystemTime::now()) {
        let hidden = name == "retry-after" && (misbehaviour.omit_retry_after || misbehaviour.throttle_as_500);
        if let (false, Ok(value)) = (hidden, HeaderValue::from_str(&value)) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// Turns every error answer into a SCIM error body: the ones handlers raised, and the
/// ones the framework produced on its own (a body too large, say).
async fn render_error_body(app: &App, response: Response) -> Response {
    if let Some(error) = response.extensions().get::<ScimError>().cloned() {
        let (mut parts, _) = response.into_parts();
        let body = error.body(&app.config.misbehaviour);
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(body.to_string()));
    }
    let status = response.status();
    let is_scim = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(SCIM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error())
        || is_scim
        || response.extensions().get::<DropConnection>().is_some()
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let detail =
        if text.is_empty() { status.canonical_reason().unwrap_or("error").to_lowercase() } else { text };
    let body = ScimError::new(status, None, detail).body(&app.config.misbehaviour);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

fn scim_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, SCIM_JSON)], body.to_string()).into_response()
}

/// A single resource: the body as projected, with `ETag` (and `Location` on creation).
fn resource_response(
    app: &App,
    status: StatusCode,
    kind: Kind,
    stored: Value,
    projection: &Projection,
) -> Response {
    let version = stored["meta"]["version"].as_str().map(str::to_owned);
    let id = stored["id"].as_str().unwrap_or_default().to_owned();
    let body = projection.apply(app.render(kind, stored));
    let mut response = scim_response(status, &body);
    if let Some(version) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::ETAG, version);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&app.url(kind, &id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn parse_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn projection(params: &[(String, String)]) -> Result<Projection, ScimError> {
    Projection::parse(param(params, "attributes"), param(params, "excludedAttributes"))
}

/// The paging, filtering and sorting parameters of a list request.
struct ListParams<'a> {
    filter: Option<&'a str>,
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<&'a str>,
    sort_order: Option<&'a str>,
}

impl ListParams<'_> {
    fn into_query(self) -> Result<ListQuery, ScimError> {
        let filter = self.filter.filter(|f| !f.trim().is_empty()).map(Filter::parse).transpose()?;
        let sort_by = self.sort_by.filter(|s| !s.trim().is_empty()).map(AttrPath::parse).transpose()?;
        let descending = match self.sort_order.map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, not {other:?}"
                )));
            }
        };
        Ok(ListQuery {
            filter,
            start_index: usize::try_from(self.start_index.unwrap_or(1).max(1)).unwrap_or(1),
            count: self.count.map(|c| usize::try_from(c.max(0)).unwrap_or(0)),
            sort_by,
            descending,
        })
    }
}

fn integer_param(params: &[(String, String)], name: &str) -> Result<Option<i64>, ScimError> {
    param(params, name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {v:?}")))
        })
        .transpose()
}

async fn list(State(app): AppState, kind: Kind, Query(params): Params) -> Answer {
    let query = ListParams {
        filter: param(&params, "filter"),
        start_index: integer_param(&params, "startIndex")?,
        count: integer_param(&params, "count")?,
        sort_by: param(&params, "sortBy"),
        sort_order: param(&params, "sortOrder"),
    }
    .into_query()?;
    let projection = projection(&params)?;
    Ok(scim_response(StatusCode::OK, &list_body(&app, &[kind], &query, &projection)))
}

/// A `.search` body (RFC 7644 section 3.4.3).
fn search_params(body: &Bytes) -> Result<(ListQuery, Projection), ScimError> {
    let body = parse_json(body)?;
    let Value::Object(map) = &body else {
        return Err(ScimError::invalid_syntax("a search request must be a JSON object"));
    };
    let get = |name: &str| crate::projection::field(map, name);
    let string = |name: &str| -> Result<Option<&str>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(ScimError::invalid_value(format!("{name} must be a string, not {other}"))),
        }
    };
    let integer = |name: &str| -> Result<Option<i64>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer, not {v}"))),
        }
    };
    let strings = |name: &str| -> Result<Vec<String>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ScimError::invalid_value(format!("{name} must hold strings")))
                })
                .collect(),
            Some(Value::String(s)) => Ok(s.split(',').map(str::to_owned).collect()),
            Some(other) => {
                Err(ScimError::invalid_value(format!("{name} must be an array of strings, not {other}")))
            }
        }
    };
    let query = ListParams {
        filter: string("filter")?,
        start_index: integer("startIndex")?,
        count: integer("count")?,
        sort_by: string("sortBy")?,
        sort_order: string("sortOrder")?,
    }
    .into_query()?;
    let projection = Projection::from_lists(&strings("attributes")?, &strings("excludedAttributes")?)?;
    Ok((query, projection))
}

async fn search(State(app): AppState, kind: Kind, body: Bytes) -> Answer {
    let (query, projection) = search_params(&body)?;
    Ok(scim_response(StatusCode::OK, &list_body(&app, &[kind], &query, &projection)))
}

async fn search_all(State(app): AppState, body: Bytes) -> Answer {
    let (query, projection) = search_params(&body)?;
    Ok(scim_response(StatusCode::OK, &list_body(&app, &[Kind::User, Kind::Group], &query, &projection)))
}

/// A ListResponse over one resource type, or over several (root `.search`) in turn.
fn list_body(app: &App, kinds: &[Kind], query: &ListQuery, projection: &Projection) -> Value {
    let list_number = app.list_counter.fetch_add(1, Ordering::SeqCst);
    let misbehaviour = &app.config.misbehaviour;
    let policy = PagePolicy { max_page_size: app.config.max_page_size, misbehaviour, list_number };
    let (total, start_index, resources) = if let [kind] = kinds {
        let page = {
            let store = app.state.lock();
            let mut rng =
                misbehaviour.unstable_order.then(|| app.order_rng.lock().unwrap_or_else(|e| e.into_inner()));
            store.list(*kind, query, &policy, rng.as_deref_mut())
        };
        let resources: Vec<Value> =
            page.resources.into_iter().map(|r| projection.apply(app.render(*kind, r))).collect();
        (page.total_results, page.start_index, resources)
    } else {
        // Across types: every match of each type, then one page cut from the whole.
        let everything = crate::config::Misbehaviour::default();
        let unpaged = ListQuery { start_index: 1, count: Some(usize::MAX), ..query.clone() };
        let all_policy = PagePolicy { max_page_size: usize::MAX, misbehaviour: &everything, list_number };
        let mut all = Vec::new();
        {
            let store = app.state.lock();
            for kind in kinds {
                let page = store.list(*kind, &unpaged, &all_policy, None);
                all.extend(page.resources.into_iter().map(|r| (*kind, r)));
            }
        }
        let size = query.count.unwrap_or(app.config.max_page_size).min(app.config.max_page_size);
        let from = (query.start_index - 1).min(all.len());
        let to = from.saturating_add(size).min(all.len());
        let total = all.len();
        let resources = all.drain(from..to).map(|(kind, r)| projection.apply(app.render(kind, r))).collect();
        (total, query.start_index, resources)
    };
    json!({
        "schemas": [discovery::LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn get_one(
    State(app): AppState,
    kind: Kind,
    Path(id): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
) -> Answer {
    let projection = projection(&params)?;
    let stored = app
        .state
        .lock()
        .get(kind, &id)
        .cloned()
        .ok_or_else(|| ScimError::not_found(format!("{} {id} not found", kind.name())))?;
    let version = stored["meta"]["version"].as_str().unwrap_or_default();
    if let Some(tags) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok())
        && tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == version.trim_start_matches("W/"))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(tag) = HeaderValue::from_str(version) {
            response.headers_mut().insert(header::ETAG, tag);
        }
        return Ok(response);
    }
    Ok(resource_response(&app, StatusCode::OK, kind, stored, &projection))
}

async fn create(State(app): AppState, kind: Kind, Query(params): Params, body: Bytes) -> Answer {
    let projection = projection(&params)?;
    let body = parse_json(&body)?;
    check_required(&app, kind, &body)?;
    let stored = app.state.change(|store| store.create(kind, body))?;
    if app.config.misbehaviour.drop_response_after_post {
        tracing::info!(
            kind = kind.name(),
            id = stored["id"].as_str().unwrap_or_default(),
            "created, then dropping the answer"
        );
        return Ok(drop_marker());
    }
    Ok(resource_response(&app, StatusCode::CREATED, kind, stored, &projection))
}

async fn replace(
    State(app): AppState,
    kind: Kind,
    Path(id): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let projection = projection(&params)?;
    let mut body = parse_json(&body)?;
    check_required(&app, kind, &body)?;
    let if_match = if_match(&headers);
    let ignore_members = kind == Kind::Group && app.config.misbehaviour.put_ignores_members;
    let stored = app.state.change(|store| {
        if ignore_members && let Value::Object(map) = &mut body {
            // Answer 200, keep the members the group had.
            map.retain(|key, _| !key.eq_ignore_ascii_case("members"));
            if let Some(members) = store.get(kind, &id).and_then(|g| g.get("members")).cloned() {
                map.insert("members".to_owned(), members);
            }
        }
        store.replace(kind, &id, body, if_match.as_deref())
    })?;
    Ok(resource_response(&app, StatusCode::OK, kind, stored, &projection))
}

async fn patch(
    State(app): AppState,
    kind: Kind,
    Path(id): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let misbehaviour = &app.config.misbehaviour;
    if misbehaviour.patch_unsupported {
        return Err(ScimError::new(StatusCode::NOT_IMPLEMENTED, None, "PATCH is not implemented"));
    }
    let projection = projection(&params)?;
    let body = parse_json(&body)?;
    if kind == Kind::Group && misbehaviour.require_member_ref {
        let ops =
            body.as_object().and_then(|m| crate::filter::get_ci(m, "Operations")).and_then(Value::as_array);
        for op in ops.into_iter().flatten() {
            let Some(op) = op.as_object() else { continue };
            let kind = crate::filter::get_ci(op, "op").and_then(Value::as_str).unwrap_or_default();
            let path = crate::filter::get_ci(op, "path").and_then(Value::as_str).unwrap_or_default();
            if !kind.eq_ignore_ascii_case("remove") && path.eq_ignore_ascii_case("members") {
                check_member_refs(crate::filter::get_ci(op, "value"))?;
            }
        }
    }
    let mut ops = parse_patch(&body)?;
    if kind == Kind::Group && misbehaviour.remove_by_value_wipes_all {
        wipe_on_remove_by_value(&mut ops);
    }
    let if_match = if_match(&headers);
    let stored = app.state.change(|store| store.patch(kind, &id, &ops, if_match.as_deref()))?;
    Ok(resource_response(&app, StatusCode::OK, kind, stored, &projection))
}

/// What the `require-*` misbehaviour demands of a POST or PUT body.
fn check_required(app: &App, kind: Kind, body: &Value) -> Result<(), ScimError> {
    let misbehaviour = &app.config.misbehaviour;
    let Some(map) = body.as_object() else { return Ok(()) };
    match kind {
        Kind::User if misbehaviour.require_name_formatted => {
            let formatted = crate::filter::get_ci(map, "name")
                .and_then(Value::as_object)
                .and_then(|name| crate::filter::get_ci(name, "formatted"))
                .and_then(Value::as_str);
            if formatted.is_none_or(|f| f.trim().is_empty()) {
                return Err(ScimError::invalid_value("name.formatted is required"));
            }
            Ok(())
        }
        Kind::Group if misbehaviour.require_member_ref => {
            check_member_refs(crate::filter::get_ci(map, "members"))
        }
        _ => Ok(()),
    }
}

/// Every member given must carry `$ref`.
fn check_member_refs(members: Option<&Value>) -> Result<(), ScimError> {
    let members: Vec<&Value> = match members {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    for member in members {
        let reference =
            member.as_object().and_then(|m| crate::filter::get_ci(m, "$ref")).and_then(Value::as_str);
        if reference.is_none_or(|r| r.trim().is_empty()) {
            return Err(ScimError::invalid_value(format!("members.$ref is required, missing in {member}")));
        }
    }
    Ok(())
}

/// Productboard never deletes members; neither does the emulator.
async fn delete_user(Path(id): Path<String>) -> Response {
    tracing::warn!(%id, "refused DELETE of a user: users are only deactivated");
    (
        [(header::ALLOW, "GET, PUT, PATCH")],
        ScimError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            format!("users cannot be deleted, only deactivated: send PATCH with active=false for user {id}"),
        ),
    )
        .into_response()
}

async fn delete_group(State(app): AppState, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let if_match = if_match(&headers);
    app.state.change(|store| store.delete_group(&id, if_match.as_deref()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `no-schemas`: the discovery endpoints do not exist.
fn no_discovery(app: &App) -> Result<(), ScimError> {
    if app.config.misbehaviour.no_schemas {
        return Err(ScimError::not_found("no discovery endpoints on this service"));
    }
    Ok(())
}

async fn service_provider_config(State(app): AppState) -> Answer {
    no_discovery(&app)?;
    Ok(scim_response(
        StatusCode::OK,
        &discovery::service_provider_config(&app.base_url, app.config.max_page_size),
    ))
}

async fn resource_types(State(app): AppState) -> Answer {
    no_discovery(&app)?;
    Ok(scim_response(StatusCode::OK, &discovery::list(discovery::resource_types(&app.base_url))))
}

async fn resource_type(State(app): AppState, Path(id): Path<String>) -> Answer {
    no_discovery(&app)?;
    discovery::resource_types(&app.base_url)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| scim_response(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found(format!("resource type {id} not found")))
}

async fn schemas(State(app): AppState) -> Answer {
    no_discovery(&app)?;
    Ok(scim_response(
        StatusCode::OK,
        &discovery::list(discovery::schemas(&app.base_url, &app.config.misbehaviour)),
    ))
}

async fn schema(State(app): AppState, Path(id): Path<String>) -> Answer {
    no_discovery(&app)?;
    discovery::schemas(&app.base_url, &app.config.misbehaviour)
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&id)))
        .map(|s| scim_response(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found(format!("schema {id} not found")))
}

async fn not_found(method: Method, uri: Uri) -> ScimError {
    ScimError::not_found(format!("no endpoint for {method} {}", uri.path()))
}

/// A path outside every target of an emulator serving several: a SCIM 404 whose detail
/// says the target's name is the first segment.
pub(crate) async fn no_such_target(method: Method, uri: Uri) -> Response {
    let error = ScimError::not_found(format!(
        "no endpoint for {method} {}: no target of that name (targets are served at /NAME/scim/v2)",
        uri.path()
    ));
    scim_response(StatusCode::NOT_FOUND, &error.body(&crate::config::Misbehaviour::default()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ScimError {
    ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, format!("{method} is not allowed on {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
