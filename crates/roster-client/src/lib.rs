//! The SCIM client of roster: reads live state page by page, and sends the writes a
//! plan needs, surviving what real services do (rate limits, 5xx, dropped connections,
//! broken paging).
//!
//! Two handles, so that the type system keeps `plan` from writing:
//! - [`ReadClient`] has only read methods: [`ReadClient::fetch_live`], look-ups, and the
//!   [`ReadClient::probe`] behind `roster doctor`.
//! - [`MembersClient`] reads Productboard's REST member list for `roster audit`; it
//!   too has no method that writes.
//! - [`WriteClient`] holds a `ReadClient` and adds the writes. It has no method that
//!   deletes a user, and `roster_scim` has no way to build such a request.
//!
//! Every request, read or write, goes through one send path: the pacer of `roster_pace`
//! (every answer's rate-limit headers spread over the time to their reset, AIMD without
//! them, concurrency adapting to latency and throttling, a client-side cap), one
//! classification of failures (429, 5xx but 501/505, timeouts and connection errors are
//! retried with jittered exponential backoff; an untrusted certificate, a failed TLS
//! handshake, an unresolvable name, a refusing proxy and every other status are final at
//! once, with a hint), no redirects, a cap on the response size, and a bearer header
//! marked sensitive. `http://` is refused except to loopback.

mod config;
mod error;
mod members;
mod read;
mod token;
mod transport;
mod write;

pub use config::{ClientConfig, UpdateMethod};
pub use error::{AUTH_HINT, BASE_URL_HINT, ClientError, ConnectProblem, PROXY_HINT, TOKEN_HINT};
pub use members::{API_TOKEN_ENV, DEFAULT_API_URL, MembersClient, REST_AUTH_HINT};
pub use read::{GROUPS_HINT, ProbeStep, ReadClient};
pub use token::{TOKEN_ENV, Token, TokenError};
pub use write::{
    Applied, OperationRecord, RecordOutcome, Verification, WriteClient, WriteError, WriteOutcome,
};
