//! SCIM requests, built as values.
//!
//! A [`ScimRequest`] is only ever made by one of its constructors, and its fields are
//! private, so the set of requests roster can send is exactly the list of constructors
//! below. None of them sends `DELETE /Users/...`: users are deactivated, never deleted.
//!
//! There is no constructor for a user delete:
//!
//! ```compile_fail
//! let request = roster_scim::ScimRequest::delete_user("2819c223");
//! ```
//!
//! and the fields cannot be filled in by hand:
//!
//! ```compile_fail
//! use roster_scim::{Method, ScimRequest};
//! let request = ScimRequest {
//!     method: Method::Delete, path: "/Users/1".into(), query: String::new(), headers: &[], body: None,
//! };
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::filter::{FilterAttribute, encode_component, encode_query, eq_filter};
use crate::wire::{Group, PatchOp, User};

/// An HTTP method roster uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE; only [`ScimRequest::delete_group`] makes one.
    Delete,
}

impl Method {
    /// The method's name, upper-case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// True for every method that changes the service.
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request could not be built.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RequestError {
    /// The id would not name one resource inside its collection.
    #[error("invalid resource id {id:?}: an id must not be empty, \".\" or \"..\"")]
    InvalidId {
        /// The id as given.
        id: String,
    },
}

/// One SCIM request: method, path below the base URL, encoded query, extra headers and
/// JSON body.
///
/// Productboard's REST member list (`GET /members`, see [`crate::members`]) is built as
/// one too, so that it takes the same send path (retries, `Retry-After`, rate limits).
#[derive(Clone, Debug, PartialEq)]
pub struct ScimRequest {
    method: Method,
    path: String,
    query: String,
    headers: &'static [(&'static str, &'static str)],
    body: Option<Value>,
}

/// The collections roster talks to.
const USERS: &str = "/Users";
const GROUPS: &str = "/Groups";
/// Productboard's REST member list, below the REST base URL.
pub(crate) const MEMBERS: &str = "/members";
/// Productboard's REST API answers only requests that name its version.
const MEMBERS_HEADERS: &[(&str, &str)] = &[("X-Version", "1")];

/// `/Users/{id}` or `/Groups/{id}` with the id percent-encoded, so that an id holding
/// `/` or `?` stays one path segment; `.` and `..` would be dot segments, so they are
/// refused.
fn resource_path(collection: &str, id: &str) -> Result<String, RequestError> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(RequestError::InvalidId { id: id.to_owned() });
    }
    Ok(format!("{collection}/{}", encode_component(id)))
}

fn body_of<T: Serialize>(value: &T) -> Value {
    // The wire types hold only strings, booleans, numbers and string-keyed maps, which
    // serde_json always serializes.
    serde_json::to_value(value).expect("SCIM wire types always serialize to JSON")
}

impl ScimRequest {
    fn new(method: Method, path: String, query: String, body: Option<Value>) -> Self {
        ScimRequest { method, path, query, headers: &[], body }
    }

    /// `GET /members?QUERY` on Productboard's REST API, with `X-Version: 1`. Only
    /// [`crate::members::MemberPager`] builds it, from a cursor or a next link it checked.
    pub(crate) fn list_members(query: String) -> Self {
        ScimRequest {
            method: Method::Get,
            path: MEMBERS.to_owned(),
            query,
            headers: MEMBERS_HEADERS,
            body: None,
        }
    }

    fn list(path: &str, start_index: u64, count: u64, sort_by: Option<&str>, extra: &[(&str, &str)]) -> Self {
        let start = start_index.max(1).to_string();
        let count = count.to_string();
        let mut pairs = vec![("startIndex", start.as_str()), ("count", count.as_str())];
        if let Some(sort_by) = sort_by {
            pairs.push(("sortBy", sort_by));
        }
        pairs.extend_from_slice(extra);
        ScimRequest::new(Method::Get, path.to_owned(), encode_query(&pairs), None)
    }

    fn filtered(path: &str, attribute: FilterAttribute, value: &str) -> Self {
        let filter = eq_filter(attribute, value);
        ScimRequest::new(Method::Get, path.to_owned(), encode_query(&[("filter", &filter)]), None)
    }

    /// `GET /Users?startIndex=S&count=C[&sortBy=A]`; a start index below 1 becomes 1.
    pub fn list_users(start_index: u64, count: u64, sort_by: Option<&str>) -> Self {
        ScimRequest::list(USERS, start_index, count, sort_by, &[])
    }

    /// `GET /Groups?startIndex=S&count=C[&sortBy=A][&excludedAttributes=members]`.
    pub fn list_groups(start_index: u64, count: u64, sort_by: Option<&str>, exclude_members: bool) -> Self {
        let extra: &[(&str, &str)] = if exclude_members { &[("excludedAttributes", "members")] } else { &[] };
        ScimRequest::list(GROUPS, start_index, count, sort_by, extra)
    }

    /// `GET /Users/{id}`.
    pub fn get_user(id: &str) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Get, resource_path(USERS, id)?, String::new(), None))
    }

    /// `GET /Groups/{id}`.
    pub fn get_group(id: &str) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Get, resource_path(GROUPS, id)?, String::new(), None))
    }

    /// `GET /Users?filter=userName eq "..."`.
    pub fn find_user_by_user_name(user_name: &str) -> Self {
        ScimRequest::filtered(USERS, FilterAttribute::UserName, user_name)
    }

    /// `GET /Users?filter=externalId eq "..."`.
    pub fn find_user_by_external_id(external_id: &str) -> Self {
        ScimRequest::filtered(USERS, FilterAttribute::ExternalId, external_id)
    }

    /// `GET /Groups?filter=displayName eq "..."`.
    pub fn find_group_by_display_name(display_name: &str) -> Self {
        ScimRequest::filtered(GROUPS, FilterAttribute::DisplayName, display_name)
    }

    /// `GET /Groups?filter=externalId eq "..."`.
    pub fn find_group_by_external_id(external_id: &str) -> Self {
        ScimRequest::filtered(GROUPS, FilterAttribute::ExternalId, external_id)
    }

    /// `GET /ServiceProviderConfig`.
    pub fn service_provider_config() -> Self {
        ScimRequest::new(Method::Get, "/ServiceProviderConfig".to_owned(), String::new(), None)
    }

    /// `GET /ResourceTypes`.
    pub fn resource_types() -> Self {
        ScimRequest::new(Method::Get, "/ResourceTypes".to_owned(), String::new(), None)
    }

    /// `GET /Schemas`.
    pub fn schemas() -> Self {
        ScimRequest::new(Method::Get, "/Schemas".to_owned(), String::new(), None)
    }

    /// `POST /Users` with the user as body.
    pub fn create_user(user: &User) -> Self {
        ScimRequest::new(Method::Post, USERS.to_owned(), String::new(), Some(body_of(user)))
    }

    /// `PUT /Users/{id}` with the whole user as body.
    pub fn replace_user(id: &str, user: &User) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Put, resource_path(USERS, id)?, String::new(), Some(body_of(user))))
    }

    /// `PATCH /Users/{id}`.
    pub fn patch_user(id: &str, patch: &PatchOp) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Patch, resource_path(USERS, id)?, String::new(), Some(body_of(patch))))
    }

    /// `POST /Groups` with the group as body.
    pub fn create_group(group: &Group) -> Self {
        ScimRequest::new(Method::Post, GROUPS.to_owned(), String::new(), Some(body_of(group)))
    }

    /// `PUT /Groups/{id}` with the whole group as body.
    pub fn replace_group(id: &str, group: &Group) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Put, resource_path(GROUPS, id)?, String::new(), Some(body_of(group))))
    }

    /// `PATCH /Groups/{id}`.
    pub fn patch_group(id: &str, patch: &PatchOp) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Patch, resource_path(GROUPS, id)?, String::new(), Some(body_of(patch))))
    }

    /// `DELETE /Groups/{id}`: the only delete roster can send.
    pub fn delete_group(id: &str) -> Result<Self, RequestError> {
        Ok(ScimRequest::new(Method::Delete, resource_path(GROUPS, id)?, String::new(), None))
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path below the base URL, starting with `/`, e.g. `/Users/2819c223`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The encoded query without `?`, e.g. `startIndex=101&count=100`; empty for none.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Headers the request needs beyond the usual ones (`X-Version` for the REST API).
    pub fn headers(&self) -> &[(&'static str, &'static str)] {
        self.headers
    }

    /// The JSON body, for POST, PUT and PATCH.
    pub fn body(&self) -> Option<&Value> {
        self.body.as_ref()
    }

    /// The full URL below `base_url` (with or without a trailing `/`).
    pub fn url(&self, base_url: &str) -> String {
        let base = base_url.trim_end_matches('/');
        if self.query.is_empty() {
            format!("{base}{}", self.path)
        } else {
            format!("{base}{}?{}", self.path, self.query)
        }
    }
}

impl fmt::Display for ScimRequest {
    /// `METHOD /path?query`, for messages and reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            write!(f, "?{}", self.query)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::PatchOperation;

    #[test]
    fn list_requests_carry_paging_in_the_query() {
        let req = ScimRequest::list_users(101, 100, None);
        assert_eq!(
            (req.method(), req.path(), req.query()),
            (Method::Get, "/Users", "startIndex=101&count=100")
        );
        assert_eq!(
            ScimRequest::list_users(0, 10, Some("userName")).query(),
            "startIndex=1&count=10&sortBy=userName"
        );
        let req = ScimRequest::list_groups(1, 50, None, true);
        assert_eq!(req.query(), "startIndex=1&count=50&excludedAttributes=members");
        assert_eq!(
            req.url("https://api.example.com/scim/v2/"),
            "https://api.example.com/scim/v2/Groups?startIndex=1&count=50&excludedAttributes=members"
        );
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(ScimRequest::get_user("a/b?c").unwrap().path(), "/Users/a%2Fb%3Fc");
        assert_eq!(ScimRequest::delete_group("../Users/1").unwrap().path(), "/Groups/..%2FUsers%2F1");
        for bad in ["", ".", ".."] {
            assert_eq!(ScimRequest::get_group(bad), Err(RequestError::InvalidId { id: bad.to_owned() }));
        }
    }

    #[test]
    fn filters_are_escaped_and_encoded() {
        let req = ScimRequest::find_user_by_user_name("a\"b@x.io");
        assert_eq!(req.query(), "filter=userName%20eq%20%22a%5C%22b%40x.io%22");
        assert_eq!(req.to_string(), "GET /Users?filter=userName%20eq%20%22a%5C%22b%40x.io%22");
    }

    /// Every constructor, called with ids chosen to try to reach `/Users` from elsewhere.
    fn every_request() -> Vec<ScimRequest> {
        let patch = PatchOp::new(vec![PatchOperation::replace("active", Value::Bool(false))]);
        let user = User::default();
        let group = Group::default();
        let mut requests = vec![
            ScimRequest::list_users(1, 100, None),
            ScimRequest::list_groups(1, 100, Some("displayName"), true),
            ScimRequest::find_user_by_user_name("a@x.io"),
            ScimRequest::find_user_by_external_id("../Users/1"),
            ScimRequest::find_group_by_display_name("Users"),
            ScimRequest::find_group_by_external_id("x"),
            ScimRequest::service_provider_config(),
            ScimRequest::resource_types(),
            ScimRequest::schemas(),
            ScimRequest::create_user(&user),
            ScimRequest::create_group(&group),
        ];
        for id in ["1", "../Users/1", "%2e%2e", "..%2FUsers", "/Users/1", "Users"] {
            requests.extend(
                [
                    ScimRequest::get_user(id),
                    ScimRequest::get_group(id),
                    ScimRequest::replace_user(id, &user),
                    ScimRequest::patch_user(id, &patch),
                    ScimRequest::replace_group(id, &group),
                    ScimRequest::patch_group(id, &patch),
                    ScimRequest::delete_group(id),
                ]
                .into_iter()
                .map(|r| r.unwrap()),
            );
        }
        requests
    }

    #[test]
    fn no_request_deletes_a_user() {
        let requests = every_request();
        assert!(requests.iter().any(|r| r.method() == Method::Delete), "the enumeration covers delete_group");
        for req in &requests {
            if req.method() == Method::Delete {
                assert!(req.path().starts_with("/Groups/"), "{req}");
                let id = &req.path()["/Groups/".len()..];
                assert!(!id.contains('/') && id != ".." && id != ".", "{req}");
                assert!(!id.eq_ignore_ascii_case("%2e%2e"), "{req}");
            }
            assert!(!(req.method() == Method::Delete && req.path().starts_with("/Users")), "{req}");
        }
    }
}
