//! Productboard's REST member list, `GET /members`, served outside `/scim/v2` from the
//! same store: every SCIM user as a member, then the members only the REST list shows.
//!
//! - `X-Version: 1` is required; without it the answer is 400, saying so.
//! - Its own bearer token ([`crate::EmulatorConfig::api_token`]); the SCIM token works
//!   too only with [`crate::EmulatorConfig::scim_token_on_rest`] (a token with REST rights).
//! - Cursor paging: `pageLimit` (at most 100), an opaque `pageCursor` in every page but
//!   the last, and the same cursor as a `links.next` URL.
//! - The state file's `members` entries add what SCIM does not show: a member invited by
//!   hand (`{"email", "name", "role", "status"}`), or a SCIM user's role or status as
//!   changed in the UI (`{"userId", "role", "status"}`), or a SCIM user the REST list
//!   does not show at all (`{"userId", "hidden": true}`).
//! - Misbehaviour: a cursor that comes back unchanged, a cursor that never ends (empty
//!   pages with fresh cursors past the end), and a cursor that is ignored (the first page
//!   again, with a fresh cursor).
//!
//! The rate limit, faults and latency apply as on every route.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::ScimError;
use crate::http::{App, BASE_PATH, constant_time_eq, presented_bearer};
use crate::store::Store;

/// The path of the member list.
pub(crate) const MEMBERS_PATH: &str = "/members";

/// The fields a `members` record of the state file may hold.
const RECORD_FIELDS: &[&str] = &["id", "userId", "email", "name", "role", "status", "createdAt", "hidden"];

/// Whether a request goes to the REST API rather than SCIM.
pub(crate) fn is_rest_path(path: &str) -> bool {
    path == MEMBERS_PATH || path.starts_with("/members/")
}

/// Whether a request may read the REST API: the API token, or the SCIM token where it
/// carries REST rights. Without an API token the REST API is open, like SCIM without one.
pub(crate) fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some(api_token) = &app.config.api_token else { return true };
    let Some(presented) = presented_bearer(headers) else { return false };
    let scim_token = app.config.token.as_ref().filter(|_| app.config.scim_token_on_rest);
    [Some(api_token), scim_token]
        .into_iter()
        .flatten()
        .any(|expected| constant_time_eq(presented.as_bytes(), expected.as_bytes()))
}

/// Checks a `members` record: an object of known string fields, either naming an
/// existing SCIM user (`userId`) or a member by email.
pub(crate) fn check_record(store: &Store, record: Value) -> Result<Value, String> {
    let Value::Object(map) = &record else { return Err("a member record must be a JSON object".to_owned()) };
    for (key, value) in map {
        if !RECORD_FIELDS.contains(&key.as_str()) {
            return Err(format!("unknown field {key:?}; a member record holds {}", RECORD_FIELDS.join(", ")));
        }
        if key == "hidden" {
            if !value.is_boolean() {
                return Err("hidden must be true or false".to_owned());
            }
        } else if !value.is_string() {
            return Err(format!("{key} must be a string"));
        }
    }
    let text = |key: &str| map.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    match (text("userId"), text("email")) {
        (Some(user_id), None) => {
            if store.get(crate::store::Kind::User, user_id).is_none() {
                return Err(format!("userId {user_id:?} names no user"));
            }
        }
        (None, Some(_)) => {
            if let Some(id) = text("id")
                && (store.member_records().iter().any(|m| m["id"] == id)
                    || store.get(crate::store::Kind::User, id).is_some())
            {
                return Err(format!("id {id:?} is used twice"));
            }
        }
        (Some(_), Some(_)) => return Err("a member record has either userId or email, not both".to_owned()),
        (None, None) => {
            return Err("a member record needs userId (a SCIM user) or email (a member)".to_owned());
        }
    }
    Ok(record)
}

/// Every member the REST list shows, in order: SCIM users, then members invited by hand.
fn all_members(store: &Store) -> Vec<Value> {
    let records = store.member_records();
    let hidden = |id: &str| records.iter().any(|r| r["userId"] == id && r["hidden"] == json!(true));
    let mut members: Vec<Value> = store
        .users()
        .iter()
        .filter(|user| !hidden(user["id"].as_str().unwrap_or_default()))
        .map(|user| {
            let id = user["id"].as_str().unwrap_or_default();
            let mut member = member_of_user(user);
            for record in records.iter().filter(|r| r["userId"] == id) {
                for field in ["name", "role", "status"] {
                    if let Some(value) = record.get(field) {
                        member[field] = value.clone();
                    }
                }
            }
            member
        })
        .collect();
    members.extend(records.iter().filter(|r| r.get("userId").is_none()).map(|record| {
        let mut member = record.clone();
        if member.get("status").is_none() {
            member["status"] = json!("active");
        }
        member
    }));
    members
}

/// A SCIM user as the REST list shows it.
fn member_of_user(user: &Value) -> Value {
    let text = |v: &Value| v.as_str().filter(|s| !s.trim().is_empty()).map(str::to_owned);
    let name = text(&user["displayName"]).or_else(|| text(&user["name"]["formatted"])).or_else(|| {
        let parts: Vec<String> = [text(&user["name"]["givenName"]), text(&user["name"]["familyName"])]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let roles = user["roles"].as_array().map(Vec::as_slice).unwrap_or_default();
    let role = roles
        .iter()
        .find(|r| r["primary"] == json!(true))
        .or_else(|| roles.first())
        .and_then(|r| text(&r["value"]));
    let active = user["active"].as_bool().unwrap_or(true);
    let mut member = Map::new();
    member.insert("id".to_owned(), user["id"].clone());
    member.insert("email".to_owned(), user["userName"].clone());
    member.insert("name".to_owned(), name.map_or(Value::Null, Value::String));
    member.insert("role".to_owned(), role.map_or(Value::Null, Value::String));
    member.insert("status".to_owned(), json!(if active { "active" } else { "inactive" }));
    if let Some(created) = text(&user["meta"]["created"]) {
        member.insert("createdAt".to_owned(), Value::String(created));
    }
    Value::Object(member)
}

fn bad_request(detail: impl Into<String>) -> ScimError {
    ScimError::new(StatusCode::BAD_REQUEST, None, detail)
}

/// `GET /members`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    match headers.get("x-version").map(|v| v.to_str().map(str::trim)) {
        None => {
            return Err(bad_request(
                "the X-Version header is required: Productboard's REST API answers only requests that send \
                 X-Version: 1",
            ));
        }
        Some(Ok("1")) => {}
        Some(_) => return Err(bad_request("unsupported X-Version; this API serves X-Version: 1")),
    }
    let param = |name: &str| params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let max = app.config.max_page_size.max(1);
    let limit = match param("pageLimit") {
        None => max,
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n.min(max),
            _ => {
                return Err(bad_request(format!(
                    "pageLimit must be a whole number from 1 to {max}, not {text:?}"
                )));
            }
        },
    };
    let offset = match param("pageCursor") {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix("pc-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| bad_request(format!("invalid pageCursor {cursor:?}")))?,
    };
    let members = all_members(&app.state.lock());
    let misbehaviour = &app.config.misbehaviour;
    let served_offset = if misbehaviour.ignore_member_cursor { 0 } else { offset };
    let from = served_offset.min(members.len());
    let to = from.saturating_add(limit).min(members.len());
    let next = if misbehaviour.repeat_member_cursor && offset > 0 {
        Some(offset)
    } else if offset.saturating_add(limit) < members.len()
        || misbehaviour.endless_member_cursor
        || (misbehaviour.ignore_member_cursor && to < members.len())
    {
        Some(offset.saturating_add(limit))
    } else {
        None
    };
    let cursor = next.map(|n| format!("pc-{n}"));
    let rest_base = app.base_url.strip_suffix(BASE_PATH).unwrap_or(&app.base_url);
    let link = cursor.as_ref().map(|c| format!("{rest_base}{MEMBERS_PATH}?pageCursor={c}&pageLimit={limit}"));
    let body = json!({
        "data": members[from..to],
        "links": { "next": link },
        "pageCursor": cursor,
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}
