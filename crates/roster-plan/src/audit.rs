//! The audit: the desired state, the SCIM view and Productboard's REST member list
//! compared, as a pure function from values to an [`AuditReport`].
//!
//! SCIM shows the accounts SCIM manages; the REST member list shows everyone with access.
//! People are compared by roster's identity key ([`UserKey`]) of the REST `email` and the
//! SCIM `userName`. The report has four sections:
//!
//! - **not in SCIM**: members with access (any status but inactive, unknown words
//!   included) whose key no SCIM user has: invited by hand, or created outside SCIM.
//! - **differences**: people in both whose role (compared ignoring case) or access
//!   differs; a side without a value is no difference.
//! - **not in the file**: members with access whose key is neither a userName nor a
//!   `previously` name of the file, and whose SCIM account (if any) has no externalId of
//!   the file, with the arrival time the REST list gives.
//! - **unknown to the REST list**: active SCIM users whose key no member has. Inactive
//!   ones are not a finding: a list of workspace members need not show them.
//!
//! A key that two members or two SCIM users share is reported as **ambiguous** and is
//! not compared further: roster never guesses who is who.

use std::collections::{BTreeMap, BTreeSet};

use roster_model::{DesiredState, LiveState, LiveUser, UserKey, WorkspaceMember};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the audit's JSON form.
pub const AUDIT_FORMAT_VERSION: u32 = 1;

/// What `roster audit` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    /// The version of this format, [`AUDIT_FORMAT_VERSION`]: 1.
    pub version: u32,
    /// How many people each source holds.
    pub counts: AuditCounts,
    /// Members with access that SCIM does not show.
    pub not_in_scim: Vec<MemberFinding>,
    /// People whose role or access differs between the REST list and SCIM.
    pub differences: Vec<Difference>,
    /// Members with access that the file does not name.
    pub not_in_file: Vec<MemberFinding>,
    /// Active SCIM users that the REST list does not know.
    pub unknown_to_rest: Vec<ScimFinding>,
    /// Keys that more than one member or SCIM user holds.
    pub ambiguous: Vec<Ambiguity>,
}

/// How many people each source holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditCounts {
    /// Members in the REST list.
    pub members: usize,
    /// Of them, with access.
    pub members_with_access: usize,
    /// Users SCIM shows.
    pub scim_users: usize,
    /// Users the file defines.
    pub file_users: usize,
}

/// A member of the REST list, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberFinding {
    /// The member as listed.
    pub member: WorkspaceMember,
    /// The SCIM account with the same key, if any: its id and whether it is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimFinding>,
}

/// A SCIM user, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimFinding {
    /// The SCIM id.
    pub id: String,
    /// The userName.
    pub user_name: String,
    /// The primary role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether the account is active.
    pub active: bool,
}

/// One person whose REST and SCIM views differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// The member as listed.
    pub member: WorkspaceMember,
    /// The SCIM account.
    pub scim: ScimFinding,
    /// The role in the REST list and in SCIM, when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Pair>,
    /// The access in the REST list (its status) and in SCIM (`active`/`inactive`), when
    /// they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Pair>,
}

/// A value as the REST list shows it and as SCIM shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    /// In the REST list.
    pub rest: String,
    /// In SCIM.
    pub scim: String,
}

/// A key that several people hold in one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ambiguity {
    /// The identity key.
    pub key: String,
    /// `rest` or `scim`.
    pub source: String,
    /// The ids holding it.
    pub ids: Vec<String>,
}

/// The JSON Schema of `roster audit --format json` (`schemas/audit.schema.json`).
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<AuditReport>().to_value();
    crate::unwrap_descriptions(&mut schema);
    schema
}

impl AuditReport {
    /// True when the file, SCIM and the REST list agree.
    pub fn is_clean(&self) -> bool {
        self.not_in_scim.is_empty()
            && self.differences.is_empty()
            && self.not_in_file.is_empty()
            && self.unknown_to_rest.is_empty()
            && self.ambiguous.is_empty()
    }

    /// How many findings the report holds.
    pub fn n_findings(&self) -> usize {
        self.not_in_scim.len()
            + self.differences.len()
            + self.not_in_file.len()
            + self.unknown_to_rest.len()
            + self.ambiguous.len()
    }
}

fn scim_finding(user: &LiveUser) -> ScimFinding {
    ScimFinding {
        id: user.id.clone(),
        user_name: user.attributes.user_name.clone(),
        role: user.attributes.role.clone(),
        active: user.attributes.active,
    }
}

fn same_role(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Compares the file, SCIM and the REST member list. Pure and deterministic: findings
/// are ordered by key, then id.
pub fn audit(desired: &DesiredState, live: &LiveState, members: &[WorkspaceMember]) -> AuditReport {
    let mut scim_by_key: BTreeMap<UserKey, Vec<&LiveUser>> = BTreeMap::new();
    for user in &live.users {
        scim_by_key.entry(user.attributes.key()).or_default().push(user);
    }
    let mut members_by_key: BTreeMap<UserKey, Vec<&WorkspaceMember>> = BTreeMap::new();
    let mut unidentified: Vec<&WorkspaceMember> = Vec::new();
    for member in members {
        match member.key() {
            Some(key) => members_by_key.entry(key).or_default().push(member),
            None => unidentified.push(member),
        }
    }
    let mut file_keys: BTreeSet<UserKey> = BTreeSet::new();
    let mut file_external_ids: BTreeSet<&str> = BTreeSet::new();
    for user in &desired.users {
        file_keys.insert(user.attributes.key());
        file_keys.extend(user.previously.iter().map(|name| UserKey::new(name)));
        if let Some(external_id) = &user.attributes.external_id {
            file_external_ids.insert(external_id);
        }
    }

    let mut report = AuditReport {
        version: AUDIT_FORMAT_VERSION,
        counts: AuditCounts {
            members: members.len(),
            members_with_access: members.iter().filter(|m| m.has_access()).count(),
            scim_users: live.users.len(),
            file_users: desired.users.len(),
        },
        ..AuditReport::default()
    };
    for (source, ids) in ambiguous_keys(&members_by_key, |m| m.id.clone())
        .map(|k| ("rest", k))
        .chain(ambiguous_keys(&scim_by_key, |u| u.id.clone()).map(|k| ("scim", k)))
    {
        report.ambiguous.push(Ambiguity { key: ids.0.to_string(), source: source.to_owned(), ids: ids.1 });
    }

    for member in &unidentified {
        if member.has_access() {
            let finding = MemberFinding { member: (*member).clone(), scim: None };
            report.not_in_scim.push(finding.clone());
            report.not_in_file.push(finding);
        }
    }
    for (key, held) in &members_by_key {
        let scim = scim_by_key.get(key).map(Vec::as_slice).unwrap_or_default();
        let single_scim = (scim.len() == 1).then(|| scim[0]);
        for member in held {
            let finding = || MemberFinding { member: (*member).clone(), scim: single_scim.map(scim_finding) };
            if member.has_access() && scim.is_empty() {
                report.not_in_scim.push(finding());
            }
            let in_file = file_keys.contains(key)
                || scim.iter().any(|u| {
                    u.attributes.external_id.as_deref().is_some_and(|id| file_external_ids.contains(id))
                });
            if member.has_access() && !in_file {
                report.not_in_file.push(finding());
            }
        }
        if let ([member], Some(user)) = (held.as_slice(), single_scim) {
            let role = match (&member.role, &user.attributes.role) {
                (Some(rest), Some(scim)) if !same_role(rest, scim) => {
                    Some(Pair { rest: rest.clone(), scim: scim.clone() })
                }
                _ => None,
            };
            let status = match &member.status {
                Some(status) if status.has_access() != user.attributes.active => Some(Pair {
                    rest: status.to_string(),
                    scim: if user.attributes.active { "active" } else { "inactive" }.to_owned(),
                }),
                _ => None,
            };
            if role.is_some() || status.is_some() {
                report.differences.push(Difference {
                    member: (*member).clone(),
                    scim: scim_finding(user),
                    role,
                    status,
                });
            }
        }
    }
    for (key, users) in &scim_by_key {
        if members_by_key.contains_key(key) {
            continue;
        }
        report.unknown_to_rest.extend(users.iter().filter(|u| u.attributes.active).map(|u| scim_finding(u)));
    }
    report
}

/// Keys held more than once, with the ids holding them, sorted.
fn ambiguous_keys<'a, T>(
    by_key: &'a BTreeMap<UserKey, Vec<&'a T>>,
    id: impl Fn(&T) -> String + 'a,
) -> impl Iterator<Item = (UserKey, Vec<String>)> + 'a {
    by_key.iter().filter(|(_, held)| held.len() > 1).map(move |(key, held)| {
        let mut ids: Vec<String> = held.iter().map(|t| id(t)).collect();
        ids.sort();
        (key.clone(), ids)
    })
}

#[cfg(test)]
mod tests {
    use roster_model::{DesiredUser, MemberStatus, UserAttributes};

    use super::*;

    fn desired(users: &[(&str, Option<&str>, &[&str])]) -> DesiredState {
        DesiredState {
            users: users
                .iter()
                .map(|(name, external_id, previously)| DesiredUser {
                    apps: Default::default(),
                    expires: None,
                    review_after: None,
                    grant: Default::default(),
                    attributes: UserAttributes {
                        user_name: (*name).to_owned(),
                        external_id: external_id.map(str::to_owned),
                        active: true,
                        ..Default::default()
                    },
                    previously: previously.iter().map(|p| (*p).to_owned()).collect(),
                    source: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn scim(users: &[(&str, &str, Option<&str>, bool)]) -> LiveState {
        LiveState {
            users: users
                .iter()
                .map(|(id, name, role, active)| LiveUser {
                    created: None,
                    id: (*id).to_owned(),
                    attributes: UserAttributes {
                        user_name: (*name).to_owned(),
                        role: role.map(str::to_owned),
                        active: *active,
                        ..Default::default()
                    },
                })
                .collect(),
            ..Default::default()
        }
    }

    fn member(id: &str, email: Option<&str>, role: Option<&str>, status: Option<&str>) -> WorkspaceMember {
        WorkspaceMember {
            id: id.to_owned(),
            email: email.map(str::to_owned),
            name: None,
            role: role.map(str::to_owned),
            status: status.map(MemberStatus::from_word),
            created: None,
        }
    }

    fn emails(findings: &[MemberFinding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| f.member.email.clone().unwrap_or_else(|| format!("#{}", f.member.id)))
            .collect()
    }

    #[test]
    fn all_agree() {
        let report = audit(
            &desired(&[("ada@x.io", None, &[])]),
            &scim(&[("u1", "Ada@X.io", Some("maker"), true)]),
            &[member("m1", Some("ada@x.io"), Some("Maker"), Some("active"))],
        );
        assert!(report.is_clean(), "{report:#?}");
        assert_eq!(
            report.counts,
            AuditCounts { members: 1, members_with_access: 1, scim_users: 1, file_users: 1 }
        );
    }

    #[test]
    fn members_with_access_that_scim_does_not_show() {
        let report = audit(
            &desired(&[("ada@x.io", None, &[]), ("hand@x.io", None, &[])]),
            &scim(&[("u1", "ada@x.io", None, true)]),
            &[
                member("m1", Some("ada@x.io"), None, Some("active")),
                member("m2", Some("Hand@x.io"), Some("admin"), Some("active")),
                member("m3", Some("gone@x.io"), None, Some("disabled")),
                member("m4", Some("pending@x.io"), None, Some("invited")),
                member("m5", None, None, None),
            ],
        );
        assert_eq!(emails(&report.not_in_scim), ["#m5", "Hand@x.io", "pending@x.io"]);
        assert_eq!(emails(&report.not_in_file), ["#m5", "pending@x.io"]);
        assert!(report.differences.is_empty() && report.unknown_to_rest.is_empty());
    }

    #[test]
    fn roles_and_statuses_that_differ() {
        let report = audit(
            &desired(&[
                ("a@x.io", None, &[]),
                ("b@x.io", None, &[]),
                ("c@x.io", None, &[]),
                ("d@x.io", None, &[]),
            ]),
            &scim(&[
                ("u1", "a@x.io", Some("contributor"), true),
                ("u2", "b@x.io", Some("maker"), false),
                ("u3", "c@x.io", None, true),
                ("u4", "d@x.io", Some("viewer"), true),
            ]),
            &[
                member("m1", Some("a@x.io"), Some("admin"), Some("active")),
                member("m2", Some("b@x.io"), Some("maker"), Some("active")),
                member("m3", Some("c@x.io"), Some("admin"), None),
                member("m4", Some("d@x.io"), Some("viewer"), Some("inactive")),
            ],
        );
        let found: Vec<(&str, Option<Pair>, Option<Pair>)> = report
            .differences
            .iter()
            .map(|d| (d.scim.id.as_str(), d.role.clone(), d.status.clone()))
            .collect();
        let pair = |rest: &str, scim: &str| Some(Pair { rest: rest.into(), scim: scim.into() });
        assert_eq!(
            found,
            [
                ("u1", pair("admin", "contributor"), None),
                ("u2", None, pair("active", "inactive")),
                ("u4", None, pair("inactive", "active")),
            ]
        );
        assert!(report.not_in_scim.is_empty() && report.not_in_file.is_empty());
    }

    #[test]
    fn members_absent_from_the_file() {
        let mut live = scim(&[("u1", "renamed@x.io", None, true), ("u2", "new@x.io", None, true)]);
        live.users[0].attributes.external_id = Some("ext-1".into());
        let mut arrival = member("m3", Some("arrived@x.io"), None, Some("active"));
        arrival.created = Some("2026-11-01T09:00:00Z".into());
        let report = audit(
            &desired(&[("ada@x.io", Some("ext-1"), &[]), ("bob@x.io", None, &["old@x.io"])]),
            &live,
            &[
                member("m1", Some("renamed@x.io"), None, Some("active")),
                member("m2", Some("old@x.io"), None, Some("active")),
                member("m4", Some("new@x.io"), None, Some("active")),
                member("m5", Some("left@x.io"), None, Some("inactive")),
                arrival,
            ],
        );
        assert_eq!(emails(&report.not_in_file), ["arrived@x.io", "new@x.io"]);
        assert_eq!(report.not_in_file[0].member.created.as_deref(), Some("2026-11-01T09:00:00Z"));
        assert_eq!(report.not_in_file[1].scim.as_ref().map(|s| s.id.as_str()), Some("u2"));
    }

    #[test]
    fn scim_users_the_rest_list_does_not_know() {
        let report = audit(
            &desired(&[]),
            &scim(&[("u1", "ghost@x.io", Some("maker"), true), ("u2", "off@x.io", None, false)]),
            &[],
        );
        assert_eq!(
            report.unknown_to_rest,
            [ScimFinding {
                id: "u1".into(),
                user_name: "ghost@x.io".into(),
                role: Some("maker".into()),
                active: true
            }]
        );
        assert!(!report.is_clean());
        assert_eq!(report.n_findings(), 1);
    }

    #[test]
    fn shared_keys_are_ambiguous_and_not_compared() {
        let report = audit(
            &desired(&[("ada@x.io", None, &[])]),
            &scim(&[("u1", "ada@x.io", Some("maker"), true), ("u2", "ADA@x.io", Some("admin"), true)]),
            &[
                member("m2", Some("ada@x.io"), Some("viewer"), Some("active")),
                member("m1", Some("Ada@x.io"), Some("viewer"), Some("active")),
            ],
        );
        assert_eq!(
            report.ambiguous,
            [
                Ambiguity {
                    key: "ada@x.io".into(),
                    source: "rest".into(),
                    ids: vec!["m1".into(), "m2".into()]
                },
                Ambiguity {
                    key: "ada@x.io".into(),
                    source: "scim".into(),
                    ids: vec!["u1".into(), "u2".into()]
                },
            ]
        );
        assert!(report.differences.is_empty());
    }
}
