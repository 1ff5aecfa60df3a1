//! Reading what a service declares (`/ServiceProviderConfig`, `/ResourceTypes`,
//! `/Schemas`) into [`ServiceCapabilities`], without I/O.
//!
//! Each document is optional: absent (`None`), unparsable or without the part needed,
//! it leaves the provider's defaults in place and says why in the returned notes, which
//! the client logs at debug level. A service that declares a User schema without an
//! attribute roster manages does not keep it; common attributes (`externalId`) are kept
//! unless the schema lists them with another mutability.

use roster_model::{AttributeSupport, CapabilitySource, Provider, ServiceCapabilities, UserAttribute};
use serde_json::Value;

use crate::wire::{GROUP_SCHEMA, ServiceProviderConfig, USER_SCHEMA};

/// The discovery documents as the service answered them; `None` for one that was absent
/// or failed, with the reason.
#[derive(Clone, Debug)]
pub struct DiscoveryDocuments {
    /// `/ServiceProviderConfig`'s body, or why there is none.
    pub service_provider_config: Result<Vec<u8>, String>,
    /// `/ResourceTypes`'s body, or why there is none.
    pub resource_types: Result<Vec<u8>, String>,
    /// `/Schemas`'s body, or why there is none.
    pub schemas: Result<Vec<u8>, String>,
}

/// Builds the capabilities from the documents, starting from `provider`'s defaults.
/// The notes say, one line each, which document was not used and why.
pub fn capabilities_from_discovery(
    provider: Provider,
    documents: &DiscoveryDocuments,
) -> (ServiceCapabilities, Vec<String>) {
    let mut caps = ServiceCapabilities::defaults_for(provider);
    let mut notes = Vec::new();

    match documents.service_provider_config.as_ref().map_err(Clone::clone).and_then(|body| {
        serde_json::from_slice::<ServiceProviderConfig>(body)
            .map_err(|e| format!("not a ServiceProviderConfig: {e}"))
    }) {
        Ok(config) => {
            caps.patch = config.patch.supported;
            caps.filter = config.filter.supported;
            caps.filter_max_results = config.filter.max_results;
            caps.sort = config.sort.supported;
            caps.etag = config.etag.supported;
            caps.service_provider_config_source = CapabilitySource::Declared;
        }
        Err(reason) => {
            notes.push(format!("/ServiceProviderConfig: {reason}; using the provider's defaults"));
            caps.service_provider_config_source = CapabilitySource::Defaults(reason);
        }
    }

    // The resource types name the schema of users and groups (the core URNs, almost
    // always) and the extensions a user carries.
    let mut user_schema = USER_SCHEMA.to_owned();
    let mut group_schema = GROUP_SCHEMA.to_owned();
    match documents.resource_types.as_ref().map_err(Clone::clone).and_then(|body| resources_of(body)) {
        Ok(types) => {
            let by_name = |name: &str| {
                types.iter().find(|t| {
                    text(t, "name").is_some_and(|n| n.eq_ignore_ascii_case(name))
                        || text(t, "id").is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
            };
            if let Some(user) = by_name("User") {
                if let Some(schema) = text(user, "schema") {
                    user_schema = schema.to_owned();
                }
                let extensions = user.get("schemaExtensions").and_then(Value::as_array);
                caps.enterprise_extension = Some(extensions.is_some_and(|list| {
                    list.iter()
                        .any(|e| text(e, "schema").is_some_and(|s| s == crate::wire::ENTERPRISE_USER_SCHEMA))
                }));
            }
            caps.groups = Some(by_name("Group").is_some());
            if let Some(schema) = by_name("Group").and_then(|g| text(g, "schema")) {
                group_schema = schema.to_owned();
            }
            caps.resource_types_source = CapabilitySource::Declared;
        }
        Err(reason) => {
            notes.push(format!("/ResourceTypes: {reason}; assuming the core User and Group schemas"));
            caps.resource_types_source = CapabilitySource::Defaults(reason);
        }
    }

    match documents.schemas.as_ref().map_err(Clone::clone).and_then(|body| resources_of(body)) {
        Ok(schemas) => {
            // By the id the resource types name, else by the schema's name ("User",
            // "Group"), for services whose ids are their own.
            let find = |id: &str, name: &str| {
                schemas.iter().find(|s| text(s, "id").is_some_and(|s| s.eq_ignore_ascii_case(id))).or_else(
                    || schemas.iter().find(|s| text(s, "name").is_some_and(|n| n.eq_ignore_ascii_case(name))),
                )
            };
            match find(&user_schema, "User").and_then(|s| s.get("attributes")).and_then(Value::as_array) {
                Some(attributes) => read_user_schema(attributes, &mut caps),
                None => notes.push(format!(
                    "/Schemas has no usable {user_schema}; assuming users keep every attribute"
                )),
            }
            match find(&group_schema, "Group").and_then(|s| s.get("attributes")).and_then(Value::as_array) {
                Some(attributes) => read_group_schema(attributes, &mut caps),
                None => notes.push(format!("/Schemas has no usable {group_schema}")),
            }
            caps.schemas_source = CapabilitySource::Declared;
        }
        Err(reason) => {
            notes.push(format!("/Schemas: {reason}; assuming every attribute is kept"));
            caps.schemas_source = CapabilitySource::Defaults(reason);
        }
    }
    (caps, notes)
}

/// The resources of a list response, or a bare array (some services answer so).
fn resources_of(body: &[u8]) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(map) => match map.iter().find(|(k, _)| k.eq_ignore_ascii_case("Resources")) {
            Some((_, Value::Array(items))) => Ok(items.clone()),
            _ => Err("no Resources in the answer".to_owned()),
        },
        _ => Err("not a list".to_owned()),
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| v.as_str())
}

fn flag(value: &Value, key: &str) -> bool {
    value.as_object().and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))).is_some_and(
        |(_, v)| v.as_bool() == Some(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")),
    )
}

fn attribute<'a>(attributes: &'a [Value], name: &str) -> Option<&'a Value> {
    attributes.iter().find(|a| text(a, "name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

fn sub_attributes(attribute: &Value) -> Option<&[Value]> {
    attribute
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("subAttributes"))
        .and_then(|(_, v)| v.as_array())
        .map(Vec::as_slice)
}

fn support_of(attribute: &Value) -> AttributeSupport {
    match text(attribute, "mutability").map(str::to_ascii_lowercase).as_deref() {
        Some("readonly") => AttributeSupport::ReadOnly,
        Some("immutable") => AttributeSupport::Immutable,
        _ => AttributeSupport::ReadWrite,
    }
}

/// The stricter of a parent's and a sub-attribute's support.
fn stricter(a: AttributeSupport, b: AttributeSupport) -> AttributeSupport {
    let rank = |s: AttributeSupport| match s {
        AttributeSupport::ReadWrite => 0,
        AttributeSupport::Immutable => 1,
        AttributeSupport::ReadOnly => 2,
        AttributeSupport::NotKept => 3,
    };
    if rank(a) >= rank(b) { a } else { b }
}

fn read_user_schema(attributes: &[Value], caps: &mut ServiceCapabilities) {
    let top = |name: &str| attribute(attributes, name).map_or(AttributeSupport::NotKept, support_of);
    let name = attribute(attributes, "name");
    let name_part = |part: &str| match name {
        None => AttributeSupport::NotKept,
        Some(name) => match sub_attributes(name) {
            // A complex `name` that lists no sub-attributes keeps the standard ones.
            None => support_of(name),
            Some(subs) => attribute(subs, part)
                .map_or(AttributeSupport::NotKept, |sub| stricter(support_of(name), support_of(sub))),
        },
    };
    for a in UserAttribute::ALL {
        let support = match a {
            UserAttribute::UserName => {
                attribute(attributes, "userName").map_or(AttributeSupport::ReadWrite, support_of)
            }
            // A common attribute (RFC 7643 section 3.1): kept unless the schema says otherwise.
            UserAttribute::ExternalId => {
                attribute(attributes, "externalId").map_or(AttributeSupport::ReadWrite, support_of)
            }
            UserAttribute::DisplayName => top("displayName"),
            UserAttribute::GivenName => name_part("givenName"),
            UserAttribute::FamilyName => name_part("familyName"),
            UserAttribute::Title => top("title"),
            UserAttribute::Role => top("roles"),
        };
        if support == AttributeSupport::ReadWrite {
            caps.user_attributes.remove(&a);
        } else {
            caps.user_attributes.insert(a, support);
        }
    }
    caps.name_formatted_required = name
        .and_then(sub_attributes)
        .and_then(|subs| attribute(subs, "formatted"))
        .is_some_and(|formatted| flag(formatted, "required"));
}

fn read_group_schema(attributes: &[Value], caps: &mut ServiceCapabilities) {
    caps.group_external_id =
        attribute(attributes, "externalId").map_or(AttributeSupport::ReadWrite, support_of);
    caps.member_ref_required = attribute(attributes, "members")
        .and_then(sub_attributes)
        .and_then(|subs| attribute(subs, "$ref"))
        .is_some_and(|reference| flag(reference, "required"));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn docs(spc: Option<Value>, types: Option<Value>, schemas: Option<Value>) -> DiscoveryDocuments {
        let body = |v: Option<Value>| v.map(|v| v.to_string().into_bytes()).ok_or_else(|| "404".to_owned());
        DiscoveryDocuments {
            service_provider_config: body(spc),
            resource_types: body(types),
            schemas: body(schemas),
        }
    }

    fn user_schema(attributes: Value) -> Value {
        json!({"Resources": [{"id": USER_SCHEMA, "attributes": attributes}]})
    }

    #[test]
    fn nothing_declared_means_the_provider_defaults() {
        let (caps, notes) = capabilities_from_discovery(Provider::Productboard, &docs(None, None, None));
        assert_eq!(caps.user_attributes, Default::default());
        assert!(caps.patch && caps.filter && !caps.sort);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert_eq!(caps.schemas_source, CapabilitySource::Defaults("404".into()));
    }

    #[test]
    fn malformed_documents_fall_back_with_a_note() {
        let documents = DiscoveryDocuments {
            service_provider_config: Ok(b"<html>".to_vec()),
            resource_types: Ok(b"{\"x\": 1}".to_vec()),
            schemas: Ok(b"[1, 2]".to_vec()),
        };
        let (caps, notes) = capabilities_from_discovery(Provider::Generic, &documents);
        assert!(caps.patch);
        assert!(notes[0].starts_with("/ServiceProviderConfig: not a ServiceProviderConfig"), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("no Resources")), "{notes:?}");
        assert_eq!(caps.user_attributes, Default::default());
    }

    #[test]
    fn the_service_provider_config_says_what_works() {
        let spc = json!({"patch": {"supported": false}, "filter": {"supported": false, "maxResults": 50},
                         "sort": {"supported": true}, "etag": {"supported": true}});
        let (caps, _) = capabilities_from_discovery(Provider::Generic, &docs(Some(spc), None, None));
        assert!(!caps.patch && !caps.filter && caps.sort && caps.etag);
        assert_eq!(caps.filter_max_results, Some(50));
    }

    #[test]
    fn a_schema_without_an_attribute_does_not_keep_it() {
        let schema = user_schema(json!([
            {"name": "userName", "mutability": "immutable", "required": true},
            {"name": "name", "type": "complex", "subAttributes": [
                {"name": "givenName"}, {"name": "formatted", "required": true}]},
            {"name": "displayName", "mutability": "readOnly"},
            {"name": "roles", "type": "complex"}
        ]));
        let (caps, _) = capabilities_from_discovery(Provider::Generic, &docs(None, None, Some(schema)));
        assert_eq!(caps.user_attribute(UserAttribute::UserName), AttributeSupport::Immutable);
        assert_eq!(caps.user_attribute(UserAttribute::ExternalId), AttributeSupport::ReadWrite);
        assert_eq!(caps.user_attribute(UserAttribute::GivenName), AttributeSupport::ReadWrite);
        assert_eq!(caps.user_attribute(UserAttribute::FamilyName), AttributeSupport::NotKept);
        assert_eq!(caps.user_attribute(UserAttribute::DisplayName), AttributeSupport::ReadOnly);
        assert_eq!(caps.user_attribute(UserAttribute::Title), AttributeSupport::NotKept);
        assert_eq!(caps.user_attribute(UserAttribute::Role), AttributeSupport::ReadWrite);
        assert!(caps.name_formatted_required);
        assert!(!caps.member_ref_required);
    }

    #[test]
    fn a_schema_with_its_own_id_is_found_by_name() {
        let schemas = json!([{"id": "custom:user", "name": "User", "attributes": [{"name": "userName"}]}]);
        let (caps, notes) = capabilities_from_discovery(Provider::Generic, &docs(None, None, Some(schemas)));
        assert_eq!(caps.user_attribute(UserAttribute::Title), AttributeSupport::NotKept, "{notes:?}");
    }

    #[test]
    fn resource_types_name_the_schemas_and_group_refs_can_be_required() {
        let types = json!([
            {"name": "User", "schema": "urn:example:User", "schemaExtensions": [
                {"schema": crate::wire::ENTERPRISE_USER_SCHEMA, "required": false}]},
            {"name": "Group", "schema": GROUP_SCHEMA}
        ]);
        let schemas = json!({"Resources": [
            {"id": "urn:example:User", "attributes": [{"name": "userName"}, {"name": "title"}]},
            {"id": USER_SCHEMA, "attributes": []},
            {"id": GROUP_SCHEMA, "attributes": [{"name": "members", "subAttributes": [
                {"name": "value"}, {"name": "$ref", "required": "true"}]}]}
        ]});
        let (caps, notes) =
            capabilities_from_discovery(Provider::Generic, &docs(None, Some(types), Some(schemas)));
        assert_eq!(caps.user_attribute(UserAttribute::Title), AttributeSupport::ReadWrite, "{notes:?}");
        assert_eq!(caps.user_attribute(UserAttribute::Role), AttributeSupport::NotKept);
        assert_eq!(caps.enterprise_extension, Some(true));
        assert_eq!(caps.groups, Some(true));
        assert!(caps.member_ref_required);
    }
}
