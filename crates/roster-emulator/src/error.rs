//! Errors: the library's own ([`EmulatorError`]) and the SCIM errors it answers with.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::Misbehaviour;

/// What can go wrong when starting, seeding or stopping the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but could not be read.
    #[error("cannot read the state file {path}")]
    ReadState {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not JSON of the expected shape.
    #[error("the state file {path} is not valid: {detail}")]
    InvalidState {
        /// The state file.
        path: PathBuf,
        /// What is wrong, naming the resource where possible.
        detail: String,
    },
    /// The state could not be written back.
    #[error("cannot write the state file {path}")]
    WriteState {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The targets asked for cannot be served: a name that is not a path segment, a name
    /// given twice, or none at all.
    #[error("cannot serve the targets: {detail}")]
    InvalidTargets {
        /// What is wrong, naming the target.
        detail: String,
    },
    /// A resource given to a seeding method was refused, as the server would refuse it.
    #[error("cannot seed the resource: {detail}")]
    InvalidResource {
        /// Why, in the words of the SCIM error the server would answer.
        detail: String,
    },
    /// A task of the server ended abnormally.
    #[error("an emulator task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// The SCIM `Error` message schema.
pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error answer (RFC 7644 section 3.12), rendered late so that the misbehaviour
/// switches about error bodies apply to every error in one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScimError {
    pub(crate) status: StatusCode,
    pub(crate) scim_type: Option<&'static str>,
    pub(crate) detail: String,
}

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    pub(crate) fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub(crate) fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", detail)
    }

    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidSyntax", detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub(crate) fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    /// The JSON body, bent by the misbehaviour switches that concern errors.
    pub(crate) fn body(&self, misbehaviour: &Misbehaviour) -> Value {
        let status = if misbehaviour.numeric_status {
            json!(self.status.as_u16())
        } else {
            json!(self.status.as_u16().to_string())
        };
        let mut body = json!({ "schemas": [ERROR_SCHEMA], "status": status });
        let scim_type = match self.scim_type {
            Some(_) if self.status == StatusCode::CONFLICT && misbehaviour.conflict_without_scim_type => None,
            other => other,
        };
        if let Some(scim_type) = scim_type {
            body["scimType"] = json!(scim_type);
        }
        body["detail"] = json!(self.detail);
        body
    }
}

impl IntoResponse for ScimError {
    /// The body is left empty here: the request pipeline renders it from the error kept
    /// in the response's extensions, once it knows the misbehaviour switches.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
