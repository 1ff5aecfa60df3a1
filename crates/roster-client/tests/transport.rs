//! The send path against small in-test servers that misbehave on purpose: redirects,
//! oversized bodies, `Retry-After` dates, timeouts, 401s, PATCH refused, proxy error pages,
//! truncated bodies; and the proof that the token never shows in Debug, Display, errors
//! or logs.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roster_client::{
    ClientConfig, ClientError, ReadClient, RecordOutcome, TOKEN_HINT, Token, UpdateMethod, WriteClient,
};
use roster_model::{Provider, UserChanges};
use serde_json::{Value, json};

const SECRET: &str = "tok-7f3a9c-SECRET-do-not-print";

/// One request a test server saw: method, path, `Authorization` header, JSON body.
type SeenRequest = (String, String, Option<String>, Option<Value>);

/// What a test server saw.
#[derive(Default)]
struct Seen {
    hits: AtomicUsize,
    requests: Mutex<Vec<SeenRequest>>,
}

impl Seen {
    fn hit(&self) -> usize {
        self.hits.fetch_add(1, Ordering::SeqCst) + 1
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

fn config(address: SocketAddr) -> ClientConfig {
    let mut config = ClientConfig::new(format!("http://{address}/scim/v2"), Provider::Productboard);
    config.token = Some(Token::new(SECRET));
    config.backoff_base = Duration::from_millis(2);
    config.backoff_max = Duration::from_millis(20);
    config
}

fn scim(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/scim+json")], body.to_string()).into_response()
}

fn list(total: u64, resources: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": total, "Resources": resources})
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let router = Router::new().route(
        "/scim/v2/ServiceProviderConfig",
        get(|| async { (StatusCode::FOUND, [(header::LOCATION, "https://elsewhere.example/login")]) }),
    );
    let client = ReadClient::new(config(serve(router).await)).unwrap();
    let err = client.service_provider_config().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /ServiceProviderConfig answered 302 redirecting to \"https://elsewhere.example/login\"; \
         redirects are not followed, check the SCIM base URL"
    );
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let router = Router::new().route(
        "/scim/v2/Users/{id}",
        get(|| async {
            scim(StatusCode::OK, json!({"id": "1", "userName": "a@x.io", "pad": "x".repeat(5000)}))
        }),
    );
    let mut config = config(serve(router).await);
    config.max_response_bytes = 1000;
    let err = ReadClient::new(config).unwrap().get_user("1").await.unwrap_err();
    assert_eq!(err.to_string(), "GET /Users/1: the response is larger than the limit of 1000 bytes");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            get(|State(seen): State<Arc<Seen>>| async move {
                if seen.hit() == 1 {
                    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(1));
                    return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, date)]).into_response();
                }
                scim(StatusCode::OK, json!({"id": "1", "userName": "a@x.io"}))
            }),
        )
        .with_state(seen.clone());
    let client = ReadClient::new(config(serve(router).await)).unwrap();
    let user = client.get_user("1").await.unwrap().unwrap();
    assert_eq!(user.user_name, "a@x.io");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_maximum_fails_at_once() {
    let router = Router::new().route(
        "/scim/v2/Users/{id}",
        get(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "3600")]) }),
    );
    let err = ReadClient::new(config(serve(router).await)).unwrap().get_user("1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /Users/1: the service asked to wait 3600 s before retrying, longer than the 120 s roster waits"
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            get(|State(seen): State<Arc<Seen>>| async move {
                seen.hit();
                scim(StatusCode::SERVICE_UNAVAILABLE, json!({"status": 503, "detail": "maintenance"}))
            }),
        )
        .with_state(seen.clone());
    let mut config = config(serve(router).await);
    config.max_attempts = 4;
    let err = ReadClient::new(config).unwrap().get_user("1").await.unwrap_err();
    assert_eq!(err.to_string(), "GET /Users/1 answered 503: maintenance after 4 attempts");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_timed_out_post_is_not_retried_but_a_timed_out_get_is() {
    let seen = Arc::new(Seen::default());
    let slow = |State(seen): State<Arc<Seen>>| async move {
        seen.hit();
        tokio::time::sleep(Duration::from_secs(5)).await;
        scim(StatusCode::OK, json!({}))
    };
    let router = Router::new().route("/scim/v2/Users", get(slow).post(slow)).with_state(seen.clone());
    let mut config = config(serve(router).await);
    config.request_timeout = Duration::from_millis(100);
    config.max_attempts = 3;
    let writer = WriteClient::new(config).unwrap();
    let attrs =
        roster_model::UserAttributes { user_name: "a@x.io".into(), active: true, ..Default::default() };
    let err = writer.create_user(&attrs).await.unwrap_err();
    assert!(matches!(err.error, ClientError::Timeout { attempts: 1, .. }), "{}", err.error);
    assert_eq!(err.records[0].attempts, 1);
    assert_eq!(err.records[0].status, None);
    assert_eq!(seen.hits.swap(0, Ordering::SeqCst), 1);

    let err = writer.reader().find_user_by_user_name("a@x.io").await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { attempts: 3, .. }), "{err}");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn unauthorized_names_where_the_token_comes_from() {
    let router = Router::new().route(
        "/scim/v2/Users",
        get(|| async { scim(StatusCode::UNAUTHORIZED, json!({"status": "401", "detail": "invalid token"})) }),
    );
    let client = ReadClient::new(config(serve(router).await)).unwrap();
    let err = client.fetch_users().await.unwrap_err();
    assert_eq!(err.to_string(), "GET /Users?startIndex=1&count=100 answered 401: invalid token");
    assert_eq!(err.hint(), Some(TOKEN_HINT));
    let steps = client.probe().await;
    assert_eq!(steps[1].status, Some(401));
    assert_eq!(steps[1].hint, Some(TOKEN_HINT));
}

/// A service that answers PATCH with 501: the update goes GET, merge, PUT.
#[tokio::test]
async fn patch_refused_falls_back_to_put_keeping_unknown_attributes() {
    let seen = Arc::new(Seen::default());
    let stored = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "a@x.io",
        "title": "Old", "x-custom": {"keep": true}, "meta": {"version": "W/\"1\""}
    });
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            get(move |Path(_id): Path<String>| {
                let stored = stored.clone();
                async move { scim(StatusCode::OK, stored) }
            })
            .patch(|State(seen): State<Arc<Seen>>| async move {
                seen.requests.lock().unwrap().push(("PATCH".into(), String::new(), None, None));
                scim(StatusCode::NOT_IMPLEMENTED, json!({"status": "501"}))
            })
            .put(|State(seen): State<Arc<Seen>>, body: String| async move {
                let body: Value = serde_json::from_str(&body).unwrap();
                seen.requests.lock().unwrap().push(("PUT".into(), String::new(), None, Some(body.clone())));
                scim(StatusCode::OK, body)
            }),
        )
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(|| async { scim(StatusCode::OK, json!({"patch": {"supported": true}})) }),
        )
        .with_state(seen.clone());
    let writer = WriteClient::new(config(serve(router).await)).unwrap();
    let applied = writer
        .update_user("u1", &UserChanges { title: Some("New".into()), ..Default::default() })
        .await
        .unwrap();
    let summary: Vec<(&str, Option<u16>, bool)> = applied
        .records
        .iter()
        .map(|r| (r.method.as_str(), r.status, matches!(r.outcome, RecordOutcome::Done)))
        .collect();
    assert_eq!(summary, [("PATCH", Some(501), false), ("PUT", Some(200), true)]);
    let requests = seen.requests.lock().unwrap();
    let put = requests[1].3.clone().unwrap();
    assert_eq!(put["title"], "New");
    assert_eq!(put["x-custom"], json!({"keep": true}));
    assert!(put.get("meta").is_none());
}

/// `ServiceProviderConfig` saying no PATCH: the update goes straight to PUT.
#[tokio::test]
async fn patch_unsupported_in_the_config_means_put() {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users/{id}",
            get(|| async { scim(StatusCode::OK, json!({"id": "u1", "userName": "a@x.io", "active": true})) })
                .put(|State(seen): State<Arc<Seen>>, body: String| async move {
                    seen.hit();
                    scim(StatusCode::OK, serde_json::from_str(&body).unwrap())
                }),
        )
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(|| async { scim(StatusCode::OK, json!({"patch": {"supported": false}})) }),
        )
        .with_state(seen.clone());
    let mut config = config(serve(router).await);
    config.update_method = UpdateMethod::Auto;
    let writer = WriteClient::new(config).unwrap();
    let applied =
        writer.update_user("u1", &UserChanges { active: Some(false), ..Default::default() }).await.unwrap();
    assert_eq!(applied.records.len(), 1);
    assert_eq!(applied.records[0].method.as_str(), "PUT");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
}

/// A tracing writer that keeps everything written, to search it for the token.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_never_shows() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            get(|State(seen): State<Arc<Seen>>, headers: HeaderMap, RawQuery(query): RawQuery| async move {
                let auth =
                    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
                seen.requests.lock().unwrap().push(("GET".into(), "/Users".into(), auth, None));
                if query.unwrap_or_default().starts_with("startIndex=2&") {
                    // The look past the end of a one-page list.
                    return scim(StatusCode::OK, list(1, json!([])));
                }
                match seen.hit() {
                    1 => scim(StatusCode::INTERNAL_SERVER_ERROR, json!({"status": "500"})),
                    2 => scim(StatusCode::OK, list(1, json!([{"id": "1", "userName": "a@x.io"}]))),
                    _ => scim(StatusCode::UNAUTHORIZED, json!({"status": "401", "detail": "bad token"})),
                }
            }),
        )
        .route("/scim/v2/Groups", get(|| async { scim(StatusCode::OK, list(0, json!([]))) }))
        .with_state(seen.clone());
    let config = config(serve(router).await);
    let client = WriteClient::new(config.clone()).unwrap();
    let live = client.reader().fetch_live().await.unwrap();
    assert_eq!(live.users.len(), 1);
    let err = client.reader().fetch_users().await.unwrap_err();
    let token_err = Token::from_file(std::path::Path::new("/nonexistent/roster-token")).unwrap_err();

    // The token did reach the server, as a bearer header.
    let auth = seen.requests.lock().unwrap()[0].2.clone();
    assert_eq!(auth.as_deref(), Some(format!("Bearer {SECRET}").as_str()));

    let texts = [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{:?}", client.reader()),
        format!("{err:?} {err}"),
        format!("{token_err:?} {token_err}"),
        format!("{:?} {}", config.token.as_ref().unwrap(), config.token.as_ref().unwrap()),
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap(),
    ];
    assert!(texts[6].contains("retrying"), "the log was captured: {}", texts[6]);
    for text in texts {
        assert!(!text.contains(SECRET) && !text.contains("SECRET"), "the token leaked: {text}");
    }
}

/// A proxy in front of the service answers with its own HTML page first, then lets the
/// request through.
#[tokio::test]
async fn a_proxy_html_502_is_retried_and_a_garbage_200_is_a_clear_error() {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            get(|State(seen): State<Arc<Seen>>| async move {
                if seen.hit() == 1 {
                    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
                    return (StatusCode::BAD_GATEWAY, [(header::CONTENT_TYPE, "text/html")], html)
                        .into_response();
                }
                scim(
                    StatusCode::OK,
                    list(1, json!([{"id": "1", "userName": "ada@example.com", "active": true}])),
                )
            }),
        )
        .route(
            "/scim/v2/Groups",
            get(|| async {
                (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], "<html>login</html>").into_response()
            }),
        )
        .with_state(seen.clone());
    let client = ReadClient::new(config(serve(router).await)).unwrap();
    let (users, completeness) = client.fetch_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert!(completeness.is_complete());
    // The 502, the page, and one look past a page as long as the longest seen.
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3, "the 502 was retried");

    // A login page with status 200 (a captive proxy, a wrong URL) must not pass for an
    // empty list of groups: that would make every team look unmanaged.
    let err = client.fetch_groups().await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("/Groups"), "{message}");
    assert!(!message.contains(SECRET));
}

/// A body cut off in the middle (the connection closes early) is a connection failure,
/// retried, never half a page taken for a whole one.
#[tokio::test]
async fn a_truncated_body_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let server_hits = hits.clone();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let body = json!({"id": "1", "userName": "ada@example.com", "active": true}).to_string();
            let n = server_hits.fetch_add(1, Ordering::SeqCst);
            let sent = if n == 0 { &body[..body.len() / 2] } else { &body[..] };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{sent}",
                body.len()
            );
        }
    });
    let client = ReadClient::new(config(address)).unwrap();
    let user = client.get_user("1").await.unwrap().unwrap();
    assert_eq!(user.user_name, "ada@example.com");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// A server answering every user lookup with `status`, counting the requests.
async fn answering(status: u16, scim_type: Option<&'static str>) -> (ReadClient, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            get(move |State(seen): State<Arc<Seen>>| async move {
                seen.hit();
                let code = StatusCode::from_u16(status).unwrap();
                scim(code, json!({"status": status.to_string(), "scimType": scim_type, "detail": "no"}))
            }),
        )
        .with_state(seen.clone());
    let mut config = config(serve(router).await);
    config.max_attempts = 3;
    (ReadClient::new(config).unwrap(), seen)
}

#[tokio::test]
async fn errors_no_retry_heals_fail_at_once_with_a_hint_and_throttles_are_retried() {
    for (status, scim_type) in [
        (400, Some("invalidSyntax")),
        (400, Some("invalidValue")),
        (401, None),
        (403, None),
        (404, None),
        (405, None),
        (501, None),
    ] {
        let (client, seen) = answering(status, scim_type).await;
        let err = client.find_user_by_user_name("ada@example.com").await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err}");
        assert_eq!(
            (err.attempts(), seen.hits.load(Ordering::SeqCst)),
            (1, 1),
            "{status} is not retried: {err}"
        );
        assert!(err.hint().is_some(), "{status} carries a hint: {err}");
    }
    for status in [429, 500, 502, 503, 504] {
        let (client, seen) = answering(status, None).await;
        let err = client.find_user_by_user_name("ada@example.com").await.unwrap_err();
        assert_eq!((err.attempts(), seen.hits.load(Ordering::SeqCst)), (3, 3), "{status} is retried: {err}");
    }
}
