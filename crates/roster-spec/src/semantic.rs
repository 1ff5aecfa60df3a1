//! The checks across entries and files, and the merge into a [`DesiredState`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use roster_model::identity::{self, Lookalike, UserKey};
use roster_model::{
    Date, DesiredGroup, DesiredState, DesiredUser, MemberGrant, MembershipExpiry, Policy, Provider,
    UserAttributes,
};

use crate::check::{FileDoc, PolicyDoc, Str};
use crate::diagnostics::{At, Check, Sink, quote};
use crate::email::check_email;
use crate::suggest::did_you_mean;

/// Merges the files' documents, checking what spans entries and files. `complete` is
/// false when a file could not be parsed: checks that a name is defined somewhere are
/// then skipped, since the definition may be in the unreadable file.
///
/// `as_of` is the day dates are judged on; without it, `policy.max_access_days` is not
/// checked.
pub(crate) fn merge(
    sink: &mut Sink<'_>,
    docs: Vec<FileDoc>,
    complete: bool,
    as_of: Option<Date>,
) -> DesiredState {
    let provider = merge_provider(sink, &docs);
    let mut state = DesiredState { provider, ..DesiredState::default() };
    merge_policy(sink, &docs, &mut state.policy);
    for doc in &docs {
        for role in &doc.custom_roles {
            if !state.custom_roles.contains(&role.value) {
                state.custom_roles.push(role.value.clone());
            }
        }
    }
    merge_paid_roles(sink, &docs, &mut state);
    if let Some(as_of) = as_of {
        check_access_days(sink, &docs, state.policy.max_access_days, as_of);
    }
    state.targets = crate::targets::merge_targets(sink, &docs, &state.policy);
    // With targets, roles are checked per target, against each target's provider.
    let top_roles = if state.targets.is_empty() { Some((provider, &state.custom_roles[..])) } else { None };
    let users = check_users(sink, &docs, top_roles);
    check_previously(sink, &docs, &users);
    check_groups(sink, &docs, &users, complete);
    let policies = docs.iter().filter_map(|d| d.policy.as_ref());
    let target_policies =
        docs.iter().filter_map(|d| d.targets.as_ref()).flat_map(|(t, _)| t).filter_map(|t| t.policy.as_ref());
    check_protected(sink, policies.chain(target_policies), &users, complete);
    crate::targets::check_apps(sink, &docs, &state.targets, complete);

    // The state is not needed when there is a problem: building it would hold every
    // user twice while the problems are reported.
    if sink.has_problems() {
        return state;
    }
    for doc in docs {
        for user in doc.users {
            let apps = crate::targets::user_apps(sink, &user);
            let Some(user_name) = user.user_name else { continue };
            state.users.push(DesiredUser {
                attributes: UserAttributes {
                    user_name: user_name.value,
                    external_id: user.external_id.map(|s| s.value),
                    display_name: user.display_name,
                    given_name: user.given_name,
                    family_name: user.family_name,
                    title: user.title,
                    role: user.role.map(|s| s.value),
                    active: user.active,
                },
                previously: user.previously.into_iter().map(|s| s.value).collect(),
                expires: user.expires.map(|d| d.date),
                review_after: user.review_after.map(|d| d.date),
                grant: user.grant.to_grant(),
                apps,
                source: Some(sink.location(user.at)),
            });
        }
        for group in doc.groups {
            let Some(display_name) = group.display_name else { continue };
            state.groups.push(DesiredGroup {
                display_name: display_name.value,
                external_id: group.external_id.map(|s| s.value),
                members: group.members.map(|members| members.into_iter().map(|s| s.value).collect()),
                expiring_members: group
                    .expiring
                    .into_iter()
                    .map(|(user_name, expires)| MembershipExpiry {
                        user_name: user_name.value,
                        expires: expires.date,
                    })
                    .collect(),
                member_grants: group
                    .grants
                    .iter()
                    .map(|(user_name, grant)| MemberGrant {
                        user_name: user_name.value.clone(),
                        grant: grant.to_grant(),
                    })
                    .collect(),
                target: group.target.and_then(|t| roster_model::TargetName::new(&t.value).ok()),
                source: Some(sink.location(group.at)),
            });
        }
    }
    state
}

/// The provider of the run. A file without `provider` is productboard, the default, and
/// must agree with the others like any file that names one: otherwise a file written for
/// productboard would be read under another file's rules.
fn merge_provider(sink: &mut Sink<'_>, docs: &[FileDoc]) -> Provider {
    let mut first: Option<(Provider, At, bool)> = None;
    for doc in docs {
        let file_start = At { file: doc.file, pos: crate::tree::Pos { line: 1, col: 1, start: 0, len: 0 } };
        let (provider, at, explicit) = match doc.provider {
            Some((provider, at)) => (provider, at, true),
            None => (Provider::default(), file_start, false),
        };
        match first {
            None => first = Some((provider, at, explicit)),
            Some((chosen, chosen_at, chosen_explicit)) if chosen != provider => {
                let chosen_location = sink.location(chosen_at);
                let what = |provider: Provider, explicit: bool| {
                    if explicit {
                        format!("provider `{}`", provider.as_str())
                    } else {
                        format!("no provider (so `{}`, the default)", provider.as_str())
                    }
                };
                sink.problem(
                    Check::ConflictingFiles,
                    at,
                    format!(
                        "{} disagrees with {} at {chosen_location}",
                        what(provider, explicit),
                        what(chosen, chosen_explicit)
                    ),
                )
                .label(if explicit { "conflicting provider" } else { "this file names no provider" })
                .related(chosen_at, if chosen_explicit { "first given here" } else { "this file names no provider" })
                .help("files given together must name the same provider; give each file the same `provider:` line")
                .emit();
            }
            Some(_) => {}
        }
    }
    first.map_or_else(Provider::default, |(provider, _, _)| provider)
}

fn merge_policy(sink: &mut Sink<'_>, docs: &[FileDoc], policy: &mut Policy) {
    let mut first: Option<At> = None;
    for doc in docs {
        let Some(p) = &doc.policy else { continue };
        if let Some(first_at) = first {
            let first_location = sink.location(first_at);
            sink.problem(
                Check::ConflictingFiles,
                p.at,
                format!("a second `policy`: the policy is already given at {first_location}"),
            )
            .label("second policy")
            .related(first_at, "first policy")
            .help("only one file of a run may carry `policy`; move its keys into one place")
            .emit();
            continue;
        }
        first = Some(p.at);
        apply_policy(p, policy);
    }
}

/// Sets the keys a `policy` mapping gives.
pub(crate) fn apply_policy(p: &PolicyDoc, policy: &mut Policy) {
    if let Some(v) = p.unmanaged_users {
        policy.unmanaged_users = v;
    }
    if let Some(v) = p.unmanaged_groups {
        policy.unmanaged_groups = v;
    }
    if let Some(v) = p.max_deactivations {
        policy.max_deactivations = v;
    }
    if let Some(v) = p.max_removals {
        policy.max_removals = v;
    }
    policy.protected = p.protected.iter().map(|s| s.value.clone()).collect();
    if let Some(v) = p.expiry_notice_days {
        policy.expiry_notice_days = v;
    }
    policy.max_access_days = p.max_access_days;
    policy.max_paid_seats = p.max_paid_seats;
}

/// `paid_roles`: one file of a run may give it, like `policy`.
fn merge_paid_roles(sink: &mut Sink<'_>, docs: &[FileDoc], state: &mut DesiredState) {
    let mut first: Option<At> = None;
    for doc in docs {
        let Some((roles, at)) = &doc.paid_roles else { continue };
        if let Some(first_at) = first {
            let first_location = sink.location(first_at);
            sink.problem(
                Check::ConflictingFiles,
                *at,
                format!("a second `paid_roles`: the paid roles are already given at {first_location}"),
            )
            .label("second paid_roles")
            .related(first_at, "first paid_roles")
            .help("only one file of a run may carry `paid_roles`")
            .emit();
            continue;
        }
        first = Some(*at);
        state.paid_roles = Some(roles.iter().map(|r| r.value.clone()).collect());
    }
}

/// Every `expires` (of a user or a membership) at most `max_access_days` after `as_of`.
fn check_access_days(sink: &mut Sink<'_>, docs: &[FileDoc], max_access_days: Option<u32>, as_of: Date) {
    let Some(max) = max_access_days else { return };
    let users = docs.iter().flat_map(|d| &d.users).filter_map(|u| u.expires);
    let memberships = docs.iter().flat_map(|d| &d.groups).flat_map(|g| g.expiring.iter().map(|(_, e)| *e));
    for expires in users.chain(memberships) {
        let days = as_of.days_until(expires.date);
        if days > i64::from(max) {
            let latest =
                as_of.add_days(i64::from(max)).map_or_else(|| "the limit".to_owned(), |d| d.to_string());
            sink.problem(
                Check::AccessTooLong,
                expires.at,
                format!(
                    "`expires` {} is {days} days after {as_of}, more than policy.max_access_days ({max})",
                    expires.date
                ),
            )
            .label("too far ahead")
            .help(format!(
                "access may be granted for at most {max} days: write an `expires` on or before {latest}, or raise \
                 policy.max_access_days"
            ))
            .emit();
        }
    }
}

/// A user as the cross-checks see it.
struct UserRef<'d> {
    user_name: &'d Str,
    active: bool,
    inactive_at: Option<At>,
}

/// Every user with a userName, by key; duplicates, emails, externalIds and roles are
/// checked on the way.
fn check_users<'d>(
    sink: &mut Sink<'_>,
    docs: &'d [FileDoc],
    top_roles: Option<(Provider, &[String])>,
) -> HashMap<Key<'d>, UserRef<'d>> {
    let n_users = docs.iter().map(|d| d.users.len()).sum();
    let mut users: HashMap<Key<'d>, UserRef<'d>> = HashMap::with_capacity(n_users);
    let mut external_ids: HashMap<&str, At> = HashMap::with_capacity(n_users);
    // The first userName of each lookalike form among names that are not plain ASCII,
    // to find names that only look the same.
    let mut lookalikes: HashMap<String, &Str> = HashMap::new();
    let roles: Option<Vec<&str>> =
        top_roles.and_then(|(provider, custom_roles)| role_list(provider, custom_roles));
    let provider = top_roles.map_or(Provider::default(), |(provider, _)| provider);
    for user in docs.iter().flat_map(|d| &d.users) {
        if let Some(external_id) = &user.external_id {
            match external_ids.entry(external_id.value.as_str()) {
                Entry::Vacant(slot) => {
                    slot.insert(external_id.at);
                }
                Entry::Occupied(first) => {
                    let first_at = *first.get();
                    duplicate(
                        sink,
                        Check::DuplicateExternalId,
                        "externalId",
                        &external_id.value,
                        external_id.at,
                        first_at,
                        "",
                    );
                }
            }
        }
        if let (Some(role), Some(roles)) = (&user.role, &roles) {
            check_role(sink, role, roles, &format!("provider `{}`", provider.as_str()), "`custom_roles`");
        }
        let Some(user_name) = &user.user_name else { continue };
        if !email(sink, "userName", user_name) {
            continue;
        }
        let user_key = key(&user_name.value);
        // A plain name's lookalike form is its key, so only names that are not plain
        // are kept by form; a plain name meets them by its key.
        if is_plain(&user_name.value) {
            if let Some(twin) = lookalikes.get(user_key.as_ref()) {
                lookalike(sink, user_name, twin);
            }
        } else {
            let form = Lookalike::of(&user_key);
            if let Some(twin) =
                users.get(form.as_str()).map(|u| u.user_name).filter(|t| key(&t.value) != user_key)
            {
                lookalike(sink, user_name, twin);
            } else {
                match lookalikes.entry(form.as_str().to_owned()) {
                    Entry::Vacant(slot) => {
                        slot.insert(user_name);
                    }
                    Entry::Occupied(twin) if key(&twin.get().value) != user_key => {
                        lookalike(sink, user_name, twin.get());
                    }
                    Entry::Occupied(_) => {}
                }
            }
        }
        match users.entry(user_key) {
            Entry::Vacant(slot) => {
                slot.insert(UserRef { user_name, active: user.active, inactive_at: user.inactive_at });
            }
            Entry::Occupied(first) => {
                let first = first.get().user_name;
                let note = if first.value == user_name.value {
                    ""
                } else {
                    " (userNames ignore case and Unicode form)"
                };
                duplicate(
                    sink,
                    Check::DuplicateUserName,
                    "userName",
                    &user_name.value,
                    user_name.at,
                    first.at,
                    note,
                );
            }
        }
    }
    users
}

/// The roles a provider knows plus the declared ones; `None` when any role goes.
pub(crate) fn role_list(provider: Provider, custom_roles: &[String]) -> Option<Vec<&str>> {
    provider
        .builtin_roles()
        .map(|builtin| builtin.iter().copied().chain(custom_roles.iter().map(String::as_str)).collect())
}

/// Reports a role that is not among `roles`; `whose` names the provider (or target),
/// `declare` where to declare more roles.
pub(crate) fn check_role(sink: &mut Sink<'_>, role: &Str, roles: &[&str], whose: &str, declare: &str) {
    if roles.contains(&role.value.as_str()) {
        return;
    }
    let list = roles.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ");
    let mut problem = sink
        .problem(Check::UnknownRole, role.at, format!("unknown role {} for {whose}", quote(&role.value)))
        .help(format!("the roles are {list}; declare others under {declare}"));
    problem = match did_you_mean(&role.value, roles) {
        Some(suggestion) => problem.label(format!("did you mean `{suggestion}`?")),
        None => problem.label("unknown role"),
    };
    problem.emit();
}

/// Printable ASCII without Punycode: such a name's lookalike form is its key.
fn is_plain(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_graphic()) && !name.contains("xn--")
}

/// Reports a userName that looks like another one of the files without being it: a
/// reader could not tell which person an entry (or a member, or a protected name) means.
fn lookalike(sink: &mut Sink<'_>, user_name: &Str, twin: &Str) {
    let twin_location = sink.location(twin.at);
    sink.problem(
        Check::LookalikeUserName,
        user_name.at,
        format!(
            "userName {} looks like userName {} at {twin_location}, yet is another address ({} and {})",
            quote(&user_name.value),
            quote(&twin.value),
            quote(&identity::escaped(&user_name.value)),
            quote(&identity::escaped(&twin.value)),
        ),
    )
    .label("looks like another userName")
    .related(twin.at, "the other userName")
    .help("write both in plain letters of one script; if they are one person, keep one entry")
    .emit();
}

/// Reports a value defined twice, naming both places.
fn duplicate(sink: &mut Sink<'_>, check: Check, what: &str, value: &str, at: At, first_at: At, note: &str) {
    let first_location = sink.location(first_at);
    let where_ = if first_at.file == at.file { String::new() } else { " in another file".to_owned() };
    sink.problem(
        check,
        at,
        format!("duplicate {what} {}{note}: first defined{where_} at {first_location}", quote(value)),
    )
    .label("defined again here")
    .related(first_at, "first defined here")
    .emit();
}

/// Reports a malformed email address; true when it is well-formed.
fn email(sink: &mut Sink<'_>, what: &str, address: &Str) -> bool {
    // Address syntax is checked on the composed form: a decomposed `é` is the same letter.
    let checked = UserKey::parse(&address.value)
        .map_err(|e| e.to_string())
        .and_then(|_| check_email(&identity::nfc(&address.value)));
    match checked {
        Ok(()) => true,
        Err(reason) => {
            sink.problem(
                Check::MalformedEmail,
                address.at,
                format!("malformed email {} in {what}: {reason}", quote(&address.value)),
            )
            .label("not an email address")
            .emit();
            false
        }
    }
}

fn check_previously<'d>(sink: &mut Sink<'_>, docs: &'d [FileDoc], users: &HashMap<Key<'d>, UserRef<'d>>) {
    // Earlier names by key, with the user who claims them.
    let mut claimed: HashMap<Key<'d>, (&Str, &Str)> = HashMap::new();
    for user in docs.iter().flat_map(|d| &d.users).filter(|u| !u.previously.is_empty()) {
        let Some(owner) = &user.user_name else { continue };
        let owner_key = key(&owner.value);
        for name in &user.previously {
            if !email(sink, "`previously`", name) {
                continue;
            }
            let name_key = key(&name.value);
            if name_key == owner_key {
                sink.problem(
                    Check::PreviouslyClash,
                    name.at,
                    format!("{} in `previously` is this user's own userName", quote(&name.value)),
                )
                .label("the current userName")
                .help("`previously` lists earlier userNames only")
                .emit();
                continue;
            }
            if let Some(other) = users.get(&name_key) {
                let other_location = sink.location(other.user_name.at);
                sink.problem(
                    Check::PreviouslyClash,
                    name.at,
                    format!(
                        "{} in `previously` of {} is the userName of another user at {other_location}",
                        quote(&name.value),
                        quote(&owner.value)
                    ),
                )
                .label("another user's userName")
                .related(other.user_name.at, "that user")
                .help("a name can belong to one user only: remove it from `previously` or rename the other user")
                .emit();
                continue;
            }
            match claimed.entry(name_key) {
                Entry::Vacant(slot) => {
                    slot.insert((name, owner));
                }
                Entry::Occupied(first) => {
                    let (first_name, first_owner) = *first.get();
                    let first_location = sink.location(first_name.at);
                    let message = if key(&first_owner.value) == owner_key {
                        format!(
                            "{} appears twice in `previously`, first at {first_location}",
                            quote(&name.value)
                        )
                    } else {
                        format!(
                            "{} in `previously` of {} is also an earlier name of {} at {first_location}",
                            quote(&name.value),
                            quote(&owner.value),
                            quote(&first_owner.value)
                        )
                    };
                    sink.problem(Check::PreviouslyClash, name.at, message)
                        .label("claimed again here")
                        .related(first_name.at, "first claimed here")
                        .emit();
                }
            }
        }
    }
}

fn check_groups(
    sink: &mut Sink<'_>,
    docs: &[FileDoc],
    users: &HashMap<Key<'_>, UserRef<'_>>,
    complete: bool,
) {
    let mut names: HashMap<String, At> = HashMap::new();
    let mut external_ids: HashMap<&str, At> = HashMap::new();
    // Earlier names, to point a member at the user's current userName.
    let earlier: HashMap<Key<'_>, &Str> = docs
        .iter()
        .flat_map(|d| &d.users)
        .filter_map(|u| u.user_name.as_ref().map(|n| (u, n)))
        .flat_map(|(u, n)| u.previously.iter().map(move |p| (key(&p.value), n)))
        .collect();
    for group in docs.iter().flat_map(|d| &d.groups) {
        if let Some(name) = &group.display_name {
            match names.entry(identity::group_key(&name.value).into_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(name.at);
                }
                Entry::Occupied(first) => {
                    let note = " (group names ignore case and surrounding whitespace)";
                    duplicate(
                        sink,
                        Check::DuplicateGroup,
                        "group displayName",
                        &name.value,
                        name.at,
                        *first.get(),
                        note,
                    );
                }
            }
        }
        if let Some(external_id) = &group.external_id {
            match external_ids.entry(external_id.value.as_str()) {
                Entry::Vacant(slot) => {
                    slot.insert(external_id.at);
                }
                Entry::Occupied(first) => {
                    let first_at = *first.get();
                    duplicate(
                        sink,
                        Check::DuplicateGroupExternalId,
                        "group externalId",
                        &external_id.value,
                        external_id.at,
                        first_at,
                        "",
                    );
                }
            }
        }
        let group_name = group
            .display_name
            .as_ref()
            .map_or_else(|| "a group".to_owned(), |n| format!("group {}", quote(&n.value)));
        let listed = group.members.as_deref().unwrap_or_default();
        let mut members: HashMap<Key<'_>, At> = HashMap::with_capacity(listed.len());
        for member in listed {
            if !email(sink, "`members`", member) {
                continue;
            }
            let member_key = key(&member.value);
            if complete && !users.contains_key(&member_key) {
                let mut problem = sink
                    .problem(
                        Check::UndefinedMember,
                        member.at,
                        format!(
                            "member {} of {group_name} is not defined under `users`",
                            quote(&member.value)
                        ),
                    )
                    .label("no user has this userName");
                problem = match earlier.get(&member_key) {
                    Some(current) => problem.help(format!(
                        "{} is an earlier name of {}: list the current userName",
                        quote(&member.value),
                        quote(&current.value)
                    )),
                    None => problem.help("add the user under `users`, or remove the member"),
                };
                problem.emit();
            }
            match members.entry(member_key) {
                Entry::Vacant(slot) => {
                    slot.insert(member.at);
                }
                Entry::Occupied(first) => {
                    let first_at = *first.get();
                    let first_location = sink.location(first_at);
                    sink.problem(
                        Check::DuplicateMember,
                        member.at,
                        format!(
                            "member {} is listed twice in {group_name}, first at {first_location}",
                            quote(&member.value)
                        ),
                    )
                    .label("listed again here")
                    .related(first_at, "first listed here")
                    .emit();
                }
            }
        }
    }
}

fn check_protected<'p>(
    sink: &mut Sink<'_>,
    policies: impl Iterator<Item = &'p PolicyDoc>,
    users: &HashMap<Key<'_>, UserRef<'_>>,
    complete: bool,
) {
    for policy in policies {
        for name in &policy.protected {
            if !email(sink, "`protected`", name) {
                continue;
            }
            match users.get(&key(&name.value)) {
                None if complete => sink
                    .problem(
                        Check::ProtectedUndefined,
                        name.at,
                        format!("protected user {} is not defined under `users`", quote(&name.value)),
                    )
                    .label("no user has this userName")
                    .help("a protected user must be in the files, so that the file says what to keep")
                    .emit(),
                None => {}
                Some(user) if !user.active => {
                    let at = user.inactive_at.unwrap_or(user.user_name.at);
                    let location = sink.location(at);
                    sink.problem(
                        Check::ProtectedInactive,
                        name.at,
                        format!(
                            "protected user {} is marked `active: false` at {location}",
                            quote(&name.value)
                        ),
                    )
                    .label("protected")
                    .related(at, "deactivated here")
                    .help("a protected user is never deactivated: remove `active: false` or the protection")
                    .emit();
                }
                Some(_) => {}
            }
        }
    }
}

/// The identity key of a userName ([`roster_model::UserKey`]), borrowed when the name
/// is its own key.
type Key<'a> = Cow<'a, str>;

fn key(user_name: &str) -> Key<'_> {
    identity::canonical(user_name)
}
