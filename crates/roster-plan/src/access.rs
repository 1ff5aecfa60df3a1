//! Access that ends or is due for review, judged on the plan's as-of day.

use roster_model::{Date, DesiredState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The dates of the file, judged on the as-of day: what has expired, what expires
/// within the notice period, and whose access is due for review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessDates {
    /// The day the dates are judged on.
    pub as_of: Date,
    /// `policy.expiry_notice_days`: how far ahead expiring access is listed.
    pub notice_days: u32,
    /// Users and memberships whose `expires` day has come: users are deactivated and
    /// memberships removed (the operations say so, where the service still has them).
    pub expired: Vec<Expiry>,
    /// Users and memberships whose `expires` day is within the notice period.
    pub expiring: Vec<Expiry>,
    /// Users whose `review_after` day has come.
    pub reviews_due: Vec<ReviewDue>,
}

/// An access that ends: a user's (`group` null) or a membership's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expiry {
    /// The user, as the file writes it.
    pub user_name: String,
    /// The group of a membership; null for the user's own access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The first day without access.
    pub expires: Date,
    /// Days from the as-of day to `expires` (0 or less once expired).
    pub days_left: i64,
}

/// A user due for review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDue {
    /// The user, as the file writes it.
    pub user_name: String,
    /// The file's `review_after` day.
    pub review_after: Date,
}

impl AccessDates {
    /// Judges the file's dates on `as_of`. Tombstones (`active: false`) are left out:
    /// their access has ended already.
    pub fn judge(desired: &DesiredState, as_of: Date) -> AccessDates {
        let notice_days = desired.policy.expiry_notice_days;
        let mut dates = AccessDates {
            as_of,
            notice_days,
            expired: Vec::new(),
            expiring: Vec::new(),
            reviews_due: Vec::new(),
        };
        let mut sort = |user_name: &str, group: Option<&str>, expires: Date| {
            let days_left = as_of.days_until(expires);
            let entry = Expiry {
                user_name: user_name.to_owned(),
                group: group.map(str::to_owned),
                expires,
                days_left,
            };
            if days_left <= 0 {
                dates.expired.push(entry);
            } else if days_left <= i64::from(notice_days) {
                dates.expiring.push(entry);
            }
        };
        for user in desired.users.iter().filter(|u| u.attributes.active) {
            if let Some(expires) = user.expires {
                sort(&user.attributes.user_name, None, expires);
            }
        }
        for group in &desired.groups {
            for membership in &group.expiring_members {
                sort(&membership.user_name, Some(&group.display_name), membership.expires);
            }
        }
        for user in
            desired.users.iter().filter(|u| u.attributes.active && u.expired_on(Some(as_of)).is_none())
        {
            if let Some(review_after) = user.review_after.filter(|day| *day <= as_of) {
                dates
                    .reviews_due
                    .push(ReviewDue { user_name: user.attributes.user_name.clone(), review_after });
            }
        }
        let order = |e: &Expiry| (e.expires, e.user_name.to_lowercase(), e.group.clone());
        dates.expired.sort_by_key(order);
        dates.expiring.sort_by_key(order);
        dates.reviews_due.sort_by_key(|r| (r.review_after, r.user_name.to_lowercase()));
        dates
    }

    /// True when no section has an entry.
    pub fn is_empty(&self) -> bool {
        self.expired.is_empty() && self.expiring.is_empty() && self.reviews_due.is_empty()
    }
}
