//! What both human renderers show of an operation: attribute changes and member lists.

use std::collections::BTreeMap;

use roster_model::{Provider, RoleChange, UserAttributes, UserChanges};
use roster_plan::{DeactivationReason, KeptReason, MemberRef, Operation, Revival};

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
    /// For a role, how the change alters the user's access.
    pub role_change: Option<RoleChange>,
}

impl<'a> Value<'a> {
    /// The string, if the value is one.
    pub(crate) fn text(self) -> Option<&'a str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

fn text(value: &Option<String>) -> Value<'_> {
    value.as_deref().map_or(Value::Unset, Value::Text)
}

/// The attributes `changes` replaces, in a fixed order, each with its value before;
/// a role change carries how it alters access under `provider`.
pub(crate) fn changed_fields<'a>(
    before: &'a UserAttributes,
    changes: &'a UserChanges,
    provider: Provider,
) -> Vec<FieldChange<'a>> {
    let mut fields = Vec::new();
    let mut push = |name, before: Value<'a>, after: &'a Option<String>| {
        if let Some(after) = after {
            let role_change = (name == "role").then(|| provider.role_change(before.text(), after));
            fields.push(FieldChange { name, before, after: Value::Text(after), role_change });
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
            role_change: None,
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

/// A person as reviewers recognise them: the userName with the displayName and title
/// beside it.
#[derive(Clone, Copy)]
pub(crate) struct Person<'a> {
    pub user_name: &'a str,
    pub display_name: Option<&'a str>,
    pub title: Option<&'a str>,
    /// The service's id; none for a user the plan creates.
    pub id: Option<&'a str>,
}

impl<'a> Person<'a> {
    fn of(id: Option<&'a str>, attributes: &'a UserAttributes) -> Self {
        Person {
            user_name: &attributes.user_name,
            display_name: attributes.display_name.as_deref(),
            title: attributes.title.as_deref(),
            id,
        }
    }

    /// The displayName and title that exist, in that order.
    pub(crate) fn names(&self) -> Vec<&'a str> {
        self.display_name.into_iter().chain(self.title).filter(|s| !s.trim().is_empty()).collect()
    }
}

/// The sections of user operations, in the order both renderers show them: who loses
/// access, who gets it back, whose privileges change, who is new, and last the
/// attribute-only updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UserSection {
    Deactivate,
    Reactivate,
    RoleChange,
    Create,
    Update,
}

impl UserSection {
    pub(crate) const ALL: [UserSection; 5] = [
        UserSection::Deactivate,
        UserSection::Reactivate,
        UserSection::RoleChange,
        UserSection::Create,
        UserSection::Update,
    ];

    /// The section's heading, without its count.
    pub(crate) fn title(self) -> &'static str {
        match self {
            UserSection::Deactivate => "Users to deactivate",
            UserSection::Reactivate => "Users to reactivate",
            UserSection::RoleChange => "Role changes",
            UserSection::Create => "Users to create",
            UserSection::Update => "Other user updates",
        }
    }

    /// Whether the section changes who has access or with which privileges: such
    /// sections are never folded away.
    pub(crate) fn is_access_change(self) -> bool {
        !matches!(self, UserSection::Update)
    }
}

/// One user operation as both renderers list it.
pub(crate) struct UserItem<'a> {
    pub person: Person<'a>,
    /// What changes: the attributes replaced (for a create, the ones set, from unset).
    pub fields: Vec<FieldChange<'a>>,
    /// For a deactivation: the role the user holds now, and why.
    pub deactivation: Option<(Option<&'a str>, DeactivationReason)>,
    /// For a reactivation: everything the account comes back with.
    pub revival: Option<&'a Revival>,
}

/// The user operations of one section, in plan order.
pub(crate) fn user_items(
    operations: &[Operation],
    section: UserSection,
    provider: Provider,
) -> Vec<UserItem<'_>> {
    operations
        .iter()
        .filter_map(|op| {
            let item = match op {
                Operation::DeactivateUser { id, user_name, reason, display_name, title, role, .. } => {
                    (section == UserSection::Deactivate).then(|| UserItem {
                        person: Person {
                            user_name,
                            display_name: display_name.as_deref(),
                            title: title.as_deref(),
                            id: Some(id),
                        },
                        fields: Vec::new(),
                        deactivation: Some((role.as_deref(), *reason)),
                        revival: None,
                    })?
                }
                Operation::ReactivateUser { id, before, changes, comes_back_with, .. }
                    if section == UserSection::Reactivate =>
                {
                    UserItem {
                        person: Person::of(Some(id), before),
                        fields: changed_fields(before, changes, provider),
                        deactivation: None,
                        revival: Some(comes_back_with.as_ref()),
                    }
                }
                Operation::UpdateUser { id, before, changes, .. } => {
                    let wanted =
                        if changes.role.is_some() { UserSection::RoleChange } else { UserSection::Update };
                    if section != wanted {
                        return None;
                    }
                    UserItem {
                        person: Person::of(Some(id), before),
                        fields: changed_fields(before, changes, provider),
                        deactivation: None,
                        revival: None,
                    }
                }
                Operation::CreateUser { attributes, .. } if section == UserSection::Create => UserItem {
                    person: Person::of(None, attributes),
                    fields: set_fields(attributes)
                        .into_iter()
                        .map(|(name, value)| FieldChange {
                            name,
                            before: Value::Unset,
                            after: Value::Text(value),
                            role_change: (name == "role").then(|| provider.role_change(None, value)),
                        })
                        .collect(),
                    deactivation: None,
                    revival: None,
                },
                _ => return None,
            };
            Some(item)
        })
        .collect()
}

/// What a reactivated account comes back with, one line each: its attributes after
/// apply (userName aside), and its teams.
pub(crate) fn revival_lines(revival: &Revival, quote: impl Fn(&str) -> String) -> Vec<String> {
    let mut lines: Vec<String> = set_fields(&revival.attributes)
        .into_iter()
        .map(|(name, value)| {
            let from_service = name == "externalId" && revival.kept_external_id.is_some();
            let note = if from_service {
                " (kept from the former account: the file gives none, so this is a former employee's \
                 account coming back, not a new one)"
            } else {
                ""
            };
            format!("{name}: {}{note}", quote(value))
        })
        .collect();
    if revival.attributes.role.is_none() {
        lines.push("role: (none set; the service's default applies)".to_string());
    }
    // A long list of teams is cut, so that one account cannot crowd out the rest of a
    // size-limited comment; the JSON plan lists them all.
    const TEAMS_SHOWN: usize = 50;
    let mut teams = if revival.groups.is_empty() {
        "(none)".to_string()
    } else {
        revival.groups.iter().take(TEAMS_SHOWN).map(|g| quote(g)).collect::<Vec<_>>().join(", ")
    };
    if revival.groups.len() > TEAMS_SHOWN {
        teams.push_str(&format!(" and {} more", revival.groups.len() - TEAMS_SHOWN));
    }
    lines.push(format!("teams: {teams}"));
    lines
}

/// What a reviewer reads about a role change: an arrow for a higher or lower role and
/// words naming it and any paid seat; `None` when there is nothing to say.
pub(crate) fn role_note(change: RoleChange, created: bool) -> Option<(&'static str, &'static str)> {
    match change {
        // A new user's role is compared with nothing: only its cost is news.
        _ if created => change.paid().then_some(("", "paid seat")),
        RoleChange::Elevation { paid: true } => Some(("▲ ", "higher role, paid seat")),
        RoleChange::Elevation { paid: false } => Some(("▲ ", "higher role")),
        RoleChange::Reduction { .. } => Some(("▼ ", "lower role")),
        RoleChange::Lateral { paid: true } => Some(("", "paid seat")),
        RoleChange::Lateral { paid: false } => None,
    }
}

/// A reason in plain words and the technical key it comes from, shown in parentheses.
pub(crate) struct Reason {
    pub words: &'static str,
    pub key: &'static str,
}

/// Why a user is deactivated.
pub(crate) fn deactivation_reason(reason: DeactivationReason) -> Reason {
    match reason {
        DeactivationReason::Tombstone => {
            Reason { words: "the file marks the account as no longer active", key: "active: false" }
        }
        DeactivationReason::Unmanaged => Reason {
            words: "not in the file; the policy deactivates accounts not in the file",
            key: "unmanaged_users: deactivate",
        },
    }
}

/// Why a protected user is listed.
pub(crate) fn protected_reason(reason: DeactivationReason) -> Reason {
    match reason {
        DeactivationReason::Tombstone => Reason {
            words: "the file marks the account as no longer active, but it is protected and stays active",
            key: "policy.protected",
        },
        DeactivationReason::Unmanaged => {
            Reason { words: "not in the file, but it is protected and stays active", key: "policy.protected" }
        }
    }
}

/// Why a live user or group the file does not describe is left alone.
pub(crate) fn kept_reason(reason: KeptReason, user: bool) -> Reason {
    match (reason, user) {
        (KeptReason::Policy, true) => Reason {
            words: "not in the file; the policy keeps accounts not in the file",
            key: "unmanaged_users: keep",
        },
        (KeptReason::Policy, false) => Reason {
            words: "not in the file; the policy keeps groups not in the file",
            key: "unmanaged_groups: keep",
        },
        (KeptReason::Ambiguous, _) => Reason {
            words: "may be the same as one in the file, so it is left alone until the blockers are resolved",
            key: "identity conflict",
        },
    }
}

/// Why a group is deleted.
pub(crate) const GROUP_DELETE_REASON: Reason = Reason {
    words: "not in the file; the policy deletes groups not in the file",
    key: "unmanaged_groups: delete",
};

/// The member changes of one group, merged over request chunks.
#[derive(Default)]
pub(crate) struct GroupMembers<'a> {
    /// The group's id; none for a group the plan creates.
    pub id: Option<&'a str>,
    pub add: Vec<&'a MemberRef>,
    pub remove: Vec<&'a MemberRef>,
    /// The `addMembers` and `removeMembers` operations merged here.
    pub n_operations: usize,
}

/// Every membership the plan adds or removes, by group name in name order: those of
/// existing groups and the first members of created ones, so that the lists add up to
/// the summary's count of member changes.
pub(crate) fn member_changes(operations: &[Operation]) -> BTreeMap<&str, GroupMembers<'_>> {
    let mut groups: BTreeMap<&str, GroupMembers<'_>> = BTreeMap::new();
    for operation in operations {
        match operation {
            Operation::CreateGroup { display_name, members, .. } => {
                groups.entry(display_name).or_default().add.extend(members);
            }
            Operation::AddMembers { group_id, group, members, .. } => {
                let entry = groups.entry(group).or_default();
                entry.id = entry.id.or(group_id.as_deref());
                entry.add.extend(members);
                entry.n_operations += 1;
            }
            Operation::RemoveMembers { group_id, group, members, .. } => {
                let entry = groups.entry(group).or_default();
                entry.id = Some(group_id);
                entry.remove.extend(members);
                entry.n_operations += 1;
            }
            _ => {}
        }
    }
    groups.retain(|_, members| !members.add.is_empty() || !members.remove.is_empty());
    groups
}
