//! Data-driven multi-target plan tests: each folder under `tests/multi-cases/` holds
//! `desired.yaml` (a desired-state file with `targets:`, read by `roster_spec::load`),
//! `live/<target>.json` (a `LiveState`) for each target to plan (a target without a live
//! file is not planned, as with `--target`), and optionally `options.json`
//! (`{"allowDeactivations": ["N", "TARGET=N"], "allowRemovals": ["TARGET=N"],
//! "allowPaidSeats": ["TARGET=N"], "asOf": "YYYY-MM-DD"}`), next to snapshots of the
//! multi-target plan as text, Markdown and JSON. Adding a case is adding a folder.
//!
//! Beyond the snapshots, every case checks that planning is deterministic, that the JSON
//! reads back, that a saved multi-target plan verifies and reproduces, and that a plan
//! that may be applied converges in every target.

mod support;

use std::path::{Path, PathBuf};

use roster_model::LiveState;
use roster_plan::{MultiOverrides, MultiPlan, PlanOptions, SavedMultiPlan, TargetInput};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaseOptions {
    #[serde(default)]
    allow_deactivations: Vec<String>,
    #[serde(default)]
    allow_removals: Vec<String>,
    #[serde(default)]
    allow_paid_seats: Vec<String>,
    as_of: Option<roster_model::Date>,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn check(dir: &Path) {
    let desired = support::load_desired(&dir.join("desired.yaml"));
    assert!(desired.is_multi_target(), "{}: the file has no targets", dir.display());
    let mut lives: Vec<(String, LiveState)> = std::fs::read_dir(dir.join("live"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let live =
                serde_json::from_str(&read(&path)).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (name, live)
        })
        .collect();
    lives.sort_by(|a, b| a.0.cmp(&b.0));
    let case_options: CaseOptions = match std::fs::read_to_string(dir.join("options.json")) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}/options.json: {err}", dir.display()))
        }
        Err(_) => CaseOptions::default(),
    };
    let names: Vec<&str> = desired.targets.iter().map(|t| t.name.as_str()).collect();
    let overrides = MultiOverrides::parse(
        &case_options.allow_deactivations,
        &case_options.allow_removals,
        &case_options.allow_paid_seats,
        &names,
    )
    .unwrap();
    let options = PlanOptions { as_of: case_options.as_of, ..PlanOptions::default() };
    let inputs = |lives: &[(String, LiveState)]| -> Vec<(String, LiveState)> { lives.to_vec() };
    let plan_with = |lives: &[(String, LiveState)]| -> MultiPlan {
        let inputs: Vec<TargetInput<'_>> = lives
            .iter()
            .map(|(target, live)| TargetInput { target, live, options: options.clone() })
            .collect();
        roster_plan::plan_targets(&desired, &inputs, &overrides)
    };
    let multi = plan_with(&lives);
    let mut json = Vec::new();
    roster_render::render_multi_json(&multi, &mut json).unwrap();
    let json = String::from_utf8(json).unwrap();

    // Deterministic: another order of targets and of each live state gives the same.
    let mut shuffled = inputs(&lives);
    shuffled.reverse();
    for (_, live) in &mut shuffled {
        live.users.reverse();
        live.groups.reverse();
    }
    let mut again = Vec::new();
    roster_render::render_multi_json(&plan_with(&shuffled), &mut again).unwrap();
    assert_eq!(json, String::from_utf8(again).unwrap(), "the order of the inputs changed the plan");
    let read_back: MultiPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(read_back, multi, "the JSON plan does not read back");

    // A saved plan verifies when it may be applied, and reproduces against the same services.
    let saved = SavedMultiPlan::new(multi.clone(), &desired);
    let saved: SavedMultiPlan = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
    assert_eq!(saved.verify().is_ok(), !multi.is_blocked(), "{:?}", saved.verify());
    let replan_inputs: Vec<TargetInput<'_>> =
        lives.iter().map(|(target, live)| TargetInput { target, live, options: options.clone() }).collect();
    saved.check_against(&saved.replan(&replan_inputs, &overrides)).unwrap();

    if !multi.is_blocked() {
        let mut after = lives.clone();
        for (target, live) in &mut after {
            multi.target(target).unwrap().apply_to(live);
        }
        let replanned = plan_with(&after);
        assert!(
            replanned.is_empty(),
            "applying the plan and planning again gives operations: {replanned:#?}"
        );
    }

    let contexts = roster_render::MultiContext::of(&desired, None, None);
    let mut text = Vec::new();
    roster_render::render_multi_text(&multi, &mut text, &roster_render::TextOptions::default(), &contexts)
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    let mut markdown = Vec::new();
    roster_render::render_multi_markdown(&multi, &mut markdown, &contexts).unwrap();
    let markdown = String::from_utf8(markdown).unwrap();
    insta::with_settings!({
        snapshot_path => dir,
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("multi-target case {}", dir.file_name().unwrap().to_string_lossy()),
    }, {
        insta::assert_snapshot!("plan.txt", text);
        insta::assert_snapshot!("plan.md", markdown);
        insta::assert_snapshot!("plan.json", json);
    });
}

fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/multi-cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("desired.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn multi_target_cases() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 10, "expected at least 10 cases, found {}", dirs.len());
    let mut failed = Vec::new();
    for dir in &dirs {
        if std::panic::catch_unwind(|| check(dir)).is_err() {
            failed.push(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "failing cases: {}", failed.join(", "));
}
