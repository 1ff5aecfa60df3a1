//! Creates re-check the name they take, so that two applies racing converge.
//!
//! A plan is made from a fetch; by the time a create is sent, another apply (a second
//! pipeline, a re-run) may have created the same team or user. A team create looks its
//! name up just before its `POST` and again after a `409` to it; a user create after a
//! `409` only, since SCIM requires userNames to be unique (RFC 7643, section 4.1.1) and
//! the service's `409` is then the re-check, free when nothing conflicts (a look-up
//! before every user `POST` would double the requests of an onboarding). Then:
//!
//! - nothing there: the `POST` goes ahead;
//! - what the plan would create (a team with the same name, ignoring case, no member the
//!   plan does not give it and no other externalId; a user with the same identity key and
//!   every attribute the file sets): it is adopted, completed (missing members added, the
//!   externalId set) and reported as adopted;
//! - anything else: the create fails with a named conflict and nothing is overwritten.
//!
//! Services that allow duplicate team names (scim2-server, some real ones) can still
//! accept two `POST`s sent at the same moment, so a team create also re-checks after its
//! `POST`: when teams of that name now exist several times, every racer keeps the one
//! created first (by `meta.created`, then id), and the run whose team lost deletes its
//! own, just-created copy and adopts the first. Two racers see the same teams and pick
//! the same one; a racer that saw only its own team created it before the other's.
//!
//! The decisions are pure functions of what the service showed, tested without sockets.

use std::collections::HashSet;

use roster_model::identity::group_key;
use roster_model::{LiveGroup, LiveUser, UserAttributes, UserKey};
use roster_scim::{Group, ListResponse, ScimRequest, User};

use super::{Applied, RecordOutcome, Verification, WriteClient, WriteError, failure, record};
use crate::error::ClientError;
use crate::transport::{Exchange, target};

/// The team among `same_name` that every racer keeps: the one created first, by
/// `meta.created` (an unknown time sorts last), then by id.
pub(crate) fn first_created(same_name: &[LiveGroup]) -> Option<&LiveGroup> {
    same_name.iter().min_by(|a, b| {
        (a.created.is_none(), a.created, a.id.as_str()).cmp(&(b.created.is_none(), b.created, b.id.as_str()))
    })
}

/// Whether an existing team is what the plan would create: `Ok` when it may be adopted,
/// else why not, for people.
pub(crate) fn group_fits(
    group: &LiveGroup,
    external_id: Option<&str>,
    member_ids: &[String],
) -> Result<(), String> {
    let mut reasons = Vec::new();
    if let (Some(theirs), Some(ours)) = (group.external_id.as_deref(), external_id)
        && theirs != ours
    {
        reasons.push(format!("it has externalId {theirs:?}, the plan gives {ours:?}"));
    }
    let planned: HashSet<&str> = member_ids.iter().map(String::as_str).collect();
    let mut extra: Vec<&str> =
        group.members.iter().map(String::as_str).filter(|id| !planned.contains(id)).collect();
    extra.sort_unstable();
    extra.dedup();
    if !extra.is_empty() {
        const SHOWN: usize = 5;
        let mut list = extra.iter().take(SHOWN).map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ");
        if extra.len() > SHOWN {
            list.push_str(&format!(" and {} more", extra.len() - SHOWN));
        }
        reasons.push(format!(
            "it has {} the plan does not give it (ids {list})",
            if extra.len() == 1 { "a member".to_owned() } else { format!("{} members", extra.len()) }
        ));
    }
    if reasons.is_empty() { Ok(()) } else { Err(reasons.join("; ")) }
}

/// Whether an existing user is what the plan would create: same identity key, active,
/// and every attribute the file sets equal. `Ok` when it may be adopted, else the
/// attributes that differ.
pub(crate) fn user_fits(user: &LiveUser, planned: &UserAttributes) -> Result<(), String> {
    let live = &user.attributes;
    let mut differences = Vec::new();
    if UserKey::new(&live.user_name) != UserKey::new(&planned.user_name) {
        differences.push(format!("userName {:?}, the plan gives {:?}", live.user_name, planned.user_name));
    }
    let fields: [(&str, &Option<String>, &Option<String>); 6] = [
        ("externalId", &live.external_id, &planned.external_id),
        ("displayName", &live.display_name, &planned.display_name),
        ("name.givenName", &live.given_name, &planned.given_name),
        ("name.familyName", &live.family_name, &planned.family_name),
        ("title", &live.title, &planned.title),
        ("role", &live.role, &planned.role),
    ];
    for (name, theirs, ours) in fields {
        if let Some(ours) = ours
            && theirs.as_ref() != Some(ours)
        {
            match theirs {
                Some(theirs) => differences.push(format!("{name} {theirs:?}, the plan gives {ours:?}")),
                None => differences.push(format!("no {name}, the plan gives {ours:?}")),
            }
        }
    }
    if live.active != planned.active {
        differences.push(format!("active {}, the plan gives {}", live.active, planned.active));
    }
    if differences.is_empty() { Ok(()) } else { Err(format!("it has {}", differences.join("; "))) }
}

/// How a team is described in messages: id, member count and creation time.
fn describe_group(group: &LiveGroup) -> String {
    let members = match group.members.len() {
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };
    match group.created {
        Some(created) => format!("id {}, {members}, created {created}", group.id),
        None => format!("id {}, {members}, creation time unknown", group.id),
    }
}

/// The record of a `POST` answered `409`, which a re-check follows.
pub(super) fn conflict_record(req: &ScimRequest, exchange: &Exchange) -> super::OperationRecord {
    record(req, exchange, RecordOutcome::Failed { message: exchange.to_error(req).to_string() })
}

impl<T> Applied<T> {
    /// The same outcome with `first` recorded before its requests.
    pub(super) fn after(mut self, first: super::OperationRecord) -> Self {
        self.records.insert(0, first);
        self
    }
}

impl WriteError {
    /// The same error with `first` recorded before its requests.
    pub(super) fn after(mut self, first: super::OperationRecord) -> Self {
        self.records.insert(0, first);
        self
    }
}

/// Adds a write that completes an adopted team to the adoption: its requests, and its
/// confirmation, which can only weaken the adoption's. Its failure fails the adoption,
/// with every request so far.
fn completed_by(
    written: super::WriteOutcome<()>,
    records: &mut Vec<super::OperationRecord>,
    verification: &mut Verification,
) -> Result<(), WriteError> {
    match written {
        Ok(applied) => {
            *verification = verification.weakest(applied.verification);
            records.extend(applied.records);
            Ok(())
        }
        Err(mut err) => {
            records.append(&mut err.records);
            Err(WriteError { error: err.error, records: std::mem::take(records) })
        }
    }
}

/// The conflict error of a create that found something else under its name.
fn conflict(req: &ScimRequest, kind: &'static str, name: &str, detail: String) -> ClientError {
    ClientError::CreateConflict {
        method: req.method(),
        path: target(req),
        kind,
        name: name.to_owned(),
        detail,
    }
}

impl WriteClient {
    /// The teams named `display_name`, ignoring case, with their members: the filtered
    /// listing, and `GET /Groups/{id}` for a team the listing shows without members.
    async fn groups_named(
        &self,
        display_name: &str,
    ) -> Result<(ScimRequest, Exchange, Vec<LiveGroup>), ClientError> {
        let req = ScimRequest::find_group_by_display_name(display_name);
        let exchange = self.reader.transport().send(&req).await?;
        let list: ListResponse<Group> = exchange.parse(&req, "ListResponse")?;
        let folded = group_key(display_name);
        let mut found = Vec::new();
        // A service that ignores the filter answers with a page of every team: only a
        // name that matches counts.
        for listed in list.resources.into_iter().filter(|g| group_key(&g.display_name) == folded) {
            let group = match (&listed.members, listed.id.as_deref()) {
                (None, Some(id)) => self.reader.get_group(id).await?.unwrap_or(listed),
                _ => listed,
            };
            let live = group.to_live().map_err(|source| ClientError::Mapping {
                method: req.method(),
                path: target(&req),
                source,
            })?;
            if !found.iter().any(|g: &LiveGroup| g.id == live.id) {
                found.push(live);
            }
        }
        Ok((req, exchange, found))
    }

    /// Before a team's `POST` (or after a `409` to it): `Ok(None)` when the name is free,
    /// `Ok(Some(..))` when an existing team was adopted and completed, `Err` with a named
    /// conflict when something else holds the name.
    pub(super) async fn recheck_group_create(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        member_ids: &[String],
    ) -> Result<Option<Applied<LiveGroup>>, WriteError> {
        let (req, exchange, found) = self
            .groups_named(display_name)
            .await
            .map_err(|e| WriteError { error: e, records: Vec::new() })?;
        let Some(first) = first_created(&found) else { return Ok(None) };
        if let Err(why) = group_fits(first, external_id, member_ids) {
            let detail = format!(
                "team {:?} ({}) appeared since the plan was made and is not what the plan creates: {why}; \
                 plan again to review what it would change",
                first.display_name,
                describe_group(first)
            );
            return Err(failure(&req, conflict(&req, "group", display_name, detail), Vec::new()));
        }
        let reason = format!(
            "team {:?} ({}) appeared since the plan was made, as the plan would create it; adopted",
            first.display_name,
            describe_group(first)
        );
        let adopted = first.clone();
        let records = vec![record(
            &req,
            &exchange,
            RecordOutcome::Adopted { id: adopted.id.clone(), reason: Some(reason) },
        )];
        // The look-up shows the team as it is: that is what confirms the adoption.
        self.complete_adopted_group(adopted, external_id, member_ids, records, Verification::Answer)
            .await
            .map(Some)
    }

    /// After a team's `POST` succeeded: when teams of that name now exist several times
    /// (another apply created one at the same moment), keeps the first created. When
    /// that is another's and fits the plan, deletes this run's copy and adopts it; when it
    /// does not fit, fails with a named conflict and leaves both for a person to resolve.
    pub(super) async fn settle_group_race(
        &self,
        created: LiveGroup,
        external_id: Option<&str>,
        member_ids: &[String],
        mut records: Vec<super::OperationRecord>,
        verification: Verification,
    ) -> Result<Applied<LiveGroup>, WriteError> {
        let (req, exchange, mut same_name) = match self.groups_named(&created.display_name).await {
            Ok(found) => found,
            Err(err) => {
                // The team was created and the service said so; only the check for a
                // racing duplicate is missing, and the next plan would block on one.
                tracing::warn!(team = %created.display_name, "could not re-check for a duplicate team: {err}");
                return Ok(Applied { value: created, records, verification });
            }
        };
        if !same_name.iter().any(|g| g.id == created.id) {
            same_name.push(created.clone());
        }
        let Some(first) = first_created(&same_name).filter(|first| first.id != created.id).cloned() else {
            return Ok(Applied { value: created, records, verification });
        };
        if let Err(why) = group_fits(&first, external_id, member_ids) {
            let detail = format!(
                "another team {:?} ({}) was created at the same moment as this run's ({}), and it is not \
                 what the plan creates: {why}; keep one (delete the other in the service's team settings) \
                 and plan again",
                first.display_name,
                describe_group(&first),
                describe_group(&created)
            );
            return Err(failure(&req, conflict(&req, "group", &created.display_name, detail), records));
        }
        // This run's copy goes through the ordinary delete (a 404 means it is gone already).
        match self.delete_group(&created.id).await {
            Ok(applied) => records.extend(applied.records),
            Err(mut err) if err.error.status() == Some(404) => {
                if let Some(last) = err.records.last_mut() {
                    last.outcome = RecordOutcome::Done;
                }
                records.append(&mut err.records);
            }
            Err(mut err) => {
                records.append(&mut err.records);
                return Err(WriteError { error: err.error, records });
            }
        }
        let reason = format!(
            "another apply created team {:?} at the same moment ({}); this run's copy ({}) was deleted and \
             the first one adopted",
            first.display_name,
            describe_group(&first),
            describe_group(&created)
        );
        tracing::info!(team = %first.display_name, kept = %first.id, deleted = %created.id, "settled a create race");
        records.push(record(
            &req,
            &exchange,
            RecordOutcome::Adopted { id: first.id.clone(), reason: Some(reason) },
        ));
        self.complete_adopted_group(first, external_id, member_ids, records, Verification::Answer).await
    }

    /// Gives an adopted team what the plan's create would have: the missing members and
    /// the externalId.
    async fn complete_adopted_group(
        &self,
        mut group: LiveGroup,
        external_id: Option<&str>,
        member_ids: &[String],
        mut records: Vec<super::OperationRecord>,
        mut verification: Verification,
    ) -> Result<Applied<LiveGroup>, WriteError> {
        let present: HashSet<&str> = group.members.iter().map(String::as_str).collect();
        let mut missing: Vec<String> =
            member_ids.iter().filter(|id| !present.contains(id.as_str())).cloned().collect();
        missing.dedup();
        if !missing.is_empty() {
            completed_by(self.add_members(&group.id, &missing).await, &mut records, &mut verification)?;
            group.members.extend(missing);
        }
        if let Some(external_id) = external_id
            && group.external_id.is_none()
        {
            let written = self.set_group_external_id(&group.id, external_id).await;
            completed_by(written, &mut records, &mut verification)?;
            group.external_id = Some(external_id.to_owned());
        }
        Ok(Applied { value: group, records, verification })
    }

    /// After a `409` to a user's `POST`: `Ok(None)` when no user has the
    /// userName's identity key, `Ok(Some(..))` when the one there is what the plan would
    /// create and was adopted, `Err` with a named conflict otherwise.
    pub(super) async fn recheck_user_create(
        &self,
        attributes: &UserAttributes,
    ) -> Result<Option<Applied<LiveUser>>, WriteError> {
        let req = ScimRequest::find_user_by_user_name(&attributes.user_name);
        let no_records = |error| WriteError { error, records: Vec::new() };
        let exchange = self.reader.transport().send(&req).await.map_err(no_records)?;
        let list: ListResponse<User> = exchange.parse(&req, "ListResponse").map_err(no_records)?;
        let key = UserKey::new(&attributes.user_name);
        let Some(user) = list.resources.into_iter().find(|u| UserKey::new(&u.user_name) == key) else {
            return Ok(None);
        };
        let live = user
            .to_live()
            .map_err(|source| ClientError::Mapping { method: req.method(), path: target(&req), source })
            .map_err(|e| failure(&req, e, Vec::new()))?;
        if let Err(why) = user_fits(&live, attributes) {
            let detail = format!(
                "user {} (id {}) appeared since the plan was made and is not what the plan creates: {why}; \
                 plan again to review what it would change",
                live.attributes.user_name, live.id
            );
            return Err(failure(&req, conflict(&req, "user", &attributes.user_name, detail), Vec::new()));
        }
        let reason = format!(
            "user {} (id {}) appeared since the plan was made, as the plan would create it; adopted",
            live.attributes.user_name, live.id
        );
        tracing::info!(user_name = %attributes.user_name, id = %live.id, "adopted a user that appeared since the plan");
        let outcome = RecordOutcome::Adopted { id: live.id.clone(), reason: Some(reason) };
        // The look-up shows every attribute the plan sets: that confirms the adoption.
        let records = vec![record(&req, &exchange, outcome)];
        Ok(Some(Applied { records, value: live, verification: Verification::Answer }))
    }
}

#[cfg(test)]
mod tests {
    use roster_model::Timestamp;

    use super::*;

    fn group(id: &str, members: &[&str], created: Option<&str>) -> LiveGroup {
        LiveGroup {
            id: id.into(),
            display_name: "Eng".into(),
            external_id: None,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            created: created.map(|t| Timestamp::parse(t).unwrap()),
        }
    }

    #[test]
    fn every_racer_keeps_the_team_created_first() {
        let a = group("zz", &[], Some("2026-11-30T10:00:00.000001Z"));
        let b = group("aa", &[], Some("2026-11-30T10:00:00.000002Z"));
        let unknown = group("00", &[], None);
        let all = [b.clone(), unknown.clone(), a.clone()];
        assert_eq!(first_created(&all).unwrap().id, "zz", "by creation time, not id");
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(first_created(&reversed).unwrap().id, "zz", "whatever order the service lists them in");
        let same_time =
            [group("b", &[], Some("2026-11-30T10:00:00Z")), group("a", &[], Some("2026-11-30T10:00:00Z"))];
        assert_eq!(first_created(&same_time).unwrap().id, "a", "then by id");
        assert_eq!(first_created(&[unknown]).unwrap().id, "00");
        assert!(first_created(&[]).is_none());
    }

    #[test]
    fn a_team_fits_with_no_members_or_only_planned_ones_and_no_other_external_id() {
        let planned = ["u1".to_owned(), "u2".to_owned()];
        assert_eq!(group_fits(&group("g", &[], None), None, &planned), Ok(()));
        assert_eq!(group_fits(&group("g", &["u2", "u1"], None), Some("grp"), &planned), Ok(()));
        assert_eq!(group_fits(&group("g", &["u1"], None), None, &planned), Ok(()), "the rest is added");
        assert_eq!(
            group_fits(&group("g", &["u1", "u9", "u8"], None), None, &planned),
            Err("it has 2 members the plan does not give it (ids \"u8\", \"u9\")".to_owned())
        );
        let mut other = group("g", &[], None);
        other.external_id = Some("grp-other".into());
        assert_eq!(group_fits(&other, None, &planned), Ok(()), "the file leaves externalId unmanaged");
        assert_eq!(
            group_fits(&other, Some("grp"), &planned),
            Err("it has externalId \"grp-other\", the plan gives \"grp\"".to_owned())
        );
    }

    #[test]
    fn a_user_fits_when_every_attribute_the_file_sets_is_equal() {
        let planned = UserAttributes {
            user_name: "Ada@Example.com".into(),
            display_name: Some("Ada".into()),
            role: Some("maker".into()),
            active: true,
            ..UserAttributes::default()
        };
        let mut live = LiveUser {
            id: "u1".into(),
            attributes: UserAttributes {
                user_name: "ada@example.com".into(),
                display_name: Some("Ada".into()),
                role: Some("maker".into()),
                title: Some("unmanaged".into()),
                active: true,
                ..UserAttributes::default()
            },
            created: None,
        };
        assert_eq!(user_fits(&live, &planned), Ok(()), "same identity key; unmanaged title ignored");
        live.attributes.role = Some("contributor".into());
        live.attributes.active = false;
        assert_eq!(
            user_fits(&live, &planned),
            Err("it has role \"contributor\", the plan gives \"maker\"; active false, the plan gives true"
                .to_owned())
        );
        live.attributes.display_name = None;
        assert!(user_fits(&live, &planned).unwrap_err().contains("no displayName, the plan gives \"Ada\""));
    }
}
