//! The paging state machine: which list pages to ask for, and whether what arrived is
//! the whole list.
//!
//! Real services break paging in every way (see PEERS.md): they ignore `count` or cap it,
//! ignore `startIndex` and answer the first page again, report a wrong or changing
//! `totalResults`, or shift resources between pages. The [`Pager`] never trusts one
//! signal alone. It advances `startIndex` by the number of resources that arrived,
//! dedupes by id, and stops on an empty page, on a page of resources it has already seen,
//! or once it has covered `totalResults`; when the last page was full it asks once past
//! the end, which catches a `totalResults` that is too low. Every inconsistency stops the
//! fetch and is reported as a human-readable reason in [`Completeness::Incomplete`], and a
//! hard cap on the number of pages means it never loops.
//!
//! The driver is a few lines, sequential or concurrent alike:
//!
//! ```
//! # use roster_scim::{Listing, Pager, ListResponse, User};
//! # fn fetch(_: &roster_scim::ScimRequest) -> ListResponse<User> {
//! #     serde_json::from_str(r#"{"totalResults":0}"#).unwrap()
//! # }
//! let mut pager = Pager::<User>::new(Listing::users(None), 100);
//! loop {
//!     let requests = pager.next_requests();
//!     if requests.is_empty() {
//!         break;
//!     }
//!     for page in requests {
//!         pager.receive(page.start_index(), fetch(page.request()));
//!     }
//! }
//! let paged = pager.finish();
//! assert!(paged.completeness.is_complete());
//! ```

use std::collections::{BTreeMap, BTreeSet, HashSet};

use roster_model::Completeness;

use crate::request::ScimRequest;
use crate::wire::{Group, ListResponse, User};

/// The most pages one listing may take, whatever the service says: at 100 per page,
/// ten million resources.
pub const MAX_PAGES: u64 = 100_000;

/// A resource that has an id to dedupe by.
pub trait Identified {
    /// The service's id, if the resource has one.
    fn resource_id(&self) -> Option<&str>;
}

impl Identified for User {
    fn resource_id(&self) -> Option<&str> {
        self.id.as_deref().filter(|id| !id.is_empty())
    }
}

impl Identified for Group {
    fn resource_id(&self) -> Option<&str> {
        self.id.as_deref().filter(|id| !id.is_empty())
    }
}

/// What is being listed, and how each page request looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    /// `GET /Users`.
    Users {
        /// `sortBy`, for services that support sorting (a stable order across pages).
        sort_by: Option<String>,
    },
    /// `GET /Groups`.
    Groups {
        /// `sortBy`, for services that support sorting.
        sort_by: Option<String>,
        /// Ask for `excludedAttributes=members`, so that big groups do not bloat pages.
        exclude_members: bool,
    },
}

impl Listing {
    /// Users, optionally sorted.
    pub fn users(sort_by: Option<&str>) -> Self {
        Listing::Users { sort_by: sort_by.map(str::to_owned) }
    }

    /// Groups, optionally sorted, optionally without members.
    pub fn groups(sort_by: Option<&str>, exclude_members: bool) -> Self {
        Listing::Groups { sort_by: sort_by.map(str::to_owned), exclude_members }
    }

    /// `users` or `groups`, for messages.
    pub fn noun(&self) -> &'static str {
        match self {
            Listing::Users { .. } => "users",
            Listing::Groups { .. } => "groups",
        }
    }

    /// The request for one page.
    pub fn request(&self, start_index: u64, count: u64) -> ScimRequest {
        match self {
            Listing::Users { sort_by } => ScimRequest::list_users(start_index, count, sort_by.as_deref()),
            Listing::Groups { sort_by, exclude_members } => {
                ScimRequest::list_groups(start_index, count, sort_by.as_deref(), *exclude_members)
            }
        }
    }
}

/// One page to fetch.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRequest {
    start_index: u64,
    request: ScimRequest,
}

impl PageRequest {
    /// The one-based index the page starts at; give it back to [`Pager::receive`].
    pub fn start_index(&self) -> u64 {
        self.start_index
    }

    /// The request to send.
    pub fn request(&self) -> &ScimRequest {
        &self.request
    }
}

/// The outcome of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Paged<T> {
    /// Every distinct resource that arrived, in list order.
    pub resources: Vec<T>,
    /// Whether that is the whole list.
    pub completeness: Completeness,
    /// How many pages were processed.
    pub pages: u64,
}

/// The page processed last, to decide what comes next.
#[derive(Clone, Copy, Debug)]
struct LastPage {
    start_index: u64,
    len: u64,
    /// The page lay past `totalResults` and brought nothing new: the end.
    past_end_without_news: bool,
}

/// Computes the page requests of one listing and checks what arrives.
#[derive(Debug)]
pub struct Pager<T> {
    listing: Listing,
    page_size: u64,
    plan_ahead: bool,
    total: Option<u64>,
    pending: BTreeMap<u64, ListResponse<T>>,
    outstanding: BTreeSet<u64>,
    /// How many list positions the processed pages covered: the next page starts after.
    cursor: u64,
    /// The longest page seen: a service that caps pages below `count` shows its cap.
    longest_page: u64,
    planned: bool,
    probed: bool,
    last: Option<LastPage>,
    seen: HashSet<String>,
    resources: Vec<T>,
    pages_processed: u64,
    pages_requested: u64,
    reasons: Vec<String>,
    done: bool,
}

impl<T: Identified> Pager<T> {
    /// A pager asking for `page_size` resources per page (at least 1), one page at a time.
    pub fn new(listing: Listing, page_size: u64) -> Self {
        Pager {
            listing,
            page_size: page_size.max(1),
            plan_ahead: false,
            total: None,
            pending: BTreeMap::new(),
            outstanding: BTreeSet::new(),
            cursor: 0,
            longest_page: 0,
            planned: false,
            probed: false,
            last: None,
            seen: HashSet::new(),
            resources: Vec::new(),
            pages_processed: 0,
            pages_requested: 0,
            reasons: Vec::new(),
            done: false,
        }
    }

    /// Once the first page tells `totalResults`, ask for every remaining page at once, so
    /// that a client can fetch them concurrently. The pages are checked in list order
    /// however they arrive.
    pub fn plan_ahead(mut self, plan_ahead: bool) -> Self {
        self.plan_ahead = plan_ahead;
        self
    }

    /// True once no more requests will come.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The pages to fetch next; empty when the listing is over. Every page returned must
    /// be given to [`Pager::receive`] before this is called again: a page that never
    /// arrives makes the listing incomplete.
    pub fn next_requests(&mut self) -> Vec<PageRequest> {
        self.process_pending();
        if self.done {
            return Vec::new();
        }
        let noun = self.listing.noun();
        let starts = self.next_starts();
        if starts.is_empty() {
            self.done = true;
            return Vec::new();
        }
        let limit = self.page_limit();
        if self.pages_requested + starts.len() as u64 > limit {
            self.stop(format!(
                "{noun}: gave up after {} pages, the most this listing may take ({limit}); \
                 the service keeps sending pages",
                self.pages_requested
            ));
            return Vec::new();
        }
        self.pages_requested += starts.len() as u64;
        starts
            .into_iter()
            .map(|start_index| {
                self.outstanding.insert(start_index);
                PageRequest { start_index, request: self.listing.request(start_index, self.page_size) }
            })
            .collect()
    }

    /// Hands over the page that answered the request starting at `start_index`.
    pub fn receive(&mut self, start_index: u64, page: ListResponse<T>) {
        self.outstanding.remove(&start_index);
        self.pending.insert(start_index, page);
    }

    /// Checks whatever is left and returns the listing with its completeness.
    pub fn finish(mut self) -> Paged<T> {
        self.process_pending();
        if !self.done {
            let noun = self.listing.noun();
            if self.pages_processed == 0 {
                self.reasons.push(format!("{noun}: no page was fetched"));
            } else if !self.next_starts().is_empty() {
                self.reasons.push(format!("{noun}: the listing stopped before its last page"));
            }
        }
        if let (Some(total), true) = (self.total, self.reasons.is_empty()) {
            let n = self.seen.len() as u64;
            if n != total {
                self.reasons.push(format!(
                    "{}: received {n} distinct {} but totalResults is {total}",
                    self.listing.noun(),
                    self.listing.noun()
                ));
            }
        }
        let completeness = if self.reasons.is_empty() {
            Completeness::Complete
        } else {
            Completeness::Incomplete(self.reasons)
        };
        Paged { resources: self.resources, completeness, pages: self.pages_processed }
    }

    fn stop(&mut self, reason: String) {
        self.reasons.push(reason);
        self.done = true;
    }

    /// At most one page per resource the service announced, plus the first page and the
    /// probe past the end; never more than [`MAX_PAGES`].
    fn page_limit(&self) -> u64 {
        match self.total {
            Some(total) => total.saturating_add(2).min(MAX_PAGES),
            None => MAX_PAGES,
        }
    }

    fn process_pending(&mut self) {
        if !self.outstanding.is_empty() && !self.done {
            let missing: Vec<String> = self.outstanding.iter().map(u64::to_string).collect();
            self.stop(format!(
                "{}: the pages at startIndex {} never arrived",
                self.listing.noun(),
                missing.join(", ")
            ));
        }
        self.outstanding.clear();
        while let Some((start_index, page)) = self.pending.pop_first() {
            if self.done {
                continue;
            }
            self.process_page(start_index, page);
        }
    }

    fn process_page(&mut self, start_index: u64, page: ListResponse<T>) {
        let noun = self.listing.noun();
        self.pages_processed += 1;
        match (self.total, page.total_results) {
            (None, Some(total)) => self.total = Some(total),
            (Some(before), Some(now)) if before != now => {
                return self.stop(format!(
                    "{noun}: totalResults changed from {before} to {now} between pages (at startIndex \
                     {start_index}); the list changed during the fetch"
                ));
            }
            _ => {}
        }
        let len = page.resources.len() as u64;
        let mut n_new = 0u64;
        for resource in page.resources {
            let Some(id) = resource.resource_id() else {
                return self.stop(format!(
                    "{noun}: the page at startIndex {start_index} holds a resource without id"
                ));
            };
            if self.seen.insert(id.to_owned()) {
                self.resources.push(resource);
                n_new += 1;
            }
        }
        let past_end = self.total.is_some_and(|total| start_index > total);
        if len > 0 && n_new == 0 && !past_end {
            return self.stop(format!(
                "{noun}: the service answered startIndex={start_index} with {len} {noun} it had already \
                 sent; it may ignore startIndex or repeat pages"
            ));
        }
        if past_end && n_new > 0 {
            let total = self.total.unwrap_or_default();
            return self.stop(format!(
                "{noun}: totalResults is {total} but the service sent {n_new} more {noun} past it \
                 (at startIndex {start_index})"
            ));
        }
        if let Some(total) = self.total
            && self.seen.len() as u64 > total
        {
            return self.stop(format!(
                "{noun}: the service sent {} distinct {noun} but totalResults is {total}",
                self.seen.len()
            ));
        }
        self.cursor = self.cursor.max((start_index - 1).saturating_add(len));
        self.longest_page = self.longest_page.max(len);
        self.last = Some(LastPage { start_index, len, past_end_without_news: past_end && len > 0 });
    }

    /// The start indexes of the next pages, given everything processed so far; empty
    /// when the listing is over (and then any shortfall has been recorded).
    fn next_starts(&mut self) -> Vec<u64> {
        let noun = self.listing.noun();
        let Some(last) = self.last else {
            return if self.pages_processed == 0 { vec![1] } else { Vec::new() };
        };
        if last.past_end_without_news {
            // A service that answers the first page again past the end: the end.
            return Vec::new();
        }
        let Some(total) = self.total else {
            // No totalResults: only an empty page proves the end. A short page does not,
            // since services cap pages below the count asked.
            return if last.len == 0 { Vec::new() } else { vec![self.cursor + 1] };
        };
        let n_seen = self.seen.len() as u64;
        if last.len == 0 {
            if n_seen < total {
                self.reasons.push(format!(
                    "{noun}: the page at startIndex {} was empty after {n_seen} of {total} {noun}",
                    last.start_index
                ));
            }
            return Vec::new();
        }
        if self.cursor >= total {
            if n_seen < total {
                self.reasons.push(format!(
                    "{noun}: received {n_seen} distinct {noun} of the {total} announced; pages overlapped \
                     (no stable order, or the list changed during the fetch)"
                ));
                return Vec::new();
            }
            // A full last page may mean a totalResults that is too low: look past the end.
            let full = last.len >= self.page_size.min(self.longest_page);
            if full && !self.probed {
                self.probed = true;
                return vec![self.cursor + 1];
            }
            return Vec::new();
        }
        if self.plan_ahead && !self.planned {
            self.planned = true;
            let step = self.longest_page.max(1);
            let n_pages = (total - self.cursor).div_ceil(step);
            if n_pages > MAX_PAGES {
                self.reasons.push(format!(
                    "{noun}: totalResults {total} would take {n_pages} pages, more than the limit of {MAX_PAGES}"
                ));
                return Vec::new();
            }
            return (0..n_pages).map(|i| self.cursor + 1 + i * step).collect();
        }
        vec![self.cursor + 1]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A list of `n` users with ids `u1..un`, served by a closure that may misbehave.
    fn users(ids: impl IntoIterator<Item = u64>) -> Vec<User> {
        ids.into_iter()
            .map(|i| {
                serde_json::from_value(json!({"id": format!("u{i}"), "userName": format!("u{i}@x.io")}))
                    .unwrap()
            })
            .collect()
    }

    fn page(total: Option<u64>, resources: Vec<User>) -> ListResponse<User> {
        ListResponse {
            schemas: Vec::new(),
            total_results: total,
            start_index: None,
            items_per_page: None,
            resources,
        }
    }

    /// A well-behaved service with `n` users, serving `min(count, cap)` per page.
    fn honest(n: u64, cap: u64) -> impl FnMut(u64, u64) -> ListResponse<User> {
        move |start, count| {
            let end = (start - 1 + count.min(cap)).min(n);
            page(Some(n), users(start..=end))
        }
    }

    /// Drives a pager against a service; returns the outcome and the requests made.
    fn drive(
        mut pager: Pager<User>,
        mut serve: impl FnMut(u64, u64) -> ListResponse<User>,
    ) -> (Paged<User>, Vec<String>) {
        let mut log = Vec::new();
        loop {
            let requests = pager.next_requests();
            if requests.is_empty() {
                break;
            }
            for req in requests {
                log.push(req.request().query().to_owned());
                let count = req.request().query().split("count=").nth(1).unwrap().parse().unwrap();
                pager.receive(req.start_index(), serve(req.start_index(), count));
            }
            assert!(log.len() < 10_000, "the pager loops");
        }
        (pager.finish(), log)
    }

    fn ids(paged: &Paged<User>) -> Vec<String> {
        paged.resources.iter().map(|u| u.id.clone().unwrap()).collect()
    }

    fn reasons(paged: &Paged<User>) -> Vec<String> {
        match &paged.completeness {
            Completeness::Complete => Vec::new(),
            Completeness::Incomplete(reasons) => reasons.clone(),
        }
    }

    #[test]
    fn pages_until_the_total_is_covered() {
        let (paged, log) = drive(Pager::new(Listing::users(None), 100), honest(250, 1000));
        assert_eq!(log, ["startIndex=1&count=100", "startIndex=101&count=100", "startIndex=201&count=100"]);
        assert!(paged.completeness.is_complete());
        assert_eq!(ids(&paged), (1..=250).map(|i| format!("u{i}")).collect::<Vec<_>>());
        assert_eq!(paged.pages, 3);
    }

    #[test]
    fn a_full_last_page_is_confirmed_by_one_look_past_the_end() {
        let (paged, log) = drive(Pager::new(Listing::users(None), 100), honest(200, 1000));
        assert_eq!(log.len(), 3);
        assert_eq!(log[2], "startIndex=201&count=100");
        assert!(paged.completeness.is_complete());
    }

    #[test]
    fn empty_list_without_resources_key() {
        let (paged, log) = drive(Pager::new(Listing::users(None), 100), |_, _| page(Some(0), Vec::new()));
        assert_eq!(log.len(), 1);
        assert!(paged.completeness.is_complete());
        assert!(paged.resources.is_empty());
    }

    #[test]
    fn planned_pages_cover_the_rest_at_once() {
        let mut pager = Pager::<User>::new(Listing::groups(None, true), 100).plan_ahead(true);
        let first = pager.next_requests();
        assert_eq!(first.len(), 1);
        let mut serve = honest(450, 1000);
        pager.receive(1, serve(1, 100));
        let rest = pager.next_requests();
        assert_eq!(rest.iter().map(PageRequest::start_index).collect::<Vec<_>>(), [101, 201, 301, 401]);
        assert_eq!(rest[0].request().query(), "startIndex=101&count=100&excludedAttributes=members");
        // Pages arrive in any order; they are checked in list order.
        for req in rest.iter().rev() {
            pager.receive(req.start_index(), serve(req.start_index(), 100));
        }
        assert!(pager.next_requests().is_empty());
        let paged = pager.finish();
        assert!(paged.completeness.is_complete());
        assert_eq!(ids(&paged).len(), 450);
        assert_eq!(ids(&paged)[100], "u101");
    }

    #[test]
    fn a_service_capping_pages_below_count_is_followed() {
        for plan_ahead in [false, true] {
            let (paged, log) =
                drive(Pager::new(Listing::users(None), 100).plan_ahead(plan_ahead), honest(120, 50));
            assert!(paged.completeness.is_complete(), "{plan_ahead}: {:?}", paged.completeness);
            assert_eq!(
                log,
                ["startIndex=1&count=100", "startIndex=51&count=100", "startIndex=101&count=100"]
            );
            assert_eq!(ids(&paged).len(), 120);
        }
    }

    #[test]
    fn count_ignored_with_more_than_asked_advances_by_what_arrived() {
        for plan_ahead in [false, true] {
            let (paged, log) =
                drive(Pager::new(Listing::users(None), 10).plan_ahead(plan_ahead), |start, _| {
                    honest(95, 1000)(start, 40)
                });
            assert!(paged.completeness.is_complete());
            // The last page is longer than the count asked, so the pager looks past the end.
            assert_eq!(
                log,
                [
                    "startIndex=1&count=10",
                    "startIndex=41&count=10",
                    "startIndex=81&count=10",
                    "startIndex=96&count=10"
                ]
            );
            assert_eq!(ids(&paged).len(), 95);
        }
    }

    #[test]
    fn start_index_ignored_stops_as_incomplete() {
        for plan_ahead in [false, true] {
            let (paged, log) =
                drive(Pager::new(Listing::users(None), 100).plan_ahead(plan_ahead), |_, count| {
                    honest(250, 1000)(1, count)
                });
            assert_eq!(
                reasons(&paged),
                ["users: the service answered startIndex=101 with 100 users it had already sent; \
                  it may ignore startIndex or repeat pages"]
            );
            assert!(log.len() <= 3);
            assert_eq!(ids(&paged).len(), 100);
        }
    }

    #[test]
    fn first_page_again_past_the_end_is_the_end() {
        let mut serve = honest(200, 1000);
        let (paged, log) = drive(Pager::new(Listing::users(None), 100), move |start, count| {
            if start > 200 { serve(1, count) } else { serve(start, count) }
        });
        assert!(paged.completeness.is_complete(), "{:?}", paged.completeness);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn total_results_too_low_is_caught_by_the_look_past_the_end() {
        // The bug seen in the wild: totalResults equal to the page size.
        let (paged, _) = drive(Pager::new(Listing::users(None), 100), |start, count| {
            let mut p = honest(250, 1000)(start, count);
            p.total_results = Some(100);
            p
        });
        assert_eq!(
            reasons(&paged),
            ["users: totalResults is 100 but the service sent 100 more users past it (at startIndex 101)"]
        );
    }

    #[test]
    fn total_results_too_high_ends_on_an_empty_page() {
        let (paged, log) = drive(Pager::new(Listing::users(None), 100).plan_ahead(true), |start, count| {
            let mut p = honest(150, 1000)(start, count);
            p.total_results = Some(300);
            p
        });
        assert_eq!(reasons(&paged), ["users: the page at startIndex 201 was empty after 150 of 300 users"]);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn total_results_that_changes_stops() {
        let mut n = 0;
        let (paged, _) = drive(Pager::new(Listing::users(None), 100), move |start, count| {
            n += 1;
            honest(300 + n, 1000)(start, count)
        });
        assert_eq!(
            reasons(&paged),
            ["users: totalResults changed from 301 to 302 between pages (at startIndex 101); \
              the list changed during the fetch"]
        );
    }

    #[test]
    fn overlapping_pages_are_deduped_and_reported() {
        // Unstable order: the second page starts ten positions early.
        let (paged, _) = drive(Pager::new(Listing::users(None), 100), |start, count| {
            honest(250, 1000)(if start == 101 { start - 10 } else { start }, count)
        });
        assert_eq!(
            reasons(&paged),
            ["users: received 240 distinct users of the 250 announced; pages overlapped \
              (no stable order, or the list changed during the fetch)"]
        );
        assert_eq!(ids(&paged).len(), 240);
    }

    #[test]
    fn missing_total_pages_until_empty() {
        let (paged, log) = drive(Pager::new(Listing::users(None), 100), |start, count| {
            let mut p = honest(130, 50)(start, count);
            p.total_results = None;
            p
        });
        assert!(paged.completeness.is_complete());
        assert_eq!(ids(&paged).len(), 130);
        assert_eq!(log.len(), 4);
    }

    #[test]
    fn an_endless_service_is_cut_off() {
        // New ids forever, no totalResults, startIndex honoured: only the cap stops it.
        let mut pager = Pager::<User>::new(Listing::users(None), 1);
        let mut n_pages = 0u64;
        loop {
            let requests = pager.next_requests();
            if requests.is_empty() {
                break;
            }
            for req in requests {
                n_pages += 1;
                pager.receive(req.start_index(), page(None, users([req.start_index()])));
            }
        }
        assert_eq!(n_pages, MAX_PAGES);
        let paged = pager.finish();
        assert_eq!(
            reasons(&paged),
            [format!(
                "users: gave up after {MAX_PAGES} pages, the most this listing may take ({MAX_PAGES}); the service keeps sending pages"
            )]
        );
    }

    #[test]
    fn a_resource_without_id_makes_the_listing_incomplete() {
        let (paged, _) = drive(Pager::new(Listing::users(None), 100), |_, _| {
            page(Some(1), vec![serde_json::from_value(json!({"userName": "a@x.io"})).unwrap()])
        });
        assert_eq!(reasons(&paged), ["users: the page at startIndex 1 holds a resource without id"]);
    }

    #[test]
    fn a_page_that_never_arrives_makes_the_listing_incomplete() {
        let mut pager = Pager::<User>::new(Listing::users(None), 10).plan_ahead(true);
        pager.next_requests();
        pager.receive(1, honest(30, 100)(1, 10));
        let rest = pager.next_requests();
        pager.receive(rest[0].start_index(), honest(30, 100)(11, 10));
        assert!(pager.next_requests().is_empty());
        let paged = pager.finish();
        assert_eq!(reasons(&paged), ["users: the pages at startIndex 21 never arrived"]);
    }
}
