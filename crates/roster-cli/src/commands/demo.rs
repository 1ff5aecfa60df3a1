//! `roster demo`: the whole loop against an embedded emulator, one step at a time:
//! validate the example file, plan against a seeded workspace, apply, plan again.

use std::net::SocketAddr;
use std::path::PathBuf;

use roster_apply::ApplyOptions;
use roster_client::{ClientConfig, ReadClient, Token, WriteClient};
use roster_emulator::{Emulator, EmulatorConfig};
use roster_model::LiveState;
use roster_plan::PlanOptions;

use crate::cli::{DemoArgs, PlanFormat};
use crate::commands::plan::{client_failure, fetch, print_plan, render_context};
use crate::commands::{Ui, validate};
use crate::failure::{CommandResult, Exit, Failure};
use crate::output::count;

/// The workspace the demo starts from: Lumen Labs before roster, a little out of date.
const SEED: &str = include_str!("../demo/live.json");
/// The example file, for when roster runs outside a checkout that has `examples/`.
const EXAMPLE: &str = include_str!("../../../../examples/users.yaml");

/// Runs the demo; exits 0 when the second plan is empty.
pub async fn run(args: &DemoArgs, ui: &Ui) -> CommandResult {
    heading(ui, "1. validate the desired state");
    // The demo names the example file itself: read as a directory, `examples/` would warn
    // about its own subfolders of CI files and invalid examples, which are no users.
    let example_file = args.examples.join("users.yaml");
    let (desired, files) = if args.examples.is_dir() {
        let files = vec![if example_file.is_file() { example_file } else { args.examples.clone() }];
        (validate::load(&files, ui)?, files)
    } else {
        tracing::info!("{} not found; using the example file built into roster", args.examples.display());
        let source = roster_spec::SourceFile { name: "examples/users.yaml".into(), text: EXAMPLE.into() };
        let desired = roster_spec::load(&[source]).map_err(|d| {
            Failure::error(format!("the built-in example does not validate:\n{}", d.render(false)))
        })?;
        (desired, vec![PathBuf::from("examples/users.yaml")])
    };
    eprintln!(
        "{}: valid: {}, {}",
        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
        count(desired.users.len(), "user"),
        count(desired.groups.len(), "group")
    );

    heading(ui, "2. start the emulator, seeded with the workspace as it is today");
    let token = demo_token();
    let config = EmulatorConfig { token: Some(token.clone()), ..EmulatorConfig::default() };
    let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .map_err(|err| Failure::from_error("cannot start the emulator", &err))?;
    let seed: LiveState =
        serde_json::from_str(SEED).map_err(|err| Failure::from_error("bad demo seed", &err))?;
    emulator
        .state()
        .load_live_state(&seed)
        .map_err(|err| Failure::from_error("cannot seed the emulator", &err))?;
    eprintln!(
        "{} serves {} and {}",
        emulator.base_url(),
        count(seed.users.len(), "user"),
        count(seed.groups.len(), "group")
    );

    let mut client_config = ClientConfig::new(emulator.base_url(), desired.provider);
    client_config.token = Some(Token::new(token));
    let client =
        WriteClient::new(client_config).map_err(|err| client_failure("cannot set up the client", &err))?;

    heading(ui, "3. plan: what applying the file would change");
    let live = fetch(client.reader(), ui).await?;
    let options =
        PlanOptions { capabilities: client.reader().capabilities().await.clone(), ..PlanOptions::default() };
    let plan = roster_plan::plan(&desired, &live, &options);
    print_plan(&plan, PlanFormat::Text, &render_context(desired.provider, client.reader(), None), ui)?;
    if plan.is_blocked() {
        return Err(Failure::error("the demo plan is blocked; this is a bug in the demo"));
    }

    heading(ui, "4. apply");
    let report = roster_apply::apply(&plan, &client, &ApplyOptions::default(), None, |op| {
        eprintln!("  {:?}: {}", op.outcome, op.description);
    })
    .await;
    eprintln!(
        "{} done, {} failed, {} skipped, in {}",
        report.summary.done + report.summary.adopted,
        report.summary.failed,
        report.summary.skipped,
        count(report.summary.requests as usize, "request")
    );

    heading(ui, "5. plan again: nothing left to do");
    let replan = plan_again(client.reader(), &desired, ui).await?;
    let log = emulator.request_log();
    let user_deletes = log.iter().filter(|r| r.method == "DELETE" && r.path.contains("/Users")).count();
    emulator
        .shutdown()
        .await
        .map_err(|err| Failure::from_error("the emulator did not stop cleanly", &err))?;
    eprintln!("the emulator served {}, {user_deletes} of them a user DELETE", count(log.len(), "request"));
    if !report.summary.is_complete() || !replan {
        return Err(Failure::error("the demo did not converge"));
    }
    eprintln!("\nconverged: the workspace now matches {}", files[0].display());
    Ok(Exit::Success)
}

async fn plan_again(
    client: &ReadClient,
    desired: &roster_model::DesiredState,
    ui: &Ui,
) -> Result<bool, Failure> {
    let live = fetch(client, ui).await?;
    let options = PlanOptions { capabilities: client.capabilities().await.clone(), ..PlanOptions::default() };
    let plan = roster_plan::plan(desired, &live, &options);
    print_plan(&plan, PlanFormat::Text, &render_context(desired.provider, client, None), ui)?;
    Ok(plan.is_empty())
}

fn heading(ui: &Ui, text: &str) {
    if ui.stderr_color {
        eprintln!("\n\x1b[1m== {text}\x1b[0m");
    } else {
        eprintln!("\n== {text}");
    }
}

/// A token for this run only, so that the demo exercises authentication too.
fn demo_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    format!("demo-{:016x}", hasher.finish())
}
