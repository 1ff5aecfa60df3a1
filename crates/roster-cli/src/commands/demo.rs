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
        (validate::load(&files, crate::cli::today_utc(), ui)?, files)
    } else {
        tracing::info!("{} not found; using the example file built into roster", args.examples.display());
        let source = roster_spec::SourceFile { name: "examples/users.yaml".into(), text: EXAMPLE.into() };
        let desired = roster_spec::load_as_of(&[source], Some(crate::cli::today_utc())).map_err(|d| {
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
    let options = PlanOptions {
        capabilities: client.reader().capabilities().await.clone(),
        as_of: Some(crate::cli::today_utc()),
        ..PlanOptions::default()
    };
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
    two_apps(&args.examples, ui).await
}

/// The two-app example, for when roster runs outside a checkout that has `examples/`.
const TWO_APPS: &str = include_str!("../../../../examples/two-apps/users.yaml");

/// Who works where before the two-app file is applied: Sam has left, but still has an
/// account in both apps.
fn two_apps_seed(with_grace: bool) -> LiveState {
    let user = |id: &str, user_name: &str, role: Option<&str>| roster_model::LiveUser {
        id: id.into(),
        attributes: roster_model::UserAttributes {
            user_name: user_name.into(),
            display_name: Some(display_name(user_name)),
            role: role.map(str::to_owned),
            active: true,
            ..roster_model::UserAttributes::default()
        },
        // Accounts from long before the file: none of them is a new arrival.
        created: Some("2025-03-03T09:00:00Z".to_owned()),
    };
    let mut users = vec![
        user("u-maya", "maya.okafor@lumenlabs.example", Some("admin")),
        user("u-lukas", "lukas.brandt@lumenlabs.example", Some("maker")),
        user("u-sam", "sam.wilde@lumenlabs.example", Some("maker")),
    ];
    if with_grace {
        users.push(user("u-grace", "grace.kim@lumenlabs.example", Some("contributor")));
    }
    LiveState { users, ..LiveState::default() }
}

/// "Maya Okafor" from "maya.okafor@lumenlabs.example", as the example file writes it.
fn display_name(user_name: &str) -> String {
    let local = user_name.split('@').next().unwrap_or_default();
    local
        .split('.')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The second part of the demo: one file, two SCIM apps (Productboard and a generic
/// one), each served by its own embedded emulator; Sam's line is gone from the file, and
/// one plan deactivates Sam in both.
async fn two_apps(examples: &std::path::Path, ui: &Ui) -> CommandResult {
    heading(ui, "6. two apps in one file: Sam's line is gone, so Sam loses both");
    let path = examples.join("two-apps/users.yaml");
    let source = match std::fs::read_to_string(&path) {
        Ok(text) => roster_spec::SourceFile { name: path.display().to_string(), text },
        Err(_) => {
            roster_spec::SourceFile { name: "examples/two-apps/users.yaml".into(), text: TWO_APPS.into() }
        }
    };
    let mut desired = roster_spec::load_as_of(std::slice::from_ref(&source), Some(crate::cli::today_utc()))
        .map_err(|d| {
        Failure::error(format!("the two-app example does not validate:\n{}", d.render(false)))
    })?;
    let mut emulators = Vec::new();
    let mut clients = Vec::new();
    for target in &mut desired.targets {
        let token = demo_token();
        let config = EmulatorConfig { token: Some(token.clone()), ..EmulatorConfig::default() };
        let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .map_err(|err| Failure::from_error("cannot start the emulator", &err))?;
        let seed = two_apps_seed(target.provider == roster_model::Provider::Productboard);
        emulator
            .state()
            .load_live_state(&seed)
            .map_err(|err| Failure::from_error("cannot seed the emulator", &err))?;
        eprintln!(
            "{}: {} ({}) serves {}",
            target.name,
            emulator.base_url(),
            target.provider.as_str(),
            count(seed.users.len(), "user")
        );
        // The file's URL is the real service's; the demo points the target at its emulator.
        target.url = emulator.base_url();
        let mut client_config = ClientConfig::new(emulator.base_url(), target.provider);
        client_config.token = Some(Token::new(token));
        clients.push(
            WriteClient::new(client_config)
                .map_err(|err| client_failure("cannot set up the client", &err))?,
        );
        emulators.push(emulator);
    }
    let names: Vec<String> = desired.targets.iter().map(|t| t.name.to_string()).collect();
    let mut converged = true;
    for round in ["plan", "plan again"] {
        if round == "plan again" {
            heading(ui, "8. plan again: both apps match the file");
        }
        let settings = crate::commands::target::PlanSettings {
            allow_deactivations: None,
            allow_removals: None,
            allow_paid_seats: None,
            as_of: crate::cli::today_utc(),
            files_changed_at: None,
        };
        let mut fetched = Vec::new();
        for (name, client) in names.iter().zip(&clients) {
            let ui = ui.for_target(name);
            fetched.push(crate::commands::target::fetch_one(client.reader(), &settings, &ui).await?);
        }
        let inputs: Vec<roster_plan::TargetInput<'_>> = names
            .iter()
            .zip(&fetched)
            .map(|(name, (live, options))| roster_plan::TargetInput {
                target: name.as_str(),
                live,
                options: options.clone(),
            })
            .collect();
        let multi = roster_plan::plan_targets(&desired, &inputs, &roster_plan::MultiOverrides::default());
        crate::commands::multi::print_multi(&multi, &desired, PlanFormat::Text, None, ui)?;
        if multi.is_blocked() {
            return Err(Failure::error("the two-app demo plan is blocked; this is a bug in the demo"));
        }
        if round == "plan again" {
            converged = multi.is_empty();
            break;
        }
        heading(ui, "7. apply both");
        for (name, client) in names.iter().zip(&clients) {
            let Some(plan) = multi.target(name) else { continue };
            let report = roster_apply::apply(plan, client, &ApplyOptions::default(), None, |op| {
                eprintln!("  {name}: {:?}: {}", op.outcome, op.description);
            })
            .await;
            converged &= report.summary.is_complete();
        }
    }
    let mut sam_active = Vec::new();
    for (name, emulator) in names.iter().zip(emulators) {
        let users = emulator.state().users();
        let sam = users.iter().find(|u| u["userName"].as_str().is_some_and(|n| n.starts_with("sam.")));
        if sam.is_some_and(|u| u["active"] != serde_json::Value::Bool(false)) {
            sam_active.push(name.clone());
        }
        emulator
            .shutdown()
            .await
            .map_err(|err| Failure::from_error("the emulator did not stop cleanly", &err))?;
    }
    if !converged || !sam_active.is_empty() {
        return Err(Failure::error("the two-app demo did not converge"));
    }
    eprintln!("\nconverged: Sam is deactivated in {}, by removing one line", names.join(" and "));
    Ok(Exit::Success)
}

async fn plan_again(
    client: &ReadClient,
    desired: &roster_model::DesiredState,
    ui: &Ui,
) -> Result<bool, Failure> {
    let live = fetch(client, ui).await?;
    let options = PlanOptions {
        capabilities: client.capabilities().await.clone(),
        as_of: Some(crate::cli::today_utc()),
        ..PlanOptions::default()
    };
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
