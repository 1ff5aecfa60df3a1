//! The writing client, used by `apply` only. It has no way to delete a user.

use std::collections::HashSet;
use std::fmt;

use roster_model::{LiveGroup, LiveUser, UserAttributes, UserChanges};
use roster_scim::{
    Group, Method, Mismatch, PatchOp, ScimRequest, User, add_members_patch, changes_of_create,
    formatted_name, group_for_create, group_for_put, group_rename_patch, member_for, merge_for_put,
    not_applied_message, remove_members_patch, unapplied_group_text, unapplied_member_changes,
    unapplied_user_changes, user_for_create, user_patch,
};
use serde::Serialize;
use serde_json::Value;

use crate::config::{ClientConfig, UpdateMethod};
use crate::error::ClientError;
use crate::read::ReadClient;
use crate::transport::{Exchange, target};

/// One write request as the apply report shows it: never a header, never a body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    /// The HTTP method.
    pub method: Method,
    /// The path below the base URL, with its query.
    pub path: String,
    /// The final HTTP status; `None` when no response arrived.
    pub status: Option<u16>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// How it ended.
    pub outcome: RecordOutcome,
}

/// How one write request ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RecordOutcome {
    /// The service accepted it.
    Done,
    /// A create retried after a lost response met `409`, and the resource it had
    /// created was found and adopted.
    Adopted {
        /// The adopted resource's id.
        id: String,
    },
    /// It failed.
    Failed {
        /// Why, for people.
        message: String,
    },
}

/// How a write's effect was confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verification {
    /// The service's answer shows the change.
    Answer,
    /// The answer showed nothing (204, or without the attribute), and a read-back of the
    /// resource shows the change.
    ReadBack,
    /// The answer showed nothing and the change is not security-relevant, so it was not
    /// read back; apply's re-plan checks it.
    Unverified,
}

/// A write that succeeded, with the requests it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied<T> {
    /// What the write produced.
    pub value: T,
    /// The requests, in order: the writes, and any read-back.
    pub records: Vec<OperationRecord>,
    /// How the effect was confirmed.
    pub verification: Verification,
}

impl<T> Applied<T> {
    /// True when a create adopted an existing resource.
    pub fn adopted(&self) -> bool {
        self.records.iter().any(|r| matches!(r.outcome, RecordOutcome::Adopted { .. }))
    }
}

/// A write that failed, with the requests it took (the last one is the failure).
#[derive(Debug)]
pub struct WriteError {
    /// What went wrong.
    pub error: ClientError,
    /// The write requests, in order.
    pub records: Vec<OperationRecord>,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

/// The result of one write.
pub type WriteOutcome<T> = Result<Applied<T>, WriteError>;

fn record(req: &ScimRequest, exchange: &Exchange, outcome: RecordOutcome) -> OperationRecord {
    OperationRecord {
        method: req.method(),
        path: target(req),
        status: Some(exchange.status),
        attempts: exchange.attempts,
        outcome,
    }
}

fn failure(req: &ScimRequest, error: ClientError, mut records: Vec<OperationRecord>) -> WriteError {
    // A write the service answered but did not apply is already recorded: it becomes
    // the failure, rather than a request that was never sent twice.
    if matches!(error, ClientError::NotApplied { .. }) {
        let path = target(req);
        if let Some(sent) = records.iter_mut().rev().find(|r| r.method == req.method() && r.path == path) {
            sent.outcome = RecordOutcome::Failed { message: error.to_string() };
            return WriteError { error, records };
        }
    }
    records.push(OperationRecord {
        method: req.method(),
        path: target(req),
        status: error.status(),
        attempts: error.attempts(),
        outcome: RecordOutcome::Failed { message: error.to_string() },
    });
    WriteError { error, records }
}

fn no_records(error: ClientError) -> WriteError {
    WriteError { error, records: Vec::new() }
}

/// A SCIM client that can also write. It holds a [`ReadClient`] for the reads a write
/// needs (adoption look-ups, the GET before a PUT).
#[derive(Clone, Debug)]
pub struct WriteClient {
    reader: ReadClient,
}

impl WriteClient {
    /// A client for the configured service; checks the URL and sends nothing yet.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(WriteClient { reader: ReadClient::new(config)? })
    }

    /// The read-only side of this client.
    pub fn reader(&self) -> &ReadClient {
        &self.reader
    }

    fn config(&self) -> &ClientConfig {
        self.reader.config()
    }

    /// Sends one write; a non-2xx answer is an error with its record.
    async fn send_write(
        &self,
        req: &ScimRequest,
        records: &mut Vec<OperationRecord>,
    ) -> Result<Exchange, ClientError> {
        let exchange = self.reader.transport().send(req).await?;
        if !exchange.is_success() {
            return Err(exchange.to_error(req));
        }
        records.push(record(req, &exchange, RecordOutcome::Done));
        Ok(exchange)
    }

    async fn use_patch(&self) -> bool {
        match self.config().update_method {
            UpdateMethod::Patch => true,
            UpdateMethod::Put => false,
            UpdateMethod::Auto => self.reader.capabilities().await.patch,
        }
    }

    /// The URL of the users collection, for members' `$ref`, when the service's schema
    /// requires it.
    async fn member_refs(&self) -> Option<String> {
        self.reader
            .capabilities()
            .await
            .member_ref_required
            .then(|| format!("{}/Users", self.reader.base_url()))
    }

    /// Reads a user back and returns what `changes` still lacks, recording the GET.
    async fn read_back_user(
        &self,
        id: &str,
        changes: &UserChanges,
        records: &mut Vec<OperationRecord>,
    ) -> Result<Vec<Mismatch>, ClientError> {
        let get = ScimRequest::get_user(id)?;
        let exchange = self.reader.transport().send(&get).await?;
        if exchange.status == 404 {
            return Err(not_found(&get));
        }
        let user: User = exchange.parse(&get, "User")?;
        records.push(record(&get, &exchange, RecordOutcome::Done));
        let live = user.to_live().map_err(|source| ClientError::Mapping {
            method: get.method(),
            path: target(&get),
            source,
        })?;
        Ok(unapplied_user_changes(changes, &live.attributes))
    }

    /// Confirms a user write: by its answer when that shows the changes, else by reading
    /// the user back when the answer showed nothing or showed otherwise (it may be
    /// abbreviated), or when `must_confirm` and the answer had no body. A read-back that
    /// still lacks a change makes the write a failure naming each attribute.
    async fn confirm_user(
        &self,
        req: &ScimRequest,
        exchange: &Exchange,
        id: &str,
        changes: &UserChanges,
        must_confirm: bool,
        records: &mut Vec<OperationRecord>,
    ) -> Result<Verification, ClientError> {
        if !self.config().verify_writes {
            return Ok(Verification::Unverified);
        }
        let answer = answered::<User>(exchange).and_then(|user| user.to_live().ok());
        match answer {
            Some(live) if unapplied_user_changes(changes, &live.attributes).is_empty() => {
                return Ok(Verification::Answer);
            }
            None if !must_confirm => return Ok(Verification::Unverified),
            _ => {}
        }
        let mismatches = self.read_back_user(id, changes, records).await?;
        if mismatches.is_empty() {
            Ok(Verification::ReadBack)
        } else {
            Err(not_applied(req, exchange, &mismatches))
        }
    }

    /// `POST /Users`, confirmed by the answer (or a read-back) showing every attribute
    /// it set. When the POST was retried after a lost response and meets `409`, the user
    /// is looked up by userName and adopted.
    pub async fn create_user(&self, attributes: &UserAttributes) -> WriteOutcome<LiveUser> {
        let capabilities = self.reader.capabilities().await;
        let req =
            ScimRequest::create_user(&user_for_create(attributes, self.config().provider, capabilities));
        let exchange = self.reader.transport().send(&req).await.map_err(|e| failure(&req, e, Vec::new()))?;
        let intended = changes_of_create(attributes);
        if exchange.is_success() {
            let user: User = exchange.parse(&req, "User").map_err(|e| failure(&req, e, Vec::new()))?;
            let live = user
                .to_live()
                .map_err(|source| ClientError::Mapping { method: req.method(), path: target(&req), source })
                .map_err(|e| failure(&req, e, Vec::new()))?;
            let mut records = vec![record(&req, &exchange, RecordOutcome::Done)];
            let verification = self
                .confirm_user(&req, &exchange, &live.id, &intended, false, &mut records)
                .await
                .map_err(|e| failure(&req, e, records.clone()))?;
            return Ok(Applied { value: live, records, verification });
        }
        if exchange.status == 409 && exchange.attempts > 1 {
            let found = self
                .reader
                .find_user_by_user_name(&attributes.user_name)
                .await
                .map_err(|e| failure(&req, e, Vec::new()))?;
            let Some(user) = found else {
                let err = ClientError::AdoptionFailed {
                    method: req.method(),
                    path: target(&req),
                    kind: "user",
                    name: attributes.user_name.clone(),
                };
                return Err(failure(&req, err, Vec::new()));
            };
            let live = user
                .to_live()
                .map_err(|source| ClientError::Mapping { method: req.method(), path: target(&req), source })
                .map_err(|e| failure(&req, e, Vec::new()))?;
            tracing::info!(user_name = %attributes.user_name, id = %live.id, "adopted a user created by a retried POST");
            let mismatches = unapplied_user_changes(&intended, &live.attributes);
            if !mismatches.is_empty() {
                return Err(failure(&req, not_applied(&req, &exchange, &mismatches), Vec::new()));
            }
            let outcome = RecordOutcome::Adopted { id: live.id.clone() };
            let records = vec![record(&req, &exchange, outcome)];
            return Ok(Applied { value: live, records, verification: Verification::Answer });
        }
        Err(failure(&req, exchange.to_error(&req), Vec::new()))
    }

    /// Applies `changes` to a user: a minimal PATCH, or, when the service does not
    /// support PATCH (see [`UpdateMethod`]), GET the user, merge, and PUT it back whole.
    /// The answer must show the changes; an answer without a body is read back when the
    /// change is security-relevant (`active`, role). Nothing is sent when `changes` is
    /// empty.
    pub async fn update_user(&self, id: &str, changes: &UserChanges) -> WriteOutcome<()> {
        let Some(mut patch) = user_patch(changes) else {
            return Ok(Applied { value: (), records: Vec::new(), verification: Verification::Answer });
        };
        if let Some(formatted) = self.formatted_for(id, changes).await {
            patch
                .operations
                .push(roster_scim::PatchOperation::replace("name.formatted", Value::String(formatted)));
        }
        let must_confirm = changes.active.is_some() || changes.role.is_some();
        let mut records = Vec::new();
        let req = ScimRequest::patch_user(id, &patch).map_err(|e| no_records(e.into()))?;
        if let Some(exchange) = self.try_patch(&req, &mut records, false).await? {
            return match self.confirm_user(&req, &exchange, id, changes, must_confirm, &mut records).await {
                Ok(verification) => Ok(Applied { value: (), records, verification }),
                Err(err) => Err(failure(&req, err, records)),
            };
        }
        let get = ScimRequest::get_user(id).map_err(|e| no_records(e.into()))?;
        let live = match self.reader.get_user(id).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(failure(&get, not_found(&get), records)),
            Err(err) => return Err(failure(&get, err, records)),
        };
        let merged = merge_for_put(&live, changes);
        let req = ScimRequest::replace_user(id, &merged).map_err(|e| no_records(e.into()))?;
        let exchange = match self.send_write(&req, &mut records).await {
            Ok(exchange) => exchange,
            Err(err) => return Err(failure(&req, err, records)),
        };
        match self.confirm_user(&req, &exchange, id, changes, must_confirm, &mut records).await {
            Ok(verification) => Ok(Applied { value: (), records, verification }),
            Err(err) => Err(failure(&req, err, records)),
        }
    }

    /// The `name.formatted` that goes with a change of the given or family name: composed
    /// from the two when the change has both; where the schema requires `formatted` and
    /// the change has one, from the other as the service holds it (one GET).
    async fn formatted_for(&self, id: &str, changes: &UserChanges) -> Option<String> {
        let (given, family) = (changes.given_name.as_deref(), changes.family_name.as_deref());
        match (given, family) {
            (None, None) => None,
            (Some(_), Some(_)) => formatted_name(given, family),
            _ if self.reader.capabilities().await.name_formatted_required => {
                let live = self.reader.get_user(id).await.ok().flatten()?;
                let name = live.name.unwrap_or_default();
                formatted_name(given.or(name.given_name.as_deref()), family.or(name.family_name.as_deref()))
            }
            _ => None,
        }
    }

    /// Sends `patch` when the service takes PATCH. `Some(answer)`: sent and accepted.
    /// `None`: the caller falls back to GET, edit and PUT, because the service does not
    /// take PATCH (by its configuration, or by answering this PATCH with 405 or 501, which
    /// is recorded), or, with `refused_form_falls_back`, because it refused this PATCH's
    /// form with 400 (a server that does not take the value path of a member removal).
    async fn try_patch(
        &self,
        patch: &ScimRequest,
        records: &mut Vec<OperationRecord>,
        refused_form_falls_back: bool,
    ) -> Result<Option<Exchange>, WriteError> {
        if !self.use_patch().await {
            return Ok(None);
        }
        let exchange =
            self.reader.transport().send(patch).await.map_err(|e| failure(patch, e, records.clone()))?;
        if exchange.is_success() {
            records.push(record(patch, &exchange, RecordOutcome::Done));
            return Ok(Some(exchange));
        }
        let refused_form = refused_form_falls_back && exchange.status == 400;
        if !self.patch_refused(&exchange) && !refused_form {
            return Err(failure(patch, exchange.to_error(patch), std::mem::take(records)));
        }
        let message = format!("PATCH refused ({}); sent as GET and PUT", exchange.status);
        records.push(record(patch, &exchange, RecordOutcome::Failed { message }));
        Ok(None)
    }

    /// In automatic mode, a 405 or 501 answer to a PATCH means "use PUT".
    fn patch_refused(&self, exchange: &Exchange) -> bool {
        self.config().update_method == UpdateMethod::Auto && matches!(exchange.status, 405 | 501)
    }

    /// `POST /Groups` with the first members (at most `max_members_per_request`), then
    /// the rest by PATCH in chunks. A POST retried after a lost response that meets `409`
    /// adopts the group found by displayName (and externalId, when given). Members the
    /// answer lacks are added again; a group the service created without some of them is
    /// a failure that names them.
    pub async fn create_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        member_ids: &[String],
    ) -> WriteOutcome<LiveGroup> {
        let chunk = self.config().max_members_per_request.max(1);
        let first = &member_ids[..member_ids.len().min(chunk)];
        let refs = self.member_refs().await;
        let req =
            ScimRequest::create_group(&group_for_create(display_name, external_id, first, refs.as_deref()));
        let exchange = self.reader.transport().send(&req).await.map_err(|e| failure(&req, e, Vec::new()))?;
        let mut records = Vec::new();
        let (group, sent_members): (Group, &[String]) = if exchange.is_success() {
            let group: Group = exchange.parse(&req, "Group").map_err(|e| failure(&req, e, Vec::new()))?;
            records.push(record(&req, &exchange, RecordOutcome::Done));
            (group, first)
        } else if exchange.status == 409 && exchange.attempts > 1 {
            let found = self
                .reader
                .find_group_by_display_name(display_name)
                .await
                .map_err(|e| failure(&req, e, Vec::new()))?
                .filter(|g| external_id.is_none() || g.external_id.as_deref() == external_id);
            let Some(listed) = found else {
                let err = ClientError::AdoptionFailed {
                    method: req.method(),
                    path: target(&req),
                    kind: "group",
                    name: display_name.to_owned(),
                };
                return Err(failure(&req, err, Vec::new()));
            };
            // The listing may leave members out: read the group itself.
            let id = listed.id.clone().unwrap_or_default();
            let group = match self.reader.get_group(&id).await {
                Ok(Some(group)) => group,
                Ok(None) => listed,
                Err(err) => return Err(failure(&req, err, Vec::new())),
            };
            tracing::info!(display_name, id = %id, "adopted a group created by a retried POST");
            records.push(record(&req, &exchange, RecordOutcome::Adopted { id }));
            (group, &[][..])
        } else {
            return Err(failure(&req, exchange.to_error(&req), Vec::new()));
        };
        let mut live = group
            .to_live()
            .map_err(|source| ClientError::Mapping { method: req.method(), path: target(&req), source })
            .map_err(|e| failure(&req, e, records.clone()))?;
        if let Some(mismatch) = unapplied_group_text("displayName", display_name, Some(&live.display_name)) {
            return Err(failure(&req, not_applied(&req, &exchange, &[mismatch]), records));
        }
        let mut verification = Verification::Answer;
        if group.members.is_none() {
            // Some services do not echo members; the POST carried them. Whether the
            // service took them is checked by apply's re-plan.
            live.members = sent_members.to_vec();
            if !sent_members.is_empty() {
                verification = Verification::Unverified;
            }
        }
        let present: HashSet<&str> = live.members.iter().map(String::as_str).collect();
        let missing: Vec<String> =
            member_ids.iter().filter(|id| !present.contains(id.as_str())).cloned().collect();
        if !missing.is_empty() {
            let added = self.add_members(&live.id, &missing).await;
            match added {
                Ok(applied) => {
                    records.extend(applied.records);
                    if applied.verification == Verification::Unverified {
                        verification = Verification::Unverified;
                    }
                }
                Err(mut err) => {
                    records.append(&mut err.records);
                    let error = ClientError::NotApplied {
                        method: req.method(),
                        path: target(&req),
                        status: exchange.status,
                        message: format!(
                            "created group {display_name:?} (id {}), but the service did not take {} of its \
                             members: {}",
                            live.id,
                            missing.len(),
                            err.error
                        ),
                    };
                    return Err(WriteError { error, records });
                }
            }
            live.members.extend(missing);
        }
        Ok(Applied { value: live, records, verification })
    }

    /// Renames a group.
    pub async fn rename_group(&self, id: &str, display_name: &str) -> WriteOutcome<()> {
        let name = display_name.to_owned();
        let wanted = display_name.to_owned();
        let change = GroupChange {
            patch: group_rename_patch(display_name),
            edit: Box::new(move |group: &mut Group| group.display_name = name),
            check: Box::new(move |group: &Group| {
                unapplied_group_text("displayName", &wanted, Some(&group.display_name)).into_iter().collect()
            }),
            shows: Box::new(|_: &Group| true),
            must_confirm: false,
            refused_form_falls_back: false,
        };
        self.change_group(id, change).await
    }

    /// Sets a group's externalId.
    pub async fn set_group_external_id(&self, id: &str, external_id: &str) -> WriteOutcome<()> {
        let patch = PatchOp::new(vec![roster_scim::PatchOperation::replace(
            "externalId",
            Value::String(external_id.to_owned()),
        )]);
        let value = external_id.to_owned();
        let wanted = external_id.to_owned();
        let change = GroupChange {
            patch,
            edit: Box::new(move |group: &mut Group| group.external_id = Some(value)),
            check: Box::new(move |group: &Group| {
                unapplied_group_text("externalId", &wanted, group.external_id.as_deref())
                    .into_iter()
                    .collect()
            }),
            shows: Box::new(|_: &Group| true),
            must_confirm: false,
            refused_form_falls_back: false,
        };
        self.change_group(id, change).await
    }

    /// Adds members to a group: one PATCH `add` per chunk of `max_members_per_request`.
    /// Stops at the first chunk that fails.
    pub async fn add_members(&self, group_id: &str, member_ids: &[String]) -> WriteOutcome<()> {
        self.change_members(group_id, member_ids, true).await
    }

    /// Removes members from a group: per chunk one PATCH with a `remove` of
    /// `members[value eq "id"]` per member; where the service refuses that form (400) or
    /// PATCH (405, 501), GET the group and PUT it back without them. Each chunk is
    /// confirmed by the answer or a read-back. Stops at the first chunk that fails.
    pub async fn remove_members(&self, group_id: &str, member_ids: &[String]) -> WriteOutcome<()> {
        self.change_members(group_id, member_ids, false).await
    }

    async fn change_members(&self, group_id: &str, member_ids: &[String], add: bool) -> WriteOutcome<()> {
        let mut records = Vec::new();
        let mut verification = Verification::Answer;
        let refs = self.member_refs().await;
        for chunk in member_ids.chunks(self.config().max_members_per_request.max(1)) {
            let owned = chunk.to_vec();
            let checked = chunk.to_vec();
            let refs = refs.clone();
            let change = if add {
                GroupChange {
                    patch: add_members_patch(chunk, refs.as_deref()),
                    edit: Box::new(move |group: &mut Group| {
                        let members = group.members.get_or_insert_with(Vec::new);
                        let present: HashSet<String> = members.iter().map(|m| m.value.clone()).collect();
                        members.extend(
                            owned
                                .iter()
                                .filter(|id| !present.contains(*id))
                                .map(|id| member_for(id, refs.as_deref())),
                        );
                    }),
                    check: Box::new(move |group: &Group| {
                        unapplied_member_changes(&checked, &[], &member_ids_of(group))
                    }),
                    shows: Box::new(|group: &Group| group.members.is_some()),
                    must_confirm: false,
                    refused_form_falls_back: false,
                }
            } else {
                GroupChange {
                    patch: remove_members_patch(chunk),
                    edit: Box::new(move |group: &mut Group| {
                        let gone: HashSet<&String> = owned.iter().collect();
                        group.members.get_or_insert_with(Vec::new).retain(|m| !gone.contains(&m.value));
                    }),
                    check: Box::new(move |group: &Group| {
                        unapplied_member_changes(&[], &checked, &member_ids_of(group))
                    }),
                    // A group answered without `members` may simply leave them out.
                    shows: Box::new(|group: &Group| group.members.is_some()),
                    must_confirm: true,
                    refused_form_falls_back: true,
                }
            };
            match self.change_group(group_id, change).await {
                Ok(applied) => {
                    records.extend(applied.records);
                    if applied.verification == Verification::Unverified
                        || (applied.verification == Verification::ReadBack
                            && verification == Verification::Answer)
                    {
                        verification = applied.verification;
                    }
                }
                Err(mut err) => {
                    records.append(&mut err.records);
                    return Err(WriteError { error: err.error, records });
                }
            }
        }
        Ok(Applied { value: (), records, verification })
    }

    /// One change to a group: PATCH, or GET, edit and PUT where PATCH is unsupported
    /// (or, for member removals, its form refused); then confirmed.
    async fn change_group(&self, id: &str, change: GroupChange) -> WriteOutcome<()> {
        let mut records = Vec::new();
        let req = ScimRequest::patch_group(id, &change.patch).map_err(|e| no_records(e.into()))?;
        let (req, exchange) = match self.try_patch(&req, &mut records, change.refused_form_falls_back).await?
        {
            Some(exchange) => (req, exchange),
            None => {
                let get = ScimRequest::get_group(id).map_err(|e| no_records(e.into()))?;
                let live = match self.reader.get_group(id).await {
                    Ok(Some(group)) => group,
                    Ok(None) => return Err(failure(&get, not_found(&get), records)),
                    Err(err) => return Err(failure(&get, err, records)),
                };
                let mut group = group_for_put(&live, self.member_refs().await.as_deref());
                (change.edit)(&mut group);
                let req = ScimRequest::replace_group(id, &group).map_err(|e| no_records(e.into()))?;
                match self.send_write(&req, &mut records).await {
                    Ok(exchange) => (req, exchange),
                    Err(err) => return Err(failure(&req, err, records)),
                }
            }
        };
        if !self.config().verify_writes {
            return Ok(Applied { value: (), records, verification: Verification::Unverified });
        }
        let answer = answered::<Group>(&exchange).filter(|group| (change.shows)(group));
        match &answer {
            Some(group) if (change.check)(group).is_empty() => {
                return Ok(Applied { value: (), records, verification: Verification::Answer });
            }
            None if !change.must_confirm => {
                return Ok(Applied { value: (), records, verification: Verification::Unverified });
            }
            _ => {}
        }
        // The answer showed nothing, or showed the change not made: read the group back.
        let get = ScimRequest::get_group(id).map_err(|e| no_records(e.into()))?;
        let read = async {
            let back = self.reader.transport().send(&get).await?;
            if back.status == 404 {
                return Err(not_found(&get));
            }
            let group: Group = back.parse(&get, "Group")?;
            Ok((back, group))
        };
        let (back, group) = match read.await {
            Ok(read) => read,
            Err(err) => return Err(failure(&get, err, records)),
        };
        records.push(record(&get, &back, RecordOutcome::Done));
        if !(change.shows)(&group) {
            // Not even the group itself shows its members: the re-plan after apply is
            // what can tell.
            return Ok(Applied { value: (), records, verification: Verification::Unverified });
        }
        let mismatches = (change.check)(&group);
        if mismatches.is_empty() {
            Ok(Applied { value: (), records, verification: Verification::ReadBack })
        } else {
            Err(failure(&req, not_applied(&req, &exchange, &mismatches), records))
        }
    }

    /// `DELETE /Groups/{id}`. A 404 after a retry counts as done: the first attempt
    /// deleted it and its answer was lost. A delete answers without a body; apply's
    /// re-plan confirms it.
    pub async fn delete_group(&self, id: &str) -> WriteOutcome<()> {
        let req = ScimRequest::delete_group(id).map_err(|e| no_records(e.into()))?;
        let exchange = self.reader.transport().send(&req).await.map_err(|e| failure(&req, e, Vec::new()))?;
        if exchange.is_success() || (exchange.status == 404 && exchange.attempts > 1) {
            return Ok(Applied {
                value: (),
                records: vec![record(&req, &exchange, RecordOutcome::Done)],
                verification: Verification::Unverified,
            });
        }
        Err(failure(&req, exchange.to_error(&req), Vec::new()))
    }
}

/// What a group shown by the service lacks of a change.
type GroupCheck = Box<dyn Fn(&Group) -> Vec<Mismatch> + Send + Sync>;

/// One change to a group, with how to make it by PUT and how to tell it was made.
struct GroupChange {
    /// The PATCH that makes it.
    patch: PatchOp,
    /// The same change made to a fetched group, for the PUT fallback.
    edit: Box<dyn FnOnce(&mut Group) + Send>,
    /// What a group shown by the service lacks of the change.
    check: GroupCheck,
    /// Whether an answered group shows enough to check (members may be left out).
    shows: Box<dyn Fn(&Group) -> bool + Send + Sync>,
    /// Security-relevant: an answer that shows nothing is read back.
    must_confirm: bool,
    /// A 400 to the PATCH (its form refused) falls back to GET and PUT.
    refused_form_falls_back: bool,
}

fn member_ids_of(group: &Group) -> Vec<String> {
    group.members.iter().flatten().map(|m| m.value.clone()).collect()
}

/// The resource in a successful answer, when it has one.
fn answered<T: serde::de::DeserializeOwned>(exchange: &Exchange) -> Option<T> {
    if !exchange.is_success() || exchange.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(&exchange.body).ok()
}

/// A 2xx whose resource shows the change not made.
fn not_applied(req: &ScimRequest, exchange: &Exchange, mismatches: &[Mismatch]) -> ClientError {
    ClientError::NotApplied {
        method: req.method(),
        path: target(req),
        status: exchange.status,
        message: not_applied_message(exchange.status, mismatches),
    }
}

fn not_found(req: &ScimRequest) -> ClientError {
    ClientError::Http {
        method: req.method(),
        path: target(req),
        status: 404,
        scim_type: None,
        detail: Some("not found".to_owned()),
        attempts: 1,
        hint: None,
    }
}
