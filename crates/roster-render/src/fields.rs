//! What both human renderers show of an operation: attribute changes and member lists.

use std::collections::{BTreeMap, HashMap};

use roster_model::{UserAttributes, UserChanges};
use roster_plan::{DeactivationReason, MemberRef, Operation};

/// One attribute's value as shown to people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// A string value.
    Text(&'a str),
    /// A boolean (`active`).
    Flag(bool),
    /// No value.
    Unset,
}

/// One attribute that an operation changes.
pub(crate) struct FieldChange<'a> {
    pub name: &'static str,
    pub before: Value<'a>,
    pub after: Value<'a>,
}

fn text(value: &Option<String>) -> Value<'_> {
    value.as_deref().map_or(Value::Unset, Value::Text)
}

/// The attributes `changes` replaces, in a fixed order, each with its value before.
pub(crate) fn changed_fields<'a>(
    before: &'a UserAttributes,
    changes: &'a UserChanges,
) -> Vec<FieldChange<'a>> {
    let mut fields = Vec::new();
    let mut push = |name, before: Value<'a>, after: &'a Option<String>| {
        if let Some(after) = after {
            fields.push(FieldChange { name, before, after: Value::Text(after) });
        }
    };
    push("userName", Value::Text(&before.user_name), &changes.user_name);
    push("externalId", text(&before.external_id), &changes.external_id);
    push("displayName", text(&before.display_name), &changes.display_name);
    push("givenName", text(&before.given_name), &changes.given_name);
    push("familyName", text(&before.family_name), &changes.family_name);
    push("title", text(&before.title), &changes.title);
    push("role", text(&before.role), &changes.role);
    if let Some(active) = changes.active {
        fields.push(FieldChange {
            name: "active",
            before: Value::Flag(before.active),
            after: Value::Flag(active),
        });
    }
    fields
}

/// The attributes a created user gets beyond its userName, in a fixed order.
pub(crate) fn set_fields(attributes: &UserAttributes) -> Vec<(&'static str, &str)> {
    [
        ("externalId", &attributes.external_id),
        ("displayName", &attributes.display_name),
        ("givenName", &attributes.given_name),
        ("familyName", &attributes.family_name),
        ("title", &attributes.title),
        ("role", &attributes.role),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
    .collect()
}

/// Why a user is deactivated, for people.
/// One update of a user as the renderers list it: id, userName, before, changes.
pub(crate) type UserUpdate<'a> = (&'a String, &'a String, &'a UserAttributes, &'a UserChanges);

/// The user updates of a plan, or its reactivations, in plan order.
pub(crate) fn user_updates(operations: &[Operation], reactivations: bool) -> Vec<UserUpdate<'_>> {
    operations
        .iter()
        .filter_map(|op| match op {
            Operation::UpdateUser { id, user_name, before, changes } if !reactivations => {
                Some((id, user_name, before, changes))
            }
            Operation::ReactivateUser { id, user_name, before, changes } if reactivations => {
                Some((id, user_name, before, changes))
            }
            _ => None,
        })
        .collect()
}

/// The attributes of the users a plan creates, in plan order.
pub(crate) fn user_creates(operations: &[Operation]) -> Vec<&UserAttributes> {
    operations
        .iter()
        .filter_map(|op| match op {
            Operation::CreateUser { attributes } => Some(attributes),
            _ => None,
        })
        .collect()
}

pub(crate) fn reason(reason: DeactivationReason) -> &'static str {
    match reason {
        DeactivationReason::Tombstone => "marked active: false in the file",
        DeactivationReason::Unmanaged => "not in the file (unmanaged_users: deactivate)",
    }
}

/// Why a group is deleted, for both renderers.
pub(crate) fn delete_reason(empty_duplicate: bool) -> &'static str {
    if empty_duplicate {
        "an empty duplicate of a team in the file, created within the hour before this plan (unmanaged_groups: delete)"
    } else {
        "not in the file (unmanaged_groups: delete)"
    }
}

/// Member changes of existing groups, merged over request chunks, by group name.
#[derive(Default)]
pub(crate) struct GroupMembers<'a> {
    pub add: Vec<&'a MemberRef>,
    pub remove: Vec<&'a MemberRef>,
}

/// The member changes of groups that exist already, keyed by (name, id), in name order.
pub(crate) fn member_changes(operations: &[Operation]) -> BTreeMap<(&str, &str), GroupMembers<'_>> {
    let mut groups: BTreeMap<(&str, &str), GroupMembers<'_>> = BTreeMap::new();
    for operation in operations {
        match operation {
            Operation::AddMembers { group_id: Some(id), group, members } => {
                groups.entry((group, id)).or_default().add.extend(members);
            }
            Operation::RemoveMembers { group_id, group, members } => {
                groups.entry((group, group_id)).or_default().remove.extend(members);
            }
            _ => {}
        }
    }
    groups
}

/// The members of each group created by the plan, by name: those of the create and of
/// the `AddMembers` operations that name the group without an id.
pub(crate) fn created_group_members(operations: &[Operation]) -> HashMap<&str, Vec<&MemberRef>> {
    let mut groups: HashMap<&str, Vec<&MemberRef>> = HashMap::new();
    for operation in operations {
        match operation {
            Operation::CreateGroup { display_name, members, .. } => {
                groups.entry(display_name).or_default().extend(members)
            }
            Operation::AddMembers { group_id: None, group, members } => {
                groups.entry(group).or_default().extend(members)
            }
            _ => {}
        }
    }
    groups
}
