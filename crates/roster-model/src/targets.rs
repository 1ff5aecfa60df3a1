//! Many SCIM apps in one file: the targets a file names, which of them each user has, and
//! the projection of the whole file onto one target.
//!
//! A file with `targets:` describes several services at once. The planner stays
//! single-target and unchanged: [`DesiredState::for_target`] gives, for one target, the
//! single-target desired state that the planner plans as if the file were written for
//! that service alone. What the projection decides:
//!
//! - the target's provider, merged policy, `custom_roles` and `paid_roles` replace the
//!   file's;
//! - a user who has the app (listed in `apps`, or `apps` absent and the target has
//!   `everyone: true`) is carried with the per-target attributes (`miro: { role: ... }`)
//!   laid over the user's own;
//! - a user of the file who does not have the app is carried as a revocation: marked
//!   inactive, with [`UserApps::revoked`] saying which app and where `apps` is written, so
//!   that the planner deactivates the account there if one is active and otherwise does
//!   nothing, and says why ("apps no longer lists miro");
//! - a tombstone (`active: false`) is a tombstone in every target;
//! - a user whose line is removed is absent from every projection: each target's
//!   `unmanaged_users` decides (by default, deactivate), so one removed line deactivates
//!   the person everywhere;
//! - the groups are those whose `target` is this one (a file with a single target may
//!   leave `target` out).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DesiredState, DesiredUser, Policy, Provider, SourceLocation};

/// The name of a target in a file: a lower-case identifier, `[a-z][a-z0-9_-]*`, at most
/// [`TargetName::MAX_LEN`] characters. Built by [`TargetName::new`] only, so a value is
/// valid by its type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(with = "String")]
pub struct TargetName(String);

/// A text that is not a valid target name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetNameError {
    /// The text, shortened.
    pub text: String,
}

impl fmt::Display for TargetNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a target name: a target name is a lower-case letter followed by lower-case \
             letters, digits, `-` or `_`, at most {} characters",
            self.text,
            TargetName::MAX_LEN
        )
    }
}

impl std::error::Error for TargetNameError {}

impl TargetName {
    /// The longest target name.
    pub const MAX_LEN: usize = 64;

    /// Checks a name: `[a-z][a-z0-9_-]*`, at most [`TargetName::MAX_LEN`] characters.
    pub fn new(text: &str) -> Result<Self, TargetNameError> {
        let mut bytes = text.bytes();
        let valid = text.len() <= Self::MAX_LEN
            && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(TargetName(text.to_owned()))
        } else {
            Err(TargetNameError { text: text.chars().take(64).collect() })
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for TargetName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TargetName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TargetName::new(&text).map_err(serde::de::Error::custom)
    }
}

/// Where a target's token is read from: the name of an environment variable, or a file.
/// Never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TokenSource {
    /// The environment variable of this name (`token_env`).
    Env(String),
    /// The file at this path (`token_file`).
    File(String),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(name) => write!(f, "environment variable {name}"),
            TokenSource::File(path) => write!(f, "file {path}"),
        }
    }
}

/// One SCIM service of a multi-target file (an entry of `targets:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The target's name, as users' `apps` and groups' `target` name it.
    pub name: TargetName,
    /// The service's provider: roles and quirks.
    pub provider: Provider,
    /// The SCIM base URL (https, or http to loopback; no credentials or query).
    pub url: String,
    /// Where the SCIM token is read from.
    pub token: TokenSource,
    /// Where the token of Productboard's REST member list (for `audit`) is read from, if
    /// the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<TokenSource>,
    /// The target's policy: its own `policy` keys laid over the file's top-level policy,
    /// key by key; `protected` is the union of both lists (a person protected at the top
    /// is protected everywhere).
    pub policy: Policy,
    /// Roles beyond the provider's built-in ones for this target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<String>,
    /// The roles that take a paid seat in this target, where the file names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_roles: Option<Vec<String>>,
    /// Whether a user without `apps` has this app.
    #[serde(default)]
    pub everyone: bool,
    /// Where the target is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
}

/// Attributes of a user that hold in one target only (`miro: { role: ... }` on a user);
/// each replaces the user's own attribute in that target's projection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetAttributes {
    /// The role in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The title in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The displayName in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The externalId in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// Why a user of a multi-target file is carried into a target's projection without the
/// app: the file does not give the user this app.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppRevocation {
    /// The target the user does not have.
    pub app: TargetName,
    /// Where the user's `apps` is written (the user's entry when `apps` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
}

/// A user's apps in a multi-target file; empty in a single-target file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserApps {
    /// `apps` as written; `None` when absent (the user then has the targets with
    /// `everyone: true`). `Some(vec![])` is no app at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<Vec<TargetName>>,
    /// Where `apps` is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    /// Per-target attributes, by target.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<TargetName, TargetAttributes>,
    /// In a target's projection only: the user does not have this target's app, so the
    /// account there is deactivated if active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<AppRevocation>,
}

impl UserApps {
    /// True when nothing is set: a user of a single-target file.
    pub fn is_empty(&self) -> bool {
        self.listed.is_none() && self.source.is_none() && self.attributes.is_empty() && self.revoked.is_none()
    }
}

impl DesiredState {
    /// Whether the file names targets (`targets:`).
    pub fn is_multi_target(&self) -> bool {
        !self.targets.is_empty()
    }

    /// The target of this name.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name.as_str() == name)
    }

    /// The target names, sorted.
    pub fn target_names(&self) -> Vec<&TargetName> {
        let mut names: Vec<&TargetName> = self.targets.iter().map(|t| &t.name).collect();
        names.sort();
        names
    }

    /// Whether a user of this file has a target's app: it is listed in `apps`, or `apps`
    /// is absent and the target has `everyone: true`.
    pub fn has_app(user: &DesiredUser, target: &Target) -> bool {
        match &user.apps.listed {
            Some(apps) => apps.contains(&target.name),
            None => target.everyone,
        }
    }

    /// The single-target desired state of one target of a multi-target file, for the
    /// planner; `None` when the file has no target of this name. See the module
    /// documentation for what it holds. Pure: the same file gives the same projection.
    pub fn for_target(&self, name: &str) -> Option<DesiredState> {
        let target = self.target(name)?;
        let users = self
            .users
            .iter()
            .map(|user| {
                let mut projected = user.clone();
                let apps = std::mem::take(&mut projected.apps);
                if let Some(overlay) = apps.attributes.get(&target.name) {
                    let attrs = &mut projected.attributes;
                    let set = |slot: &mut Option<String>, value: &Option<String>| {
                        if value.is_some() {
                            slot.clone_from(value);
                        }
                    };
                    set(&mut attrs.role, &overlay.role);
                    set(&mut attrs.title, &overlay.title);
                    set(&mut attrs.display_name, &overlay.display_name);
                    set(&mut attrs.external_id, &overlay.external_id);
                }
                // A tombstone stays a tombstone in every target, whatever its `apps`.
                if projected.attributes.active && !DesiredState::has_app(user, target) {
                    projected.attributes.active = false;
                    projected.apps.revoked = Some(AppRevocation {
                        app: target.name.clone(),
                        source: apps.source.clone().or_else(|| user.source.clone()),
                    });
                }
                projected
            })
            .collect();
        let only_target = self.targets.len() == 1;
        let groups = self
            .groups
            .iter()
            .filter(|g| match &g.target {
                Some(t) => *t == target.name,
                None => only_target,
            })
            .cloned()
            .map(|mut g| {
                g.target = None;
                g
            })
            .collect();
        Some(DesiredState {
            provider: target.provider,
            policy: target.policy.clone(),
            custom_roles: target.custom_roles.clone(),
            paid_roles: target.paid_roles.clone(),
            users,
            groups,
            targets: Vec::new(),
        })
    }
}

/// Lays a target's own policy keys over the file's top-level policy: each key the target
/// gives replaces the top-level one, except `protected`, which adds up (a person protected
/// at the top is protected in every target). `given` says which keys the target gives.
pub fn merge_policy(top: &Policy, own: &Policy, given: &PolicyKeys) -> Policy {
    let mut merged = top.clone();
    if given.unmanaged_users {
        merged.unmanaged_users = own.unmanaged_users;
    }
    if given.unmanaged_groups {
        merged.unmanaged_groups = own.unmanaged_groups;
    }
    if given.max_deactivations {
        merged.max_deactivations = own.max_deactivations;
    }
    if given.max_removals {
        merged.max_removals = own.max_removals;
    }
    if given.expiry_notice_days {
        merged.expiry_notice_days = own.expiry_notice_days;
    }
    if given.max_access_days {
        merged.max_access_days = own.max_access_days;
    }
    if given.max_paid_seats {
        merged.max_paid_seats = own.max_paid_seats;
    }
    for name in &own.protected {
        if !merged.protected.iter().any(|p| crate::UserKey::new(p) == crate::UserKey::new(name)) {
            merged.protected.push(name.clone());
        }
    }
    merged
}

/// Which keys a target's `policy` gives (the rest come from the top-level policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyKeys {
    /// `unmanaged_users` is given.
    pub unmanaged_users: bool,
    /// `unmanaged_groups` is given.
    pub unmanaged_groups: bool,
    /// `max_deactivations` is given.
    pub max_deactivations: bool,
    /// `max_removals` is given.
    pub max_removals: bool,
    /// `expiry_notice_days` is given.
    pub expiry_notice_days: bool,
    /// `max_access_days` is given.
    pub max_access_days: bool,
    /// `max_paid_seats` is given.
    pub max_paid_seats: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DesiredGroup, RailLimit, UnmanagedUsers, UserAttributes};

    fn name(text: &str) -> TargetName {
        TargetName::new(text).unwrap()
    }

    fn target(text: &str, provider: Provider, everyone: bool) -> Target {
        Target {
            name: name(text),
            provider,
            url: format!("https://{text}.example.com/scim/v2"),
            token: TokenSource::Env(format!("TOKEN_{}", text.to_uppercase())),
            api_token: None,
            policy: Policy::default(),
            custom_roles: Vec::new(),
            paid_roles: None,
            everyone,
            source: None,
        }
    }

    fn user(user_name: &str, apps: Option<&[&str]>) -> DesiredUser {
        let mut user = DesiredUser::new(UserAttributes {
            user_name: user_name.into(),
            role: Some("viewer".into()),
            active: true,
            ..Default::default()
        });
        user.apps.listed = apps.map(|apps| apps.iter().map(|a| name(a)).collect());
        user.source = Some(SourceLocation { file: "users.yaml".into(), line: 7, column: 5 });
        user
    }

    fn group(display_name: &str, target: Option<&str>) -> DesiredGroup {
        DesiredGroup {
            display_name: display_name.into(),
            external_id: None,
            members: Some(Vec::new()),
            expiring_members: Vec::new(),
            member_grants: Vec::new(),
            target: target.map(name),
            source: None,
        }
    }

    #[test]
    fn target_names_are_lower_case_identifiers() {
        for ok in ["miro", "pb", "a", "slack-eu", "zoom_2", &"a".repeat(64)] {
            assert!(TargetName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Miro", "2miro", "-miro", "mi ro", "miro.", "mirö", &"a".repeat(65)] {
            assert!(TargetName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn projection_overlays_attributes_and_revokes_dropped_apps() {
        let mut miro = target("miro", Provider::Generic, false);
        miro.policy.max_deactivations = RailLimit::Count(5);
        miro.custom_roles = vec!["editor".into()];
        let mut ada = user("ada@example.com", Some(&["miro", "productboard"]));
        ada.apps
            .attributes
            .insert(name("miro"), TargetAttributes { role: Some("editor".into()), ..Default::default() });
        let bob = user("bob@example.com", Some(&["productboard"]));
        let mut gone = user("gone@example.com", Some(&["miro"]));
        gone.attributes.active = false;
        let everyone = user("eve@example.com", None);
        let state = DesiredState {
            targets: vec![target("productboard", Provider::Productboard, true), miro],
            users: vec![ada, bob, gone, everyone],
            groups: vec![group("Product", Some("productboard")), group("Design", Some("miro"))],
            ..DesiredState::default()
        };

        let projected = state.for_target("miro").unwrap();
        assert_eq!(projected.provider, Provider::Generic);
        assert_eq!(projected.policy.max_deactivations, RailLimit::Count(5));
        assert_eq!(projected.custom_roles, ["editor"]);
        assert!(projected.targets.is_empty());
        let [ada, bob, gone, eve] = &projected.users[..] else { panic!("four users") };
        assert_eq!(ada.attributes.role.as_deref(), Some("editor"));
        assert!(ada.attributes.active && ada.apps.is_empty());
        assert!(!bob.attributes.active, "bob does not have miro: carried to be deactivated there");
        assert_eq!(bob.apps.revoked.as_ref().map(|r| r.app.as_str()), Some("miro"));
        assert!(!gone.attributes.active && gone.apps.revoked.is_none(), "a tombstone stays a tombstone");
        assert!(!eve.attributes.active, "no apps and miro is not for everyone");
        assert_eq!(projected.groups.iter().map(|g| g.display_name.as_str()).collect::<Vec<_>>(), ["Design"]);

        let projected = state.for_target("productboard").unwrap();
        assert_eq!(projected.users[0].attributes.role.as_deref(), Some("viewer"));
        assert!(projected.users[3].attributes.active, "productboard is for everyone");
        assert!(!projected.users[2].attributes.active);
        assert_eq!(projected.groups.len(), 1);
        assert!(state.for_target("zoom").is_none());
    }

    #[test]
    fn a_single_target_takes_the_groups_without_target() {
        let state = DesiredState {
            targets: vec![target("miro", Provider::Generic, true)],
            groups: vec![group("Design", None)],
            ..DesiredState::default()
        };
        assert_eq!(state.for_target("miro").unwrap().groups.len(), 1);
    }

    #[test]
    fn policies_merge_key_by_key_and_protected_adds_up() {
        let top = Policy {
            max_deactivations: RailLimit::Count(10),
            protected: vec!["admin@example.com".into()],
            ..Policy::default()
        };
        let own = Policy {
            unmanaged_users: UnmanagedUsers::Keep,
            max_deactivations: RailLimit::Count(99),
            protected: vec!["ADMIN@example.com".into(), "ops@example.com".into()],
            ..Policy::default()
        };
        let merged = merge_policy(&top, &own, &PolicyKeys { unmanaged_users: true, ..PolicyKeys::default() });
        assert_eq!(merged.unmanaged_users, UnmanagedUsers::Keep);
        assert_eq!(merged.max_deactivations, RailLimit::Count(10), "not given: the top-level value");
        assert_eq!(merged.protected, ["admin@example.com", "ops@example.com"]);
    }
}
