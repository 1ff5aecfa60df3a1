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
        let state = EmulatorState::new(config.seed, config.state_file.clone());
        state.load_file(config.seed)?;
        let listener =
            TcpListener::bind(listen).await.map_err(|source| EmulatorError::Bind { addr: listen, source })?;
        let local_addr =
            listener.local_addr().map_err(|source| EmulatorError::Bind { addr: listen, source })?;
        let base_url = format!("http://{}{BASE_PATH}", reachable(local_addr));
        tracing::info!(%base_url, config = ?config, "emulator listening");

        let debounce = config.save_debounce;
        let app = Arc::new(App::new(config, base_url.clone(), state.clone()));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, http::router(app.clone()), shutdown_rx));
        let (saver_stop, saver_stop_rx) = watch::channel(false);
        let saver = tokio::spawn(save_on_change(state.clone(), debounce, saver_stop_rx));
        Ok(RunningEmulator {
            local_addr,
            base_url,
            app,
            state,
            shutdown_tx,
            saver_stop,
            server: Some(server),
            saver: Some(saver),
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

/// A started emulator. Dropping it stops the server without waiting; call
/// [`RunningEmulator::shutdown`] to stop it cleanly and save the state.
pub struct RunningEmulator {
    local_addr: SocketAddr,
    base_url: String,
    app: Arc<App>,
    state: EmulatorState,
    shutdown_tx: watch::Sender<bool>,
    saver_stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    saver: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.base_url)
            .field("config", &self.app.config)
            .finish()
    }
}

impl RunningEmulator {
    /// The SCIM base URL, e.g. `http://127.0.0.1:41234/scim/v2`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The base URL of Productboard's REST API as emulated, e.g. `http://127.0.0.1:41234`:
    /// the member list is `GET {api_url}/members`.
    pub fn api_url(&self) -> String {
        self.base_url.strip_suffix(BASE_PATH).unwrap_or(&self.base_url).to_owned()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every request answered (or dropped) so far, in the order they finished.
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

    /// Stops accepting, lets open requests finish, then writes the state file (if
    /// configured) so that a restart loses nothing.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            server.await?;
        }
        let _ = self.saver_stop.send(true);
        if let Some(saver) = self.saver.take() {
            saver.await?;
        }
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.persist(true)).await??;
        tracing::info!(base_url = %self.base_url, "emulator stopped");
        Ok(())
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        // Without shutdown(): stop the tasks; the writer still saves what is pending.
        let _ = self.shutdown_tx.send(true);
        if self.saver.is_some() {
            let state = self.state.clone();
            let _ = self.saver_stop.send(true);
            // The writer task may not run again if the runtime is going away: save here too.
            if let Err(error) = state.persist(false) {
                tracing::error!(error = %error_chain(&error), "emulator cannot save its state");
            }
        }
    }
}
