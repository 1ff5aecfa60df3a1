//! `roster emulator`: a local SCIM server with Productboard's rules.

use std::time::Duration;

use roster_emulator::{Emulator, EmulatorConfig, Misbehaviour, RateHeaders};

use crate::cli::{EmulatorArgs, Misbehave, RateHeadersArg};
use crate::commands::Ui;
use crate::failure::{CommandResult, Exit, Failure};

/// Serves until Ctrl-C or SIGTERM; prints the base URL as the first line on stdout once
/// it accepts connections.
pub async fn run(args: &EmulatorArgs, ui: &Ui) -> CommandResult {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(Failure::error(format!("--fault-rate {} is not between 0 and 1", args.fault_rate)));
    }
    let config = EmulatorConfig {
        token: args.token.clone().filter(|t| !t.is_empty()),
        api_token: args.api_token.clone().filter(|t| !t.is_empty()),
        scim_token_on_rest: args.scim_token_on_rest,
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: args.rate_limit.map(|(count, _)| count),
        rate_limit_window: args.rate_limit.map_or(Duration::from_secs(1), |(_, window)| window),
        rate_headers: match args.rate_headers {
            RateHeadersArg::XRatelimit => RateHeaders::XRateLimit,
            RateHeadersArg::Ietf => RateHeaders::Ietf,
            RateHeadersArg::None => RateHeaders::None,
        },
        fault_rate: args.fault_rate,
        seed: args.seed,
        state_file: args.state.clone(),
        misbehaviour: misbehaviour(&args.misbehave),
        ..EmulatorConfig::default()
    };
    let what = format!("cannot start the emulator on {}", args.listen);
    let running = if args.targets.is_empty() {
        Emulator::start(args.listen, config).await
    } else {
        Emulator::start_targets(args.listen, target_configs(args, &config)?).await
    }
    .map_err(|err| Failure::from_error(&what, &err))?;
    // The first lines on stdout are the base URLs, one per target in the order given,
    // once connections are accepted: what scripts wait for.
    for target in running.targets() {
        println!("{}", target.base_url());
    }
    ui.status("emulator ready; Ctrl-C stops it");
    shutdown_signal().await;
    running.shutdown().await.map_err(|err| Failure::from_error("the emulator did not stop cleanly", &err))?;
    ui.status("emulator stopped");
    Ok(Exit::Success)
}

/// One configuration per `--target`: the shared knobs, the target's own token
/// (`ROSTER_EMULATOR_TOKEN_NAME`, else `--token`) and state file (`DIR/NAME.json`).
fn target_configs(
    args: &EmulatorArgs,
    shared: &EmulatorConfig,
) -> Result<Vec<(String, EmulatorConfig)>, Failure> {
    if let Some(dir) = &args.state {
        std::fs::create_dir_all(dir).map_err(|err| {
            Failure::from_error(
                &format!("cannot use {} as the directory of the targets' states", dir.display()),
                &err,
            )
        })?;
    }
    Ok(args
        .targets
        .iter()
        .map(|name| {
            let variable = format!("ROSTER_EMULATOR_TOKEN_{}", name.to_ascii_uppercase().replace('-', "_"));
            let token =
                std::env::var(&variable).ok().filter(|t| !t.is_empty()).or_else(|| shared.token.clone());
            let state_file = args.state.as_ref().map(|dir| dir.join(format!("{name}.json")));
            (name.clone(), EmulatorConfig { token, state_file, ..shared.clone() })
        })
        .collect())
}

/// The emulator's misbehaviour switches from the command line.
pub fn misbehaviour(switches: &[Misbehave]) -> Misbehaviour {
    let mut m = Misbehaviour::default();
    for switch in switches {
        match switch {
            Misbehave::IgnoreCount => m.fixed_page_size = Some(7),
            Misbehave::CapPagesAt50 => m.page_size_cap = Some(50),
            Misbehave::RepeatFirstPage => m.repeat_first_page_past_end = true,
            Misbehave::WrongTotal => m.total_results_is_page_size = true,
            Misbehave::DriftingTotal => m.drifting_total_results = true,
            Misbehave::UnstableOrder => m.unstable_order = true,
            Misbehave::ConflictWithoutScimType => m.conflict_without_scim_type = true,
            Misbehave::NumericStatus => m.numeric_status = true,
            Misbehave::DropPostResponses => m.drop_response_after_post = true,
            Misbehave::ThrottleAs500 => m.throttle_as_500 = true,
            Misbehave::NoRetryAfter => m.omit_retry_after = true,
            Misbehave::IgnoreUnknownAttributes => m.ignore_unknown_attributes = true,
            Misbehave::PutIgnoresMembers => m.put_ignores_members = true,
            Misbehave::RequireNameFormatted => m.require_name_formatted = true,
            Misbehave::RequireMemberRef => m.require_member_ref = true,
            Misbehave::PatchUnsupported => m.patch_unsupported = true,
            Misbehave::RemoveByValueWipesAll => m.remove_by_value_wipes_all = true,
            Misbehave::NoSchemas => m.no_schemas = true,
            Misbehave::RepeatMemberCursor => m.repeat_member_cursor = true,
            Misbehave::EndlessMemberCursor => m.endless_member_cursor = true,
            Misbehave::IgnoreMemberCursor => m.ignore_member_cursor = true,
            Misbehave::AllowDuplicateGroupNames => m.allow_duplicate_group_names = true,
        }
    }
    m
}

/// Waits for Ctrl-C or, on Unix, SIGTERM (how CI and process managers stop servers).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
