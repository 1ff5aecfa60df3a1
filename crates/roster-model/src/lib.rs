//! Domain types shared by every part of roster.
//!
//! Two worlds meet here: the *desired* state, read from `users.yaml`, and the *live*
//! state, read from a SCIM service. Both use the same [`UserAttributes`], so the planner
//! compares like with like. These types hold no I/O and no wire format; file types live
//! in `roster-spec` and SCIM wire types in `roster-scim`, and both convert explicitly.
//!
//! The types derive `serde` so that plans can embed them and tests can describe live
//! state as JSON; they derive `schemars` because a saved plan embeds them.

use std::fmt;

mod date;

pub use date::{Date, DateError};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod identity;
pub mod targets;

pub use identity::UserKey;
pub use targets::{
    AppRevocation, Target, TargetAttributes, TargetName, TargetNameError, TokenSource, UserApps,
};

/// A point in time, in UTC, as services give it in `meta.created` (RFC 3339).
///
/// The pure core never reads a clock: "now" is a `Timestamp` the command line passes
/// in, made by [`Timestamp::from_system_time`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

/// A text that is not an RFC 3339 timestamp with an offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampError {
    /// The text, shortened.
    pub text: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an RFC 3339 timestamp with an offset (like 2026-01-31T09:30:00Z)", self.text)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// Parses an RFC 3339 timestamp with an offset (`Z` or `+01:00`), as SCIM's
    /// `meta.created` is written.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        text.trim()
            .parse::<jiff::Timestamp>()
            .map(Timestamp)
            .map_err(|_| TimestampError { text: text.chars().take(64).collect() })
    }

    /// A system time (the command line's clock) as a timestamp; `None` when it is out of
    /// range.
    pub fn from_system_time(time: std::time::SystemTime) -> Option<Self> {
        jiff::Timestamp::try_from(time).ok().map(Timestamp)
    }

    /// Whole seconds since the Unix epoch (negative before it).
    pub fn as_unix_seconds(self) -> i64 {
        self.0.as_second()
    }

    /// Seconds from `earlier` to `self`; negative when `earlier` is later.
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        self.0.as_second() - earlier.0.as_second()
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with a fraction of a second only where there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An RFC 3339 timestamp with an offset, e.g. 2026-01-31T09:30:00Z.",
            "type": "string",
            "format": "date-time"
        })
    }
}

/// The SCIM service a desired-state file targets; it decides roles and quirks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Productboard: users are never deleted, roles are admin, maker, contributor, viewer.
    #[default]
    Productboard,
    /// Any SCIM 2.0 service; roles are free-form.
    Generic,
}

impl Provider {
    /// The roles this provider knows without any declaration in the file. `None` means
    /// that any role is accepted.
    pub fn builtin_roles(self) -> Option<&'static [&'static str]> {
        match self {
            Provider::Productboard => Some(&["admin", "maker", "contributor", "viewer"]),
            Provider::Generic => None,
        }
    }

    /// The role the service gives a user created without one.
    pub fn default_role(self) -> Option<&'static str> {
        match self {
            Provider::Productboard => Some("contributor"),
            Provider::Generic => None,
        }
    }

    /// The rank of a role among the provider's built-in ones, higher meaning more
    /// privilege (Productboard: viewer < contributor < maker < admin); `None` for a role
    /// the provider does not rank (a custom role, or any role of `generic`).
    pub fn role_rank(self, role: &str) -> Option<u8> {
        let roles = self.builtin_roles()?;
        // `builtin_roles` lists the highest first.
        roles.iter().position(|r| r.eq_ignore_ascii_case(role)).map(|i| (roles.len() - 1 - i) as u8)
    }

    /// Whether a role takes a paid seat: Productboard charges admin, maker and custom
    /// roles, while contributor and viewer are free. `None` where the provider does not
    /// say (`generic`).
    pub fn is_paid_role(self, role: &str) -> Option<bool> {
        match self {
            Provider::Productboard => {
                Some(!["contributor", "viewer"].iter().any(|free| free.eq_ignore_ascii_case(role)))
            }
            Provider::Generic => None,
        }
    }

    /// How a change of a user's role from `from` (the live role; `None` when the service
    /// shows none, which means its default) to `to` changes the user's access.
    pub fn role_change(self, from: Option<&str>, to: &str) -> RoleChange {
        let from = from.or(self.default_role());
        let paid_after = self.is_paid_role(to) == Some(true);
        let paid_before = from.and_then(|from| self.is_paid_role(from)) == Some(true);
        let top = self.builtin_roles().and_then(|roles| roles.first()).copied();
        let is_top = |role: &str| top.is_some_and(|top| top.eq_ignore_ascii_case(role));
        let ranks = (from.and_then(|from| self.role_rank(from)), self.role_rank(to));
        let higher = match ranks {
            (Some(before), Some(after)) => Some(after > before),
            // The top role outranks every other, custom roles included.
            _ if is_top(to) => Some(true),
            _ if from.is_some_and(is_top) => Some(false),
            _ if paid_after != paid_before => Some(paid_after),
            _ => None,
        };
        match higher {
            Some(true) => RoleChange::Elevation { paid: paid_after },
            Some(false) => RoleChange::Reduction { paid: paid_after },
            None => RoleChange::Lateral { paid: paid_after },
        }
    }

    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Productboard => "productboard",
            Provider::Generic => "generic",
        }
    }
}

/// How a change of role changes a user's access, for reviewers: a change to a higher
/// role or from a free role to a paid one is an elevation and is highlighted in plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RoleChange {
    /// To a higher role, or from a free role to a paid one.
    Elevation {
        /// Whether the new role takes a paid seat.
        paid: bool,
    },
    /// To a lower role, or from a paid role to a free one.
    Reduction {
        /// Whether the new role takes a paid seat.
        paid: bool,
    },
    /// Between roles the provider does not rank against each other (two custom roles, or
    /// any roles of `generic`).
    Lateral {
        /// Whether the new role takes a paid seat.
        paid: bool,
    },
}

impl RoleChange {
    /// Whether the new role takes a paid seat.
    pub fn paid(self) -> bool {
        match self {
            RoleChange::Elevation { paid }
            | RoleChange::Reduction { paid }
            | RoleChange::Lateral { paid } => paid,
        }
    }

    /// Whether reviewers should have their attention drawn to it: a higher role, or a
    /// paid one.
    pub fn is_highlighted(self) -> bool {
        matches!(self, RoleChange::Elevation { .. }) || self.paid()
    }
}

/// Where a desired object was written: used to point messages and plans at the file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct SourceLocation {
    /// The file as the user named it.
    pub file: String,
    /// One-based line.
    pub line: usize,
    /// One-based column.
    pub column: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The attributes of a user that roster manages.
///
/// In the desired state an absent optional attribute means "not managed: leave the
/// service's value alone"; in the live state it means the service has no value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAttributes {
    /// The login, an email address; matched case-insensitively.
    pub user_name: String,
    /// A stable identifier from the identity provider; survives email changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The name shown in the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// SCIM `name.givenName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// SCIM `name.familyName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// SCIM `title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The primary role: SCIM `roles[primary eq true].value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether the user may log in. Deactivation is the only way a user leaves.
    #[serde(default = "default_true")]
    pub active: bool,
}

fn default_true() -> bool {
    true
}

impl UserAttributes {
    /// The matching key of this user's userName.
    pub fn key(&self) -> UserKey {
        UserKey::new(&self.user_name)
    }
}

/// A set of attribute replacements for one user; `None` leaves an attribute as it is.
///
/// This is what an update operation sends: only what differs, never a whole resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserChanges {
    /// New userName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// New externalId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// New displayName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New name.givenName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// New name.familyName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New primary role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// New active flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl UserChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == UserChanges::default()
    }

    /// Applies the replacements to a set of attributes, in memory.
    pub fn apply_to(&self, attrs: &mut UserAttributes) {
        fn set(slot: &mut Option<String>, value: &Option<String>) {
            if let Some(value) = value {
                *slot = Some(value.clone());
            }
        }
        if let Some(user_name) = &self.user_name {
            attrs.user_name = user_name.clone();
        }
        set(&mut attrs.external_id, &self.external_id);
        set(&mut attrs.display_name, &self.display_name);
        set(&mut attrs.given_name, &self.given_name);
        set(&mut attrs.family_name, &self.family_name);
        set(&mut attrs.title, &self.title);
        set(&mut attrs.role, &self.role);
        if let Some(active) = self.active {
            attrs.active = active;
        }
    }
}

/// A user as the desired-state file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesiredUser {
    /// The managed attributes; `active: false` makes the entry a tombstone.
    #[serde(flatten)]
    pub attributes: UserAttributes,
    /// Earlier userNames of this user, so that a rename matches the old account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previously: Vec<String>,
    /// The first day (UTC) the user no longer has access: from it on the user is
    /// deactivated like a tombstone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
    /// The day from which the user's access is listed as due for review; changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_after: Option<Date>,
    /// Why the user has access and who approved it; never sent to the service.
    #[serde(default, flatten)]
    pub grant: Grant,
    /// In a multi-target file: the user's apps and per-target attributes; in a target's
    /// projection, whether the user is carried only to lose the app. Empty otherwise.
    #[serde(default, skip_serializing_if = "UserApps::is_empty")]
    pub apps: UserApps,
    /// Where the entry was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
}

impl DesiredUser {
    /// A user entry with these attributes and nothing else (no earlier names, dates or
    /// source).
    pub fn new(attributes: UserAttributes) -> Self {
        DesiredUser {
            attributes,
            previously: Vec::new(),
            expires: None,
            review_after: None,
            grant: Grant::default(),
            apps: UserApps::default(),
            source: None,
        }
    }

    /// The day its access ended, when it has ended on `as_of`: `expires` is `as_of` or
    /// earlier.
    pub fn expired_on(&self, as_of: Option<Date>) -> Option<Date> {
        self.expires.filter(|expires| as_of.is_some_and(|as_of| *expires <= as_of))
    }
}

/// The evidence written beside a grant of access (a user, or a membership written as a
/// mapping): why, who approved it, and under which ticket. Evidence for access reviews
/// only: it is never sent to the service and never changes a plan's operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// Why the access is granted, in the file's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who approved it: a userName or free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The ticket or request that granted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

impl Grant {
    /// True when no field is given.
    pub fn is_empty(&self) -> bool {
        self.reason.is_none() && self.approved_by.is_none() && self.ticket.is_none()
    }
}

/// The evidence written on one membership (`{ userName: ..., reason: ... }` in a group's
/// `members`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberGrant {
    /// The member, as the file writes it (also listed in the group's `members`).
    pub user_name: String,
    /// Why, who approved it and the ticket.
    #[serde(flatten)]
    pub grant: Grant,
}

/// A group membership that ends: `{ userName: ..., expires: ... }` in a group's `members`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipExpiry {
    /// The member, as the file writes it (also listed in the group's `members`).
    pub user_name: String,
    /// The first day (UTC) the membership no longer holds: from it on the member is
    /// removed.
    pub expires: Date,
}

/// A group (a Productboard team) as the desired-state file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesiredGroup {
    /// The group's name; unique within the file.
    pub display_name: String,
    /// A stable identifier; survives renames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Members, by userName as written in the file; each is a user of the file. `None`
    /// (no `members` key) leaves the group's membership unmanaged: roster neither adds
    /// nor removes anyone. `Some(vec![])` empties the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// The memberships among `members` that end on a date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expiring_members: Vec<MembershipExpiry>,
    /// The memberships among `members` written with a reason, approver or ticket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_grants: Vec<MemberGrant>,
    /// In a multi-target file: the target the group belongs to (`None` when the file has
    /// one target, or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetName>,
    /// Where the entry was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
}

/// What to do with live users that the file does not mention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnmanagedUsers {
    /// Deactivate them: the file is the whole truth about who may log in.
    #[default]
    Deactivate,
    /// Leave them alone and list them in the plan.
    Keep,
}

/// What to do with live groups that the file does not mention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnmanagedGroups {
    /// Leave them alone and list them in the plan.
    #[default]
    Keep,
    /// Delete them.
    Delete,
}

/// The limit of a safety rail: the most destructive steps of one kind (deactivations,
/// removals) one plan may contain before it is blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RailLimit {
    /// At most this many.
    Count(u64),
    /// At most this share of the base (the live active users for deactivations, the
    /// live memberships and groups for removals), in hundredths of a percent (`"12.5%"`
    /// is 1250), so that the limit stays exact and hashable.
    PercentHundredths(u32),
}

/// The limit of the deactivation rail (`policy.max_deactivations`).
pub type DeactivationLimit = RailLimit;

impl RailLimit {
    /// The default of `max_deactivations`: 10 users.
    pub const DEFAULT_DEACTIVATIONS: RailLimit = RailLimit::Count(10);
    /// The default of `max_removals`: 10 member removals and group deletions, the same
    /// scale as deactivations, since losing a team locks a person out of its work much
    /// as deactivation does. A count rather than a percentage, so that a small
    /// workspace is guarded as well as a large one.
    pub const DEFAULT_REMOVALS: RailLimit = RailLimit::Count(10);

    /// The limit as a number, given the base of a percentage (for deactivations, how
    /// many live users are active now). A percentage rounds down: a rail must never
    /// allow more than it says.
    pub fn max_for(self, base: u64) -> u64 {
        match self {
            RailLimit::Count(n) => n,
            RailLimit::PercentHundredths(p) => base * u64::from(p) / 10_000,
        }
    }
}

impl Default for RailLimit {
    fn default() -> Self {
        RailLimit::DEFAULT_DEACTIVATIONS
    }
}

fn default_max_removals() -> RailLimit {
    RailLimit::DEFAULT_REMOVALS
}

impl fmt::Display for RailLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RailLimit::Count(n) => write!(f, "{n}"),
            RailLimit::PercentHundredths(p) if p % 100 == 0 => write!(f, "{}%", p / 100),
            RailLimit::PercentHundredths(p) => {
                let text = format!("{}.{:02}", p / 100, p % 100);
                write!(f, "{}%", text.trim_end_matches('0'))
            }
        }
    }
}

/// The policies of a desired-state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Live users absent from the file.
    pub unmanaged_users: UnmanagedUsers,
    /// Live groups absent from the file.
    pub unmanaged_groups: UnmanagedGroups,
    /// The safety rail on deactivations per plan.
    pub max_deactivations: RailLimit,
    /// The safety rail on member removals and group deletions per plan.
    #[serde(default = "default_max_removals")]
    pub max_removals: RailLimit,
    /// userNames that are never deactivated, whatever the file says.
    #[serde(default)]
    pub protected: Vec<String>,
    /// How many days ahead an ending access is listed as expiring (default 14).
    #[serde(default = "default_expiry_notice_days")]
    pub expiry_notice_days: u32,
    /// The longest an `expires` may lie ahead of the as-of day, in days; `None` for no
    /// limit. Checked by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_access_days: Option<u32>,
    /// The most paid seats the plan's result may take; a plan that adds seats beyond it
    /// is blocked. `None` for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_paid_seats: Option<u64>,
}

/// The default of `policy.expiry_notice_days`.
pub const DEFAULT_EXPIRY_NOTICE_DAYS: u32 = 14;

fn default_expiry_notice_days() -> u32 {
    DEFAULT_EXPIRY_NOTICE_DAYS
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unmanaged_users: UnmanagedUsers::default(),
            unmanaged_groups: UnmanagedGroups::default(),
            max_deactivations: RailLimit::DEFAULT_DEACTIVATIONS,
            max_removals: RailLimit::DEFAULT_REMOVALS,
            protected: Vec::new(),
            expiry_notice_days: DEFAULT_EXPIRY_NOTICE_DAYS,
            max_access_days: None,
            max_paid_seats: None,
        }
    }
}

/// The whole desired state, merged from one or more files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesiredState {
    /// The target service.
    pub provider: Provider,
    /// The policies.
    pub policy: Policy,
    /// Roles beyond the provider's built-in ones that the file declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<String>,
    /// The roles that take a paid seat, where the file names them (`paid_roles`); for
    /// `generic`, the only source of a seat model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_roles: Option<Vec<String>>,
    /// Users, in file order.
    pub users: Vec<DesiredUser>,
    /// Groups, in file order.
    pub groups: Vec<DesiredGroup>,
    /// The targets of a multi-target file (`targets:`), sorted by name; empty for a
    /// single-target file. See [`DesiredState::for_target`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

impl DesiredState {
    /// Whether a user with this role (`None`: no role, so the service's default) takes
    /// a paid seat; `None` when there is no seat model (`generic` without `paid_roles`).
    /// `paid_roles` in the file overrides the provider's model.
    pub fn is_paid_role(&self, role: Option<&str>) -> Option<bool> {
        let role = role.or(self.provider.default_role());
        if let Some(paid) = &self.paid_roles {
            return Some(role.is_some_and(|role| paid.iter().any(|p| p.eq_ignore_ascii_case(role))));
        }
        role.and_then(|role| self.provider.is_paid_role(role))
    }

    /// Whether the file or its provider has a seat model at all.
    pub fn has_seat_model(&self) -> bool {
        self.paid_roles.is_some() || self.provider == Provider::Productboard
    }
}

/// A user as the SCIM service holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveUser {
    /// The service's id for the user.
    pub id: String,
    /// The user's attributes as the service reports them.
    #[serde(flatten)]
    pub attributes: UserAttributes,
    /// When the service created the account (`meta.created`, as sent), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// A group as the SCIM service holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveGroup {
    /// The service's id for the group.
    pub id: String,
    /// The group's name.
    pub display_name: String,
    /// The group's externalId, if the service has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Member ids (the service's user ids), as the service reports them.
    #[serde(default)]
    pub members: Vec<String>,
    /// When the service created the group (`meta.created`), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
}

/// Whether a fetch of live state saw everything.
///
/// The planner refuses every destructive step (deactivation, member removal, group
/// deletion) from an incomplete view: a user missing from a short page must not be
/// mistaken for a user missing from the service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "status", content = "reasons")]
pub enum Completeness {
    /// Every page arrived and agreed with the totals the service announced.
    #[default]
    Complete,
    /// Something was missing or inconsistent; each reason says what, for the user.
    Incomplete(Vec<String>),
}

impl Completeness {
    /// True for [`Completeness::Complete`].
    pub fn is_complete(&self) -> bool {
        matches!(self, Completeness::Complete)
    }
}

/// The live state of a SCIM service, as fetched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveState {
    /// Every user the fetch saw.
    pub users: Vec<LiveUser>,
    /// Every group the fetch saw.
    pub groups: Vec<LiveGroup>,
    /// Whether the fetch saw everything.
    #[serde(default)]
    pub completeness: Completeness,
}

/// A user attribute roster manages and that a service may not keep.
///
/// `active` is not among them: deactivation is what roster exists for, so it is always
/// sent, and a service that does not take it fails the operation loudly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UserAttribute {
    /// `userName`.
    UserName,
    /// `externalId`.
    ExternalId,
    /// `displayName`.
    DisplayName,
    /// `name.givenName`.
    GivenName,
    /// `name.familyName`.
    FamilyName,
    /// `title`.
    Title,
    /// `roles` (the primary role).
    Role,
}

impl UserAttribute {
    /// Every managed attribute, in the order plans and tables list them.
    pub const ALL: [UserAttribute; 7] = [
        UserAttribute::UserName,
        UserAttribute::ExternalId,
        UserAttribute::DisplayName,
        UserAttribute::GivenName,
        UserAttribute::FamilyName,
        UserAttribute::Title,
        UserAttribute::Role,
    ];

    /// The SCIM path of the attribute, e.g. `name.givenName`.
    pub fn scim_path(self) -> &'static str {
        match self {
            UserAttribute::UserName => "userName",
            UserAttribute::ExternalId => "externalId",
            UserAttribute::DisplayName => "displayName",
            UserAttribute::GivenName => "name.givenName",
            UserAttribute::FamilyName => "name.familyName",
            UserAttribute::Title => "title",
            UserAttribute::Role => "roles",
        }
    }

    /// The key the desired-state file uses for it.
    pub fn file_key(self) -> &'static str {
        match self {
            UserAttribute::UserName => "userName",
            UserAttribute::ExternalId => "externalId",
            UserAttribute::DisplayName => "displayName",
            UserAttribute::GivenName => "name.givenName",
            UserAttribute::FamilyName => "name.familyName",
            UserAttribute::Title => "title",
            UserAttribute::Role => "role",
        }
    }

    /// The attribute's value in a set of attributes, if it has one.
    pub fn value_in(self, attrs: &UserAttributes) -> Option<&str> {
        match self {
            UserAttribute::UserName => Some(attrs.user_name.as_str()),
            UserAttribute::ExternalId => attrs.external_id.as_deref(),
            UserAttribute::DisplayName => attrs.display_name.as_deref(),
            UserAttribute::GivenName => attrs.given_name.as_deref(),
            UserAttribute::FamilyName => attrs.family_name.as_deref(),
            UserAttribute::Title => attrs.title.as_deref(),
            UserAttribute::Role => attrs.role.as_deref(),
        }
    }

    /// The attribute's replacement in a set of changes, if it changes.
    pub fn value_in_changes(self, changes: &UserChanges) -> Option<&str> {
        self.slot_in_changes_ref(changes).as_deref()
    }

    fn slot_in_changes_ref(self, changes: &UserChanges) -> &Option<String> {
        match self {
            UserAttribute::UserName => &changes.user_name,
            UserAttribute::ExternalId => &changes.external_id,
            UserAttribute::DisplayName => &changes.display_name,
            UserAttribute::GivenName => &changes.given_name,
            UserAttribute::FamilyName => &changes.family_name,
            UserAttribute::Title => &changes.title,
            UserAttribute::Role => &changes.role,
        }
    }

    /// Drops the attribute from a set of changes; true when it was there.
    pub fn remove_from_changes(self, changes: &mut UserChanges) -> bool {
        let slot = match self {
            UserAttribute::UserName => &mut changes.user_name,
            UserAttribute::ExternalId => &mut changes.external_id,
            UserAttribute::DisplayName => &mut changes.display_name,
            UserAttribute::GivenName => &mut changes.given_name,
            UserAttribute::FamilyName => &mut changes.family_name,
            UserAttribute::Title => &mut changes.title,
            UserAttribute::Role => &mut changes.role,
        };
        slot.take().is_some()
    }

    /// Drops the attribute from the attributes of a create; true when it was set. The
    /// userName cannot be dropped: a user has one.
    pub fn remove_from_attributes(self, attrs: &mut UserAttributes) -> bool {
        let slot = match self {
            UserAttribute::UserName => return false,
            UserAttribute::ExternalId => &mut attrs.external_id,
            UserAttribute::DisplayName => &mut attrs.display_name,
            UserAttribute::GivenName => &mut attrs.given_name,
            UserAttribute::FamilyName => &mut attrs.family_name,
            UserAttribute::Title => &mut attrs.title,
            UserAttribute::Role => &mut attrs.role,
        };
        slot.take().is_some()
    }
}

impl fmt::Display for UserAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scim_path())
    }
}

/// Whether a service keeps an attribute, and when it may be written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AttributeSupport {
    /// Kept, and may be written at any time.
    #[default]
    ReadWrite,
    /// Kept, written only when the resource is created.
    Immutable,
    /// Set by the service; a client cannot write it.
    ReadOnly,
    /// The service's schema does not have it: a write is dropped or refused.
    NotKept,
}

impl AttributeSupport {
    /// True when a create may carry the attribute.
    pub fn on_create(self) -> bool {
        matches!(self, AttributeSupport::ReadWrite | AttributeSupport::Immutable)
    }

    /// True when an update may change the attribute.
    pub fn on_update(self) -> bool {
        self == AttributeSupport::ReadWrite
    }

    /// A word for tables and warnings.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeSupport::ReadWrite => "read-write",
            AttributeSupport::Immutable => "immutable",
            AttributeSupport::ReadOnly => "read-only",
            AttributeSupport::NotKept => "not kept",
        }
    }
}

/// Where a piece of [`ServiceCapabilities`] came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind", content = "reason")]
pub enum CapabilitySource {
    /// Not read: the provider's defaults.
    #[default]
    NotRead,
    /// The service declared it in its discovery document.
    Declared,
    /// The document was absent or unusable, for this reason; the provider's defaults
    /// stand in.
    Defaults(String),
}

impl fmt::Display for CapabilitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapabilitySource::NotRead => f.write_str("not read; defaults"),
            CapabilitySource::Declared => f.write_str("declared by the service"),
            CapabilitySource::Defaults(reason) => write!(f, "defaults ({reason})"),
        }
    }
}

/// What a SCIM service can do and keeps, read once from `/ServiceProviderConfig`,
/// `/ResourceTypes` and `/Schemas` and passed to the planner and the request builders.
///
/// [`ServiceCapabilities::default`] is a service that keeps everything roster manages,
/// supports PATCH and filters, and neither sorting nor ETags: what roster assumes of a
/// service that declares nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceCapabilities {
    /// PATCH is supported.
    pub patch: bool,
    /// Filters are supported.
    pub filter: bool,
    /// The most results a filtered list returns, when declared.
    pub filter_max_results: Option<u64>,
    /// `sortBy` is supported.
    pub sort: bool,
    /// ETags are supported.
    pub etag: bool,
    /// What the service keeps of each managed user attribute; an attribute not listed is
    /// read-write.
    pub user_attributes: std::collections::BTreeMap<UserAttribute, AttributeSupport>,
    /// Whether the service keeps a group's externalId.
    pub group_external_id: AttributeSupport,
    /// The schema requires `name.formatted` whenever a name is sent.
    pub name_formatted_required: bool,
    /// The schema requires `members[].$ref` on group members.
    pub member_ref_required: bool,
    /// The User resource type declares the enterprise extension; `None` when unknown.
    pub enterprise_extension: Option<bool>,
    /// The service serves groups; `None` when unknown.
    pub groups: Option<bool>,
    /// Where the `/ServiceProviderConfig` part came from.
    pub service_provider_config_source: CapabilitySource,
    /// Where the `/ResourceTypes` part came from.
    pub resource_types_source: CapabilitySource,
    /// Where the `/Schemas` part came from.
    pub schemas_source: CapabilitySource,
}

impl Default for ServiceCapabilities {
    fn default() -> Self {
        ServiceCapabilities {
            patch: true,
            filter: true,
            filter_max_results: None,
            sort: false,
            etag: false,
            user_attributes: std::collections::BTreeMap::new(),
            group_external_id: AttributeSupport::ReadWrite,
            name_formatted_required: false,
            member_ref_required: false,
            enterprise_extension: None,
            groups: None,
            service_provider_config_source: CapabilitySource::NotRead,
            resource_types_source: CapabilitySource::NotRead,
            schemas_source: CapabilitySource::NotRead,
        }
    }
}

impl ServiceCapabilities {
    /// What roster assumes of a provider's service when it declares nothing.
    pub fn defaults_for(provider: Provider) -> Self {
        match provider {
            // Productboard documents PATCH and `eq` filters on userName and externalId.
            Provider::Productboard | Provider::Generic => ServiceCapabilities::default(),
        }
    }

    /// What the service keeps of a user attribute.
    pub fn user_attribute(&self, attribute: UserAttribute) -> AttributeSupport {
        self.user_attributes.get(&attribute).copied().unwrap_or_default()
    }

    /// Drops from `changes` what an update cannot change; returns the attributes dropped.
    pub fn updatable(&self, changes: &mut UserChanges) -> Vec<UserAttribute> {
        UserAttribute::ALL
            .into_iter()
            .filter(|&a| !self.user_attribute(a).on_update() && a.remove_from_changes(changes))
            .collect()
    }

    /// Drops from `attrs` what a create cannot carry; returns the attributes dropped.
    pub fn creatable(&self, attrs: &mut UserAttributes) -> Vec<UserAttribute> {
        UserAttribute::ALL
            .into_iter()
            .filter(|&a| !self.user_attribute(a).on_create() && a.remove_from_attributes(attrs))
            .collect()
    }
}

/// Whether a workspace member may use the workspace, as Productboard's REST member list
/// reports it (`status`, or a boolean `active`). Serialized as its word.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(into = "String", from = "String")]
#[schemars(with = "String")]
pub enum MemberStatus {
    /// A member who may log in.
    Active,
    /// Invited and not yet joined: access is pending, so it counts as access.
    Invited,
    /// Deactivated, disabled or removed: no access.
    Inactive,
    /// A status roster does not know, as sent; counted as access, so that an audit
    /// never hides a member behind an unfamiliar word.
    Other(String),
}

impl MemberStatus {
    /// Reads a status word (`active`, `invited`, `disabled`, ...), ignoring case.
    pub fn from_word(word: &str) -> Self {
        match word.trim().to_lowercase().as_str() {
            "active" | "enabled" | "joined" => MemberStatus::Active,
            "invited" | "pending" | "pending_invite" | "invitation_pending" => MemberStatus::Invited,
            "inactive" | "deactivated" | "disabled" | "suspended" | "removed" | "deleted" | "archived" => {
                MemberStatus::Inactive
            }
            _ => MemberStatus::Other(word.trim().to_owned()),
        }
    }

    /// True unless the member is clearly inactive.
    pub fn has_access(&self) -> bool {
        !matches!(self, MemberStatus::Inactive)
    }

    /// The status as a word, for reports.
    pub fn as_str(&self) -> &str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Invited => "invited",
            MemberStatus::Inactive => "inactive",
            MemberStatus::Other(word) => word,
        }
    }
}

impl From<String> for MemberStatus {
    fn from(word: String) -> Self {
        MemberStatus::from_word(&word)
    }
}

impl From<MemberStatus> for String {
    fn from(status: MemberStatus) -> Self {
        status.as_str().to_owned()
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member of the workspace as Productboard's REST API lists it (`GET /members`): every
/// person with access, whether SCIM manages them or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceMember {
    /// The REST API's id for the member.
    pub id: String,
    /// The member's email address: the identity roster compares by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The name shown in the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The member's role (admin, maker, contributor, viewer or a custom role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether the member has access; `None` when the list says nothing about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatus>,
    /// When the member joined or was invited, as the list sends it, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl WorkspaceMember {
    /// The identity key of the member's email, when the list gave one.
    pub fn key(&self) -> Option<UserKey> {
        self.email.as_deref().filter(|e| !e.trim().is_empty()).map(UserKey::new)
    }

    /// True unless the list says the member is inactive (no status counts as access).
    pub fn has_access(&self) -> bool {
        self.status.as_ref().is_none_or(MemberStatus::has_access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_status_words() {
        assert_eq!(MemberStatus::from_word(" Active "), MemberStatus::Active);
        assert_eq!(MemberStatus::from_word("DISABLED"), MemberStatus::Inactive);
        assert_eq!(MemberStatus::from_word("invited"), MemberStatus::Invited);
        assert_eq!(MemberStatus::from_word("on-leave"), MemberStatus::Other("on-leave".into()));
        assert!(MemberStatus::from_word("on-leave").has_access());
        assert!(!MemberStatus::Inactive.has_access());
        let json =
            serde_json::to_string(&[MemberStatus::Invited, MemberStatus::Other("on-leave".into())]).unwrap();
        assert_eq!(json, r#"["invited","on-leave"]"#);
        let back: Vec<MemberStatus> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [MemberStatus::Invited, MemberStatus::Other("on-leave".into())]);
    }

    #[test]
    fn user_key_ignores_case() {
        assert_eq!(UserKey::new("Ada@Example.COM"), UserKey::new("ada@example.com"));
        assert_ne!(UserKey::new("ada@example.com"), UserKey::new("ada2@example.com"));
    }

    #[test]
    fn percentage_limit_rounds_down() {
        assert_eq!(DeactivationLimit::PercentHundredths(2000).max_for(49), 9);
        assert_eq!(DeactivationLimit::PercentHundredths(2000).max_for(50), 10);
        assert_eq!(DeactivationLimit::Count(3).max_for(1000), 3);
    }

    #[test]
    fn limit_displays_as_written() {
        assert_eq!(DeactivationLimit::Count(10).to_string(), "10");
        assert_eq!(DeactivationLimit::PercentHundredths(2000).to_string(), "20%");
        assert_eq!(DeactivationLimit::PercentHundredths(1250).to_string(), "12.5%");
        assert_eq!(DeactivationLimit::PercentHundredths(5).to_string(), "0.05%");
    }

    #[test]
    fn changes_apply_only_what_they_name() {
        let mut attrs = UserAttributes {
            user_name: "ada@example.com".into(),
            title: Some("Analyst".into()),
            active: true,
            ..Default::default()
        };
        let changes = UserChanges { role: Some("maker".into()), active: Some(false), ..Default::default() };
        changes.apply_to(&mut attrs);
        assert_eq!(attrs.title.as_deref(), Some("Analyst"));
        assert_eq!(attrs.role.as_deref(), Some("maker"));
        assert!(!attrs.active);
    }

    #[test]
    fn timestamps_parse_rfc3339_with_an_offset_and_order_in_time() {
        let utc = Timestamp::parse("2026-11-30T10:00:00Z").unwrap();
        let offset = Timestamp::parse("2026-11-30T11:00:00.5+01:00").unwrap();
        assert!(offset > utc);
        assert_eq!(offset.seconds_since(utc), 0);
        assert_eq!(offset.to_string(), "2026-11-30T10:00:00.5Z");
        assert_eq!(utc.to_string(), "2026-11-30T10:00:00Z");
        assert!(Timestamp::parse("2026-11-30T10:00:00").is_err(), "no offset: the instant is unknown");
        assert!(Timestamp::parse("yesterday").is_err());
        let json = serde_json::to_string(&utc).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), utc);
    }

    #[test]
    fn role_changes_rank_productboard_roles_and_paid_seats() {
        let pb = Provider::Productboard;
        assert_eq!(pb.role_change(Some("maker"), "admin"), RoleChange::Elevation { paid: true });
        assert_eq!(pb.role_change(Some("viewer"), "contributor"), RoleChange::Elevation { paid: false });
        assert_eq!(pb.role_change(Some("admin"), "viewer"), RoleChange::Reduction { paid: false });
        // No live role means the service's default, contributor.
        assert_eq!(pb.role_change(None, "maker"), RoleChange::Elevation { paid: true });
        assert_eq!(pb.role_change(None, "viewer"), RoleChange::Reduction { paid: false });
        // Custom roles are paid and unranked, below admin.
        assert_eq!(pb.role_change(Some("contributor"), "billing"), RoleChange::Elevation { paid: true });
        assert_eq!(pb.role_change(Some("billing"), "viewer"), RoleChange::Reduction { paid: false });
        assert_eq!(pb.role_change(Some("billing"), "admin"), RoleChange::Elevation { paid: true });
        assert_eq!(pb.role_change(Some("billing"), "maker"), RoleChange::Lateral { paid: true });
        assert!(pb.role_change(Some("billing"), "maker").is_highlighted());
        assert!(!pb.role_change(Some("maker"), "viewer").is_highlighted());
        assert_eq!(Provider::Generic.role_change(Some("a"), "b"), RoleChange::Lateral { paid: false });
        assert!(!Provider::Generic.role_change(Some("a"), "b").is_highlighted());
    }

    #[test]
    fn live_state_reads_from_json() {
        let live: LiveState = serde_json::from_str(
            r#"{"users":[{"id":"1","userName":"ada@example.com","active":false}],"groups":[]}"#,
        )
        .unwrap();
        assert!(live.completeness.is_complete());
        assert!(!live.users[0].attributes.active);
    }
}
