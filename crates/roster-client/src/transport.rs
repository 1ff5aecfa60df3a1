//! The one path every request takes: pacing, the bearer header, retries with backoff,
//! `Retry-After` and `X-RateLimit-*`, no redirects, and a cap on the response size.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::redirect::Policy;
use roster_scim::{Method, ScimError, ScimRequest};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::config::{ClientConfig, checked_base_url};
use crate::error::{AUTH_HINT, ClientError};

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
            hint: matches!(self.status, 401 | 403).then_some(AUTH_HINT),
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

/// Shared pacing of all requests: a minimum interval (the client-side cap) and a pause
/// that a 429 or an exhausted rate limit imposes on everyone.
#[derive(Debug)]
struct Limiter {
    min_interval: Option<Duration>,
    state: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    next_slot: Instant,
    paused_until: Instant,
}

impl Limiter {
    fn new(max_requests_per_second: Option<f64>) -> Self {
        let min_interval = max_requests_per_second
            .filter(|rps| rps.is_finite() && *rps > 0.0)
            .map(|rps| Duration::from_secs_f64(1.0 / rps));
        let now = Instant::now();
        Limiter { min_interval, state: Mutex::new(LimiterState { next_slot: now, paused_until: now }) }
    }

    /// Waits until this request may go.
    async fn acquire(&self) {
        loop {
            let (wake, reserved) = {
                let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let now = Instant::now();
                if state.paused_until > now {
                    (state.paused_until, false)
                } else if let Some(interval) = self.min_interval {
                    let slot = state.next_slot.max(now);
                    state.next_slot = slot + interval;
                    (slot, true)
                } else {
                    return;
                }
            };
            tokio::time::sleep_until(wake).await;
            if reserved {
                return;
            }
        }
    }

    /// Holds every request back until `until`.
    fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.paused_until = state.paused_until.max(until);
    }
}

/// How long `Retry-After` asks to wait: delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to wait when `X-RateLimit-Remaining` is 0: until `X-RateLimit-Reset`, read
/// as epoch seconds when it is that large, else as seconds from now.
pub(crate) fn rate_limit_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if number("x-ratelimit-remaining")? > 0.0 {
        return None;
    }
    let reset = number("x-ratelimit-reset").filter(|r| r.is_finite() && *r >= 0.0)?;
    if reset > 1_000_000_000.0 {
        let epoch = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        Some(Duration::from_secs_f64((reset - epoch).max(0.0)))
    } else {
        Some(Duration::from_secs_f64(reset))
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
    limiter: Limiter,
    pub config: ClientConfig,
}

impl Transport {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let base = checked_base_url(&config.base_url)?.as_str().trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Build)?;
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
        let limiter = Limiter::new(config.max_requests_per_second);
        Ok(Transport { http, base, auth, limiter, config })
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends a request until it gets a final answer or runs out of attempts.
    ///
    /// Retried: 5xx (but 501 and 505), 429, timeouts and connection failures, at most `max_attempts`
    /// times in all. A `POST` is not retried after a timeout, when the service may still
    /// be working on it; after a dropped connection or a 5xx it is, and a later `409`
    /// is resolved by the caller's adoption. Redirects and oversized bodies are errors.
    pub async fn send(&self, req: &ScimRequest) -> Result<Exchange, ClientError> {
        let max_attempts = self.config.max_attempts.max(1);
        let method = req.method();
        let path = target(req);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            let outcome = self.attempt(req).await;
            let last = attempt >= max_attempts;
            let wait = match outcome {
                Ok((status, headers, body)) => {
                    if let Some(wait) = rate_limit_wait(&headers, SystemTime::now()) {
                        let wait = self.bounded_wait(req, wait)?;
                        tracing::debug!(%method, path = %path, wait_ms = wait.as_millis() as u64, "rate limit exhausted, pausing");
                        self.limiter.pause_until(Instant::now() + wait);
                    }
                    // 501 Not Implemented and 505 are answers, not accidents.
                    let retryable =
                        status == 429 || ((500..600).contains(&status) && !matches!(status, 501 | 505));
                    tracing::debug!(%method, path = %path, status, attempt, "scim response");
                    if !retryable || last {
                        return Ok(Exchange { status, headers, body, attempts: attempt });
                    }
                    let asked = retry_after(&headers, SystemTime::now());
                    let wait = match asked {
                        Some(asked) => self.bounded_wait(req, asked)?,
                        None => backoff(self.config.backoff_base, self.config.backoff_max, attempt),
                    };
                    if status == 429 {
                        // The limit is the service's, shared by every request in flight.
                        self.limiter.pause_until(Instant::now() + wait);
                    }
                    tracing::warn!(%method, path = %path, status, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    wait
                }
                Err(AttemptError::Final(err)) => return Err(err),
                Err(AttemptError::Failed(failure)) => {
                    let retryable = match failure {
                        Failure::Timeout => method != Method::Post,
                        Failure::Connection(_) => true,
                    };
                    if !retryable || last {
                        return Err(match failure {
                            Failure::Timeout => ClientError::Timeout { method, path, attempts: attempt },
                            Failure::Connection(source) => {
                                ClientError::Connection { method, path, attempts: attempt, source }
                            }
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

    fn bounded_wait(&self, req: &ScimRequest, wait: Duration) -> Result<Duration, ClientError> {
        if wait > self.config.max_retry_after {
            return Err(ClientError::WaitTooLong {
                method: req.method(),
                path: target(req),
                seconds: wait.as_secs_f64().ceil() as u64,
                max_seconds: self.config.max_retry_after.as_secs(),
            });
        }
        Ok(wait)
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(retry_after(&headers(&[("retry-after", &date)]), now), Some(Duration::from_secs(12)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(12));
        assert_eq!(retry_after(&headers(&[("retry-after", &past)]), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[]), now), None);
    }

    #[test]
    fn rate_limit_reset_as_delta_or_epoch() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "3")]);
        assert_eq!(rate_limit_wait(&h, now), Some(Duration::from_secs(3)));
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000005")]);
        assert_eq!(rate_limit_wait(&h, now), Some(Duration::from_secs(5)));
        let h = headers(&[("x-ratelimit-remaining", "4"), ("x-ratelimit-reset", "3")]);
        assert_eq!(rate_limit_wait(&h, now), None);
        let h = headers(&[("x-ratelimit-remaining", "0")]);
        assert_eq!(rate_limit_wait(&h, now), None);
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
