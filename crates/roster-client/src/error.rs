//! Errors of the client, each naming the request it concerns and never the token.

use roster_scim::{MappingError, Method, RequestError};
use thiserror::Error;

/// What to check when Productboard refuses the token.
pub const AUTH_HINT: &str = "Productboard's SCIM needs the Enterprise plan, SAML SSO configured first, SCIM \
     switched on under Settings → Security, and the SCIM token (not a REST API token)";

/// A request or a connection failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The base URL cannot be used.
    #[error("invalid SCIM base URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (without credentials).
        url: String,
        /// Why.
        reason: String,
    },
    /// A plain `http://` URL to a host other than loopback.
    #[error("refusing plain http:// to {host}: use https:// (http:// is allowed only to loopback addresses)")]
    InsecureUrl {
        /// The host.
        host: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Build(#[source] reqwest::Error),
    /// No answer in time, on every attempt.
    #[error("{method} {path} timed out ({attempts} attempts)")]
    Timeout {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed or dropped, on every attempt.
    #[error("{method} {path} failed: connection error ({attempts} attempts)")]
    Connection {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with an error status.
    #[error(
        "{method} {path} answered {status}{}{}{}",
        scim_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default(),
        detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
        if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
    )]
    Http {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The SCIM error type, when the body had one.
        scim_type: Option<String>,
        /// The SCIM error detail, when the body had one.
        detail: Option<String>,
        /// Attempts made.
        attempts: u32,
        /// What to check, for 401 and 403.
        hint: Option<&'static str>,
    },
    /// The service answered with a redirect, which the client does not follow.
    #[error(
        "{method} {path} answered {status} redirecting to {location:?}; redirects are not followed, \
         check the SCIM base URL"
    )]
    Redirect {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The `Location` header, if any.
        location: String,
    },
    /// The response body exceeded the configured cap.
    #[error("{method} {path}: the response is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// The cap.
        limit: usize,
    },
    /// The response body is not the JSON expected.
    #[error("{method} {path}: the response is not a valid SCIM {expected}")]
    InvalidResponse {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// A resource from the service lacks an id or a name.
    #[error("{method} {path}: unusable resource")]
    Mapping {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// What is missing.
        #[source]
        source: MappingError,
    },
    /// The service asked to wait longer than the client is willing to.
    #[error(
        "{method} {path}: the service asked to wait {seconds} s before retrying, longer than the \
         {max_seconds} s roster waits"
    )]
    WaitTooLong {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// What the service asked for.
        seconds: u64,
        /// The configured maximum.
        max_seconds: u64,
    },
    /// An id that cannot name a resource.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A create met a conflict, but the existing resource could not be found to adopt it.
    #[error("{method} {path} answered 409 after a retry, but no {kind} named {name:?} was found to adopt")]
    AdoptionFailed {
        /// The method.
        method: Method,
        /// The path.
        path: String,
        /// `user` or `group`.
        kind: &'static str,
        /// The userName or displayName looked up.
        name: String,
    },
    /// Just before a create, the name turned out to be taken by something other than
    /// what the plan creates (another apply, or a person, got there first).
    #[error("{method} {path}: {detail}")]
    CreateConflict {
        /// The method of the look-up.
        method: Method,
        /// The path of the look-up.
        path: String,
        /// `user` or `group`.
        kind: &'static str,
        /// The userName or displayName the create would take.
        name: String,
        /// What holds the name and why it is not adopted, for people.
        detail: String,
    },
}

impl ClientError {
    /// What a person should check, when there is something specific to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ClientError::Http { hint, .. } => *hint,
            _ => None,
        }
    }

    /// The HTTP status of the final response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } | ClientError::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many times the request was sent, when the error concerns one request.
    pub fn attempts(&self) -> u32 {
        match self {
            ClientError::Timeout { attempts, .. }
            | ClientError::Connection { attempts, .. }
            | ClientError::Http { attempts, .. } => *attempts,
            ClientError::Redirect { .. }
            | ClientError::TooLarge { .. }
            | ClientError::InvalidResponse { .. }
            | ClientError::Mapping { .. }
            | ClientError::WaitTooLong { .. }
            | ClientError::AdoptionFailed { .. } => 1,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_reads_well() {
        let err = ClientError::Http {
            method: Method::Post,
            path: "/Users".into(),
            status: 409,
            scim_type: Some("uniqueness".into()),
            detail: Some("userName taken".into()),
            attempts: 2,
            hint: None,
        };
        assert_eq!(err.to_string(), "POST /Users answered 409 (uniqueness): userName taken after 2 attempts");
        let err = ClientError::Http {
            method: Method::Get,
            path: "/Users?startIndex=1&count=100".into(),
            status: 401,
            scim_type: None,
            detail: None,
            attempts: 1,
            hint: Some(AUTH_HINT),
        };
        assert_eq!(err.to_string(), "GET /Users?startIndex=1&count=100 answered 401");
        assert_eq!(err.hint(), Some(AUTH_HINT));
    }
}
