//! Runs a plan against a SCIM service: phase by phase, with bounded concurrency within
//! a phase, resolving the ids of users and groups created on the way, and skipping the
//! operations that depend on one that failed.
//!
//! The service is reached through the [`Writer`] trait, so that the ordering, dependency
//! and skip logic here is tested against an in-memory writer, without sockets;
//! `roster_client::WriteClient` implements it in [`client`].
//!
//! A failure never stops independent operations, and nothing here retries: retries,
//! rate limits and the adoption of resources created by a lost response belong to the
//! client. Running apply again after a partial run converges, because the next plan is
//! computed afresh from the live state.

mod client;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use roster_model::identity::group_key;
use roster_model::{UserAttributes, UserChanges, UserKey};
use roster_plan::{MemberRef, Operation, Plan};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the report format.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// One HTTP request as the report shows it: never a header, never a body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The path below the SCIM base URL, with its query.
    pub path: String,
    /// The final status; `None` when no response arrived.
    pub status: Option<u16>,
    /// How many times the request was sent.
    pub attempts: u32,
}

/// How an operation's effect was confirmed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Verified {
    /// The service's answer showed the change.
    Answer,
    /// The answer showed nothing (or otherwise), and reading the resource back showed
    /// the change.
    ReadBack,
    /// The answer showed nothing and the change is not security-relevant; the re-plan
    /// after apply found nothing left to do.
    Replan,
    /// Not confirmed: the operation failed or was skipped, or the answer showed nothing
    /// and the re-plan after apply did not run or still differed.
    #[default]
    No,
}

/// A write that succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written<T> {
    /// What the write produced (the id of a created resource, or nothing).
    pub value: T,
    /// The requests it took.
    pub requests: Vec<RequestRecord>,
    /// True when a create adopted an existing resource instead: one created by its own
    /// lost response, or one that appeared since the plan (another apply's).
    pub adopted: bool,
    /// Why a create adopted, for the report, where the writer says.
    pub adoption: Option<String>,
    /// How the effect was confirmed; [`Verified::No`] when the answer showed nothing.
    pub verified: Verified,
}

impl<T> Written<T> {
    /// The same write with its value dropped, once the caller has taken what it needs.
    fn without_value(self) -> Written<()> {
        Written {
            value: (),
            requests: self.requests,
            adopted: self.adopted,
            adoption: self.adoption,
            verified: self.verified,
        }
    }
}

/// A write that failed after the client's retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteFailure {
    /// What went wrong, for people.
    pub message: String,
    /// The requests it took.
    pub requests: Vec<RequestRecord>,
}

/// The result of one write.
pub type WriteResult<T> = Result<Written<T>, WriteFailure>;

/// The writes a plan needs. There is no way to delete a user.
pub trait Writer: Sync {
    /// `POST /Users`; yields the new user's id.
    fn create_user(&self, attributes: &UserAttributes) -> impl Future<Output = WriteResult<String>> + Send;
    /// A minimal update of a user (`active` included).
    fn update_user(&self, id: &str, changes: &UserChanges) -> impl Future<Output = WriteResult<()>> + Send;
    /// `POST /Groups` with its first members; yields the new group's id.
    fn create_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        member_ids: &[String],
    ) -> impl Future<Output = WriteResult<String>> + Send;
    /// Renames a group.
    fn rename_group(&self, id: &str, display_name: &str) -> impl Future<Output = WriteResult<()>> + Send;
    /// Sets a group's externalId.
    fn set_group_external_id(
        &self,
        id: &str,
        external_id: &str,
    ) -> impl Future<Output = WriteResult<()>> + Send;
    /// Adds members to a group.
    fn add_members(
        &self,
        group_id: &str,
        member_ids: &[String],
    ) -> impl Future<Output = WriteResult<()>> + Send;
    /// Removes members from a group.
    fn remove_members(
        &self,
        group_id: &str,
        member_ids: &[String],
    ) -> impl Future<Output = WriteResult<()>> + Send;
    /// Deletes a group (never a user).
    fn delete_group(&self, id: &str) -> impl Future<Output = WriteResult<()>> + Send;
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The service accepted it.
    Done,
    /// A create found the resource already there and took it over: one its own lost
    /// response had created, or one that appeared since the plan as the plan creates it.
    Adopted,
    /// The service refused it, or it failed after retries.
    Failed,
    /// Not attempted: it depended on an operation that failed, or apply was interrupted.
    Skipped,
}

/// One operation of the plan, as it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationReport {
    /// The operation's position in the plan, from zero.
    pub index: usize,
    /// The operation, as the plan gives it.
    pub operation: Operation,
    /// A line for people.
    pub description: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How the service confirmed it: by its answer, a read-back, or the re-plan after
    /// apply; `no` when nothing did.
    pub verified: Verified,
    /// Why it failed or was skipped, or what else a reviewer should know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Members left out because the user they name was not created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_members: Vec<String>,
    /// The requests it took, in order.
    pub requests: Vec<RequestRecord>,
    /// The ids this run learned for what the plan could only name: the id of a user or
    /// group it created, and for members of a group created in this run (or users
    /// created in it) the ids they were added by.
    #[serde(default, skip_serializing_if = "ResolvedIds::is_empty")]
    pub resolved_ids: ResolvedIds,
}

/// Ids that the plan could not know because the objects are created by the same run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedIds {
    /// The id of the user or group this operation created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The id of the group, created earlier in this run, that members were added to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The ids of members created earlier in this run, by userName.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub members: std::collections::BTreeMap<String, String>,
}

impl ResolvedIds {
    /// True when nothing was resolved.
    pub fn is_empty(&self) -> bool {
        self.created.is_none() && self.group.is_none() && self.members.is_empty()
    }
}

/// Counts of outcomes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplySummary {
    /// Operations done.
    pub done: u64,
    /// Creates that adopted an existing resource.
    pub adopted: u64,
    /// Operations that failed.
    pub failed: u64,
    /// Operations not attempted.
    pub skipped: u64,
    /// Memberships left out because their user was not created.
    pub skipped_members: u64,
    /// HTTP requests sent, retries and read-backs included.
    pub requests: u64,
    /// Operations done whose effect the service confirmed.
    pub verified: u64,
}

impl ApplySummary {
    /// True when everything the plan asked for happened.
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.skipped == 0 && self.skipped_members == 0
    }
}

/// What `apply --report` writes: every operation with its requests and outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Always [`REPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The commit the desired state came from (`GITHUB_SHA` where set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version of roster that applied the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster_version: Option<String>,
    /// When apply started sending, RFC 3339 in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When apply ended, RFC 3339 in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The host (and port) of the SCIM service applied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_host: Option<String>,
    /// The fingerprint of the live state the plan was made from.
    pub live_fingerprint: String,
    /// Every operation of the plan, in plan order.
    pub operations: Vec<OperationReport>,
    /// Counts of outcomes.
    pub summary: ApplySummary,
    /// What the plan made after apply, from a fresh fetch, still wants to do: changes
    /// the service did not take, one line per operation. Empty when it converged; `None`
    /// when it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_taken: Option<Vec<String>>,
}

impl ApplyReport {
    /// Records the re-plan after apply: its operations are changes the service did not
    /// take, except those this run skipped (never sent), which the summary already
    /// counts. An operation done whose answer showed nothing is confirmed by the re-plan
    /// when no remaining operation touches the same user or group.
    pub fn record_replan(&mut self, remaining: &Plan) {
        let skipped: Vec<&Operation> =
            self.operations.iter().filter(|r| r.outcome == Outcome::Skipped).map(|r| &r.operation).collect();
        let lines: Vec<String> = remaining
            .operations
            .iter()
            .filter(|op| !skipped.contains(op))
            .map(|op| format!("{}: not taken by the service", op.describe()))
            .collect();
        let touched: std::collections::HashSet<String> =
            remaining.operations.iter().flat_map(objects_of).collect();
        for report in &mut self.operations {
            if matches!(report.outcome, Outcome::Done | Outcome::Adopted)
                && report.verified == Verified::No
                && !objects_of(&report.operation).iter().any(|object| touched.contains(object))
            {
                report.verified = Verified::Replan;
            }
        }
        self.summary.verified = count_verified(&self.operations);
        self.not_taken = Some(lines);
    }
}

/// The users and groups an operation touches, as keys: by id, and by name where the
/// operation creates or names the object (a group created by this run has no id in the
/// plan).
fn objects_of(operation: &Operation) -> Vec<String> {
    let group_name = |name: &str| format!("group name {}", roster_model::identity::group_key(name));
    match operation {
        Operation::DeactivateUser { id, .. }
        | Operation::UpdateUser { id, .. }
        | Operation::ReactivateUser { id, .. } => vec![format!("user {id}")],
        Operation::CreateUser { attributes, .. } => vec![format!("user name {}", attributes.key())],
        Operation::CreateGroup { display_name, .. } => vec![group_name(display_name)],
        Operation::RenameGroup { id, from, to } => {
            vec![format!("group {id}"), group_name(from), group_name(to)]
        }
        Operation::SetGroupExternalId { id, group, .. } => vec![format!("group {id}"), group_name(group)],
        Operation::AddMembers { group_id, group, .. } => {
            let mut keys = vec![group_name(group)];
            keys.extend(group_id.as_ref().map(|id| format!("group {id}")));
            keys
        }
        Operation::RemoveMembers { group_id, group, .. } => {
            vec![format!("group {group_id}"), group_name(group)]
        }
        Operation::DeleteGroup { id, display_name, .. } => {
            vec![format!("group {id}"), group_name(display_name)]
        }
    }
}

fn count_verified(reports: &[OperationReport]) -> u64 {
    reports.iter().filter(|r| r.verified != Verified::No).count() as u64
}

/// Knobs of a run.
#[derive(Debug)]
pub struct ApplyOptions {
    /// Operations in flight at once within a phase.
    pub concurrency: usize,
    /// Set (from a signal handler) to stop starting operations; those not started are
    /// reported as skipped.
    pub interrupted: AtomicBool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { concurrency: 4, interrupted: AtomicBool::new(false) }
    }
}

/// What earlier operations created, so that later ones can name it by id.
#[derive(Default)]
struct Created {
    /// Ids of users created by this run, by userName key.
    users: HashMap<UserKey, String>,
    /// Ids of groups created by this run, by displayName as the plan writes it.
    groups: HashMap<String, String>,
    /// Names (by the identity key) that a failed rename did not free: a create taking one would meet
    /// the very resource the rename was to move away, and must not adopt it.
    not_freed: std::collections::HashSet<String>,
}

impl Created {
    /// The ids of the members that can be named, and the userNames of those that cannot;
    /// the ids learned from this run's creates are recorded in `resolved`.
    fn resolve(&self, members: &[MemberRef], resolved: &mut ResolvedIds) -> (Vec<String>, Vec<String>) {
        let mut ids = Vec::with_capacity(members.len());
        let mut unresolved = Vec::new();
        for member in members {
            if let Some(id) = &member.id {
                ids.push(id.clone());
            } else if let Some(id) = self.users.get(&UserKey::new(&member.user_name)) {
                resolved.members.insert(member.user_name.clone(), id.clone());
                ids.push(id.clone());
            } else {
                unresolved.push(member.user_name.clone());
            }
        }
        (ids, unresolved)
    }
}

/// Applies a plan. The plan must not be blocked; the caller checks that.
///
/// `on_done` is called as each operation ends, in the order they end, for progress.
/// The report lists the operations in plan order whatever order they ended in.
pub async fn apply<W: Writer>(
    plan: &Plan,
    writer: &W,
    options: &ApplyOptions,
    commit: Option<String>,
    mut on_done: impl FnMut(&OperationReport),
) -> ApplyReport {
    let mut created = Created::default();
    let mut reports = Vec::with_capacity(plan.operations.len());
    let mut index = 0;
    for step in plan.steps() {
        let first = index;
        index += step.len();
        let created_so_far = &created;
        let runs = step.iter().enumerate().map(|(offset, operation)| async move {
            let index = first + offset;
            if options.interrupted.load(Ordering::SeqCst) {
                return (
                    skipped(index, operation, "apply was interrupted before this operation started"),
                    None,
                );
            }
            run_one(index, operation, writer, created_so_far).await
        });
        let mut in_flight = futures_util::stream::iter(runs).buffer_unordered(options.concurrency.max(1));
        let mut results: Vec<(OperationReport, Option<CreatedId>)> = Vec::with_capacity(step.len());
        while let Some(result) = in_flight.next().await {
            on_done(&result.0);
            results.push(result);
        }
        drop(in_flight);
        // What this step created is known to the next one; the operations of one step
        // never depend on each other.
        results.sort_by_key(|(report, _)| report.index);
        for (report, new_id) in results {
            if report.outcome == Outcome::Failed
                && let Some(name) = freed_name(&report.operation)
            {
                created.not_freed.insert(name);
            }
            match new_id {
                Some(CreatedId::User(key, id)) => {
                    created.users.insert(key, id);
                }
                Some(CreatedId::Group(name, id)) => {
                    created.groups.insert(name, id);
                }
                None => {}
            }
            reports.push(report);
        }
    }
    let mut summary = ApplySummary::default();
    for report in &reports {
        match report.outcome {
            Outcome::Done => summary.done += 1,
            Outcome::Adopted => summary.adopted += 1,
            Outcome::Failed => summary.failed += 1,
            Outcome::Skipped => summary.skipped += 1,
        }
        summary.skipped_members += report.skipped_members.len() as u64;
        summary.requests += report.requests.iter().map(|r| u64::from(r.attempts)).sum::<u64>();
    }
    summary.verified = count_verified(&reports);
    ApplyReport {
        format_version: REPORT_FORMAT_VERSION,
        commit,
        // The caller knows the clock, the version and the service; this crate reads none.
        roster_version: None,
        started_at: None,
        finished_at: None,
        target_host: None,
        live_fingerprint: plan.live_fingerprint.clone(),
        operations: reports,
        summary,
        not_taken: None,
    }
}

/// An id learned from a create, keyed the way later operations look it up.
enum CreatedId {
    User(UserKey, String),
    Group(String, String),
}

fn skipped(index: usize, operation: &Operation, why: &str) -> OperationReport {
    OperationReport {
        index,
        operation: operation.clone(),
        description: operation.describe(),
        outcome: Outcome::Skipped,
        verified: Verified::No,
        message: Some(why.to_owned()),
        skipped_members: Vec::new(),
        requests: Vec::new(),
        resolved_ids: ResolvedIds::default(),
    }
}

/// The name (by the identity key) a rename frees for a later create, if it is one.
fn freed_name(operation: &Operation) -> Option<String> {
    match operation {
        Operation::UpdateUser { user_name, changes, .. }
        | Operation::ReactivateUser { user_name, changes, .. } => {
            changes.user_name.as_ref().map(|_| format!("user {}", UserKey::new(user_name)))
        }
        Operation::RenameGroup { from, .. } => Some(format!("group {}", group_key(from))),
        _ => None,
    }
}

/// The name (by the identity key) a create takes.
fn taken_name(operation: &Operation) -> Option<String> {
    match operation {
        Operation::CreateUser { attributes, .. } => Some(format!("user {}", attributes.key())),
        Operation::CreateGroup { display_name, .. } => Some(format!("group {}", group_key(display_name))),
        _ => None,
    }
}

async fn run_one<W: Writer>(
    index: usize,
    operation: &Operation,
    writer: &W,
    created: &Created,
) -> (OperationReport, Option<CreatedId>) {
    if let Some(name) = taken_name(operation)
        && created.not_freed.contains(&name)
    {
        return (skipped(index, operation, "the rename that was to free its name failed"), None);
    }
    let mut skipped_members = Vec::new();
    let mut new_id = None;
    let mut resolved_ids = ResolvedIds::default();
    let result: WriteResult<()> = match operation {
        Operation::DeactivateUser { id, .. } => {
            writer.update_user(id, &UserChanges { active: Some(false), ..UserChanges::default() }).await
        }
        Operation::CreateUser { attributes, .. } => writer.create_user(attributes).await.map(|written| {
            resolved_ids.created = Some(written.value.clone());
            new_id = Some(CreatedId::User(attributes.key(), written.value.clone()));
            written.without_value()
        }),
        Operation::UpdateUser { id, changes, .. } | Operation::ReactivateUser { id, changes, .. } => {
            writer.update_user(id, changes).await
        }
        Operation::CreateGroup { display_name, external_id, members } => {
            let (ids, unresolved) = created.resolve(members, &mut resolved_ids);
            skipped_members = unresolved;
            writer.create_group(display_name, external_id.as_deref(), &ids).await.map(|written| {
                resolved_ids.created = Some(written.value.clone());
                new_id = Some(CreatedId::Group(display_name.clone(), written.value.clone()));
                written.without_value()
            })
        }
        Operation::RenameGroup { id, to, .. } => writer.rename_group(id, to).await,
        Operation::SetGroupExternalId { id, to, .. } => writer.set_group_external_id(id, to).await,
        Operation::AddMembers { group_id, group, members } => {
            let Some(group_id) = group_id.clone().or_else(|| {
                let id = created.groups.get(group).cloned();
                resolved_ids.group.clone_from(&id);
                id
            }) else {
                return (skipped(index, operation, &format!("group {group:?} was not created")), None);
            };
            let (ids, unresolved) = created.resolve(members, &mut resolved_ids);
            skipped_members = unresolved;
            if ids.is_empty() {
                let mut report = skipped(index, operation, "none of its users was created");
                report.skipped_members = skipped_members;
                return (report, None);
            }
            writer.add_members(&group_id, &ids).await
        }
        Operation::RemoveMembers { group_id, members, .. } => {
            let ids: Vec<String> = members.iter().filter_map(|m| m.id.clone()).collect();
            writer.remove_members(group_id, &ids).await
        }
        Operation::DeleteGroup { id, .. } => writer.delete_group(id).await,
    };
    let (outcome, message, requests, verified) = match result {
        Ok(written) if written.adopted => (
            Outcome::Adopted,
            Some(
                written
                    .adoption
                    .unwrap_or_else(|| "adopted the resource a lost response had created".to_owned()),
            ),
            written.requests,
            written.verified,
        ),
        Ok(written) => (Outcome::Done, None, written.requests, written.verified),
        Err(failure) => (Outcome::Failed, Some(failure.message), failure.requests, Verified::No),
    };
    let message = match (&message, skipped_members.is_empty()) {
        (None, false) => Some(format!(
            "left out {} because {} not created: {}",
            plural(skipped_members.len(), "member"),
            if skipped_members.len() == 1 { "it was" } else { "they were" },
            skipped_members.join(", ")
        )),
        _ => message,
    };
    match outcome {
        Outcome::Failed => {
            tracing::warn!(operation = %operation.describe(), "failed: {}", message.as_deref().unwrap_or(""))
        }
        _ => tracing::debug!(operation = %operation.describe(), ?outcome, "done"),
    }
    let report = OperationReport {
        index,
        operation: operation.clone(),
        description: operation.describe(),
        outcome,
        verified,
        message,
        skipped_members,
        requests,
        resolved_ids,
    };
    (report, if outcome == Outcome::Failed { None } else { new_id })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}
