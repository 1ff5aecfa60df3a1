//! SCIM 2.0 wire types (RFC 7643, RFC 7644), as services really send them.
//!
//! Parsing is lenient where real services differ from the RFC (booleans sent as strings,
//! an error `status` sent as a number, `Resources` absent from an empty list) and strict
//! where a mistake would be dangerous (a user without an id is refused by the mapping).
//! Every resource keeps the attributes roster does not model in a flattened map, so that
//! a `PUT` built from a fetched resource sends back everything the service gave.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension URN.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The ListResponse message URN.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The PatchOp message URN.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The Error message URN.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The ServiceProviderConfig schema URN.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Attributes a resource carries that roster does not model, kept in the service's order.
pub type Extra = Map<String, Value>;

/// A SCIM User resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The schemas the resource declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The service's id; absent in a create request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identity provider's id for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The login; an email address for Productboard.
    #[serde(default)]
    pub user_name: String,
    /// The structured name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The name shown in the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Whether the user may log in; some services omit it or send it as a string.
    #[serde(default, deserialize_with = "lenient_opt_bool", skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<Email>>,
    /// Roles; the primary one is the user's role in roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    /// The enterprise extension.
    #[serde(
        default,
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    /// Resource metadata (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Every other attribute, kept so that a `PUT` can send it back unchanged.
    #[serde(flatten)]
    pub extra: Extra,
}

/// SCIM `name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Other sub-attributes (`formatted`, `middleName`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `emails`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    #[serde(default)]
    pub value: String,
    /// `work`, `home`, ...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the primary address.
    #[serde(default, deserialize_with = "lenient_opt_bool", skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Other sub-attributes.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `roles`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The role's name, e.g. `maker`.
    #[serde(default)]
    pub value: String,
    /// Whether this is the primary role (Entra sends `"True"` as a string).
    #[serde(default, deserialize_with = "lenient_opt_bool", skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Other sub-attributes (`display`, `type`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The enterprise User extension; roster reads none of it but must never lose it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// `department`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `employeeNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// `manager`, `organization`, `costCenter` and the rest.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Resource metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User`, `Group`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The ETag, e.g. `W/"3"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `created`, `lastModified`, `location`, ...
    #[serde(flatten)]
    pub extra: Extra,
}

/// A SCIM Group resource (a Productboard team).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The schemas the resource declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The service's id; absent in a create request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identity provider's id for the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub display_name: String,
    /// Members; `None` when the service left the attribute out (for instance because
    /// the request said `excludedAttributes=members`), `Some(vec![])` when it is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// Resource metadata (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Every other attribute.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One member of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id (a user id).
    pub value: String,
    /// The member's display name, when the service sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The member's URI, when the service sends one.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `User` or `Group`, when the service sends it.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Member {
    /// A member given by id only, as requests send it.
    pub fn id(value: impl Into<String>) -> Self {
        Member { value: value.into(), ..Member::default() }
    }
}

/// A page of a list (`GET /Users`, `GET /Groups`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListResponse<T> {
    /// The schemas the message declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// How many resources the whole list holds; required by the RFC, absent from some
    /// services' answers.
    #[serde(default, deserialize_with = "lenient_opt_u64", skip_serializing_if = "Option::is_none")]
    pub total_results: Option<u64>,
    /// The one-based index of the first resource of the page.
    #[serde(default, deserialize_with = "lenient_opt_u64", skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// The number of resources in the page; often missing.
    #[serde(default, deserialize_with = "lenient_opt_u64", skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// The resources; absent from some services' answers when the list is empty.
    #[serde(
        default = "Vec::new",
        rename = "Resources",
        alias = "resources",
        deserialize_with = "null_as_empty"
    )]
    pub resources: Vec<T>,
}

/// A PATCH request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    /// Always the PatchOp URN.
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOperation>,
}

impl PatchOp {
    /// A PATCH body holding these operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchOp { schemas: vec![PATCH_OP_SCHEMA.to_owned()], operations }
    }
}

/// One PATCH operation.
///
/// Its fields are private and the only `remove` it can be built as is the removal of one
/// member by the value path `members[value eq "ID"]`. The form some identity providers
/// send, `{"op":"remove","path":"members","value":[...]}`, empties the whole group on
/// strict servers, and a `remove` of `members` without a filter does so by the RFC:
/// roster cannot build either, by hand
///
/// ```compile_fail
/// use roster_scim::{PatchOpKind, PatchOperation};
/// let op = PatchOperation { op: PatchOpKind::Remove, path: Some("members".into()), value: None };
/// ```
///
/// nor by a constructor (there is no `PatchOperation::remove`)
///
/// ```compile_fail
/// let op = roster_scim::PatchOperation::remove("members");
/// ```
///
/// nor from JSON: reading one back refuses both forms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPatchOperation")]
pub struct PatchOperation {
    op: PatchOpKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
}

/// A PATCH operation as JSON has it, before [`PatchOperation`]'s check.
#[derive(Deserialize)]
struct RawPatchOperation {
    op: PatchOpKind,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

impl TryFrom<RawPatchOperation> for PatchOperation {
    type Error = String;

    fn try_from(raw: RawPatchOperation) -> Result<Self, String> {
        let operation = PatchOperation { op: raw.op, path: raw.path, value: raw.value };
        if operation.op == PatchOpKind::Remove && !operation.is_single_member_removal() {
            return Err(format!(
                "refusing a remove of {:?}{}: roster removes members only by members[value eq \"ID\"]",
                operation.path.as_deref().unwrap_or(""),
                if operation.value.is_some() { " with a value" } else { "" }
            ));
        }
        Ok(operation)
    }
}

impl PatchOperation {
    /// `{"op":"replace","path":path,"value":value}`.
    pub fn replace(path: &str, value: Value) -> Self {
        PatchOperation { op: PatchOpKind::Replace, path: Some(path.to_owned()), value: Some(value) }
    }

    /// `{"op":"add","path":path,"value":value}`.
    pub fn add(path: &str, value: Value) -> Self {
        PatchOperation { op: PatchOpKind::Add, path: Some(path.to_owned()), value: Some(value) }
    }

    /// `{"op":"remove","path":"members[value eq \"ID\"]"}`: removes this one member.
    pub fn remove_member(id: &str) -> Self {
        PatchOperation {
            op: PatchOpKind::Remove,
            path: Some(format!("members[value eq {}]", crate::filter::quote_value(id))),
            value: None,
        }
    }

    /// What it does.
    pub fn op(&self) -> PatchOpKind {
        self.op
    }

    /// Its path.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Its value.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }

    /// True for a `remove` of one member by value path, without a value: the only
    /// `remove` roster sends.
    pub fn is_single_member_removal(&self) -> bool {
        self.op == PatchOpKind::Remove
            && self.value.is_none()
            && self.path.as_deref().is_some_and(|p| {
                p.strip_prefix("members[value eq \"").is_some_and(|rest| rest.ends_with("\"]"))
            })
    }
}

/// The kind of a PATCH operation; read case-insensitively (Entra sends `"Replace"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOpKind {
    /// `add`.
    Add,
    /// `remove`.
    Remove,
    /// `replace`.
    Replace,
}

impl<'de> Deserialize<'de> for PatchOpKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "add" => Ok(PatchOpKind::Add),
            "remove" => Ok(PatchOpKind::Remove),
            "replace" => Ok(PatchOpKind::Replace),
            _ => Err(de::Error::custom(format!("unknown PATCH op {text:?}"))),
        }
    }
}

/// A SCIM error body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimError {
    /// The schemas the message declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The HTTP status; the RFC says a string, some services send a number.
    #[serde(default, deserialize_with = "lenient_opt_u16", skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `uniqueness`, `invalidValue`, `noTarget`, ...; often absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `GET /ServiceProviderConfig`: what the service supports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// PATCH support.
    #[serde(default)]
    pub patch: Supported,
    /// Filter support and the most results a filtered list returns.
    #[serde(default)]
    pub filter: FilterSupport,
    /// sortBy support.
    #[serde(default)]
    pub sort: Supported,
    /// Bulk support.
    #[serde(default)]
    pub bulk: Supported,
    /// ETag support.
    #[serde(default)]
    pub etag: Supported,
    /// The authentication schemes, as the service describes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication_schemes: Vec<Value>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{"supported": bool}`, with any other sub-attributes kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Supported {
    /// Whether the feature is supported; a missing flag means not supported.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub supported: bool,
    /// Other sub-attributes (`maxOperations`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `filter` entry of a ServiceProviderConfig.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSupport {
    /// Whether filters are supported.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub supported: bool,
    /// The most resources a filtered list returns.
    #[serde(default, deserialize_with = "lenient_opt_u64", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u64>,
}

/// Reads `true`, `"true"`, `"True"`, `1`, and their negations.
fn bool_from_value<E: de::Error>(value: &Value) -> Result<Option<bool>, E> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(Some(true)),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(false)),
        other => Err(E::custom(format!("expected a boolean, found {other}"))),
    }
}

fn lenient_opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    bool_from_value(&Value::deserialize(deserializer)?)
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(bool_from_value(&Value::deserialize(deserializer)?)?.unwrap_or(false))
}

fn u64_from_value<E: de::Error>(value: &Value) -> Result<Option<u64>, E> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            n.as_u64().map(Some).ok_or_else(|| E::custom(format!("expected a count, found {n}")))
        }
        Value::String(s) => {
            s.trim().parse().map(Some).map_err(|_| E::custom(format!("expected a count, found {s:?}")))
        }
        other => Err(E::custom(format!("expected a count, found {other}"))),
    }
}

fn lenient_opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    u64_from_value(&Value::deserialize(deserializer)?)
}

/// An error's `status`: a string or a number; anything unreadable becomes `None`,
/// because an error body must never hide the HTTP status the response itself carries.
fn lenient_opt_u16<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(u64_from_value::<D::Error>(&value).ok().flatten().and_then(|n| u16::try_from(n).ok()))
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn user_keeps_unknown_attributes_in_order() {
        let text = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1",
            "userName":"ada@example.com","nickName":"ada","x-custom":{"a":[1,2]},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":{"value":"9"}},
            "name":{"givenName":"Ada","middleName":"B"},"roles":[{"value":"maker","primary":"True","display":"Maker"}]}"#;
        let user: User = serde_json::from_str(text).unwrap();
        assert_eq!(user.extra.keys().collect::<Vec<_>>(), ["nickName", "x-custom"]);
        assert_eq!(user.name.as_ref().unwrap().extra["middleName"], "B");
        assert_eq!(user.roles.as_ref().unwrap()[0].primary, Some(true));
        let enterprise = user.enterprise.as_ref().unwrap();
        assert_eq!(enterprise.department.as_deref(), Some("R&D"));
        assert_eq!(enterprise.extra["manager"], json!({"value": "9"}));
        let again: User = serde_json::from_value(serde_json::to_value(&user).unwrap()).unwrap();
        assert_eq!(again, user);
    }

    #[test]
    fn active_may_be_a_string_or_absent() {
        let user: User = serde_json::from_str(r#"{"userName":"a@x.io","active":"False"}"#).unwrap();
        assert_eq!(user.active, Some(false));
        let user: User = serde_json::from_str(r#"{"userName":"a@x.io"}"#).unwrap();
        assert_eq!(user.active, None);
        assert!(serde_json::from_str::<User>(r#"{"userName":"a@x.io","active":"maybe"}"#).is_err());
    }

    #[test]
    fn list_response_without_resources_or_items_per_page() {
        let list: ListResponse<User> = serde_json::from_str(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0}"#,
        )
        .unwrap();
        assert_eq!(list.total_results, Some(0));
        assert!(list.resources.is_empty());
        assert_eq!(list.items_per_page, None);
        let list: ListResponse<User> =
            serde_json::from_str(r#"{"totalResults":"1","Resources":null,"startIndex":1}"#).unwrap();
        assert_eq!(list.total_results, Some(1));
        assert!(list.resources.is_empty());
    }

    #[test]
    fn error_status_as_string_or_number() {
        let e: ScimError = serde_json::from_str(r#"{"status":"409","scimType":"uniqueness"}"#).unwrap();
        assert_eq!((e.status, e.scim_type.as_deref()), (Some(409), Some("uniqueness")));
        let e: ScimError = serde_json::from_str(r#"{"status":409,"detail":"taken"}"#).unwrap();
        assert_eq!((e.status, e.scim_type, e.detail.as_deref()), (Some(409), None, Some("taken")));
        let e: ScimError = serde_json::from_str(r#"{"status":"Conflict"}"#).unwrap();
        assert_eq!(e.status, None);
    }

    #[test]
    fn patch_op_reads_any_case_and_writes_lowercase() {
        let op: PatchOp = serde_json::from_str(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"Replace","path":"active","value":false}]}"#,
        )
        .unwrap();
        assert_eq!(op.operations[0].op(), PatchOpKind::Replace);
        assert_eq!(
            serde_json::to_value(PatchOp::new(vec![PatchOperation::remove_member("u\"1")])).unwrap(),
            json!({"schemas":[PATCH_OP_SCHEMA],"Operations":[{"op":"remove","path":"members[value eq \"u\\\"1\"]"}]})
        );
    }

    #[test]
    fn a_remove_of_all_members_cannot_be_read_or_built() {
        for forbidden in [
            json!({"op": "remove", "path": "members", "value": [{"value": "u1"}]}),
            json!({"op": "Remove", "path": "members"}),
            json!({"op": "remove", "value": {"members": [{"value": "u1"}]}}),
            json!({"op": "remove", "path": "members[value eq \"u1\"]", "value": [{"value": "u2"}]}),
        ] {
            let read = serde_json::from_value::<PatchOperation>(forbidden.clone());
            assert!(read.is_err(), "{forbidden} must not be readable");
        }
        let one: PatchOperation =
            serde_json::from_value(json!({"op": "remove", "path": "members[value eq \"u1\"]"})).unwrap();
        assert_eq!(one, PatchOperation::remove_member("u1"));
    }

    #[test]
    fn service_provider_config_flags() {
        let spc: ServiceProviderConfig = serde_json::from_str(
            r#"{"patch":{"supported":true},"filter":{"supported":true,"maxResults":200},
                "sort":{"supported":false},"bulk":{"supported":"false","maxOperations":0}}"#,
        )
        .unwrap();
        assert!(spc.patch.supported && spc.filter.supported && !spc.sort.supported && !spc.bulk.supported);
        assert_eq!(spc.filter.max_results, Some(200));
        assert!(!spc.etag.supported);
    }

    #[test]
    fn group_members_absent_differs_from_empty() {
        let g: Group = serde_json::from_str(r#"{"id":"g","displayName":"A"}"#).unwrap();
        assert_eq!(g.members, None);
        let g: Group = serde_json::from_str(
            r#"{"id":"g","displayName":"A","members":[{"value":"1","display":"Ada","$ref":"https://x/Users/1"}]}"#,
        )
        .unwrap();
        let members = g.members.unwrap();
        assert_eq!(members[0].reference.as_deref(), Some("https://x/Users/1"));
        assert_eq!(members[0].display.as_deref(), Some("Ada"));
    }
}
