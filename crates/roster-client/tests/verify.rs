//! Discovery and verified writes against small scripted servers: a service that refuses
//! the value path of a member removal, one that answers 204 and did not deactivate, one
//! without filters.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_client::{ClientConfig, ClientError, ReadClient, Token, Verification, WriteClient};
use roster_model::{Provider, UserChanges};
use serde_json::{Value, json};

/// Method, path with query, and JSON body of each request the server saw.
type Log = Arc<Mutex<Vec<(String, String, Option<Value>)>>>;

type Script = Arc<dyn Fn(&Method, &str, Option<&Value>) -> (StatusCode, Option<Value>) + Send + Sync>;

/// A server that logs every request and answers as `script` says.
async fn scripted(
    script: impl Fn(&Method, &str, Option<&Value>) -> (StatusCode, Option<Value>) + Send + Sync + 'static,
) -> (ClientConfig, Log) {
    let log: Log = Arc::default();
    let script: Script = Arc::new(script);
    let state = (log.clone(), script);
    let router =
        Router::new().fallback(|State((log, script)): State<(Log, Script)>, request: Request| async move {
            let method = request.method().clone();
            let target = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
            let path = target.trim_start_matches("/scim/v2").to_owned();
            let bytes: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
            let body: Option<Value> = serde_json::from_slice(&bytes).ok();
            log.lock().unwrap().push((method.to_string(), path.clone(), body.clone()));
            let (status, answer) = script(&method, &path, body.as_ref());
            match answer {
                Some(answer) => {
                    (status, [(header::CONTENT_TYPE, "application/scim+json")], answer.to_string())
                        .into_response()
                }
                None => Response::builder().status(status).body(axum::body::Body::empty()).unwrap(),
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router.with_state(state)).await.unwrap() });
    let mut config = ClientConfig::new(format!("http://{address}/scim/v2"), Provider::Generic);
    config.token = Some(Token::new("t"));
    config.max_attempts = 1;
    (config, log)
}

fn writes(log: &Log) -> Vec<(String, String, Option<Value>)> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(method, path, _)| {
            !(path.starts_with("/ServiceProviderConfig")
                || path.starts_with("/ResourceTypes")
                || path.starts_with("/Schemas"))
                && method != "OPTIONS"
        })
        .cloned()
        .collect()
}

fn group(members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"id": "g1", "displayName": "Team", "members": members})
}

#[tokio::test]
async fn a_refused_value_path_falls_back_to_a_verified_put_of_the_group() {
    let held = Arc::new(Mutex::new(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]));
    let state = held.clone();
    let (config, log) = scripted(move |method, path, body| {
        let mut held = state.lock().unwrap();
        match (method.as_str(), path) {
            ("PATCH", "/Groups/g1") => {
                (StatusCode::BAD_REQUEST, Some(json!({"status": "400", "scimType": "invalidPath"})))
            }
            ("GET", "/Groups/g1") => {
                let ids: Vec<&str> = held.iter().map(String::as_str).collect();
                (StatusCode::OK, Some(group(&ids)))
            }
            ("PUT", "/Groups/g1") => {
                let body = body.unwrap();
                *held = body["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect();
                let ids: Vec<&str> = held.iter().map(String::as_str).collect();
                (StatusCode::OK, Some(group(&ids)))
            }
            _ => (StatusCode::NOT_FOUND, None),
        }
    })
    .await;
    let writer = WriteClient::new(config).unwrap();
    let applied = writer.remove_members("g1", &["c".to_owned()]).await.unwrap();
    assert_eq!(applied.verification, Verification::Answer, "the PUT's answer shows c gone");
    let sent = writes(&log);
    let methods: Vec<&str> = sent.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(methods, ["PATCH", "GET", "PUT"]);
    assert_eq!(
        sent[0].2.as_ref().unwrap()["Operations"],
        json!([{"op": "remove", "path": "members[value eq \"c\"]"}])
    );
    assert_eq!(sent[2].2.as_ref().unwrap()["members"], json!([{"value": "a"}, {"value": "b"}]));
    assert_eq!(*held.lock().unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn a_204_deactivation_is_read_back_and_fails_when_the_user_is_still_active() {
    let (config, log) = scripted(|method, path, _| match (method.as_str(), path) {
        ("PATCH", "/Users/u1") => (StatusCode::NO_CONTENT, None),
        ("GET", "/Users/u1") => {
            (StatusCode::OK, Some(json!({"id": "u1", "userName": "a@x.io", "active": true})))
        }
        _ => (StatusCode::NOT_FOUND, None),
    })
    .await;
    let writer = WriteClient::new(config).unwrap();
    let err = writer
        .update_user("u1", &UserChanges { active: Some(false), ..UserChanges::default() })
        .await
        .unwrap_err();
    assert!(matches!(err.error, ClientError::NotApplied { status: 204, .. }), "{}", err.error);
    assert_eq!(
        err.error.to_string(),
        "PATCH /Users/u1: the service answered 204 but did not apply: active (sent false, the service shows true)"
    );
    let methods: Vec<String> = writes(&log).into_iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(methods, ["PATCH /Users/u1", "GET /Users/u1"]);
}

#[tokio::test]
async fn a_title_answered_with_the_old_value_is_read_back_once_then_failed() {
    let (config, log) = scripted(|method, path, _| match (method.as_str(), path) {
        ("PATCH" | "GET", "/Users/u1") => {
            (StatusCode::OK, Some(json!({"id": "u1", "userName": "a@x.io", "title": "Analyst"})))
        }
        _ => (StatusCode::NOT_FOUND, None),
    })
    .await;
    let writer = WriteClient::new(config).unwrap();
    let err = writer
        .update_user("u1", &UserChanges { title: Some("CTO".into()), ..UserChanges::default() })
        .await
        .unwrap_err();
    assert!(
        err.error
            .to_string()
            .ends_with("answered 200 but did not apply: title (sent \"CTO\", the service shows \"Analyst\")"),
        "{}",
        err.error
    );
    assert_eq!(writes(&log).len(), 2, "the PATCH and one read-back");
}

#[tokio::test]
async fn filters_are_probed_only_where_the_service_supports_them() {
    let (config, log) = scripted(|method, path, _| match (method.as_str(), path) {
        ("GET", "/ServiceProviderConfig") => (
            StatusCode::OK,
            Some(json!({"patch": {"supported": true}, "filter": {"supported": false}, "sort": {"supported": false}})),
        ),
        ("GET", p) if p.starts_with("/Users") || p.starts_with("/Groups") => (
            StatusCode::OK,
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []})),
        ),
        _ => (StatusCode::NOT_FOUND, None),
    })
    .await;
    let steps = ReadClient::new(config).unwrap().probe().await;
    let filter = steps.iter().find(|s| s.name == "user filter").unwrap();
    assert_eq!(filter.result, Ok("not checked: the service declares filter.supported false".to_owned()));
    assert!(steps.iter().all(|s| s.result.is_ok()), "{steps:?}");
    assert!(!log.lock().unwrap().iter().any(|(_, path, _)| path.contains("filter=")), "no filter was sent");
}
