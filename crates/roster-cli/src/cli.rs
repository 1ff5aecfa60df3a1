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
    Doctor(DoctorArgs),
    /// Cross-check the file and SCIM against Productboard's REST member list (read-only).
    Audit(AuditArgs),
    /// One row per user for an access review (CSV or JSON), with the commit that last
    /// changed each entry; `--live` adds the service's account beside it (read-only).
    Export(ExportArgs),
    /// Run a local SCIM server with Productboard's rules.
    Emulator(EmulatorArgs),
    /// Validate, plan, apply and re-plan examples/ against an embedded emulator.
    Demo(DemoArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print (or write) the JSON Schema of the desired-state file, for editors.
    Schema(SchemaArgs),
}

/// `roster schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Desired-state files.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Files or directories of `*.yaml`; they merge into one desired state.
    #[arg(default_value = "users.yaml")]
    pub files: Vec<PathBuf>,
    /// The day (YYYY-MM-DD, UTC) the files' dates are judged on: `expires`,
    /// `review_after`, `policy.max_access_days`. Default: today in UTC. A saved plan
    /// pins its own day, and `apply --plan` uses it.
    #[arg(long = "as-of", value_name = "YYYY-MM-DD", global = false)]
    pub as_of: Option<roster_model::Date>,
}

impl FilesArgs {
    /// The day dates are judged on: `--as-of`, else today in UTC (the one place the
    /// clock is read for it).
    pub fn as_of_day(&self) -> roster_model::Date {
        self.as_of.unwrap_or_else(today_utc)
    }
}

/// Today in UTC.
pub fn today_utc() -> roster_model::Date {
    roster_model::Date::from_jiff(jiff::tz::Offset::UTC.to_datetime(jiff::Timestamp::now()).date())
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
    /// The most requests in flight at once: roster starts at 4 and adapts within this
    /// ceiling, up while latency is high and the service has headroom, down on 429 and 5xx.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// A cap on requests per second sent by roster (at least 0.1).
    #[arg(long, value_parser = parse_rate)]
    pub max_rps: Option<f64>,
}

/// How to reach Productboard's REST API (for `audit`, and `doctor` when a token is given).
#[derive(Debug, Args, Clone)]
pub struct ApiArgs {
    /// The REST API base URL [default: https://api.productboard.com].
    #[arg(long, env = "ROSTER_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// A file holding the REST API token; otherwise `ROSTER_API_TOKEN` is read.
    /// The token is never taken from the command line.
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
}

/// `roster doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The SCIM service.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The REST API, checked when a REST token is given.
    #[command(flatten)]
    pub api: ApiArgs,
    /// A desired-state file that names `targets`: check every target it names (default:
    /// `users.yaml` here, when it names targets and no --url is given).
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
}

/// `roster audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The desired state.
    #[command(flatten)]
    pub files: FilesArgs,
    /// The SCIM service.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The REST API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 2 when something differs, 0 when the file, SCIM and the REST list agree.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `roster export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The desired state.
    #[command(flatten)]
    pub files: FilesArgs,
    /// The format: CSV (RFC 4180, a header row) or versioned JSON
    /// (schemas/export.schema.json).
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write the export to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also read the service's users through the read-only client: each row gets the
    /// matched account's id, status and role, and accounts absent from the file get rows.
    #[arg(long)]
    pub live: bool,
    /// The service (with --live).
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// How to write an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// CSV: a header row, CRLF records, UTF-8, formulas neutralised.
    Csv,
    /// Versioned JSON.
    Json,
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
    /// The safety rails' overrides.
    #[command(flatten)]
    pub overrides: RailOverrides,
    /// The commit the plan is for, named in the Markdown comment (default: `GITHUB_SHA`,
    /// else `CI_COMMIT_SHA`).
    #[arg(long, value_name = "SHA")]
    pub for_commit: Option<String>,
    /// With `targets:` in the file: run for this target only (repeatable); default all.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
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

/// The overrides of the safety rails, the same for `plan` and `apply`: each lets a plan
/// over its rail through only when the number given is exactly the planned one. With
/// `targets:` in the file, `TARGET=N` is one target's own rail, and a bare `N` of
/// `--allow-deactivations` the cross-target rail (each flag repeatable then).
#[derive(Debug, Args)]
pub struct RailOverrides {
    /// Allow exactly this many deactivations past the `max_deactivations` rail
    /// (with targets: N people across apps, or TARGET=N for one target).
    #[arg(long, value_name = "N")]
    pub allow_deactivations: Vec<String>,
    /// Allow exactly this many member removals and group deletions past the
    /// `max_removals` rail (with targets: TARGET=N).
    #[arg(long, value_name = "N")]
    pub allow_removals: Vec<String>,
    /// Allow a plan past the `max_paid_seats` rail when it leaves exactly this many
    /// paid seats (with targets: TARGET=N).
    #[arg(long, value_name = "N")]
    pub allow_paid_seats: Vec<String>,
}

impl RailOverrides {
    /// The overrides of a single-target run: each flag at most once, a whole number.
    pub fn single(&self) -> Result<[Option<u64>; 3], String> {
        let one = |flag: &str, values: &[String]| -> Result<Option<u64>, String> {
            match values {
                [] => Ok(None),
                [value] if value.contains('=') => {
                    Err(format!("{flag} {value}: TARGET=N names a target, and the files name no `targets`"))
                }
                [value] => value
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("{flag} {value:?}: expected a whole number")),
                _ => Err(format!("{flag} is given more than once")),
            }
        };
        Ok([
            one("--allow-deactivations", &self.allow_deactivations)?,
            one("--allow-removals", &self.allow_removals)?,
            one("--allow-paid-seats", &self.allow_paid_seats)?,
        ])
    }
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
    /// Apply a plan saved by `roster plan --out`, refusing it if it was edited, was
    /// blocked when saved, or the service changed. The plan carries its own desired
    /// state, so FILES cannot be given with it; the rails' overrides are never taken
    /// from the file: pass `--allow-deactivations`/`--allow-removals` here again.
    #[arg(long, conflicts_with_all = ["files"])]
    pub plan: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// Write every operation with its request, status, attempts and outcome as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The safety rails' overrides.
    #[command(flatten)]
    pub overrides: RailOverrides,
    /// With `targets:` in the file: run for this target only (repeatable); default all.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
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
    /// Reference this published copy of the schema (a URL) on the file's first line and
    /// write no schema file. By default import writes `roster.schema.json` for this
    /// version beside the --out file and references it by that relative path.
    #[arg(long, value_name = "URL")]
    pub schema_url: Option<String>,
    /// Print only the live users that FILES do not list (the plan's arrivals), as
    /// entries to paste under `users:`; with `--out F --append`, append them to F.
    #[arg(long)]
    pub unmanaged: bool,
    /// The desired-state files whose absent users `--unmanaged` lists, or that
    /// `--target` merges into.
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Import this target's live users into FILES (a file that names `targets`): users
    /// already there get the app in `apps`, new ones are added with `apps: [NAME]`; the
    /// merged file goes to --out, or stdout.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["unmanaged", "append"])]
    pub target: Option<String>,
    /// With `--unmanaged --out F`: append the entries to F (which must end with its
    /// `users` list, or not exist yet) instead of refusing an existing file.
    #[arg(long, requires_all = ["unmanaged", "out"])]
    pub append: bool,
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
    /// Load the state from this JSON file and write it back on every change. With
    /// `--target`, a directory holding one `NAME.json` per target.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Serve several SCIM services (targets) at once, each at `/NAME/scim/v2` with its own
    /// users, teams and state (repeatable). A target's token is
    /// `ROSTER_EMULATOR_TOKEN_NAME` (upper case, `-` as `_`) where set, else `--token`.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// Require this bearer token (otherwise `ROSTER_EMULATOR_TOKEN`, else none).
    #[arg(long, env = "ROSTER_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Require this bearer token on the REST member list, `GET /members`
    /// (otherwise `ROSTER_EMULATOR_API_TOKEN`, else none).
    #[arg(long, env = "ROSTER_EMULATOR_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Let the SCIM token open the REST member list too, as a token with REST rights does.
    #[arg(long)]
    pub scim_token_on_rest: bool,
    /// Delay every answer by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer 429 beyond this rate: `N/s`, `N/min` (Productboard: 1000/min), or a bare
    /// number of requests per second. Bursts of up to one second's (minute's) worth pass.
    #[arg(long, value_parser = parse_rate_limit, value_name = "RATE")]
    pub rate_limit: Option<(u32, std::time::Duration)>,
    /// How answers report the rate limit: `X-RateLimit-*` headers, the IETF draft's
    /// `RateLimit`/`RateLimit-Policy`, or nothing but `Retry-After` on a 429.
    #[arg(long, value_enum, default_value_t = RateHeadersArg::XRatelimit, value_name = "STYLE")]
    pub rate_headers: RateHeadersArg,
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
    /// Keep only declared user attributes (the schema then lacks `title`); drop the rest
    /// of a write and answer 2xx.
    IgnoreUnknownAttributes,
    /// Answer a group PUT with 200 but keep its old members.
    PutIgnoresMembers,
    /// Require `name.formatted` on user POST and PUT.
    RequireNameFormatted,
    /// Require `members.$ref` on group members.
    RequireMemberRef,
    /// Answer PATCH with 501 while `/ServiceProviderConfig` says it is supported.
    PatchUnsupported,
    /// A `remove` of `members` with a value list empties the group.
    RemoveByValueWipesAll,
    /// `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` answer 404.
    NoSchemas,
    /// REST member list: answer a cursor with the same cursor again.
    RepeatMemberCursor,
    /// REST member list: a next cursor on every page, past the end too.
    EndlessMemberCursor,
    /// REST member list: ignore the cursor and serve the first page again.
    IgnoreMemberCursor,
    /// Accept a team whose name another team has (two racing applies can both create it).
    AllowDuplicateGroupNames,
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

/// The emulator's rate-limit header styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateHeadersArg {
    /// `X-RateLimit-Limit/Remaining/Reset` (a Unix time), `Retry-After` with milliseconds.
    XRatelimit,
    /// `RateLimit` and `RateLimit-Policy` (IETF draft), `Retry-After` in whole seconds.
    Ietf,
    /// Only `Retry-After` on a 429, in whole seconds.
    None,
}

/// `N`, `N/s` or `N/min`: requests and the window they count over.
pub fn parse_rate_limit(text: &str) -> Result<(u32, std::time::Duration), String> {
    let (count, per) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
    let window = match per.trim() {
        "s" | "sec" | "second" => std::time::Duration::from_secs(1),
        "min" | "m" | "minute" => std::time::Duration::from_secs(60),
        other => return Err(format!("`{other}` is not a window: use N/s or N/min, e.g. 1000/min")),
    };
    match count.trim().parse::<u32>() {
        Ok(count) if count > 0 => Ok((count, window)),
        _ => Err(format!(
            "`{count}` is not a positive whole number of requests: use N/s or N/min, e.g. 1000/min"
        )),
    }
}

/// A request rate: a finite number of at least 0.1 per second (slower would stall).
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.1 => Ok(rate),
        _ => Err(format!("`{text}` is not a rate of at least 0.1 requests per second")),
    }
}

#[cfg(test)]
mod rate_limit_tests {
    use std::time::Duration;

    use super::parse_rate_limit;

    #[test]
    fn rate_limits_per_second_or_per_minute() {
        assert_eq!(parse_rate_limit("50"), Ok((50, Duration::from_secs(1))));
        assert_eq!(parse_rate_limit("50/s"), Ok((50, Duration::from_secs(1))));
        assert_eq!(parse_rate_limit("1000/min"), Ok((1000, Duration::from_secs(60))));
        assert_eq!(parse_rate_limit(" 1000 / min "), Ok((1000, Duration::from_secs(60))));
        for bad in ["0", "-3/s", "1000/hour", "lots/min", "1.5/s", ""] {
            let err = parse_rate_limit(bad).unwrap_err();
            assert!(err.contains("N/s or N/min"), "{bad}: {err}");
        }
    }
}
