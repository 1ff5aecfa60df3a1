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

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A userName reduced to the form used for matching: userNames are email addresses,
/// and SCIM services (Productboard among them) compare them case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct UserKey(String);

impl UserKey {
    /// The matching key of a userName: its Unicode lower-case form.
    pub fn new(user_name: &str) -> Self {
        Self(user_name.to_lowercase())
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Productboard => "productboard",
            Provider::Generic => "generic",
        }
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
    /// Where the entry was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
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
    /// Members, by userName as written in the file; each is a user of the file.
    #[serde(default)]
    pub members: Vec<String>,
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

/// The most deactivations one plan may contain before it is blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeactivationLimit {
    /// At most this many users.
    Count(u64),
    /// At most this share of the live active users, in hundredths of a percent
    /// (`"12.5%"` is 1250), so that the limit stays exact and hashable.
    PercentHundredths(u32),
}

impl DeactivationLimit {
    /// The limit as a number of users, given how many live users are active now.
    /// A percentage rounds down: a rail must never allow more than it says.
    pub fn max_for(self, n_active_live_users: u64) -> u64 {
        match self {
            DeactivationLimit::Count(n) => n,
            DeactivationLimit::PercentHundredths(p) => n_active_live_users * u64::from(p) / 10_000,
        }
    }
}

impl Default for DeactivationLimit {
    fn default() -> Self {
        DeactivationLimit::Count(10)
    }
}

impl fmt::Display for DeactivationLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DeactivationLimit::Count(n) => write!(f, "{n}"),
            DeactivationLimit::PercentHundredths(p) if p % 100 == 0 => write!(f, "{}%", p / 100),
            DeactivationLimit::PercentHundredths(p) => {
                let text = format!("{}.{:02}", p / 100, p % 100);
                write!(f, "{}%", text.trim_end_matches('0'))
            }
        }
    }
}

/// The policies of a desired-state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Live users absent from the file.
    pub unmanaged_users: UnmanagedUsers,
    /// Live groups absent from the file.
    pub unmanaged_groups: UnmanagedGroups,
    /// The safety rail on deactivations per plan.
    pub max_deactivations: DeactivationLimit,
    /// userNames that are never deactivated, whatever the file says.
    #[serde(default)]
    pub protected: Vec<String>,
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
    /// Users, in file order.
    pub users: Vec<DesiredUser>,
    /// Groups, in file order.
    pub groups: Vec<DesiredGroup>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn live_state_reads_from_json() {
        let live: LiveState = serde_json::from_str(
            r#"{"users":[{"id":"1","userName":"ada@example.com","active":false}],"groups":[]}"#,
        )
        .unwrap();
        assert!(live.completeness.is_complete());
        assert!(!live.users[0].attributes.active);
    }
}
