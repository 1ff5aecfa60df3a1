//! Conversions between SCIM wire types and `roster_model`.
//!
//! Roles: roster's role is `roles[primary eq true].value`, or the only role when a user
//! has exactly one. An update sends the role as a replace of the whole `roles` array,
//! `{"op":"replace","path":"roles","value":[{"value":"maker","primary":true}]}`, which is
//! how Okta pushes a role attribute to Productboard. The filtered form
//! `roles[primary eq true].value` would be shorter, but it fails with `noTarget` on a user
//! that has no role yet (scim2-server answers 400), and Productboard users hold exactly one
//! role, so nothing is lost by replacing the array.

use roster_model::{LiveGroup, LiveUser, Provider, ServiceCapabilities, UserAttributes, UserChanges};
use serde_json::{Value, json};
use thiserror::Error;

use crate::wire::{
    ENTERPRISE_USER_SCHEMA, Email, GROUP_SCHEMA, Group, Member, Name, PatchOp, PatchOperation, Role,
    USER_SCHEMA, User,
};

/// A resource from the service lacks something roster cannot do without.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MappingError {
    /// A user or group without `id`.
    #[error("a {kind} from the service has no id ({name:?})")]
    MissingId {
        /// `user` or `group`.
        kind: &'static str,
        /// Its userName or displayName, to find it.
        name: String,
    },
    /// A user without `userName`.
    #[error("user {id:?} from the service has no userName")]
    MissingUserName {
        /// The user's id.
        id: String,
    },
    /// A group without `displayName`.
    #[error("group {id:?} from the service has no displayName")]
    MissingDisplayName {
        /// The group's id.
        id: String,
    },
}

/// The user's role: the primary role's value, or the only role's value.
pub fn role_of(user: &User) -> Option<String> {
    let roles = user.roles.as_deref().unwrap_or_default();
    let primary = roles.iter().find(|role| role.primary == Some(true));
    let chosen = primary.or(if roles.len() == 1 { roles.first() } else { None });
    chosen.map(|role| role.value.clone()).filter(|value| !value.is_empty())
}

impl User {
    /// The user as roster's live state sees it. A missing `active` counts as active,
    /// as services treat it.
    pub fn to_live(&self) -> Result<LiveUser, MappingError> {
        let id = match self.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => return Err(MappingError::MissingId { kind: "user", name: self.user_name.clone() }),
        };
        if self.user_name.is_empty() {
            return Err(MappingError::MissingUserName { id });
        }
        let name = self.name.as_ref();
        Ok(LiveUser {
            id,
            attributes: UserAttributes {
                user_name: self.user_name.clone(),
                external_id: self.external_id.clone(),
                display_name: self.display_name.clone(),
                given_name: name.and_then(|n| n.given_name.clone()),
                family_name: name.and_then(|n| n.family_name.clone()),
                title: self.title.clone(),
                role: role_of(self),
                active: self.active.unwrap_or(true),
            },
        })
    }
}

impl Group {
    /// The group as roster's live state sees it; members in the service's order.
    pub fn to_live(&self) -> Result<LiveGroup, MappingError> {
        let id = match self.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => return Err(MappingError::MissingId { kind: "group", name: self.display_name.clone() }),
        };
        if self.display_name.is_empty() {
            return Err(MappingError::MissingDisplayName { id });
        }
        Ok(LiveGroup {
            id,
            display_name: self.display_name.clone(),
            external_id: self.external_id.clone(),
            members: self.members.iter().flatten().map(|m| m.value.clone()).collect(),
        })
    }
}

fn primary_role(value: &str) -> Role {
    Role { value: value.to_owned(), primary: Some(true), ..Role::default() }
}

/// `name.formatted` composed from the given and family names; `None` without either.
pub fn formatted_name(given_name: Option<&str>, family_name: Option<&str>) -> Option<String> {
    let parts: Vec<&str> =
        [given_name, family_name].into_iter().flatten().filter(|p| !p.trim().is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The body of `POST /Users` for a new user. For Productboard the body also carries the
/// userName as the primary work email, as Productboard's own examples do.
///
/// A name is always sent with `name.formatted` composed from the given and family
/// names; where the service's schema requires `formatted`, a user without those gets it
/// from the displayName, or else the userName, so that the create is not refused.
pub fn user_for_create(
    attributes: &UserAttributes,
    provider: Provider,
    capabilities: &ServiceCapabilities,
) -> User {
    let formatted = formatted_name(attributes.given_name.as_deref(), attributes.family_name.as_deref())
        .or_else(|| {
            capabilities
                .name_formatted_required
                .then(|| attributes.display_name.clone().unwrap_or_else(|| attributes.user_name.clone()))
        });
    let name = (attributes.given_name.is_some() || attributes.family_name.is_some() || formatted.is_some())
        .then(|| {
            let mut name = Name {
                given_name: attributes.given_name.clone(),
                family_name: attributes.family_name.clone(),
                ..Name::default()
            };
            if let Some(formatted) = &formatted {
                name.extra.insert("formatted".to_owned(), Value::String(formatted.clone()));
            }
            name
        });
    let emails = (provider == Provider::Productboard).then(|| {
        vec![Email {
            value: attributes.user_name.clone(),
            kind: Some("work".to_owned()),
            primary: Some(true),
            ..Email::default()
        }]
    });
    User {
        schemas: vec![USER_SCHEMA.to_owned()],
        external_id: attributes.external_id.clone(),
        user_name: attributes.user_name.clone(),
        name,
        display_name: attributes.display_name.clone(),
        title: attributes.title.clone(),
        active: Some(attributes.active),
        emails,
        roles: attributes.role.as_deref().map(|role| vec![primary_role(role)]),
        ..User::default()
    }
}

/// The minimal PATCH for a set of changes: one `replace` per changed attribute, in a
/// fixed order; `None` when there is nothing to change.
pub fn user_patch(changes: &UserChanges) -> Option<PatchOp> {
    let mut ops = Vec::new();
    let mut text = |path: &str, value: &Option<String>| {
        if let Some(value) = value {
            ops.push(PatchOperation::replace(path, Value::String(value.clone())));
        }
    };
    text("userName", &changes.user_name);
    text("externalId", &changes.external_id);
    text("displayName", &changes.display_name);
    text("name.givenName", &changes.given_name);
    text("name.familyName", &changes.family_name);
    text("title", &changes.title);
    if let Some(role) = &changes.role {
        ops.push(PatchOperation::replace("roles", json!([{"value": role, "primary": true}])));
    }
    if let Some(active) = changes.active {
        ops.push(PatchOperation::replace("active", Value::Bool(active)));
    }
    (!ops.is_empty()).then(|| PatchOp::new(ops))
}

/// The body of a `PUT /Users/{id}` that applies `changes` to the user as the service
/// holds it: every attribute the changes do not name, including ones roster does not
/// model and the enterprise extension, is sent back as it was. `meta` is left out: it is
/// read-only, and some services refuse a body that carries it.
pub fn merge_for_put(live: &User, changes: &UserChanges) -> User {
    let mut user = live.clone();
    user.meta = None;
    scrub_user(&mut user);
    if !user.schemas.iter().any(|s| s == USER_SCHEMA) {
        user.schemas.insert(0, USER_SCHEMA.to_owned());
    }
    if user.enterprise.is_some() && !user.schemas.iter().any(|s| s == ENTERPRISE_USER_SCHEMA) {
        user.schemas.push(ENTERPRISE_USER_SCHEMA.to_owned());
    }
    if let Some(user_name) = &changes.user_name {
        user.user_name = user_name.clone();
    }
    let set = |slot: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            slot.clone_from(value);
        }
    };
    set(&mut user.external_id, &changes.external_id);
    set(&mut user.display_name, &changes.display_name);
    set(&mut user.title, &changes.title);
    if changes.given_name.is_some() || changes.family_name.is_some() {
        let name = user.name.get_or_insert_with(Name::default);
        set(&mut name.given_name, &changes.given_name);
        set(&mut name.family_name, &changes.family_name);
        // `formatted` follows the parts it is composed of.
        if let Some(formatted) = formatted_name(name.given_name.as_deref(), name.family_name.as_deref()) {
            name.extra.insert("formatted".to_owned(), Value::String(formatted));
        }
    }
    if let Some(role) = &changes.role {
        let roles = user.roles.get_or_insert_with(Vec::new);
        let index = roles.iter().position(|r| r.primary == Some(true)).or(if roles.len() == 1 {
            Some(0)
        } else {
            None
        });
        match index {
            Some(index) => {
                roles[index].value = role.clone();
                roles[index].primary = Some(true);
            }
            None => roles.push(primary_role(role)),
        }
    }
    // Always explicit: roster reads a missing `active` as true (the SCIM default), and a
    // PUT that left it out could be read by a service as "not active" and lock the user
    // out.
    user.active = Some(changes.active.unwrap_or(user.active.unwrap_or(true)));
    user
}

/// Drops what the service itself returned empty, so that a PUT does not send it back
/// (some services refuse an email with an empty `value`): empty strings, and entries of
/// multi-valued attributes whose `value` is empty.
pub fn scrub_user(user: &mut User) {
    let empty = |slot: &mut Option<String>| {
        if slot.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *slot = None;
        }
    };
    empty(&mut user.external_id);
    empty(&mut user.display_name);
    empty(&mut user.title);
    if let Some(name) = user.name.as_mut() {
        empty(&mut name.given_name);
        empty(&mut name.family_name);
        scrub_extra(&mut name.extra);
    }
    if let Some(emails) = user.emails.as_mut() {
        emails.retain(|e| !e.value.trim().is_empty());
    }
    if user.emails.as_ref().is_some_and(Vec::is_empty) {
        user.emails = None;
    }
    if let Some(roles) = user.roles.as_mut() {
        roles.retain(|r| !r.value.trim().is_empty());
    }
    if let Some(enterprise) = user.enterprise.as_mut() {
        empty(&mut enterprise.department);
        empty(&mut enterprise.employee_number);
        scrub_extra(&mut enterprise.extra);
    }
    scrub_extra(&mut user.extra);
}

/// Empty strings, empty-valued entries of arrays and objects left empty, recursively.
fn scrub_extra(extra: &mut crate::wire::Extra) {
    fn is_empty(value: &Value) -> bool {
        match value {
            Value::String(s) => s.trim().is_empty(),
            Value::Object(map) => {
                map.is_empty()
                    || map.get("value").is_some_and(|v| v.as_str().is_some_and(|s| s.trim().is_empty()))
            }
            Value::Array(items) => items.is_empty(),
            _ => false,
        }
    }
    fn scrub(value: &mut Value) {
        match value {
            Value::Array(items) => {
                // An entry whose `value` is empty goes whole, before its other
                // sub-attributes are looked at.
                items.retain(|item| !is_empty(item));
                items.iter_mut().for_each(scrub);
                items.retain(|item| !is_empty(item));
            }
            Value::Object(map) => {
                map.values_mut().for_each(scrub);
                map.retain(|_, v| !is_empty(v));
            }
            _ => {}
        }
    }
    extra.values_mut().for_each(scrub);
    extra.retain(|_, v| !is_empty(v));
}

/// A group as a PUT sends it back: without `meta`, without members or attributes the
/// service returned empty, and with each member's `$ref` where the schema requires it.
pub fn group_for_put(live: &Group, users_url: Option<&str>) -> Group {
    let mut group = live.clone();
    group.meta = None;
    if group.schemas.is_empty() {
        group.schemas.push(GROUP_SCHEMA.to_owned());
    }
    if group.external_id.as_deref().is_some_and(|v| v.trim().is_empty()) {
        group.external_id = None;
    }
    if let Some(members) = group.members.as_mut() {
        members.retain(|m| !m.value.trim().is_empty());
        if let Some(users_url) = users_url {
            for member in members.iter_mut().filter(|m| m.reference.is_none()) {
                member.reference = Some(member_ref(users_url, &member.value));
            }
        }
    }
    scrub_extra(&mut group.extra);
    group
}

/// `<base>/Users/<id>`, the `$ref` of a member.
fn member_ref(users_url: &str, id: &str) -> String {
    format!("{}/{}", users_url.trim_end_matches('/'), crate::filter::encode_component(id))
}

/// A member as a request sends it: the id, and the `$ref` when `users_url` is given
/// (the service's schema requires it).
pub fn member_for(id: &str, users_url: Option<&str>) -> Member {
    Member { reference: users_url.map(|url| member_ref(url, id)), ..Member::id(id) }
}

/// The body of `POST /Groups`; members carry `$ref` when `users_url` is given.
pub fn group_for_create(
    display_name: &str,
    external_id: Option<&str>,
    member_ids: &[String],
    users_url: Option<&str>,
) -> Group {
    Group {
        schemas: vec![GROUP_SCHEMA.to_owned()],
        external_id: external_id.map(str::to_owned),
        display_name: display_name.to_owned(),
        members: Some(member_ids.iter().map(|id| member_for(id, users_url)).collect()),
        ..Group::default()
    }
}

/// The PATCH that renames a group.
pub fn group_rename_patch(display_name: &str) -> PatchOp {
    PatchOp::new(vec![PatchOperation::replace("displayName", Value::String(display_name.to_owned()))])
}

/// The PATCH that adds these members: one `add` with the ids as an array, each with its
/// `$ref` when `users_url` is given.
pub fn add_members_patch(member_ids: &[String], users_url: Option<&str>) -> PatchOp {
    let value = member_ids
        .iter()
        .map(|id| serde_json::to_value(member_for(id, users_url)).unwrap_or_else(|_| json!({"value": id})))
        .collect();
    PatchOp::new(vec![PatchOperation::add("members", Value::Array(value))])
}

/// The PATCH that removes these members: one `remove` per member with the path
/// `members[value eq "id"]`. scim2-server refuses the form with a value array that Entra
/// sends, some servers read that form as "remove everyone", and the filtered path is the
/// form RFC 7644 §3.5.2.2 describes; [`PatchOperation`] cannot express the other.
pub fn remove_members_patch(member_ids: &[String]) -> PatchOp {
    PatchOp::new(member_ids.iter().map(|id| PatchOperation::remove_member(id)).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::wire::PatchOpKind;

    fn live_wire_user() -> User {
        serde_json::from_value(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "u1",
            "externalId": "00u1",
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace", "honorificPrefix": "Lady"},
            "displayName": "Ada Lovelace",
            "nickName": "ada",
            "active": true,
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "roles": [{"value": "viewer", "primary": false}, {"value": "maker", "primary": true, "display": "Maker"}],
            ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": {"value": "u9"}},
            "x-productboard": {"seat": "full"},
            "meta": {"resourceType": "User", "version": "W/\"3\""}
        }))
        .unwrap()
    }

    #[test]
    fn wire_user_maps_to_live() {
        let live = live_wire_user().to_live().unwrap();
        assert_eq!(live.id, "u1");
        let a = live.attributes;
        assert_eq!(a.user_name, "ada@example.com");
        assert_eq!((a.given_name.as_deref(), a.family_name.as_deref()), (Some("Ada"), Some("Lovelace")));
        assert_eq!(a.role.as_deref(), Some("maker"));
        assert!(a.active);
    }

    #[test]
    fn role_is_primary_or_the_only_one() {
        let with = |roles: Value| -> Option<String> {
            let user: User = serde_json::from_value(json!({"userName": "a@x.io", "roles": roles})).unwrap();
            role_of(&user)
        };
        assert_eq!(with(json!([{"value": "admin"}])).as_deref(), Some("admin"));
        assert_eq!(with(json!([{"value": "admin"}, {"value": "maker"}])), None);
        assert_eq!(
            with(json!([{"value": "admin"}, {"value": "maker", "primary": "True"}])).as_deref(),
            Some("maker")
        );
        assert_eq!(with(json!([])), None);
    }

    #[test]
    fn users_without_id_or_user_name_are_refused() {
        let user: User = serde_json::from_value(json!({"userName": "a@x.io"})).unwrap();
        assert_eq!(user.to_live(), Err(MappingError::MissingId { kind: "user", name: "a@x.io".into() }));
        let user: User = serde_json::from_value(json!({"id": "7"})).unwrap();
        assert_eq!(user.to_live().unwrap_err().to_string(), "user \"7\" from the service has no userName");
    }

    #[test]
    fn create_body_for_productboard_carries_the_email() {
        let attrs = UserAttributes {
            user_name: "ada@example.com".into(),
            given_name: Some("Ada".into()),
            role: Some("maker".into()),
            active: true,
            ..Default::default()
        };
        let body = serde_json::to_value(user_for_create(
            &attrs,
            Provider::Productboard,
            &ServiceCapabilities::default(),
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "ada@example.com",
                "name": {"givenName": "Ada", "formatted": "Ada"},
                "active": true,
                "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
                "roles": [{"value": "maker", "primary": true}]
            })
        );
        let generic =
            serde_json::to_value(user_for_create(&attrs, Provider::Generic, &ServiceCapabilities::default()))
                .unwrap();
        assert!(generic.get("emails").is_none());
    }

    #[test]
    fn patch_replaces_only_what_changed() {
        assert_eq!(user_patch(&UserChanges::default()), None);
        let changes = UserChanges {
            given_name: Some("Augusta".into()),
            role: Some("admin".into()),
            active: Some(false),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(user_patch(&changes).unwrap()).unwrap(),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "path": "name.givenName", "value": "Augusta"},
                {"op": "replace", "path": "roles", "value": [{"value": "admin", "primary": true}]},
                {"op": "replace", "path": "active", "value": false}
            ]})
        );
    }

    #[test]
    fn put_merge_keeps_everything_the_file_does_not_manage() {
        let live = live_wire_user();
        let changes = UserChanges {
            family_name: Some("King".into()),
            title: Some("Countess".into()),
            role: Some("admin".into()),
            active: Some(false),
            ..Default::default()
        };
        let merged = merge_for_put(&live, &changes);
        let body = serde_json::to_value(&merged).unwrap();
        assert_eq!(body["x-productboard"], json!({"seat": "full"}));
        assert_eq!(body["nickName"], "ada");
        assert_eq!(body[ENTERPRISE_USER_SCHEMA], json!({"department": "R&D", "manager": {"value": "u9"}}));
        assert_eq!(
            body["name"],
            json!({"givenName": "Ada", "familyName": "King", "honorificPrefix": "Lady", "formatted": "Ada King"})
        );
        assert_eq!(body["emails"], json!([{"value": "ada@example.com", "type": "work", "primary": true}]));
        assert_eq!(
            body["roles"],
            json!([{"value": "viewer", "primary": false}, {"value": "admin", "primary": true, "display": "Maker"}])
        );
        assert_eq!((body["title"].clone(), body["active"].clone()), (json!("Countess"), json!(false)));
        assert!(body.get("meta").is_none());
        assert_eq!(body["id"], "u1");
        // What the merge produces is what the changes describe, and nothing else moved.
        let mut expected = live.to_live().unwrap().attributes;
        changes.apply_to(&mut expected);
        assert_eq!(merged.to_live().unwrap().attributes, expected);
    }

    #[test]
    fn put_merge_adds_a_role_to_a_user_without_one() {
        let live: User = serde_json::from_value(json!({"id": "u2", "userName": "b@x.io"})).unwrap();
        let merged = merge_for_put(&live, &UserChanges { role: Some("viewer".into()), ..Default::default() });
        assert_eq!(role_of(&merged).as_deref(), Some("viewer"));
        assert_eq!(merged.schemas, [USER_SCHEMA]);
        // The live user had no `active`, which SCIM reads as true: the PUT says so.
        assert_eq!(merged.active, Some(true));
    }

    #[test]
    fn group_bodies() {
        let group = group_for_create("Product", Some("g-1"), &["u1".into(), "u2".into()], None);
        assert_eq!(
            serde_json::to_value(&group).unwrap(),
            json!({"schemas": [GROUP_SCHEMA], "externalId": "g-1", "displayName": "Product",
                   "members": [{"value": "u1"}, {"value": "u2"}]})
        );
        assert_eq!(
            serde_json::to_value(add_members_patch(&["u1".into(), "u2".into()], None)).unwrap()["Operations"],
            json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}])
        );
        assert_eq!(
            serde_json::to_value(remove_members_patch(&["u1".into(), "a\"b".into()])).unwrap()["Operations"],
            json!([{"op": "remove", "path": "members[value eq \"u1\"]"},
                   {"op": "remove", "path": "members[value eq \"a\\\"b\"]"}])
        );
        let live = serde_json::from_value::<Group>(
            json!({"id": "g", "displayName": "P", "members": [{"value": "u1"}]}),
        )
        .unwrap()
        .to_live()
        .unwrap();
        assert_eq!(live.members, ["u1"]);
    }

    #[test]
    fn a_put_does_not_send_back_what_the_service_returned_empty() {
        let live: User = serde_json::from_value(json!({
            "id": "u1", "userName": "a@x.io", "title": "",
            "emails": [{"value": "", "type": "work"}, {"value": "a@x.io", "primary": true}],
            "phoneNumbers": [{"value": "", "type": "work"}],
            "addresses": [],
            "name": {"givenName": "A", "middleName": ""},
            "roles": [{"value": "maker", "primary": true}]
        }))
        .unwrap();
        let body = serde_json::to_value(merge_for_put(&live, &UserChanges::default())).unwrap();
        assert_eq!(body["emails"], json!([{"value": "a@x.io", "primary": true}]));
        assert!(body.get("title").is_none() && body.get("phoneNumbers").is_none(), "{body}");
        assert!(body.get("addresses").is_none(), "{body}");
        assert_eq!(body["name"], json!({"givenName": "A"}));
        let group: Group = serde_json::from_value(json!({
            "id": "g", "displayName": "T", "members": [{"value": ""}, {"value": "u1"}], "meta": {"version": "1"}
        }))
        .unwrap();
        let body = serde_json::to_value(group_for_put(&group, Some("https://x/scim/v2/Users"))).unwrap();
        assert_eq!(body["members"], json!([{"value": "u1", "$ref": "https://x/scim/v2/Users/u1"}]));
        assert!(body.get("meta").is_none());
    }

    #[test]
    fn a_required_formatted_name_and_member_ref_are_sent() {
        let attrs = UserAttributes {
            user_name: "a@x.io".into(),
            display_name: Some("Ann".into()),
            active: true,
            ..Default::default()
        };
        let plain =
            serde_json::to_value(user_for_create(&attrs, Provider::Generic, &ServiceCapabilities::default()));
        assert!(plain.unwrap().get("name").is_none(), "no name to send");
        let strict = ServiceCapabilities { name_formatted_required: true, ..ServiceCapabilities::default() };
        let body = serde_json::to_value(user_for_create(&attrs, Provider::Generic, &strict)).unwrap();
        assert_eq!(body["name"], json!({"formatted": "Ann"}));
        let full =
            UserAttributes { given_name: Some("Ann".into()), family_name: Some("Lee".into()), ..attrs };
        let body = serde_json::to_value(user_for_create(&full, Provider::Generic, &strict)).unwrap();
        assert_eq!(body["name"], json!({"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"}));

        let users = Some("https://x/scim/v2/Users");
        let group = serde_json::to_value(group_for_create("T", None, &["a/b".into()], users)).unwrap();
        assert_eq!(group["members"], json!([{"value": "a/b", "$ref": "https://x/scim/v2/Users/a%2Fb"}]));
        let patch = serde_json::to_value(add_members_patch(&["u1".into()], users)).unwrap();
        assert_eq!(
            patch["Operations"][0]["value"],
            json!([{"value": "u1", "$ref": "https://x/scim/v2/Users/u1"}])
        );
    }

    /// Every PATCH roster builds: none removes more than one member, none removes by
    /// a value list.
    #[test]
    fn no_patch_roster_builds_removes_members_wholesale() {
        let ids: Vec<String> = (0..150).map(|n| format!("u{n}")).collect();
        let changes = UserChanges {
            user_name: Some("b@x.io".into()),
            external_id: Some("x".into()),
            display_name: Some("B".into()),
            given_name: Some("B".into()),
            family_name: Some("C".into()),
            title: Some("T".into()),
            role: Some("admin".into()),
            active: Some(false),
        };
        let patches = [
            remove_members_patch(&ids),
            add_members_patch(&ids, None),
            add_members_patch(&ids, Some("https://x/Users")),
            group_rename_patch("members"),
            user_patch(&changes).unwrap(),
        ];
        for patch in &patches {
            for op in &patch.operations {
                let body = serde_json::to_value(op).unwrap();
                if op.op() == PatchOpKind::Remove {
                    assert!(op.is_single_member_removal(), "{body}");
                    assert!(body.get("value").is_none(), "{body}");
                    let path = body["path"].as_str().unwrap();
                    assert!(path.starts_with("members[value eq \"") && path.ends_with("\"]"), "{body}");
                }
            }
        }
        assert_eq!(patches[0].operations.len(), 150, "one remove per member");
    }
}
