//! Helpers shared by the emulator's integration tests.
#![allow(dead_code, missing_docs)]

use reqwest::header::HeaderMap;
use reqwest::{Client, Method};
use roster_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use serde_json::Value;

/// Starts an emulator on a free loopback port.
pub async fn start(config: EmulatorConfig) -> RunningEmulator {
    Emulator::start("127.0.0.1:0".parse().unwrap(), config).await.expect("emulator starts")
}

/// An answer: status, headers and the JSON body (`Null` when there is none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A minimal SCIM caller that sends what it is told, with an optional bearer token.
#[derive(Clone)]
pub struct Scim {
    pub client: Client,
    pub base: String,
    pub token: Option<String>,
}

impl Scim {
    pub fn new(emulator: &RunningEmulator) -> Self {
        Self { client: Client::new(), base: emulator.base_url(), token: None }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Sends a request; a connection error is returned as the error.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/scim+json").body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
        Ok(Reply { status, headers, body })
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.try_send(method, path, body).await.expect("request answered")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, operations: Value) -> Reply {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a user and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let reply = self.post("/Users", serde_json::json!({ "userName": user_name })).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }
}

/// Ids of the resources of a list response, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Asserts a SCIM error body with this status (as a string) and scimType.
pub fn assert_scim_error(reply: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{}", reply.body);
    assert_eq!(reply.body["status"], status.to_string(), "{}", reply.body);
    assert_eq!(reply.body["scimType"].as_str(), scim_type, "{}", reply.body);
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
}
