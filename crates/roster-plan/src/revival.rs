//! What reactivated accounts come back with: the groups they are in once the plan is
//! applied. A deactivated account usually keeps its memberships, so reactivating it
//! restores access to every team it had, not only to those the file names.

use std::collections::{BTreeSet, HashMap, HashSet};

use roster_model::LiveState;

use crate::types::Operation;

/// Fills in the groups of every `ReactivateUser` operation: the live groups holding the
/// account (by their name after this plan's renames), less the groups the plan removes
/// it from or deletes, plus the groups the plan adds it to or creates with it.
pub(crate) fn fill_groups(operations: &mut [Operation], live: &LiveState) {
    let mut groups_of: HashMap<String, BTreeSet<String>> = operations
        .iter()
        .filter_map(|op| match op {
            Operation::ReactivateUser { id, .. } => Some((id.clone(), BTreeSet::new())),
            _ => None,
        })
        .collect();
    if groups_of.is_empty() {
        return;
    }
    let mut renamed: HashMap<&str, &str> = HashMap::new();
    let mut deleted: HashSet<&str> = HashSet::new();
    let mut removed: HashSet<(&str, &str)> = HashSet::new();
    let mut added: Vec<(&str, &str)> = Vec::new();
    for operation in operations.iter() {
        match operation {
            Operation::RenameGroup { id, to, .. } => {
                renamed.insert(id, to);
            }
            Operation::DeleteGroup { id, .. } => {
                deleted.insert(id);
            }
            Operation::RemoveMembers { group_id, members, .. } => {
                removed.extend(
                    members.iter().filter_map(|m| m.id.as_deref()).map(|user| (group_id.as_str(), user)),
                );
            }
            Operation::AddMembers { group, members, .. } => {
                added.extend(
                    members.iter().filter_map(|m| m.id.as_deref()).map(|user| (group.as_str(), user)),
                );
            }
            Operation::CreateGroup { display_name, members, .. } => {
                added.extend(
                    members.iter().filter_map(|m| m.id.as_deref()).map(|user| (display_name.as_str(), user)),
                );
            }
            _ => {}
        }
    }
    let mut seen_groups = HashSet::new();
    for group in &live.groups {
        if !seen_groups.insert(group.id.as_str()) || deleted.contains(group.id.as_str()) {
            continue;
        }
        let name = renamed.get(group.id.as_str()).copied().unwrap_or(&group.display_name);
        for member in &group.members {
            if let Some(groups) = groups_of.get_mut(member)
                && !removed.contains(&(group.id.as_str(), member.as_str()))
            {
                groups.insert(name.to_string());
            }
        }
    }
    for (group, user) in added {
        if let Some(groups) = groups_of.get_mut(user) {
            groups.insert(group.to_string());
        }
    }
    for operation in operations.iter_mut() {
        if let Operation::ReactivateUser { id, comes_back_with, .. } = operation
            && let Some(groups) = groups_of.remove(id.as_str())
        {
            comes_back_with.groups = groups.into_iter().collect();
        }
    }
}
