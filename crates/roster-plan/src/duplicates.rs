//! Duplicate teams: live groups that share a desired group's name (ignoring case) or
//! its externalId, as two applies racing against a service that allows duplicate team
//! names leave behind, or a team made twice by hand.
//!
//! The planner cannot tell which of them the file means, so the plan is blocked; the
//! blocker names every duplicate with its id, member count and creation time, and says
//! exactly how to resolve it. Under `unmanaged_groups: delete`, a duplicate that is empty
//! and was created within the hour before the plan's "now" (an input, never a clock read
//! here) is planned for deletion instead: shown in the plan and its warnings, and an
//! ordinary group deletion for every rail that counts them.

use std::cmp::Reverse;

use roster_model::{DesiredGroup, LiveGroup, Timestamp, UnmanagedGroups};

/// How recent an empty duplicate must be for roster to delete it itself: a racing apply
/// makes its duplicate moments before the next plan; an older empty team may be one a
/// person is setting up.
pub(crate) const RECENT_SECONDS: i64 = 3600;

/// Clock skew between the service and the machine running roster that still counts as
/// "created before now".
const SKEW_SECONDS: i64 = 300;

/// The order in which same-named candidates are preferred as the team the file means:
/// the most members, then the file's exact spelling, then the oldest (an unknown creation
/// time last), then the id. Two plans of the same state always prefer the same team.
pub(crate) fn keeper_rank<'a>(
    group: &'a LiveGroup,
    desired_name: &str,
) -> (Reverse<usize>, bool, bool, Option<Timestamp>, &'a str) {
    (
        Reverse(group.members.len()),
        group.display_name != desired_name,
        group.created.is_none(),
        group.created,
        group.id.as_str(),
    )
}

/// Whether roster may delete this duplicate itself: empty, and created within the hour
/// before `now` (so it cannot be a team people have used for long).
pub(crate) fn deletable(group: &LiveGroup, now: Option<Timestamp>) -> bool {
    let (Some(now), Some(created)) = (now, group.created) else { return false };
    let age = now.seconds_since(created);
    group.members.is_empty() && (-SKEW_SECONDS..=RECENT_SECONDS).contains(&age)
}

/// A team as messages name it: name, id, member count and creation time.
pub(crate) fn describe(group: &LiveGroup) -> String {
    let members = match group.members.len() {
        0 => "no members".to_owned(),
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };
    let created = match group.created {
        Some(created) => format!("created {created}"),
        None => "creation time unknown".to_owned(),
    };
    format!("{:?} (id {}, {members}, {created})", group.display_name, group.id)
}

/// The warning that goes with the deletion of an empty recent duplicate.
pub(crate) fn deletion_warning(duplicate: &LiveGroup, kept: &LiveGroup) -> String {
    format!(
        "group {} is an empty duplicate of {}, created within the hour before this plan; it is deleted \
         (unmanaged_groups: delete)",
        describe(duplicate),
        describe(kept)
    )
}

/// The blocker reason for a desired group whose team exists more than once: which ids,
/// their member counts and creation times, which to keep and the steps to get there.
pub(crate) fn conflict(
    desired: &DesiredGroup,
    kept: &LiveGroup,
    others: &[&LiveGroup],
    policy: UnmanagedGroups,
    now: Option<Timestamp>,
) -> String {
    let mut all: Vec<String> = std::iter::once(kept).chain(others.iter().copied()).map(describe).collect();
    let last = all.pop().unwrap_or_default();
    let listed = if all.is_empty() { last } else { format!("{} and {last}", all.join(", ")) };
    let times = match others.len() + 1 {
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    };
    let why_keep = if others.iter().all(|o| o.members.len() < kept.members.len()) {
        "it has the most members"
    } else if kept.created.is_some()
        && others.iter().all(|o| o.created.is_none_or(|c| Some(c) > kept.created))
    {
        "it is the oldest"
    } else {
        "it comes first by id"
    };
    let mut steps = vec![format!("keep {:?} (id {}), as {why_keep}", kept.display_name, kept.id)];
    for other in others {
        let mut step = format!("delete {:?} (id {}) in the service's admin UI", other.display_name, other.id);
        if other.members.is_empty() {
            step.push_str(" (it is empty)");
        } else {
            step.push_str(&format!(
                " ({} what that team gives; the file's members list decides who is in the kept one)",
                match other.members.len() {
                    1 => "its 1 member loses".to_owned(),
                    n => format!("its {n} members lose"),
                }
            ));
        }
        steps.push(step);
    }
    // An externalId tells the teams apart where only the one to keep carries it.
    if let Some(external_id) = kept.external_id.as_deref()
        && others.iter().all(|o| o.external_id.as_deref() != Some(external_id))
        && desired.external_id.as_deref() != Some(external_id)
    {
        let at = desired.source.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
        let others_become = match policy {
            UnmanagedGroups::Keep => "unmanaged teams, kept (unmanaged_groups: keep)",
            UnmanagedGroups::Delete => "unmanaged teams, which unmanaged_groups: delete then deletes",
        };
        steps.push(format!(
            "or, instead of deleting, name the team to keep in the file: give group {:?}{at} \
             `externalId: {external_id:?}`, and the others become {others_become}",
            desired.display_name
        ));
    }
    let automatic = match policy {
        UnmanagedGroups::Keep => format!(
            "; with `unmanaged_groups: delete`, roster deletes a duplicate itself when it is empty and was created \
             within the last {} minutes",
            RECENT_SECONDS / 60
        ),
        UnmanagedGroups::Delete => {
            let empty_but_not_recent = others.iter().any(|o| o.members.is_empty() && !deletable(o, now));
            if empty_but_not_recent {
                format!(
                    "; roster deletes an empty duplicate itself only when it was created within the last {} minutes, \
                     by the service's meta.created",
                    RECENT_SECONDS / 60
                )
            } else {
                String::new()
            }
        }
    };
    format!(
        "team {:?} exists {times} in the service, so roster cannot tell which one the file means: {listed}. \
         To resolve: {}; then plan again{automatic}",
        desired.display_name,
        steps.join("; ")
    )
}
