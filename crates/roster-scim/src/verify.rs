//! Verification compares values: what a write meant to change against what the service's
//! answer (or a read-back) shows, attribute by attribute. A 2xx whose body shows
//! otherwise is a failed operation.

use std::collections::HashSet;
use std::fmt;

use roster_model::{UserAttribute, UserAttributes, UserChanges, UserKey};

/// One thing a write meant to change that the service does not show changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The attribute, e.g. `title` or `members`.
    pub attribute: String,
    /// What roster sent.
    pub wanted: String,
    /// What the service shows.
    pub shown: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (sent {}, the service shows {})", self.attribute, self.wanted, self.shown)
    }
}

/// The sentence for an answer that says yes and shows otherwise, e.g. "the service
/// answered 200 but did not apply: title (sent "CTO", the service shows none)".
pub fn not_applied_message(status: u16, mismatches: &[Mismatch]) -> String {
    let list: Vec<String> = mismatches.iter().map(Mismatch::to_string).collect();
    format!("the service answered {status} but did not apply: {}", list.join("; "))
}

fn quoted(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| format!("{v:?}"))
}

/// The changes a user update meant that `shown` does not carry. A userName compares by
/// its identity key (services may change its case); everything else exactly.
pub fn unapplied_user_changes(changes: &UserChanges, shown: &UserAttributes) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    for attribute in UserAttribute::ALL {
        let Some(wanted) = attribute.value_in_changes(changes) else { continue };
        let have = attribute.value_in(shown);
        let same = match attribute {
            UserAttribute::UserName => have.is_some_and(|h| UserKey::new(h) == UserKey::new(wanted)),
            _ => have == Some(wanted),
        };
        if !same {
            mismatches.push(Mismatch {
                attribute: attribute.scim_path().to_owned(),
                wanted: quoted(Some(wanted)),
                shown: quoted(have),
            });
        }
    }
    if let Some(active) = changes.active
        && shown.active != active
    {
        mismatches.push(Mismatch {
            attribute: "active".to_owned(),
            wanted: active.to_string(),
            shown: shown.active.to_string(),
        });
    }
    mismatches
}

/// The attributes a create carried, as the changes it means: every attribute set, and
/// `active`.
pub fn changes_of_create(attributes: &UserAttributes) -> UserChanges {
    UserChanges {
        user_name: Some(attributes.user_name.clone()),
        external_id: attributes.external_id.clone(),
        display_name: attributes.display_name.clone(),
        given_name: attributes.given_name.clone(),
        family_name: attributes.family_name.clone(),
        title: attributes.title.clone(),
        role: attributes.role.clone(),
        active: Some(attributes.active),
    }
}

/// The member changes the group in `shown` does not carry: an added id missing, a
/// removed id still there.
pub fn unapplied_member_changes(added: &[String], removed: &[String], shown: &[String]) -> Vec<Mismatch> {
    let present: HashSet<&str> = shown.iter().map(String::as_str).collect();
    let mut mismatches = Vec::new();
    let missing: Vec<&str> = added.iter().map(String::as_str).filter(|id| !present.contains(id)).collect();
    if !missing.is_empty() {
        mismatches.push(Mismatch {
            attribute: "members".to_owned(),
            wanted: format!("added {}", ids(&missing)),
            shown: "them missing".to_owned(),
        });
    }
    let kept: Vec<&str> = removed.iter().map(String::as_str).filter(|id| present.contains(id)).collect();
    if !kept.is_empty() {
        mismatches.push(Mismatch {
            attribute: "members".to_owned(),
            wanted: format!("removed {}", ids(&kept)),
            shown: "them still there".to_owned(),
        });
    }
    mismatches
}

fn ids(ids: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut text = ids.iter().take(SHOWN).map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    text
}

/// A group text attribute (displayName, externalId) the answer does not carry.
pub fn unapplied_group_text(attribute: &str, wanted: &str, shown: Option<&str>) -> Option<Mismatch> {
    (shown != Some(wanted)).then(|| Mismatch {
        attribute: attribute.to_owned(),
        wanted: quoted(Some(wanted)),
        shown: quoted(shown),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_shown_with_the_old_value_is_named() {
        let shown = UserAttributes {
            user_name: "Ada@Example.com".into(),
            title: Some("Analyst".into()),
            active: true,
            ..Default::default()
        };
        let changes = UserChanges {
            user_name: Some("ada@example.com".into()),
            title: Some("CTO".into()),
            active: Some(false),
            ..Default::default()
        };
        let mismatches = unapplied_user_changes(&changes, &shown);
        assert_eq!(
            not_applied_message(200, &mismatches),
            "the service answered 200 but did not apply: title (sent \"CTO\", the service shows \"Analyst\"); \
             active (sent false, the service shows true)"
        );
        let applied = UserAttributes { title: Some("CTO".into()), active: false, ..shown };
        assert_eq!(unapplied_user_changes(&changes, &applied), []);
    }

    #[test]
    fn members_are_checked_both_ways() {
        let shown = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(unapplied_member_changes(&["a".into()], &["c".into()], &shown), []);
        let mismatches = unapplied_member_changes(&["c".into()], &["b".into()], &shown);
        assert_eq!(mismatches.len(), 2);
        assert_eq!(mismatches[0].to_string(), "members (sent added \"c\", the service shows them missing)");
        assert_eq!(
            mismatches[1].to_string(),
            "members (sent removed \"b\", the service shows them still there)"
        );
    }

    #[test]
    fn a_create_is_checked_on_everything_it_set() {
        let attrs = UserAttributes {
            user_name: "a@x.io".into(),
            role: Some("maker".into()),
            active: true,
            ..Default::default()
        };
        let shown = UserAttributes { role: Some("contributor".into()), ..attrs.clone() };
        let mismatches = unapplied_user_changes(&changes_of_create(&attrs), &shown);
        assert_eq!(mismatches.len(), 1);
        assert_eq!(mismatches[0].attribute, "roles");
    }
}
