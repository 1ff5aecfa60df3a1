//! Writing a desired state as a canonical file, for `roster import`.

use std::fmt::Write;

use roster_model::{DesiredGroup, DesiredState, DesiredUser, RailLimit, UserKey};

/// The schema reference [`crate::to_yaml`] writes on the first line: a path relative to
/// the file, as in DESIGN.md. It works when the file sits next to a `schemas/` folder
/// holding `roster.schema.json` (as in roster's own repository); elsewhere, copy the
/// schema there or use [`crate::to_yaml_with_schema`] with another path or URL.
pub const DEFAULT_SCHEMA_REF: &str = "schemas/roster.schema.json";

pub(crate) fn to_yaml(state: &DesiredState, schema_ref: &str) -> String {
    let mut out = String::new();
    let schema_ref: String = schema_ref.chars().filter(|c| !c.is_control()).collect();
    let _ = writeln!(out, "# yaml-language-server: $schema={schema_ref}");
    out.push_str("version: 1\n");
    // With targets, each target names its provider and roles; the top level does not.
    if !state.is_multi_target() {
        write_service(&mut out, "", state.provider, &state.custom_roles, &state.paid_roles);
    }
    write_policy(&mut out, "", &state.policy);
    if state.is_multi_target() {
        out.push_str("targets:\n");
        for target in &state.targets {
            write_target(&mut out, target);
        }
    }

    let mut users: Vec<&DesiredUser> = state.users.iter().collect();
    users.sort_by_cached_key(|u| (u.attributes.key(), u.attributes.user_name.clone()));
    if users.is_empty() {
        out.push_str("users: []\n");
    } else {
        out.push_str("users:\n");
    }
    for user in users {
        write_user(&mut out, user);
    }

    let mut groups: Vec<&DesiredGroup> = state.groups.iter().collect();
    groups.sort_by_cached_key(|g| (g.display_name.to_lowercase(), g.display_name.clone()));
    if groups.is_empty() {
        out.push_str("groups: []\n");
    } else {
        out.push_str("groups:\n");
    }
    for group in groups {
        let _ = writeln!(out, "  - displayName: {}", scalar(&group.display_name));
        if let Some(external_id) = &group.external_id {
            let _ = writeln!(out, "    externalId: {}", scalar(external_id));
        }
        if let Some(target) = &group.target {
            let _ = writeln!(out, "    target: {target}");
        }
        // Absent means unmanaged: a group without `members` is written without the key.
        let Some(members) = &group.members else { continue };
        if members.is_empty() {
            out.push_str("    members: []\n");
        } else {
            out.push_str("    members:\n");
            let mut members: Vec<&String> = members.iter().collect();
            members.sort_by_cached_key(|m| (UserKey::new(m), (*m).clone()));
            for member in members {
                let expires = group.expiring_members.iter().find(|m| m.user_name == *member);
                let grant = group.member_grants.iter().find(|m| m.user_name == *member);
                if expires.is_none() && grant.is_none() {
                    let _ = writeln!(out, "      - {}", scalar(member));
                    continue;
                }
                let _ = write!(out, "      - {{ userName: {}", scalar(member));
                if let Some(m) = expires {
                    let _ = write!(out, ", expires: {}", m.expires);
                }
                for (key, value) in grant.map(|m| grant_fields(&m.grant)).unwrap_or_default() {
                    let _ = write!(out, ", {key}: {}", scalar(value));
                }
                out.push_str(" }\n");
            }
        }
    }
    out
}

pub(crate) fn write_user(out: &mut String, user: &DesiredUser) {
    let a = &user.attributes;
    let _ = writeln!(out, "  - userName: {}", scalar(&a.user_name));
    if let Some(external_id) = &a.external_id {
        let _ = writeln!(out, "    externalId: {}", scalar(external_id));
    }
    if !user.previously.is_empty() {
        out.push_str("    previously:\n");
        for name in &user.previously {
            let _ = writeln!(out, "      - {}", scalar(name));
        }
    }
    if let Some(display_name) = &a.display_name {
        let _ = writeln!(out, "    displayName: {}", scalar(display_name));
    }
    if a.given_name.is_some() || a.family_name.is_some() {
        out.push_str("    name:\n");
        if let Some(given_name) = &a.given_name {
            let _ = writeln!(out, "      givenName: {}", scalar(given_name));
        }
        if let Some(family_name) = &a.family_name {
            let _ = writeln!(out, "      familyName: {}", scalar(family_name));
        }
    }
    if let Some(title) = &a.title {
        let _ = writeln!(out, "    title: {}", scalar(title));
    }
    if let Some(role) = &a.role {
        let _ = writeln!(out, "    role: {}", scalar(role));
    }
    if !a.active {
        out.push_str("    active: false\n");
    }
    if let Some(expires) = user.expires {
        let _ = writeln!(out, "    expires: {expires}");
    }
    if let Some(review_after) = user.review_after {
        let _ = writeln!(out, "    review_after: {review_after}");
    }
    for (key, value) in grant_fields(&user.grant) {
        let _ = writeln!(out, "    {key}: {}", scalar(value));
    }
    if let Some(apps) = &user.apps.listed {
        let names: Vec<&str> = apps.iter().map(|a| a.as_str()).collect();
        let _ = writeln!(out, "    apps: [{}]", names.join(", "));
    }
    for (target, attrs) in &user.apps.attributes {
        let fields = [
            ("role", &attrs.role),
            ("title", &attrs.title),
            ("displayName", &attrs.display_name),
            ("externalId", &attrs.external_id),
        ];
        let given: Vec<String> = fields
            .iter()
            .filter_map(|(key, value)| value.as_deref().map(|value| format!("{key}: {}", scalar(value))))
            .collect();
        let _ = writeln!(out, "    {target}: {{ {} }}", given.join(", "));
    }
}

/// `provider`, `custom_roles` and `paid_roles`, at the top level or in a target.
fn write_service(
    out: &mut String,
    indent: &str,
    provider: roster_model::Provider,
    custom_roles: &[String],
    paid_roles: &Option<Vec<String>>,
) {
    let _ = writeln!(out, "{indent}provider: {}", provider.as_str());
    if !custom_roles.is_empty() {
        let _ = writeln!(out, "{indent}custom_roles:");
        for role in custom_roles {
            let _ = writeln!(out, "{indent}  - {}", scalar(role));
        }
    }
    if let Some(paid_roles) = paid_roles {
        if paid_roles.is_empty() {
            let _ = writeln!(out, "{indent}paid_roles: []");
        } else {
            let _ = writeln!(out, "{indent}paid_roles:");
            for role in paid_roles {
                let _ = writeln!(out, "{indent}  - {}", scalar(role));
            }
        }
    }
}

/// A whole `policy`, at the top level or in a target (where every key is written, so
/// that the target's merged policy reads back as it is).
fn write_policy(out: &mut String, indent: &str, policy: &roster_model::Policy) {
    let _ = writeln!(out, "{indent}policy:");
    let _ = writeln!(out, "{indent}  unmanaged_users: {}", enum_name(&policy.unmanaged_users));
    let _ = writeln!(out, "{indent}  unmanaged_groups: {}", enum_name(&policy.unmanaged_groups));
    let limit = |limit: RailLimit| match limit {
        RailLimit::Count(n) => n.to_string(),
        percentage @ RailLimit::PercentHundredths(_) => format!("\"{percentage}\""),
    };
    let _ = writeln!(out, "{indent}  max_deactivations: {}", limit(policy.max_deactivations));
    let _ = writeln!(out, "{indent}  max_removals: {}", limit(policy.max_removals));
    if !policy.protected.is_empty() {
        let _ = writeln!(out, "{indent}  protected:");
        for name in &policy.protected {
            let _ = writeln!(out, "{indent}    - {}", scalar(name));
        }
    }
    if policy.expiry_notice_days != roster_model::DEFAULT_EXPIRY_NOTICE_DAYS {
        let _ = writeln!(out, "{indent}  expiry_notice_days: {}", policy.expiry_notice_days);
    }
    if let Some(days) = policy.max_access_days {
        let _ = writeln!(out, "{indent}  max_access_days: {days}");
    }
    if let Some(seats) = policy.max_paid_seats {
        let _ = writeln!(out, "{indent}  max_paid_seats: {seats}");
    }
}

/// One entry of `targets`.
fn write_target(out: &mut String, target: &roster_model::Target) {
    let _ = writeln!(out, "  {}:", target.name);
    write_service(out, "    ", target.provider, &target.custom_roles, &target.paid_roles);
    let _ = writeln!(out, "    url: {}", scalar(&target.url));
    let token = |key: &str, source: &roster_model::TokenSource| match source {
        roster_model::TokenSource::Env(name) => format!("    {key}_env: {}\n", scalar(name)),
        roster_model::TokenSource::File(path) => format!("    {key}_file: {}\n", scalar(path)),
    };
    out.push_str(&token("token", &target.token));
    if let Some(api_token) = &target.api_token {
        out.push_str(&token("api_token", api_token));
    }
    if target.everyone {
        out.push_str("    everyone: true\n");
    }
    write_policy(out, "    ", &target.policy);
}

/// The evidence fields that are given, with their keys, in the order files write them.
fn grant_fields(grant: &roster_model::Grant) -> Vec<(&'static str, &str)> {
    [("reason", &grant.reason), ("approved_by", &grant.approved_by), ("ticket", &grant.ticket)]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| (key, value)))
        .collect()
}

fn enum_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => unreachable!("policy enums serialize as strings"),
    }
}

/// A string as a YAML scalar that reads back as the same string under YAML 1.2 and
/// 1.1 alike: plain when that is unambiguous, double-quoted otherwise.
pub(crate) fn scalar(value: &str) -> String {
    if is_plain_safe(value) { value.to_owned() } else { double_quoted(value) }
}

fn is_plain_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else { return false };
    // A leading digit may read as a number (`0012`, `1_000`, `1e3`); a leading
    // indicator (`-`, `@`, `&`, `*`, `!`, `#`, quotes, ...) has a meaning of its own.
    if !first.is_alphabetic() || value.ends_with(' ') {
        return false;
    }
    let safe_char = |c: char| {
        c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '@' | '+' | '\'' | '/' | '(' | ')' | '&')
    };
    if !value.chars().all(safe_char) {
        return false;
    }
    // Words that YAML 1.1 or 1.2 read as booleans or null.
    !matches!(
        value.to_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    )
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_when_unambiguous() {
        assert_eq!(scalar("ada@example.com"), "ada@example.com");
        assert_eq!(scalar("o'brien+pm@eu.example.com"), "o'brien+pm@eu.example.com");
        assert_eq!(scalar("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(scalar("R&D (Berlin)"), "R&D (Berlin)");
        assert_eq!(scalar("José"), "José");
    }

    #[test]
    fn quoted_when_yaml_would_read_it_otherwise() {
        for value in [
            "0012", "yes", "No", "null", "true", "", " x", "x ", "a: b", "#tag", "-x", "@x", "*x", "&x",
            "!x", "1e3", "3D team", "x #y",
        ] {
            assert!(scalar(value).starts_with('"'), "{value:?} -> {}", scalar(value));
        }
        assert_eq!(scalar("say \"hi\"\\\n\u{7}"), r#""say \"hi\"\\\n\u0007""#);
    }
}
