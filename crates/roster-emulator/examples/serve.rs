//! Serves the emulator until Ctrl-C: `cargo run -p roster-emulator --example serve -- [ADDR] [STATE_FILE]`.
//!
//! Prints the SCIM base URL as the first line on stdout once it accepts connections.
//! The bearer token, if any, comes from `ROSTER_EMULATOR_TOKEN` (never from argv).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use roster_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:0").parse()?;
    let config = EmulatorConfig {
        token: std::env::var("ROSTER_EMULATOR_TOKEN").ok().filter(|t| !t.is_empty()),
        state_file: args.next().map(PathBuf::from),
        ..EmulatorConfig::default()
    };
    let running = Emulator::start(listen, config).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.base_url())?;
    stdout.flush()?;
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    running.shutdown().await?;
    Ok(())
}
