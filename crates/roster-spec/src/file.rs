//! The desired-state file, format version 1, as Rust types.
//!
//! These types are the format's reference: `schemas/roster.schema.json` is generated
//! from them (their doc comments become the schema's descriptions, which editors show),
//! and they read a valid file with plain serde. [`crate::load`] does not use them to
//! read files, because serde stops at the first problem and roster reports all of them;
//! it walks a span-carrying tree instead and accepts exactly what these types describe
//! (tests hold the two to the same keys and to the same result on the examples).
//!
//! ```yaml
//! # yaml-language-server: $schema=schemas/roster.schema.json
//! version: 1
//! provider: productboard
//! custom_roles: [billing-admin]
//! policy:
//!   unmanaged_users: deactivate
//!   unmanaged_groups: keep
//!   max_deactivations: 10
//!   protected: [admin@example.com]
//! users:
//!   - userName: ada@example.com
//!     externalId: "00u1ada"
//!     previously: [ada@old.example]
//!     displayName: Ada Lovelace
//!     name: { givenName: Ada, familyName: Lovelace }
//!     title: Analyst
//!     role: maker
//!     active: true
//! groups:
//!   - displayName: Product Team
//!     externalId: grp-product
//!     members: [ada@example.com]
//! ```
//!
//! Scalars are typed by YAML 1.2's core schema, as editors and most YAML tools do:
//! `0012` is a number and `no` a string. A string field given a number, boolean or null
//! is an error with a hint to quote the value, never a silent conversion (`0012` would
//! otherwise lose its zeros).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A roster desired-state file (format version 1): the users and groups a SCIM service
/// should have. Several files may be given together; they merge into one desired state.
///
/// For `provider: productboard` (the default) a user's `role` must be one of the built-in
/// roles, unless the file declares `custom_roles`: then any role is accepted here and
/// `roster validate` checks it against the declared ones. JSON Schema cannot compare one
/// value of a document with a list in the same document (`$data` is no standard), so
/// the custom roles cannot be part of the enum; and several files may share one list of
/// custom roles, which no single file's schema can see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "roster desired state")]
#[schemars(extend("if" = {
    "anyOf": [
        {"required": ["provider"], "properties": {"provider": {"const": "generic"}}},
        {"required": ["custom_roles"], "properties": {"custom_roles": {"minItems": 1}}},
        {"required": ["targets"]}
    ]
}))]
#[schemars(extend("else" = {
    "properties": {
        "users": {"items": {"properties": {"role": {"enum": ["admin", "maker", "contributor", "viewer"]}}}}
    }
}))]
pub struct SpecFile {
    /// The format version. Only `1` exists; every file must say so.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The target service: `productboard` (the default) or `generic` (any SCIM 2.0
    /// service; roles are free-form). Files given together must not disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ProviderName")]
    pub provider: Option<ProviderName>,
    /// Safety policies. Every key is optional; at most one file of a run may carry a
    /// policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "PolicyFile")]
    pub policy: Option<PolicyFile>,
    /// Roles beyond the provider's built-in ones (Productboard: admin, maker,
    /// contributor, viewer), e.g. custom roles set up in the product. Lists from several
    /// files add up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<String>,
    /// The roles that take a paid seat, for the plan's seat count and
    /// `policy.max_paid_seats`. Productboard has its own model (admin, maker and custom
    /// roles are paid; contributor and viewer are free; no role means contributor), which
    /// this list replaces; `provider: generic` has no seat model without it. At most one
    /// file of a run may give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub paid_roles: Option<Vec<String>>,
    /// Many SCIM apps in one file: the services this file describes, by name (a
    /// lower-case identifier, like `productboard` or `miro`). Without `targets` the file
    /// describes one service, reached through `ROSTER_SCIM_URL` and `ROSTER_SCIM_TOKEN`.
    /// With it, each target names its provider, URL and token source, and may give its
    /// own `policy` (laid over the top-level one key by key; `protected` adds up),
    /// `custom_roles` and `paid_roles`; top-level `provider`, `custom_roles` and
    /// `paid_roles` are then errors. Users say which targets they have with `apps`,
    /// groups with `target`. At most one file of a run may carry `targets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "std::collections::BTreeMap<String, TargetEntry>")]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z][a-z0-9_-]{0,63}$"}))]
    pub targets: Option<std::collections::BTreeMap<String, TargetEntry>>,
    /// The users the service should have. A live user absent from every file is
    /// unmanaged: under `policy.unmanaged_users: deactivate` (the default) it is
    /// deactivated, so an empty or missing `users` deactivates every active user that no
    /// other file lists (within `max_deactivations`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserEntry>,
    /// The groups the service should have (Productboard: teams).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupEntry>,
}

/// The SCIM service a file targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    /// Productboard: roles admin, maker, contributor, viewer (plus `custom_roles`).
    #[default]
    Productboard,
    /// Any SCIM 2.0 service: any role is accepted.
    Generic,
}

impl ProviderName {
    /// Every provider name, as written in files.
    pub const ALL: [&'static str; 2] = ["productboard", "generic"];
}

impl From<ProviderName> for roster_model::Provider {
    fn from(name: ProviderName) -> Self {
        match name {
            ProviderName::Productboard => roster_model::Provider::Productboard,
            ProviderName::Generic => roster_model::Provider::Generic,
        }
    }
}

/// Safety policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// What happens to live users that no file mentions. Default `deactivate`: the files
    /// are the whole truth about who may log in, and every active live user they leave out
    /// is deactivated (never deleted), within `max_deactivations`. `keep`: such users are
    /// left alone and listed in the plan as kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "UnmanagedUsersPolicy")]
    pub unmanaged_users: Option<UnmanagedUsersPolicy>,
    /// What happens to live groups (teams) that no file mentions. Default `keep`: they
    /// are left alone and listed in the plan as kept. `delete`: they are deleted (their
    /// users are not touched); nothing is deleted from an incomplete view of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "UnmanagedGroupsPolicy")]
    pub unmanaged_groups: Option<UnmanagedGroupsPolicy>,
    /// The most deactivations one plan may hold. Default 10. Forms: a count (`10`), or a
    /// percentage of the currently active live users as a string (`"20%"`, `"12.5%"`, at
    /// most two decimals), rounded down. Tombstones (`active: false`) count too. When a
    /// plan exceeds it, the plan is blocked: `roster plan` and `roster apply` exit 3 and
    /// nothing is sent; `--allow-deactivations N` lets it through only when it deactivates
    /// exactly N users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "MaxDeactivations")]
    pub max_deactivations: Option<MaxDeactivations>,
    /// The most member removals and group deletions one plan may hold before it is
    /// blocked: a count (default 10) or a percentage, like "5%", of the live memberships
    /// plus the live groups. Over it, the plan exits 3 unless `--allow-removals N` names
    /// the exact number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "MaxDeactivations")]
    pub max_removals: Option<MaxDeactivations>,
    /// userNames that are never deactivated, whatever the files say (default: none). A
    /// list of userNames, matched case-insensitively; each must be a user defined in the
    /// files and not marked `active: false`, else validation fails. A protected user the
    /// plan would have deactivated stays active and is listed in the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
    /// How many days ahead the plan lists access that is about to end (a user's or a
    /// membership's `expires`). Default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32")]
    pub expiry_notice_days: Option<u32>,
    /// The longest access may be granted for: an `expires` more than this many days after
    /// the as-of day (`--as-of`, default today in UTC) is a validation error. Default: no
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32")]
    pub max_access_days: Option<u32>,
    /// The most paid seats the service may hold after a plan (see `paid_roles`). A plan
    /// that adds paid seats and ends above it is blocked: `roster plan` and `roster apply`
    /// exit 3 unless `--allow-paid-seats N` names the exact number of paid seats after
    /// the plan. Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub max_paid_seats: Option<u64>,
}

/// What happens to live users that no file mentions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnmanagedUsersPolicy {
    /// Deactivate them.
    #[default]
    Deactivate,
    /// Leave them alone and list them in the plan.
    Keep,
}

impl UnmanagedUsersPolicy {
    /// Every value, as written in files.
    pub const ALL: [&'static str; 2] = ["deactivate", "keep"];
}

/// What happens to live groups that no file mentions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnmanagedGroupsPolicy {
    /// Leave them alone and list them in the plan.
    #[default]
    Keep,
    /// Delete them.
    Delete,
}

impl UnmanagedGroupsPolicy {
    /// Every value, as written in files.
    pub const ALL: [&'static str; 2] = ["keep", "delete"];
}

/// A safety rail's limit per plan (`max_deactivations`, `max_removals`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MaxDeactivations {
    /// At most this many.
    Count(u64),
    /// At most this share of the rail's base (active live users; live memberships plus
    /// groups), like "20%" or "12.5%".
    Percentage(#[schemars(regex(pattern = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)%$"))] String),
}

/// One SCIM service of a multi-target file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["token_env"]}, {"required": ["token_file"]}]))]
pub struct TargetEntry {
    /// The service's provider: `productboard` or `generic`.
    pub provider: ProviderName,
    /// The SCIM base URL: `https://`, or `http://` to a loopback address only; no
    /// credentials, query or fragment (the token is named by `token_env` or `token_file`).
    #[schemars(length(min = 1))]
    pub url: String,
    /// The name of the environment variable that holds the SCIM token, like
    /// `ROSTER_TOKEN_MIRO`; never the token itself. Exactly one of `token_env` and
    /// `token_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: Option<String>,
    /// The file that holds the SCIM token, like `/run/secrets/miro`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub token_file: Option<String>,
    /// The environment variable that holds the token of Productboard's REST API, for
    /// `roster audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub api_token_env: Option<String>,
    /// The file that holds the token of Productboard's REST API, for `roster audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub api_token_file: Option<String>,
    /// This target's policy: each key given replaces the top-level one for this target
    /// (its rails, its unmanaged handling); `protected` adds to the top-level list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "PolicyFile")]
    pub policy: Option<PolicyFile>,
    /// Roles beyond the provider's built-in ones in this target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<String>,
    /// The roles that take a paid seat in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub paid_roles: Option<Vec<String>>,
    /// Whether a user without `apps` has this app (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub everyone: bool,
}

/// A user's attributes in one target (`miro: { role: editor }` on a user, the key
/// naming a target): each replaces the user's own attribute in that target only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetAttributesEntry {
    /// The role in this target, checked against the target's provider and `custom_roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub role: Option<String>,
    /// The title in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub title: Option<String>,
    /// The displayName in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub display_name: Option<String>,
    /// The externalId in this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub external_id: Option<String>,
}

/// A user. Only `userName` is required; an attribute left out is not managed: the
/// service keeps whatever value it has. In a multi-target file, a key that names a
/// target holds the user's attributes in that target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserEntry {
    /// The login: an email address, matched case-insensitively and unique across the
    /// files.
    #[schemars(length(min = 1))]
    pub user_name: String,
    /// A stable identifier from the identity provider. When both the file and the
    /// service have one, users are matched by it, so a changed email is an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub external_id: Option<String>,
    /// Earlier userNames of this user, so that a rename updates the old account
    /// instead of deactivating it and creating a new one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previously: Vec<String>,
    /// The name shown in the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub display_name: Option<String>,
    /// The user's name parts (SCIM `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "NameEntry")]
    pub name: Option<NameEntry>,
    /// The job title (SCIM `title`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub title: Option<String>,
    /// The primary role. Productboard: admin, maker, contributor or viewer (admin and
    /// maker take a paid seat, contributor and viewer are free), or a role listed under
    /// `custom_roles` (paid). Left out, the service's default applies to new users
    /// (Productboard: contributor) and existing users keep theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    #[schemars(extend("examples" = ["admin", "maker", "contributor", "viewer"]))]
    pub role: Option<String>,
    /// Whether the user may log in (default true). `false` keeps the entry as a
    /// tombstone: the user is deactivated, never deleted.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub active: bool,
    /// The first day (UTC, `YYYY-MM-DD`) the user no longer has access: from this day on
    /// the user is deactivated (counted against `max_deactivations`, spared if
    /// `protected`), and the plan says "expired YYYY-MM-DD". Listed in the plan as
    /// expiring `policy.expiry_notice_days` ahead. A time or time zone is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "roster_model::Date")]
    pub expires: Option<roster_model::Date>,
    /// The day (UTC, `YYYY-MM-DD`) from which the plan lists this user's access as due for
    /// review. Changes nothing.
    #[serde(default, rename = "review_after", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "roster_model::Date")]
    pub review_after: Option<roster_model::Date>,
    /// Why this access is granted, for access reviews (`roster export`, the plan). Never
    /// sent to the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub reason: Option<String>,
    /// Who approved this access: a userName or free text. Never sent to the service.
    #[serde(default, rename = "approved_by", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub approved_by: Option<String>,
    /// The ticket or request that granted this access, like `IT-1234`. Never sent to the
    /// service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub ticket: Option<String>,
    /// In a multi-target file: the targets this user has, like `[productboard, miro]`.
    /// Absent: the targets with `everyone: true`. `[]`: none, so the user is deactivated
    /// in every target. Dropping a target from the list deactivates the user there only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub apps: Option<Vec<String>>,
    /// Per-target attributes, under keys that name targets (only in a multi-target
    /// file; elsewhere an unknown key is an error).
    #[serde(flatten, default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub per_target: std::collections::BTreeMap<String, TargetAttributesEntry>,
}

fn default_true() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// A user's name parts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NameEntry {
    /// SCIM `name.givenName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub given_name: Option<String>,
    /// SCIM `name.familyName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub family_name: Option<String>,
}

/// A group (Productboard: a team).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupEntry {
    /// The group's name, unique across the files (case-insensitively).
    #[schemars(length(min = 1))]
    pub display_name: String,
    /// A stable identifier; when both sides have one, a renamed group is matched by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub external_id: Option<String>,
    /// The members, by userName; each must be a user defined in the files. Absent means
    /// unmanaged: without `members` roster neither adds nor removes anyone, while
    /// `members: []` empties the group. A membership that ends is written
    /// `{ userName: ..., expires: YYYY-MM-DD }`: from that day (UTC) on, the member is
    /// removed from the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<MemberEntry>")]
    pub members: Option<Vec<MemberEntry>>,
    /// In a multi-target file: the target the group is in. Required when the file has
    /// more than one target; every member must have that app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub target: Option<String>,
}

/// A group member: a userName, or a mapping for a membership that ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MemberEntry {
    /// The member's userName.
    Name(String),
    /// A membership with an end or with evidence.
    Expiring(ExpiringMember),
}

/// A membership written as a mapping: one that ends on a date, or carries why it was
/// granted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpiringMember {
    /// The member's userName.
    #[schemars(length(min = 1))]
    pub user_name: String,
    /// The first day (UTC, `YYYY-MM-DD`) the membership no longer holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "roster_model::Date")]
    pub expires: Option<roster_model::Date>,
    /// Why this access is granted, for access reviews (`roster export`, the plan). Never
    /// sent to the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub reason: Option<String>,
    /// Who approved this access: a userName or free text. Never sent to the service.
    #[serde(default, rename = "approved_by", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub approved_by: Option<String>,
    /// The ticket or request that granted this access, like `IT-1234`. Never sent to the
    /// service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub ticket: Option<String>,
}

/// The keys of each mapping of the format, in the order files are written. The loader
/// checks keys against these lists; a test holds them equal to the schema's properties.
pub(crate) mod keys {
    pub const TOP: &[&str] =
        &["version", "provider", "custom_roles", "paid_roles", "policy", "targets", "users", "groups"];
    pub const TARGET: &[&str] = &[
        "provider",
        "url",
        "token_env",
        "token_file",
        "api_token_env",
        "api_token_file",
        "policy",
        "custom_roles",
        "paid_roles",
        "everyone",
    ];
    /// The keys of a user's per-target attributes (`miro: { role: ... }`).
    pub const TARGET_ATTRIBUTES: &[&str] = &["role", "title", "displayName", "externalId"];
    pub const POLICY: &[&str] = &[
        "unmanaged_users",
        "unmanaged_groups",
        "max_deactivations",
        "max_removals",
        "protected",
        "expiry_notice_days",
        "max_access_days",
        "max_paid_seats",
    ];
    pub const USER: &[&str] = &[
        "userName",
        "externalId",
        "previously",
        "displayName",
        "name",
        "title",
        "role",
        "active",
        "expires",
        "review_after",
        "reason",
        "approved_by",
        "ticket",
        "apps",
    ];
    pub const MEMBER: &[&str] = &["userName", "expires", "reason", "approved_by", "ticket"];
    pub const NAME: &[&str] = &["givenName", "familyName"];
    pub const GROUP: &[&str] = &["displayName", "externalId", "members", "target"];
}
