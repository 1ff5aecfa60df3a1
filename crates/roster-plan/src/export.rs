//! `roster export`: one row per user of the desired state for an access review, with the
//! evidence the file carries (reason, approver, ticket), the teams that list the user, the
//! commit that last changed the user's entry (found by the CLI, passed in as a value), and
//! with `--live` the account the planner matches to the user.
//!
//! Pure: the rows are a function of the desired state, the day, the last changes and the
//! live state. Live users are matched by the planner's own matching
//! ([`crate::users::plan_users`]), so an export and a plan never disagree about who is who.

use std::borrow::Cow;
use std::collections::BTreeSet;

use roster_model::identity::canonical;
use roster_model::{Date, DesiredState, DesiredUser, LiveState, LiveUser};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::index::{FastMap, map_with_capacity};

/// The version of the export document's format (`version` in the JSON).
pub const EXPORT_VERSION: u32 = 1;

/// What `commit` says for an entry with edits that are not committed yet.
pub const UNCOMMITTED: &str = "uncommitted";

/// The JSON document `roster export --format json` writes (`schemas/export.schema.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportDocument {
    /// The format version, 1.
    pub version: u32,
    /// When the export was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The day (UTC) `active` and `teams` were judged on: a user or membership whose
    /// `expires` is this day or earlier has ended.
    pub as_of: Date,
    /// The desired-state files read, as named on the command line.
    pub files: Vec<String>,
    /// Whether the live state was read (`--live`): then each row carries `inFile`,
    /// `liveId`, `liveStatus` and `liveRole`, and live users absent from the file have rows.
    pub live: bool,
    /// One row per user, ordered by the identity key of the userName.
    pub rows: Vec<ExportRow>,
}

/// One user in an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportRow {
    /// In a file with `targets`: the app (target) this row is about; a person has a row
    /// per app they have, or have an account in. Absent for a single-target file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The userName: the file's, or the service's for a live user absent from the file.
    pub user_name: String,
    /// The file's displayName.
    pub display_name: Option<String>,
    /// The file's role (empty: the file leaves the role to the service).
    pub role: Option<String>,
    /// Whether the role takes a paid seat under the provider's seat model (or the file's
    /// `paid_roles`); null without a seat model or for a user absent from the file.
    pub paid_seat: Option<bool>,
    /// Whether the file gives the user access on `asOf`; null for a user absent from
    /// the file.
    pub active: Option<bool>,
    /// Why `active` is false: `tombstone` (`active: false` in the file) or `expired`
    /// (`expires` is `asOf` or earlier).
    pub inactive_reason: Option<InactiveReason>,
    /// The teams whose `members` list the user (by the identity key), sorted; a
    /// membership that expired on `asOf` is left out.
    pub teams: Vec<String>,
    /// The file's `expires`.
    pub expires: Option<Date>,
    /// The file's `review_after`.
    pub review_after: Option<Date>,
    /// The file's `reason`.
    pub reason: Option<String>,
    /// The file's `approved_by`.
    pub approved_by: Option<String>,
    /// The file's `ticket`.
    pub ticket: Option<String>,
    /// The commit that last changed the user's entry (by git blame of the entry's
    /// lines), `uncommitted` when the entry has edits not committed yet, null outside
    /// git (no repository, the file untracked, no git).
    pub commit: Option<String>,
    /// That commit's author, `Name <email>`.
    pub author: Option<String>,
    /// That commit's author date (RFC 3339, UTC).
    pub date: Option<String>,
    /// With `--live`: whether the file lists the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_file: Option<bool>,
    /// With `--live`: the service's id of the matched account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    /// With `--live`: the account's status in the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_status: Option<LiveStatus>,
    /// With `--live`: the account's role in the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_role: Option<String>,
}

/// Why a user of the file has no access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InactiveReason {
    /// `active: false` in the file.
    Tombstone,
    /// `expires` is the as-of day or earlier.
    Expired,
    /// In a file with `targets`: the user's `apps` does not list this row's target.
    #[serde(rename = "notInApps")]
    NotInApps,
}

impl InactiveReason {
    /// The word in CSV and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            InactiveReason::Tombstone => "tombstone",
            InactiveReason::Expired => "expired",
            InactiveReason::NotInApps => "notInApps",
        }
    }
}

/// The account's status in the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LiveStatus {
    /// An active account.
    Active,
    /// A deactivated account.
    Inactive,
    /// No account matches the file's user.
    Absent,
}

impl LiveStatus {
    /// The word in CSV and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveStatus::Active => "active",
            LiveStatus::Inactive => "inactive",
            LiveStatus::Absent => "absent",
        }
    }
}

/// The last change of a user's entry, as git blame tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastChange {
    /// A commit changed the entry last.
    Committed {
        /// The full commit id.
        commit: String,
        /// The author, `Name <email>`.
        author: String,
        /// The author date, RFC 3339 UTC.
        date: String,
    },
    /// Some line of the entry is not committed yet.
    Uncommitted,
}

/// The rows of an export and what the matching found doubtful.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Export {
    /// The rows, ordered by identity key.
    pub rows: Vec<ExportRow>,
    /// Identity conflicts and warnings from the matching (with `--live`), for stderr.
    pub warnings: Vec<String>,
}

/// Builds the rows: one per user of `desired` (with `last_change[i]` the last change of
/// `desired.users[i]`'s entry, `None` when git does not know), and with `live` one per
/// live account no user of the file matched.
pub fn export_rows(
    desired: &DesiredState,
    as_of: Date,
    last_change: &[Option<LastChange>],
    live: Option<&LiveState>,
) -> Export {
    let teams = teams_by_key(desired, as_of);
    let mut warnings = Vec::new();
    let matching = live.map(|live| {
        let mut conflicts = Vec::new();
        let users = crate::users::plan_users(
            desired,
            live,
            Some(as_of),
            live.completeness.is_complete(),
            &mut warnings,
            &mut conflicts,
        );
        warnings.extend(conflicts);
        (live, users.matched, users.dropped)
    });
    let mut keyed: Vec<(Cow<'_, str>, ExportRow)> = Vec::with_capacity(desired.users.len());
    for (d, user) in desired.users.iter().enumerate() {
        let key = canonical(&user.attributes.user_name);
        let mut row = file_row(desired, user, as_of, teams.get(key.as_ref()));
        match last_change.get(d).cloned().flatten() {
            Some(LastChange::Committed { commit, author, date }) => {
                row.commit = Some(commit);
                row.author = Some(author);
                row.date = Some(date);
            }
            Some(LastChange::Uncommitted) => row.commit = Some(UNCOMMITTED.to_owned()),
            None => {}
        }
        if let Some((live, matched, _)) = &matching {
            row.in_file = Some(true);
            match matched.get(d).copied().flatten() {
                Some(l) => set_live(&mut row, &live.users[l]),
                None => row.live_status = Some(LiveStatus::Absent),
            }
        }
        keyed.push((key, row));
    }
    if let Some((live, matched, dropped)) = &matching {
        let mut claimed = vec![false; live.users.len()];
        for l in matched.iter().flatten() {
            claimed[*l] = true;
        }
        for (l, user) in live.users.iter().enumerate() {
            if claimed[l] || dropped.get(l).copied().unwrap_or(false) {
                continue;
            }
            let mut row = empty_row(user.attributes.user_name.clone());
            row.in_file = Some(false);
            set_live(&mut row, user);
            keyed.push((canonical(&user.attributes.user_name), row));
        }
    }
    // By key; the file's row before a live account's of the same key; then by id.
    keyed.sort_by(|(a_key, a), (b_key, b)| {
        a_key
            .cmp(b_key)
            .then_with(|| b.in_file.cmp(&a.in_file))
            .then_with(|| a.user_name.cmp(&b.user_name))
            .then_with(|| a.live_id.cmp(&b.live_id))
    });
    Export { rows: keyed.into_iter().map(|(_, row)| row).collect(), warnings }
}

/// The rows of a file with `targets`: for each target (by name), the rows of its
/// projection (the target's provider, roles, per-target attributes and teams), with
/// `live[target]` where the service was read. A user without the target's app has a row
/// there only when the service still holds an account for them (`notInApps`). Rows are
/// ordered by target, then as [`export_rows`] orders them.
pub fn export_targets(
    desired: &DesiredState,
    as_of: Date,
    last_change: &[Option<LastChange>],
    live: &std::collections::BTreeMap<String, LiveState>,
) -> Export {
    let mut all = Export::default();
    for name in desired.target_names() {
        let Some(projection) = desired.for_target(name.as_str()) else { continue };
        let export = export_rows(&projection, as_of, last_change, live.get(name.as_str()));
        all.warnings.extend(export.warnings.into_iter().map(|w| format!("target {name}: {w}")));
        all.rows.extend(
            export
                .rows
                .into_iter()
                .filter(|row| row.inactive_reason != Some(InactiveReason::NotInApps) || row.live_id.is_some())
                .map(|row| ExportRow { target: Some(name.to_string()), ..row }),
        );
    }
    all
}

/// The JSON Schema of [`ExportDocument`] (draft 7, like the other schemas).
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<ExportDocument>().to_value();
    crate::unwrap_descriptions(&mut schema);
    schema
}

/// The team names listing each identity key, sorted and each once; memberships that
/// ended on `as_of` are left out, as the planner leaves them out of a team's members.
fn teams_by_key(desired: &DesiredState, as_of: Date) -> FastMap<Cow<'_, str>, Vec<String>> {
    let mut by_key: FastMap<Cow<'_, str>, BTreeSet<&str>> = map_with_capacity(desired.users.len());
    for group in &desired.groups {
        let Some(members) = &group.members else { continue };
        let ended: BTreeSet<Cow<'_, str>> = group
            .expiring_members
            .iter()
            .filter(|m| m.expires <= as_of)
            .map(|m| canonical(&m.user_name))
            .collect();
        for member in members {
            let key = canonical(member);
            if !ended.contains(&key) {
                by_key.entry(key).or_default().insert(&group.display_name);
            }
        }
    }
    by_key.into_iter().map(|(key, names)| (key, names.into_iter().map(str::to_owned).collect())).collect()
}

fn file_row(
    desired: &DesiredState,
    user: &DesiredUser,
    as_of: Date,
    teams: Option<&Vec<String>>,
) -> ExportRow {
    let attributes = &user.attributes;
    let inactive_reason = if user.apps.revoked.is_some() {
        Some(InactiveReason::NotInApps)
    } else if !attributes.active {
        Some(InactiveReason::Tombstone)
    } else if user.expired_on(Some(as_of)).is_some() {
        Some(InactiveReason::Expired)
    } else {
        None
    };
    ExportRow {
        display_name: attributes.display_name.clone(),
        role: attributes.role.clone(),
        paid_seat: desired.is_paid_role(attributes.role.as_deref()),
        active: Some(inactive_reason.is_none()),
        inactive_reason,
        teams: teams.cloned().unwrap_or_default(),
        expires: user.expires,
        review_after: user.review_after,
        reason: user.grant.reason.clone(),
        approved_by: user.grant.approved_by.clone(),
        ticket: user.grant.ticket.clone(),
        ..empty_row(attributes.user_name.clone())
    }
}

fn empty_row(user_name: String) -> ExportRow {
    ExportRow {
        target: None,
        user_name,
        display_name: None,
        role: None,
        paid_seat: None,
        active: None,
        inactive_reason: None,
        teams: Vec::new(),
        expires: None,
        review_after: None,
        reason: None,
        approved_by: None,
        ticket: None,
        commit: None,
        author: None,
        date: None,
        in_file: None,
        live_id: None,
        live_status: None,
        live_role: None,
    }
}

fn set_live(row: &mut ExportRow, user: &LiveUser) {
    row.live_id = Some(user.id.clone());
    row.live_status = Some(if user.attributes.active { LiveStatus::Active } else { LiveStatus::Inactive });
    row.live_role = user.attributes.role.clone();
}

#[cfg(test)]
mod tests {
    use roster_model::{DesiredGroup, Grant, MembershipExpiry, Provider, UserAttributes};

    use super::*;

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn user(name: &str, role: Option<&str>, active: bool) -> DesiredUser {
        DesiredUser::new(UserAttributes {
            user_name: name.into(),
            role: role.map(str::to_owned),
            active,
            ..UserAttributes::default()
        })
    }

    fn live_user(id: &str, name: &str, external_id: Option<&str>, active: bool) -> LiveUser {
        LiveUser {
            id: id.into(),
            attributes: UserAttributes {
                user_name: name.into(),
                external_id: external_id.map(str::to_owned),
                role: Some("viewer".into()),
                active,
                ..UserAttributes::default()
            },
            created: None,
        }
    }

    fn state() -> DesiredState {
        let mut expired = user("Bo@Example.com", Some("maker"), true);
        expired.expires = Some(day("2026-06-01"));
        expired.grant = Grant {
            reason: Some("contract".into()),
            approved_by: Some("ada@example.com".into()),
            ticket: None,
        };
        let mut renamed = user("cy@example.com", Some("viewer"), true);
        renamed.previously = vec!["cy@old.example".into()];
        DesiredState {
            provider: Provider::Productboard,
            users: vec![
                user("zed@example.com", None, false),
                expired,
                user("ada@example.com", Some("admin"), true),
                renamed,
            ],
            groups: vec![
                DesiredGroup {
                    display_name: "Product".into(),
                    external_id: None,
                    members: Some(vec!["ADA@example.com".into(), "bo@example.com".into()]),
                    expiring_members: vec![MembershipExpiry {
                        user_name: "bo@example.com".into(),
                        expires: day("2026-05-01"),
                    }],
                    member_grants: Vec::new(),
                    target: None,
                    source: None,
                },
                DesiredGroup {
                    display_name: "Design".into(),
                    external_id: None,
                    members: Some(vec!["ada@example.com".into()]),
                    expiring_members: Vec::new(),
                    member_grants: Vec::new(),
                    target: None,
                    source: None,
                },
                DesiredGroup {
                    display_name: "Unmanaged".into(),
                    external_id: None,
                    members: None,
                    expiring_members: Vec::new(),
                    member_grants: Vec::new(),
                    target: None,
                    source: None,
                },
            ],
            ..DesiredState::default()
        }
    }

    #[test]
    fn rows_carry_the_file_in_key_order() {
        let changes = vec![
            Some(LastChange::Uncommitted),
            Some(LastChange::Committed {
                commit: "c1".into(),
                author: "A <a@example.com>".into(),
                date: "2026-01-01T00:00:00Z".into(),
            }),
            None,
        ];
        let export = export_rows(&state(), day("2026-06-01"), &changes, None);
        let names: Vec<&str> = export.rows.iter().map(|r| r.user_name.as_str()).collect();
        assert_eq!(names, ["ada@example.com", "Bo@Example.com", "cy@example.com", "zed@example.com"]);
        let [ada, bo, cy, zed] = &export.rows[..] else { panic!("four rows") };
        assert_eq!(ada.teams, ["Design", "Product"]);
        assert_eq!((ada.active, ada.inactive_reason, ada.paid_seat), (Some(true), None, Some(true)));
        // Expired on the as-of day itself; its membership ended a month before.
        assert_eq!((bo.active, bo.inactive_reason), (Some(false), Some(InactiveReason::Expired)));
        assert!(bo.teams.is_empty());
        assert_eq!(bo.reason.as_deref(), Some("contract"));
        assert_eq!(bo.commit.as_deref(), Some("c1"));
        assert_eq!(bo.date.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(cy.paid_seat, Some(false));
        assert_eq!(cy.commit, None);
        assert_eq!((zed.active, zed.inactive_reason), (Some(false), Some(InactiveReason::Tombstone)));
        // No role: Productboard's default role (viewer) takes no seat.
        assert_eq!(zed.paid_seat, Some(false));
        assert_eq!(zed.commit.as_deref(), Some(UNCOMMITTED));
        assert!(export.rows.iter().all(|r| r.in_file.is_none() && r.live_status.is_none()));
    }

    #[test]
    fn the_day_before_expiry_the_user_is_active() {
        let export = export_rows(&state(), day("2026-04-30"), &[], None);
        let bo = export.rows.iter().find(|r| r.user_name == "Bo@Example.com").unwrap();
        assert_eq!((bo.active, bo.inactive_reason), (Some(true), None));
        assert_eq!(bo.teams, ["Product"]);
    }

    #[test]
    fn without_a_seat_model_paid_seat_is_empty() {
        let mut desired = state();
        desired.provider = Provider::Generic;
        let export = export_rows(&desired, day("2026-01-01"), &[], None);
        assert!(export.rows.iter().all(|r| r.paid_seat.is_none()));
    }

    #[test]
    fn live_accounts_match_as_the_planner_matches() {
        let mut desired = state();
        desired.users[2].attributes.external_id = Some("ext-ada".into());
        let live = LiveState {
            users: vec![
                // Matched by externalId although the userName differs.
                live_user("1", "ada.lovelace@example.com", Some("ext-ada"), true),
                // Matched by a previous userName.
                live_user("2", "cy@old.example", None, true),
                // Matched by the identity key (case folded).
                live_user("3", "ZED@example.com", None, false),
                // In the service only.
                live_user("4", "eve@example.com", None, true),
            ],
            ..LiveState::default()
        };
        let export = export_rows(&desired, day("2026-01-01"), &[], Some(&live));
        type Summary<'a> = (&'a str, Option<bool>, Option<&'a str>, Option<LiveStatus>);
        let summary: Vec<Summary<'_>> = export
            .rows
            .iter()
            .map(|r| (r.user_name.as_str(), r.in_file, r.live_id.as_deref(), r.live_status))
            .collect();
        assert_eq!(
            summary,
            [
                ("ada@example.com", Some(true), Some("1"), Some(LiveStatus::Active)),
                ("Bo@Example.com", Some(true), None, Some(LiveStatus::Absent)),
                ("cy@example.com", Some(true), Some("2"), Some(LiveStatus::Active)),
                ("eve@example.com", Some(false), Some("4"), Some(LiveStatus::Active)),
                ("zed@example.com", Some(true), Some("3"), Some(LiveStatus::Inactive)),
            ]
        );
        let eve = &export.rows[3];
        assert_eq!((eve.active, eve.paid_seat, eve.live_role.as_deref()), (None, None, Some("viewer")));
    }

    #[test]
    fn the_schema_names_every_column() {
        let schema = json_schema().to_string();
        for column in ["userName", "paidSeat", "inactiveReason", "reviewAfter", "approvedBy", "liveStatus"] {
            assert!(schema.contains(column), "{column}");
        }
    }
}
