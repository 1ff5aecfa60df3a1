//! Arrivals: live accounts the file does not list, with when the service created them,
//! marked new when created after the desired files last changed (an account made at a
//! first SSO login, say, behind the file's back).

use roster_model::LiveState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::index::fold;
use crate::types::{DeactivationReason, KeptReason, Operation, Unmanaged};

/// A live account that no entry of the file describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Arrival {
    /// The user's id.
    pub id: String,
    /// The user's userName.
    pub user_name: String,
    /// `meta.created` as the service sent it; absent where it sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `created` for people, in UTC to the minute ("2026-11-29 14:02"), where it reads
    /// as a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived: Option<String>,
    /// Created after the last commit that changed the desired files: an account made
    /// behind the file's back, such as at a first SSO login. False where either time is
    /// unknown (no `meta.created`, or the files are not in git).
    pub new: bool,
    /// Planned for deactivation (`unmanaged_users: deactivate`); otherwise kept.
    pub deactivated: bool,
}

/// The arrivals of a plan: its deactivations of unmanaged users and the users it keeps
/// by policy, sorted by userName. `files_changed_at` is the time (RFC 3339) of the last
/// commit that changed the desired files.
pub(crate) fn arrivals(
    live: &LiveState,
    operations: &[Operation],
    unmanaged: &Unmanaged,
    files_changed_at: Option<&str>,
) -> Vec<Arrival> {
    let changed_at = files_changed_at.and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let created_of = |id: &str| live.users.iter().find(|u| u.id == id).and_then(|u| u.created.clone());
    let deactivated = operations.iter().filter_map(|op| match op {
        Operation::DeactivateUser { id, user_name, reason: DeactivationReason::Unmanaged, .. } => {
            Some((id, user_name, true))
        }
        _ => None,
    });
    let kept = unmanaged
        .users
        .iter()
        .filter(|u| u.reason == KeptReason::Policy)
        .map(|u| (&u.id, &u.user_name, false));
    let mut arrivals: Vec<Arrival> = deactivated
        .chain(kept)
        .map(|(id, user_name, deactivated)| {
            let created = created_of(id);
            let at = created.as_deref().and_then(|c| c.parse::<jiff::Timestamp>().ok());
            Arrival {
                id: id.clone(),
                user_name: user_name.clone(),
                arrived: at
                    .map(|at| jiff::tz::Offset::UTC.to_datetime(at).strftime("%Y-%m-%d %H:%M").to_string()),
                new: matches!((at, changed_at), (Some(at), Some(changed)) if at > changed),
                created,
                deactivated,
            }
        })
        .collect();
    arrivals.sort_by(|a, b| (fold(&a.user_name), &a.id).cmp(&(fold(&b.user_name), &b.id)));
    arrivals
}
