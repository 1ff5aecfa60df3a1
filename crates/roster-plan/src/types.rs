//! The plan as a value: what `roster plan --format json` prints and `--out` saves.

use roster_model::{Date, RailLimit, ServiceCapabilities, Timestamp, UserAttributes, UserChanges};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the plan format written into every plan. It changes only when a
/// reader of version 1 would misread a newer plan.
pub const FORMAT_VERSION: u32 = 1;

/// Knobs that the command line passes to the planner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--allow-deactivations N`: lets a plan over the deactivation rail through, but
    /// only when it deactivates exactly `N` users.
    pub allow_deactivations: Option<u64>,
    /// `--allow-removals N`: lets a plan over the removal rail through, but only when it
    /// removes exactly `N` memberships and groups.
    pub allow_removals: Option<u64>,
    /// The most members one add or remove request may carry; larger changes are split.
    /// Zero is treated as one.
    pub max_members_per_request: usize,
    /// What the service keeps and supports, from its discovery documents; attributes it
    /// cannot hold are not planned.
    pub capabilities: ServiceCapabilities,
    /// The day dates in the file are judged on (`--as-of`, by default today in UTC, which
    /// the command line reads: the planner reads no clock). `None` judges no date: no
    /// access expires and no section lists dates.
    pub as_of: Option<Date>,
    /// `--allow-paid-seats N`: lets a plan over `policy.max_paid_seats` through, but only
    /// when it leaves exactly `N` paid seats.
    pub allow_paid_seats: Option<u64>,
    /// When (RFC 3339) the last commit that changed the desired files was made, read
    /// from git by the command line; arrivals created after it are marked new. `None`
    /// outside git: no arrival is marked.
    pub files_changed_at: Option<String>,
    /// The time the plan is made at, from the command line's clock (the planner reads
    /// none). Only an empty duplicate team created within the hour before it may be
    /// deleted; without it, none is.
    pub now: Option<Timestamp>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            allow_deactivations: None,
            allow_removals: None,
            max_members_per_request: 100,
            capabilities: ServiceCapabilities::default(),
            as_of: None,
            allow_paid_seats: None,
            files_changed_at: None,
            now: None,
        }
    }
}

/// A reviewed, ordered list of changes from the live state to the desired state.
///
/// The same inputs always give the same plan, down to the bytes of its JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The version of the plan format, always 1 here; a reader refuses a version it does
    /// not know.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// The sha256 (hex) of the live state the plan was made from, so that a saved plan can
    /// tell whether the service changed since.
    pub live_fingerprint: String,
    /// The changes, in the order they must be applied.
    pub operations: Vec<Operation>,
    /// Live users and groups that the file does not describe and that the plan leaves alone.
    pub unmanaged: Unmanaged,
    /// Users that the plan would have deactivated but that `policy.protected` spares.
    pub protected: Vec<ProtectedUser>,
    /// How the plan's deactivations compare with `max_deactivations`.
    pub deactivation_rail: RailCheck,
    /// How the plan's member removals and group deletions compare with `max_removals`.
    pub removal_rail: RailCheck,
    /// Reasons the plan must not be applied; empty when it may be.
    pub blockers: Vec<Blocker>,
    /// Things a reviewer should know that do not block the plan.
    pub warnings: Vec<String>,
    /// Counts of the operations.
    pub summary: Summary,
    /// The day the file's dates were judged on (`--as-of`); a saved plan is applied
    /// with the same day. Absent when no date was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Date>,
    /// Expired, expiring and review-due access, judged on `asOf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<crate::access::AccessDates>,
    /// Paid seats before and after the plan; absent without a seat model (`generic`
    /// without `paid_roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<crate::seats::Seats>,
    /// Live users the file does not list (kept by policy or deactivated as unmanaged),
    /// with when the service created them, sorted by userName.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arrivals: Vec<crate::arrivals::Arrival>,
}

/// One change. Users are never deleted: there is no operation for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Operation {
    /// `PATCH active=false` on a user.
    DeactivateUser {
        /// The user's id.
        id: String,
        /// The user's userName, for people.
        user_name: String,
        /// Why the user is deactivated.
        reason: DeactivationReason,
        /// The user's displayName as the service holds it, so that reviewers see who
        /// loses access; not sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        /// The user's title as the service holds it; not sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// The user's role as the service holds it (the seat the deactivation frees);
        /// not sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    /// `POST /Users`.
    CreateUser {
        /// The attributes to create the user with; unset ones are left to the service.
        attributes: UserAttributes,
    },
    /// A minimal `PATCH` of an active user's attributes.
    UpdateUser {
        /// The user's id.
        id: String,
        /// The user's current userName.
        user_name: String,
        /// The user as the service holds it now.
        before: UserAttributes,
        /// Only what differs; unset attributes stay as they are.
        changes: UserChanges,
    },
    /// A `PATCH` of an inactive user with `active=true` and any other changes.
    ReactivateUser {
        /// The user's id.
        id: String,
        /// The user's current userName.
        user_name: String,
        /// The user as the service holds it now.
        before: UserAttributes,
        /// `active: true` plus only what else differs.
        changes: UserChanges,
        /// Everything the account comes back with once the plan is applied, so that a
        /// reviewer sees a former account revived, with its role and teams.
        comes_back_with: Box<Revival>,
    },
    /// `POST /Groups`, with the first members.
    CreateGroup {
        /// The new group's name.
        display_name: String,
        /// The new group's externalId.
        external_id: Option<String>,
        /// The first members; further ones follow in `addMembers` operations that name the
        /// group with a null `groupId`.
        members: Vec<MemberRef>,
    },
    /// A `PATCH` of a group's displayName.
    RenameGroup {
        /// The group's id.
        id: String,
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A `PATCH` of a group's externalId, so that later renames in the file still match.
    SetGroupExternalId {
        /// The group's id.
        id: String,
        /// The group's name once this plan's renames are done (the file's name, unless
        /// its rename is left out).
        group: String,
        /// The current externalId.
        from: Option<String>,
        /// The new externalId.
        to: String,
    },
    /// A `PATCH` adding members to a group, at most `max_members_per_request` of them.
    AddMembers {
        /// The group's id; null when the group is created by this plan, in which case
        /// `group` names it.
        group_id: Option<String>,
        /// The group's name once this plan's renames are done (the file's name, unless
        /// its rename is left out).
        group: String,
        /// The members to add, sorted.
        members: Vec<MemberRef>,
    },
    /// A `PATCH` removing members from a group, at most `max_members_per_request` of them.
    RemoveMembers {
        /// The group's id.
        group_id: String,
        /// The group's name once this plan's renames are done (the file's name, unless
        /// its rename is left out).
        group: String,
        /// The members to remove, sorted.
        members: Vec<MemberRef>,
    },
    /// `DELETE /Groups/{id}`, only under `unmanaged_groups: delete`.
    DeleteGroup {
        /// The group's id.
        id: String,
        /// The group's name.
        display_name: String,
        /// True when the group is an empty duplicate of a team the file describes,
        /// created within the hour before the plan (a warning names both).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        empty_duplicate: bool,
    },
}

/// What a reactivated account comes back with once the plan is applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revival {
    /// The attributes after apply: the service's, with the plan's changes made. The
    /// file leaves the rest unmanaged, so the account keeps them as they were.
    pub attributes: UserAttributes,
    /// The groups the account is a member of after apply, by name, sorted: the ones it
    /// kept while deactivated, less the removals and plus the additions of this plan.
    pub groups: Vec<String>,
    /// The externalId the account keeps although the file gives none: the identity
    /// provider's id of a former employee, whose account (not a new one) comes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_external_id: Option<String>,
}

/// A user named as a group member.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberRef {
    /// The user's userName.
    pub user_name: String,
    /// The user's id; null when the user is created by this plan, and apply resolves it
    /// from the create's response.
    pub id: Option<String>,
    /// For a removal: the day the membership expired (its `expires` in the file), when
    /// that is why it is removed. Not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<Date>,
}

/// Why a user is deactivated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeactivationReason {
    /// The file lists the user with `active: false`.
    Tombstone,
    /// The file does not list the user and `unmanaged_users` is `deactivate`.
    Unmanaged,
    /// The user's `expires` day in the file has come (on or before the as-of day).
    Expired(Date),
    /// A multi-target file lists the user, but the user's `apps` does not give this
    /// target's app (see [`roster_model::DesiredState::for_target`]).
    NotInApps(roster_model::AppRevocation),
}

/// Live objects the plan leaves alone although the file does not describe them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unmanaged {
    /// Active live users that no desired user matches, sorted by userName.
    pub users: Vec<KeptUser>,
    /// Live groups that no desired group matches, sorted by displayName.
    pub groups: Vec<KeptGroup>,
}

/// Why a live object is kept although the file does not describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum KeptReason {
    /// The policy keeps unmanaged objects.
    Policy,
    /// Matching was ambiguous, so the planner does not touch the object; a blocker says why.
    Ambiguous,
}

/// A live user the plan leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeptUser {
    /// The user's id.
    pub id: String,
    /// The user's userName.
    pub user_name: String,
    /// Why the user is kept.
    pub reason: KeptReason,
}

/// A live group the plan leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeptGroup {
    /// The group's id.
    pub id: String,
    /// The group's name.
    pub display_name: String,
    /// Why the group is kept.
    pub reason: KeptReason,
}

/// A user spared from deactivation by `policy.protected`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedUser {
    /// The user's id.
    pub id: String,
    /// The user's userName.
    pub user_name: String,
    /// Why the user would otherwise have been deactivated.
    pub reason: DeactivationReason,
}

/// A safety rail: a kind of destructive step that one plan may hold only so many of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rail {
    /// User deactivations, limited by `policy.max_deactivations`.
    Deactivations,
    /// Member removals and group deletions, limited by `policy.max_removals`.
    Removals,
    /// Paid seats after the plan, limited by `policy.max_paid_seats`.
    PaidSeats,
}

impl Rail {
    /// The policy key that sets the limit.
    pub fn setting_name(self) -> &'static str {
        match self {
            Rail::Deactivations => "max_deactivations",
            Rail::Removals => "max_removals",
            Rail::PaidSeats => "max_paid_seats",
        }
    }

    /// The command-line flag that lets an exact number through.
    pub fn flag(self) -> &'static str {
        match self {
            Rail::Deactivations => "--allow-deactivations",
            Rail::Removals => "--allow-removals",
            Rail::PaidSeats => "--allow-paid-seats",
        }
    }

    /// What the plan does `n` times, for messages: "deactivates 3 users".
    fn what(self, n: u64) -> String {
        match self {
            Rail::Deactivations => format!("deactivates {n} {}", if n == 1 { "user" } else { "users" }),
            Rail::Removals => format!(
                "makes {n} {} (members removed from groups, and groups deleted)",
                if n == 1 { "removal" } else { "removals" }
            ),
            Rail::PaidSeats => format!("leaves {n} paid {}", if n == 1 { "seat" } else { "seats" }),
        }
    }
}

/// A safety rail, evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RailCheck {
    /// Steps of the rail's kind in the plan: deactivations, or member removals plus
    /// group deletions.
    pub planned: u64,
    /// The most allowed without an override.
    pub limit: u64,
    /// The policy's setting (`max_deactivations` or `max_removals`) as the file sets it.
    pub setting: RailLimit,
    /// The base of a percentage limit: the active live users for deactivations, the live
    /// memberships (of known users) plus live groups for removals.
    pub base: u64,
    /// The `--allow-deactivations` or `--allow-removals` value given, if any. Taken from
    /// the command line of each run, never from a saved plan.
    pub allow: Option<u64>,
    /// The verdict.
    pub status: RailStatus,
}

impl RailCheck {
    /// Evaluates a rail: `planned` steps against `setting` (a percentage of `base`), with
    /// the override `allow`. An override that is not needed, or does not match, is said
    /// so in a warning; only the exact number lets a plan over the limit through.
    pub(crate) fn evaluate(
        rail: Rail,
        planned: u64,
        setting: RailLimit,
        base: u64,
        allow: Option<u64>,
        warnings: &mut Vec<String>,
    ) -> RailCheck {
        let limit = setting.max_for(base);
        let status = if planned <= limit {
            if let Some(given) = allow.filter(|&given| given != planned) {
                warnings.push(format!(
                    "{} {given} has no effect: the plan {}, within the limit of {limit}",
                    rail.flag(),
                    rail.what(planned),
                ));
            }
            RailStatus::WithinLimit
        } else if allow == Some(planned) {
            RailStatus::AllowedByOverride
        } else {
            RailStatus::OverLimit
        };
        RailCheck { planned, limit, setting, base, allow, status }
    }

    /// A note for reviewers when an override let the plan past the limit, such as "the
    /// plan deactivates 12 users, more than the limit of 10 (max_deactivations: 10),
    /// allowed by --allow-deactivations 12".
    pub fn override_note(&self, rail: Rail) -> Option<String> {
        (self.status == RailStatus::AllowedByOverride).then(|| {
            format!(
                "the plan {}, more than the limit of {} ({}: {}), allowed by {} {}",
                rail.what(self.planned),
                self.limit,
                rail.setting_name(),
                self.setting,
                rail.flag(),
                self.planned
            )
        })
    }

    /// The blocker this check raises, if it is over its limit.
    pub(crate) fn blocker(&self, rail: Rail) -> Option<Blocker> {
        (self.status == RailStatus::OverLimit).then(|| {
            let exceeded = RailExceeded {
                planned: self.planned,
                limit: self.limit,
                setting: self.setting,
                allow: self.allow,
            };
            match rail {
                Rail::Deactivations => Blocker::DeactivationRail(exceeded),
                Rail::Removals => Blocker::RemovalRail(exceeded),
                Rail::PaidSeats => Blocker::PaidSeatRail(exceeded),
            }
        })
    }
}

/// A rail's limit passed without the exact override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RailExceeded {
    /// Steps of the rail's kind in the plan.
    pub planned: u64,
    /// The most allowed without an override.
    pub limit: u64,
    /// The policy's setting as the file sets it.
    pub setting: RailLimit,
    /// The override given, which did not match `planned`.
    pub allow: Option<u64>,
}

impl RailExceeded {
    fn headline(&self, rail: Rail) -> String {
        let RailExceeded { planned, limit, setting, allow } = self;
        let over = format!(
            "the plan {}, more than the limit of {limit} ({}: {setting})",
            rail.what(*planned),
            rail.setting_name()
        );
        let these = if *planned == 1 { "this one".to_string() } else { format!("these {planned}") };
        let flag = rail.flag();
        match allow {
            Some(given) => format!(
                "{over}; {flag} {given} does not match: pass {flag} {planned} to allow exactly {these}"
            ),
            None => format!("{over}; review them, then pass {flag} {planned} to allow exactly {these}"),
        }
    }
}

/// The verdict of a safety rail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RailStatus {
    /// No more deactivations than the limit.
    WithinLimit,
    /// Over the limit, but `--allow-deactivations` names exactly the planned number.
    AllowedByOverride,
    /// Over the limit: the plan is blocked.
    OverLimit,
}

/// A reason the plan must not be applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Blocker {
    /// More deactivations than `max_deactivations` allows, without the exact override.
    DeactivationRail(RailExceeded),
    /// More member removals and group deletions than `max_removals` allows, without the
    /// exact override.
    RemovalRail(RailExceeded),
    /// More paid seats after the plan than `max_paid_seats` allows, added by this plan,
    /// without the exact override.
    PaidSeatRail(RailExceeded),
    /// The file and the live state disagree about who is who (an externalId and a
    /// userName that point at different accounts, a second account under a current or
    /// previous name, a name that stays taken): applying any part of the plan could act
    /// on the wrong person, so none of it may be applied until the file or the service
    /// is fixed.
    Conflict {
        /// Each disagreement, for people.
        reasons: Vec<String>,
    },
    /// The live state was not fetched completely, so nothing destructive was planned.
    IncompleteView {
        /// What was missing or inconsistent, from the fetch.
        reasons: Vec<String>,
    },
}

impl Blocker {
    /// What blocks the plan and what to do about it, without the itemised reasons.
    pub fn headline(&self) -> String {
        match self {
            Blocker::DeactivationRail(exceeded) => exceeded.headline(Rail::Deactivations),
            Blocker::RemovalRail(exceeded) => exceeded.headline(Rail::Removals),
            Blocker::PaidSeatRail(exceeded) => exceeded.headline(Rail::PaidSeats),
            Blocker::Conflict { .. } => "the file and the live state disagree about who is who, so nothing may \
                be applied (fix the file's externalId, previously or userName, or the service, then plan again)"
                .to_string(),
            Blocker::IncompleteView { .. } => "the live state was not fetched completely, so no deactivation, \
                member removal or group deletion was planned"
                .to_string(),
        }
    }

    /// The itemised reasons, one per disagreement or gap; empty for the rail.
    pub fn reasons(&self) -> &[String] {
        match self {
            Blocker::DeactivationRail(_) | Blocker::RemovalRail(_) | Blocker::PaidSeatRail(_) => &[],
            Blocker::Conflict { reasons } | Blocker::IncompleteView { reasons } => reasons,
        }
    }

    /// The headline and the reasons in one sentence, for a single line of output.
    pub fn message(&self) -> String {
        let reasons = self.reasons();
        if reasons.is_empty() {
            self.headline()
        } else {
            format!("{}: {}", self.headline(), reasons.join("; "))
        }
    }
}

/// Counts of a plan's operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Users created.
    pub users_to_create: u64,
    /// Active users whose attributes change.
    pub users_to_update: u64,
    /// Inactive users made active again.
    pub users_to_reactivate: u64,
    /// Users deactivated.
    pub users_to_deactivate: u64,
    /// Groups created.
    pub groups_to_create: u64,
    /// Groups renamed or given an externalId.
    pub groups_to_update: u64,
    /// Groups deleted.
    pub groups_to_delete: u64,
    /// Memberships added, including the first members of created groups.
    pub members_to_add: u64,
    /// Memberships removed.
    pub members_to_remove: u64,
    /// Distinct groups whose members change.
    pub groups_with_member_changes: u64,
    /// Unmanaged live users left alone.
    pub users_kept: u64,
    /// Unmanaged live groups left alone.
    pub groups_kept: u64,
    /// Users spared by `policy.protected`.
    pub users_protected: u64,
}

impl Summary {
    /// Counts the operations of a plan.
    pub fn count(operations: &[Operation], unmanaged: &Unmanaged, protected: &[ProtectedUser]) -> Self {
        let mut summary = Summary {
            users_kept: unmanaged.users.len() as u64,
            groups_kept: unmanaged.groups.len() as u64,
            users_protected: protected.len() as u64,
            ..Summary::default()
        };
        let mut member_groups = std::collections::BTreeSet::new();
        let renamed: std::collections::HashSet<&str> = operations
            .iter()
            .filter_map(|op| match op {
                Operation::RenameGroup { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        for operation in operations {
            match operation {
                Operation::DeactivateUser { .. } => summary.users_to_deactivate += 1,
                Operation::CreateUser { .. } => summary.users_to_create += 1,
                Operation::UpdateUser { .. } => summary.users_to_update += 1,
                Operation::ReactivateUser { .. } => summary.users_to_reactivate += 1,
                Operation::CreateGroup { display_name, members, .. } => {
                    summary.groups_to_create += 1;
                    if !members.is_empty() {
                        summary.members_to_add += members.len() as u64;
                        member_groups.insert(display_name.as_str());
                    }
                }
                Operation::RenameGroup { .. } => summary.groups_to_update += 1,
                Operation::SetGroupExternalId { id, .. } => {
                    // A group renamed and re-keyed in one plan counts once.
                    if !renamed.contains(id.as_str()) {
                        summary.groups_to_update += 1;
                    }
                }
                Operation::AddMembers { group, members, .. } => {
                    summary.members_to_add += members.len() as u64;
                    member_groups.insert(group.as_str());
                }
                Operation::RemoveMembers { group, members, .. } => {
                    summary.members_to_remove += members.len() as u64;
                    member_groups.insert(group.as_str());
                }
                Operation::DeleteGroup { .. } => summary.groups_to_delete += 1,
            }
        }
        summary.groups_with_member_changes = member_groups.len() as u64;
        summary
    }

    /// Memberships added or removed.
    pub fn member_changes(&self) -> u64 {
        self.members_to_add + self.members_to_remove
    }

    /// True when the counts describe no operation at all.
    pub fn is_empty(&self) -> bool {
        self.users_to_create
            + self.users_to_update
            + self.users_to_reactivate
            + self.users_to_deactivate
            + self.groups_to_create
            + self.groups_to_update
            + self.groups_to_delete
            + self.member_changes()
            == 0
    }
}

impl Operation {
    /// The phase of the operation; operations are applied phase by phase in this order.
    pub fn phase(&self) -> Phase {
        match self {
            Operation::DeactivateUser { .. } => Phase::DeactivateUsers,
            Operation::UpdateUser { .. } | Operation::ReactivateUser { .. } => Phase::UpdateUsers,
            Operation::CreateUser { .. } => Phase::CreateUsers,
            Operation::CreateGroup { .. } => Phase::CreateGroups,
            Operation::RenameGroup { .. } | Operation::SetGroupExternalId { .. } => Phase::UpdateGroups,
            Operation::AddMembers { .. } => Phase::AddMembers,
            Operation::RemoveMembers { .. } => Phase::RemoveMembers,
            Operation::DeleteGroup { .. } => Phase::DeleteGroups,
        }
    }

    /// A short line naming the operation and its object, for messages.
    pub fn describe(&self) -> String {
        match self {
            Operation::DeactivateUser { user_name, id, .. } => {
                format!("deactivate user {user_name} (id {id})")
            }
            Operation::CreateUser { attributes } => format!("create user {}", attributes.user_name),
            Operation::UpdateUser { user_name, id, .. } => format!("update user {user_name} (id {id})"),
            Operation::ReactivateUser { user_name, id, .. } => {
                format!("reactivate user {user_name} (id {id})")
            }
            Operation::CreateGroup { display_name, members, .. } => {
                format!("create group {display_name:?} with {} {}", members.len(), member_word(members.len()))
            }
            Operation::RenameGroup { from, to, .. } => format!("rename group {from:?} to {to:?}"),
            Operation::SetGroupExternalId { group, to, .. } => {
                format!("set the externalId of group {group:?} to {to:?}")
            }
            Operation::AddMembers { group, members, .. } => {
                format!("add {} {} to group {group:?}", members.len(), member_word(members.len()))
            }
            Operation::RemoveMembers { group, members, .. } => {
                format!("remove {} {} from group {group:?}", members.len(), member_word(members.len()))
            }
            Operation::DeleteGroup { display_name, id, empty_duplicate: false } => {
                format!("delete group {display_name:?} (id {id})")
            }
            Operation::DeleteGroup { display_name, id, empty_duplicate: true } => {
                format!("delete group {display_name:?} (id {id}), an empty duplicate")
            }
        }
    }

    /// The folded name (userName or team name) this operation frees for others, if it
    /// renames something away from it.
    fn vacated_name(&self) -> Option<String> {
        match self {
            Operation::UpdateUser { user_name, changes, .. }
            | Operation::ReactivateUser { user_name, changes, .. } => {
                changes.user_name.as_ref().map(|_| user_name.to_lowercase())
            }
            Operation::RenameGroup { from, .. } => Some(from.to_lowercase()),
            _ => None,
        }
    }

    /// The folded name (userName or team name) this operation takes, if it renames
    /// something to it.
    fn claimed_name(&self) -> Option<String> {
        match self {
            Operation::UpdateUser { changes, .. } | Operation::ReactivateUser { changes, .. } => {
                changes.user_name.as_deref().map(str::to_lowercase)
            }
            Operation::RenameGroup { to, .. } => Some(to.to_lowercase()),
            _ => None,
        }
    }
}

fn member_word(n: usize) -> &'static str {
    if n == 1 { "member" } else { "members" }
}

/// The phases of applying a plan, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Deactivations come first: offboarding is the urgent part.
    DeactivateUsers,
    /// Updates and reactivations, before creates: a rename may free the userName a
    /// create takes.
    UpdateUsers,
    /// User creates.
    CreateUsers,
    /// Group renames and externalId changes, before group creates: a rename may free
    /// the name a create takes.
    UpdateGroups,
    /// Group creates, after user creates because they may name created users.
    CreateGroups,
    /// Member additions.
    AddMembers,
    /// Member removals.
    RemoveMembers,
    /// Group deletions, last.
    DeleteGroups,
}

impl Plan {
    /// The rails with their checks, deactivations first, then removals, then paid seats
    /// where the file sets `max_paid_seats`.
    pub fn rails(&self) -> Vec<(Rail, &RailCheck)> {
        let mut rails =
            vec![(Rail::Deactivations, &self.deactivation_rail), (Rail::Removals, &self.removal_rail)];
        if let Some(rail) = self.seats.as_ref().and_then(|s| s.rail.as_ref()) {
            rails.push((Rail::PaidSeats, rail));
        }
        rails
    }

    /// True when the plan has no operation (it may still carry warnings or blockers).
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// True when the plan must not be applied.
    pub fn is_blocked(&self) -> bool {
        !self.blockers.is_empty()
    }

    /// True when a safety rail (deactivations or removals) blocks the plan (the CLI
    /// exits 3).
    pub fn rail_blocked(&self) -> bool {
        self.blockers.iter().any(|b| {
            matches!(b, Blocker::DeactivationRail(_) | Blocker::RemovalRail(_) | Blocker::PaidSeatRail(_))
        })
    }

    /// True when the live view was incomplete (the CLI exits 1).
    pub fn incomplete(&self) -> bool {
        self.blockers.iter().any(|b| matches!(b, Blocker::IncompleteView { .. }))
    }

    /// True when the file and the live state disagree about who is who (the CLI exits 1).
    pub fn conflicted(&self) -> bool {
        self.blockers.iter().any(|b| matches!(b, Blocker::Conflict { .. }))
    }

    /// The operations cut into steps that must run one after another; the operations of
    /// one step are independent of each other and may run concurrently.
    ///
    /// A step holds operations of one [`Phase`]. Within the user and group updates, a
    /// rename to a name (ignoring case) that another rename in the step frees starts a
    /// new step, so that the name is free before it is taken.
    pub fn steps(&self) -> Vec<&[Operation]> {
        let mut steps = Vec::new();
        let mut start = 0;
        let mut vacated = std::collections::HashSet::new();
        for (index, operation) in self.operations.iter().enumerate() {
            let new_phase = index > start && operation.phase() != self.operations[index - 1].phase();
            let waits = operation.claimed_name().is_some_and(|name| vacated.contains(&name));
            if new_phase || waits {
                steps.push(&self.operations[start..index]);
                start = index;
                vacated.clear();
            }
            if let Some(name) = operation.vacated_name() {
                vacated.insert(name);
            }
        }
        if start < self.operations.len() {
            steps.push(&self.operations[start..]);
        }
        steps
    }
}
