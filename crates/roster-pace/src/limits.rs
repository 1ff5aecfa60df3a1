//! What one response says about the service's rate limit.

use std::time::{Duration, SystemTime};

/// A reset value at least this large is a Unix time, not a number of seconds: no service
/// asks to wait 31 years, and no clock reads before 2001.
const EPOCH_THRESHOLD: f64 = 1_000_000_000.0;

/// The rate-limit facts one response carries, whatever header style it used. Every field
/// is optional: a service may send any subset, or nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Requests allowed per window (`X-RateLimit-Limit`, `RateLimit-Policy: q=`).
    pub limit: Option<f64>,
    /// Requests left until the reset (`X-RateLimit-Remaining`, `RateLimit: r=`).
    pub remaining: Option<f64>,
    /// Time from the response until the budget is restored (`X-RateLimit-Reset` as
    /// seconds or as a Unix time, `RateLimit: t=`).
    pub reset: Option<Duration>,
    /// The length of the window the limit counts over (`RateLimit-Policy: w=`).
    pub window: Option<Duration>,
    /// How long the service asks to wait (`Retry-After`: seconds, fractions of them, or
    /// an HTTP date).
    pub retry_after: Option<Duration>,
}

impl Limits {
    /// Reads the headers of one response. `wall` is the time the response arrived, to
    /// turn a Unix time or an HTTP date into a wait. Header names are compared without
    /// regard to case; values that do not parse are ignored.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>, wall: SystemTime) -> Self {
        let headers: Vec<(String, &str)> =
            headers.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value.trim())).collect();
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        let mut limits = Limits::default();
        // The IETF draft: `RateLimit: "default";r=50;t=30` (draft 7 on), or
        // `RateLimit: limit=100, remaining=50, reset=30` (earlier drafts).
        if let Some(value) = get("ratelimit") {
            limits.read_ietf(value);
        }
        if let Some(value) = get("ratelimit-policy") {
            let (quota, window) = policy(value);
            limits.limit = limits.limit.or(quota);
            limits.window = window;
        }
        // Separate headers: GitHub-like `X-RateLimit-*`, Okta's `X-Rate-Limit-*`, and the
        // early IETF drafts' `RateLimit-*`.
        for prefix in ["x-ratelimit-", "x-rate-limit-", "ratelimit-"] {
            let number = |suffix: &str| get(&format!("{prefix}{suffix}")).and_then(leading_number);
            if limits.remaining.is_none() {
                limits.remaining = number("remaining");
                limits.reset = number("reset").and_then(|reset| reset_wait(reset, wall));
            }
            if limits.limit.is_none() {
                limits.limit = number("limit");
            }
            if limits.window.is_none() {
                // `RateLimit-Limit: 100, 100;w=60` names its window too.
                limits.window = get(&format!("{prefix}limit")).and_then(|v| policy(v).1);
            }
        }
        if limits.reset.is_none() {
            // Discord-like: the reset as seconds from now, with fractions.
            limits.reset = get("x-ratelimit-reset-after").and_then(seconds);
        }
        limits.retry_after = get("retry-after").and_then(|value| retry_after(value, wall));
        limits
    }

    /// Whether the response told how much budget is left and when it comes back.
    pub fn advertises_budget(&self) -> bool {
        self.remaining.is_some() && self.reset.is_some()
    }

    fn read_ietf(&mut self, value: &str) {
        let mut tightest: Option<(f64, Option<Duration>)> = None;
        for item in value.split(',') {
            let mut remaining = None;
            let mut reset = None;
            for param in item.split(';').map(str::trim) {
                let Some((key, val)) = param.split_once('=') else { continue };
                match key.trim() {
                    "r" | "remaining" => remaining = leading_number(val),
                    "t" | "reset" => reset = seconds(val),
                    "limit" => self.limit = leading_number(val),
                    _ => {}
                }
            }
            // Older drafts spread the three over comma-separated members of one item each.
            if let Some(r) = remaining {
                if tightest.is_none_or(|(t, _)| r < t) {
                    tightest = Some((r, reset.or(tightest.and_then(|(_, reset)| reset))));
                }
            } else if let (Some(reset), Some((r, None))) = (reset, tightest) {
                tightest = Some((r, Some(reset)));
            } else if let Some(reset) = reset {
                self.reset = Some(reset);
            }
        }
        if let Some((remaining, reset)) = tightest {
            self.remaining = Some(remaining);
            self.reset = reset.or(self.reset);
        }
    }
}

/// `q` and `w` of a `RateLimit-Policy` (or `RateLimit-Limit: 100, 100;w=60`): the
/// quota and window of the tightest policy named.
fn policy(value: &str) -> (Option<f64>, Option<Duration>) {
    let mut best: Option<(f64, Option<Duration>)> = None;
    for item in value.split(',') {
        let mut quota = None;
        let mut window = None;
        for (n, param) in item.split(';').map(str::trim).enumerate() {
            match param.split_once('=') {
                Some(("q", val)) => quota = leading_number(val),
                Some(("w", val)) => window = seconds(val),
                None if n == 0 => quota = leading_number(param),
                _ => {}
            }
        }
        let Some(quota) = quota else { continue };
        // The tightest policy has the lowest rate; without a window, the lowest quota.
        let rate = |q: f64, w: Option<Duration>| w.map_or(q, |w| q / w.as_secs_f64().max(f64::EPSILON));
        if best.is_none_or(|(q, w)| rate(quota, window) < rate(q, w)) {
            best = Some((quota, window));
        }
    }
    (best.map(|(q, _)| q), best.and_then(|(_, w)| w))
}

/// A non-negative finite number at the start of a value (`100`, `99.5`, `100, 100;w=60`).
fn leading_number(value: &str) -> Option<f64> {
    let value = value.trim();
    let end = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    value[..end].parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0)
}

fn seconds(value: &str) -> Option<Duration> {
    leading_number(value).and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// A reset header: a Unix time when that large, else seconds from now.
fn reset_wait(reset: f64, wall: SystemTime) -> Option<Duration> {
    if reset >= EPOCH_THRESHOLD {
        let now = wall.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs_f64();
        Duration::try_from_secs_f64((reset - now).max(0.0)).ok()
    } else {
        Duration::try_from_secs_f64(reset).ok()
    }
}

/// `Retry-After`: delta-seconds (fractions accepted, as some services send them) or an
/// HTTP date; a date in the past means now.
fn retry_after(value: &str, wall: SystemTime) -> Option<Duration> {
    if value.starts_with(|c: char| c.is_ascii_digit()) {
        return value.parse::<f64>().ok().and_then(|s| Duration::try_from_secs_f64(s).ok());
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(wall).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn read(pairs: &[(&str, &str)]) -> Limits {
        Limits::from_headers(pairs.iter().copied(), wall())
    }

    #[test]
    fn x_ratelimit_with_the_reset_in_seconds_or_as_a_unix_time() {
        let seconds =
            read(&[("X-RateLimit-Limit", "50"), ("X-RateLimit-Remaining", "7"), ("X-RateLimit-Reset", "3")]);
        assert_eq!(
            seconds,
            Limits {
                limit: Some(50.0),
                remaining: Some(7.0),
                reset: Some(Duration::from_secs(3)),
                ..Limits::default()
            }
        );
        assert!(seconds.advertises_budget());
        let epoch = read(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000002.250")]);
        assert_eq!(epoch.reset, Some(Duration::from_millis(2250)));
        assert_eq!(epoch.remaining, Some(0.0));
        let past = read(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1699999990")]);
        assert_eq!(past.reset, Some(Duration::ZERO));
    }

    #[test]
    fn okta_style_x_rate_limit() {
        let okta = read(&[
            ("X-Rate-Limit-Limit", "600"),
            ("X-Rate-Limit-Remaining", "599"),
            ("X-Rate-Limit-Reset", "1700000060"),
        ]);
        assert_eq!(
            (okta.limit, okta.remaining, okta.reset),
            (Some(600.0), Some(599.0), Some(Duration::from_secs(60)))
        );
    }

    #[test]
    fn ietf_structured_fields_with_a_policy_window() {
        let ietf =
            read(&[("RateLimit", "\"default\";r=25;t=2"), ("RateLimit-Policy", "\"default\";q=1000;w=60")]);
        assert_eq!(
            ietf,
            Limits {
                limit: Some(1000.0),
                remaining: Some(25.0),
                reset: Some(Duration::from_secs(2)),
                window: Some(Duration::from_secs(60)),
                retry_after: None,
            }
        );
        // Two policies: the tighter one counts.
        let two = read(&[
            ("RateLimit", "\"burst\";r=40;t=1, \"day\";r=3;t=600"),
            ("RateLimit-Policy", "\"burst\";q=50;w=1, \"day\";q=1000;w=86400"),
        ]);
        assert_eq!((two.remaining, two.reset), (Some(3.0), Some(Duration::from_secs(600))));
        assert_eq!((two.limit, two.window), (Some(1000.0), Some(Duration::from_secs(86400))));
    }

    #[test]
    fn ietf_earlier_drafts() {
        let combined = read(&[("RateLimit", "limit=100, remaining=50, reset=5")]);
        assert_eq!(
            (combined.limit, combined.remaining, combined.reset),
            (Some(100.0), Some(50.0), Some(Duration::from_secs(5)))
        );
        let separate = read(&[
            ("RateLimit-Limit", "100, 100;w=60"),
            ("RateLimit-Remaining", "9"),
            ("RateLimit-Reset", "30"),
        ]);
        assert_eq!(
            (separate.limit, separate.remaining, separate.reset, separate.window),
            (Some(100.0), Some(9.0), Some(Duration::from_secs(30)), Some(Duration::from_secs(60)))
        );
        let policy_only = read(&[("RateLimit-Policy", "10;w=1")]);
        assert_eq!((policy_only.limit, policy_only.window), (Some(10.0), Some(Duration::from_secs(1))));
        assert!(!policy_only.advertises_budget());
    }

    #[test]
    fn retry_after_in_seconds_fractions_or_a_date() {
        assert_eq!(read(&[("Retry-After", "7")]).retry_after, Some(Duration::from_secs(7)));
        assert_eq!(read(&[("retry-after", "0.250")]).retry_after, Some(Duration::from_millis(250)));
        let date = httpdate::fmt_http_date(wall() + Duration::from_secs(12));
        assert_eq!(read(&[("retry-after", &date)]).retry_after, Some(Duration::from_secs(12)));
        let past = httpdate::fmt_http_date(wall() - Duration::from_secs(12));
        assert_eq!(read(&[("retry-after", &past)]).retry_after, Some(Duration::ZERO));
        assert_eq!(read(&[("retry-after", "soon")]).retry_after, None);
        assert_eq!(read(&[("retry-after", "-3")]).retry_after, None);
    }

    #[test]
    fn nothing_or_garbage_reads_as_nothing() {
        assert_eq!(read(&[]), Limits::default());
        let garbage =
            read(&[("x-ratelimit-remaining", "lots"), ("x-ratelimit-reset", "NaN"), ("ratelimit", ";;=")]);
        assert_eq!(garbage, Limits::default());
        let no_reset = read(&[("x-ratelimit-remaining", "3")]);
        assert!(!no_reset.advertises_budget());
    }
}
