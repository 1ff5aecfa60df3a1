//! `attributes` and `excludedAttributes` (RFC 7644 section 3.4.2.5): which attributes of
//! a resource an answer carries.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::{AttrPath, get_ci, key_ci};

/// Attributes returned whatever the request asks (`returned: always`).
const ALWAYS: [&str; 2] = ["schemas", "id"];

/// A parsed `attributes` / `excludedAttributes` pair.
#[derive(Clone, Debug, Default)]
pub(crate) struct Projection {
    include: Option<Vec<AttrPath>>,
    exclude: Vec<AttrPath>,
}

impl Projection {
    /// Parses the comma-separated lists; both may be absent.
    pub(crate) fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let parse_list = |text: &str| -> Result<Vec<AttrPath>, ScimError> {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(AttrPath::parse).collect()
        };
        let include = attributes.map(parse_list).transpose()?.filter(|list| !list.is_empty());
        let exclude = excluded.map(parse_list).transpose()?.unwrap_or_default();
        Ok(Self { include, exclude })
    }

    /// Parses the lists as a `.search` body gives them (JSON arrays of strings).
    pub(crate) fn from_lists(attributes: &[String], excluded: &[String]) -> Result<Self, ScimError> {
        Self::parse(
            (!attributes.is_empty()).then(|| attributes.join(",")).as_deref(),
            (!excluded.is_empty()).then(|| excluded.join(",")).as_deref(),
        )
    }

    /// The resource as the request asked to see it.
    pub(crate) fn apply(&self, resource: Value) -> Value {
        let Value::Object(source) = resource else { return resource };
        let mut out = match &self.include {
            None => source,
            Some(include) => {
                let mut out = Map::new();
                for key in ALWAYS {
                    if let Some(value) = source.get(key) {
                        out.insert(key.to_owned(), value.clone());
                    }
                }
                for path in include {
                    copy_path(&source, &mut out, &path.segments);
                }
                out
            }
        };
        for path in &self.exclude {
            if path.segments.len() == 1 && ALWAYS.iter().any(|k| k.eq_ignore_ascii_case(&path.segments[0])) {
                continue;
            }
            remove_path(&mut out, &path.segments);
        }
        Value::Object(out)
    }
}

fn copy_path(source: &Map<String, Value>, out: &mut Map<String, Value>, segments: &[String]) {
    let Some(key) = key_ci(source, &segments[0]) else { return };
    let value = &source[&key];
    if segments.len() == 1 {
        out.insert(key, value.clone());
        return;
    }
    match value {
        Value::Object(inner) => {
            let slot = out.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(slot) = slot {
                copy_path(inner, slot, &segments[1..]);
            }
        }
        Value::Array(items) => {
            // A sub-attribute of a multi-valued attribute: keep it in every element.
            let projected: Vec<Value> = items
                .iter()
                .filter_map(|item| {
                    let Value::Object(item) = item else { return None };
                    let mut element = Map::new();
                    copy_path(item, &mut element, &segments[1..]);
                    (!element.is_empty()).then_some(Value::Object(element))
                })
                .collect();
            if !projected.is_empty() {
                out.insert(key, Value::Array(projected));
            }
        }
        _ => {}
    }
}

fn remove_path(map: &mut Map<String, Value>, segments: &[String]) {
    let Some(key) = key_ci(map, &segments[0]) else { return };
    if segments.len() == 1 {
        map.remove(&key);
        return;
    }
    match map.get_mut(&key) {
        Some(Value::Object(inner)) => remove_path(inner, &segments[1..]),
        Some(Value::Array(items)) => {
            for item in items {
                if let Value::Object(inner) = item {
                    remove_path(inner, &segments[1..]);
                }
            }
        }
        _ => {}
    }
}

/// Finds a query parameter by name, case-insensitively.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A key of a JSON object, case-insensitively.
pub(crate) fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    get_ci(map, name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "L"},
               "emails": [{"value": "a@x", "type": "work"}], "meta": {"version": "W/\"1\""}})
    }

    #[test]
    fn attributes_keep_only_what_is_asked_and_the_id() {
        let p = Projection::parse(Some("userName,name.givenName,emails.value"), None).unwrap();
        assert_eq!(
            p.apply(user()),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"}, "emails": [{"value": "a@x"}]})
        );
    }

    #[test]
    fn excluded_attributes_drop_what_is_named_but_never_the_id() {
        let p = Projection::parse(None, Some("name.familyName, emails ,id,META")).unwrap();
        assert_eq!(
            p.apply(user()),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"}})
        );
    }
}
