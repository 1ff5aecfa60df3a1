//! Pacing of the requests roster sends, as a state machine without I/O and without a
//! clock: the driver feeds it (instant, response) and asks it when the next request may
//! go. Instants are [`std::time::Duration`]s since an origin the driver picks, so tests
//! run on a virtual clock.
//!
//! - [`Limits`] reads what a response says about the service's rate limit, in every style
//!   roster meets: `X-RateLimit-*` (reset as seconds or as a Unix time), Okta's
//!   `X-Rate-Limit-*`, the IETF draft's `RateLimit` and `RateLimit-Policy` (older drafts'
//!   `RateLimit-Limit/Remaining/Reset` too), and `Retry-After` (seconds, fractions of
//!   them, or an HTTP date).
//! - [`Pacer`] spreads the advertised remaining budget over the time to its reset, so that
//!   a service that says what is left never has to answer 429; without such headers it
//!   backs off on 429 and probes back up (additive increase, multiplicative decrease of a
//!   rate), and it adapts the number of requests in flight to latency and to throttling.
//!   A client-side cap (`--max-rps`) holds in every case.

mod limits;
mod pacer;

pub use limits::Limits;
pub use pacer::{Outcome, Pacer, PacerConfig, Ticket, Verdict};
