//! A local SCIM 2.0 server with Productboard's rules, for trying roster and for testing
//! its client against the ways real servers fail.
//!
//! It serves `http://ADDR/scim/v2`, as Productboard serves `https://api.productboard.com/scim/v2`:
//!
//! - **Users**: list (filters, paging with `count` capped at 100, `sortBy`,
//!   `attributes`/`excludedAttributes`), get, POST, PUT, PATCH. `DELETE /Users/{id}` is
//!   refused with 405: users are only deactivated. userNames are unique
//!   case-insensitively (409 `uniqueness`). A user created without a role gets
//!   `contributor`. A member holds one role: more than one is refused (400), and a PATCH
//!   that adds a role replaces it. Any non-empty role name is accepted, since Productboard
//!   has custom roles besides admin, maker, contributor and viewer.
//! - **Groups** (Productboard's teams): list, get, POST, PUT, PATCH (members in the
//!   standard forms and in Okta's and Entra ID's), DELETE. Team names are unique
//!   case-insensitively; members must be existing users.
//! - **Discovery**: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//! - **Productboard's REST member list**: `GET /members` outside `/scim/v2`, with
//!   `X-Version: 1`, its own token and cursor paging, from the same store plus members
//!   only the REST list shows (invited by hand); see [`EmulatorState::add_rest_member`].
//!
//! [`Emulator::start_targets`] serves several such services on one address, each under its
//! own name (`http://ADDR/NAME/scim/v2`), for files that keep many apps.
//!
//! Knobs in [`EmulatorConfig`] add latency, a rate limit, random faults and the
//! [`Misbehaviour`] of real servers; a seed makes every random choice reproducible.
//! The state can live in a JSON file that survives restarts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), roster_emulator::EmulatorError> {
//! use roster_emulator::{Emulator, EmulatorConfig};
//! let running = Emulator::start("127.0.0.1:0".parse().unwrap(), EmulatorConfig::default()).await?;
//! let base_url = running.base_url(); // http://127.0.0.1:PORT/scim/v2
//! # let _ = base_url;
//! running.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod config;
mod discovery;
mod error;
mod filter;
mod http;
mod members;
mod patch;
mod projection;
mod ratelimit;
mod server;
mod state;
mod store;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::config::{EmulatorConfig, Misbehaviour, PRODUCTBOARD_MAX_PAGE_SIZE, RateHeaders};
pub use crate::error::EmulatorError;
pub use crate::http::LoggedRequest;
pub use crate::state::EmulatorState;
pub use crate::store::DEFAULT_ROLE;

use crate::http::{App, BASE_PATH};

/// Starts emulators.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Loads the state file (if configured and present), binds `listen` and returns
    /// once connections are accepted. Port 0 picks a free port; see
    /// [`RunningEmulator::base_url`].
    pub async fn start(listen: SocketAddr, config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
        Self::serve(listen, vec![(None, config)]).await
    }

    /// Serves several targets (several SCIM services, as a company with many apps has)
    /// on one address, each under its own name: `http://ADDR/NAME/scim/v2`, with the REST
    /// member list at `http://ADDR/NAME/members`. Each target has its own configuration
    /// (token, knobs, state file), store and request log; see [`RunningEmulator::target`].
    /// A name is a lower-case path segment (`[a-z][a-z0-9_-]*`), each given once.
    pub async fn start_targets(
        listen: SocketAddr,
        targets: Vec<(String, EmulatorConfig)>,
    ) -> Result<RunningEmulator, EmulatorError> {
        if targets.is_empty() {
            return Err(EmulatorError::InvalidTargets { detail: "no target given".to_owned() });
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in &targets {
            check_target_name(name)?;
            if !seen.insert(name.as_str()) {
                return Err(EmulatorError::InvalidTargets {
                    detail: format!("target `{name}` is given twice"),
                });
            }
        }
        Self::serve(listen, targets.into_iter().map(|(name, config)| (Some(name), config)).collect()).await
    }

    async fn serve(
        listen: SocketAddr,
        targets: Vec<(Option<String>, EmulatorConfig)>,
    ) -> Result<RunningEmulator, EmulatorError> {
        let mut states = Vec::with_capacity(targets.len());
        for (_, config) in &targets {
            let state = EmulatorState::new(config.seed, config.state_file.clone());
            state.lock().duplicate_group_names = config.misbehaviour.allow_duplicate_group_names;
            state.load_file(config.seed)?;
            states.push(state);
        }
        let listener =
            TcpListener::bind(listen).await.map_err(|source| EmulatorError::Bind { addr: listen, source })?;
        let local_addr =
            listener.local_addr().map_err(|source| EmulatorError::Bind { addr: listen, source })?;

        let mut router = axum::Router::new();
        let mut tenants = Vec::with_capacity(targets.len());
        for ((name, config), state) in targets.into_iter().zip(states) {
            let prefix = name.as_ref().map(|name| format!("/{name}")).unwrap_or_default();
            let base_url = format!("http://{}{prefix}{BASE_PATH}", reachable(local_addr));
            tracing::info!(%base_url, config = ?config, "emulator listening");
            let debounce = config.save_debounce;
            let app = Arc::new(App::new(config, base_url.clone(), state.clone()));
            router = match &name {
                // One service at the root, as Productboard serves it.
                None => http::router(app.clone()),
                Some(_) => router.nest(&prefix, http::router(app.clone())),
            };
            let (saver_stop, saver_stop_rx) = watch::channel(false);
            let saver = tokio::spawn(save_on_change(state.clone(), debounce, saver_stop_rx));
            tenants.push(EmulatedTarget { name, base_url, app, state, saver_stop, saver: Some(saver) });
        }
        if tenants.iter().any(|t| t.name.is_some()) {
            router = router.fallback(http::no_such_target);
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, router, shutdown_rx));
        Ok(RunningEmulator { local_addr, tenants, shutdown_tx, server: Some(server) })
    }
}

/// A target's name is one lower-case path segment, so that its URL needs no escaping.
fn check_target_name(name: &str) -> Result<(), EmulatorError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(EmulatorError::InvalidTargets {
            detail: format!(
                "target name {name:?} is not a lower-case name (a letter, then letters, digits, `-` or `_`)"
            ),
        })
    }
}

/// The address a client on this machine uses: a wildcard bind is reached by loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Writes the state file a little after each change; on stop, writes what is pending.
async fn save_on_change(
    state: EmulatorState,
    debounce: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = state.shared.changed.notified() => {}
            _ = stop.changed() => break,
        }
        tokio::time::sleep(debounce).await;
        let writer = state.clone();
        match tokio::task::spawn_blocking(move || writer.persist(false)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(error = %error_chain(&error), "emulator cannot save its state"),
            Err(error) => tracing::error!(%error, "emulator state writer failed"),
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A started emulator: one service, or several targets on one address. Dropping it
/// stops the server without waiting; call [`RunningEmulator::shutdown`] to stop it
/// cleanly and save the state.
///
/// The methods that read one service's URL, log or state ([`RunningEmulator::base_url`]
/// and the others) answer for the first target; [`RunningEmulator::target`] gives each.
pub struct RunningEmulator {
    local_addr: SocketAddr,
    tenants: Vec<EmulatedTarget>,
    shutdown_tx: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// One service of a running emulator: its URLs, request log and state.
pub struct EmulatedTarget {
    name: Option<String>,
    base_url: String,
    app: Arc<App>,
    state: EmulatorState,
    saver_stop: watch::Sender<bool>,
    saver: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator").field("targets", &self.tenants).finish()
    }
}

impl std::fmt::Debug for EmulatedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatedTarget")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("config", &self.app.config)
            .finish()
    }
}

impl RunningEmulator {
    /// The SCIM base URL of the first target, e.g. `http://127.0.0.1:41234/scim/v2`.
    pub fn base_url(&self) -> String {
        self.first().base_url()
    }

    /// The base URL of Productboard's REST API as emulated for the first target, e.g.
    /// `http://127.0.0.1:41234`: the member list is `GET {api_url}/members`.
    pub fn api_url(&self) -> String {
        self.first().api_url()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every request the first target answered (or dropped) so far, in the order they
    /// finished.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.first().request_log()
    }

    /// Forgets the requests the first target logged so far.
    pub fn clear_request_log(&self) {
        self.first().clear_request_log();
    }

    /// The first target's whole state, in the state file's format.
    pub fn snapshot(&self) -> serde_json::Value {
        self.first().snapshot()
    }

    /// A handle on the first target's users and groups, to seed or inspect them without
    /// HTTP.
    pub fn state(&self) -> EmulatorState {
        self.first().state()
    }

    /// The targets served, in the order given.
    pub fn targets(&self) -> &[EmulatedTarget] {
        &self.tenants
    }

    /// The target of this name, when several are served.
    pub fn target(&self, name: &str) -> Option<&EmulatedTarget> {
        self.tenants.iter().find(|t| t.name.as_deref() == Some(name))
    }

    fn first(&self) -> &EmulatedTarget {
        &self.tenants[0]
    }

    /// Stops accepting, lets open requests finish, then writes the state files (if
    /// configured) so that a restart loses nothing.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            server.await?;
        }
        for tenant in &mut self.tenants {
            let _ = tenant.saver_stop.send(true);
            if let Some(saver) = tenant.saver.take() {
                saver.await?;
            }
            let state = tenant.state.clone();
            tokio::task::spawn_blocking(move || state.persist(true)).await??;
            tracing::info!(base_url = %tenant.base_url, "emulator stopped");
        }
        Ok(())
    }
}

impl EmulatedTarget {
    /// The target's name; `None` for an emulator serving one service at the root.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The SCIM base URL, e.g. `http://127.0.0.1:41234/miro/scim/v2`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The base URL of the REST API as emulated, e.g. `http://127.0.0.1:41234/miro`.
    pub fn api_url(&self) -> String {
        self.base_url.strip_suffix(BASE_PATH).unwrap_or(&self.base_url).to_owned()
    }

    /// Every request answered (or dropped) so far, in the order they finished. Paths
    /// are as the target sees them, without the target's name: `/scim/v2/Users`.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.app.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_request_log(&self) {
        self.app.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The whole state, in the state file's format.
    pub fn snapshot(&self) -> serde_json::Value {
        self.state.snapshot()
    }

    /// A handle on the users and groups, to seed or inspect them without HTTP.
    pub fn state(&self) -> EmulatorState {
        self.state.clone()
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        // Without shutdown(): stop the tasks; the writers still save what is pending.
        let _ = self.shutdown_tx.send(true);
        for tenant in &mut self.tenants {
            if tenant.saver.is_some() {
                let state = tenant.state.clone();
                let _ = tenant.saver_stop.send(true);
                // The writer task may not run again if the runtime is going away: save here too.
                if let Err(error) = state.persist(false) {
                    tracing::error!(error = %error_chain(&error), "emulator cannot save its state");
                }
            }
        }
    }
}
