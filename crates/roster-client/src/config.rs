//! How the client connects and how hard it tries.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use roster_model::Provider;
use roster_pace::PacerConfig;

use crate::error::ClientError;
use crate::token::Token;

/// How a user update is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateMethod {
    /// A minimal PATCH, unless `/ServiceProviderConfig` says PATCH is unsupported or a
    /// PATCH is answered 501 or 405; then GET, merge, and PUT.
    #[default]
    Auto,
    /// Always PATCH.
    Patch,
    /// Always GET, merge, and PUT (the fallback path, for services without PATCH).
    Put,
}

/// Everything the client needs to know. Build it with [`ClientConfig::new`] and change
/// the fields that differ from the defaults.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The SCIM base URL, e.g. `https://api.productboard.com/scim/v2`.
    pub base_url: String,
    /// The bearer token; `None` sends no `Authorization` header.
    pub token: Option<Token>,
    /// The target service, for its quirks.
    pub provider: Provider,
    /// The most requests in flight at once, reads and writes alike (default 16). With
    /// `adaptive_concurrency`, roster starts at `initial_concurrency` and moves within
    /// 1 to this ceiling: up while latency is high and the service has headroom, down on
    /// 429 and 5xx.
    pub concurrency: usize,
    /// Requests in flight at the start, when concurrency adapts (default 4).
    pub initial_concurrency: usize,
    /// Whether concurrency adapts (default); when not, it stays at `concurrency`.
    pub adaptive_concurrency: bool,
    /// Whether the service throttles with 500 instead of 429 (some do): its 500s then
    /// slow the pace like a 429 rather than only being retried.
    pub throttles_with_500: bool,
    /// A PEM file of certificates trusted besides the system's (default: `SSL_CERT_FILE`
    /// when set), for a TLS-inspecting proxy's CA.
    pub extra_root_certificates: Option<PathBuf>,
    /// Whether a proxy from the environment (`HTTPS_PROXY`, `ALL_PROXY`, ...) may carry
    /// the requests; only for hints, the HTTP client reads the environment itself.
    pub proxy_from_environment: bool,
    /// Attempts per request, the first included (default 5).
    pub max_attempts: u32,
    /// Time allowed for one attempt, from sending to the whole body (default 30 s).
    pub request_timeout: Duration,
    /// A client-side cap on the request rate, shared by all requests.
    pub max_requests_per_second: Option<f64>,
    /// The largest response body accepted (default 32 MiB).
    pub max_response_bytes: usize,
    /// Resources asked for per page (default 100, Productboard's cap).
    pub page_size: usize,
    /// Members per group PATCH request (default 100).
    pub max_members_per_request: usize,
    /// The first retry waits about this long; each further one twice as long, with
    /// jitter (default 500 ms).
    pub backoff_base: Duration,
    /// The longest wait between two attempts without `Retry-After` (default 30 s).
    pub backoff_max: Duration,
    /// The longest `Retry-After` or rate-limit reset the client waits for; a service
    /// asking for more makes the request fail (default 120 s).
    pub max_retry_after: Duration,
    /// How user updates are sent.
    pub update_method: UpdateMethod,
    /// Read `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` before the first
    /// use (default true). Off, the provider's defaults are assumed without a request;
    /// for measuring what discovery costs.
    pub discover: bool,
    /// Confirm each write by its answer or a read-back (default true). Off, a 2xx counts
    /// as done; for measuring what verification costs. roster's commands never turn it off.
    pub verify_writes: bool,
}

impl ClientConfig {
    /// A configuration with the defaults and no token; set [`ClientConfig::token`].
    pub fn new(base_url: impl Into<String>, provider: Provider) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token: None,
            provider,
            concurrency: 16,
            initial_concurrency: 4,
            adaptive_concurrency: true,
            throttles_with_500: false,
            extra_root_certificates: std::env::var_os("SSL_CERT_FILE")
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            proxy_from_environment: [
                "HTTPS_PROXY",
                "https_proxy",
                "HTTP_PROXY",
                "http_proxy",
                "ALL_PROXY",
                "all_proxy",
            ]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty())),
            max_attempts: 5,
            request_timeout: Duration::from_secs(30),
            max_requests_per_second: None,
            max_response_bytes: 32 * 1024 * 1024,
            page_size: 100,
            max_members_per_request: 100,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            update_method: UpdateMethod::Auto,
            discover: true,
            verify_writes: true,
        }
    }
}

impl ClientConfig {
    /// The pacer's settings: the cap, and the concurrency it starts at and stays within.
    pub(crate) fn pacer(&self) -> PacerConfig {
        PacerConfig {
            max_rate: self.max_requests_per_second,
            initial_concurrency: self.initial_concurrency,
            max_concurrency: self.concurrency.max(1),
            adaptive: self.adaptive_concurrency,
        }
    }
}

/// Parses and checks the base URL: `https://`, or `http://` to a loopback address only;
/// no credentials, query or fragment in it.
pub(crate) fn checked_base_url(text: &str) -> Result<Url, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl { url: text.to_owned(), reason: reason.to_owned() };
    let url = Url::parse(text.trim()).map_err(|err| invalid(&err.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Say nothing more: the URL itself holds a secret.
        return Err(ClientError::InvalidUrl {
            url: format!("{}://…@{}", url.scheme(), url.host_str().unwrap_or_default()),
            reason: "credentials in the URL are not accepted; the token comes from ROSTER_SCIM_TOKEN or --token-file"
                .to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        // A query may hold a token (`?token=…`): show the URL without it.
        let mut shown = url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        return Err(ClientError::InvalidUrl {
            url: format!("{shown}?…"),
            reason: "the base URL must not have a query or a fragment".to_owned(),
        });
    }
    let host = url.host_str().ok_or_else(|| invalid("the URL has no host"))?.to_owned();
    match url.scheme() {
        "https" => Ok(url),
        "http" if roster_model::targets::is_loopback_host(&host) => Ok(url),
        "http" => Err(ClientError::InsecureUrl { host }),
        other => Err(invalid(&format!("unsupported scheme {other:?}; use https://"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_refused_without_being_repeated() {
        let err = checked_base_url("https://scim.example.com/scim/v2?token=s3cret#x").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("https://scim.example.com/scim/v2?…"), "{text}");
    }

    #[test]
    fn http_is_refused_except_to_loopback() {
        for ok in [
            "https://api.productboard.com/scim/v2",
            "http://127.0.0.1:8080/scim/v2",
            "http://127.9.9.9/scim/v2",
            "http://[::1]:9000/v2",
            "http://localhost:1/scim/v2",
            "http://LOCALHOST/scim/v2",
        ] {
            assert!(checked_base_url(ok).is_ok(), "{ok}");
        }
        for refused in
            ["http://api.productboard.com/scim/v2", "http://10.0.0.1/scim", "http://localhost.example.com/"]
        {
            let err = checked_base_url(refused).unwrap_err();
            assert!(matches!(err, ClientError::InsecureUrl { .. }), "{refused}: {err}");
            assert!(err.to_string().starts_with("refusing plain http:// to "), "{err}");
        }
        assert!(matches!(checked_base_url("ftp://x/"), Err(ClientError::InvalidUrl { .. })));
        assert!(matches!(checked_base_url("not a url"), Err(ClientError::InvalidUrl { .. })));
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_repeating_them() {
        let err = checked_base_url("https://user:hunter2@api.example.com/scim/v2").unwrap_err().to_string();
        assert!(!err.contains("hunter2") && !err.contains("user:"), "{err}");
    }
}
