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
    /// among the users created so far; an operation on an id that does not exist is
    /// skipped, as the service would refuse it.
    pub fn apply_to(&self, live: &mut LiveState) {
        let mut simulator = Simulator::new(live);
        for operation in &self.operations {
            simulator.apply(operation);
        }
    }
}

/// The state of one in-memory apply.
pub(crate) struct Simulator<'a> {
    live: &'a mut LiveState,
    created_users: HashMap<UserKey, String>,
    created_groups: HashMap<String, String>,
    n_users: usize,
    n_groups: usize,
}

impl<'a> Simulator<'a> {
    pub(crate) fn new(live: &'a mut LiveState) -> Self {
        Self { live, created_users: HashMap::new(), created_groups: HashMap::new(), n_users: 0, n_groups: 0 }
    }

    fn user(&mut self, id: &str) -> Option<&mut LiveUser> {
        self.live.users.iter_mut().find(|user| user.id == id)
    }

    fn group(&mut self, id: &str) -> Option<&mut LiveGroup> {
        self.live.groups.iter_mut().find(|group| group.id == id)
    }

    fn member_id(&self, member: &MemberRef) -> Option<String> {
        member.id.clone().or_else(|| self.created_users.get(&UserKey::new(&member.user_name)).cloned())
    }

    fn fresh_id(&self, prefix: &str, n: &mut usize) -> String {
        loop {
            *n += 1;
            let id = format!("{prefix}-{n}");
            let taken =
                self.live.users.iter().any(|u| u.id == id) || self.live.groups.iter().any(|g| g.id == id);
            if !taken {
                return id;
            }
        }
    }

    pub(crate) fn apply(&mut self, operation: &Operation) {
        match operation {
            Operation::DeactivateUser { id, .. } => {
                if let Some(user) = self.user(id) {
                    user.attributes.active = false;
                }
            }
            Operation::CreateUser { attributes } => {
                let mut n = self.n_users;
                let id = self.fresh_id("new-user", &mut n);
                self.n_users = n;
                self.created_users.insert(attributes.key(), id.clone());
                self.live.users.push(LiveUser { id, attributes: attributes.clone() });
            }
            Operation::UpdateUser { id, changes, .. } | Operation::ReactivateUser { id, changes, .. } => {
                if let Some(user) = self.user(id) {
                    changes.apply_to(&mut user.attributes);
                }
            }
            Operation::CreateGroup { display_name, external_id, members } => {
                let mut n = self.n_groups;
                let id = self.fresh_id("new-group", &mut n);
                self.n_groups = n;
                let members = members.iter().filter_map(|m| self.member_id(m)).collect();
                self.created_groups.insert(display_name.clone(), id.clone());
                self.live.groups.push(LiveGroup {
                    id,
                    display_name: display_name.clone(),
                    external_id: external_id.clone(),
                    members,
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
            Operation::DeleteGroup { id, .. } => self.live.groups.retain(|group| &group.id != id),
        }
    }
}
