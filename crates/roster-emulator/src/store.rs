//! The emulator's data: users and groups as SCIM JSON, with Productboard's rules.
//!
//! Resources are kept as `serde_json::Value` so that attributes the emulator does not
//! know round-trip untouched. `meta.location` is not stored: it depends on the address
//! the server listens on and is added when a resource is served.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use roster_model::UserKey;
use serde_json::{Map, Value, json};

use crate::config::Misbehaviour;
use crate::error::ScimError;
use crate::filter::{AttrPath, Filter, GROUP_SCHEMA, USER_SCHEMA, get_ci, key_ci, parse_bool};
use crate::patch::{Operation, PatchRules, apply_patch};

/// The role Productboard gives a member created without one.
pub const DEFAULT_ROLE: &str = "contributor";

/// The `format` tag of a state file.
pub(crate) const STATE_FORMAT: &str = "roster-emulator-state/1";

/// The two resource types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    fn rules(self) -> PatchRules {
        match self {
            Kind::User => PatchRules { single_valued_multi: &["roles"] },
            Kind::Group => PatchRules { single_valued_multi: &[] },
        }
    }
}

/// A list request, parsed.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListQuery {
    pub(crate) filter: Option<Filter>,
    /// One-based.
    pub(crate) start_index: usize,
    pub(crate) count: Option<usize>,
    pub(crate) sort_by: Option<AttrPath>,
    pub(crate) descending: bool,
}

/// How pages are cut, including the misbehaviour that bends paging.
pub(crate) struct PagePolicy<'a> {
    pub(crate) max_page_size: usize,
    pub(crate) misbehaviour: &'a Misbehaviour,
    /// How many list requests came before this one (for a drifting total).
    pub(crate) list_number: u64,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub(crate) struct ListPage {
    pub(crate) total_results: usize,
    pub(crate) start_index: usize,
    pub(crate) resources: Vec<Value>,
}

/// Users and groups, with the indexes that keep lookups fast at 20,000 users.
#[derive(Clone)]
pub(crate) struct Store {
    users: Vec<Value>,
    user_pos: HashMap<String, usize>,
    user_names: HashMap<UserKey, String>,
    groups: Vec<Value>,
    /// What only the REST member list shows (see `crate::members`): members invited by
    /// hand, and a SCIM user's role or status as changed in the UI.
    members: Vec<Value>,
    id_rng: Xoshiro256PlusPlus,
    /// Grows with every change; the writer compares it with what it saved last.
    pub(crate) generation: u64,
    /// When set, the only user attributes kept (matched ignoring case); the rest of a
    /// write is dropped without an error, as some services do.
    pub(crate) kept_user_attributes: Option<Vec<String>>,
    /// The last sorted order served, reused while nothing changes: a client paging
    /// through 20,000 users with `sortBy` would otherwise have every page sort them all
    /// again while the store is locked.
    order_cache: OrderCache,
}

/// A sorted order of one resource type, valid for one generation of the store.
struct CachedOrder {
    kind: Kind,
    generation: u64,
    sort_by: AttrPath,
    descending: bool,
    positions: Vec<usize>,
}

/// Interior mutability for [`Store::list`], which only reads. The store lives behind a
/// mutex, so a `RefCell` is enough; a copy of the store starts with an empty cache.
#[derive(Default)]
struct OrderCache(RefCell<Option<CachedOrder>>);

impl Clone for OrderCache {
    fn clone(&self) -> Self {
        OrderCache::default()
    }
}

impl Store {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            users: Vec::new(),
            user_pos: HashMap::new(),
            user_names: HashMap::new(),
            groups: Vec::new(),
            members: Vec::new(),
            // Ids use their own stream, so that faults drawn elsewhere do not shift them.
            id_rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x05ee_d1d5),
            generation: 0,
            kept_user_attributes: None,
            order_cache: OrderCache::default(),
        }
    }

    /// The whole state, as written to the state file.
    pub(crate) fn snapshot(&self) -> Value {
        let mut snapshot = json!({ "format": STATE_FORMAT, "users": self.users, "groups": self.groups });
        if !self.members.is_empty() {
            snapshot["members"] = json!(self.members);
        }
        snapshot
    }

    /// Replaces the state with a snapshot; the error says what is wrong with it.
    pub(crate) fn restore(&mut self, snapshot: &Value) -> Result<(), String> {
        let Value::Object(map) = snapshot else { return Err("expected a JSON object".to_owned()) };
        match map.get("format") {
            Some(Value::String(format)) if format == STATE_FORMAT => {}
            Some(other) => return Err(format!("unknown format {other}; expected {STATE_FORMAT:?}")),
            None => return Err(format!("no \"format\"; expected {STATE_FORMAT:?}")),
        }
        let list = |key: &str| match map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(format!("\"{key}\" is not an array")),
        };
        let (users, groups, members) = (list("users")?, list("groups")?, list("members")?);
        self.members.clear();
        self.users.clear();
        self.user_pos.clear();
        self.user_names.clear();
        self.groups.clear();
        for (i, user) in users.into_iter().enumerate() {
            self.insert_loaded(Kind::User, user).map_err(|e| format!("users[{i}]: {e}"))?;
        }
        for (i, group) in groups.into_iter().enumerate() {
            self.insert_loaded(Kind::Group, group).map_err(|e| format!("groups[{i}]: {e}"))?;
        }
        for (i, member) in members.into_iter().enumerate() {
            let mut checked =
                crate::members::check_record(self, member).map_err(|e| format!("members[{i}]: {e}"))?;
            if checked.get("userId").is_none() && checked.get("id").is_none() {
                // Drawn from the seed: the same file and seed give the same ids.
                checked["id"] = json!(self.new_id());
            }
            self.members.push(checked);
        }
        Ok(())
    }

    /// The REST-only member records.
    pub(crate) fn member_records(&self) -> &[Value] {
        &self.members
    }

    /// Adds a REST-only member record, checked; a record without id gets one.
    pub(crate) fn add_member_record(&mut self, record: Value) -> Result<Value, String> {
        let mut record = crate::members::check_record(self, record)?;
        if record.get("userId").is_none() && record.get("id").is_none() {
            record["id"] = json!(self.new_id());
        }
        self.members.push(record.clone());
        self.generation += 1;
        Ok(record)
    }

    /// Inserts a resource that already has its id, checking it as a write would.
    pub(crate) fn insert_loaded(&mut self, kind: Kind, resource: Value) -> Result<String, String> {
        let Some(id) = resource.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return Err("no string \"id\"".to_owned());
        };
        if id.is_empty() || self.exists(kind, &id) {
            return Err(format!("id {id:?} is empty or used twice"));
        }
        let meta = match resource.get("meta") {
            Some(meta @ Value::Object(_)) => meta.clone(),
            _ => next_meta(kind, None),
        };
        let mut body = resource;
        let normalized = self.normalize(kind, &mut body, Some(&id), false).map_err(|e| e.detail)?;
        let stored = with_identity(kind, &id, normalized, meta);
        self.insert(kind, stored);
        Ok(id)
    }

    pub(crate) fn exists(&self, kind: Kind, id: &str) -> bool {
        match kind {
            Kind::User => self.user_pos.contains_key(id),
            Kind::Group => self.groups.iter().any(|g| g["id"] == id),
        }
    }

    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<&Value> {
        match kind {
            Kind::User => self.user_pos.get(id).map(|&i| &self.users[i]),
            Kind::Group => self.groups.iter().find(|g| g["id"] == id),
        }
    }

    pub(crate) fn users(&self) -> &[Value] {
        &self.users
    }

    pub(crate) fn groups(&self) -> &[Value] {
        &self.groups
    }

    /// Creates a resource from a POST body.
    pub(crate) fn create(&mut self, kind: Kind, body: Value) -> Result<Value, ScimError> {
        let mut body = body;
        let normalized = self.normalize(kind, &mut body, None, true)?;
        let id = self.new_id();
        let stored = with_identity(kind, &id, normalized, next_meta(kind, None));
        self.insert(kind, stored.clone());
        Ok(stored)
    }

    /// Replaces a resource from a PUT body: what the body leaves out is cleared.
    pub(crate) fn replace(
        &mut self,
        kind: Kind,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<Value, ScimError> {
        let current = self.current(kind, id, if_match)?;
        let mut body = body;
        let normalized = self.normalize(kind, &mut body, Some(id), false)?;
        let stored = with_identity(kind, id, normalized, next_meta(kind, current.get("meta")));
        self.update(kind, id, stored.clone());
        Ok(stored)
    }

    /// Applies PATCH operations, all or nothing.
    pub(crate) fn patch(
        &mut self,
        kind: Kind,
        id: &str,
        ops: &[Operation],
        if_match: Option<&str>,
    ) -> Result<Value, ScimError> {
        let mut patched = self.current(kind, id, if_match)?;
        let meta = next_meta(kind, patched.get("meta"));
        apply_patch(&mut patched, ops, kind.rules())?;
        let normalized = self.normalize(kind, &mut patched, Some(id), false)?;
        let stored = with_identity(kind, id, normalized, meta);
        self.update(kind, id, stored.clone());
        Ok(stored)
    }

    /// Deletes a group. Users are never deleted; the HTTP layer refuses before this.
    pub(crate) fn delete_group(&mut self, id: &str, if_match: Option<&str>) -> Result<(), ScimError> {
        self.current(Kind::Group, id, if_match)?;
        self.groups.retain(|g| g["id"] != id);
        self.generation += 1;
        Ok(())
    }

    /// Filters, orders and cuts one page.
    pub(crate) fn list(
        &self,
        kind: Kind,
        query: &ListQuery,
        policy: &PagePolicy<'_>,
        shuffle: Option<&mut Xoshiro256PlusPlus>,
    ) -> ListPage {
        let all = match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        };
        let matched: Vec<&Value> = match (&query.filter, &query.sort_by, shuffle) {
            // The common case of a client paging through everything: sorted once per change.
            (None, Some(sort_by), None) => {
                self.sorted_positions(kind, all, sort_by, query.descending).iter().map(|&i| &all[i]).collect()
            }
            (filter, sort_by, shuffle) => {
                let mut matched: Vec<&Value> =
                    all.iter().filter(|r| filter.as_ref().is_none_or(|f| f.matches(r))).collect();
                if let Some(rng) = shuffle {
                    matched.shuffle(rng);
                }
                if let Some(sort_by) = sort_by {
                    let case_exact = sort_by.case_exact();
                    let mut keyed: Vec<(Option<SortKey>, &Value)> =
                        matched.into_iter().map(|r| (sort_key(r, sort_by, case_exact), r)).collect();
                    keyed.sort_by(|(a, _), (b, _)| compare_keys(a.as_ref(), b.as_ref(), query.descending));
                    matched = keyed.into_iter().map(|(_, r)| r).collect();
                }
                matched
            }
        };
        let total = matched.len();
        let mut size = query.count.unwrap_or(policy.max_page_size).min(policy.max_page_size);
        let misbehaviour = policy.misbehaviour;
        if let Some(fixed) = misbehaviour.fixed_page_size {
            size = fixed;
        }
        if let Some(cap) = misbehaviour.page_size_cap {
            size = size.min(cap);
        }
        let mut start_index = query.start_index.max(1);
        if misbehaviour.repeat_first_page_past_end && start_index > total && total > 0 {
            start_index = 1;
        }
        let from = (start_index - 1).min(total);
        let to = (from + size).min(total);
        let resources: Vec<Value> = matched[from..to].iter().map(|r| (*r).clone()).collect();
        let total_results = if misbehaviour.total_results_is_page_size {
            resources.len()
        } else if misbehaviour.drifting_total_results {
            total + usize::try_from(policy.list_number).unwrap_or(usize::MAX - total)
        } else {
            total
        };
        ListPage { total_results, start_index, resources }
    }

    /// The positions of `all` in sorted order, from the cache while the store is unchanged.
    fn sorted_positions(
        &self,
        kind: Kind,
        all: &[Value],
        sort_by: &AttrPath,
        descending: bool,
    ) -> Vec<usize> {
        let mut cache = self.order_cache.0.borrow_mut();
        if let Some(cached) = cache.as_ref()
            && cached.kind == kind
            && cached.generation == self.generation
            && cached.sort_by == *sort_by
            && cached.descending == descending
        {
            return cached.positions.clone();
        }
        let case_exact = sort_by.case_exact();
        let mut keyed: Vec<(Option<SortKey>, usize)> =
            all.iter().enumerate().map(|(i, r)| (sort_key(r, sort_by, case_exact), i)).collect();
        keyed.sort_by(|(a, _), (b, _)| compare_keys(a.as_ref(), b.as_ref(), descending));
        let positions: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
        *cache = Some(CachedOrder {
            kind,
            generation: self.generation,
            sort_by: sort_by.clone(),
            descending,
            positions: positions.clone(),
        });
        positions
    }

    /// The stored resource, if it exists and `If-Match` allows the write.
    fn current(&self, kind: Kind, id: &str, if_match: Option<&str>) -> Result<Value, ScimError> {
        let current = self
            .get(kind, id)
            .ok_or_else(|| ScimError::not_found(format!("{} {id} not found", kind.name())))?;
        if let Some(if_match) = if_match {
            let version = current["meta"]["version"].as_str().unwrap_or("");
            let matches =
                if_match.split(',').map(str::trim).any(|tag| tag == "*" || weak(tag) == weak(version));
            if !matches {
                return Err(ScimError::new(
                    StatusCode::PRECONDITION_FAILED,
                    None,
                    format!("{} {id} is at version {version}, not {if_match}", kind.name()),
                ));
            }
        }
        Ok(current.clone())
    }

    fn insert(&mut self, kind: Kind, stored: Value) {
        let id = stored["id"].as_str().expect("stored resources have ids").to_owned();
        match kind {
            Kind::User => {
                let key = user_name_key(&stored);
                self.user_pos.insert(id.clone(), self.users.len());
                self.user_names.insert(key, id);
                self.users.push(stored);
            }
            Kind::Group => self.groups.push(stored),
        }
        self.generation += 1;
    }

    fn update(&mut self, kind: Kind, id: &str, stored: Value) {
        match kind {
            Kind::User => {
                let i = self.user_pos[id];
                let old_key = user_name_key(&self.users[i]);
                self.user_names.remove(&old_key);
                self.user_names.insert(user_name_key(&stored), id.to_owned());
                self.users[i] = stored;
            }
            Kind::Group => {
                if let Some(slot) = self.groups.iter_mut().find(|g| g["id"] == id) {
                    *slot = stored;
                }
            }
        }
        self.generation += 1;
    }

    /// A fresh id in the form of a random UUID, drawn from the seeded stream.
    fn new_id(&mut self) -> String {
        loop {
            let mut bytes: [u8; 16] = self.id_rng.random();
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let id =
                format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
            // A restart with the same seed draws the same ids again: skip the used ones.
            if !self.exists(Kind::User, &id)
                && !self.exists(Kind::Group, &id)
                && !self.members.iter().any(|m| m["id"] == id.as_str())
            {
                return id;
            }
        }
    }

    /// Checks a body against the resource type's rules and returns its attributes
    /// (without `id`, `meta` and `schemas`, which the store sets).
    fn normalize(
        &self,
        kind: Kind,
        body: &mut Value,
        id: Option<&str>,
        creating: bool,
    ) -> Result<Map<String, Value>, ScimError> {
        let Value::Object(map) = std::mem::take(body) else {
            return Err(ScimError::invalid_syntax(format!("a {} must be a JSON object", kind.name())));
        };
        let mut attrs = Map::new();
        for (key, value) in map {
            let lower = key.to_ascii_lowercase();
            if matches!(lower.as_str(), "id" | "meta" | "schemas") || value.is_null() {
                continue;
            }
            attrs.insert(key, value);
        }
        match kind {
            Kind::User => self.normalize_user(&mut attrs, id, creating)?,
            Kind::Group => self.normalize_group(&mut attrs, id)?,
        }
        Ok(attrs)
    }

    fn normalize_user(
        &self,
        attrs: &mut Map<String, Value>,
        id: Option<&str>,
        creating: bool,
    ) -> Result<(), ScimError> {
        if let Some(kept) = &self.kept_user_attributes {
            attrs.retain(|key, _| kept.iter().any(|k| k.eq_ignore_ascii_case(key)));
        }
        let user_name = match get_ci(attrs, "userName") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "userName must be a non-empty string, not {other}"
                )));
            }
            None => return Err(ScimError::invalid_value("userName is required")),
        };
        if let Some(owner) = self.user_names.get(&UserKey::new(&user_name))
            && Some(owner.as_str()) != id
        {
            return Err(ScimError::uniqueness(format!(
                "userName {user_name:?} is already taken by user {owner}"
            )));
        }
        if let Some(key) = key_ci(attrs, "active") {
            match &attrs[&key] {
                Value::Bool(_) => {}
                Value::String(s) if parse_bool(s).is_some() => {
                    let b = parse_bool(s).unwrap_or(true);
                    attrs.insert(key, Value::Bool(b));
                }
                other => {
                    return Err(ScimError::invalid_value(format!("active must be a boolean, not {other}")));
                }
            }
        } else if creating {
            attrs.insert("active".to_owned(), Value::Bool(true));
        }
        for multi in ["emails", "roles", "phoneNumbers"] {
            if let Some(key) = key_ci(attrs, multi)
                && let Some(Value::Array(items)) = attrs.get_mut(&key)
            {
                coerce_primary(items);
            }
        }
        match key_ci(attrs, "roles") {
            Some(key) => {
                let Value::Array(roles) = &attrs[&key] else {
                    return Err(ScimError::invalid_value("roles must be an array"));
                };
                for role in roles {
                    match role.as_object().and_then(|r| get_ci(r, "value")) {
                        Some(Value::String(s)) if !s.trim().is_empty() => {}
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "each role needs a non-empty string value, not {role}"
                            )));
                        }
                    }
                }
                if roles.len() > 1 {
                    return Err(ScimError::invalid_value(format!(
                        "a Productboard member has exactly one role; {} were given",
                        roles.len()
                    )));
                }
                if roles.is_empty() {
                    attrs.remove(&key);
                }
            }
            None if creating => {
                attrs.insert("roles".to_owned(), json!([{ "value": DEFAULT_ROLE, "primary": true }]));
            }
            None => {}
        }
        Ok(())
    }

    fn normalize_group(&self, attrs: &mut Map<String, Value>, id: Option<&str>) -> Result<(), ScimError> {
        let display_name = match get_ci(attrs, "displayName") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.to_lowercase(),
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "displayName must be a non-empty string, not {other}"
                )));
            }
            None => return Err(ScimError::invalid_value("displayName is required")),
        };
        // Team names are unique, case-insensitively: a retried POST meets 409 as for users.
        if let Some(owner) = self.groups.iter().find(|g| {
            g["id"].as_str() != id
                && g.as_object()
                    .and_then(|m| get_ci(m, "displayName"))
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
                    .as_deref()
                    == Some(display_name.as_str())
        }) {
            return Err(ScimError::uniqueness(format!(
                "displayName {:?} is already taken by group {}",
                get_ci(attrs, "displayName").and_then(Value::as_str).unwrap_or_default(),
                owner["id"].as_str().unwrap_or_default()
            )));
        }
        if let Some(key) = key_ci(attrs, "members") {
            let Value::Array(members) = &attrs[&key] else {
                return Err(ScimError::invalid_value("members must be an array"));
            };
            let mut seen = Vec::new();
            let mut kept = Vec::new();
            for member in members {
                let Some(Value::String(value)) = member.as_object().and_then(|m| get_ci(m, "value")) else {
                    return Err(ScimError::invalid_value(format!(
                        "each member needs a string value, not {member}"
                    )));
                };
                if !self.user_pos.contains_key(value) {
                    return Err(ScimError::invalid_value(format!(
                        "member {value:?} is not a user of this workspace"
                    )));
                }
                if !seen.contains(value) {
                    seen.push(value.clone());
                    kept.push(member.clone());
                }
            }
            if kept.is_empty() {
                attrs.remove(&key);
            } else {
                attrs.insert(key, Value::Array(kept));
            }
        }
        Ok(())
    }
}

/// The identity key of a stored user's userName: roster's one rule for who is who
/// (case, Unicode form and the domain's IDNA form aside), as Productboard compares them.
fn user_name_key(user: &Value) -> UserKey {
    UserKey::new(
        user.as_object().and_then(|m| get_ci(m, "userName")).and_then(Value::as_str).unwrap_or_default(),
    )
}

/// `"True"`/`"False"` strings in `primary`, as Entra ID sends them, become booleans.
fn coerce_primary(items: &mut [Value]) {
    for item in items {
        if let Value::Object(map) = item
            && let Some(key) = key_ci(map, "primary")
            && let Some(b) = map[&key].as_str().and_then(parse_bool)
        {
            map.insert(key, Value::Bool(b));
        }
    }
}

/// The `meta` of a resource written now: `created` kept, `version` bumped.
fn next_meta(kind: Kind, previous: Option<&Value>) -> Value {
    let now = now_rfc3339();
    let previous = previous.cloned().unwrap_or(Value::Null);
    let created = previous["created"].as_str().map(str::to_owned).unwrap_or_else(|| now.clone());
    let revision =
        previous["version"].as_str().and_then(|v| weak(v).trim_matches('"').parse::<u64>().ok()).unwrap_or(0)
            + 1;
    json!({
        "resourceType": kind.name(),
        "created": created,
        "lastModified": now,
        "version": format!("W/\"{revision}\""),
    })
}

/// Puts `schemas` and `id` first and `meta` last.
fn with_identity(kind: Kind, id: &str, attrs: Map<String, Value>, meta: Value) -> Value {
    let mut schemas = vec![Value::String(match kind {
        Kind::User => USER_SCHEMA.to_owned(),
        Kind::Group => GROUP_SCHEMA.to_owned(),
    })];
    for (key, value) in &attrs {
        if key.starts_with("urn:") && value.is_object() {
            schemas.push(Value::String(key.clone()));
        }
    }
    let mut out = Map::new();
    out.insert("schemas".to_owned(), Value::Array(schemas));
    out.insert("id".to_owned(), Value::String(id.to_owned()));
    out.extend(attrs);
    out.insert("meta".to_owned(), meta);
    Value::Object(out)
}

/// An entity tag without its weakness marker, for weak comparison.
fn weak(tag: &str) -> &str {
    tag.trim().strip_prefix("W/").unwrap_or(tag.trim())
}

#[derive(Clone, Debug, PartialEq)]
enum SortKey {
    Bool(bool),
    Number(f64),
    Text(String),
}

fn sort_key(resource: &Value, path: &AttrPath, case_exact: bool) -> Option<SortKey> {
    let values = path.values(resource);
    // A multi-valued attribute sorts by its primary value when it has one.
    let value = values.iter().find(|v| v.get("primary") == Some(&Value::Bool(true))).or(values.first())?;
    let value = match value {
        Value::Object(map) => get_ci(map, "value")?,
        other => other,
    };
    match value {
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => n.as_f64().map(SortKey::Number),
        Value::String(s) if case_exact => Some(SortKey::Text(s.clone())),
        Value::String(s) => Some(SortKey::Text(s.to_lowercase())),
        _ => None,
    }
}

/// Missing values sort last in either order (RFC 7644 section 3.4.2.3).
fn compare_keys(a: Option<&SortKey>, b: Option<&SortKey>, descending: bool) -> Ordering {
    let ordering = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Greater,
        (Some(_), None) => return Ordering::Less,
        (Some(a), Some(b)) => match (a, b) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        },
    };
    if descending { ordering.reverse() } else { ordering }
}

fn rank(key: &SortKey) -> u8 {
    match key {
        SortKey::Bool(_) => 0,
        SortKey::Number(_) => 1,
        SortKey::Text(_) => 2,
    }
}

/// The current time as RFC 3339 UTC with seconds, e.g. `2025-01-31T12:00:00Z`.
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format_rfc3339(secs)
}

/// Formats seconds since the Unix epoch (civil-from-days, proleptic Gregorian).
pub(crate) fn format_rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn create_applies_productboard_defaults_and_uniqueness() {
        let mut store = Store::new(1);
        let user = store.create(Kind::User, json!({"userName": "Ada@Example.com"})).unwrap();
        assert_eq!(user["roles"], json!([{"value": "contributor", "primary": true}]));
        assert_eq!(user["active"], true);
        assert_eq!(user["meta"]["version"], "W/\"1\"");
        let err = store.create(Kind::User, json!({"userName": "ada@example.COM"})).unwrap_err();
        assert_eq!((err.status, err.scim_type), (StatusCode::CONFLICT, Some("uniqueness")));
        let err = store
            .create(Kind::User, json!({"userName": "b@x", "roles": [{"value": "admin"}, {"value": "maker"}]}))
            .unwrap_err();
        assert_eq!(err.scim_type, Some("invalidValue"));
    }

    #[test]
    fn ids_are_reproducible_from_the_seed() {
        let ids = |seed| {
            let mut store = Store::new(seed);
            (0..3)
                .map(|i| {
                    store.create(Kind::User, json!({"userName": format!("u{i}@x")})).unwrap()["id"].clone()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(7), ids(7));
        assert_ne!(ids(7), ids(8));
    }

    #[test]
    fn snapshot_round_trips() {
        let mut store = Store::new(1);
        let user =
            store.create(Kind::User, json!({"userName": "a@x", "x-unknown": {"kept": [1, 2]}})).unwrap();
        let id = user["id"].as_str().unwrap();
        store.create(Kind::Group, json!({"displayName": "G", "members": [{"value": id}]})).unwrap();
        let snapshot = store.snapshot();
        let mut again = Store::new(2);
        again.restore(&snapshot).unwrap();
        assert_eq!(again.snapshot(), snapshot);
        let err = again.create(Kind::User, json!({"userName": "A@X"})).unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT, "the userName index is rebuilt on restore");
    }
}
