//! Productboard's REST member list (`GET /members`), without I/O: the page type, read
//! tolerantly, and the cursor paging state machine.
//!
//! The list is not SCIM, but it lives here beside the SCIM pager because it is built the
//! same way (requests are [`ScimRequest`] values, so they take the client's one send path
//! with its retries and rate limits) and must be as hard to fool. Paging follows the
//! `pageCursor` a page returns, or its `links.next` URL when there is no cursor. A cursor
//! the pager has already followed (the same one again, or a loop through several), a page
//! holding a member it has already seen, a run of empty pages that still promise more,
//! or more pages than [`MAX_MEMBER_PAGES`] all end the fetch as
//! [`Completeness::Incomplete`], never as an endless loop.
//!
//! ```
//! # use roster_scim::members::{MemberPage, MemberPager};
//! # fn fetch(_: &roster_scim::ScimRequest) -> MemberPage {
//! #     serde_json::from_str(r#"{"data":[]}"#).unwrap()
//! # }
//! let mut pager = MemberPager::new("https://api.productboard.com", 100);
//! while let Some(request) = pager.next_request() {
//!     pager.receive(fetch(&request));
//! }
//! let paged = pager.finish();
//! assert!(paged.completeness.is_complete());
//! ```

use std::collections::HashSet;

use roster_model::{Completeness, MemberStatus, WorkspaceMember};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::filter::encode_query;
use crate::request::{MEMBERS, ScimRequest};

/// The most members Productboard serves per page, and what roster asks for.
pub const MEMBERS_PAGE_LIMIT: u64 = 100;

/// The most pages one member listing may take, whatever the service says.
pub const MAX_MEMBER_PAGES: u64 = 100_000;

/// Empty pages in a row that still carry a next cursor before the pager gives up: a
/// service whose cursor never ends.
pub const MAX_EMPTY_PAGES: u32 = 3;

/// One page of `GET /members`, as sent. Only the fields roster needs are read; every
/// other field is ignored. Member fields of an unexpected type count as absent, but the
/// paging fields must make sense: a page without a `data` array, or with a cursor or
/// next link that is not a string (or a number), is not a member list page, so that a
/// changed answer never reads as a short, complete list.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct MemberPage {
    /// The members, as JSON objects (read field by field by [`member_of`]).
    #[serde(alias = "members", deserialize_with = "objects")]
    pub data: Vec<Map<String, Value>>,
    /// The cursor of the next page; absent, null or empty on the last page.
    #[serde(default, rename = "pageCursor", deserialize_with = "lenient_string")]
    pub page_cursor: Option<String>,
    /// Links; `next` is the next page's URL.
    #[serde(default, deserialize_with = "lenient_links")]
    pub links: Links,
}

/// The `links` object of a page.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Links {
    /// The URL of the next page.
    #[serde(default, deserialize_with = "lenient_string")]
    pub next: Option<String>,
}

fn objects<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<Map<String, Value>>, D::Error> {
    match Value::deserialize(de)? {
        Value::Array(items) => Ok(items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => map,
                // Kept as an empty object so that the pager reports it instead of skipping it.
                _ => Map::new(),
            })
            .collect()),
        other => Err(serde::de::Error::custom(format!("data must be an array of members, not {other}"))),
    }
}

/// A cursor or link: a string or a number; null, absent or empty on the last page.
fn cursor_value<E: serde::de::Error>(name: &str, value: Value) -> Result<Option<String>, E> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(E::custom(format!("{name} must be a string, not {other}"))),
    }
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    cursor_value("pageCursor", Value::deserialize(de)?)
}

fn lenient_links<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Links, D::Error> {
    match Value::deserialize(de)? {
        Value::Null => Ok(Links::default()),
        Value::Object(mut map) => {
            Ok(Links { next: cursor_value("links.next", map.remove("next").unwrap_or(Value::Null))? })
        }
        other => Err(serde::de::Error::custom(format!("links must be an object, not {other}"))),
    }
}

/// A member from the list's JSON object: `id` (string or number), `email`, `name` (a
/// string, or an object with `formatted` or given and family names), `role` (a string,
/// or an object with `name`), `status` or a boolean `active`/`disabled`, and `createdAt`
/// where sent. `None` when the object has neither id nor email.
pub fn member_of(object: &Map<String, Value>) -> Option<WorkspaceMember> {
    let text = |name: &str| {
        object.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let id = match object.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let email = text("email").or_else(|| text("emailAddress"));
    if id.is_none() && email.is_none() {
        return None;
    }
    let name = match object.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Object(parts)) => {
            let part =
                |k: &str| parts.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
            part("formatted").map(str::to_owned).or_else(|| {
                let joined: Vec<&str> =
                    [part("givenName"), part("familyName")].into_iter().flatten().collect();
                (!joined.is_empty()).then(|| joined.join(" "))
            })
        }
        _ => None,
    }
    .or_else(|| text("displayName"));
    let role = match object.get("role") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Object(role)) => ["name", "value", "id"]
            .iter()
            .find_map(|k| role.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        _ => None,
    };
    let flag = |name: &str| object.get(name).and_then(Value::as_bool);
    let status = match (text("status"), flag("active"), flag("disabled")) {
        (Some(word), _, _) => Some(MemberStatus::from_word(&word)),
        (None, Some(active), _) => Some(if active { MemberStatus::Active } else { MemberStatus::Inactive }),
        (None, None, Some(disabled)) => {
            Some(if disabled { MemberStatus::Inactive } else { MemberStatus::Active })
        }
        (None, None, None) => None,
    };
    let created = text("createdAt").or_else(|| text("created")).or_else(|| text("invitedAt"));
    Some(WorkspaceMember { id: id.unwrap_or_default(), email, name, role, status, created })
}

/// The outcome of a member listing.
#[derive(Clone, Debug, PartialEq)]
pub struct PagedMembers {
    /// Every distinct member that arrived, in list order.
    pub members: Vec<WorkspaceMember>,
    /// Whether that is the whole list.
    pub completeness: Completeness,
    /// How many pages were processed.
    pub pages: u64,
}

/// Computes the requests of one member listing and checks what arrives.
#[derive(Debug)]
pub struct MemberPager {
    base_url: String,
    page_limit: u64,
    /// The query of the next request; `None` once the listing is over.
    next_query: Option<String>,
    /// The cursor or link the next request follows, for messages.
    following: Option<String>,
    /// Every cursor and next-link query followed so far.
    followed: HashSet<String>,
    /// The last cursor or link followed.
    last_followed: Option<String>,
    waiting: bool,
    seen: HashSet<String>,
    members: Vec<WorkspaceMember>,
    pages: u64,
    empty_in_a_row: u32,
    reasons: Vec<String>,
}

impl MemberPager {
    /// A pager for the REST API at `base_url` (e.g. `https://api.productboard.com`),
    /// asking for `page_limit` members per page (1 to [`MEMBERS_PAGE_LIMIT`]).
    pub fn new(base_url: &str, page_limit: u64) -> Self {
        let page_limit = page_limit.clamp(1, MEMBERS_PAGE_LIMIT);
        MemberPager {
            base_url: base_url.trim_end_matches('/').to_owned(),
            page_limit,
            next_query: Some(encode_query(&[("pageLimit", &page_limit.to_string())])),
            following: None,
            followed: HashSet::new(),
            last_followed: None,
            waiting: false,
            seen: HashSet::new(),
            members: Vec::new(),
            pages: 0,
            empty_in_a_row: 0,
            reasons: Vec::new(),
        }
    }

    /// The next page to fetch; `None` when the listing is over. Each request must be
    /// answered with [`MemberPager::receive`] before this is called again: a request
    /// without an answer ends the listing as incomplete.
    pub fn next_request(&mut self) -> Option<ScimRequest> {
        if self.waiting {
            self.stop("members: a page was asked for but never arrived".to_owned());
        }
        let query = self.next_query.take()?;
        if self.pages >= MAX_MEMBER_PAGES {
            self.stop(format!(
                "members: gave up after {MAX_MEMBER_PAGES} pages, the most a listing may take; the service \
                 keeps sending cursors"
            ));
            return None;
        }
        self.waiting = true;
        Some(ScimRequest::list_members(query))
    }

    /// Hands over the page that answered the last request.
    pub fn receive(&mut self, page: MemberPage) {
        if !self.waiting {
            return;
        }
        self.waiting = false;
        self.pages += 1;
        let n = self.pages;
        let len = page.data.len();
        let mut repeated = 0usize;
        for object in &page.data {
            let Some(member) = member_of(object) else {
                return self.stop(format!("members: page {n} holds a member with neither id nor email"));
            };
            let identity = if member.id.is_empty() {
                format!("email:{}", member.key().map(|k| k.to_string()).unwrap_or_default())
            } else {
                format!("id:{}", member.id)
            };
            if self.seen.insert(identity) {
                self.members.push(member);
            } else {
                repeated += 1;
            }
        }
        if repeated > 0 {
            let position = self.following.as_deref().map(|c| format!(" (cursor {c:?})")).unwrap_or_default();
            return self.stop(format!(
                "members: page {n}{position} repeats {repeated} of its {len} members already listed; the service \
                 repeats pages or ignores the cursor"
            ));
        }
        let next = match self.next_of(&page) {
            Ok(next) => next,
            Err(reason) => return self.stop(reason),
        };
        let Some((followed, query)) = next else {
            // No cursor: the last page.
            return;
        };
        if len == 0 {
            self.empty_in_a_row += 1;
            if self.empty_in_a_row >= MAX_EMPTY_PAGES {
                return self.stop(format!(
                    "members: {MAX_EMPTY_PAGES} empty pages in a row still carried a next cursor; the service's \
                     cursor never ends"
                ));
            }
        } else {
            self.empty_in_a_row = 0;
        }
        if self.last_followed.as_deref() == Some(followed.as_str()) {
            return self.stop(format!(
                "members: page {n} gave back the cursor it was fetched with ({followed:?}); following it would \
                 loop"
            ));
        }
        if !self.followed.insert(followed.clone()) {
            return self.stop(format!(
                "members: page {n} leads back to cursor {followed:?}, which was already followed; the cursors \
                 loop"
            ));
        }
        self.last_followed = Some(followed.clone());
        self.following = Some(followed);
        self.next_query = Some(query);
    }

    /// The cursor (or link) a page points to and the query that follows it; `None` on
    /// the last page; an error for a next link that leaves the API.
    fn next_of(&self, page: &MemberPage) -> Result<Option<(String, String)>, String> {
        if let Some(cursor) = &page.page_cursor {
            let limit = self.page_limit.to_string();
            return Ok(Some((
                cursor.clone(),
                encode_query(&[("pageCursor", cursor), ("pageLimit", &limit)]),
            )));
        }
        let Some(link) = &page.links.next else { return Ok(None) };
        let query = self.query_of_link(link).ok_or_else(|| {
            format!(
                "members: links.next {link:?} does not point to {}{MEMBERS}; roster follows only links to the \
                 API it was given",
                self.base_url
            )
        })?;
        Ok(Some((link.clone(), query)))
    }

    /// The query of a next link to this API's member list: an absolute URL below the
    /// base URL, or a path from the host's root.
    fn query_of_link(&self, link: &str) -> Option<String> {
        let link = link.trim();
        let base_path = self
            .base_url
            .split_once("://")
            .map_or("", |(_, rest)| rest.find('/').map_or("", |slash| &rest[slash..]));
        let rest = if link.contains("://") {
            link.strip_prefix(&self.base_url)?.strip_prefix(MEMBERS)?
        } else {
            link.strip_prefix(base_path)?.strip_prefix(MEMBERS)?
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        match rest.split_once('#').map_or(rest, |(before, _)| before) {
            "" => Some(String::new()),
            query if query.starts_with('?') => Some(query[1..].to_owned()),
            _ => None,
        }
    }

    fn stop(&mut self, reason: String) {
        self.reasons.push(reason);
        self.next_query = None;
        self.waiting = false;
    }

    /// The listing with its completeness.
    pub fn finish(mut self) -> PagedMembers {
        if self.waiting {
            self.reasons.push("members: a page was asked for but never arrived".to_owned());
        } else if self.next_query.is_some() {
            let what = if self.pages == 0 {
                "no page was fetched"
            } else {
                "the listing stopped before its last page"
            };
            self.reasons.push(format!("members: {what}"));
        }
        let completeness = if self.reasons.is_empty() {
            Completeness::Complete
        } else {
            Completeness::Incomplete(self.reasons)
        };
        PagedMembers { members: self.members, completeness, pages: self.pages }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BASE: &str = "https://api.productboard.com";

    fn page(value: Value) -> MemberPage {
        serde_json::from_value(value).unwrap()
    }

    fn members(ids: impl IntoIterator<Item = u64>) -> Vec<Value> {
        ids.into_iter()
            .map(|i| json!({"id": format!("m{i}"), "email": format!("m{i}@x.io"), "role": "maker", "status": "active"}))
            .collect()
    }

    /// Drives a pager against a service; returns the outcome and the queries sent.
    fn drive(mut pager: MemberPager, mut serve: impl FnMut(&str) -> Value) -> (PagedMembers, Vec<String>) {
        let mut log = Vec::new();
        while let Some(request) = pager.next_request() {
            assert_eq!(request.headers(), [("X-Version", "1")]);
            assert_eq!((request.method(), request.path()), (crate::Method::Get, "/members"));
            log.push(request.query().to_owned());
            pager.receive(page(serve(request.query())));
            assert!(log.len() < 1000, "the pager loops");
        }
        (pager.finish(), log)
    }

    /// A well-behaved service with `n` members, pages of `size`, cursors `c<offset>`.
    fn honest(n: u64, size: u64) -> impl FnMut(&str) -> Value {
        move |query| {
            let offset: u64 = query
                .split('&')
                .find_map(|p| p.strip_prefix("pageCursor=c"))
                .map_or(0, |c| c.parse().unwrap());
            let end = (offset + size).min(n);
            let cursor = (end < n).then(|| format!("c{end}"));
            json!({"data": members(offset + 1..=end), "pageCursor": cursor})
        }
    }

    fn reasons(paged: &PagedMembers) -> Vec<String> {
        match &paged.completeness {
            Completeness::Complete => Vec::new(),
            Completeness::Incomplete(reasons) => reasons.clone(),
        }
    }

    #[test]
    fn follows_cursors_to_the_end() {
        let (paged, log) = drive(MemberPager::new(BASE, 100), honest(250, 100));
        assert_eq!(log, ["pageLimit=100", "pageCursor=c100&pageLimit=100", "pageCursor=c200&pageLimit=100"]);
        assert!(paged.completeness.is_complete());
        assert_eq!(paged.members.len(), 250);
        assert_eq!(paged.pages, 3);
        assert_eq!(paged.members[0].email.as_deref(), Some("m1@x.io"));
    }

    #[test]
    fn asks_for_at_most_a_hundred() {
        let (_, log) = drive(MemberPager::new(BASE, 1000), honest(1, 100));
        assert_eq!(log, ["pageLimit=100"]);
        let (_, log) = drive(MemberPager::new(BASE, 0), honest(1, 100));
        assert_eq!(log, ["pageLimit=1"]);
    }

    #[test]
    fn an_empty_list_is_complete() {
        let (paged, log) = drive(MemberPager::new(BASE, 100), |_| json!({"data": [], "pageCursor": null}));
        assert_eq!(log.len(), 1);
        assert!(paged.completeness.is_complete());
        let (paged, _) =
            drive(MemberPager::new(BASE, 100), |_| json!({"data": [], "links": null, "pageCursor": ""}));
        assert!(paged.completeness.is_complete() && paged.members.is_empty());
    }

    #[test]
    fn a_page_that_is_no_member_list_does_not_parse() {
        // Each would otherwise read as a short list that ends here.
        for body in [
            json!({}),
            json!({"data": null}),
            json!({"data": {"id": "1"}}),
            json!({"data": [], "pageCursor": {"next": "x"}}),
            json!({"data": [], "pageCursor": true}),
            json!({"data": [], "links": {"next": ["x"]}}),
            json!({"data": [], "links": "x"}),
        ] {
            assert!(serde_json::from_value::<MemberPage>(body.clone()).is_err(), "{body}");
        }
        let numeric: MemberPage = serde_json::from_value(json!({"members": [], "pageCursor": 200})).unwrap();
        assert_eq!(numeric.page_cursor.as_deref(), Some("200"));
    }

    #[test]
    fn follows_a_next_link_when_there_is_no_cursor() {
        let mut n = 0;
        let (paged, log) = drive(MemberPager::new("http://127.0.0.1:9/", 100), move |_| {
            n += 1;
            match n {
                1 => {
                    json!({"data": members(1..=2), "links": {"next": "http://127.0.0.1:9/members?pageCursor=x%2By"}})
                }
                2 => json!({"data": members(3..=4), "links": {"next": "/members?pageCursor=z"}}),
                _ => json!({"data": members(5..=5), "links": {"next": null}}),
            }
        });
        assert_eq!(log, ["pageLimit=100", "pageCursor=x%2By", "pageCursor=z"]);
        assert!(paged.completeness.is_complete(), "{:?}", paged.completeness);
        assert_eq!(paged.members.len(), 5);
    }

    #[test]
    fn a_next_link_to_another_host_is_not_followed() {
        for link in [
            "https://evil.example/members?pageCursor=a",
            "https://api.productboard.com.evil.example/members?pageCursor=a",
            "https://api.productboard.com/notes?pageCursor=a",
            "/v2/members?pageCursor=a",
        ] {
            let (paged, log) = drive(
                MemberPager::new(BASE, 100),
                |_| json!({"data": members(1..=1), "links": {"next": link}}),
            );
            assert_eq!(log.len(), 1, "{link}");
            assert_eq!(
                reasons(&paged),
                [format!(
                    "members: links.next {link:?} does not point to https://api.productboard.com/members; roster \
                     follows only links to the API it was given"
                )]
            );
        }
    }

    #[test]
    fn the_same_cursor_again_stops_as_incomplete() {
        let mut n = 0;
        let (paged, log) = drive(MemberPager::new(BASE, 100), move |_| {
            n += 1;
            json!({"data": members(n..=n), "pageCursor": "same"})
        });
        assert_eq!(log.len(), 2);
        assert_eq!(
            reasons(&paged),
            ["members: page 2 gave back the cursor it was fetched with (\"same\"); following it would loop"]
        );
        assert_eq!(paged.members.len(), 2);
    }

    #[test]
    fn a_cursor_loop_stops_as_incomplete() {
        let mut n = 0;
        let (paged, log) = drive(MemberPager::new(BASE, 100), move |_| {
            n += 1;
            let cursor = ["a", "b", "c"][(n as usize - 1) % 3];
            json!({"data": members(n..=n), "pageCursor": cursor})
        });
        assert_eq!(log.len(), 4);
        assert_eq!(
            reasons(&paged),
            ["members: page 4 leads back to cursor \"a\", which was already followed; the cursors loop"]
        );
    }

    #[test]
    fn a_page_repeating_members_stops_as_incomplete() {
        // The cursor is ignored: every page is the first one, with a fresh cursor.
        let mut n = 0;
        let (paged, log) = drive(MemberPager::new(BASE, 100), move |_| {
            n += 1;
            json!({"data": members(1..=3), "pageCursor": format!("c{n}")})
        });
        assert_eq!(log.len(), 2);
        assert_eq!(
            reasons(&paged),
            [
                "members: page 2 (cursor \"c1\") repeats 3 of its 3 members already listed; the service repeats \
              pages or ignores the cursor"
            ]
        );
        assert_eq!(paged.members.len(), 3);
    }

    #[test]
    fn a_duplicate_within_one_page_stops_as_incomplete() {
        let (paged, _) = drive(
            MemberPager::new(BASE, 100),
            |_| json!({"data": [{"id": 7, "email": "a@x.io"}, {"id": "7", "email": "b@x.io"}]}),
        );
        assert_eq!(
            reasons(&paged),
            [
                "members: page 1 repeats 1 of its 2 members already listed; the service repeats pages or ignores \
              the cursor"
            ]
        );
    }

    #[test]
    fn a_cursor_that_never_ends_stops_after_empty_pages() {
        let mut n = 0;
        let (paged, log) = drive(MemberPager::new(BASE, 100), move |_| {
            n += 1;
            let data = if n == 1 { members(1..=2) } else { Vec::new() };
            json!({"data": data, "pageCursor": format!("c{n}")})
        });
        assert_eq!(log.len(), 1 + MAX_EMPTY_PAGES as usize);
        assert_eq!(
            reasons(&paged),
            [format!(
                "members: {MAX_EMPTY_PAGES} empty pages in a row still carried a next cursor; the service's cursor \
                 never ends"
            )]
        );
    }

    #[test]
    fn endless_new_members_are_cut_off_by_the_page_cap() {
        let mut pager = MemberPager::new(BASE, 1);
        let mut n = 0u64;
        while let Some(_request) = pager.next_request() {
            n += 1;
            pager.receive(page(json!({"data": members(n..=n), "pageCursor": format!("c{n}")})));
        }
        assert_eq!(n, MAX_MEMBER_PAGES);
        let paged = pager.finish();
        assert_eq!(
            reasons(&paged),
            [format!(
                "members: gave up after {MAX_MEMBER_PAGES} pages, the most a listing may take; the service keeps \
                 sending cursors"
            )]
        );
    }

    #[test]
    fn a_page_that_never_arrives_is_incomplete() {
        let mut pager = MemberPager::new(BASE, 100);
        assert!(pager.next_request().is_some());
        assert_eq!(reasons(&pager.finish()), ["members: a page was asked for but never arrived"]);
        assert_eq!(reasons(&MemberPager::new(BASE, 100).finish()), ["members: no page was fetched"]);
    }

    #[test]
    fn members_are_read_tolerantly() {
        let page = page(json!({
            "data": [
                {"id": "1", "email": "ada@x.io", "name": "Ada L", "role": "admin", "status": "active", "extra": {"x": 1}},
                {"id": 2, "emailAddress": "bob@x.io", "name": {"givenName": "Bob", "familyName": "B"},
                 "role": {"name": "maker"}, "active": false, "createdAt": "2026-01-02T03:04:05Z"},
                {"id": "3", "email": 5, "role": null, "disabled": true},
                {"email": "cy@x.io", "status": "Invited"},
                {"name": "no identity"},
                "not an object"
            ],
            "totalResults": "ignored"
        }));
        let read: Vec<Option<WorkspaceMember>> = page.data.iter().map(member_of).collect();
        let ada = read[0].clone().unwrap();
        assert_eq!(
            (ada.id.as_str(), ada.email.as_deref(), ada.name.as_deref(), ada.role.as_deref(), ada.status),
            ("1", Some("ada@x.io"), Some("Ada L"), Some("admin"), Some(MemberStatus::Active))
        );
        let bob = read[1].clone().unwrap();
        assert_eq!(
            (
                bob.id.as_str(),
                bob.email.as_deref(),
                bob.name.as_deref(),
                bob.role.as_deref(),
                bob.status.clone()
            ),
            ("2", Some("bob@x.io"), Some("Bob B"), Some("maker"), Some(MemberStatus::Inactive))
        );
        assert_eq!(bob.created.as_deref(), Some("2026-01-02T03:04:05Z"));
        let third = read[2].clone().unwrap();
        assert_eq!((third.email, third.role, third.status), (None, None, Some(MemberStatus::Inactive)));
        let cy = read[3].clone().unwrap();
        assert_eq!((cy.id.as_str(), cy.status), ("", Some(MemberStatus::Invited)));
        assert_eq!((&read[4], &read[5]), (&None, &None));
    }

    #[test]
    fn a_member_without_id_or_email_makes_the_listing_incomplete() {
        let (paged, _) = drive(MemberPager::new(BASE, 100), |_| json!({"data": [{"name": "x"}]}));
        assert_eq!(reasons(&paged), ["members: page 1 holds a member with neither id nor email"]);
    }
}
