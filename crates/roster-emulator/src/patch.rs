//! PATCH operations (RFC 7644 section 3.5.2) applied to a resource held as JSON.
//!
//! Besides the standard forms, the forms that Okta and Microsoft Entra ID send are
//! accepted: operation names in any case (`"Add"`), a `replace` without a path whose
//! value object carries the resource's `id`, dotted keys in a path-less value
//! (`{"name.givenName": "Ada"}`), and `remove` of `members` with a value array naming the
//! members to remove.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::{AttrPath, PatchPath, get_ci, key_ci};

/// A PATCH operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One parsed operation.
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    kind: OpKind,
    path: Option<PatchPath>,
    value: Option<Value>,
}

/// Parses a PatchOp request body into its operations.
pub(crate) fn parse_patch(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax("a PATCH body must be a JSON object"));
    };
    let Some(Value::Array(ops)) = get_ci(map, "Operations") else {
        return Err(ScimError::invalid_syntax("a PATCH body needs an \"Operations\" array"));
    };
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let Value::Object(op) = op else {
                return Err(ScimError::invalid_syntax(format!("operation {i} is not an object")));
            };
            let kind = match get_ci(op, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref()
            {
                Some("add") => OpKind::Add,
                Some("replace") => OpKind::Replace,
                Some("remove") => OpKind::Remove,
                other => {
                    return Err(ScimError::invalid_syntax(format!(
                        "operation {i} has op {:?}; expected add, replace or remove",
                        other.unwrap_or("")
                    )));
                }
            };
            let path = match get_ci(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(PatchPath::parse(s)?),
                Some(_) => {
                    return Err(ScimError::bad_request(
                        "invalidPath",
                        format!("operation {i} has a path that is not a string"),
                    ));
                }
            };
            let value = get_ci(op, "value").cloned();
            if kind != OpKind::Remove && value.is_none() {
                return Err(ScimError::invalid_syntax(format!("operation {i} ({kind:?}) has no value")));
            }
            if kind == OpKind::Remove && path.is_none() {
                return Err(ScimError::bad_request(
                    "noTarget",
                    format!("operation {i} (remove) has no path"),
                ));
            }
            Ok(Operation { kind, path, value })
        })
        .collect()
}

/// The misbehaviour of strict servers that read `{"op":"remove","path":"members",
/// "value":[...]}` as "remove every member": the value list is dropped, so the remove
/// empties the group.
pub(crate) fn wipe_on_remove_by_value(ops: &mut [Operation]) {
    for op in ops {
        let bare_members = op.path.as_ref().is_some_and(|p| {
            p.filter.is_none()
                && p.attr.segments.len() == 1
                && p.attr.segments[0].eq_ignore_ascii_case("members")
        });
        if op.kind == OpKind::Remove && bare_members && op.value.is_some() {
            op.value = None;
        }
    }
}

/// Rules that differ per resource type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PatchRules {
    /// Multi-valued attributes that hold a single value on this service (Productboard:
    /// a member's `roles`), so that adding a value replaces the one there.
    pub(crate) single_valued_multi: &'static [&'static str],
}

/// Applies the operations in order to `resource`; on error the caller discards the copy.
pub(crate) fn apply_patch(
    resource: &mut Value,
    ops: &[Operation],
    rules: PatchRules,
) -> Result<(), ScimError> {
    let Value::Object(root) = resource else {
        return Err(ScimError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "stored resource is not an object",
        ));
    };
    for op in ops {
        match &op.path {
            Some(path) => apply_one(root, op.kind, path, op.value.clone(), rules)?,
            None => {
                // Path-less add/replace: every key of the value object is a path of its own.
                let Some(Value::Object(values)) = &op.value else {
                    return Err(ScimError::invalid_value(
                        "an add or replace without a path needs an object value".to_owned(),
                    ));
                };
                for (key, value) in values {
                    if is_read_only_key(key) {
                        // Okta repeats the id (and sometimes schemas) in a path-less replace.
                        continue;
                    }
                    if key.starts_with("urn:")
                        && let Value::Object(ext) = value
                        && AttrPath::parse(key).is_ok_and(|p| p.segments.len() == 1)
                    {
                        for (sub_key, sub_value) in ext {
                            let path = PatchPath::parse(&format!("{key}:{sub_key}"))?;
                            apply_one(root, op.kind, &path, Some(sub_value.clone()), rules)?;
                        }
                        continue;
                    }
                    let path = PatchPath::parse(key)?;
                    apply_one(root, op.kind, &path, Some(value.clone()), rules)?;
                }
            }
        }
    }
    Ok(())
}

fn is_read_only_key(key: &str) -> bool {
    ["id", "meta", "schemas"].iter().any(|k| key.eq_ignore_ascii_case(k))
}

fn apply_one(
    root: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<Value>,
    rules: PatchRules,
) -> Result<(), ScimError> {
    let segments = &path.attr.segments;
    if is_read_only_key(&segments[0]) {
        return Err(ScimError::bad_request(
            "mutability",
            format!("attribute {} is read-only", path.attr.display()),
        ));
    }
    // An explicit null (or an empty array) given to add/replace unassigns the attribute.
    let value = match value {
        Some(Value::Null) if kind != OpKind::Remove => {
            return apply_one(root, OpKind::Remove, path, None, rules);
        }
        Some(Value::Array(items)) if items.is_empty() && kind == OpKind::Replace && path.filter.is_none() => {
            return apply_one(root, OpKind::Remove, path, None, rules);
        }
        other => other,
    };
    let (last, parents) = segments.split_last().expect("attribute paths are never empty");
    let create = kind != OpKind::Remove;
    let mut containers = vec![root];
    for segment in parents {
        containers = descend(containers, segment, create);
    }
    for container in containers {
        match &path.filter {
            None => apply_plain(container, kind, last, value.clone(), rules)?,
            Some(_) => apply_filtered(container, kind, last, path, value.clone(), rules)?,
        }
    }
    Ok(())
}

/// The objects at `segment` under each container, created when asked and absent;
/// a multi-valued attribute gives each of its elements.
fn descend<'a>(
    containers: Vec<&'a mut Map<String, Value>>,
    segment: &str,
    create: bool,
) -> Vec<&'a mut Map<String, Value>> {
    let mut next = Vec::new();
    for container in containers {
        let key = match key_ci(container, segment) {
            Some(key) => key,
            None if create => {
                container.insert(segment.to_owned(), Value::Object(Map::new()));
                segment.to_owned()
            }
            None => continue,
        };
        match container.get_mut(&key) {
            Some(Value::Object(map)) => next.push(map),
            Some(Value::Array(items)) => {
                next.extend(items.iter_mut().filter_map(|item| item.as_object_mut()));
            }
            Some(slot) if create => {
                *slot = Value::Object(Map::new());
                if let Value::Object(map) = slot {
                    next.push(map);
                }
            }
            _ => {}
        }
    }
    next
}

/// Add, replace or remove `key` in `container`, without a value filter.
fn apply_plain(
    container: &mut Map<String, Value>,
    kind: OpKind,
    key: &str,
    value: Option<Value>,
    rules: PatchRules,
) -> Result<(), ScimError> {
    let existing_key = key_ci(container, key);
    let single = rules.single_valued_multi.iter().any(|k| k.eq_ignore_ascii_case(key));
    match kind {
        OpKind::Remove => {
            let Some(existing_key) = existing_key else { return Ok(()) };
            match (container.get_mut(&existing_key), value) {
                // Entra ID: remove path "members" with the members to remove as the value.
                (Some(Value::Array(items)), Some(Value::Array(remove))) => {
                    items.retain(|item| !remove.iter().any(|r| same_element(item, r)));
                    if items.is_empty() {
                        container.remove(&existing_key);
                    }
                }
                (Some(Value::Array(items)), Some(remove @ Value::Object(_))) => {
                    items.retain(|item| !same_element(item, &remove));
                    if items.is_empty() {
                        container.remove(&existing_key);
                    }
                }
                _ => {
                    container.remove(&existing_key);
                }
            }
        }
        OpKind::Add | OpKind::Replace => {
            let value = value.expect("add and replace carry a value");
            let key = existing_key.unwrap_or_else(|| key.to_owned());
            match (container.get_mut(&key), value) {
                (Some(Value::Array(items)), Value::Array(new)) if kind == OpKind::Add && !single => {
                    for element in new {
                        add_element(items, element);
                    }
                }
                (Some(Value::Array(items)), element @ Value::Object(_)) if kind == OpKind::Add && !single => {
                    add_element(items, element);
                }
                (Some(Value::Object(existing)), Value::Object(new)) => {
                    // A complex attribute: the given sub-attributes replace or join the
                    // existing ones; the others stay (RFC 7644 section 3.5.2.3).
                    for (sub_key, sub_value) in new {
                        let sub_key = key_ci(existing, &sub_key).unwrap_or(sub_key);
                        if sub_value.is_null() {
                            existing.remove(&sub_key);
                        } else {
                            existing.insert(sub_key, sub_value);
                        }
                    }
                }
                (_, value) => {
                    container.insert(key, value);
                }
            }
        }
    }
    Ok(())
}

/// Adds an element to a multi-valued attribute unless an equal one is there; a new
/// primary element takes the primary flag from the others.
fn add_element(items: &mut Vec<Value>, element: Value) {
    if items.iter().any(|item| same_element(item, &element)) {
        return;
    }
    if is_primary(&element) {
        clear_primary(items);
    }
    items.push(element);
}

/// Two elements of a multi-valued attribute are the same when their `value`s are equal
/// (member ids, role names), or when they are equal as a whole.
fn same_element(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => match (get_ci(a, "value"), get_ci(b, "value")) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => a == b,
    }
}

fn is_primary(element: &Value) -> bool {
    element.as_object().and_then(|m| get_ci(m, "primary")).is_some_and(|p| p == &Value::Bool(true))
}

fn clear_primary(items: &mut [Value]) {
    for item in items {
        if let Value::Object(map) = item
            && let Some(key) = key_ci(map, "primary")
            && map[&key] == Value::Bool(true)
        {
            map.insert(key, Value::Bool(false));
        }
    }
}

/// Add, replace or remove with a value filter: `emails[type eq "work"].value`.
fn apply_filtered(
    container: &mut Map<String, Value>,
    kind: OpKind,
    key: &str,
    path: &PatchPath,
    value: Option<Value>,
    rules: PatchRules,
) -> Result<(), ScimError> {
    let filter = path.filter.as_ref().expect("called with a filter");
    let single = rules.single_valued_multi.iter().any(|k| k.eq_ignore_ascii_case(key));
    let existing_key = key_ci(container, key);
    let key = existing_key.clone().unwrap_or_else(|| key.to_owned());
    if kind == OpKind::Remove && existing_key.is_none() {
        return Ok(());
    }
    let items = match container.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(items) => items,
        _ => {
            return Err(ScimError::bad_request(
                "invalidPath",
                format!("a value filter needs a multi-valued attribute, and {key} is not one"),
            ));
        }
    };
    let matching: Vec<usize> = (0..items.len()).filter(|&i| filter.matches(&items[i])).collect();
    match kind {
        OpKind::Remove => {
            match &path.sub {
                None => {
                    let mut index = 0;
                    items.retain(|_| {
                        let keep = !matching.contains(&index);
                        index += 1;
                        keep
                    });
                }
                Some(sub) => {
                    for &i in &matching {
                        if let Value::Object(map) = &mut items[i]
                            && let Some(sub_key) = key_ci(map, sub)
                        {
                            map.remove(&sub_key);
                        }
                    }
                }
            }
            if items.is_empty() {
                container.remove(&key);
            }
        }
        OpKind::Add | OpKind::Replace => {
            let value = value.expect("add and replace carry a value");
            if matching.is_empty() {
                // Nothing matches: create the element the filter describes, as identity
                // providers expect for `emails[type eq "work"].value` or
                // `roles[primary eq true].value`.
                let Some(mut element) = filter.equality_template() else {
                    return Err(ScimError::bad_request(
                        "noTarget",
                        format!("no value of {key} matches the filter of {}", path.attr.display()),
                    ));
                };
                match (&path.sub, value) {
                    (Some(sub), value) => {
                        element.insert(sub.clone(), value);
                    }
                    (None, Value::Object(fields)) => element.extend(fields),
                    (None, _) => {
                        return Err(ScimError::invalid_value(format!(
                            "the value for a filtered path of {key} must be an object"
                        )));
                    }
                }
                let element = Value::Object(element);
                if single {
                    // Productboard members hold one role: writing a new one replaces it.
                    items.clear();
                } else if is_primary(&element) {
                    clear_primary(items);
                }
                items.push(element);
            } else {
                for &i in &matching {
                    let Value::Object(map) = &mut items[i] else { continue };
                    match (&path.sub, &value) {
                        (Some(sub), value) => {
                            let sub_key = key_ci(map, sub).unwrap_or_else(|| sub.clone());
                            map.insert(sub_key, value.clone());
                        }
                        (None, Value::Object(fields)) => {
                            for (field, field_value) in fields {
                                let field = key_ci(map, field).unwrap_or_else(|| field.clone());
                                map.insert(field, field_value.clone());
                            }
                        }
                        (None, _) => {
                            return Err(ScimError::invalid_value(format!(
                                "the value for a filtered path of {key} must be an object"
                            )));
                        }
                    }
                }
                let newly_primary = matching.iter().copied().find(|&i| is_primary(&items[i]));
                if let Some(keep) = newly_primary {
                    for (i, item) in items.iter_mut().enumerate() {
                        if i != keep {
                            clear_primary(std::slice::from_mut(item));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    const RULES: PatchRules = PatchRules { single_valued_multi: &["roles"] };

    fn patch(mut resource: Value, ops: Value) -> Result<Value, ScimError> {
        let ops = parse_patch(&json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }))?;
        apply_patch(&mut resource, &ops, RULES)?;
        Ok(resource)
    }

    #[test]
    fn replace_sub_attribute_and_value_paths() {
        let user = json!({"userName": "a", "roles": [{"value": "contributor", "primary": true}],
                          "emails": [{"type": "work", "value": "old@x"}]});
        let out = patch(
            user,
            json!([
                {"op": "replace", "path": "name.givenName", "value": "Ada"},
                {"op": "replace", "path": "roles[primary eq true].value", "value": "maker"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x"},
            ]),
        )
        .unwrap();
        assert_eq!(out["name"], json!({"givenName": "Ada"}));
        assert_eq!(out["roles"], json!([{"value": "maker", "primary": true}]));
        assert_eq!(out["emails"], json!([{"type": "work", "value": "new@x"}]));
    }

    #[test]
    fn value_path_without_a_match_creates_the_element() {
        let out = patch(
            json!({"userName": "a"}),
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x"}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"type": "work", "value": "w@x"}]));
        let out = patch(
            json!({"userName": "a", "roles": [{"value": "viewer"}]}),
            json!([{"op": "replace", "path": "roles[primary eq true].value", "value": "admin"}]),
        )
        .unwrap();
        assert_eq!(out["roles"], json!([{"primary": true, "value": "admin"}]), "one role replaces the other");
    }

    #[test]
    fn pathless_forms_of_okta_and_entra() {
        let group = json!({"id": "g1", "displayName": "Old"});
        let out =
            patch(group, json!([{"op": "replace", "value": {"id": "g1", "displayName": "New"}}])).unwrap();
        assert_eq!(out["displayName"], "New");
        let user = json!({"userName": "a", "active": true, "name": {"familyName": "L"}});
        let out =
            patch(user, json!([{"op": "Replace", "value": {"active": false, "name.givenName": "Ada"}}]))
                .unwrap();
        assert_eq!(out["active"], false);
        assert_eq!(out["name"], json!({"familyName": "L", "givenName": "Ada"}));
    }

    #[test]
    fn members_add_and_remove_in_every_form() {
        let group = json!({"displayName": "G", "members": [{"value": "u1"}]});
        let out = patch(
            group,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}, {"value": "u3"}]},
                {"op": "remove", "path": "members[value eq \"u1\"]"},
                {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
            ]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u2"}]));
        let out =
            patch(out, json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}])).unwrap();
        assert_eq!(out["members"], json!([{"value": "u9"}]));
        let out = patch(out, json!([{"op": "remove", "path": "members"}])).unwrap();
        assert!(out.get("members").is_none());
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let err = patch(json!({}), json!([{"op": "move", "path": "x", "value": 1}])).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
        let err = patch(json!({}), json!([{"op": "remove"}])).unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
        let err =
            patch(json!({"id": "1"}), json!([{"op": "replace", "path": "id", "value": "2"}])).unwrap_err();
        assert_eq!(err.scim_type, Some("mutability"));
        let err = patch(
            json!({"emails": [{"type": "home"}]}),
            json!([{"op": "replace", "path": "emails[type ne \"home\"].value", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
    }

    #[test]
    fn extension_attributes_by_urn() {
        let urn = crate::filter::ENTERPRISE_USER_SCHEMA;
        let out = patch(
            json!({"userName": "a"}),
            json!([{"op": "add", "value": {urn: {"employeeNumber": "7"}}}, {"op": "add", "path": format!("{urn}:department"), "value": "R&D"}]),
        )
        .unwrap();
        assert_eq!(out[urn], json!({"employeeNumber": "7", "department": "R&D"}));
    }
}
