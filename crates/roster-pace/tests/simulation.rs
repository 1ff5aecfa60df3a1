//! The pacer against a simulated service on a virtual clock: a token bucket that answers
//! in each header style roster meets, or in none. Every run is deterministic, so the
//! assertions are on counts and virtual times, never on a machine's speed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, SystemTime};

use roster_pace::{Limits, Outcome, Pacer, PacerConfig, Ticket, Verdict};

/// How the simulated service reports its limit.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Style {
    /// `X-RateLimit-*`, the reset a Unix time in milliseconds, `Retry-After` in fractions.
    XRateLimit,
    /// Okta: `X-Rate-Limit-*`, the reset a Unix time in whole seconds.
    Okta,
    /// The IETF draft: `RateLimit` and `RateLimit-Policy`, whole seconds.
    Ietf,
    /// Nothing but `Retry-After` in whole seconds on a 429.
    None,
    /// Not even `Retry-After`.
    Bare,
}

/// A token bucket holding `capacity`, refilled at `rate` a second.
struct Service {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: f64,
    window: f64,
    style: Style,
}

const EPOCH: u64 = 1_700_000_000;

impl Service {
    fn new(rate: f64, capacity: f64, window: f64, style: Style) -> Self {
        Service { rate, capacity, tokens: capacity, last: 0.0, window, style }
    }

    fn handle(&mut self, now: f64) -> (u16, Vec<(String, String)>) {
        self.tokens = (self.tokens + (now - self.last) * self.rate).min(self.capacity);
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let full_in = (self.capacity - self.tokens) / self.rate;
        let one_in = ((1.0 - self.tokens) / self.rate).max(0.0);
        let remaining = self.tokens.floor();
        let epoch = EPOCH as f64 + now;
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut add = |name: &str, value: String| headers.push((name.to_owned(), value));
        match self.style {
            Style::XRateLimit => {
                add("X-RateLimit-Limit", format!("{}", self.capacity));
                add("X-RateLimit-Remaining", format!("{remaining}"));
                add("X-RateLimit-Reset", format!("{:.3}", ((epoch + full_in) * 1000.0).ceil() / 1000.0));
                if !allowed {
                    add("Retry-After", format!("{:.3}", (one_in * 1000.0).ceil() / 1000.0));
                }
            }
            Style::Okta => {
                add("X-Rate-Limit-Limit", format!("{}", self.capacity));
                add("X-Rate-Limit-Remaining", format!("{remaining}"));
                add("X-Rate-Limit-Reset", format!("{}", (epoch + full_in).ceil()));
                if !allowed {
                    add("Retry-After", format!("{}", one_in.ceil().max(1.0)));
                }
            }
            Style::Ietf => {
                add("RateLimit-Policy", format!("\"default\";q={};w={}", self.capacity, self.window));
                add("RateLimit", format!("\"default\";r={remaining};t={}", full_in.ceil()));
                if !allowed {
                    add("Retry-After", format!("{}", one_in.ceil().max(1.0)));
                }
            }
            Style::None => {
                if !allowed {
                    add("Retry-After", format!("{}", one_in.ceil().max(1.0)));
                }
            }
            Style::Bare => {}
        }
        (if allowed { 200 } else { 429 }, headers)
    }
}

fn secs(t: f64) -> Duration {
    Duration::from_secs_f64(t)
}

/// What a run measured.
#[derive(Debug)]
struct Run {
    /// Virtual seconds until the last request was answered.
    elapsed: f64,
    throttled: usize,
    max_in_flight: usize,
    final_concurrency: usize,
}

/// Sends `requests` requests through the pacer, each retried after a 429 as the send
/// path does (after `Retry-After`, else half a second), against `service` with `latency`.
fn run(mut pacer: Pacer, service: &mut Service, requests: usize, latency: f64) -> Run {
    // Requests not yet sent, by the instant they may go (retries wait).
    let mut ready: BinaryHeap<Reverse<u64>> = (0..requests).map(|_| Reverse(0)).collect();
    let mut flying: Vec<(f64, Ticket)> = Vec::new();
    let mut now = 0.0f64;
    let (mut done, mut throttled, mut max_in_flight) = (0, 0, 0);
    let nanos = |t: f64| (t * 1e9).round() as u64;
    while done < requests {
        let mut wake: Option<f64> = None;
        while ready.peek().is_some_and(|Reverse(at)| *at <= nanos(now)) {
            match pacer.poll(secs(now)) {
                Verdict::Go(ticket) => {
                    ready.pop();
                    flying.push((now + latency, ticket));
                    max_in_flight = max_in_flight.max(pacer.in_flight());
                }
                Verdict::WaitUntil(at) => {
                    wake = Some(at.as_secs_f64());
                    break;
                }
                Verdict::WaitForAnswer => break,
            }
        }
        let next_answer = flying.iter().map(|(at, _)| *at).fold(f64::INFINITY, f64::min);
        let next_ready = ready.peek().map_or(f64::INFINITY, |Reverse(at)| *at as f64 / 1e9);
        let next = next_answer.min(wake.unwrap_or(f64::INFINITY)).min(if next_ready > now {
            next_ready
        } else {
            f64::INFINITY
        });
        assert!(next.is_finite() && next >= now, "the run is stuck at {now}: {pacer:?}");
        now = next;
        flying.sort_by(|a, b| a.0.total_cmp(&b.0));
        while flying.first().is_some_and(|(at, _)| *at <= now) {
            let (_, ticket) = flying.remove(0);
            let (status, headers) = service.handle(now);
            let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH) + secs(now);
            let limits = Limits::from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())), wall);
            if status == 429 {
                throttled += 1;
                let wait = limits.retry_after.unwrap_or(Duration::from_millis(500));
                ready.push(Reverse(nanos(now) + wait.as_nanos() as u64));
                pacer.on_outcome(ticket, secs(now), &Outcome::Throttled(limits));
            } else {
                done += 1;
                pacer.on_outcome(ticket, secs(now), &Outcome::Answered(limits));
            }
        }
    }
    Run { elapsed: now, throttled, max_in_flight, final_concurrency: pacer.concurrency() }
}

fn adaptive(max_concurrency: usize) -> Pacer {
    Pacer::new(PacerConfig { max_concurrency, ..PacerConfig::default() })
}

#[test]
fn an_advertised_limit_is_never_exceeded_in_any_header_style() {
    for style in [Style::XRateLimit, Style::Okta, Style::Ietf] {
        // 202 pages at 50 requests/s with 20 ms latency: the fetch benchmark's shape.
        let mut service = Service::new(50.0, 50.0, 1.0, style);
        let result = run(adaptive(16), &mut service, 202, 0.020);
        assert_eq!(result.throttled, 0, "{style:?}: {result:?}");
        let bound = 202.0 / 50.0;
        assert!(result.elapsed <= bound * 1.05, "{style:?}: {result:?} against {bound}");
    }
}

#[test]
fn a_per_minute_limit_with_latency_is_paced_without_429() {
    for style in [Style::XRateLimit, Style::Ietf] {
        // Productboard's 1000 a minute, 80 ms latency, 2,050 requests.
        let mut service = Service::new(1000.0 / 60.0, 1000.0, 60.0, style);
        let result = run(adaptive(16), &mut service, 2050, 0.080);
        assert_eq!(result.throttled, 0, "{style:?}: {result:?}");
        let bound = 2050.0 / (1000.0 / 60.0);
        assert!(result.elapsed <= bound * 1.05, "{style:?}: {result:?} against {bound}");
    }
}

#[test]
fn without_headers_it_backs_off_on_429_and_probes_back_up() {
    let mut service = Service::new(50.0, 50.0, 1.0, Style::None);
    let result = run(adaptive(16), &mut service, 202, 0.020);
    let bound = 202.0 / 50.0;
    assert!(result.elapsed <= bound * 1.15, "{result:?} against {bound}");
    assert!(result.throttled > 0 && result.throttled < 40, "{result:?}");
    // A longer run settles near the limit: few throttles per second.
    let mut service = Service::new(50.0, 50.0, 1.0, Style::None);
    let result = run(adaptive(16), &mut service, 1500, 0.020);
    let bound = 1500.0 / 50.0;
    assert!(result.elapsed <= bound * 1.15, "{result:?} against {bound}");
    assert!(result.throttled < 60, "{result:?}");
}

#[test]
fn without_even_retry_after_it_still_finishes_near_the_limit() {
    let mut service = Service::new(20.0, 20.0, 1.0, Style::Bare);
    let result = run(adaptive(16), &mut service, 400, 0.010);
    let bound = 400.0 / 20.0;
    assert!(result.elapsed <= bound * 1.3, "{result:?} against {bound}");
}

#[test]
fn the_client_cap_holds_whatever_the_service_allows() {
    let pacer = Pacer::new(PacerConfig { max_rate: Some(10.0), ..PacerConfig::default() });
    let mut service = Service::new(1000.0, 1000.0, 1.0, Style::XRateLimit);
    let result = run(pacer, &mut service, 101, 0.005);
    // 101 requests 0.1 s apart: the last goes at 10 s.
    assert!((result.elapsed - 10.005).abs() < 1e-6, "{result:?}");
}

#[test]
fn concurrency_grows_with_latency_up_to_the_ceiling() {
    // No limit, 200 ms latency: four in flight would take 500 / 4 · 0.2 = 25 s.
    let mut service = Service::new(1e6, 1e6, 1.0, Style::XRateLimit);
    let result = run(adaptive(32), &mut service, 500, 0.200);
    assert!(result.max_in_flight >= 30, "{result:?}");
    assert_eq!(result.final_concurrency, 32, "{result:?}");
    assert!(result.elapsed < 8.0, "{result:?}");
    // Fixed, it stays where it is told.
    let fixed = Pacer::new(PacerConfig { max_concurrency: 4, adaptive: false, ..PacerConfig::default() });
    let mut service = Service::new(1e6, 1e6, 1.0, Style::XRateLimit);
    let result = run(fixed, &mut service, 500, 0.200);
    assert_eq!((result.max_in_flight, result.final_concurrency), (4, 4), "{result:?}");
    assert!((result.elapsed - 25.0).abs() < 1e-6, "{result:?}");
}

#[test]
fn concurrency_needed_for_a_pace_is_all_it_grows_to() {
    // 10 a second at 50 ms latency needs one request in flight, not sixteen (a bucket of
    // two, so that there is no burst to spend first).
    let mut service = Service::new(10.0, 2.0, 1.0, Style::XRateLimit);
    let result = run(adaptive(16), &mut service, 200, 0.050);
    // Only the first four, sent before any answer told of the limit, can meet a 429.
    assert!(result.throttled <= 2, "{result:?}");
    assert!(result.max_in_flight <= 4 && result.final_concurrency <= 4, "{result:?}");
}

#[test]
fn a_fixed_window_is_spent_down_to_a_reserve_at_once_and_the_reserve_spread() {
    // A window of 100 requests a minute, reset at the minute, 60 requests to send: they
    // fit in the budget above the reserve and go without waiting for the window.
    let mut pacer = adaptive(16);
    let mut now = Duration::ZERO;
    let mut sent = 0;
    let mut remaining = 100.0;
    while sent < 60 {
        match pacer.poll(now) {
            Verdict::Go(ticket) => {
                sent += 1;
                remaining -= 1.0;
                let limits = Limits {
                    limit: Some(100.0),
                    remaining: Some(remaining),
                    reset: Some(Duration::from_secs(60).saturating_sub(now)),
                    ..Limits::default()
                };
                now += Duration::from_millis(10);
                pacer.on_outcome(ticket, now, &Outcome::Answered(limits));
            }
            Verdict::WaitUntil(at) => now = at,
            Verdict::WaitForAnswer => unreachable!("one at a time"),
        }
    }
    assert_eq!(now, Duration::from_millis(600), "no pause while more than the reserve is left");
    // Below the reserve (twice the ceiling of 16 in flight), the rest is spread over what
    // is left of the minute.
    let limits = Limits {
        limit: Some(100.0),
        remaining: Some(30.0),
        reset: Some(Duration::from_secs(30)),
        ..Limits::default()
    };
    let Verdict::Go(ticket) = pacer.poll(now) else { panic!("a request may go") };
    pacer.on_outcome(ticket, now, &Outcome::Answered(limits));
    assert_eq!(pacer.rate(now), Some(1.0));
}

#[test]
fn retry_after_pauses_everyone_and_a_throttle_halves_concurrency() {
    let mut pacer = adaptive(16);
    let Verdict::Go(first) = pacer.poll(Duration::ZERO) else { panic!() };
    let Verdict::Go(second) = pacer.poll(Duration::ZERO) else { panic!() };
    assert_eq!(pacer.concurrency(), 4);
    let throttled = Limits { retry_after: Some(Duration::from_millis(1500)), ..Limits::default() };
    pacer.on_outcome(first, secs(0.1), &Outcome::Throttled(throttled.clone()));
    assert_eq!(pacer.poll(secs(0.2)), Verdict::WaitUntil(secs(1.6)));
    assert_eq!(pacer.concurrency(), 2);
    // The second answer tells of the same congestion: no second cut.
    pacer.on_outcome(second, secs(0.2), &Outcome::Throttled(throttled));
    assert_eq!(pacer.concurrency(), 2);
    // After the pause, the probe holds the rate below what was accepted.
    assert!(matches!(pacer.poll(secs(1.8)), Verdict::Go(_)));
    assert!(pacer.rate(secs(1.8)).is_some());
}

#[test]
fn server_errors_and_timeouts_shrink_concurrency_to_one() {
    let mut pacer = adaptive(16);
    let mut now = Duration::ZERO;
    for _ in 0..5 {
        let Verdict::Go(ticket) = pacer.poll(now) else { panic!() };
        now += Duration::from_millis(100);
        pacer.on_outcome(ticket, now, &Outcome::Overloaded(Limits::default()));
    }
    assert_eq!(pacer.concurrency(), 1);
    // An abandoned request frees its slot and changes nothing else.
    let Verdict::Go(ticket) = pacer.poll(now) else { panic!() };
    assert_eq!(pacer.poll(now), Verdict::WaitForAnswer);
    pacer.on_outcome(ticket, now, &Outcome::Cancelled);
    assert!(matches!(pacer.poll(now), Verdict::Go(_)));
}
