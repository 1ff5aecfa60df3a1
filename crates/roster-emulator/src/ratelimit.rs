//! A token bucket: `limit` requests per `window` (a second, a minute), bursts of up to one
//! window's worth; and the headers that tell a client about it, in the style chosen.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::RateHeaders;

/// The bucket's verdict on one request, with what the rate-limit headers report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    /// Requests per window.
    pub(crate) limit: u32,
    /// The window the limit counts over.
    pub(crate) window: Duration,
    /// Whole requests left in the bucket after this one.
    pub(crate) remaining: u32,
    /// Time until the bucket is full again.
    pub(crate) reset_after: Duration,
    /// Time until one request is allowed again (zero when one is).
    pub(crate) retry_after: Duration,
}

/// The bucket's level at a moment.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    limit: u32,
    window: Duration,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(limit: u32, window: Duration, now: Instant) -> Self {
        let limit = limit.max(1);
        let window = window.max(Duration::from_millis(1));
        Self { limit, window, tokens: f64::from(limit), last: now }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> Decision {
        let capacity = f64::from(self.limit);
        let rate = capacity / self.window.as_secs_f64();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let time_for = |tokens_missing: f64| Duration::from_secs_f64((tokens_missing / rate).max(0.0));
        Decision {
            allowed,
            limit: self.limit,
            window: self.window,
            remaining: self.tokens.floor() as u32,
            reset_after: time_for(capacity - self.tokens),
            retry_after: time_for(1.0 - self.tokens),
        }
    }
}

impl Decision {
    /// The headers of an answer, in `style`: on every answer the budget, on a 429 the
    /// `Retry-After` too (in milliseconds where the style allows fractions, else whole
    /// seconds rounded up, at least one).
    pub(crate) fn headers(&self, style: RateHeaders, wall: SystemTime) -> Vec<(&'static str, String)> {
        let whole = |d: Duration| d.as_secs_f64().ceil() as u64;
        let millis = |seconds: f64| format!("{:.3}", (seconds * 1000.0).ceil() / 1000.0);
        let mut headers = Vec::new();
        match style {
            RateHeaders::XRateLimit => {
                let now = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
                headers.push(("x-ratelimit-limit", self.limit.to_string()));
                headers.push(("x-ratelimit-remaining", self.remaining.to_string()));
                // The Unix time at which the bucket is full again, as GitHub and Okta send
                // it, here with milliseconds.
                headers.push(("x-ratelimit-reset", millis((now + self.reset_after).as_secs_f64())));
                if !self.allowed {
                    headers.push(("retry-after", millis(self.retry_after.as_secs_f64().max(0.001))));
                }
            }
            RateHeaders::Ietf => {
                headers.push((
                    "ratelimit-policy",
                    format!("\"default\";q={};w={}", self.limit, whole(self.window)),
                ));
                headers.push((
                    "ratelimit",
                    format!("\"default\";r={};t={}", self.remaining, whole(self.reset_after)),
                ));
                if !self.allowed {
                    headers.push(("retry-after", whole(self.retry_after).max(1).to_string()));
                }
            }
            RateHeaders::None => {
                if !self.allowed {
                    headers.push(("retry-after", whole(self.retry_after).max(1).to_string()));
                }
            }
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refills_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, Duration::from_secs(1), start);
        let verdicts: Vec<(bool, u32)> =
            (0..4).map(|_| bucket.take(start)).map(|d| (d.allowed, d.remaining)).collect();
        assert_eq!(verdicts, vec![(true, 2), (true, 1), (true, 0), (false, 0)]);
        let denied = bucket.take(start);
        assert_eq!(
            (denied.retry_after, denied.reset_after),
            (Duration::from_secs_f64(1.0 / 3.0), Duration::from_secs(1))
        );
        // A third of a second later, one token has come back.
        let later = start + Duration::from_millis(334);
        assert!(bucket.take(later).allowed);
        assert!(!bucket.take(later).allowed);
    }

    #[test]
    fn a_per_minute_limit_holds_a_minute_of_requests() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, Duration::from_secs(60), start);
        assert!((0..1000).all(|_| bucket.take(start).allowed));
        let denied = bucket.take(start);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, Duration::from_millis(60));
        assert_eq!(denied.reset_after, Duration::from_secs(60));
        // 1000 a minute: one every 60 ms.
        assert!(bucket.take(start + Duration::from_millis(61)).allowed);
    }

    #[test]
    fn headers_in_each_style() {
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let denied = Decision {
            allowed: false,
            limit: 50,
            window: Duration::from_secs(1),
            remaining: 0,
            reset_after: Duration::from_millis(990),
            retry_after: Duration::from_millis(20),
        };
        assert_eq!(
            denied.headers(RateHeaders::XRateLimit, wall),
            vec![
                ("x-ratelimit-limit", "50".to_owned()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", "1700000000.990".to_owned()),
                ("retry-after", "0.020".to_owned()),
            ]
        );
        assert_eq!(
            denied.headers(RateHeaders::Ietf, wall),
            vec![
                ("ratelimit-policy", "\"default\";q=50;w=1".to_owned()),
                ("ratelimit", "\"default\";r=0;t=1".to_owned()),
                ("retry-after", "1".to_owned()),
            ]
        );
        assert_eq!(denied.headers(RateHeaders::None, wall), vec![("retry-after", "1".to_owned())]);
        let allowed = Decision { allowed: true, remaining: 7, ..denied };
        assert_eq!(allowed.headers(RateHeaders::None, wall), vec![]);
        assert_eq!(allowed.headers(RateHeaders::Ietf, wall).len(), 2);
    }
}
