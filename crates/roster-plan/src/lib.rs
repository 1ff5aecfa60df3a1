//! The pure diff of desired and live state into a [`Plan`], with safety rails.
//!
//! [`plan`] does no I/O and cannot fail: every input gives a plan, possibly blocked, and
//! the same input always gives the same plan, down to the bytes of its JSON form.
//!
//! Decisions worth knowing, beyond DESIGN.md:
//!
//! - **Matching** runs by externalId, then userName (case-insensitively), then a
//!   `previously` name, each pass in userName order; groups by externalId, then name,
//!   then name ignoring case. A desired user with an externalId that no live user has
//!   still matches by userName, and the plan then sets the externalId (likewise for
//!   groups). When the file and the live state disagree about who is who, the plan is
//!   blocked with [`Blocker::Conflict`] and nothing may be applied: a live object left
//!   unmatched that shares the userName (or name), a previous userName or the externalId
//!   of a matched desired object (a second account of the same person); a desired user
//!   whose externalId differs from that of the live user it matched by userName (an email
//!   address given to someone new); and a rename or create whose name stays taken (a
//!   swap, or a holder nothing renames away). Acting on a guess could deactivate the
//!   wrong person or leave a leaver's second account active. Inputs that validation
//!   rejects (a userName or externalId listed twice, a live id fetched twice) give a
//!   warning and a deterministic choice.
//! - **Group anchors**: a desired group's externalId also matches the id of a live
//!   group that has no externalId (what `roster import` writes for such a group), and the
//!   plan then sets it. A group the plan creates while a live group it leaves unmatched
//!   has mostly the same members (or they are the only two) gets a warning that it looks
//!   like a rename without an anchor, naming the externalId that makes it one.
//! - **Unmanaged attributes**: an attribute the file leaves unset is never changed.
//! - **Renames before creates**: user updates (which include renames) come before user
//!   creates, and group renames before group creates, because a rename may free the
//!   name that a create takes (userNames and team names are unique, ignoring case).
//!   [`Plan::steps`] tells which operations may run concurrently.
//! - **Tombstones** (`active: false`) deactivate a matched active user and do nothing
//!   else: no attribute updates, and nothing is created for a tombstone that matches no
//!   one. A tombstone matches only by userName or a `previously` name, never by
//!   externalId alone; its externalId on any other live account is an identity conflict
//!   (an unmatched active holder is kept as a possible second account). A tombstoned user listed as a group member keeps the membership the file gives
//!   it, so that reactivating the user later restores its access as written.
//! - **Protected** users are never deactivated, tombstoned or not; they are listed in
//!   [`Plan::protected`]. Protection does not stop updates or reactivation.
//! - **Group members**: a group without `members` in the file keeps its membership
//!   untouched; `members: []` empties it. A live member id that is no known user is left
//!   alone with a warning (it may be a nested group); a created group gets its first
//!   `max_members_per_request` members in the create and the rest in `AddMembers`.
//! - **What the service keeps**: an attribute the service does not keep, or keeps
//!   read-only, is not planned (nor sent in creates), and one warning per attribute
//!   counts the users of the file that set it; an immutable one is set at create and
//!   never updated. `PlanOptions::capabilities` says what the service keeps.
//! - **Rails**: deactivations (`max_deactivations`) and removals (`max_removals`: members
//!   removed plus groups deleted) are judged by one [`RailCheck`]; over a limit the plan
//!   is blocked unless the override names the exact number.
//! - **Reactivations** carry what the account comes back with ([`Revival`]): attributes
//!   and groups after apply, and the externalId it keeps when the file gives none.
//! - **Incomplete view**: no deactivation, member removal or group deletion is planned,
//!   and the plan is blocked; creates and updates are still shown for review.
//! - **Duplicate teams** (a desired group's name or externalId held by several live
//!   groups) block the plan with each id, member count, creation time and the steps to
//!   resolve it; under `unmanaged_groups: delete` an empty duplicate created within the
//!   hour before [`PlanOptions::now`] is deleted instead. "Now" is an input: the planner
//!   reads no clock.

mod access;
mod arrivals;
pub mod audit;
mod capabilities;
mod claims;
mod duplicates;
pub mod export;
mod fingerprint;
mod groups;
mod index;
mod revival;
mod saved;
mod seats;
mod simulate;
pub mod targets;
mod types;
mod users;

use roster_model::{Completeness, DesiredState, LiveState, UnmanagedUsers};
use schemars::JsonSchema;

pub use access::{AccessDates, Expiry, ReviewDue};
pub use arrivals::Arrival;
pub use saved::{Refusal, SavedPlan};
pub use seats::{RoleSeats, Seats};
pub use targets::{
    MultiBlocker, MultiOverrides, MultiPlan, MultiRefusal, PersonAccess, PlannedTarget, SavedMultiPlan,
    TargetInput, TargetPlan, aggregate, plan_targets, worst_exit_code,
};
pub use types::{
    Blocker, DeactivationReason, FORMAT_VERSION, KeptGroup, KeptReason, KeptUser, MemberRef, Operation,
    Phase, Plan, PlanOptions, ProtectedUser, Rail, RailCheck, RailExceeded, RailStatus, Revival, Summary,
    Unmanaged,
};

/// Plans the changes that turn `live` into `desired`, with the safety rails applied.
pub fn plan(desired: &DesiredState, live: &LiveState, options: &PlanOptions) -> Plan {
    // The fingerprint reads every live string once and shares nothing with the diff, so
    // for a large workspace it is computed on a second thread meanwhile. Should the
    // thread not start, it is computed here: the result is the same either way.
    const FINGERPRINT_THREAD_ABOVE: usize = 10_000;
    std::thread::scope(|scope| {
        let fingerprint = (live.users.len() > FINGERPRINT_THREAD_ABOVE)
            .then(|| {
                std::thread::Builder::new()
                    .name("roster-fingerprint".into())
                    .spawn_scoped(scope, || live_fingerprint(live))
                    .ok()
            })
            .flatten();
        let mut plan = plan_without_fingerprint(desired, live, options);
        plan.live_fingerprint =
            fingerprint.and_then(|thread| thread.join().ok()).unwrap_or_else(|| live_fingerprint(live));
        plan
    })
}

fn plan_without_fingerprint(desired: &DesiredState, live: &LiveState, options: &PlanOptions) -> Plan {
    let complete = live.completeness.is_complete();
    let mut warnings = Vec::new();
    let mut conflicts = Vec::new();
    if desired.is_multi_target() {
        // A multi-target file planned whole would mix every target's users and groups
        // into one service: each target is planned from its projection instead.
        conflicts.push(
            "the file names targets: each target is planned from its own projection \
             (DesiredState::for_target), never the whole file against one service"
                .to_owned(),
        );
    }
    let users = users::plan_users(desired, live, options.as_of, complete, &mut warnings, &mut conflicts);
    let groups = groups::plan_groups(desired, live, &users, complete, options, &mut warnings, &mut conflicts);

    // An empty `users` (or none at all) is not "unmanaged": the policy decides, and its
    // default deactivates everyone. Say so in so many words.
    if desired.users.is_empty()
        && desired.policy.unmanaged_users == UnmanagedUsers::Deactivate
        && users.n_active_live > 0
    {
        warnings.push(format!(
            "the files list no users, and policy.unmanaged_users is deactivate: every active live user ({}) \
             is planned for deactivation; to leave users alone instead, set policy.unmanaged_users: keep",
            users.n_active_live
        ));
    }
    let deactivation_rail = RailCheck::evaluate(
        Rail::Deactivations,
        users.deactivations.len() as u64,
        desired.policy.max_deactivations,
        users.n_active_live,
        options.allow_deactivations,
        &mut warnings,
    );
    let removals: u64 = groups
        .removes
        .iter()
        .chain(&groups.deletes)
        .map(|operation| match operation {
            Operation::RemoveMembers { members, .. } => members.len() as u64,
            _ => 1,
        })
        .sum();
    let removal_rail = RailCheck::evaluate(
        Rail::Removals,
        removals,
        desired.policy.max_removals,
        groups.n_live_memberships + groups.n_live_groups,
        options.allow_removals,
        &mut warnings,
    );
    let mut blockers = Vec::new();
    if let Completeness::Incomplete(reasons) = &live.completeness {
        blockers.push(Blocker::IncompleteView { reasons: reasons.clone() });
    }
    if !conflicts.is_empty() {
        let mut seen = std::collections::HashSet::new();
        conflicts.retain(|conflict| seen.insert(conflict.clone()));
        blockers.push(Blocker::Conflict { reasons: conflicts });
    }
    blockers.extend(deactivation_rail.blocker(Rail::Deactivations));
    blockers.extend(removal_rail.blocker(Rail::Removals));

    let operations: Vec<Operation> = [
        users.deactivations,
        users.updates,
        users.creates,
        groups.updates,
        groups.creates,
        groups.adds,
        groups.removes,
        groups.deletes,
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut operations =
        capabilities::fit_to_service(operations, desired, &options.capabilities, &mut warnings);
    revival::fill_groups(&mut operations, live);
    let seats = Seats::count(desired, live, &operations, options.allow_paid_seats, &mut warnings);
    blockers
        .extend(seats.as_ref().and_then(|s| s.rail.as_ref()).and_then(|rail| rail.blocker(Rail::PaidSeats)));
    let unmanaged = Unmanaged { users: users.kept, groups: groups.kept };
    let arrivals = arrivals::arrivals(live, &operations, &unmanaged, options.files_changed_at.as_deref());
    let summary = Summary::count(&operations, &unmanaged, &users.protected);
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|warning| seen.insert(warning.clone()));
    Plan {
        format_version: FORMAT_VERSION,
        live_fingerprint: String::new(),
        operations,
        unmanaged,
        protected: users.protected,
        deactivation_rail,
        removal_rail,
        blockers,
        warnings,
        summary,
        as_of: options.as_of,
        access: options.as_of.map(|as_of| AccessDates::judge(desired, as_of)),
        seats,
        arrivals,
    }
}

/// The sha256 (lower-case hex) of a canonical form of the live state: users and groups
/// sorted by id, members sorted, so that the order the service returned them in does
/// not matter, and every attribute and the completeness of the fetch included.
pub fn live_fingerprint(live: &LiveState) -> String {
    fingerprint::live_fingerprint(live)
}

/// The schema document: a plan, and optionally the desired state of a saved plan.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "roster plan",
    description = "A roster plan, as `roster plan --format json` prints it; a file written by \
                   `roster plan --out` also carries `desired` and `digest`."
)]
#[allow(dead_code)]
struct PlanDocument {
    #[serde(flatten)]
    plan: Plan,
    /// The desired state the plan was made from; present in saved plan files.
    #[serde(default)]
    desired: Option<DesiredState>,
    /// The sha256 of a saved plan's content (everything but this digest); present in
    /// saved plan files, where `roster apply --plan` refuses content that does not match.
    #[serde(default)]
    digest: Option<String>,
}

/// The JSON Schema of a plan (`--format json`) and of a saved plan file (`--out`).
///
/// Draft 7, like the schema of the desired-state file, since editors and validators
/// support it best.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<PlanDocument>().to_value();
    unwrap_descriptions(&mut schema);
    schema
}

/// Joins the lines of each description (doc comments wrap at the source's width) into
/// flowing paragraphs, which editors display better.
fn unwrap_descriptions(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(object) => {
            if let Some(Value::String(description)) = object.get_mut("description") {
                *description =
                    description.split("\n\n").map(|p| p.replace('\n', " ")).collect::<Vec<_>>().join("\n\n");
            }
            object.values_mut().for_each(unwrap_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// Compares a saved plan with a fresh one. Empty when their operations are the same;
/// otherwise one line per difference, for refusing a stale plan.
pub fn compare(saved: &Plan, fresh: &Plan) -> Vec<String> {
    if saved.operations == fresh.operations {
        return Vec::new();
    }
    const SHOWN: usize = 20;
    let mut lines = Vec::new();
    let mut remaining: std::collections::HashMap<&Operation, usize> = std::collections::HashMap::new();
    for operation in &fresh.operations {
        *remaining.entry(operation).or_default() += 1;
    }
    let mut only_saved = Vec::new();
    for operation in &saved.operations {
        match remaining.get_mut(operation) {
            Some(n) if *n > 0 => *n -= 1,
            _ => only_saved.push(operation),
        }
    }
    let mut matched: std::collections::HashMap<&Operation, usize> = std::collections::HashMap::new();
    for operation in &saved.operations {
        *matched.entry(operation).or_default() += 1;
    }
    let mut only_fresh = Vec::new();
    for operation in &fresh.operations {
        match matched.get_mut(operation) {
            Some(n) if *n > 0 => *n -= 1,
            _ => only_fresh.push(operation),
        }
    }
    for operation in &only_saved {
        lines.push(format!(
            "the saved plan would {}, which the live state no longer needs",
            operation.describe()
        ));
    }
    for operation in &only_fresh {
        lines.push(format!(
            "the live state now needs to {}, which the saved plan lacks",
            operation.describe()
        ));
    }
    if lines.is_empty() {
        lines.push("the saved plan has the same operations in a different order".into());
    }
    if lines.len() > SHOWN {
        let more = lines.len() - SHOWN;
        lines.truncate(SHOWN);
        lines.push(format!("… and {more} more differences"));
    }
    lines
}
