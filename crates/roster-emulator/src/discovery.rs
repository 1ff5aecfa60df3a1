//! The discovery documents: `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`.
//!
//! The schemas describe what this emulator stores with meaning: the attributes that
//! Productboard documents for members and teams. Other attributes a client sends are
//! kept and returned, but not described.

use serde_json::{Value, json};

use crate::config::Misbehaviour;
use crate::filter::{GROUP_SCHEMA, USER_SCHEMA};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The ListResponse message schema.
pub(crate) const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// `/ServiceProviderConfig`.
pub(crate) fn service_provider_config(base_url: &str, max_results: usize) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://support.productboard.com/hc/en-us/articles/12796466210323-SCIM-API",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": max_results },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the workspace's SCIM access token, sent as a bearer token",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base_url}/ServiceProviderConfig") },
    })
}

/// Every resource type, in a stable order.
pub(crate) fn resource_types(base_url: &str) -> Vec<Value> {
    [("User", "Users", USER_SCHEMA, "A Productboard member"), ("Group", "Groups", GROUP_SCHEMA, "A Productboard team")]
        .into_iter()
        .map(|(name, endpoint, schema, description)| {
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": name,
                "name": name,
                "description": description,
                "endpoint": format!("/{endpoint}"),
                "schema": schema,
                "meta": { "resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{name}") },
            })
        })
        .collect()
}

/// The User attributes the schema declares; with `ignore_unknown_attributes` the store
/// keeps only these (and the common `externalId`).
pub(crate) fn declared_user_attributes(misbehaviour: &Misbehaviour) -> Vec<String> {
    let mut names: Vec<String> = user_attributes(misbehaviour)
        .iter()
        .filter_map(|a| a.0["name"].as_str().map(str::to_owned))
        .collect();
    names.push("externalId".to_owned());
    names
}

fn user_attributes(misbehaviour: &Misbehaviour) -> Vec<Attr> {
    let formatted = attr("formatted", "string", "The full name.");
    let formatted = if misbehaviour.require_name_formatted { formatted.required() } else { formatted };
    let mut user = vec![
        attr("userName", "string", "The member's email address; unique, case-insensitively.")
            .required()
            .unique(),
        attr("name", "complex", "The member's name.").sub(vec![
            formatted,
            attr("familyName", "string", "The family name."),
            attr("givenName", "string", "The given name."),
        ]),
        attr("displayName", "string", "The name shown in Productboard."),
        attr("title", "string", "The member's job title."),
        attr("active", "boolean", "Whether the member may log in; members are deactivated, never deleted."),
        attr("emails", "complex", "Email addresses.").multi().sub(vec![
            attr("value", "string", "The address."),
            attr("display", "string", "A label for the address."),
            attr("type", "string", "The kind of address.").canonical(&["work", "home", "other"]),
            attr("primary", "boolean", "Whether this is the primary address."),
        ]),
        attr(
            "roles",
            "complex",
            "The member's role: admin, maker, contributor, viewer or a custom role; one per member.",
        )
        .multi()
        .sub(vec![
            attr("value", "string", "The role's name."),
            attr("display", "string", "A label for the role."),
            attr("type", "string", "The kind of role."),
            attr("primary", "boolean", "Whether this is the primary role."),
        ]),
    ];
    if misbehaviour.ignore_unknown_attributes {
        // A service that neither declares nor keeps a job title.
        user.retain(|a| a.0["name"] != "title");
    }
    user
}

/// Every schema, in a stable order.
pub(crate) fn schemas(base_url: &str, misbehaviour: &Misbehaviour) -> Vec<Value> {
    let user = user_attributes(misbehaviour);
    let reference =
        attr("$ref", "reference", "The member's URI.").case_exact().immutable().references(&["User"]);
    let reference = if misbehaviour.require_member_ref { reference.required() } else { reference };
    let group = vec![
        attr("displayName", "string", "The team's name; unique, case-insensitively.").required(),
        attr("members", "complex", "The team's members.").multi().sub(vec![
            attr("value", "string", "The member's user id.").case_exact().immutable(),
            reference,
            attr("type", "string", "The kind of member.").immutable().canonical(&["User"]),
            attr("display", "string", "The member's name, as the client sent it."),
        ]),
    ];
    [(USER_SCHEMA, "User", "Productboard member", user), (GROUP_SCHEMA, "Group", "Productboard team", group)]
        .into_iter()
        .map(|(id, name, description, attributes)| {
            json!({
                "schemas": [SCHEMA_SCHEMA],
                "id": id,
                "name": name,
                "description": description,
                "attributes": attributes.into_iter().map(|a| a.0).collect::<Vec<_>>(),
                "meta": { "resourceType": "Schema", "location": format!("{base_url}/Schemas/{id}") },
            })
        })
        .collect()
}

/// A list response holding every item, as discovery lists are never paged.
pub(crate) fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

/// An attribute definition under construction.
struct Attr(Value);

fn attr(name: &str, kind: &str, description: &str) -> Attr {
    Attr(json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    }))
}

impl Attr {
    fn required(mut self) -> Self {
        self.0["required"] = json!(true);
        self
    }
    fn unique(mut self) -> Self {
        self.0["uniqueness"] = json!("server");
        self
    }
    fn multi(mut self) -> Self {
        self.0["multiValued"] = json!(true);
        self
    }
    fn case_exact(mut self) -> Self {
        self.0["caseExact"] = json!(true);
        self
    }
    fn immutable(mut self) -> Self {
        self.0["mutability"] = json!("immutable");
        self
    }
    fn canonical(mut self, values: &[&str]) -> Self {
        self.0["canonicalValues"] = json!(values);
        self
    }
    fn references(mut self, types: &[&str]) -> Self {
        self.0["referenceTypes"] = json!(types);
        self
    }
    fn sub(mut self, subs: Vec<Attr>) -> Self {
        self.0["subAttributes"] = Value::Array(subs.into_iter().map(|a| a.0).collect());
        self
    }
}
