//! Fitting a plan to what the service keeps: an attribute the service does not keep, or
//! cannot change, is not planned, and the plan says so once per attribute.
//!
//! This runs on the finished list of operations, so that matching and the rails stay
//! independent of it: it only removes attribute changes (and an update left with
//! nothing to change), never adds an operation. A re-plan after apply then shows no
//! change the service cannot hold, run after run.

use std::collections::{BTreeMap, HashMap};

use roster_model::{
    AttributeSupport, DesiredState, ServiceCapabilities, SourceLocation, UserAttribute, UserKey,
};

use crate::types::Operation;

/// How many users an attribute was left out for, and the first file line among them.
#[derive(Default)]
struct LeftOut {
    users: u64,
    first: Option<SourceLocation>,
}

impl LeftOut {
    fn count(&mut self, source: Option<&SourceLocation>) {
        self.users += 1;
        if let Some(source) = source
            && self.first.as_ref().is_none_or(|first| (&source.file, source.line) < (&first.file, first.line))
        {
            self.first = Some(source.clone());
        }
    }
}

/// Removes from `operations` what the service cannot hold, and adds one warning per
/// attribute left out.
pub(crate) fn fit_to_service(
    operations: Vec<Operation>,
    desired: &DesiredState,
    capabilities: &ServiceCapabilities,
    warnings: &mut Vec<String>,
) -> Vec<Operation> {
    if *capabilities == ServiceCapabilities::default() {
        return operations;
    }
    // Attributes the service does not keep at all (or keeps read-only): every user of
    // the file that sets one is counted, whether or not it differs today, so that the
    // warning is the same run after run.
    let mut unkept: BTreeMap<UserAttribute, LeftOut> = BTreeMap::new();
    for user in &desired.users {
        for attribute in UserAttribute::ALL {
            let support = capabilities.user_attribute(attribute);
            if !support.on_create() && attribute.value_in(&user.attributes).is_some() {
                unkept.entry(attribute).or_default().count(user.source.as_ref());
            }
        }
    }
    let sources: HashMap<UserKey, Option<&SourceLocation>> =
        desired.users.iter().map(|u| (u.attributes.key(), u.source.as_ref())).collect();
    let source_of = |user_name: &str| sources.get(&UserKey::new(user_name)).copied().flatten();
    // Attributes kept but fixed after create: only the users whose change is dropped.
    let mut immutable: BTreeMap<UserAttribute, LeftOut> = BTreeMap::new();
    let mut group_external_ids = 0u64;
    let fitted = operations
        .into_iter()
        .filter_map(|mut operation| {
            match &mut operation {
                Operation::CreateUser { attributes, .. } => {
                    capabilities.creatable(attributes);
                }
                Operation::UpdateUser { user_name, changes, .. }
                | Operation::ReactivateUser { user_name, changes, .. } => {
                    let target = changes.user_name.clone().unwrap_or_else(|| user_name.clone());
                    for attribute in capabilities.updatable(changes) {
                        if capabilities.user_attribute(attribute) == AttributeSupport::Immutable {
                            immutable.entry(attribute).or_default().count(source_of(&target));
                        }
                    }
                    if changes.is_empty() {
                        return None;
                    }
                    // Evidence shown beside a role change goes when the role change does.
                    if let Operation::UpdateUser { changes, grant, .. } = &mut operation
                        && changes.role.is_none()
                    {
                        *grant = roster_model::Grant::default();
                    }
                    // What a reactivated account comes back with is what the service
                    // will hold: its attributes with only the changes it can keep.
                    if let Operation::ReactivateUser { before, changes, comes_back_with, .. } = &mut operation
                    {
                        let mut after = before.clone();
                        changes.apply_to(&mut after);
                        comes_back_with.attributes = after;
                    }
                }
                Operation::CreateGroup { external_id, .. } if !capabilities.group_external_id.on_create() => {
                    *external_id = None;
                }
                Operation::SetGroupExternalId { .. } if !capabilities.group_external_id.on_update() => {
                    group_external_ids += 1;
                    return None;
                }
                _ => {}
            }
            Some(operation)
        })
        .collect();
    for (attribute, left_out) in &unkept {
        let support = capabilities.user_attribute(*attribute);
        let why = match support {
            AttributeSupport::ReadOnly => "is read-only on the service",
            _ => "is not kept by the service (its schema does not have it)",
        };
        warnings.push(format!(
            "{} {why}: {} in the file set it{}; it is not planned",
            attribute.file_key(),
            users(left_out.users),
            first_line(left_out.first.as_ref())
        ));
    }
    for (attribute, left_out) in &immutable {
        warnings.push(format!(
            "{} is immutable on the service (set only when a user is created): the change for {} is not \
             planned{}",
            attribute.file_key(),
            users(left_out.users),
            first_line(left_out.first.as_ref())
        ));
    }
    if group_external_ids > 0 {
        warnings.push(format!(
            "a group's externalId is {} on the service: setting it on {group_external_ids} {} is not planned",
            capabilities.group_external_id.as_str(),
            if group_external_ids == 1 { "group" } else { "groups" }
        ));
    }
    fitted
}

fn users(n: u64) -> String {
    if n == 1 { "1 user".to_owned() } else { format!("{n} users") }
}

fn first_line(source: Option<&SourceLocation>) -> String {
    source.map(|s| format!(", first at {}:{}", s.file, s.line)).unwrap_or_default()
}
