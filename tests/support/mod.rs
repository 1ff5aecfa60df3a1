//! Helpers for the end-to-end tests: an emulator in this process, the `roster` binary
//! in a child process, and checks on what the emulator was asked.

#![allow(dead_code, reason = "each test binary uses a different part of these helpers")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use roster_emulator::{Emulator, EmulatorConfig, LoggedRequest, RunningEmulator};
use roster_model::LiveState;

/// The token every test emulator requires.
pub const TOKEN: &str = "e2e-secret-token-7f3a9c";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// An emulator on a free loopback port, on its own runtime so that the test thread can
/// block on child processes while it serves.
pub struct Server {
    pub runtime: tokio::runtime::Runtime,
    pub emulator: Option<RunningEmulator>,
    /// The bearer token it requires.
    pub token: String,
}

impl Server {
    /// Starts an emulator with the test token and `config`'s other knobs.
    pub fn start(config: EmulatorConfig) -> Server {
        Server::start_with_token(config, TOKEN)
    }

    /// Starts an emulator that requires `token` (several emulators, each its own token).
    pub fn start_with_token(config: EmulatorConfig, token: &str) -> Server {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let config = EmulatorConfig { token: Some(token.to_owned()), ..config };
        let emulator = runtime
            .block_on(Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config))
            .expect("emulator starts");
        Server { runtime, emulator: Some(emulator), token: token.to_owned() }
    }

    /// Starts an emulator seeded with a live state.
    pub fn seeded(config: EmulatorConfig, live: &LiveState) -> Server {
        let server = Server::start(config);
        server.emulator().state().load_live_state(live).expect("seed loads");
        server
    }

    pub fn emulator(&self) -> &RunningEmulator {
        self.emulator.as_ref().expect("running")
    }

    pub fn url(&self) -> String {
        self.emulator().base_url()
    }

    pub fn log(&self) -> Vec<LoggedRequest> {
        self.emulator().request_log()
    }

    /// Requests that could have changed something.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.log().into_iter().filter(|r| r.method != "GET").collect()
    }

    /// Fails the test if anyone ever sent a user DELETE.
    pub fn assert_no_user_delete(&self) {
        let deletes: Vec<_> =
            self.log().into_iter().filter(|r| r.method == "DELETE" && r.path.contains("/Users")).collect();
        assert!(deletes.is_empty(), "user DELETE sent: {deletes:?}");
    }

    /// The live state as roster's client would see it.
    pub fn live(&self) -> LiveState {
        let mut config = roster_client::ClientConfig::new(self.url(), roster_model::Provider::Productboard);
        config.token = Some(roster_client::Token::new(self.token.as_str()));
        let client = roster_client::ReadClient::new(config).unwrap();
        self.runtime.block_on(client.fetch_live()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            let _ = self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// The `roster` binary with the connection set for `server` and no terminal.
pub fn roster(server: Option<&Server>, dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command.current_dir(dir).stdin(Stdio::null()).env_remove("GITHUB_ACTIONS").env("NO_COLOR", "1");
    command.env_remove("ROSTER_SCIM_URL").env_remove("ROSTER_SCIM_TOKEN").env_remove("RUST_LOG");
    command.env_remove("ROSTER_API_URL").env_remove("ROSTER_API_TOKEN");
    if let Some(server) = server {
        command.env("ROSTER_SCIM_URL", server.url()).env("ROSTER_SCIM_TOKEN", TOKEN);
    }
    command
}

/// Runs a command and returns its exit code, stdout and stderr.
pub fn run(command: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = command.output().expect("roster runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The live state the demo starts from (Lumen Labs before roster).
pub fn demo_seed() -> LiveState {
    let text = std::fs::read_to_string(root().join("crates/roster-cli/src/demo/live.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A temporary folder holding `examples/users.yaml` as `users.yaml`.
pub fn workdir_with_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("examples/users.yaml"), dir.path().join("users.yaml")).unwrap();
    dir
}
