//! Data-driven plan tests: each folder under `tests/cases/` holds `desired.yaml` (a
//! desired-state file, read by `roster_spec::load`), `live.json` (a `LiveState`) and
//! optionally `options.json` (`{"allowDeactivations": N, "allowRemovals": N,
//! "maxMembersPerRequest": N}`),
//! next to snapshots of the text plan and the JSON plan. Adding a case is adding a folder.
//!
//! A case may give `desired.json` (a `DesiredState` as JSON) instead of `desired.yaml`:
//! for states that validation rejects but the planner must still handle safely, such as
//! a protected user missing from the file or marked `active: false`.
//!
//! Beyond the snapshots, every case checks that planning is deterministic, that the JSON
//! form reads back into the same plan, and that a plan that may be applied converges:
//! applying it in memory and planning again gives no operation.

mod support;

use std::path::{Path, PathBuf};

use roster_model::LiveState;
use roster_plan::{Plan, PlanOptions};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaseOptions {
    allow_deactivations: Option<u64>,
    allow_removals: Option<u64>,
    max_members_per_request: Option<usize>,
    /// What the service keeps; absent means everything.
    capabilities: Option<roster_model::ServiceCapabilities>,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn check(dir: &Path) {
    let desired = match std::fs::read_to_string(dir.join("desired.json")) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}/desired.json: {err}", dir.display()))
        }
        Err(_) => support::load_desired(&dir.join("desired.yaml")),
    };
    let live: LiveState = serde_json::from_str(&read(&dir.join("live.json")))
        .unwrap_or_else(|err| panic!("{}/live.json: {err}", dir.display()));
    let case_options: CaseOptions = match std::fs::read_to_string(dir.join("options.json")) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}/options.json: {err}", dir.display()))
        }
        Err(_) => CaseOptions::default(),
    };
    let options = PlanOptions {
        allow_deactivations: case_options.allow_deactivations,
        allow_removals: case_options.allow_removals,
        max_members_per_request: case_options.max_members_per_request.unwrap_or(100),
        capabilities: case_options.capabilities.unwrap_or_default(),
    };

    let plan = roster_plan::plan(&desired, &live, &options);
    let mut json = Vec::new();
    roster_render::render_json(&plan, &mut json).unwrap();
    let json = String::from_utf8(json).unwrap();

    let mut shuffled = live.clone();
    shuffled.users.reverse();
    shuffled.groups.reverse();
    for group in &mut shuffled.groups {
        group.members.reverse();
    }
    let mut again = Vec::new();
    roster_render::render_json(&roster_plan::plan(&desired, &shuffled, &options), &mut again).unwrap();
    assert_eq!(json, String::from_utf8(again).unwrap(), "the order of the live state changed the plan");
    let read_back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(read_back, plan, "the JSON plan does not read back");

    if !plan.is_blocked() {
        let mut after = live.clone();
        plan.apply_to(&mut after);
        let replanned = roster_plan::plan(&desired, &after, &options);
        assert!(
            replanned.is_empty(),
            "applying the plan and planning again gives operations: {:#?}",
            replanned.operations
        );
    }

    let mut text = Vec::new();
    roster_render::render_text(&plan, &mut text, &roster_render::TextOptions::default()).unwrap();
    let text = String::from_utf8(text).unwrap();
    insta::with_settings!({
        snapshot_path => dir,
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("case {}", dir.file_name().unwrap().to_string_lossy()),
    }, {
        insta::assert_snapshot!("plan.txt", text);
        insta::assert_snapshot!("plan.json", json);
    });
}

fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("desired.yaml").is_file() || path.join("desired.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn plan_cases() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 25, "expected at least 25 cases, found {}", dirs.len());
    let mut failed = Vec::new();
    for dir in &dirs {
        if std::panic::catch_unwind(|| check(dir)).is_err() {
            failed.push(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "failing cases: {}", failed.join(", "));
}
