//! Loads a desired-state file for the plan tests.
//!
//! Interim: a minimal reader of the file format of DESIGN.md, until `roster_spec::load`
//! exists; then this module calls it instead.

use std::path::Path;

use roster_model::{
    DeactivationLimit, DesiredGroup, DesiredState, DesiredUser, Policy, Provider, UnmanagedGroups,
    UnmanagedUsers, UserAttributes,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(dead_code)]
    version: u32,
    #[serde(default)]
    provider: Provider,
    #[serde(default)]
    policy: FilePolicy,
    #[serde(default)]
    users: Vec<FileUser>,
    #[serde(default)]
    groups: Vec<FileGroup>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilePolicy {
    #[serde(default)]
    unmanaged_users: UnmanagedUsers,
    #[serde(default)]
    unmanaged_groups: UnmanagedGroups,
    #[serde(default)]
    max_deactivations: Option<Limit>,
    #[serde(default)]
    protected: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Limit {
    Count(u64),
    Percent(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileUser {
    user_name: String,
    external_id: Option<String>,
    #[serde(default)]
    previously: Vec<String>,
    display_name: Option<String>,
    name: Option<FileName>,
    title: Option<String>,
    role: Option<String>,
    active: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileName {
    given_name: Option<String>,
    family_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileGroup {
    display_name: String,
    external_id: Option<String>,
    #[serde(default)]
    members: Vec<String>,
}

/// Reads a desired-state file.
pub fn load_desired(path: &Path) -> DesiredState {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let file: File = serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let max_deactivations = match file.policy.max_deactivations {
        None => DeactivationLimit::default(),
        Some(Limit::Count(n)) => DeactivationLimit::Count(n),
        Some(Limit::Percent(text)) => {
            let number: f64 = text.trim_end_matches('%').parse().expect("a percentage");
            DeactivationLimit::PercentHundredths((number * 100.0).round() as u32)
        }
    };
    DesiredState {
        provider: file.provider,
        policy: Policy {
            unmanaged_users: file.policy.unmanaged_users,
            unmanaged_groups: file.policy.unmanaged_groups,
            max_deactivations,
            protected: file.policy.protected,
        },
        custom_roles: Vec::new(),
        users: file
            .users
            .into_iter()
            .map(|user| DesiredUser {
                attributes: UserAttributes {
                    user_name: user.user_name,
                    external_id: user.external_id,
                    display_name: user.display_name,
                    given_name: user.name.as_ref().and_then(|n| n.given_name.clone()),
                    family_name: user.name.as_ref().and_then(|n| n.family_name.clone()),
                    title: user.title,
                    role: user.role,
                    active: user.active.unwrap_or(true),
                },
                previously: user.previously,
                source: None,
            })
            .collect(),
        groups: file
            .groups
            .into_iter()
            .map(|group| DesiredGroup {
                display_name: group.display_name,
                external_id: group.external_id,
                members: group.members,
                source: None,
            })
            .collect(),
    }
}
