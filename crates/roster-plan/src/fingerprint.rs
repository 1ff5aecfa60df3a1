//! The fingerprint of a live state: what a saved plan was made from.

use std::cmp::Ordering;

use roster_model::{Completeness, LiveGroup, LiveState, LiveUser};
use sha2::{Digest, Sha256};

/// Feeds a canonical, injective encoding into sha256: every string is length-prefixed,
/// every optional value tagged, so that no two states encode alike.
struct Feed {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl Feed {
    fn bytes(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= 64 * 1024 {
            self.hasher.update(&self.buffer);
            self.buffer.clear();
        }
    }

    fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            None => self.buffer.push(0),
            Some(text) => {
                self.buffer.push(1);
                self.text(text);
            }
        }
    }

    fn count(&mut self, n: usize) {
        self.buffer.extend_from_slice(&(n as u64).to_le_bytes());
    }

    fn finish(mut self) -> String {
        self.hasher.update(&self.buffer);
        self.hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

fn user_fields(user: &LiveUser) -> impl Ord + '_ {
    let a = &user.attributes;
    (
        &user.id,
        &a.user_name,
        &a.external_id,
        &a.display_name,
        (&a.given_name, &a.family_name, &a.title, &a.role, a.active),
    )
}

fn compare_groups(a: &(&LiveGroup, Vec<&str>), b: &(&LiveGroup, Vec<&str>)) -> Ordering {
    (&a.0.id, &a.0.display_name, &a.0.external_id, &a.1).cmp(&(
        &b.0.id,
        &b.0.display_name,
        &b.0.external_id,
        &b.1,
    ))
}

/// See [`crate::live_fingerprint`].
pub(crate) fn live_fingerprint(live: &LiveState) -> String {
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| user_fields(a).cmp(&user_fields(b))));
    let mut groups: Vec<(&LiveGroup, Vec<&str>)> = live
        .groups
        .iter()
        .map(|group| {
            let mut members: Vec<&str> = group.members.iter().map(String::as_str).collect();
            members.sort_unstable();
            (group, members)
        })
        .collect();
    groups.sort_by(compare_groups);

    let mut feed = Feed { hasher: Sha256::new(), buffer: Vec::with_capacity(72 * 1024) };
    feed.text("roster live state v1");
    feed.count(users.len());
    for user in users {
        let a = &user.attributes;
        feed.text(&user.id);
        feed.text(&a.user_name);
        for value in [&a.external_id, &a.display_name, &a.given_name, &a.family_name, &a.title, &a.role] {
            feed.optional(value.as_deref());
        }
        feed.buffer.push(u8::from(a.active));
    }
    feed.count(groups.len());
    for (group, members) in groups {
        feed.text(&group.id);
        feed.text(&group.display_name);
        feed.optional(group.external_id.as_deref());
        feed.count(members.len());
        for member in members {
            feed.text(member);
        }
    }
    match &live.completeness {
        Completeness::Complete => feed.buffer.push(0),
        Completeness::Incomplete(reasons) => {
            feed.buffer.push(1);
            feed.count(reasons.len());
            for reason in reasons {
                feed.text(reason);
            }
        }
    }
    feed.finish()
}

#[cfg(test)]
mod tests {
    use roster_model::UserAttributes;

    use super::*;

    fn user(id: &str, name: &str) -> LiveUser {
        LiveUser {
            created: None,
            id: id.into(),
            attributes: UserAttributes { user_name: name.into(), active: true, ..Default::default() },
        }
    }

    fn state(users: Vec<LiveUser>, members: Vec<&str>) -> LiveState {
        LiveState {
            users,
            groups: vec![LiveGroup {
                id: "g1".into(),
                display_name: "Eng".into(),
                external_id: None,
                members: members.into_iter().map(String::from).collect(),
                created: None,
            }],
            completeness: Completeness::Complete,
        }
    }

    #[test]
    fn order_does_not_matter_but_content_does() {
        let a = state(vec![user("u1", "ada@example.com"), user("u2", "bob@example.com")], vec!["u1", "u2"]);
        let b = state(vec![user("u2", "bob@example.com"), user("u1", "ada@example.com")], vec!["u2", "u1"]);
        assert_eq!(live_fingerprint(&a), live_fingerprint(&b));
        assert_eq!(live_fingerprint(&a).len(), 64);

        let mut renamed = a.clone();
        renamed.users[0].attributes.user_name = "ada2@example.com".into();
        assert_ne!(live_fingerprint(&a), live_fingerprint(&renamed));
        let mut deactivated = a.clone();
        deactivated.users[0].attributes.active = false;
        assert_ne!(live_fingerprint(&a), live_fingerprint(&deactivated));
        let mut titled = a.clone();
        titled.users[1].attributes.title = Some(String::new());
        assert_ne!(live_fingerprint(&a), live_fingerprint(&titled), "an empty title is not an absent one");
        let mut fewer = a.clone();
        fewer.groups[0].members.pop();
        assert_ne!(live_fingerprint(&a), live_fingerprint(&fewer));
        let mut incomplete = a.clone();
        incomplete.completeness = Completeness::Incomplete(vec!["short page".into()]);
        assert_ne!(live_fingerprint(&a), live_fingerprint(&incomplete));
    }

    #[test]
    fn strings_are_length_prefixed() {
        // Without length prefixes, these two would feed the same bytes.
        let a = state(vec![user("u1", "ab")], vec![]);
        let b = state(vec![user("u1a", "b")], vec![]);
        assert_ne!(live_fingerprint(&a), live_fingerprint(&b));
    }
}
