//! The one path every request takes: the pacer (`roster_pace`), the bearer header, one
//! classification of failures (retried, or final at once with a hint), retries with
//! backoff, no redirects, and a cap on the response size.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::redirect::Policy;
use roster_pace::{Limits, Outcome, Pacer, PacerConfig, Ticket, Verdict};
use roster_scim::{Method, ScimError, ScimRequest};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::{ClientConfig, checked_base_url};
use crate::error::{ClientError, ConnectProblem, status_hint};

/// A final answer from the service (any status), with the number of attempts it took.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// `path?query` of a request, as errors and records show it.
pub(crate) fn target(req: &ScimRequest) -> String {
    if req.query().is_empty() { req.path().to_owned() } else { format!("{}?{}", req.path(), req.query()) }
}

impl Exchange {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error this answer amounts to, with the SCIM error body's details if any.
    pub fn to_error(&self, req: &ScimRequest) -> ClientError {
        let scim: ScimError = serde_json::from_slice(&self.body).unwrap_or_default();
        let detail = scim.detail.map(|d| d.chars().take(500).collect::<String>());
        ClientError::Http {
            method: req.method(),
            path: target(req),
            status: self.status,
            scim_type: scim.scim_type,
            detail,
            attempts: self.attempts,
            hint: status_hint(self.status, req),
        }
    }

    /// The body parsed as `T`, for a successful answer; the error otherwise.
    pub fn parse<T: DeserializeOwned>(
        &self,
        req: &ScimRequest,
        expected: &'static str,
    ) -> Result<T, ClientError> {
        if !self.is_success() {
            return Err(self.to_error(req));
        }
        serde_json::from_slice(&self.body).map_err(|source| ClientError::InvalidResponse {
            method: req.method(),
            path: target(req),
            expected,
            source,
        })
    }
}

/// The pacer behind a lock, driven by a few lines of async code: every request takes a
/// slot from it and hands back its outcome, so that one pace and one concurrency hold
/// for reads and writes alike.
#[derive(Debug)]
struct Gate {
    origin: Instant,
    pacer: Mutex<Pacer>,
    answered: Notify,
}

/// A request in flight; dropping it unanswered tells the pacer it was abandoned.
struct Slot<'a> {
    gate: &'a Gate,
    ticket: Option<Ticket>,
}

impl Gate {
    fn new(config: PacerConfig) -> Self {
        Gate { origin: Instant::now(), pacer: Mutex::new(Pacer::new(config)), answered: Notify::new() }
    }

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the pacer lets a request go; a pause longer than `longest` is
    /// returned as an error instead of waited for.
    async fn acquire(&self, longest: Duration) -> Result<Slot<'_>, Duration> {
        loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            // Registered before asking, so that an answer in between is not missed.
            answered.as_mut().enable();
            let now = self.now();
            let verdict = self.lock().poll(now);
            match verdict {
                Verdict::Go(ticket) => return Ok(Slot { gate: self, ticket: Some(ticket) }),
                Verdict::WaitUntil(at) => {
                    let wait = at.saturating_sub(now);
                    if wait > longest {
                        return Err(wait);
                    }
                    // An answer may bring the instant forward: ask again after each.
                    tokio::select! {
                        () = tokio::time::sleep_until(self.origin + at) => {}
                        () = answered => {}
                    }
                }
                Verdict::WaitForAnswer => answered.await,
            }
        }
    }

    fn report(&self, ticket: Ticket, outcome: &Outcome) {
        let now = self.now();
        let mut pacer = self.lock();
        pacer.on_outcome(ticket, now, outcome);
        let (concurrency, rate) = (pacer.concurrency(), pacer.rate(now));
        drop(pacer);
        tracing::trace!(concurrency, rate, "pacer");
        self.answered.notify_waiters();
    }
}

impl Slot<'_> {
    fn finish(mut self, outcome: &Outcome) {
        if let Some(ticket) = self.ticket.take() {
            self.gate.report(ticket, outcome);
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.gate.report(ticket, &Outcome::Cancelled);
        }
    }
}

/// What a response's headers say about the rate limit.
pub(crate) fn limits(headers: &HeaderMap, now: SystemTime) -> Limits {
    let pairs = headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    Limits::from_headers(pairs, now)
}

/// How the send path reads a status, once, for retries and for pacing alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// An answer for the caller: a success, or an error no retry heals (401, 403, 400,
    /// 404, 405, 501, ...).
    Final,
    /// Throttled: 429, or a 500 from a service known to throttle that way. Retried.
    Throttled,
    /// The service struggled: 500, 502, 503, 504 and other 5xx. Retried.
    Overloaded,
}

pub(crate) fn classify_status(status: u16, throttles_with_500: bool) -> StatusClass {
    match status {
        429 => StatusClass::Throttled,
        500 if throttles_with_500 => StatusClass::Throttled,
        // 501 Not Implemented and 505 are answers, not accidents: the caller decides
        // what to do instead (a PUT after a PATCH answered 501, say).
        501 | 505 => StatusClass::Final,
        500..=599 => StatusClass::Overloaded,
        _ => StatusClass::Final,
    }
}

/// Exponential backoff with jitter: about `base · 2^(attempt-1)`, capped, drawn from the
/// upper half so that concurrent clients spread out without retrying too early.
pub(crate) fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(max);
    let half = exp / 2;
    half + exp.saturating_sub(half).mul_f64(rand::random::<f64>())
}

/// Why an attempt did not give a usable answer.
enum Failure {
    Timeout,
    Connection(reqwest::Error),
}

/// The HTTP transport every request goes through.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base: String,
    auth: Option<HeaderValue>,
    gate: Gate,
    /// Whether a proxy from the environment carries the requests, for hints.
    proxied: bool,
    pub config: ClientConfig,
}

impl Transport {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let url = checked_base_url(&config.base_url)?;
        let base = url.as_str().trim_end_matches('/').to_owned();
        let mut builder = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = config.extra_root_certificates.as_ref().filter(|_| url.scheme() == "https") {
            // The platform verifier reads SSL_CERT_FILE on Linux only; adding the file's
            // certificates as extra roots makes it count on every platform.
            let unreadable =
                |reason: String| ClientError::CertificateFile { path: path.display().to_string(), reason };
            let pem = std::fs::read(path).map_err(|err| unreadable(err.to_string()))?;
            let certificates =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|err| unreadable(err.to_string()))?;
            if certificates.is_empty() {
                return Err(unreadable("it holds no PEM certificate".to_owned()));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(ClientError::Build)?;
        let auth = match &config.token {
            Some(token) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                        ClientError::InvalidUrl {
                            url: base.clone(),
                            reason: "the token holds characters an HTTP header cannot carry".to_owned(),
                        }
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let gate = Gate::new(config.pacer());
        let proxied = config.proxy_from_environment;
        Ok(Transport { http, base, auth, gate, proxied, config })
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends a request until it gets a final answer or runs out of attempts.
    ///
    /// Every failure is classified once, here. Retried, at most `max_attempts` times in
    /// all: 429 (and a 500 from a service that throttles that way), other 5xx but 501 and
    /// 505, timeouts, and dropped or refused connections. Final at once: every other
    /// answer (the caller reads 401, 403, 400, 404, 405 or 501 as it needs, e.g. a PUT
    /// after a PATCH answered 501), and a connection no retry can heal (an untrusted or
    /// expired certificate, a refused TLS handshake, a name that does not resolve, a
    /// proxy that refuses), which fails with a hint. A `POST` is not retried after a
    /// timeout, when the service may still be working on it; after a dropped connection
    /// or a 5xx it is, and a later `409` is resolved by the caller's adoption.
    pub async fn send(&self, req: &ScimRequest) -> Result<Exchange, ClientError> {
        let max_attempts = self.config.max_attempts.max(1);
        let method = req.method();
        let path = target(req);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let slot = match self.gate.acquire(self.config.max_retry_after).await {
                Ok(slot) => slot,
                Err(wait) => return Err(self.too_long(req, wait)),
            };
            let outcome = self.attempt(req).await;
            let last = attempt >= max_attempts;
            let wait = match outcome {
                Ok((status, headers, body)) => {
                    let limits = limits(&headers, SystemTime::now());
                    let class = classify_status(status, self.config.throttles_with_500);
                    let retry_after = limits.retry_after;
                    slot.finish(&match class {
                        StatusClass::Final => Outcome::Answered(limits),
                        StatusClass::Throttled => Outcome::Throttled(limits),
                        StatusClass::Overloaded => Outcome::Overloaded(limits),
                    });
                    tracing::debug!(%method, path = %path, status, attempt, "scim response");
                    if class == StatusClass::Final || last {
                        return Ok(Exchange { status, headers, body, attempts: attempt });
                    }
                    let wait = match retry_after {
                        Some(asked) if asked > self.config.max_retry_after => {
                            return Err(self.too_long(req, asked));
                        }
                        Some(asked) => asked,
                        None => backoff(self.config.backoff_base, self.config.backoff_max, attempt),
                    };
                    tracing::warn!(%method, path = %path, status, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    wait
                }
                Err(AttemptError::Final(err)) => {
                    slot.finish(&Outcome::Cancelled);
                    return Err(err);
                }
                Err(AttemptError::Failed(failure)) => {
                    let problem = match &failure {
                        Failure::Connection(source) => ConnectProblem::of(source, self.proxied),
                        Failure::Timeout => None,
                    };
                    let retryable = match failure {
                        Failure::Timeout => method != Method::Post,
                        Failure::Connection(_) => problem.is_none(),
                    };
                    slot.finish(&if problem.is_some() {
                        Outcome::Cancelled
                    } else {
                        Outcome::Overloaded(Limits::default())
                    });
                    if !retryable || last {
                        return Err(match failure {
                            Failure::Timeout => ClientError::Timeout { method, path, attempts: attempt },
                            Failure::Connection(source) => match problem {
                                Some(problem) => ClientError::Unreachable {
                                    method,
                                    path,
                                    problem,
                                    attempts: attempt,
                                    source,
                                },
                                None => ClientError::Connection {
                                    method,
                                    path,
                                    attempts: attempt,
                                    hint: self.proxied.then_some(crate::error::PROXY_HINT),
                                    source,
                                },
                            },
                        });
                    }
                    let wait = backoff(self.config.backoff_base, self.config.backoff_max, attempt);
                    let kind =
                        if matches!(failure, Failure::Timeout) { "timeout" } else { "connection error" };
                    tracing::warn!(%method, path = %path, attempt, wait_ms = wait.as_millis() as u64, "retrying after {kind}");
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn too_long(&self, req: &ScimRequest, wait: Duration) -> ClientError {
        ClientError::WaitTooLong {
            method: req.method(),
            path: target(req),
            seconds: wait.as_secs_f64().ceil() as u64,
            max_seconds: self.config.max_retry_after.as_secs(),
        }
    }

    /// One attempt: the response's status, headers and body, or why there is none.
    async fn attempt(&self, req: &ScimRequest) -> Result<(u16, HeaderMap, Vec<u8>), AttemptError> {
        let method = match req.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self
            .http
            .request(method, req.url(&self.base))
            .header(ACCEPT, "application/scim+json, application/json");
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        for (name, value) in req.headers() {
            builder = builder.header(*name, *value);
        }
        if let Some(body) = req.body() {
            let bytes = serde_json::to_vec(body).expect("a JSON value always serializes");
            builder = builder.header(CONTENT_TYPE, "application/scim+json").body(bytes);
        }
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("(no Location header)")
                .to_owned();
            return Err(AttemptError::Final(ClientError::Redirect {
                method: req.method(),
                path: target(req),
                status,
                location,
            }));
        }
        let limit = self.config.max_response_bytes;
        let too_large =
            || AttemptError::Final(ClientError::TooLarge { method: req.method(), path: target(req), limit });
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }
}

/// An attempt failed either for good or in a way that may be retried.
enum AttemptError {
    Final(ClientError),
    Failed(Failure),
}

fn classify(err: reqwest::Error) -> AttemptError {
    if err.is_timeout() {
        AttemptError::Failed(Failure::Timeout)
    } else {
        AttemptError::Failed(Failure::Connection(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_once() {
        let classes: Vec<(u16, StatusClass)> =
            [200, 201, 204, 400, 401, 403, 404, 405, 409, 429, 500, 501, 502, 503, 504, 505, 599]
                .into_iter()
                .map(|status| (status, classify_status(status, false)))
                .collect();
        use StatusClass::*;
        assert_eq!(
            classes,
            vec![
                (200, Final),
                (201, Final),
                (204, Final),
                (400, Final),
                (401, Final),
                (403, Final),
                (404, Final),
                (405, Final),
                (409, Final),
                (429, Throttled),
                (500, Overloaded),
                (501, Final),
                (502, Overloaded),
                (503, Overloaded),
                (504, Overloaded),
                (505, Final),
                (599, Overloaded),
            ]
        );
        assert_eq!(classify_status(500, true), Throttled);
        assert_eq!(classify_status(503, true), Overloaded);
    }

    #[test]
    fn limits_are_read_from_a_header_map() {
        let mut map = HeaderMap::new();
        map.insert("x-ratelimit-remaining", HeaderValue::from_static("4"));
        map.insert("x-ratelimit-reset", HeaderValue::from_static("3"));
        map.insert("retry-after", HeaderValue::from_static("2"));
        let read = limits(&map, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(read.remaining, Some(4.0));
        assert_eq!(read.reset, Some(Duration::from_secs(3)));
        assert_eq!(read.retry_after, Some(Duration::from_secs(2)));
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..100 {
            let first = backoff(base, max, 1);
            assert!(first >= Duration::from_millis(50) && first <= base, "{first:?}");
            let third = backoff(base, max, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            assert!(backoff(base, max, 30) <= max);
        }
    }
}
