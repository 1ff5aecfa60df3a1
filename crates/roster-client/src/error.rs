//! Errors of the client, each naming the request it concerns and never the token.

use std::fmt;

use roster_scim::{MappingError, Method, RequestError, ScimRequest};
use thiserror::Error;

/// What to check when Productboard refuses the token.
pub const AUTH_HINT: &str = "Productboard's SCIM needs the Enterprise plan, SAML SSO configured first, SCIM \
     switched on under Settings → Security, and the SCIM token (not a REST API token)";

/// What to check when the service does not accept the token at all (401): where the
/// token comes from, and the two places Productboard issues one.
pub const TOKEN_HINT: &str = "the token comes from ROSTER_SCIM_TOKEN, or the file named by --token-file: check it \
     holds the current token, whole. Productboard issues it under Settings → Security once SCIM is switched on \
     (the Enterprise plan, with SAML SSO configured first), or as an access token under Integrations → Public API";

/// What to check when a list endpoint is not where the base URL says.
pub const BASE_URL_HINT: &str = "check the SCIM base URL (--url or ROSTER_SCIM_URL): Productboard's is https://api.productboard.com/scim/v2";

/// What to check when a proxy from the environment may be in the way.
pub const PROXY_HINT: &str = "a proxy from HTTPS_PROXY (or HTTP_PROXY, ALL_PROXY) carries the requests: check it \
     allows CONNECT to the SCIM host, or list the host in NO_PROXY to go direct";

/// The hint for an error status no retry heals: where the token comes from for a 401,
/// what Productboard needs for a 403, the base URL for a list endpoint's 404, the value
/// for a 400, support for a 405 or 501. A 404 on one resource is an answer, not a fault.
pub(crate) fn status_hint(status: u16, req: &ScimRequest) -> Option<&'static str> {
    match status {
        401 => Some(TOKEN_HINT),
        403 => Some(AUTH_HINT),
        404 if !req.path().trim_start_matches('/').contains('/') => Some(BASE_URL_HINT),
        400 => Some(
            "the service refused a value roster sent (its detail names it): check that attribute in \
             the file; `roster doctor` shows which attributes the service keeps",
        ),
        405 | 501 => Some(
            "the service does not support this request: check the SCIM base URL and the target's \
             provider (a PATCH refused this way is retried as GET and PUT by itself)",
        ),
        _ => None,
    }
}

/// A connection failure that no retry heals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectProblem {
    /// The server's certificate is not signed by a trusted authority.
    UntrustedCertificate,
    /// The server's certificate has expired or is not valid yet.
    ExpiredCertificate,
    /// The server's certificate is for another name.
    WrongCertificateName,
    /// The TLS handshake failed: no common protocol, an alert, not TLS at all.
    TlsHandshake,
    /// The host name does not resolve.
    NameNotResolved,
    /// The proxy refused to open a tunnel to the host.
    ProxyRefused,
}

impl ConnectProblem {
    /// Reads a connection failure: `None` when it may heal on a retry.
    pub(crate) fn of(err: &reqwest::Error, proxied: bool) -> Option<Self> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(cause) = next {
            if let Some(problem) = unwrapped(cause).find_map(Self::of_tls) {
                return Some(problem);
            }
            // hyper-util's connector errors are private types: their message is all there is.
            let text = cause.to_string();
            if text.starts_with("dns error") {
                return Some(ConnectProblem::NameNotResolved);
            }
            if proxied && (text.contains("tunnel") || text.contains("proxy")) {
                return Some(ConnectProblem::ProxyRefused);
            }
            next = cause.source();
        }
        None
    }

    fn of_tls(cause: &(dyn std::error::Error + 'static)) -> Option<Self> {
        use rustls::{CertificateError, Error};
        Some(match cause.downcast_ref::<Error>()? {
            Error::InvalidCertificate(
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. },
            ) => ConnectProblem::ExpiredCertificate,
            Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => ConnectProblem::WrongCertificateName,
            Error::InvalidCertificate(_) => ConnectProblem::UntrustedCertificate,
            _ => ConnectProblem::TlsHandshake,
        })
    }

    /// One thing a person can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            ConnectProblem::UntrustedCertificate => {
                "a TLS-inspecting (corporate) proxy re-signs TLS with its own CA: add that CA to the \
                 system trust store, or set SSL_CERT_FILE to a PEM file holding it (on Linux that file \
                 replaces the system store, so keep the public roots in it too)"
            }
            ConnectProblem::ExpiredCertificate => {
                "check this machine's clock, then the certificate of the server or of a TLS-inspecting \
                 proxy (its CA can be trusted through SSL_CERT_FILE or the system trust store)"
            }
            ConnectProblem::WrongCertificateName => {
                "check the host in the SCIM base URL (--url or ROSTER_SCIM_URL); a TLS-inspecting proxy \
                 must re-sign for that host"
            }
            ConnectProblem::TlsHandshake => {
                "check the SCIM base URL points at an https:// service, and whether a proxy \
                 (HTTPS_PROXY, NO_PROXY) sits in between"
            }
            ConnectProblem::NameNotResolved => {
                "check the host in the SCIM base URL (--url or ROSTER_SCIM_URL) and this machine's DNS; \
                 behind a proxy, set HTTPS_PROXY (and NO_PROXY for hosts to reach directly)"
            }
            ConnectProblem::ProxyRefused => PROXY_HINT,
        }
    }
}

/// An error and the errors `io::Error`s inside it carry, which `source()` skips.
fn unwrapped<'a>(
    cause: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(cause), |error| {
        let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
        let inner: &(dyn std::error::Error + 'static) = inner;
        Some(inner)
    })
}

impl fmt::Display for ConnectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectProblem::UntrustedCertificate => "the server's TLS certificate is not trusted",
            ConnectProblem::ExpiredCertificate => {
                "the server's TLS certificate has expired or is not valid yet"
            }
            ConnectProblem::WrongCertificateName => "the server's TLS certificate is for another host name",
            ConnectProblem::TlsHandshake => "the TLS handshake failed",
            ConnectProblem::NameNotResolved => "the host name does not resolve",
            ConnectProblem::ProxyRefused => "the proxy refused to connect to the host",
        })
    }
}

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
        /// What to check, when a proxy may be in the way.
        hint: Option<&'static str>,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },
    /// The connection failed in a way no retry heals; not retried.
    #[error("{method} {path} failed: {problem}")]
    Unreachable {
        /// The method.
        method: Method,
        /// The path and query.
        path: String,
        /// What went wrong.
        problem: ConnectProblem,
        /// Attempts made.
        attempts: u32,
        /// The failure.
        #[source]
        source: reqwest::Error,
    },
    /// The file of extra trusted certificates cannot be used.
    #[error("cannot read the certificates in {path} (SSL_CERT_FILE): {reason}")]
    CertificateFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
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
    /// The service answered yes, but what it shows lacks the change.
    #[error("{method} {path}: {message}")]
    NotApplied {
        /// The method.
        method: Method,
        /// The path.
        path: String,
        /// The 2xx status the service answered.
        status: u16,
        /// What was not applied, e.g. "the service answered 200 but did not apply: title
        /// (sent \"CTO\", the service shows none)".
        message: String,
    },
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
}

impl ClientError {
    /// What a person should check, when there is something specific to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ClientError::Http { hint, .. } | ClientError::Connection { hint, .. } => *hint,
            ClientError::Unreachable { problem, .. } => Some(problem.hint()),
            ClientError::Build(_) => Some(
                "roster trusts the system's CA certificates: install them (the ca-certificates \
                 package), or set SSL_CERT_FILE to a PEM file of trusted certificates",
            ),
            ClientError::CertificateFile { .. } => Some(
                "SSL_CERT_FILE must name a readable file of PEM certificates (-----BEGIN CERTIFICATE-----)",
            ),
            _ => None,
        }
    }

    /// The HTTP status of the final response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. }
            | ClientError::Redirect { status, .. }
            | ClientError::NotApplied { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many times the request was sent, when the error concerns one request.
    pub fn attempts(&self) -> u32 {
        match self {
            ClientError::Timeout { attempts, .. }
            | ClientError::Connection { attempts, .. }
            | ClientError::Unreachable { attempts, .. }
            | ClientError::Http { attempts, .. } => *attempts,
            ClientError::Redirect { .. }
            | ClientError::TooLarge { .. }
            | ClientError::InvalidResponse { .. }
            | ClientError::Mapping { .. }
            | ClientError::WaitTooLong { .. }
            | ClientError::AdoptionFailed { .. }
            | ClientError::NotApplied { .. } => 1,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_hints_name_what_to_check() {
        let list = ScimRequest::list_users(1, 100, None);
        let one = ScimRequest::get_user("u1").unwrap();
        assert_eq!(status_hint(401, &list), Some(TOKEN_HINT));
        assert!(TOKEN_HINT.contains("ROSTER_SCIM_TOKEN") && TOKEN_HINT.contains("--token-file"));
        assert_eq!(status_hint(403, &one), Some(AUTH_HINT));
        assert_eq!(status_hint(404, &list), Some(BASE_URL_HINT));
        assert_eq!(status_hint(404, &ScimRequest::service_provider_config()), Some(BASE_URL_HINT));
        // A missing resource is an answer, not a wrong URL.
        assert_eq!(status_hint(404, &one), None);
        assert!(status_hint(400, &one).is_some_and(|h| h.contains("attribute")));
        assert!(status_hint(501, &one).is_some_and(|h| h.contains("base URL")));
        assert_eq!(status_hint(409, &list), None);
        assert_eq!(status_hint(500, &list), None);
    }

    #[test]
    fn every_problem_has_a_hint_naming_what_to_set() {
        assert!(ConnectProblem::UntrustedCertificate.hint().contains("SSL_CERT_FILE"));
        assert!(ConnectProblem::UntrustedCertificate.hint().contains("system trust store"));
        assert!(ConnectProblem::ProxyRefused.hint().contains("HTTPS_PROXY"));
        assert!(ConnectProblem::ProxyRefused.hint().contains("NO_PROXY"));
        assert!(ConnectProblem::NameNotResolved.hint().contains("ROSTER_SCIM_URL"));
    }

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
            hint: Some(TOKEN_HINT),
        };
        assert_eq!(err.to_string(), "GET /Users?startIndex=1&count=100 answered 401");
        assert_eq!(err.hint(), Some(TOKEN_HINT));
    }
}
