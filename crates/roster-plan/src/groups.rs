//! Matching desired groups to live groups, and the group and member operations.
//!
//! A desired group matches a live group by externalId when both have one, else by
//! displayName exactly, else by displayName case-insensitively. As with users, each
//! pass runs in name order and a live group is matched at most once; of several
//! candidates the one to keep is preferred (see `duplicates`). A live group left over
//! because of an ambiguous match (a duplicate team) is kept and blocks the plan, except
//! an empty duplicate created within the hour before `PlanOptions::now`, which
//! `unmanaged_groups: delete` deletes.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use roster_model::{Date, DesiredGroup, DesiredState, Grant, LiveGroup, LiveState, UnmanagedGroups};

use crate::claims::{self, Claim, Verdict};
use crate::duplicates;
use roster_model::identity::group_key;

use crate::index::fold;
use crate::types::{KeptGroup, KeptReason, MemberRef, Operation, PlanOptions};
use crate::users::{MemberTarget, UserPlan};

/// The group half of a plan, each list in apply order.
pub(crate) struct GroupPlan {
    pub creates: Vec<Operation>,
    pub updates: Vec<Operation>,
    pub adds: Vec<Operation>,
    pub removes: Vec<Operation>,
    pub deletes: Vec<Operation>,
    pub kept: Vec<KeptGroup>,
    /// Live groups (each id once), part of the base of a percentage removal rail.
    pub n_live_groups: u64,
    /// Live memberships of known users (each once per group), the rest of that base.
    pub n_live_memberships: u64,
}

#[derive(Clone, Copy)]
enum MatchedBy {
    ExternalId,
    Name,
}

pub(crate) fn plan_groups(
    desired: &DesiredState,
    live: &LiveState,
    users: &UserPlan<'_>,
    complete: bool,
    options: &PlanOptions,
    warnings: &mut Vec<String>,
    conflicts: &mut Vec<String>,
) -> GroupPlan {
    let max_members = options.max_members_per_request.max(1);
    let now = options.now;
    let d_groups = &desired.groups;
    let l_groups = &live.groups;

    // Live groups in id order, each id once: of entries repeating an id (a fetch that went
    // wrong), the one that sorts first by content is used, whatever the fetch's order.
    fn canonical(g: &LiveGroup) -> (&str, &str, Option<&str>, &[String]) {
        (&g.id, &g.display_name, g.external_id.as_deref(), &g.members)
    }
    let mut l_order: Vec<usize> = (0..l_groups.len()).collect();
    l_order.sort_by(|&a, &b| canonical(&l_groups[a]).cmp(&canonical(&l_groups[b])));
    l_order.dedup_by(|later, first| {
        let same = l_groups[*later].id == l_groups[*first].id;
        if same {
            warnings.push(format!(
                "live group id {:?} appears more than once; only one entry ({:?}) is used",
                l_groups[*first].id, l_groups[*first].display_name
            ));
        }
        same
    });
    // Desired groups in name order, each name once, ignoring case: a service keeps team
    // names unique that way, so a second "eng" next to "Eng" could never exist.
    let d_folded: Vec<String> = d_groups.iter().map(|g| group_key(&g.display_name).into_owned()).collect();
    let mut d_order: Vec<usize> = (0..d_groups.len()).collect();
    d_order.sort_by(|&a, &b| {
        (&d_folded[a], &d_groups[a].display_name, a).cmp(&(&d_folded[b], &d_groups[b].display_name, b))
    });
    d_order.dedup_by(|later, first| {
        let same = d_folded[*later] == d_folded[*first];
        if same {
            warnings.push(format!(
                "desired group {:?} is listed twice (names match case-insensitively); only {:?} is used",
                d_groups[*later].display_name, d_groups[*first].display_name
            ));
        }
        same
    });

    // The externalId each desired group is matched and written by: a shared one (which
    // validation rejects) is used for the first group only.
    let mut d_external_id: Vec<Option<&str>> = d_groups.iter().map(|g| g.external_id.as_deref()).collect();
    let mut first_with: HashMap<&str, usize> = HashMap::new();
    for &d in &d_order {
        let Some(external_id) = d_external_id[d] else { continue };
        match first_with.entry(external_id) {
            Entry::Vacant(slot) => {
                slot.insert(d);
            }
            Entry::Occupied(slot) => {
                let first = &d_groups[*slot.get()].display_name;
                warnings.push(format!(
                    "desired groups {first:?} and {:?} have the same externalId {external_id:?}; it is used \
                     for {first:?} only",
                    d_groups[d].display_name,
                ));
                d_external_id[d] = None;
            }
        }
    }

    let mut by_external_id: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_folded_name: HashMap<String, Vec<usize>> = HashMap::new();
    for &l in &l_order {
        let group = &l_groups[l];
        if let Some(external_id) = group.external_id.as_deref() {
            by_external_id.entry(external_id).or_default().push(l);
        }
        by_name.entry(group.display_name.as_str()).or_default().push(l);
        by_folded_name.entry(group_key(&group.display_name).into_owned()).or_default().push(l);
    }

    let mut d_match: Vec<Option<(usize, MatchedBy)>> = vec![None; d_groups.len()];
    let mut l_claim: Vec<Option<usize>> = vec![None; l_groups.len()];
    let claim = |d: usize,
                 candidates: &[usize],
                 how: MatchedBy,
                 d_match: &mut Vec<Option<(usize, MatchedBy)>>,
                 l_claim: &mut Vec<Option<usize>>| {
        // Of several candidates (duplicate teams), the one to keep (see `duplicates`).
        let desired_name = d_groups[d].display_name.as_str();
        let Some(chosen) = candidates.iter().copied().filter(|&l| l_claim[l].is_none()).min_by(|&a, &b| {
            duplicates::keeper_rank(&l_groups[a], desired_name)
                .cmp(&duplicates::keeper_rank(&l_groups[b], desired_name))
        }) else {
            return;
        };
        d_match[d] = Some((chosen, how));
        l_claim[chosen] = Some(d);
    };
    // A live group without an externalId is also found by its id: `roster import` writes
    // the live id as the externalId of such a group (and the plan sets it), so that a
    // rename in the file keeps the group even before that first apply.
    let by_id_without_external_id: HashMap<&str, Vec<usize>> = l_order
        .iter()
        .filter(|&&l| l_groups[l].external_id.as_deref().is_none_or(|e| e.trim().is_empty()))
        .map(|&l| (l_groups[l].id.as_str(), vec![l]))
        .collect();
    for &d in &d_order {
        if let Some(external_id) = d_external_id[d] {
            let candidates =
                by_external_id.get(external_id).or_else(|| by_id_without_external_id.get(external_id));
            if let Some(candidates) = candidates {
                claim(d, candidates, MatchedBy::ExternalId, &mut d_match, &mut l_claim);
            }
        }
    }
    for &d in &d_order {
        if d_match[d].is_none()
            && let Some(candidates) = by_name.get(d_groups[d].display_name.as_str())
        {
            claim(d, candidates, MatchedBy::Name, &mut d_match, &mut l_claim);
        }
    }
    for &d in &d_order {
        if d_match[d].is_none()
            && let Some(candidates) = by_folded_name.get(group_key(&d_groups[d].display_name).as_ref())
        {
            claim(d, candidates, MatchedBy::Name, &mut d_match, &mut l_claim);
        }
    }
    // A live group left unmatched that shares the name (in any case) or the externalId of
    // a matched desired group is a duplicate of it (two applies that raced, a team made
    // twice): it is kept, never deleted as unmanaged, and blocks the plan with the steps
    // to resolve it, except an empty one created within the hour before `now`, which
    // `unmanaged_groups: delete` deletes (see `duplicates`). A same-named group that lacks
    // the externalId a desired group was matched by is told apart by it: it is an
    // unmanaged group like any other. This depends only on the final matching, so a plan
    // and the plan after it agree.
    let mut ambiguous: HashSet<usize> = HashSet::new();
    let mut duplicate_deletes: HashSet<usize> = HashSet::new();
    let delete_duplicates = desired.policy.unmanaged_groups == UnmanagedGroups::Delete && complete;
    for &d in &d_order {
        let Some((matched, how)) = d_match[d] else { continue };
        let group = &d_groups[d];
        let external_id = d_external_id[d];
        let same_name = by_folded_name.get(&d_folded[d]).into_iter().flatten().filter(|&&o| {
            matches!(how, MatchedBy::Name) || l_groups[o].external_id.as_deref() == external_id
        });
        let same_external_id = external_id.and_then(|e| by_external_id.get(e)).into_iter().flatten();
        let mut others: Vec<usize> = same_name
            .chain(same_external_id)
            .copied()
            .filter(|&o| o != matched && l_claim[o].is_none())
            .filter(|o| !ambiguous.contains(o) && !duplicate_deletes.contains(o))
            .collect();
        others.sort_by(|&a, &b| l_groups[a].id.cmp(&l_groups[b].id));
        others.dedup();
        let kept_group = &l_groups[matched];
        let mut blocking = Vec::new();
        for o in others {
            if delete_duplicates && duplicates::deletable(&l_groups[o], now) {
                warnings.push(duplicates::deletion_warning(&l_groups[o], kept_group));
                duplicate_deletes.insert(o);
            } else {
                ambiguous.insert(o);
                blocking.push(&l_groups[o]);
            }
        }
        if !blocking.is_empty() {
            conflicts.push(duplicates::conflict(
                group,
                kept_group,
                &blocking,
                desired.policy.unmanaged_groups,
                now,
            ));
        }
    }

    // A team name must be free before a rename or create takes it (see `claims`). A
    // rename that only changes letter case keeps its own name and claims nothing.
    let mut claims = Vec::new();
    for &d in &d_order {
        match d_match[d] {
            Some((l, _)) if group_key(&l_groups[l].display_name) == d_folded[d].as_str() => {}
            own => claims.push(Claim {
                desired: d,
                key: Cow::Borrowed(d_folded[d].as_str()),
                own: own.map(|m| m.0),
            }),
        }
    }
    let verdicts =
        claims::schedule(&claims, |key| by_folded_name.get(key).map_or(&[][..], Vec::as_slice), &l_claim);
    let verdict_of: HashMap<usize, Verdict> = claims.iter().map(|c| c.desired).zip(verdicts).collect();
    let held = |d: usize| -> Option<String> {
        let (holder, stays) = match verdict_of.get(&d)? {
            Verdict::Allowed { .. } => return None,
            Verdict::Blocked { holder, stays } => (&l_groups[*holder], *stays),
        };
        let why = if stays {
            "which this plan does not rename away"
        } else {
            "whose own rename cannot happen first"
        };
        Some(format!(
            "group name {:?} is held by live group {:?} (id {}), {why}",
            d_groups[d].display_name, holder.display_name, holder.id
        ))
    };

    let mut marks = Marks::new(users.live_users.len());
    let mut plan = GroupPlan {
        creates: Vec::new(),
        updates: Vec::new(),
        adds: Vec::new(),
        removes: Vec::new(),
        deletes: Vec::new(),
        kept: Vec::new(),
        n_live_groups: l_order.len() as u64,
        n_live_memberships: l_order.iter().map(|&l| known_members(&l_groups[l], users)).sum(),
    };
    // Renames by the depth of their dependencies, then by name.
    let mut updates: Vec<(usize, &str, Operation)> = Vec::new();
    for &d in &d_order {
        let group = &d_groups[d];
        match d_match[d] {
            None => {
                if let Some(held) = held(d) {
                    conflicts.push(format!("{held}; the group cannot be created"));
                    continue;
                }
                let members: Vec<MemberRef> = desired_members(group, users, warnings)
                    .unwrap_or_default()
                    .iter()
                    .map(Wanted::to_ref)
                    .collect();
                let mut chunks = members.chunks(max_members);
                plan.creates.push(Operation::CreateGroup {
                    display_name: group.display_name.clone(),
                    external_id: d_external_id[d].map(str::to_string),
                    members: chunks.next().map(<[MemberRef]>::to_vec).unwrap_or_default(),
                });
                for chunk in chunks {
                    plan.adds.push(Operation::AddMembers {
                        group_id: None,
                        group: group.display_name.clone(),
                        members: chunk.to_vec(),
                    });
                }
            }
            Some((l, _)) => {
                let live_group = &l_groups[l];
                let depth = match verdict_of.get(&d) {
                    Some(Verdict::Allowed { depth }) => *depth,
                    _ => 0,
                };
                // The name the group has once this plan's renames are done.
                let mut name = &group.display_name;
                if live_group.display_name != group.display_name {
                    match held(d) {
                        Some(held) => {
                            conflicts.push(format!(
                                "{held}; the rename of group {:?} (id {}) to {:?} cannot be made",
                                live_group.display_name, live_group.id, group.display_name
                            ));
                            name = &live_group.display_name;
                        }
                        None => updates.push((
                            depth,
                            &group.display_name,
                            Operation::RenameGroup {
                                id: live_group.id.clone(),
                                from: live_group.display_name.clone(),
                                to: group.display_name.clone(),
                            },
                        )),
                    }
                }
                if let Some(external_id) = d_external_id[d]
                    && live_group.external_id.as_deref() != Some(external_id)
                {
                    updates.push((
                        depth,
                        &group.display_name,
                        Operation::SetGroupExternalId {
                            id: live_group.id.clone(),
                            group: name.clone(),
                            from: live_group.external_id.clone(),
                            to: external_id.to_string(),
                        },
                    ));
                }
                // Absent means unmanaged: without a `members` key, nobody is added or removed.
                let Some(members) = desired_members(group, users, warnings) else { continue };
                member_changes(
                    group,
                    name,
                    live_group,
                    &members,
                    users,
                    complete,
                    max_members,
                    &mut plan,
                    &mut marks,
                    warnings,
                );
            }
        }
    }
    // A stable sort keeps a group's rename before its externalId change.
    updates.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    plan.updates = updates.into_iter().map(|(_, _, operation)| operation).collect();

    for &l in &l_order {
        if l_claim[l].is_some() {
            continue;
        }
        let group = &l_groups[l];
        if ambiguous.contains(&l) {
            plan.kept.push(kept(group, KeptReason::Ambiguous));
            continue;
        }
        match desired.policy.unmanaged_groups {
            UnmanagedGroups::Keep => plan.kept.push(kept(group, KeptReason::Policy)),
            UnmanagedGroups::Delete if complete => plan.deletes.push(Operation::DeleteGroup {
                id: group.id.clone(),
                display_name: group.display_name.clone(),
                empty_duplicate: duplicate_deletes.contains(&l),
            }),
            UnmanagedGroups::Delete => {}
        }
    }
    plan.kept.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
    plan.deletes.sort_by(|a, b| group_sort_key(a).cmp(&group_sort_key(b)));

    let created: Vec<usize> = d_order.iter().copied().filter(|&d| d_match[d].is_none()).collect();
    // Duplicates of a matched team are no rename of another one.
    let left: Vec<usize> = l_order
        .iter()
        .copied()
        .filter(|&l| l_claim[l].is_none() && !ambiguous.contains(&l) && !duplicate_deletes.contains(&l))
        .collect();
    for (d, l) in likely_renames(&created, &left, d_groups, l_groups, users) {
        let (group, live_group) = (&d_groups[d], &l_groups[l]);
        let anchor = match live_group.external_id.as_deref().filter(|e| !e.trim().is_empty()) {
            Some(external_id) => format!("externalId: {external_id:?} (the live group's externalId)"),
            None => format!("externalId: {:?} (the live group's id; the plan then sets it)", live_group.id),
        };
        let fate = match desired.policy.unmanaged_groups {
            UnmanagedGroups::Keep => "kept beside it",
            UnmanagedGroups::Delete => "deleted",
        };
        warnings.push(format!(
            "group {:?} is created while live group {:?} (id {}), which is not in the file, has {}; if this \
             is a rename, give {:?} {anchor} in the file so that the plan renames the group; as it is, a new \
             group is created and the old one is {fate}",
            group.display_name,
            live_group.display_name,
            live_group.id,
            if group.members.as_ref().is_none_or(Vec::is_empty) && live_group.members.is_empty() {
                "no members either"
            } else {
                "mostly the same members"
            },
            group.display_name,
        ));
    }
    plan
}

/// The distinct members of a live group that are known users.
fn known_members(group: &LiveGroup, users: &UserPlan<'_>) -> u64 {
    let mut ids: Vec<&str> =
        group.members.iter().map(String::as_str).filter(|id| users.live_by_id.contains_key(id)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len() as u64
}

/// Pairs of a desired group the plan creates and a live group it leaves unmatched that
/// look like one group renamed in the file without an anchor: most of the members of
/// each are members of the other, or they are the only two such groups. Each group is in
/// at most one pair; pairs are found in name order.
fn likely_renames(
    created: &[usize],
    left: &[usize],
    d_groups: &[DesiredGroup],
    l_groups: &[LiveGroup],
    users: &UserPlan<'_>,
) -> Vec<(usize, usize)> {
    if created.is_empty() || left.is_empty() {
        return Vec::new();
    }
    let live_ids = |d: usize| -> std::collections::BTreeSet<&str> {
        d_groups[d]
            .members
            .iter()
            .flatten()
            .filter_map(|name| match users.member(name) {
                Some(MemberTarget::Live { live, .. }) => Some(users.live_users[*live].id.as_str()),
                _ => None,
            })
            .collect()
    };
    if created.len() == 1 && left.len() == 1 {
        let (d, l) = (created[0], left[0]);
        let (wanted, have) = (live_ids(d), &l_groups[l].members);
        let shared = have.iter().filter(|id| wanted.contains(id.as_str())).count();
        // The only two: a rename unless their members plainly differ.
        if (wanted.is_empty() && have.is_empty()) || 2 * shared >= wanted.len().max(have.len()) {
            return vec![(d, l)];
        }
        return Vec::new();
    }
    let mut taken = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for &d in created {
        let wanted = live_ids(d);
        if wanted.is_empty() {
            continue;
        }
        let best = left
            .iter()
            .filter(|l| !taken.contains(*l))
            .map(|&l| {
                let have = &l_groups[l].members;
                let shared = have.iter().filter(|id| wanted.contains(id.as_str())).count();
                (l, shared, wanted.len().max(have.len()))
            })
            .filter(|&(_, shared, size)| shared > 0 && 2 * shared >= size)
            // Ties go to the smallest live id, so that the pairing does not depend on the
            // order in which the service listed its groups.
            .max_by(|a, b| {
                (a.1 * b.2).cmp(&(b.1 * a.2)).then_with(|| l_groups[b.0].id.cmp(&l_groups[a.0].id))
            });
        if let Some((l, _, _)) = best {
            taken.insert(l);
            pairs.push((d, l));
        }
    }
    pairs
}

fn kept(group: &LiveGroup, reason: KeptReason) -> KeptGroup {
    KeptGroup { id: group.id.clone(), display_name: group.display_name.clone(), reason }
}

fn group_sort_key(operation: &Operation) -> (&str, &str) {
    match operation {
        Operation::DeleteGroup { id, display_name, .. } => (display_name, id),
        _ => ("", ""),
    }
}

/// A member the file wants, resolved to a user of this plan; borrowed, so that members
/// that need no change cost no allocation.
struct Wanted<'u> {
    key: Cow<'u, str>,
    user_name: &'u str,
    /// The live id and index; `None` for a user created by this plan.
    live: Option<(&'u str, usize)>,
    /// The file's evidence for the membership, if it gives any.
    grant: Option<&'u Grant>,
}

impl Wanted<'_> {
    fn to_ref(&self) -> MemberRef {
        MemberRef {
            user_name: self.user_name.to_string(),
            id: self.live.map(|(id, _)| id.to_string()),
            expired: None,
            grant: self.grant.cloned().unwrap_or_default(),
        }
    }
}

/// The members the file wants, resolved to users of this plan, sorted, each once; `None`
/// when the file leaves the group's membership unmanaged (no `members` key). This is the
/// one place where the planner reads a group's members.
fn desired_members<'u>(
    group: &'u DesiredGroup,
    users: &'u UserPlan<'_>,
    warnings: &mut Vec<String>,
) -> Option<Vec<Wanted<'u>>> {
    let names = group.members.as_ref()?;
    let expired = expired_memberships(group, users.as_of);
    // The evidence written on memberships, by folded userName (few groups carry any).
    let grants: HashMap<Cow<'_, str>, &Grant> =
        group.member_grants.iter().map(|m| (fold(&m.user_name), &m.grant)).collect();
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        // A membership past its `expires` day is no longer wanted: the diff removes it.
        if expired.iter().any(|(key, _)| *key == fold(name)) {
            continue;
        }
        let (desired, live) = match users.member(name) {
            None => {
                warnings.push(format!(
                    "group {:?} lists member {name}, who is not a user of the file; the membership is left out",
                    group.display_name
                ));
                continue;
            }
            Some(MemberTarget::Missing(reason)) => {
                warnings.push(format!(
                    "group {:?} lists member {name}, but {reason}; the membership is left out",
                    group.display_name
                ));
                continue;
            }
            Some(MemberTarget::Live { desired, live }) => {
                (desired, Some((users.live_users[*live].id.as_str(), *live)))
            }
            Some(MemberTarget::Created { desired }) => (desired, None),
        };
        let user_name = desired.attributes.user_name.as_str();
        let grant = if grants.is_empty() { None } else { grants.get(&fold(name)).copied() };
        members.push(Wanted { key: fold(user_name), user_name, live, grant });
    }
    members.sort_by(|a, b| (&a.key, a.live).cmp(&(&b.key, b.live)));
    members.dedup_by(|later, first| later.key == first.key);
    Some(members)
}

/// The memberships of a group whose `expires` day has come by `as_of`, by folded
/// userName, with the day.
fn expired_memberships(group: &DesiredGroup, as_of: Option<Date>) -> Vec<(Cow<'_, str>, Date)> {
    let Some(as_of) = as_of else { return Vec::new() };
    group
        .expiring_members
        .iter()
        .filter(|m| m.expires <= as_of)
        .map(|m| (fold(&m.user_name), m.expires))
        .collect()
}

fn sort_members(members: &mut [MemberRef]) {
    members.sort_by_cached_key(|m| (fold(&m.user_name).into_owned(), m.id.clone()));
}

/// Marks on live users, one generation per group, so that a group's membership diff
/// needs no set of its own: a mark is current when it equals the generation.
struct Marks {
    wanted: Vec<u32>,
    present: Vec<u32>,
    generation: u32,
}

impl Marks {
    fn new(n_live_users: usize) -> Self {
        Self { wanted: vec![0; n_live_users], present: vec![0; n_live_users], generation: 0 }
    }
}

#[allow(clippy::too_many_arguments)]
fn member_changes(
    group: &DesiredGroup,
    name: &str,
    live_group: &LiveGroup,
    members: &[Wanted<'_>],
    users: &UserPlan<'_>,
    complete: bool,
    max_members: usize,
    plan: &mut GroupPlan,
    marks: &mut Marks,
    warnings: &mut Vec<String>,
) {
    marks.generation += 1;
    let generation = marks.generation;
    for &(_, index) in members.iter().filter_map(|m| m.live.as_ref()) {
        marks.wanted[index] = generation;
    }
    // The live users whose membership expired, with the day, to say so at the removal.
    let expired: Vec<(usize, Date)> = expired_memberships(group, users.as_of)
        .into_iter()
        .filter_map(|(key, day)| match users.member(&key) {
            Some(MemberTarget::Live { live, .. }) => Some((*live, day)),
            _ => None,
        })
        .collect();
    let mut unknown: Vec<&str> = Vec::new();
    let mut removals: Vec<MemberRef> = Vec::new();
    for id in &live_group.members {
        match users.live_by_id.get(id.as_str()) {
            // An id that is no known user may be a nested group or a user the service
            // hides; the planner does not remove what it cannot name.
            None => unknown.push(id),
            Some(&index) if marks.present[index] == generation => {}
            Some(&index) => {
                marks.present[index] = generation;
                if marks.wanted[index] != generation {
                    let user_name = users.live_users[index].attributes.user_name.clone();
                    let expired = expired.iter().find(|(live, _)| *live == index).map(|(_, day)| *day);
                    removals.push(MemberRef {
                        user_name,
                        id: Some(id.clone()),
                        expired,
                        grant: Grant::default(),
                    });
                }
            }
        }
    }
    let additions: Vec<MemberRef> = members
        .iter()
        .filter(|m| m.live.is_none_or(|(_, index)| marks.present[index] != generation))
        .map(Wanted::to_ref)
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        const SHOWN: usize = 5;
        let mut list = unknown.iter().take(SHOWN).map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ");
        if unknown.len() > SHOWN {
            list.push_str(&format!(" and {} more", unknown.len() - SHOWN));
        }
        warnings.push(format!(
            "group {:?} has {} that {} no known user ({list}); left as {}",
            group.display_name,
            if unknown.len() == 1 {
                "a member id".to_string()
            } else {
                format!("{} member ids", unknown.len())
            },
            if unknown.len() == 1 { "is" } else { "are" },
            if unknown.len() == 1 { "it is" } else { "they are" },
        ));
    }
    for chunk in additions.chunks(max_members) {
        plan.adds.push(Operation::AddMembers {
            group_id: Some(live_group.id.clone()),
            group: name.to_string(),
            members: chunk.to_vec(),
        });
    }
    if complete {
        sort_members(&mut removals);
        for chunk in removals.chunks(max_members) {
            plan.removes.push(Operation::RemoveMembers {
                group_id: live_group.id.clone(),
                group: name.to_string(),
                members: chunk.to_vec(),
            });
        }
    }
}
