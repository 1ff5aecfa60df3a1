//! Matching desired users to live users, and the user operations that follow.
//!
//! Matching runs in three passes over the desired users, each in userName order so that
//! the result does not depend on the order of the file:
//!
//! 1. by externalId, when both sides have one;
//! 2. by userName, case-insensitively;
//! 3. by a `previously` name, in the order the file lists them.
//!
//! A live user is matched at most once: the first pass to claim it wins, so an
//! externalId match beats a userName match. When two live users compete for one desired
//! user (a shared externalId, a duplicate userName, or a desired user whose externalId
//! names one live user while its userName names another), the planner matches one and
//! leaves the others alone with a warning: ambiguity never deactivates anyone.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use roster_model::identity::{self, Lookalike};
use roster_model::{
    Date, DesiredState, DesiredUser, Grant, LiveState, LiveUser, UnmanagedUsers, UserAttributes, UserChanges,
};

use crate::claims::{self, Claim, Verdict};
use crate::index::{FastMap, Index, fold, map_with_capacity};
use crate::types::{DeactivationReason, KeptReason, KeptUser, Operation, ProtectedUser, Revival};

/// How a desired user found its live user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MatchedBy {
    ExternalId,
    UserName,
    Previously,
}

/// What a group member named in the file stands for in this plan.
#[derive(Clone, Debug)]
pub(crate) enum MemberTarget<'a> {
    /// An existing user: the desired entry and the index of the live user it matched.
    Live { desired: &'a DesiredUser, live: usize },
    /// A user created by this plan.
    Created { desired: &'a DesiredUser },
    /// A user that has no account and gets none; the text says why.
    Missing(String),
}

/// The user half of a plan.
pub(crate) struct UserPlan<'a> {
    /// Deactivations, in apply order.
    pub deactivations: Vec<Operation>,
    /// Updates and reactivations, in apply order.
    pub updates: Vec<Operation>,
    /// Creates, in apply order.
    pub creates: Vec<Operation>,
    /// Unmanaged active users left alone.
    pub kept: Vec<KeptUser>,
    /// Users spared by `policy.protected`.
    pub protected: Vec<ProtectedUser>,
    /// Active live users (each id once), the base of a percentage rail.
    pub n_active_live: u64,
    /// What each desired userName key stands for, for group members.
    pub members: FastMap<Cow<'a, str>, MemberTarget<'a>>,
    /// The live users, as fetched.
    pub live_users: &'a [LiveUser],
    /// Indices of live users by id, for group members.
    pub live_by_id: FastMap<&'a str, usize>,
    /// The day dates are judged on, for memberships that end.
    pub as_of: Option<Date>,
    /// The live user each desired user matched (by index into `desired.users` and
    /// `live.users`), for `roster export --live`.
    pub matched: Vec<Option<usize>>,
    /// Live users left out as repeats of another entry with the same id.
    pub dropped: Vec<bool>,
}

impl UserPlan<'_> {
    /// What a member name of the file stands for; `None` when no desired user has it.
    pub fn member(&self, user_name: &str) -> Option<&MemberTarget<'_>> {
        self.members.get(fold(user_name).as_ref())
    }
}

pub(crate) fn plan_users<'a>(
    desired: &'a DesiredState,
    live: &'a LiveState,
    as_of: Option<Date>,
    complete: bool,
    warnings: &mut Vec<String>,
    conflicts: &mut Vec<String>,
) -> UserPlan<'a> {
    let d_users = &desired.users;
    let l_users = &live.users;
    let d_keys: Vec<Cow<'a, str>> = d_users.iter().map(|u| fold(&u.attributes.user_name)).collect();

    // The live users' keys and the indexes by id, key and externalId, built in the
    // order of the fetch (no sort of 100,000 users); candidates that share a key are
    // sorted by id afterwards. A repeated id is a fetch that went wrong; the entry that
    // sorts first by its attributes is used, so that the order of the fetch does not
    // matter.
    let n_live = l_users.len();
    let mut l_keys: Vec<Cow<'a, str>> = Vec::with_capacity(n_live);
    let mut by_key = Index::with_capacity(n_live);
    let mut by_external_id = Index::with_capacity(n_live);
    let mut live_by_id: FastMap<&'a str, usize> = map_with_capacity(n_live);
    let mut dropped = vec![false; n_live];
    let mut repeated_ids: Vec<&str> = Vec::new();
    for (l, user) in l_users.iter().enumerate() {
        l_keys.push(fold(&user.attributes.user_name));
        match live_by_id.entry(user.id.as_str()) {
            Entry::Vacant(slot) => {
                slot.insert(l);
            }
            Entry::Occupied(mut slot) => {
                let kept = *slot.get();
                repeated_ids.push(&user.id);
                if canonical(user) < canonical(&l_users[kept]) {
                    slot.insert(l);
                    dropped[kept] = true;
                } else {
                    dropped[l] = true;
                }
            }
        }
    }
    for (l, user) in l_users.iter().enumerate() {
        if !dropped[l] {
            by_key.insert(&l_keys[l], l);
            if let Some(external_id) = user.attributes.external_id.as_deref() {
                by_external_id.insert(external_id, l);
            }
        }
    }
    let by_id_then_position = |a: &usize, b: &usize| l_users[*a].id.cmp(&l_users[*b].id).then(a.cmp(b));
    by_key.sort_shared(by_id_then_position);
    by_external_id.sort_shared(by_id_then_position);
    repeated_ids.sort_unstable();
    repeated_ids.dedup();
    for id in repeated_ids {
        let kept = live_by_id[id];
        warnings.push(format!(
            "live user id {id:?} appears more than once; only one entry ({}) is used",
            l_users[kept].attributes.user_name
        ));
    }

    // Desired users in key order, each key once; validation rejects duplicates, and the
    // planner, which cannot fail, uses the first entry of the file.
    let mut d_order: Vec<usize> = (0..d_users.len()).collect();
    d_order.sort_by(|&a, &b| d_keys[a].cmp(&d_keys[b]).then(a.cmp(&b)));
    d_order.dedup_by(|later, first| {
        let same = d_keys[*later] == d_keys[*first];
        if same {
            warnings.push(format!(
                "desired user {} is listed twice (userNames match case-insensitively); only the \
                 first entry is used",
                d_users[*later].attributes.user_name
            ));
        }
        same
    });

    // The externalId each desired user is matched and written by. Validation rejects a
    // shared one; the planner uses it for the first user only, so that two desired users
    // never compete for one live user or give two live users the same externalId.
    let mut d_external_id: Vec<Option<&str>> =
        d_users.iter().map(|u| u.attributes.external_id.as_deref()).collect();
    let mut first_with: FastMap<&str, usize> = map_with_capacity(d_order.len());
    for &d in &d_order {
        let Some(external_id) = d_external_id[d] else { continue };
        match first_with.entry(external_id) {
            Entry::Vacant(slot) => {
                slot.insert(d);
            }
            Entry::Occupied(slot) => {
                let first = &d_users[*slot.get()].attributes.user_name;
                warnings.push(format!(
                    "desired users {first} and {} have the same externalId {external_id:?}; it is used for \
                     {first} only",
                    d_users[d].attributes.user_name,
                ));
                d_external_id[d] = None;
            }
        }
    }

    let mut key_shared = vec![false; l_users.len()];
    for l in by_key.shared() {
        key_shared[l] = true;
    }
    let mut external_id_shared = vec![false; l_users.len()];
    for l in by_external_id.shared() {
        external_id_shared[l] = true;
    }

    let mut d_match: Vec<Option<(usize, MatchedBy)>> = vec![None; d_users.len()];
    let mut l_claim: Vec<Option<usize>> = vec![None; l_users.len()];

    // Claims the first free candidate, preferring one whose userName is the desired one;
    // returns false when every candidate is taken.
    let claim = |d: usize,
                 candidates: &[usize],
                 how: MatchedBy,
                 d_match: &mut Vec<Option<(usize, MatchedBy)>>,
                 l_claim: &mut Vec<Option<usize>>|
     -> bool {
        let mut free = candidates.iter().copied().filter(|&l| l_claim[l].is_none());
        let Some(first) = free.next() else { return false };
        let chosen = std::iter::once(first).chain(free).find(|&l| l_keys[l] == d_keys[d]).unwrap_or(first);
        d_match[d] = Some((chosen, how));
        l_claim[chosen] = Some(d);
        true
    };

    // A tombstone deactivates only the account it names by userName or a previous name,
    // so it never matches by externalId (see the check of tombstones' externalIds below).
    for &d in &d_order {
        if let Some(external_id) = d_external_id[d]
            && d_users[d].attributes.active
        {
            claim(d, by_external_id.get(external_id), MatchedBy::ExternalId, &mut d_match, &mut l_claim);
        }
    }
    // Desired users whose userName belongs to a live user matched to someone else.
    let mut displaced: Vec<(usize, usize)> = Vec::new();
    for &d in &d_order {
        if d_match[d].is_some() {
            continue;
        }
        let candidates = by_key.get(&d_keys[d]);
        if !candidates.is_empty() && !claim(d, candidates, MatchedBy::UserName, &mut d_match, &mut l_claim) {
            displaced.push((d, candidates[0]));
        }
    }
    for &d in &d_order {
        if d_match[d].is_some() {
            continue;
        }
        for previous in &d_users[d].previously {
            if claim(d, by_key.get(&fold(previous)), MatchedBy::Previously, &mut d_match, &mut l_claim) {
                break;
            }
        }
    }
    // A live user left unmatched that shares the userName or the externalId of a matched
    // desired user may be that person's second account: it is not treated as unmanaged.
    // This depends only on the final matching, so a plan and the plan after it agree.
    let mut ambiguous: HashMap<usize, String> = HashMap::new();
    for &d in &d_order {
        let Some((matched, how)) = d_match[d] else { continue };
        let how = match how {
            MatchedBy::ExternalId => "by externalId",
            MatchedBy::UserName => "by userName",
            MatchedBy::Previously => "by a previous userName",
        };
        let name = &d_users[d].attributes.user_name;
        let matched_user = &l_users[matched];
        // Most users share nothing with anyone: skip the lookups when the matched user's
        // own key and externalId are the desired ones and no other live user has them.
        let same_name = if d_keys[d] == l_keys[matched] && !key_shared[matched] {
            &[][..]
        } else {
            by_key.get(&d_keys[d])
        };
        let same_external_id = match d_external_id[d] {
            None => &[][..],
            Some(external_id)
                if matched_user.attributes.external_id.as_deref() == Some(external_id)
                    && !external_id_shared[matched] =>
            {
                &[][..]
            }
            Some(external_id) => by_external_id.get(external_id),
        };
        let same_name = same_name.iter().map(|&o| (o, "userName"));
        let same_external_id = same_external_id.iter().map(|&o| (o, "externalId"));
        // A live account under one of the user's previous names, besides the account the
        // user matched, is the same person's other account.
        let previous_names = d_users[d].previously.iter().flat_map(|p| by_key.get(&fold(p)).iter().copied());
        let previous_names = previous_names.map(|o| (o, "previous userName"));
        for (other, what) in same_name.chain(same_external_id).chain(previous_names) {
            if other != matched && l_claim[other].is_none() {
                ambiguous.entry(other).or_insert_with(|| {
                    format!(
                        "it has the {what} of desired user {name}, which matched live user {} (id {}) {how}",
                        matched_user.attributes.user_name, matched_user.id
                    )
                });
            }
        }
    }
    // A tombstone's externalId that belongs to another live account than the one the
    // tombstone names: the entry mixes two people up (a copied line, a typo), and which
    // of them is leaving is a guess. A holder matched to another desired user is a
    // conflict; a holder left unmatched is kept, as a possible second account.
    for &d in &d_order {
        let tombstone = &d_users[d];
        let Some(external_id) = d_external_id[d].filter(|_| !tombstone.attributes.active) else { continue };
        let named = d_match[d].map(|(l, _)| l);
        for &holder in by_external_id.get(external_id) {
            if Some(holder) == named {
                continue;
            }
            let name = &tombstone.attributes.user_name;
            let holder_user = &l_users[holder];
            match l_claim[holder] {
                Some(other) => conflicts.push(format!(
                    "tombstone {name} (active: false) has externalId {external_id:?}, which belongs to live user \
                     {} (id {}), the account of desired user {}: a tombstone deactivates only the account \
                     it names by userName or previous name",
                    holder_user.attributes.user_name, holder_user.id, d_users[other].attributes.user_name
                )),
                // A deactivated holder is not deactivated again, so it would never be
                // reported as a possible second account: the disagreement is a conflict.
                None if !holder_user.attributes.active => conflicts.push(format!(
                    "tombstone {name} (active: false) has externalId {external_id:?}, which belongs to \
                     deactivated live user {} (id {}), not to the account the tombstone names: a tombstone \
                     deactivates only the account it names by userName or previous name",
                    holder_user.attributes.user_name, holder_user.id
                )),
                None => {
                    let names = match named {
                        Some(l) => format!("names live user {} (id {})", l_users[l].attributes.user_name, l_users[l].id),
                        None => "names no live account by userName or previous name".to_string(),
                    };
                    ambiguous.entry(holder).or_insert_with(|| {
                        format!(
                            "it has the externalId of tombstone {name} (active: false), which {names}; a \
                             tombstone deactivates only the account it names (list this account's userName \
                             under `previously` to deactivate it)"
                        )
                    });
                }
            }
        }
    }

    // userNames that look alike without being one key (another script's letter, an
    // invisible character, a stray space) name two people to a reader and one to no
    // rule: every such group is a conflict, unless it is one desired user and the one
    // live account matched to it (a rename that sets the name right).
    let (lookalike_kept, lookalike_held) = lookalike_conflicts(
        d_users, &d_order, &d_keys, l_users, &l_keys, &dropped, &d_match, &l_claim, conflicts,
    );

    for (d, holder) in displaced {
        let Some(other) = l_claim[holder] else { continue };
        let name = &d_users[d].attributes.user_name;
        let outcome = match d_match[d] {
            Some((l, _)) => format!("{name} matched live user {} by a previous userName", l_users[l].id),
            None if d_users[d].attributes.active => format!("{name} is treated as a new user"),
            None => format!("{name} has no account of its own"),
        };
        let how = match d_match[other] {
            Some((_, MatchedBy::ExternalId)) => "by externalId",
            _ => "by a previous userName",
        };
        warnings.push(format!(
            "live user {} (id {}) has the userName of desired user {name}, but desired user {} \
             matched it {how}; {outcome}",
            l_users[holder].attributes.user_name, l_users[holder].id, d_users[other].attributes.user_name,
        ));
    }

    // Both have an externalId and they differ: by DESIGN.md's rule they are different
    // people, yet they share a (previous) userName, as when an email address is given to
    // a new hire. Taking the account over would hand the new person the old one's role
    // and teams; creating a second account would clash on the userName.
    for &d in &d_order {
        let Some((l, MatchedBy::UserName | MatchedBy::Previously)) = d_match[d] else { continue };
        if let (Some(wanted), Some(held)) = (d_external_id[d], l_users[l].attributes.external_id.as_deref())
            && wanted != held
        {
            conflicts.push(format!(
                "desired user {} has externalId {wanted:?}, but live user {} (id {}) with that userName has \
                 externalId {held:?}: a different person (a reused email address?)",
                d_users[d].attributes.user_name, l_users[l].attributes.user_name, l_users[l].id
            ));
        }
    }

    // What each matched or unmatched desired user needs.
    let protected: HashSet<Cow<'_, str>> = desired.policy.protected.iter().map(|n| fold(n)).collect();
    let mut plan = UserPlan {
        deactivations: Vec::new(),
        updates: Vec::new(),
        creates: Vec::new(),
        kept: Vec::new(),
        protected: Vec::new(),
        n_active_live: (0..n_live).filter(|&l| !dropped[l] && l_users[l].attributes.active).count() as u64,
        members: map_with_capacity(d_order.len()),
        live_users: l_users,
        live_by_id,
        as_of,
        matched: d_match.iter().map(|m| m.map(|(l, _)| l)).collect(),
        dropped: dropped.clone(),
    };
    let mut deactivate = Vec::new();
    let mut changes_of: Vec<Option<UserChanges>> = vec![None; d_users.len()];
    let mut claims: Vec<Claim> = Vec::new();
    for &d in &d_order {
        let want = &d_users[d].attributes;
        match d_match[d] {
            Some((l, _)) => {
                let have = &l_users[l].attributes;
                plan.members.insert(d_keys[d].clone(), MemberTarget::Live { desired: &d_users[d], live: l });
                // An expired user is a tombstone from its `expires` day on.
                let expired = d_users[d].expired_on(as_of);
                if !want.active || expired.is_some() {
                    if have.active {
                        let reason = match (expired, &d_users[d].apps.revoked) {
                            (_, Some(revoked)) => DeactivationReason::NotInApps(revoked.clone()),
                            (Some(day), None) if want.active => DeactivationReason::Expired(day),
                            _ => DeactivationReason::Tombstone,
                        };
                        deactivate.push((l, Some(d), reason));
                    }
                    continue;
                }
                let mut changes = diff(want, &d_keys[d], d_external_id[d], have, &l_keys[l]);
                if !have.active {
                    changes.active = Some(true);
                }
                if changes.user_name.is_some() {
                    claims.push(Claim { desired: d, key: d_keys[d].clone(), own: Some(l) });
                }
                if !changes.is_empty() {
                    changes_of[d] = Some(changes);
                }
            }
            None if lookalike_held.contains(&d) => {
                plan.members.insert(
                    d_keys[d].clone(),
                    MemberTarget::Missing(
                        "its userName looks like another account's (see the blockers)".into(),
                    ),
                );
            }
            None if want.active && d_users[d].expired_on(as_of).is_some() => {
                let day = d_users[d].expires.map(|d| d.to_string()).unwrap_or_default();
                plan.members.insert(
                    d_keys[d].clone(),
                    MemberTarget::Missing(format!("its access expired {day} and it has no account")),
                );
            }
            None if want.active => {
                claims.push(Claim { desired: d, key: d_keys[d].clone(), own: None });
            }
            None => {
                plan.members.insert(
                    d_keys[d].clone(),
                    MemberTarget::Missing("it is marked active: false and has no account".into()),
                );
            }
        }
    }

    // A userName must be free before a rename or create takes it (see `claims`).
    let verdicts = claims::schedule(&claims, |key| by_key.get(key), &l_claim);
    let mut depth_of: HashMap<usize, usize> = HashMap::new();
    for (claim, verdict) in claims.iter().zip(verdicts) {
        let d = claim.desired;
        let target = &d_users[d].attributes.user_name;
        let held = match verdict {
            Verdict::Allowed { depth } => {
                depth_of.insert(d, depth);
                if claim.own.is_none() {
                    plan.members.insert(d_keys[d].clone(), MemberTarget::Created { desired: &d_users[d] });
                }
                continue;
            }
            Verdict::Blocked { holder: h, stays: true } => format!(
                "userName {target} is held by live user {} (id {}), which this plan does not rename away",
                l_users[h].attributes.user_name, l_users[h].id
            ),
            Verdict::Blocked { holder: h, stays: false } => format!(
                "userName {target} is held by live user {} (id {}), whose own rename cannot happen first",
                l_users[h].attributes.user_name, l_users[h].id
            ),
        };
        match claim.own {
            Some(l) => {
                conflicts.push(format!(
                    "{held}; the rename of {} (id {}) to {target} cannot be made",
                    l_users[l].attributes.user_name, l_users[l].id
                ));
                if let Some(changes) = changes_of[d].as_mut() {
                    changes.user_name = None;
                    if changes.is_empty() {
                        changes_of[d] = None;
                    }
                }
            }
            None => {
                conflicts.push(format!("{held}; {target} cannot be created"));
                plan.members.insert(
                    d_keys[d].clone(),
                    MemberTarget::Missing("it cannot be created in this plan (see the warning above)".into()),
                );
            }
        }
    }

    // Operations for matched and new desired users.
    let mut updates: Vec<(usize, &str, &str, Operation)> = Vec::new();
    for &d in &d_order {
        if let Some(changes) = changes_of[d].take() {
            let (l, _) = d_match[d].expect("changes are computed for matched users only");
            let live_user = &l_users[l];
            let depth = depth_of.get(&d).copied().unwrap_or(0);
            let operation = if live_user.attributes.active {
                // The evidence goes with a change of role: that is a grant of access.
                let grant = if changes.role.is_some() { d_users[d].grant.clone() } else { Grant::default() };
                Operation::UpdateUser {
                    id: live_user.id.clone(),
                    user_name: live_user.attributes.user_name.clone(),
                    before: live_user.attributes.clone(),
                    changes,
                    grant,
                }
            } else {
                let mut after = live_user.attributes.clone();
                changes.apply_to(&mut after);
                let kept_external_id = match d_external_id[d] {
                    None => live_user.attributes.external_id.clone(),
                    Some(_) => None,
                };
                if let Some(external_id) = &kept_external_id {
                    warnings.push(format!(
                        "{} (id {}) is reactivated as the former account with externalId {external_id:?}, \
                         which the file does not give: the account comes back with the role, title and \
                         teams the plan shows, not as a new account",
                        live_user.attributes.user_name, live_user.id
                    ));
                }
                Operation::ReactivateUser {
                    id: live_user.id.clone(),
                    user_name: live_user.attributes.user_name.clone(),
                    before: live_user.attributes.clone(),
                    changes,
                    // The groups are filled in once the group half of the plan is known.
                    comes_back_with: Box::new(Revival {
                        attributes: after,
                        groups: Vec::new(),
                        kept_external_id,
                    }),
                    grant: d_users[d].grant.clone(),
                }
            };
            updates.push((depth, &l_keys[l], &live_user.id, operation));
        } else if d_match[d].is_none()
            && matches!(plan.members.get(&d_keys[d]), Some(MemberTarget::Created { .. }))
        {
            let mut attributes = d_users[d].attributes.clone();
            attributes.active = true;
            attributes.external_id = d_external_id[d].map(str::to_string);
            plan.creates.push(Operation::CreateUser { attributes, grant: d_users[d].grant.clone() });
        }
    }
    updates.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    plan.updates = updates.into_iter().map(|(_, _, _, operation)| operation).collect();

    // Live users that no desired user matched.
    let mut ambiguous_kept = Vec::new();
    for l in (0..n_live).filter(|&l| !dropped[l]) {
        if l_claim[l].is_some() || !l_users[l].attributes.active {
            continue;
        }
        if lookalike_kept.contains(&l) {
            plan.kept.push(kept(&l_users[l], KeptReason::Ambiguous));
            continue;
        }
        if let Some(reason) = ambiguous.get(&l) {
            ambiguous_kept.push((l, reason));
            continue;
        }
        match desired.policy.unmanaged_users {
            UnmanagedUsers::Deactivate => deactivate.push((l, None, DeactivationReason::Unmanaged)),
            UnmanagedUsers::Keep => plan.kept.push(kept(&l_users[l], KeptReason::Policy)),
        }
    }
    ambiguous_kept.sort_by(|a, b| (&l_keys[a.0], &l_users[a.0].id).cmp(&(&l_keys[b.0], &l_users[b.0].id)));
    for (l, reason) in ambiguous_kept {
        conflicts.push(format!(
            "live user {} (id {}) is not in the file, yet may be the same person: {reason}",
            l_users[l].attributes.user_name, l_users[l].id
        ));
        plan.kept.push(kept(&l_users[l], KeptReason::Ambiguous));
    }

    // Deactivations, minus protected users, and none at all from an incomplete view.
    deactivate.sort_by(|a, b| (&l_keys[a.0], &l_users[a.0].id).cmp(&(&l_keys[b.0], &l_users[b.0].id)));
    for (l, d, reason) in deactivate {
        let live_user = &l_users[l];
        let is_protected =
            protected.contains(&l_keys[l]) || d.is_some_and(|d| protected.contains(&d_keys[d]));
        if is_protected {
            if let DeactivationReason::Expired(day) = reason {
                warnings.push(format!(
                    "user {} expired {day} but policy.protected lists it; it is not deactivated",
                    live_user.attributes.user_name
                ));
            }
            if let DeactivationReason::NotInApps(revoked) = &reason {
                warnings.push(format!(
                    "user {}: apps no longer lists {}, but policy.protected lists it; it is not deactivated",
                    live_user.attributes.user_name, revoked.app
                ));
            }
            if reason == DeactivationReason::Tombstone {
                warnings.push(format!(
                    "user {} is marked active: false but policy.protected lists it; it is not deactivated",
                    live_user.attributes.user_name
                ));
            }
            plan.protected.push(ProtectedUser {
                id: live_user.id.clone(),
                user_name: live_user.attributes.user_name.clone(),
                reason,
            });
        } else if complete {
            let a = &live_user.attributes;
            plan.deactivations.push(Operation::DeactivateUser {
                id: live_user.id.clone(),
                user_name: a.user_name.clone(),
                reason,
                display_name: a.display_name.clone(),
                title: a.title.clone(),
                role: a.role.clone(),
            });
        }
    }
    plan.kept.sort_by(|a, b| (fold(&a.user_name), &a.id).cmp(&(fold(&b.user_name), &b.id)));
    plan
}

/// Finds userNames, desired and live, that share a [`Lookalike`] form but not a key, and
/// reports each such group as one conflict naming every member with its code points.
/// Returns the live users of those groups that no desired user matched, which are kept,
/// never deactivated, and the desired users of those groups that matched no live user,
/// which are not created: nobody can tell from the names whom the file means.
#[allow(clippy::too_many_arguments)]
fn lookalike_conflicts(
    d_users: &[DesiredUser],
    d_order: &[usize],
    d_keys: &[Cow<'_, str>],
    l_users: &[LiveUser],
    l_keys: &[Cow<'_, str>],
    dropped: &[bool],
    d_match: &[Option<(usize, MatchedBy)>],
    l_claim: &[Option<usize>],
    conflicts: &mut Vec<String>,
) -> (HashSet<usize>, HashSet<usize>) {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Who {
        Desired(usize),
        Live(usize),
    }
    // Two names in plain ASCII share a lookalike form only when they share a key, so
    // unless some name is not plain there is nothing to look for (the common case).
    let plain = |name: &str| name.bytes().all(|b| b.is_ascii_graphic()) && !name.contains("xn--");
    let live = (0..l_users.len()).filter(|&l| !dropped[l]);
    let any_unusual = d_order.iter().any(|&d| !plain(&d_users[d].attributes.user_name))
        || live.clone().any(|l| !plain(&l_users[l].attributes.user_name));
    let mut kept = HashSet::new();
    let mut held = HashSet::new();
    if !any_unusual {
        return (kept, held);
    }
    let mut groups: HashMap<Lookalike, Vec<Who>> = HashMap::new();
    for &d in d_order {
        groups.entry(Lookalike::of(&d_keys[d])).or_default().push(Who::Desired(d));
    }
    for l in live {
        groups.entry(Lookalike::of(&l_keys[l])).or_default().push(Who::Live(l));
    }
    let key_of = |who: Who| match who {
        Who::Desired(d) => &d_keys[d],
        Who::Live(l) => &l_keys[l],
    };
    let mut found: Vec<(String, Vec<Who>)> = Vec::new();
    for (_, mut members) in groups {
        if members.iter().all(|&w| key_of(w) == key_of(members[0])) {
            continue;
        }
        // One desired user and the live account matched to it is one person.
        let desired: Vec<usize> =
            members.iter().filter_map(|w| if let Who::Desired(d) = *w { Some(d) } else { None }).collect();
        let one_person = desired.len() == 1
            && members.iter().all(|w| match *w {
                Who::Desired(_) => true,
                Who::Live(l) => d_match[desired[0]].is_some_and(|(m, _)| m == l),
            });
        if one_person {
            continue;
        }
        members.sort_by(|a, b| (key_of(*a), *a).cmp(&(key_of(*b), *b)));
        let described: Vec<String> = members
            .iter()
            .map(|&w| match w {
                Who::Desired(d) => {
                    format!("desired user `{}`", identity::escaped(&d_users[d].attributes.user_name))
                }
                Who::Live(l) => format!(
                    "live user `{}` (id {})",
                    identity::escaped(&l_users[l].attributes.user_name),
                    l_users[l].id
                ),
            })
            .collect();
        let message = format!(
            "userNames that look alike but are different addresses (characters from another script, \
             invisible characters or stray spaces, shown as code points): {}; rename the wrong one in the \
             service or the file",
            described.join(", ")
        );
        found.push((message, members));
    }
    found.sort();
    for (message, members) in found {
        for who in members {
            match who {
                Who::Live(l) if l_claim[l].is_none() => {
                    kept.insert(l);
                }
                Who::Desired(d) if d_match[d].is_none() => {
                    held.insert(d);
                }
                _ => {}
            }
        }
        conflicts.push(message);
    }
    (kept, held)
}

/// A total order on live users' contents, to choose among entries with the same id.
fn canonical(user: &LiveUser) -> impl Ord + '_ {
    let a = &user.attributes;
    (
        &a.user_name,
        &a.external_id,
        &a.display_name,
        (&a.given_name, &a.family_name, &a.title, &a.role, a.active),
    )
}

fn kept(user: &LiveUser, reason: KeptReason) -> KeptUser {
    KeptUser { id: user.id.clone(), user_name: user.attributes.user_name.clone(), reason }
}

/// The minimal changes that make `have` what `want` says. An attribute `want` leaves
/// unset is not managed and never changes; a userName that differs only in case is
/// the same userName.
pub(crate) fn diff(
    want: &UserAttributes,
    want_key: &str,
    want_external_id: Option<&str>,
    have: &UserAttributes,
    have_key: &str,
) -> UserChanges {
    fn replace(want: &Option<String>, have: &Option<String>) -> Option<String> {
        match want {
            Some(value) if have.as_ref() != Some(value) => Some(value.clone()),
            _ => None,
        }
    }
    UserChanges {
        user_name: (want_key != have_key).then(|| want.user_name.clone()),
        external_id: want_external_id
            .filter(|wanted| have.external_id.as_deref() != Some(*wanted))
            .map(str::to_string),
        display_name: replace(&want.display_name, &have.display_name),
        given_name: replace(&want.given_name, &have.given_name),
        family_name: replace(&want.family_name, &have.family_name),
        title: replace(&want.title, &have.title),
        role: replace(&want.role, &have.role),
        active: None,
    }
}
