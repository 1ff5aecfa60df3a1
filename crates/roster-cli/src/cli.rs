//! The command line, as clap types. DESIGN.md's "CLI contract" is the source of truth.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep the users and groups of a SCIM 2.0 service in a YAML file in git.
#[derive(Debug, Parser)]
#[command(name = "roster", version = env!("ROSTER_VERSION_LINE"), about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output on stderr (-v: debug, -vv: trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The format of log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// When to colour output; `NO_COLOR` set to anything turns `auto` off.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate desired-state files; no network.
    Validate(FilesArgs),
    /// Fetch the live state and show what would change.
    Plan(PlanArgs),
    /// Make the live state match the files.
    Apply(ApplyArgs),
    /// Write a users.yaml from the live state.
    Import(ImportArgs),
    /// Check the connection to the SCIM service and explain what is wrong.
    Doctor(ConnectionArgs),
    /// Run a local SCIM server with Productboard's rules.
    Emulator(EmulatorArgs),
    /// Validate, plan, apply and re-plan examples/ against an embedded emulator.
    Demo(DemoArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

/// Desired-state files.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Files or directories of `*.yaml`; they merge into one desired state.
    #[arg(default_value = "users.yaml")]
    pub files: Vec<PathBuf>,
}

/// How to reach the SCIM service.
#[derive(Debug, Args, Clone)]
pub struct ConnectionArgs {
    /// The SCIM base URL, e.g. https://api.productboard.com/scim/v2.
    #[arg(long, env = "ROSTER_SCIM_URL")]
    pub url: Option<String>,
    /// A file holding the bearer token; otherwise `ROSTER_SCIM_TOKEN` is read.
    /// The token is never taken from the command line.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// A cap on requests per second sent by roster (at least 0.1).
    #[arg(long, value_parser = parse_rate)]
    pub max_rps: Option<f64>,
}

/// `roster plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The desired state.
    #[command(flatten)]
    pub files: FilesArgs,
    /// The service.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Save the plan, the desired state and a fingerprint of the live state.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Allow exactly this many deactivations past the `max_deactivations` rail.
    #[arg(long, value_name = "N")]
    pub allow_deactivations: Option<u64>,
}

/// How to print a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A diff for people.
    Text,
    /// A pull-request comment.
    Markdown,
    /// Versioned JSON (schemas/plan.schema.json).
    Json,
}

/// `roster apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The desired state (ignored with --plan, which carries its own).
    #[command(flatten)]
    pub files: FilesArgs,
    /// The service.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Apply a plan saved by `roster plan --out`, refusing it if the service changed.
    /// The plan carries its own desired state and override, so FILES and
    /// `--allow-deactivations` cannot be given with it.
    #[arg(long, conflicts_with_all = ["files", "allow_deactivations"])]
    pub plan: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// Write every operation with its request, status, attempts and outcome as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Allow exactly this many deactivations past the `max_deactivations` rail.
    #[arg(long, value_name = "N")]
    pub allow_deactivations: Option<u64>,
}

/// `roster import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The service.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Where to write the file; stdout when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists (by default an existing file is kept).
    #[arg(long, requires = "out")]
    pub force: bool,
    /// The provider to write into the file.
    #[arg(long, value_enum, default_value_t = ProviderArg::Productboard)]
    pub provider: ProviderArg,
}

/// A provider name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Productboard.
    Productboard,
    /// Any SCIM 2.0 service.
    Generic,
}

impl From<ProviderArg> for roster_model::Provider {
    fn from(value: ProviderArg) -> Self {
        match value {
            ProviderArg::Productboard => roster_model::Provider::Productboard,
            ProviderArg::Generic => roster_model::Provider::Generic,
        }
    }
}

/// `roster emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Load the state from this JSON file and write it back on every change.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Require this bearer token (otherwise `ROSTER_EMULATOR_TOKEN`, else none).
    #[arg(long, env = "ROSTER_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Delay every answer by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer 429 beyond this many requests per second.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// The share of requests that fail with a 500 or a dropped connection, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Seed of the fault injection, for reproducible runs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Misbehave the way some real SCIM servers do (repeatable), for testing clients.
    #[arg(long, value_enum, value_name = "HOW")]
    pub misbehave: Vec<Misbehave>,
}

/// Misbehaviour of real SCIM servers that the emulator can imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Misbehave {
    /// Ignore `count` and serve pages of 7.
    IgnoreCount,
    /// Serve at most 50 per page (as AWS does).
    CapPagesAt50,
    /// Past the end of a list, answer the first page again.
    RepeatFirstPage,
    /// Report `totalResults` equal to the page size.
    WrongTotal,
    /// Report a `totalResults` that changes during a fetch.
    DriftingTotal,
    /// No stable order between requests.
    UnstableOrder,
    /// Answer 409 without `scimType`.
    ConflictWithoutScimType,
    /// Send error `status` as a number.
    NumericStatus,
    /// Drop the connection after a POST has created its resource.
    DropPostResponses,
    /// Answer throttled requests with 500 instead of 429.
    ThrottleAs500,
    /// Answer 429 without `Retry-After`.
    NoRetryAfter,
}

/// `roster demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder of example files to apply.
    #[arg(long, default_value = "examples")]
    pub examples: PathBuf,
}

/// `roster completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// A request rate: a finite number of at least 0.1 per second (slower would stall).
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.1 => Ok(rate),
        _ => Err(format!("`{text}` is not a rate of at least 0.1 requests per second")),
    }
}
