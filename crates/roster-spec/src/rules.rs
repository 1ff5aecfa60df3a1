//! The team's own rules (`rules:`): typed checks over the users of every file of a run,
//! each violation reported at the offending entry with a second label on the rule.
//!
//! The walker in `check.rs` reads the section into a [`RulesDoc`] (malformed values are
//! reported there, at the rule); [`check`] judges the users against it once the files
//! are merged, since a rule in one file governs the users of all of them.

use std::borrow::Cow;
use std::collections::HashMap;

use roster_model::identity::{self, Lookalike, UserKey};
use roster_model::{Date, Provider};

use crate::check::{FileDoc, Str, UserDoc};
use crate::diagnostics::{At, Check, Sink, quote};
use crate::file::RequiredField;

#[cfg(test)]
mod tests;

/// A `rules` mapping, as far as it could be read.
#[derive(Debug)]
pub(crate) struct RulesDoc {
    /// Where the `rules` key is.
    pub at: At,
    /// `email_domains`: the domains, and where the key is.
    pub email_domains: Option<(Vec<AllowedDomain>, At)>,
    /// `max_admins`, and where the key is.
    pub max_admins: Option<(u64, At)>,
    /// `max_per_role`: each role (where its key is) and its limit.
    pub max_per_role: Vec<(Str, u64)>,
    /// `admins_in_group`: the group's name.
    pub admins_in_group: Option<Str>,
    /// `require`, and where the key is.
    pub require: Option<(Vec<RequiredField>, At)>,
    /// `require_for`: each role (where its key is) and its fields.
    pub require_for: Vec<(Str, Vec<RequiredField>)>,
}

impl RulesDoc {
    /// An empty rules section found at `at`.
    pub fn new(at: At) -> Self {
        RulesDoc {
            at,
            email_domains: None,
            max_admins: None,
            max_per_role: Vec::new(),
            admins_in_group: None,
            require: None,
            require_for: Vec::new(),
        }
    }
}

/// A domain of `rules.email_domains`.
#[derive(Debug)]
pub(crate) struct AllowedDomain {
    /// As written, with its place.
    pub written: Str,
    /// The IDNA ASCII form, as in the identity key of a userName.
    pub ascii: String,
    /// `*.example.com`: the subdomains of `ascii`, not `ascii` itself.
    pub subdomains: bool,
}

impl AllowedDomain {
    /// Reads a domain as written in the rule: `example.com`, `bücher.example` or
    /// `*.example.com`. A domain is well-formed when an address at it would be a valid
    /// userName: the same checks, the same IDNA form.
    pub fn parse(written: Str) -> Result<AllowedDomain, String> {
        let (subdomains, domain) = match written.value.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, written.value.as_str()),
        };
        if domain.contains('@') {
            return Err("a domain has no `@`: write only the part after it".into());
        }
        if domain.contains('*') {
            return Err("`*` is allowed only as the whole first label, as in `*.example.com`".into());
        }
        let address = format!("user@{domain}");
        UserKey::parse(&address).map_err(|e| e.to_string())?;
        crate::email::check_email(&identity::nfc(&address))?;
        let ascii = domain_of(&address).to_owned();
        Ok(AllowedDomain { written, ascii, subdomains })
    }
}

/// The domain part of an identity key (IDNA ASCII), after the last `@`.
fn domain_of(user_name: &str) -> String {
    let key = identity::canonical(user_name);
    key.rsplit_once('@').map_or_else(String::new, |(_, domain)| domain.to_owned())
}

/// The rules of the run: those of the one file that gives `rules`. A second file with
/// `rules` is an error naming both.
pub(crate) fn the_rules<'d>(sink: &mut Sink<'_>, docs: &'d [FileDoc]) -> Option<&'d RulesDoc> {
    let mut first: Option<&RulesDoc> = None;
    for rules in docs.iter().filter_map(|d| d.rules.as_ref()) {
        match first {
            None => first = Some(rules),
            Some(first) => {
                let first_location = sink.location(first.at);
                sink.problem(
                    Check::ConflictingFiles,
                    rules.at,
                    format!("a second `rules`: the rules are already given at {first_location}"),
                )
                .label("second rules")
                .related(first.at, "first rules")
                .help("only one file of a run may carry `rules`; move its keys into one place")
                .emit();
            }
        }
    }
    first
}

/// What the checks need to know about the run besides the rules.
pub(crate) struct Context<'a> {
    pub provider: Provider,
    pub custom_roles: &'a [String],
    /// Whether every file was read: a group the rules name may be in an unreadable one.
    pub complete: bool,
    /// The day access is judged on; without it only tombstones are inactive.
    pub as_of: Option<Date>,
}

/// Checks every rule of `rules` against the users and groups of every file. The work is
/// linear in the users and the rules (a hostile file may list a million domains or roles).
pub(crate) fn check(sink: &mut Sink<'_>, docs: &[FileDoc], rules: &RulesDoc, context: &Context<'_>) {
    check_roles(sink, rules, context);
    let active: Vec<&UserDoc> = docs
        .iter()
        .flat_map(|d| &d.users)
        .filter(|u| u.user_name.as_ref().is_some_and(|n| UserKey::parse(&n.value).is_ok()))
        .filter(|u| is_active(u, context.as_of))
        .collect();
    if let Some((domains, at)) = &rules.email_domains {
        check_email_domains(sink, &active, domains, *at);
    }
    // The active users by role, compared as the provider compares roles (ASCII case aside).
    let mut by_role: HashMap<String, Vec<&UserDoc>> = HashMap::new();
    for user in &active {
        if let Some(role) = role_of(user, context) {
            by_role.entry(role.to_ascii_lowercase()).or_default().push(user);
        }
    }
    let with_role = |role: &str| by_role.get(&role.to_ascii_lowercase()).map_or(&[][..], Vec::as_slice);
    let admins = with_role(admin_role(context.provider));
    if let Some((max, at)) = rules.max_admins {
        check_count(sink, Check::RuleMaxAdmins, admins, max, at, "admins", "rules.max_admins");
    }
    for (role, max) in &rules.max_per_role {
        let what = format!("users with role {}", quote(&role.value));
        let rule = format!("rules.max_per_role.{}", role.value);
        check_count(sink, Check::RuleMaxPerRole, with_role(&role.value), *max, role.at, &what, &rule);
    }
    if let Some(group) = &rules.admins_in_group {
        check_admins_in_group(sink, docs, admins, group, context);
    }
    if let Some((fields, at)) = &rules.require {
        for user in &active {
            missing_fields(sink, Check::RuleRequire, user, fields, *at, "every active user", "rules.require");
        }
    }
    for (role, fields) in &rules.require_for {
        let whom = format!("every active user with role {}", quote(&role.value));
        let rule = format!("rules.require_for.{}", role.value);
        for user in with_role(&role.value) {
            missing_fields(sink, Check::RuleRequireFor, user, fields, role.at, &whom, &rule);
        }
    }
}

/// Whether a user has access on the as-of day: not a tombstone and not expired.
fn is_active(user: &UserDoc, as_of: Option<Date>) -> bool {
    user.active && !matches!((user.expires, as_of), (Some(expires), Some(as_of)) if expires.date <= as_of)
}

/// The role that makes a user an admin: the provider's highest built-in role
/// (Productboard: `admin`), and `admin` where the provider has none.
fn admin_role(provider: Provider) -> &'static str {
    provider.builtin_roles().and_then(|roles| roles.first()).copied().unwrap_or("admin")
}

/// The user's role, or the provider's default for a user without one.
fn role_of<'u>(user: &'u UserDoc, context: &Context<'_>) -> Option<&'u str> {
    user.role.as_ref().map(|r| r.value.as_str()).or(context.provider.default_role())
}

/// Where a user's role is written, or the userName for a user with the default role.
fn role_at(user: &UserDoc) -> At {
    match (&user.role, &user.user_name) {
        (Some(role), _) => role.at,
        (None, Some(user_name)) => user_name.at,
        (None, None) => user.at,
    }
}

fn user_name(user: &UserDoc) -> &str {
    user.user_name.as_ref().map_or("", |n| n.value.as_str())
}

/// The roles the rules name must be roles of the provider or of `custom_roles`, as a
/// user's role must.
fn check_roles(sink: &mut Sink<'_>, rules: &RulesDoc, context: &Context<'_>) {
    let Some(roles) = crate::semantic::role_list(context.provider, context.custom_roles) else { return };
    let named = rules.max_per_role.iter().map(|(role, _)| (role, "rules.max_per_role"));
    let named = named.chain(rules.require_for.iter().map(|(role, _)| (role, "rules.require_for")));
    for (role, place) in named {
        let whose = format!("{place} of provider `{}`", context.provider.as_str());
        crate::semantic::check_role(sink, role, &roles, &whose, "`custom_roles`");
    }
}

fn check_email_domains(sink: &mut Sink<'_>, active: &[&UserDoc], domains: &[AllowedDomain], rule_at: At) {
    if domains.is_empty() {
        // Every domain was malformed, and reported so.
        return;
    }
    let exact: HashMap<&str, &AllowedDomain> =
        domains.iter().filter(|d| !d.subdomains).map(|d| (d.ascii.as_str(), d)).collect();
    let parents: HashMap<&str, &AllowedDomain> =
        domains.iter().filter(|d| d.subdomains).map(|d| (d.ascii.as_str(), d)).collect();
    // The allowed domains by the form lookalikes share, to name a domain that imitates one.
    let mut lookalikes: HashMap<Lookalike, &AllowedDomain> = HashMap::new();
    const SHOWN: usize = 5;
    let mut list = domains.iter().take(SHOWN).map(|d| quote(&d.written.value)).collect::<Vec<_>>().join(", ");
    if domains.len() > SHOWN {
        list.push_str(&format!(" and {} more", domains.len() - SHOWN));
    }
    for user in active {
        let Some(name) = &user.user_name else { continue };
        let domain = domain_of(&name.value);
        let allowed = exact.contains_key(domain.as_str())
            || domain.match_indices('.').any(|(i, _)| parents.contains_key(&domain[i + 1..]));
        if allowed {
            continue;
        }
        if lookalikes.is_empty() {
            lookalikes = exact.values().map(|d| (Lookalike::of(&format!("user@{}", d.ascii)), *d)).collect();
        }
        let twin = lookalikes.get(&Lookalike::of(&format!("user@{domain}")));
        let (label, note) = match twin {
            Some(twin) => (
                "looks like an allowed domain, yet is another",
                format!(
                    ": {} looks like {} but is another domain ({})",
                    quote(name.value.rsplit_once('@').map_or("", |(_, d)| d)),
                    quote(&twin.written.value),
                    quote(&domain)
                ),
            ),
            None => ("domain not allowed", String::new()),
        };
        sink.problem(
            Check::RuleEmailDomain,
            name.at,
            format!("userName {} is outside rules.email_domains ({list}){note}", quote(&name.value)),
        )
        .label(label)
        .related(rule_at, "the allowed domains")
        .help(
            "use the person's address in an allowed domain, or add the domain to rules.email_domains \
             (subdomains need `*.domain`)",
        )
        .emit();
    }
}

/// A counting rule: more than `max` of `users` is one problem, at the first user beyond
/// the limit, naming them all (the first ten).
fn check_count(
    sink: &mut Sink<'_>,
    check: Check,
    users: &[&UserDoc],
    max: u64,
    rule_at: At,
    what: &str,
    rule: &str,
) {
    let n = users.len();
    let Some(first_over) = usize::try_from(max).ok().and_then(|max| users.get(max)) else { return };
    const SHOWN: usize = 10;
    let mut names = users.iter().take(SHOWN).map(|u| quote(user_name(u))).collect::<Vec<_>>().join(", ");
    if n > SHOWN {
        names.push_str(&format!(" and {} more", n - SHOWN));
    }
    sink.problem(
        check,
        role_at(first_over),
        format!("{n} active {what}, more than the {max} that {rule} allows"),
    )
    .label(format!("number {} of {n}", max + 1))
    .related(rule_at, "the limit")
    .help(format!("they are {names}; give some of them another role, or raise the limit in the rule"))
    .emit();
}

fn check_admins_in_group(
    sink: &mut Sink<'_>,
    docs: &[FileDoc],
    admins: &[&UserDoc],
    group_name: &Str,
    context: &Context<'_>,
) {
    let wanted = identity::group_key(&group_name.value);
    let group = docs
        .iter()
        .flat_map(|d| &d.groups)
        .find(|g| g.display_name.as_ref().is_some_and(|n| identity::group_key(&n.value) == wanted));
    let Some(group) = group else {
        if context.complete {
            sink.problem(
                Check::RuleAdminsInGroup,
                group_name.at,
                format!(
                    "group {} in rules.admins_in_group is not defined under `groups`",
                    quote(&group_name.value)
                ),
            )
            .label("no group has this displayName")
            .help("define the group with its `members` (the admins among them), or name another group")
            .emit();
        }
        return;
    };
    let group_at = group.display_name.as_ref().map_or(group.at, |n| n.at);
    let Some(members) = &group.members else {
        sink.problem(
            Check::RuleAdminsInGroup,
            group_name.at,
            format!(
                "group {} in rules.admins_in_group has no `members`: its membership is unmanaged, so the files \
                 cannot show that the admins are in it",
                quote(&group_name.value)
            ),
        )
        .label("a group without `members`")
        .related(group_at, "the group")
        .help("list the group's members under `members`, the admins among them")
        .emit();
        return;
    };
    // The members by identity key, each with the day its membership ended, if it has.
    let mut listed: HashMap<Cow<'_, str>, Option<Date>> =
        members.iter().map(|m| (identity::canonical(&m.value), None)).collect();
    if let Some(as_of) = context.as_of {
        for (name, expires) in group.expiring.iter().filter(|(_, expires)| expires.date <= as_of) {
            if let Some(ended) = listed.get_mut(&identity::canonical(&name.value)) {
                *ended = Some(expires.date);
            }
        }
    }
    for admin in admins {
        let Some(name) = &admin.user_name else { continue };
        let detail = match listed.get(&identity::canonical(&name.value)) {
            None => String::new(),
            Some(Some(date)) => format!(": the membership ended on {date}"),
            Some(None) => continue,
        };
        sink.problem(
            Check::RuleAdminsInGroup,
            role_at(admin),
            format!(
                "admin {} is not a member of group {}, which rules.admins_in_group requires of every active \
                 admin{detail}",
                quote(&name.value),
                quote(&group_name.value)
            ),
        )
        .label("an admin outside the group")
        .related(group_name.at, "the rule")
        .help(format!(
            "add {} to the `members` of {}, or give the user another role",
            quote(&name.value),
            quote(&group_name.value)
        ))
        .emit();
    }
}

/// Reports the fields among `fields` that the user does not carry, as one problem.
fn missing_fields(
    sink: &mut Sink<'_>,
    check: Check,
    user: &UserDoc,
    fields: &[RequiredField],
    rule_at: At,
    whom: &str,
    rule: &str,
) {
    let missing: Vec<String> = fields
        .iter()
        .filter(|field| match field {
            RequiredField::Reason => user.grant.reason.is_none(),
            RequiredField::ApprovedBy => user.grant.approved_by.is_none(),
            RequiredField::Ticket => user.grant.ticket.is_none(),
            RequiredField::Expires => user.expires.is_none(),
            RequiredField::ReviewAfter => user.review_after.is_none(),
        })
        .map(|field| format!("`{}`", field.as_str()))
        .collect();
    if missing.is_empty() {
        return;
    }
    let Some(name) = &user.user_name else { return };
    let listed = match missing.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => unreachable!("not empty"),
    };
    sink.problem(
        check,
        name.at,
        format!("user {} has no {listed}, which {rule} asks of {whom}", quote(&name.value)),
    )
    .label(format!("missing {}", missing.join(", ")))
    .related(rule_at, "the rule")
    .help(format!("add {} to this user's entry", missing.join(", ")))
    .emit();
}
