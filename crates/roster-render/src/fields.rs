//! What both human renderers show of an operation: attribute changes and member lists.

use std::borrow::Cow;
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
    roles: Roles<'_>,
) -> Vec<FieldChange<'a>> {
    let mut fields = Vec::new();
    let mut push = |name, before: Value<'a>, after: &'a Option<String>| {
        if let Some(after) = after {
            let role_change = (name == "role").then(|| roles.role_change(before.text(), after));
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
    pub deactivation: Option<(Option<&'a str>, &'a DeactivationReason)>,
    /// For a reactivation: everything the account comes back with.
    pub revival: Option<&'a Revival>,
}

/// The user operations of one section, in plan order.
pub(crate) fn user_items<'a>(
    operations: &'a [Operation],
    section: UserSection,
    roles: Roles<'_>,
) -> Vec<UserItem<'a>> {
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
                        deactivation: Some((role.as_deref(), reason)),
                        revival: None,
                    })?
                }
                Operation::ReactivateUser { id, before, changes, comes_back_with, .. }
                    if section == UserSection::Reactivate =>
                {
                    UserItem {
                        person: Person::of(Some(id), before),
                        fields: changed_fields(before, changes, roles),
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
                        fields: changed_fields(before, changes, roles),
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
                            role_change: (name == "role").then(|| roles.role_change(None, value)),
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
    pub words: Cow<'static, str>,
    pub key: Cow<'static, str>,
}

/// Why a user is deactivated.
pub(crate) fn deactivation_reason(reason: &DeactivationReason) -> Reason {
    match reason {
        DeactivationReason::Tombstone => Reason {
            words: Cow::Borrowed("the file marks the account as no longer active"),
            key: Cow::Borrowed("active: false"),
        },
        DeactivationReason::Unmanaged => Reason {
            words: Cow::Borrowed("not in the file; the policy deactivates accounts not in the file"),
            key: Cow::Borrowed("unmanaged_users: deactivate"),
        },
        DeactivationReason::Expired(day) => {
            Reason { words: Cow::Owned(format!("expired {day}")), key: Cow::Owned(format!("expires: {day}")) }
        }
        DeactivationReason::NotInApps(revoked) => Reason {
            words: Cow::Owned(format!("apps no longer lists {}", revoked.app)),
            key: Cow::Owned(apps_location(revoked)),
        },
    }
}

/// Where the `apps` that drops a user's app is written (`users.yaml:12`), or `apps` when
/// the plan does not say.
fn apps_location(revoked: &roster_model::AppRevocation) -> String {
    // The file name is the user's, so only plain characters of it are shown.
    let plain = |file: &str| -> String {
        file.chars().map(|c| if c.is_ascii_alphanumeric() || "._-/".contains(c) { c } else { '_' }).collect()
    };
    revoked.source.as_ref().map_or_else(|| "apps".to_owned(), |at| format!("{}:{}", plain(&at.file), at.line))
}

/// Why a protected user is listed.
pub(crate) fn protected_reason(reason: &DeactivationReason) -> Reason {
    match reason {
        DeactivationReason::Tombstone => Reason {
            words: Cow::Borrowed(
                "the file marks the account as no longer active, but it is protected and stays active",
            ),
            key: Cow::Borrowed("policy.protected"),
        },
        DeactivationReason::Unmanaged => Reason {
            words: Cow::Borrowed("not in the file, but it is protected and stays active"),
            key: Cow::Borrowed("policy.protected"),
        },
        DeactivationReason::Expired(day) => Reason {
            words: Cow::Owned(format!("expired {day}, but it is protected and stays active")),
            key: Cow::Borrowed("policy.protected"),
        },
        DeactivationReason::NotInApps(revoked) => Reason {
            words: Cow::Owned(format!(
                "apps no longer lists {} ({}), but it is protected and stays active",
                revoked.app,
                apps_location(revoked)
            )),
            key: Cow::Borrowed("policy.protected"),
        },
    }
}

/// Why a live user or group the file does not describe is left alone.
pub(crate) fn kept_reason(reason: KeptReason, user: bool) -> Reason {
    match (reason, user) {
        (KeptReason::Policy, true) => Reason {
            words: Cow::Borrowed("not in the file; the policy keeps accounts not in the file"),
            key: Cow::Borrowed("unmanaged_users: keep"),
        },
        (KeptReason::Policy, false) => Reason {
            words: Cow::Borrowed("not in the file; the policy keeps groups not in the file"),
            key: Cow::Borrowed("unmanaged_groups: keep"),
        },
        (KeptReason::Ambiguous, _) => Reason {
            words: Cow::Borrowed(
                "may be the same as one in the file, so it is left alone until the blockers are resolved",
            ),
            key: Cow::Borrowed("identity conflict"),
        },
    }
}

/// Why a group is deleted: not in the file, or an empty duplicate of a team that is.
pub(crate) fn group_delete_reason(empty_duplicate: bool) -> Reason {
    if empty_duplicate {
        Reason {
            words: Cow::Borrowed(
                "an empty duplicate of a team in the file, created within the hour before this plan",
            ),
            key: Cow::Borrowed("unmanaged_groups: delete"),
        }
    } else {
        Reason {
            words: Cow::Borrowed("not in the file; the policy deletes groups not in the file"),
            key: Cow::Borrowed("unmanaged_groups: delete"),
        }
    }
}

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

/// One section of dated access (expired, expiring, reviews due), for every format.
pub(crate) struct AccessSection<'p> {
    /// The section's title, without the count.
    pub title: String,
    /// Its entries, in the plan's order.
    pub entries: Vec<AccessEntry<'p>>,
}

/// A user's or membership's dated access.
pub(crate) struct AccessEntry<'p> {
    /// The user, as the file writes it.
    pub user_name: &'p str,
    /// The group of a membership.
    pub group: Option<&'p str>,
    /// What about it: "expired 2026-11-30", "expires 2026-12-05 (in 5 days)".
    pub note: String,
}

/// The non-empty sections of a plan's dated access.
pub(crate) fn access_sections(access: &roster_plan::AccessDates) -> Vec<AccessSection<'_>> {
    fn expiry(e: &roster_plan::Expiry, expired: bool) -> AccessEntry<'_> {
        AccessEntry {
            user_name: &e.user_name,
            group: e.group.as_deref(),
            note: if expired {
                format!("expired {}", e.expires)
            } else {
                let days =
                    if e.days_left == 1 { "1 day".to_owned() } else { format!("{} days", e.days_left) };
                format!("expires {} (in {days})", e.expires)
            },
        }
    }
    let sections = [
        AccessSection {
            title: format!("Expired as of {}", access.as_of),
            entries: access.expired.iter().map(|e| expiry(e, true)).collect(),
        },
        AccessSection {
            title: format!("Expiring within {} days", access.notice_days),
            entries: access.expiring.iter().map(|e| expiry(e, false)).collect(),
        },
        AccessSection {
            title: format!("Reviews due as of {}", access.as_of),
            entries: access
                .reviews_due
                .iter()
                .map(|r| AccessEntry {
                    user_name: &r.user_name,
                    group: None,
                    note: format!("review after {}", r.review_after),
                })
                .collect(),
        },
    ];
    sections.into_iter().filter(|s| !s.entries.is_empty()).collect()
}

/// Paid seats before → after, and each role's count, such as
/// "3 → 4 (admin 1, maker 2 → 3; free: contributor 5 → 4, viewer 1)"; a count that does
/// not change is shown once.
pub(crate) fn seat_line(seats: &roster_plan::Seats) -> String {
    let count = |before: u64, after: u64| {
        if before == after { before.to_string() } else { format!("{before} → {after}") }
    };
    let list = |paid: bool| {
        seats
            .roles
            .iter()
            .filter(|r| r.paid == paid)
            .map(|r| format!("{} {}", r.role, count(r.before, r.after)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (paid, free) = (list(true), list(false));
    let mut details = Vec::new();
    if !paid.is_empty() {
        details.push(paid);
    }
    if !free.is_empty() {
        details.push(format!("free: {free}"));
    }
    let limit = seats.rail.as_ref().map_or_else(String::new, |rail| format!(", limit {}", rail.limit));
    format!("{} ({}){limit}", count(seats.paid_before, seats.paid_after), details.join("; "))
}

/// What an arrival is, for people: "arrived 2026-11-29 14:02 UTC, after the files' last
/// commit: likely a first SSO login".
pub(crate) fn arrival_note(arrival: &roster_plan::Arrival) -> String {
    let mut note = match (&arrival.arrived, &arrival.created) {
        (Some(arrived), _) => format!("arrived {arrived} UTC"),
        (None, Some(created)) => format!("created {created}"),
        (None, None) => "the service does not say when it was created".to_owned(),
    };
    if arrival.new {
        note.push_str(", after the files' last commit: likely a first SSO login");
    }
    note
}

/// The arrival note of a deactivated unmanaged user, for its deactivation line: only
/// what tells the reviewer more than "not in the file".
pub(crate) fn deactivation_arrival(plan: &roster_plan::Plan, id: Option<&str>) -> Option<String> {
    let arrival = plan.arrivals.iter().find(|a| Some(a.id.as_str()) == id && a.deactivated)?;
    let arrived = arrival.arrived.as_deref()?;
    Some(if arrival.new {
        format!("arrived {arrived}, likely a first SSO login")
    } else {
        format!("arrived {arrived}")
    })
}

/// Which roles are paid and how a role change alters access: the provider's model, with
/// the paid flags of the plan's seat count where it has one (a file's `paid_roles`
/// replaces the provider's model there).
#[derive(Clone, Copy)]
pub(crate) struct Roles<'p> {
    provider: Provider,
    seats: Option<&'p roster_plan::Seats>,
}

impl<'p> Roles<'p> {
    /// The roles of a plan made for `provider`.
    pub(crate) fn of(plan: &'p roster_plan::Plan, provider: Provider) -> Self {
        Roles { provider, seats: plan.seats.as_ref() }
    }

    /// Whether a role takes a paid seat.
    pub(crate) fn is_paid(self, role: &str) -> bool {
        match self.seats {
            Some(seats) => seats.roles.iter().any(|r| r.paid && r.role.eq_ignore_ascii_case(role)),
            None => self.provider.is_paid_role(role) == Some(true),
        }
    }

    /// How a change of role from `from` (none: the provider's default) to `to` alters
    /// access: the provider's ranks, with paid seats as the plan counts them.
    pub(crate) fn role_change(self, from: Option<&str>, to: &str) -> RoleChange {
        let change = self.provider.role_change(from, to);
        if self.seats.is_none() {
            return change;
        }
        let paid_before = from.or(self.provider.default_role()).is_some_and(|r| self.is_paid(r));
        let paid = self.is_paid(to);
        match change {
            RoleChange::Lateral { .. } if paid != paid_before => {
                if paid {
                    RoleChange::Elevation { paid }
                } else {
                    RoleChange::Reduction { paid }
                }
            }
            RoleChange::Lateral { .. } => RoleChange::Lateral { paid },
            RoleChange::Elevation { .. } => RoleChange::Elevation { paid },
            RoleChange::Reduction { .. } => RoleChange::Reduction { paid },
        }
    }
}
