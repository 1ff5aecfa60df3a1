//! Paid seats: how many the service holds before the plan and after it, per role, and
//! the `max_paid_seats` rail.

use std::collections::{BTreeMap, HashSet};

use roster_model::{DesiredState, LiveState, RailLimit};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{Operation, Rail, RailCheck, RailStatus};

/// Seats before and after the plan, by the file's seat model (the provider's, or
/// `paid_roles`). Only active users hold a seat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Seats {
    /// Paid seats the service holds now.
    pub paid_before: u64,
    /// Paid seats once the plan is applied.
    pub paid_after: u64,
    /// Active users per role, before and after, sorted by role; a user without a role
    /// counts under the service's default role.
    pub roles: Vec<RoleSeats>,
    /// `policy.max_paid_seats` judged against `paidAfter`, when the file sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rail: Option<RailCheck>,
}

/// One role's seats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSeats {
    /// The role, lower-case; `(no role)` where neither the user nor the provider has one.
    pub role: String,
    /// Whether the role takes a paid seat.
    pub paid: bool,
    /// Active users with the role now.
    pub before: u64,
    /// Active users with the role once the plan is applied.
    pub after: u64,
}

impl Seats {
    /// Counts the seats of `live` and of `live` once `operations` are applied; `None`
    /// without a seat model (`generic` without `paid_roles`).
    pub(crate) fn count(
        desired: &DesiredState,
        live: &LiveState,
        operations: &[Operation],
        allow: Option<u64>,
        warnings: &mut Vec<String>,
    ) -> Option<Seats> {
        if !desired.has_seat_model() {
            return None;
        }
        let default_role = desired.provider.default_role();
        let role_key = |role: Option<&str>| role.or(default_role).unwrap_or("(no role)").to_lowercase();
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut seen = HashSet::new();
        for user in live.users.iter().filter(|u| u.attributes.active && seen.insert(u.id.as_str())) {
            let entry = counts.entry(role_key(user.attributes.role.as_deref())).or_default();
            entry.0 += 1;
            entry.1 += 1;
        }
        let mut change = |role: Option<&str>, by: i64| {
            let entry = counts.entry(role_key(role)).or_default();
            entry.1 = entry.1.saturating_add_signed(by);
        };
        for operation in operations {
            match operation {
                Operation::DeactivateUser { role, .. } => change(role.as_deref(), -1),
                Operation::CreateUser { attributes, .. } if attributes.active => {
                    change(attributes.role.as_deref(), 1)
                }
                Operation::UpdateUser { before, changes, .. } => {
                    if let Some(role) = &changes.role {
                        change(before.role.as_deref(), -1);
                        change(Some(role), 1);
                    }
                }
                Operation::ReactivateUser { comes_back_with, .. } => {
                    change(comes_back_with.attributes.role.as_deref(), 1);
                }
                _ => {}
            }
        }
        let roles: Vec<RoleSeats> = counts
            .into_iter()
            .filter(|(_, (before, after))| before + after > 0)
            .map(|(role, (before, after))| RoleSeats {
                paid: desired.is_paid_role(Some(&role).filter(|r| *r != "(no role)").map(String::as_str))
                    == Some(true),
                role,
                before,
                after,
            })
            .collect();
        let paid_before = roles.iter().filter(|r| r.paid).map(|r| r.before).sum();
        let paid_after = roles.iter().filter(|r| r.paid).map(|r| r.after).sum();
        let rail = desired.policy.max_paid_seats.map(|max| {
            // A plan that adds no paid seat is never blocked by the rail, so that
            // offboarding goes through while the service is over the limit.
            if paid_after > max && paid_after <= paid_before {
                warnings.push(format!(
                    "the service holds {paid_after} paid seats after this plan, more than policy.max_paid_seats \
                     ({max}); this plan adds none, so it is not blocked"
                ));
                RailCheck {
                    planned: paid_after,
                    limit: max,
                    setting: RailLimit::Count(max),
                    base: 0,
                    allow,
                    status: RailStatus::WithinLimit,
                }
            } else {
                RailCheck::evaluate(Rail::PaidSeats, paid_after, RailLimit::Count(max), 0, allow, warnings)
            }
        });
        if rail.is_none()
            && let Some(given) = allow
        {
            warnings.push(format!(
                "--allow-paid-seats {given} has no effect: the file sets no policy.max_paid_seats"
            ));
        }
        Some(Seats { paid_before, paid_after, roles, rail })
    }
}
