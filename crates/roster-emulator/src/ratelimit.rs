//! A token bucket: `rate` requests per second, bursts of up to one second's worth.

use std::time::Instant;

/// The bucket's verdict on one request, with what the rate-limit headers report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    /// `X-RateLimit-Limit`: requests per second.
    pub(crate) limit: u32,
    /// `X-RateLimit-Remaining`: whole requests left in the bucket after this one.
    pub(crate) remaining: u32,
    /// Seconds (rounded up) until the bucket is full again.
    pub(crate) reset_after: u64,
    /// Seconds (rounded up, at least 1) until one request is allowed again.
    pub(crate) retry_after: u64,
}

/// The bucket's level at a moment.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    rate: u32,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: u32, now: Instant) -> Self {
        let rate = rate.max(1);
        Self { rate, tokens: f64::from(rate), last: now }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> Decision {
        let rate = f64::from(self.rate);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let seconds = |tokens_missing: f64| (tokens_missing / rate).max(0.0).ceil() as u64;
        Decision {
            allowed,
            limit: self.rate,
            remaining: self.tokens.floor() as u32,
            reset_after: seconds(rate - self.tokens),
            retry_after: seconds(1.0 - self.tokens).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn allows_a_burst_then_refills_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, start);
        let verdicts: Vec<(bool, u32)> =
            (0..4).map(|_| bucket.take(start)).map(|d| (d.allowed, d.remaining)).collect();
        assert_eq!(verdicts, vec![(true, 2), (true, 1), (true, 0), (false, 0)]);
        let denied = bucket.take(start);
        assert_eq!((denied.retry_after, denied.reset_after), (1, 1));
        // A third of a second later, one token has come back.
        let later = start + Duration::from_millis(334);
        assert!(bucket.take(later).allowed);
        assert!(!bucket.take(later).allowed);
    }

    #[test]
    fn retry_after_counts_whole_seconds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1, start);
        assert!(bucket.take(start).allowed);
        let denied = bucket.take(start + Duration::from_millis(100));
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, 1);
        assert_eq!(denied.limit, 1);
    }
}
