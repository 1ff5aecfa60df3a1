//! Many apps in one file: one plan per target, and what holds across them.
//!
//! The planner itself stays single-target: each target is planned by [`crate::plan`]
//! from its projection ([`roster_model::DesiredState::for_target`]) against its own live
//! state, with its own options (capabilities, the rails of its merged policy). This
//! module only aggregates, and so adds no second way of planning:
//!
//! - the per-target plans, in target-name order;
//! - a cross-target summary: per person, the apps gained and lost ("ada@example.com
//!   loses access to 3 apps: miro, productboard, zoom"), and each target's counts;
//! - the cross-target rail: the distinct people who lose access to at least one app,
//!   against the top-level `policy.max_deactivations` (a percentage of the distinct
//!   people active in any planned target). Each target's own rails hold as well, with
//!   its merged policy;
//! - a blocked target blocks the whole multi-plan, since applying the rest would leave
//!   an offboarding half done without anyone having agreed to that.
//!
//! [`worst_exit_code`] aggregates exit codes; [`MultiOverrides`] holds the rails'
//! overrides of a multi-target run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use roster_model::{DesiredState, LiveState, Policy, TargetName, UserKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use crate::saved::{Refusal, SavedPlan};
use crate::types::{Operation, Plan, PlanOptions, Rail, RailCheck, RailExceeded, RailStatus, Summary};

/// The version of the multi-target plan format.
pub const MULTI_FORMAT_VERSION: u32 = 1;

/// One target's plan within a multi-target plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetPlan {
    /// The target's name.
    pub target: TargetName,
    /// Its plan, as a single-target run would make it.
    pub plan: Plan,
}

/// The plans of every planned target of a multi-target file, and what holds across them.
/// The same inputs always give the same value, down to the bytes of its JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiPlan {
    /// The version of this format, always 1 here.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// The plans, sorted by target name.
    pub targets: Vec<TargetPlan>,
    /// Who gains and loses which app, and each target's counts.
    pub summary: CrossTargetSummary,
    /// The distinct people losing access to at least one app, against the top-level
    /// `policy.max_deactivations`.
    pub cross_target_rail: RailCheck,
    /// Reasons the multi-plan must not be applied (any of them blocks every target).
    pub blockers: Vec<MultiBlocker>,
    /// Things a reviewer should know across targets (each target's plan has its own).
    pub warnings: Vec<String>,
}

/// Who gains and loses access across the targets, and the counts of each target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossTargetSummary {
    /// Every person whose access to an app changes, sorted by userName (ignoring case).
    pub people: Vec<PersonAccess>,
    /// Distinct people losing access to at least one app.
    pub people_losing_access: u64,
    /// Distinct people gaining access to at least one app (created or reactivated).
    pub people_gaining_access: u64,
    /// Each target's counts, sorted by target name.
    pub per_target: Vec<TargetCounts>,
}

/// The apps one person gains and loses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonAccess {
    /// The person's userName (as the first target in name order shows it).
    pub user_name: String,
    /// The apps the person gains (an account created or reactivated), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gains: Vec<TargetName>,
    /// The apps the person loses (an account deactivated), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loses: Vec<TargetName>,
}

impl PersonAccess {
    /// "ada@example.com loses access to 3 apps: miro, productboard, zoom", and what the
    /// person gains, in one line.
    pub fn sentence(&self) -> String {
        self.sentence_with(str::to_owned, str::to_owned, "loses")
    }

    /// [`PersonAccess::sentence`] with the userName and the app names formatted by
    /// `name` and `app`, and "loses" written as `loses` (Markdown escapes and emphasis).
    pub fn sentence_with(
        &self,
        name: impl Fn(&str) -> String,
        app: impl Fn(&str) -> String,
        loses: &str,
    ) -> String {
        let apps = |list: &[TargetName]| {
            let names = list.iter().map(|t| app(t.as_str())).collect::<Vec<_>>().join(", ");
            let n = list.len();
            format!("{n} {}: {names}", if n == 1 { "app" } else { "apps" })
        };
        let mut parts = Vec::new();
        if !self.loses.is_empty() {
            parts.push(format!("{loses} access to {}", apps(&self.loses)));
        }
        if !self.gains.is_empty() {
            parts.push(format!("gains access to {}", apps(&self.gains)));
        }
        format!("{} {}", name(&self.user_name), parts.join(" and "))
    }
}

/// One target's counts in the cross-target summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetCounts {
    /// The target.
    pub target: TargetName,
    /// The counts of its plan.
    pub summary: Summary,
    /// Whether its own plan is blocked.
    pub blocked: bool,
}

/// A reason a multi-target plan must not be applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum MultiBlocker {
    /// More people lose access across the targets than the top-level
    /// `max_deactivations` allows, without the exact `--allow-deactivations N`.
    CrossTargetRail {
        /// The count, the limit and the override given.
        exceeded: RailExceeded,
    },
    /// A target's own plan is blocked, which blocks every target.
    Target {
        /// The blocked target.
        target: TargetName,
        /// Its blockers' headlines.
        headlines: Vec<String>,
    },
    /// A target was asked for that the file does not name.
    UnknownTarget {
        /// The name asked for.
        target: String,
    },
    /// A target of a saved plan that this run did not plan (its live state was not
    /// given).
    NotPlanned {
        /// The target.
        target: String,
    },
}

impl MultiBlocker {
    /// What blocks the plan and what to do about it, in one line.
    pub fn headline(&self) -> String {
        match self {
            MultiBlocker::CrossTargetRail { exceeded } => {
                let RailExceeded { planned, limit, setting, allow } = exceeded;
                let people = if *planned == 1 { "person loses" } else { "people lose" };
                let over = format!(
                    "{planned} {people} access to at least one app, more than the cross-target limit of \
                     {limit} (top-level max_deactivations: {setting})"
                );
                match allow {
                    Some(given) => format!(
                        "{over}; --allow-deactivations {given} does not match: pass --allow-deactivations \
                         {planned} to allow exactly these"
                    ),
                    None => format!("{over}; review them, then pass --allow-deactivations {planned}"),
                }
            }
            MultiBlocker::Target { target, headlines } => {
                format!("target {target} is blocked, which blocks every target: {}", headlines.join("; "))
            }
            MultiBlocker::UnknownTarget { target } => {
                format!("the file names no target {target:?}, so nothing is planned for it")
            }
            MultiBlocker::NotPlanned { target } => {
                format!("target {target} is in the saved plan but was not planned again in this run")
            }
        }
    }
}

impl MultiPlan {
    /// True when any blocker is present: no target may be applied.
    pub fn is_blocked(&self) -> bool {
        !self.blockers.is_empty()
    }

    /// The plan of a target.
    pub fn target(&self, name: &str) -> Option<&Plan> {
        self.targets.iter().find(|t| t.target.as_str() == name).map(|t| &t.plan)
    }

    /// True when no target's plan has an operation.
    pub fn is_empty(&self) -> bool {
        self.targets.iter().all(|t| t.plan.operations.is_empty())
    }

    /// The exit code of `roster plan` for this multi-plan: 3 when blocked; with
    /// `--detailed-exitcode`, 2 when any target has changes; else 0.
    pub fn exit_code(&self, detailed: bool) -> u8 {
        if self.is_blocked() {
            3
        } else if detailed && !self.is_empty() {
            2
        } else {
            0
        }
    }
}

/// What one target brings to a multi-target plan: its name, its live state and its
/// options (its capabilities, the day, "now"); the rails' overrides come from
/// [`MultiOverrides`] and replace those in `options`.
#[derive(Clone, Debug)]
pub struct TargetInput<'a> {
    /// The target to plan.
    pub target: &'a str,
    /// Its live state.
    pub live: &'a LiveState,
    /// Its planner options.
    pub options: PlanOptions,
}

/// Plans the given targets of a multi-target file: each from its projection, with the
/// per-target overrides, then [`aggregate`]s them. A target the file does not name is a
/// blocker. Pure, like [`crate::plan`].
pub fn plan_targets(
    desired: &DesiredState,
    inputs: &[TargetInput<'_>],
    overrides: &MultiOverrides,
) -> MultiPlan {
    let mut unknown = Vec::new();
    let mut planned = Vec::with_capacity(inputs.len());
    for input in inputs {
        match desired.for_target(input.target) {
            Some(projected) => {
                let options = overrides.options_for(input.target, input.options.clone());
                let plan = crate::plan(&projected, input.live, &options);
                let name = desired.target(input.target).map(|t| t.name.clone()).expect("projected above");
                planned.push(PlannedTarget { target: name, plan, live: input.live });
            }
            None => unknown.push(input.target.to_owned()),
        }
    }
    let mut multi = aggregate(&desired.policy, planned, overrides.deactivations);
    for target in unknown {
        multi.blockers.push(MultiBlocker::UnknownTarget { target });
    }
    multi
}

/// A target's plan and the live state it was made from, for [`aggregate`].
#[derive(Clone, Debug)]
pub struct PlannedTarget<'a> {
    /// The target.
    pub target: TargetName,
    /// Its plan.
    pub plan: Plan,
    /// The live state the plan was made from (for the cross-target rail's base).
    pub live: &'a LiveState,
}

/// Aggregates per-target plans: sorts them by target, sums up who gains and loses which
/// app, evaluates the cross-target rail against `policy` (the file's top-level policy)
/// with `allow_deactivations` (the bare `--allow-deactivations N`), and blocks the whole
/// when any target is blocked.
pub fn aggregate(
    policy: &Policy,
    mut planned: Vec<PlannedTarget<'_>>,
    allow_deactivations: Option<u64>,
) -> MultiPlan {
    planned.sort_by(|a, b| a.target.cmp(&b.target));
    let mut warnings = Vec::new();

    // Per person, by identity key: the name shown, the apps gained and lost.
    let mut people: BTreeMap<UserKey, PersonAccess> = BTreeMap::new();
    fn person<'p>(people: &'p mut BTreeMap<UserKey, PersonAccess>, user_name: &str) -> &'p mut PersonAccess {
        people.entry(UserKey::new(user_name)).or_insert_with(|| PersonAccess {
            user_name: user_name.to_owned(),
            gains: Vec::new(),
            loses: Vec::new(),
        })
    }
    for p in &planned {
        for operation in &p.plan.operations {
            let (user_name, gains) = match operation {
                Operation::DeactivateUser { user_name, .. } => (user_name, false),
                Operation::CreateUser { attributes, .. } => (&attributes.user_name, true),
                Operation::ReactivateUser { user_name, .. } => (user_name, true),
                _ => continue,
            };
            let access = person(&mut people, user_name);
            let list = if gains { &mut access.gains } else { &mut access.loses };
            list.push(p.target.clone());
        }
    }
    let mut people: Vec<PersonAccess> = people.into_values().collect();
    for access in &mut people {
        access.gains.dedup();
        access.loses.dedup();
    }
    people.sort_by_cached_key(|p| {
        (roster_model::identity::canonical(&p.user_name).into_owned(), p.user_name.clone())
    });
    let losing = people.iter().filter(|p| !p.loses.is_empty()).count() as u64;
    let gaining = people.iter().filter(|p| !p.gains.is_empty()).count() as u64;

    // The base of a percentage: distinct people active in any planned target.
    let active: BTreeSet<UserKey> = planned
        .iter()
        .flat_map(|p| p.live.users.iter())
        .filter(|u| u.attributes.active)
        .map(|u| u.attributes.key())
        .collect();
    let rail = RailCheck::evaluate(
        Rail::Deactivations,
        losing,
        policy.max_deactivations,
        active.len() as u64,
        allow_deactivations,
        &mut Vec::new(),
    );
    if let Some(given) =
        allow_deactivations.filter(|&given| rail.status == RailStatus::WithinLimit && given != losing)
    {
        warnings.push(format!(
            "--allow-deactivations {given} has no effect: {losing} {} access to at least one app, within the \
             cross-target limit of {}",
            if losing == 1 { "person loses" } else { "people lose" },
            rail.limit
        ));
    }
    let mut blockers = Vec::new();
    if rail.status == RailStatus::OverLimit {
        blockers.push(MultiBlocker::CrossTargetRail {
            exceeded: RailExceeded {
                planned: rail.planned,
                limit: rail.limit,
                setting: rail.setting,
                allow: rail.allow,
            },
        });
    }
    for p in planned.iter().filter(|p| p.plan.is_blocked()) {
        blockers.push(MultiBlocker::Target {
            target: p.target.clone(),
            headlines: p.plan.blockers.iter().map(|b| for_target(&b.headline(), p.target.as_str())).collect(),
        });
    }
    let per_target = planned
        .iter()
        .map(|p| TargetCounts {
            target: p.target.clone(),
            summary: p.plan.summary.clone(),
            blocked: p.plan.is_blocked(),
        })
        .collect();
    MultiPlan {
        format_version: MULTI_FORMAT_VERSION,
        targets: planned.into_iter().map(|p| TargetPlan { target: p.target, plan: p.plan }).collect(),
        summary: CrossTargetSummary {
            people,
            people_losing_access: losing,
            people_gaining_access: gaining,
            per_target,
        },
        cross_target_rail: rail,
        blockers,
        warnings,
    }
}

/// A single-target message as it holds for one target of a multi-target run: the
/// rails' flags take the target's name (`--allow-deactivations miro=3`), since a bare
/// number means the cross-target rail there.
pub fn for_target(message: &str, target: &str) -> String {
    let mut message = message.to_owned();
    for flag in ["--allow-deactivations ", "--allow-removals ", "--allow-paid-seats "] {
        message = message.replace(flag, &format!("{flag}{target}="));
    }
    message
}

/// The exit code of a run over several targets: the worst wins, in the order
/// 1 (error) > 3 (blocked by a rail) > 4 (apply partly failed) > 2 (changes, with
/// `--detailed-exitcode`) > 0. An error anywhere is the most urgent news; a blocked
/// target means nothing was applied, which outranks a partial apply; changes outrank
/// none. A code outside these is treated as an error. No codes at all is 0.
pub fn worst_exit_code(codes: impl IntoIterator<Item = u8>) -> u8 {
    fn rank(code: u8) -> u8 {
        match code {
            0 => 0,
            2 => 1,
            4 => 2,
            3 => 3,
            _ => 4,
        }
    }
    codes
        .into_iter()
        .map(|code| if matches!(code, 0 | 2 | 3 | 4) { code } else { 1 })
        .max_by_key(|&code| rank(code))
        .unwrap_or(0)
}

/// The rails' overrides of a multi-target run, from `--allow-deactivations`,
/// `--allow-removals` and `--allow-paid-seats`, each repeatable:
///
/// - `--allow-deactivations N` lets the cross-target rail through when exactly `N`
///   distinct people lose access to at least one app;
/// - `--allow-deactivations TARGET=N`, `--allow-removals TARGET=N` and
///   `--allow-paid-seats TARGET=N` are one target's own rails, with the meaning they
///   have in a single-target run (exactly `N` deactivations there, `N` removals, `N`
///   paid seats after the plan);
/// - a bare `--allow-removals N` or `--allow-paid-seats N` is refused: there is no
///   cross-target removal or seat rail (seats of different apps do not add up), so the
///   target must be named.
///
/// Like the single-target overrides, they come from each run's own command line, never
/// from a saved plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiOverrides {
    /// The bare `--allow-deactivations N`: the cross-target rail.
    pub deactivations: Option<u64>,
    /// Per target, its own rails' overrides.
    pub per_target: BTreeMap<String, TargetOverrides>,
}

/// One target's own rails' overrides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetOverrides {
    /// `--allow-deactivations TARGET=N`.
    pub deactivations: Option<u64>,
    /// `--allow-removals TARGET=N`.
    pub removals: Option<u64>,
    /// `--allow-paid-seats TARGET=N`.
    pub paid_seats: Option<u64>,
}

/// A malformed or contradictory override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideError(pub String);

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OverrideError {}

impl MultiOverrides {
    /// Reads the flags' values (`N` or `TARGET=N`, each flag repeatable), checking every
    /// target named against `targets` (the file's target names). A flag given twice for
    /// the same rail, an unknown target, a bare removal or seat override, or a value that
    /// is not a whole number is an error.
    pub fn parse(
        deactivations: &[String],
        removals: &[String],
        paid_seats: &[String],
        targets: &[&str],
    ) -> Result<MultiOverrides, OverrideError> {
        let mut overrides = MultiOverrides::default();
        for (flag, values) in [
            ("--allow-deactivations", deactivations),
            ("--allow-removals", removals),
            ("--allow-paid-seats", paid_seats),
        ] {
            for value in values {
                let (target, count) = split_override(flag, value)?;
                let slot = match target {
                    None if flag == "--allow-deactivations" => &mut overrides.deactivations,
                    None => {
                        return Err(OverrideError(format!(
                            "{flag} {value}: name the target, as {flag} TARGET={value}: a multi-target run has \
                             no cross-target {} rail",
                            if flag == "--allow-removals" { "removal" } else { "paid-seat" }
                        )));
                    }
                    Some(target) => {
                        if !targets.contains(&target) {
                            return Err(OverrideError(format!(
                                "{flag} {value}: the file names no target {target:?}; the targets are {}",
                                targets.join(", ")
                            )));
                        }
                        let own = overrides.per_target.entry(target.to_owned()).or_default();
                        match flag {
                            "--allow-deactivations" => &mut own.deactivations,
                            "--allow-removals" => &mut own.removals,
                            _ => &mut own.paid_seats,
                        }
                    }
                };
                if slot.replace(count).is_some() {
                    let which =
                        target.map_or_else(|| "the cross-target rail".to_owned(), |t| format!("target {t}"));
                    return Err(OverrideError(format!("{flag} is given twice for {which}")));
                }
            }
        }
        Ok(overrides)
    }

    /// A target's options with its own overrides (and none it was not given).
    pub fn options_for(&self, target: &str, mut options: PlanOptions) -> PlanOptions {
        let own = self.per_target.get(target).copied().unwrap_or_default();
        options.allow_deactivations = own.deactivations;
        options.allow_removals = own.removals;
        options.allow_paid_seats = own.paid_seats;
        options
    }
}

fn split_override<'v>(flag: &str, value: &'v str) -> Result<(Option<&'v str>, u64), OverrideError> {
    let (target, count) = match value.split_once('=') {
        Some((target, count)) => (Some(target.trim()), count),
        None => (None, value),
    };
    let count = count.trim().parse::<u64>().map_err(|_| {
        OverrideError(format!(
            "{flag} {value:?}: expected a whole number N, or TARGET=N for one target's own rail"
        ))
    })?;
    Ok((target, count))
}

/// The file `roster plan --out F` writes for a multi-target file: every target's saved
/// plan (its plan, its projected desired state and its own digest, exactly the
/// single-target [`SavedPlan`]), what holds across them, and one digest over the whole.
/// `apply --plan F` checks the whole digest, each target's digest and that nothing was
/// blocked ([`SavedMultiPlan::verify`]), re-plans every target from its saved desired
/// state ([`SavedMultiPlan::replan`]) and compares per target
/// ([`SavedMultiPlan::check_against`]), naming the target that is stale or tampered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedMultiPlan {
    /// Always `multiTarget`: tells this file from a single-target saved plan.
    pub kind: SavedMultiKind,
    /// The version of the multi-target format, always 1 here.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// Every planned target's saved plan, sorted by target name.
    pub targets: Vec<SavedTargetPlan>,
    /// The file's top-level policy: the cross-target rail's setting.
    pub policy: Policy,
    /// Who gains and loses which app, as planned.
    pub summary: CrossTargetSummary,
    /// The cross-target rail, as planned.
    pub cross_target_rail: RailCheck,
    /// The blockers, as planned.
    pub blockers: Vec<MultiBlocker>,
    /// The cross-target warnings, as planned.
    pub warnings: Vec<String>,
    /// The planned targets as the file names them (provider, url, where the token is
    /// read from; never a token), so that `apply --plan` reaches the same services
    /// without the file. Covered by the digest: a changed url is an edit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<roster_model::Target>,
    /// The sha256 (lower-case hex) of everything in this file but the digest itself.
    #[serde(default)]
    pub digest: String,
}

/// The marker of a saved multi-target plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SavedMultiKind {
    /// A saved multi-target plan.
    MultiTarget,
}

/// One target's saved plan within a saved multi-target plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedTargetPlan {
    /// The target.
    pub target: TargetName,
    /// Its saved plan, with the desired state projected for it and its own digest.
    #[serde(flatten)]
    pub saved: SavedPlan,
}

/// Why `apply --plan` refuses a saved multi-target plan: the whole file, or named
/// targets. Each is an error (exit 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiRefusal {
    /// The whole file: no or a wrong digest, or blocked when saved.
    Whole(Refusal),
    /// These targets' saved plans are refused, each for its reason.
    Targets(Vec<(TargetName, Refusal)>),
    /// The targets planned now are not those of the saved plan.
    TargetsDiffer {
        /// The saved plan's targets.
        saved: Vec<String>,
        /// The targets planned now.
        fresh: Vec<String>,
    },
}

impl MultiRefusal {
    /// The message, naming the targets.
    pub fn message(&self) -> String {
        match self {
            MultiRefusal::Whole(refusal) => refusal.message(),
            MultiRefusal::Targets(refusals) => refusals
                .iter()
                .map(|(target, refusal)| format!("target {target}: {}", refusal.message()))
                .collect::<Vec<_>>()
                .join("\n"),
            MultiRefusal::TargetsDiffer { saved, fresh } => format!(
                "the saved plan covers the targets {}, but this run plans {}: run `roster plan --out` with the \
                 same --target selection as apply",
                saved.join(", "),
                fresh.join(", ")
            ),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            MultiRefusal::Whole(refusal) => refusal.hint(),
            MultiRefusal::Targets(refusals) => refusals.first().map_or("", |(_, r)| r.hint()),
            MultiRefusal::TargetsDiffer { .. } => "run `roster plan --out` again and review the new plan",
        }
    }
}

impl fmt::Display for MultiRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for MultiRefusal {}

/// The content the whole digest covers, in a fixed shape.
#[derive(Serialize)]
struct MultiContent<'a> {
    domain: &'static str,
    kind: SavedMultiKind,
    format_version: u32,
    targets: &'a [SavedTargetPlan],
    policy: &'a Policy,
    summary: &'a CrossTargetSummary,
    cross_target_rail: &'a RailCheck,
    blockers: &'a [MultiBlocker],
    warnings: &'a [String],
    #[serde(skip_serializing_if = "<[roster_model::Target]>::is_empty")]
    connections: &'a [roster_model::Target],
}

impl SavedMultiPlan {
    /// A saved multi-target plan of `multi`, made from the multi-target file `desired`,
    /// with every digest.
    pub fn new(multi: MultiPlan, desired: &DesiredState) -> SavedMultiPlan {
        let targets = multi
            .targets
            .into_iter()
            .map(|t| {
                let projected = desired.for_target(t.target.as_str()).unwrap_or_default();
                SavedTargetPlan { target: t.target, saved: SavedPlan::new(t.plan, projected) }
            })
            .collect();
        let mut saved = SavedMultiPlan {
            kind: SavedMultiKind::MultiTarget,
            format_version: multi.format_version,
            targets,
            policy: desired.policy.clone(),
            summary: multi.summary,
            cross_target_rail: multi.cross_target_rail,
            blockers: multi.blockers,
            warnings: multi.warnings,
            connections: Vec::new(),
            digest: String::new(),
        };
        saved.connections =
            saved.targets.iter().filter_map(|t| desired.target(t.target.as_str()).cloned()).collect();
        saved.digest = saved.content_digest();
        saved
    }

    /// The digest of the content as it is now (sha256 over a canonical JSON encoding,
    /// so that reformatting is no edit while any change of a value is).
    pub fn content_digest(&self) -> String {
        let content = MultiContent {
            domain: "roster saved multi-target plan v1",
            kind: self.kind,
            format_version: self.format_version,
            targets: &self.targets,
            policy: &self.policy,
            summary: &self.summary,
            cross_target_rail: &self.cross_target_rail,
            blockers: &self.blockers,
            warnings: &self.warnings,
            connections: &self.connections,
        };
        let bytes = serde_json::to_vec(&content).unwrap_or_default();
        Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Checks what can be checked without the services: the whole digest, each
    /// target's digest and that it was not blocked, and that the whole was not blocked.
    pub fn verify(&self) -> Result<(), MultiRefusal> {
        if self.digest.is_empty() {
            return Err(MultiRefusal::Whole(Refusal::NoDigest));
        }
        let actual = self.content_digest();
        if !self.digest.eq_ignore_ascii_case(&actual) {
            return Err(MultiRefusal::Whole(Refusal::Tampered { recorded: self.digest.clone(), actual }));
        }
        let refused: Vec<(TargetName, Refusal)> = self
            .targets
            .iter()
            .filter_map(|t| t.saved.verify().err().map(|refusal| (t.target.clone(), refusal)))
            .collect();
        if !refused.is_empty() {
            return Err(MultiRefusal::Targets(refused));
        }
        if !self.blockers.is_empty() {
            return Err(MultiRefusal::Whole(Refusal::BlockedWhenSaved {
                headlines: self.blockers.iter().map(MultiBlocker::headline).collect(),
            }));
        }
        Ok(())
    }

    /// The saved plan as a multi-target plan, for rendering.
    pub fn to_multi_plan(&self) -> MultiPlan {
        MultiPlan {
            format_version: self.format_version,
            targets: self
                .targets
                .iter()
                .map(|t| TargetPlan { target: t.target.clone(), plan: t.saved.plan.clone() })
                .collect(),
            summary: self.summary.clone(),
            cross_target_rail: self.cross_target_rail.clone(),
            blockers: self.blockers.clone(),
            warnings: self.warnings.clone(),
        }
    }

    /// The target names, in order.
    pub fn target_names(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.target.as_str()).collect()
    }

    /// Plans every saved target afresh from its saved desired state against its live
    /// state now, with this run's overrides (never the saved ones), and aggregates with
    /// the saved top-level policy. A saved target without an input is a blocker; an
    /// input for a target the saved plan does not hold is ignored (see
    /// [`SavedMultiPlan::check_against`], which refuses differing target sets).
    pub fn replan(&self, inputs: &[TargetInput<'_>], overrides: &MultiOverrides) -> MultiPlan {
        let mut planned = Vec::with_capacity(self.targets.len());
        let mut missing = Vec::new();
        for saved in &self.targets {
            match inputs.iter().find(|i| i.target == saved.target.as_str()) {
                Some(input) => {
                    let options = overrides.options_for(input.target, input.options.clone());
                    let plan = crate::plan(&saved.saved.desired, input.live, &options);
                    planned.push(PlannedTarget { target: saved.target.clone(), plan, live: input.live });
                }
                None => missing.push(saved.target.to_string()),
            }
        }
        let mut multi = aggregate(&self.policy, planned, overrides.deactivations);
        multi.blockers.extend(missing.into_iter().map(|target| MultiBlocker::NotPlanned { target }));
        multi
    }

    /// Compares with a fresh multi-plan (from [`SavedMultiPlan::replan`]): the same
    /// targets, and for each the same operations, or a refusal naming each target that
    /// differs and why (a changed service, or a plan its inputs no longer reproduce).
    pub fn check_against(&self, fresh: &MultiPlan) -> Result<(), MultiRefusal> {
        let saved_names: Vec<String> = self.targets.iter().map(|t| t.target.to_string()).collect();
        let fresh_names: Vec<String> = fresh.targets.iter().map(|t| t.target.to_string()).collect();
        if saved_names != fresh_names {
            return Err(MultiRefusal::TargetsDiffer { saved: saved_names, fresh: fresh_names });
        }
        let refused: Vec<(TargetName, Refusal)> = self
            .targets
            .iter()
            .zip(&fresh.targets)
            .filter_map(|(saved, fresh)| {
                saved.saved.check_against(&fresh.plan).err().map(|r| (saved.target.clone(), r))
            })
            .collect();
        if refused.is_empty() { Ok(()) } else { Err(MultiRefusal::Targets(refused)) }
    }
}

/// What `schemas/multi-plan.schema.json` describes: the JSON of a multi-target plan
/// (`roster plan --format json` of a multi-target file) or a saved one (`--out`).
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum MultiPlanDocument {
    /// A saved multi-target plan.
    Saved(SavedMultiPlan),
    /// A multi-target plan.
    Plan(MultiPlan),
}

/// The JSON Schema of a multi-target plan and of a saved multi-target plan file (draft 7).
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<MultiPlanDocument>().to_value();
    crate::unwrap_descriptions(&mut schema);
    schema
}

#[cfg(test)]
mod tests {
    use roster_model::{LiveState, LiveUser, UserAttributes};

    use super::*;

    const FILE: &str = "\
version: 1
policy: { max_deactivations: 1 }
targets:
  productboard: { provider: productboard, url: https://api.productboard.com/scim/v2, token_env: PB, everyone: true }
  miro: { provider: generic, url: https://miro.example/scim/v2, token_env: MIRO, policy: { max_deactivations: 5 } }
users:
  - userName: ada@example.com
    apps: [productboard, miro]
  - userName: bob@example.com
    apps: [productboard]
";

    fn desired(text: &str) -> DesiredState {
        roster_spec::load(&[roster_spec::SourceFile::new("users.yaml", text)]).unwrap()
    }

    fn live(users: &[(&str, &str)]) -> LiveState {
        LiveState {
            users: users
                .iter()
                .map(|(id, user_name)| LiveUser {
                    id: (*id).into(),
                    attributes: UserAttributes {
                        user_name: (*user_name).into(),
                        active: true,
                        ..Default::default()
                    },
                    created: None,
                })
                .collect(),
            ..LiveState::default()
        }
    }

    fn inputs<'a>(lives: &'a [(&'a str, LiveState)]) -> Vec<TargetInput<'a>> {
        lives
            .iter()
            .map(|(target, live)| TargetInput { target, live, options: PlanOptions::default() })
            .collect()
    }

    #[test]
    fn one_removed_line_offboards_from_every_app_and_the_cross_target_rail_counts_people() {
        let state = desired(FILE);
        let lives = [
            (
                "productboard",
                live(&[("p1", "ada@example.com"), ("p2", "bob@example.com"), ("p3", "cy@example.com")]),
            ),
            ("miro", live(&[("m1", "ada@example.com"), ("m2", "bob@example.com"), ("m3", "cy@example.com")])),
        ];
        let multi = plan_targets(&state, &inputs(&lives), &MultiOverrides::default());
        assert_eq!(
            multi.targets.iter().map(|t| t.target.as_str()).collect::<Vec<_>>(),
            ["miro", "productboard"]
        );
        let sentences: Vec<String> = multi.summary.people.iter().map(PersonAccess::sentence).collect();
        assert_eq!(
            sentences,
            [
                "bob@example.com loses access to 1 app: miro",
                "cy@example.com loses access to 2 apps: miro, productboard"
            ]
        );
        assert_eq!(multi.cross_target_rail.planned, 2);
        assert_eq!(multi.cross_target_rail.base, 3);
        assert!(
            matches!(&multi.blockers[..], [MultiBlocker::CrossTargetRail { .. }]),
            "{:?}",
            multi.blockers
        );
        assert_eq!(multi.exit_code(true), 3);
        let bob = multi.target("miro").unwrap().operations.iter().find_map(|op| match op {
            Operation::DeactivateUser { user_name, reason, .. } if user_name == "bob@example.com" => {
                Some(reason)
            }
            _ => None,
        });
        let Some(crate::DeactivationReason::NotInApps(revoked)) = bob else { panic!("{bob:?}") };
        assert_eq!((revoked.app.as_str(), revoked.source.as_ref().map(|s| s.line)), ("miro", Some(10)));

        let allowed = MultiOverrides { deactivations: Some(2), ..MultiOverrides::default() };
        let multi = plan_targets(&state, &inputs(&lives), &allowed);
        assert!(!multi.is_blocked(), "{:?}", multi.blockers);
        assert_eq!(multi.exit_code(true), 2);
        assert_eq!(multi.exit_code(false), 0);
    }

    #[test]
    fn a_blocked_target_blocks_all_and_an_unknown_target_blocks() {
        let state = desired(&FILE.replace("max_deactivations: 5", "max_deactivations: 0"));
        let lives =
            [("miro", live(&[("m1", "ada@example.com"), ("m2", "bob@example.com")])), ("zoom", live(&[]))];
        let overrides = MultiOverrides { deactivations: Some(1), ..MultiOverrides::default() };
        let multi = plan_targets(&state, &inputs(&lives), &overrides);
        let kinds: Vec<String> = multi.blockers.iter().map(MultiBlocker::headline).collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(kinds[0].starts_with("target miro is blocked, which blocks every target"), "{kinds:?}");
        assert_eq!(kinds[1], "the file names no target \"zoom\", so nothing is planned for it");
        // The target's own override lets it through.
        let overrides =
            MultiOverrides::parse(&["1".into(), "miro=1".into()], &[], &[], &["miro", "productboard"])
                .unwrap();
        assert!(!plan_targets(&state, &inputs(&lives[..1]), &overrides).is_blocked());
    }

    #[test]
    fn exit_codes_aggregate_worst_first() {
        assert_eq!(worst_exit_code([]), 0);
        assert_eq!(worst_exit_code([0, 2, 0]), 2);
        assert_eq!(worst_exit_code([2, 4]), 4);
        assert_eq!(worst_exit_code([4, 3, 2]), 3);
        assert_eq!(worst_exit_code([3, 1, 4]), 1);
        assert_eq!(worst_exit_code([0, 7]), 1, "an unknown code is an error");
        assert_eq!(worst_exit_code([0, 0]), 0);
    }

    #[test]
    fn overrides_parse_per_target_and_refuse_what_has_no_meaning() {
        let targets = ["miro", "productboard"];
        let parsed = MultiOverrides::parse(
            &["3".into(), "miro=2".into()],
            &["productboard=7".into()],
            &["miro=40".into()],
            &targets,
        )
        .unwrap();
        assert_eq!(parsed.deactivations, Some(3));
        assert_eq!(
            parsed.per_target["miro"],
            TargetOverrides { deactivations: Some(2), removals: None, paid_seats: Some(40) }
        );
        let options = parsed.options_for(
            "productboard",
            PlanOptions { allow_deactivations: Some(9), ..PlanOptions::default() },
        );
        assert_eq!((options.allow_deactivations, options.allow_removals), (None, Some(7)));
        let error = |d: &[&str], r: &[&str]| {
            let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            MultiOverrides::parse(&owned(d), &owned(r), &[], &targets).unwrap_err().to_string()
        };
        assert!(error(&[], &["5"]).contains("name the target"), "{}", error(&[], &["5"]));
        assert!(error(&["zoom=1"], &[]).contains("no target \"zoom\""));
        assert!(error(&["1", "2"], &[]).contains("given twice for the cross-target rail"));
        assert!(error(&["miro=1", "miro=2"], &[]).contains("given twice for target miro"));
        assert!(error(&["miro=x"], &[]).contains("expected a whole number"));
    }

    #[test]
    fn a_saved_multi_plan_pins_every_target_and_names_the_one_that_moved() {
        let state = desired(FILE);
        let lives = [
            ("miro", live(&[("m1", "ada@example.com"), ("m2", "bob@example.com")])),
            ("productboard", live(&[("p1", "ada@example.com")])),
        ];
        let multi = plan_targets(&state, &inputs(&lives), &MultiOverrides::default());
        assert!(!multi.is_blocked(), "{:?}", multi.blockers);
        let saved = SavedMultiPlan::new(multi.clone(), &state);
        assert_eq!(saved.to_multi_plan(), multi);
        let json = serde_json::to_string_pretty(&saved).unwrap();
        assert!(json.contains("\"kind\": \"multiTarget\""));
        let read: SavedMultiPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(read, saved);
        read.verify().unwrap();
        // A single-target saved plan is not read as a multi-target one.
        let single = serde_json::to_string(&saved.targets[0].saved).unwrap();
        assert!(serde_json::from_str::<SavedMultiPlan>(&single).is_err());

        // Re-planning against the same services reproduces it.
        let fresh = saved.replan(&inputs(&lives), &MultiOverrides::default());
        saved.check_against(&fresh).unwrap();

        // One service moved on: that target is named, as a changed service.
        let moved = [
            lives[0].clone(),
            ("productboard", live(&[("p1", "ada@example.com"), ("p9", "eve@example.com")])),
        ];
        let fresh = saved.replan(&inputs(&moved), &MultiOverrides::default());
        match saved.check_against(&fresh) {
            Err(MultiRefusal::Targets(refused)) => {
                assert_eq!(refused.len(), 1);
                assert_eq!(refused[0].0.as_str(), "productboard");
                assert!(matches!(refused[0].1, Refusal::ServiceChanged { .. }), "{:?}", refused[0].1);
            }
            other => panic!("{other:?}"),
        }
        // Fewer targets now than saved: refused, and the missing one blocks.
        let fresh = saved.replan(&inputs(&lives[..1]), &MultiOverrides::default());
        assert!(matches!(&fresh.blockers[..], [MultiBlocker::NotPlanned { .. }]));
        assert!(matches!(saved.check_against(&fresh), Err(MultiRefusal::TargetsDiffer { .. })));

        // Tampering with the whole, or with one target, is named as tampering.
        let mut edited = saved.clone();
        edited.policy.max_deactivations = roster_model::RailLimit::Count(99);
        assert!(matches!(edited.verify(), Err(MultiRefusal::Whole(Refusal::Tampered { .. }))));
        let mut edited = saved.clone();
        edited.targets[0].saved.plan.operations.clear();
        edited.digest = edited.content_digest();
        match edited.verify() {
            Err(MultiRefusal::Targets(refused)) => {
                assert_eq!(refused[0].0.as_str(), "miro");
                assert!(matches!(refused[0].1, Refusal::Tampered { .. }));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_saved_multi_plan_that_was_blocked_is_refused() {
        let state = desired(FILE);
        let lives = [("miro", live(&[("m1", "x@example.com"), ("m2", "y@example.com")]))];
        let multi = plan_targets(&state, &inputs(&lives), &MultiOverrides::default());
        assert!(multi.is_blocked());
        let saved = SavedMultiPlan::new(multi, &state);
        assert!(matches!(saved.verify(), Err(MultiRefusal::Whole(Refusal::BlockedWhenSaved { .. }))));
    }

    #[test]
    fn the_whole_file_is_never_planned_against_one_service() {
        let state = desired(FILE);
        let live = live(&[("p1", "ada@example.com")]);
        let plan = crate::plan(&state, &live, &PlanOptions::default());
        assert!(plan.is_blocked());
        assert!(
            plan.blockers.iter().any(|b| b.message().contains("DesiredState::for_target")),
            "{:?}",
            plan.blockers
        );
    }
}
