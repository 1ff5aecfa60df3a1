//! The emulator's knobs: a plain struct that `Default`s to a well-behaved server.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The largest page Productboard serves, whatever `count` asks for.
pub const PRODUCTBOARD_MAX_PAGE_SIZE: usize = 100;

/// How the emulator behaves. `EmulatorConfig::default()` is a correct, fast, open server:
/// no token, no latency, no rate limit, no faults, no state file, no misbehaviour.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// The bearer token every request must carry; `None` accepts any request.
    pub token: Option<String>,
    /// The bearer token Productboard's REST member list (`GET /members`) requires;
    /// `None` accepts any request there.
    pub api_token: Option<String>,
    /// Whether the SCIM token also works on the REST API, as a token that carries REST
    /// rights does.
    pub scim_token_on_rest: bool,
    /// A delay added to every request before it is handled.
    pub latency: Duration,
    /// At most this many requests per `rate_limit_window` (a token bucket holding one
    /// window's worth); beyond it the answer is 429 with `Retry-After`. `None` means no
    /// limit.
    pub rate_limit: Option<u32>,
    /// The window `rate_limit` counts over: a second (the default) or a minute.
    pub rate_limit_window: Duration,
    /// How answers tell the client about the rate limit.
    pub rate_headers: RateHeaders,
    /// The probability, from 0 to 1, that a request fails: half of the failures answer
    /// 500, the other half close the connection without any answer.
    pub fault_rate: f64,
    /// The seed of every random choice (faults, ids, shuffled order), so that a run can
    /// be reproduced.
    pub seed: u64,
    /// A JSON file the state is loaded from at start (when it exists) and written back to,
    /// atomically, after every change and at shutdown.
    pub state_file: Option<PathBuf>,
    /// The largest page served; Productboard caps `count` at 100.
    pub max_page_size: usize,
    /// How long the writer waits after a change before it saves, so that a burst of
    /// changes is written once. A clean shutdown always saves what is pending.
    pub save_debounce: Duration,
    /// Switches that make the server misbehave the way real SCIM servers do.
    pub misbehaviour: Misbehaviour,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            token: None,
            api_token: None,
            scim_token_on_rest: false,
            latency: Duration::ZERO,
            rate_limit: None,
            rate_limit_window: Duration::from_secs(1),
            rate_headers: RateHeaders::default(),
            fault_rate: 0.0,
            seed: 0,
            state_file: None,
            max_page_size: PRODUCTBOARD_MAX_PAGE_SIZE,
            save_debounce: Duration::from_millis(100),
            misbehaviour: Misbehaviour::default(),
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a secret: say whether there is one, never what it is.
        f.debug_struct("EmulatorConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("scim_token_on_rest", &self.scim_token_on_rest)
            .field("latency", &self.latency)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_window", &self.rate_limit_window)
            .field("rate_headers", &self.rate_headers)
            .field("fault_rate", &self.fault_rate)
            .field("seed", &self.seed)
            .field("state_file", &self.state_file)
            .field("max_page_size", &self.max_page_size)
            .field("save_debounce", &self.save_debounce)
            .field("misbehaviour", &self.misbehaviour)
            .finish()
    }
}

/// The header style in which the emulator reports its rate limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateHeaders {
    /// `X-RateLimit-Limit/Remaining/Reset` on every answer, the reset a Unix time with
    /// milliseconds; `Retry-After` on a 429 in seconds with milliseconds.
    #[default]
    XRateLimit,
    /// The IETF draft's `RateLimit` and `RateLimit-Policy` on every answer (whole
    /// seconds); `Retry-After` on a 429 in whole seconds.
    Ietf,
    /// Nothing but `Retry-After` on a 429, in whole seconds.
    None,
}

/// Misbehaviour seen in real SCIM servers, one switch each; all off by default.
///
/// Each switch exists so that a client test can prove the client survives it: the
/// fetch either returns the complete view or says that it is incomplete, and never loops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Ignore `count` and serve pages of exactly this size.
    pub fixed_page_size: Option<usize>,
    /// Serve at most this many resources per page even when more are asked (AWS: 50).
    pub page_size_cap: Option<usize>,
    /// Past the end of a list, answer the first page again instead of an empty page.
    pub repeat_first_page_past_end: bool,
    /// Report `totalResults` equal to the number of resources on the page.
    pub total_results_is_page_size: bool,
    /// Report a `totalResults` that grows by one with every list request.
    pub drifting_total_results: bool,
    /// Shuffle the resources of every list request anew (no stable order).
    pub unstable_order: bool,
    /// Answer 409 without `scimType`.
    pub conflict_without_scim_type: bool,
    /// Send `status` in error bodies as a JSON number instead of a string.
    pub numeric_status: bool,
    /// After a POST has created its resource, close the connection instead of answering:
    /// the write happened, the client sees a dropped connection.
    pub drop_response_after_post: bool,
    /// Answer throttled requests with 500 (no `Retry-After`) instead of 429.
    pub throttle_as_500: bool,
    /// Answer 429 without a `Retry-After` header.
    pub omit_retry_after: bool,
    /// Keep only the user attributes the served schema declares, which then lacks
    /// `title`: a write of anything else is answered 2xx and the value dropped.
    pub ignore_unknown_attributes: bool,
    /// Answer a group PUT with 200 but keep the members the group had.
    pub put_ignores_members: bool,
    /// Declare `name.formatted` required, and refuse (400) a user POST or PUT without it.
    pub require_name_formatted: bool,
    /// Declare `members.$ref` required, and refuse (400) group members sent without it.
    pub require_member_ref: bool,
    /// Answer every PATCH with 501 although `/ServiceProviderConfig` says it is supported.
    pub patch_unsupported: bool,
    /// Read a `remove` of `members` with a value list (the form one large identity
    /// provider sends) as "remove every member", as some strict servers do.
    pub remove_by_value_wipes_all: bool,
    /// Answer 404 on `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`.
    pub no_schemas: bool,
    /// REST member list: answer a page fetched with a cursor with that same cursor again.
    pub repeat_member_cursor: bool,
    /// REST member list: a next cursor on every page, past the end too (empty pages).
    pub endless_member_cursor: bool,
    /// REST member list: ignore `pageCursor` and serve the first page again, each time
    /// with a fresh cursor.
    pub ignore_member_cursor: bool,
}
