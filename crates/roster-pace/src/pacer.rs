//! The pacer: when may the next request go, and how many may be in flight.

use std::collections::VecDeque;
use std::time::Duration;

use crate::limits::Limits;

/// The lowest rate the header-less back-off goes down to, in requests per second.
const MIN_RATE: f64 = 0.2;
/// After a throttle without `Retry-After`, everyone waits this long.
const DEFAULT_THROTTLE_PAUSE: Duration = Duration::from_secs(1);
/// Successful answers within this span measure the rate the service accepted.
const MEASURE_SPAN: Duration = Duration::from_secs(1);
/// A cut leaves this share of the rate the service was seen to accept.
const RATE_CUT: f64 = 0.9;
/// A further cut of the probed rate keeps this share of it.
const RATE_BACKOFF: f64 = 0.7;
/// The part of an advertised limit kept in reserve and spread, rather than spent at once.
const RESERVE_SHARE: f64 = 10.0;
/// Concurrency does not grow once latency is this many times the lowest seen: the
/// service is queueing, more requests in flight would only wait longer.
const LATENCY_GROWTH_LIMIT: f64 = 2.0;

/// How the pacer is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct PacerConfig {
    /// A hard cap on requests per second, whatever the service advertises (`--max-rps`).
    pub max_rate: Option<f64>,
    /// Requests in flight at the start.
    pub initial_concurrency: usize,
    /// The most requests in flight ever (the ceiling of the adaptation).
    pub max_concurrency: usize,
    /// Whether concurrency adapts; when not, it stays at `max_concurrency`.
    pub adaptive: bool,
}

impl Default for PacerConfig {
    fn default() -> Self {
        PacerConfig { max_rate: None, initial_concurrency: 4, max_concurrency: 16, adaptive: true }
    }
}

/// The pacer's answer to "may a request go now".
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it; hand the ticket back with its outcome.
    Go(Ticket),
    /// Ask again at this instant.
    WaitUntil(Duration),
    /// As many requests are in flight as allowed: ask again when one is answered.
    WaitForAnswer,
}

/// One request in flight, handed back to [`Pacer::on_outcome`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a ticket must be handed back to the pacer, or its slot stays taken"]
pub struct Ticket {
    sent_at: Duration,
}

/// How a request ended, as the send path classified it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// An answer that says nothing about load: 2xx, and 4xx other than 429.
    Answered(Limits),
    /// The service throttled: 429, or a 500 from a service known to throttle that way.
    Throttled(Limits),
    /// The service struggled: 502, 503, 504, other 5xx, a timeout or a dropped connection.
    Overloaded(Limits),
    /// The request was abandoned before it ended (the caller gave up on it).
    Cancelled,
}

/// Budget advertised by the service: spend `remaining` over the time to `reset`.
#[derive(Clone, Debug, PartialEq)]
struct Advertised {
    spacing: Duration,
    until: Duration,
    /// The spacing once `until` has passed, from limit and window when known.
    afterwards: Option<Duration>,
}

/// The pacing state. Feed it every outcome, ask it before every request; it reads no
/// clock, so the same inputs always give the same answers.
#[derive(Clone, Debug)]
pub struct Pacer {
    config: PacerConfig,
    in_flight: usize,
    window: f64,
    next_slot: Duration,
    paused_until: Duration,
    advertised: Option<Advertised>,
    /// The header-less probe: a rate found by throttling, raised while answers succeed.
    probe_rate: Option<f64>,
    last_cut: Option<Duration>,
    accepted: VecDeque<Duration>,
    last_sent: Option<Duration>,
    min_latency: Option<Duration>,
    latency: Option<Duration>,
    waited_for_window: bool,
}

impl Pacer {
    /// A pacer that has seen nothing yet: no pause, no rate but the cap.
    pub fn new(config: PacerConfig) -> Self {
        let max = config.max_concurrency.max(1);
        let window = if config.adaptive { config.initial_concurrency.clamp(1, max) } else { max };
        Pacer {
            config: PacerConfig { max_concurrency: max, ..config },
            in_flight: 0,
            window: window as f64,
            next_slot: Duration::ZERO,
            paused_until: Duration::ZERO,
            advertised: None,
            probe_rate: None,
            last_cut: None,
            accepted: VecDeque::new(),
            last_sent: None,
            min_latency: None,
            latency: None,
            waited_for_window: false,
        }
    }

    /// Requests allowed in flight now.
    pub fn concurrency(&self) -> usize {
        self.window.floor() as usize
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The rate the pacer holds to at `now`, in requests per second, if any.
    pub fn rate(&self, now: Duration) -> Option<f64> {
        let spacing = self.spacing(now);
        (!spacing.is_zero()).then(|| 1.0 / spacing.as_secs_f64())
    }

    /// Whether a request may go at `now`; a [`Verdict::Go`] counts it as sent.
    pub fn poll(&mut self, now: Duration) -> Verdict {
        if self.in_flight >= self.concurrency() {
            self.waited_for_window = true;
            return Verdict::WaitForAnswer;
        }
        let earliest = self.paused_until.max(self.next_slot);
        if earliest > now {
            return Verdict::WaitUntil(earliest);
        }
        self.in_flight += 1;
        self.last_sent = Some(now);
        self.next_slot = now + self.spacing(now);
        Verdict::Go(Ticket { sent_at: now })
    }

    /// The outcome of a request sent with `ticket`, known at `now`.
    pub fn on_outcome(&mut self, ticket: Ticket, now: Duration, outcome: &Outcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(limits) = (match outcome {
            Outcome::Answered(limits) | Outcome::Throttled(limits) | Outcome::Overloaded(limits) => {
                Some(limits)
            }
            Outcome::Cancelled => None,
        }) else {
            return;
        };
        let latency = now.saturating_sub(ticket.sent_at);
        self.min_latency = Some(self.min_latency.map_or(latency, |min| min.min(latency)));
        self.latency = Some(self.latency.map_or(latency, |avg| (avg * 7 + latency) / 8));
        self.read_budget(now, limits);
        if let Some(wait) = limits.retry_after {
            self.paused_until = self.paused_until.max(now + wait);
        }
        // Answers to requests sent before the last cut tell of the same congestion.
        let fresh = self.last_cut.is_none_or(|cut| ticket.sent_at >= cut);
        match outcome {
            Outcome::Answered(_) => {
                self.accepted.push_back(now);
                while self.accepted.front().is_some_and(|t| now.saturating_sub(*t) > MEASURE_SPAN) {
                    self.accepted.pop_front();
                }
                if fresh {
                    self.increase(now);
                }
            }
            Outcome::Throttled(limits) => {
                if limits.retry_after.is_none() && !limits.advertises_budget() {
                    self.paused_until = self.paused_until.max(now + DEFAULT_THROTTLE_PAUSE);
                }
                if fresh {
                    if !limits.advertises_budget() {
                        self.cut_rate(now);
                    }
                    self.cut_window(now);
                }
            }
            Outcome::Overloaded(_) => {
                if fresh {
                    self.cut_window(now);
                }
            }
            Outcome::Cancelled => {}
        }
    }

    /// The gap to keep between two requests at `now`: the largest of the cap's, the
    /// advertised budget's and the probe's.
    fn spacing(&self, now: Duration) -> Duration {
        let per = |rate: f64| Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::MAX);
        let cap = self.config.max_rate.filter(|r| r.is_finite() && *r > 0.0).map(per);
        let advertised =
            self.advertised.as_ref().and_then(|a| if now < a.until { Some(a.spacing) } else { a.afterwards });
        let probe = self.probe_rate.map(per);
        [cap, advertised, probe].into_iter().flatten().max().unwrap_or(Duration::ZERO)
    }

    /// Spreads what the service says is left over the time to its reset. The requests
    /// still in flight will spend from the same budget, so they are counted as spent.
    /// While more than a reserve is left, the surplus is not spread.
    fn read_budget(&mut self, now: Duration, limits: &Limits) {
        let (Some(remaining), Some(reset)) = (limits.remaining, limits.reset) else { return };
        let afterwards = match (limits.limit, limits.window) {
            (Some(limit), Some(window)) if limit >= 1.0 => Some(window.div_f64(limit)),
            _ => None,
        };
        let budget = remaining.floor() - self.in_flight as f64;
        let until = now + reset;
        if budget < 1.0 {
            // Nothing left to spend before the reset; after it, one request and then
            // what its answer says.
            self.paused_until = self.paused_until.max(until);
            self.advertised = Some(Advertised { spacing: reset, until: until + reset, afterwards });
        } else {
            // Above a reserve, the surplus may go at once: a fixed window never gives more
            // than it said was left, and a token bucket refills meanwhile, so the pace
            // averages the refill rate while the reserve left unspent at the end stays
            // small. The reserve (a tenth of the limit, and twice the ceiling of requests
            // in flight) keeps a bucket from running dry and pausing until full.
            let reserve = (2 * self.config.max_concurrency) as f64;
            let surplus = limits.limit.is_some_and(|limit| budget > (limit / RESERVE_SHARE).max(reserve));
            let spacing = if surplus { Duration::ZERO } else { reset.div_f64(budget) };
            self.advertised = Some(Advertised { spacing, until, afterwards });
            // The next request keeps to the new spacing from the last one sent.
            self.next_slot = self.last_sent.unwrap_or(now) + self.spacing(now);
        }
        // A service that says what is left needs no probing.
        self.probe_rate = None;
    }

    /// A throttle without budget headers: the rate drops below what the service was
    /// seen to accept in the last second, and never rises on a throttle.
    fn cut_rate(&mut self, now: Duration) {
        while self.accepted.front().is_some_and(|t| now.saturating_sub(*t) > MEASURE_SPAN) {
            self.accepted.pop_front();
        }
        let measured = self.accepted.len() as f64 / MEASURE_SPAN.as_secs_f64();
        // What was accepted in the last second is the best guess of the limit; shortly
        // after a pause it undercounts, so a probed rate only drops by a share.
        let rate = match self.probe_rate {
            Some(rate) => (rate * RATE_BACKOFF).max(measured * RATE_CUT).min(rate),
            None => measured * RATE_CUT,
        };
        self.probe_rate = Some(rate.max(MIN_RATE));
    }

    fn cut_window(&mut self, now: Duration) {
        self.last_cut = Some(now);
        if self.config.adaptive {
            self.window = (self.window / 2.0).max(1.0);
        }
    }

    /// A request went through: probe the rate up (about 5% a second, at least one
    /// request per second each second), and grow concurrency while it is what holds
    /// requests back and latency shows no queueing.
    fn increase(&mut self, now: Duration) {
        if let Some(rate) = self.probe_rate {
            let per_second = (rate / 20.0).max(1.0);
            self.probe_rate = Some(rate + per_second / rate);
        }
        if !self.config.adaptive || !self.waited_for_window {
            return;
        }
        let max = self.config.max_concurrency as f64;
        let (Some(latency), Some(min_latency)) = (self.latency, self.min_latency) else { return };
        if latency.as_secs_f64() > LATENCY_GROWTH_LIMIT * min_latency.as_secs_f64() + 0.005 {
            return;
        }
        // With a pace to keep, only as many in flight as that pace needs, and one more.
        let spacing = self.spacing(now);
        if !spacing.is_zero() && self.window >= latency.as_secs_f64() / spacing.as_secs_f64() + 1.0 {
            return;
        }
        // Doubling per round trip until the first cut, one more per round trip after.
        let step = if self.last_cut.is_none() { 1.0 } else { 1.0 / self.window };
        self.window = (self.window + step).min(max);
        self.waited_for_window = false;
    }
}
