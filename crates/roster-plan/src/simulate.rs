//! Applying a plan to a live state in memory: what a well-behaved service would end up
//! holding. Tests use it to check that a plan converges.

use std::collections::HashMap;

use roster_model::{LiveGroup, LiveState, LiveUser, UserKey};

use crate::types::{MemberRef, Operation, Plan};

impl Plan {
    /// Applies the operations to `live` in memory, in order, as a service would.
    ///
    /// Created users and groups get ids `new-user-N` and `new-group-N` (skipping ids that
    /// are taken). Members that the plan names without an id are resolved by userName
    /// among the users created so far, groups without an id by name among the groups
    /// created so far; an operation on an id that does not exist is skipped, as the
    /// service would refuse it.
    pub fn apply_to(&self, live: &mut LiveState) {
        let mut simulator = Simulator::new(live);
        for operation in &self.operations {
            simulator.apply(operation);
        }
    }
}

/// The state of one in-memory apply.
struct Simulator<'a> {
    live: &'a mut LiveState,
    /// Positions of users and groups by id, kept up to date as the simulation goes.
    user_at: HashMap<String, usize>,
    group_at: HashMap<String, usize>,
    created_users: HashMap<UserKey, String>,
    created_groups: HashMap<String, String>,
    n_created: usize,
}

impl<'a> Simulator<'a> {
    fn new(live: &'a mut LiveState) -> Self {
        // The first of repeated ids wins, as in the planner.
        let mut user_at = HashMap::new();
        for (i, user) in live.users.iter().enumerate() {
            user_at.entry(user.id.clone()).or_insert(i);
        }
        let mut group_at = HashMap::new();
        for (i, group) in live.groups.iter().enumerate() {
            group_at.entry(group.id.clone()).or_insert(i);
        }
        Self {
            live,
            user_at,
            group_at,
            created_users: HashMap::new(),
            created_groups: HashMap::new(),
            n_created: 0,
        }
    }

    fn user(&mut self, id: &str) -> Option<&mut LiveUser> {
        let at = *self.user_at.get(id)?;
        self.live.users.get_mut(at)
    }

    fn group(&mut self, id: &str) -> Option<&mut LiveGroup> {
        let at = *self.group_at.get(id)?;
        self.live.groups.get_mut(at)
    }

    fn member_id(&self, member: &MemberRef) -> Option<String> {
        member.id.clone().or_else(|| self.created_users.get(&UserKey::new(&member.user_name)).cloned())
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        loop {
            self.n_created += 1;
            let id = format!("{prefix}-{}", self.n_created);
            if !self.user_at.contains_key(&id) && !self.group_at.contains_key(&id) {
                return id;
            }
        }
    }

    fn apply(&mut self, operation: &Operation) {
        match operation {
            Operation::DeactivateUser { id, .. } => {
                if let Some(user) = self.user(id) {
                    user.attributes.active = false;
                }
            }
            Operation::CreateUser { attributes, .. } => {
                let id = self.fresh_id("new-user");
                self.created_users.insert(attributes.key(), id.clone());
                self.user_at.insert(id.clone(), self.live.users.len());
                self.live.users.push(LiveUser { created: None, id, attributes: attributes.clone() });
            }
            Operation::UpdateUser { id, changes, .. } | Operation::ReactivateUser { id, changes, .. } => {
                if let Some(user) = self.user(id) {
                    changes.apply_to(&mut user.attributes);
                }
            }
            Operation::CreateGroup { display_name, external_id, members } => {
                let id = self.fresh_id("new-group");
                let members = members.iter().filter_map(|m| self.member_id(m)).collect();
                self.created_groups.insert(display_name.clone(), id.clone());
                self.group_at.insert(id.clone(), self.live.groups.len());
                self.live.groups.push(LiveGroup {
                    id,
                    display_name: display_name.clone(),
                    external_id: external_id.clone(),
                    members,
                    created: None,
                });
            }
            Operation::RenameGroup { id, to, .. } => {
                if let Some(group) = self.group(id) {
                    group.display_name = to.clone();
                }
            }
            Operation::SetGroupExternalId { id, to, .. } => {
                if let Some(group) = self.group(id) {
                    group.external_id = Some(to.clone());
                }
            }
            Operation::AddMembers { group_id, group, members } => {
                let Some(id) = group_id.clone().or_else(|| self.created_groups.get(group).cloned()) else {
                    return;
                };
                let ids: Vec<String> = members.iter().filter_map(|m| self.member_id(m)).collect();
                if let Some(group) = self.group(&id) {
                    for member in ids {
                        if !group.members.contains(&member) {
                            group.members.push(member);
                        }
                    }
                }
            }
            Operation::RemoveMembers { group_id, members, .. } => {
                if let Some(group) = self.group(group_id) {
                    group.members.retain(|id| !members.iter().any(|m| m.id.as_ref() == Some(id)));
                }
            }
            Operation::DeleteGroup { id, .. } => {
                if let Some(at) = self.group_at.remove(id) {
                    self.live.groups.remove(at);
                    for position in self.group_at.values_mut() {
                        if *position > at {
                            *position -= 1;
                        }
                    }
                }
            }
        }
    }
}
