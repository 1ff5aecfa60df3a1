//! The writing client, used by `apply` only. It has no way to delete a user.

use std::collections::HashSet;
use std::fmt;

use roster_model::{LiveGroup, LiveUser, UserAttributes, UserChanges};
use roster_scim::{
    Group, Member, Method, PatchOp, ScimRequest, User, add_members_patch, group_for_create,
    group_rename_patch, merge_for_put, remove_members_patch, user_for_create, user_patch,
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
    /// A create found the resource already there and adopted it: a retry after a lost
    /// response met `409`, or the re-check before a create found what the plan creates.
    Adopted {
        /// The adopted resource's id.
        id: String,
        /// Why, for the report; `None` for a resource created by a lost response.
        reason: Option<String>,
    },
    /// It failed.
    Failed {
        /// Why, for people.
        message: String,
    },
}

/// A write that succeeded, with the requests it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied<T> {
    /// What the write produced.
    pub value: T,
    /// The write requests, in order.
    pub records: Vec<OperationRecord>,
}

impl<T> Applied<T> {
    /// True when a create adopted an existing resource.
    pub fn adopted(&self) -> bool {
        self.records.iter().any(|r| matches!(r.outcome, RecordOutcome::Adopted { .. }))
    }

    /// Why a create adopted an existing resource, where it says.
    pub fn adoption_reason(&self) -> Option<&str> {
        self.records.iter().find_map(|r| match &r.outcome {
            RecordOutcome::Adopted { reason, .. } => reason.as_deref(),
            _ => None,
        })
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
            UpdateMethod::Auto => {
                self.reader.cached_service_provider_config().await.is_none_or(|config| config.patch.supported)
            }
        }
    }

    /// `POST /Users`. When the POST was retried after a lost response and meets `409`,
    /// the user is looked up by userName and adopted. A `409` to its first attempt means
    /// a user appeared under the name since the plan: it is adopted when it is what the
    /// plan creates, else the create fails with a named conflict (see `recheck`).
    pub async fn create_user(&self, attributes: &UserAttributes) -> WriteOutcome<LiveUser> {
        let req = ScimRequest::create_user(&user_for_create(attributes, self.config().provider));
        let exchange = self.reader.transport().send(&req).await.map_err(|e| failure(&req, e, Vec::new()))?;
        if exchange.is_success() {
            let user: User = exchange.parse(&req, "User").map_err(|e| failure(&req, e, Vec::new()))?;
            let live = user
                .to_live()
                .map_err(|source| ClientError::Mapping { method: req.method(), path: target(&req), source })
                .map_err(|e| failure(&req, e, Vec::new()))?;
            return Ok(Applied { value: live, records: vec![record(&req, &exchange, RecordOutcome::Done)] });
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
            let outcome = RecordOutcome::Adopted { id: live.id.clone(), reason: None };
            return Ok(Applied { value: live, records: vec![record(&req, &exchange, outcome)] });
        }
        if exchange.status == 409 && exchange.attempts == 1 {
            let conflict = conflict_record(&req, &exchange);
            match self.recheck_user_create(attributes).await {
                Ok(Some(adopted)) => return Ok(adopted.after(conflict)),
                Ok(None) => {}
                Err(err) => return Err(err.after(conflict)),
            }
        }
        Err(failure(&req, exchange.to_error(&req), Vec::new()))
    }

    /// Applies `changes` to a user: a minimal PATCH, or, when the service does not
    /// support PATCH (see [`UpdateMethod`]), GET the user, merge, and PUT it back whole.
    /// Nothing is sent when `changes` is empty.
    pub async fn update_user(&self, id: &str, changes: &UserChanges) -> WriteOutcome<()> {
        let Some(patch) = user_patch(changes) else {
            return Ok(Applied { value: (), records: Vec::new() });
        };
        let mut records = Vec::new();
        let req = ScimRequest::patch_user(id, &patch).map_err(|e| no_records(e.into()))?;
        if self.try_patch(&req, &mut records).await? {
            return Ok(Applied { value: (), records });
        }
        let get = ScimRequest::get_user(id).map_err(|e| no_records(e.into()))?;
        let live = match self.reader.get_user(id).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(failure(&get, not_found(&get), records)),
            Err(err) => return Err(failure(&get, err, records)),
        };
        let merged = merge_for_put(&live, changes);
        let req = ScimRequest::replace_user(id, &merged).map_err(|e| no_records(e.into()))?;
        match self.send_write(&req, &mut records).await {
            Ok(_) => Ok(Applied { value: (), records }),
            Err(err) => Err(failure(&req, err, records)),
        }
    }

    /// Sends `patch` when the service takes PATCH. True: done. False: the caller falls
    /// back to GET, merge and PUT, because the service does not take PATCH (by its
    /// configuration, or by answering this PATCH with 405 or 501, which is recorded).
    async fn try_patch(
        &self,
        patch: &ScimRequest,
        records: &mut Vec<OperationRecord>,
    ) -> Result<bool, WriteError> {
        if !self.use_patch().await {
            return Ok(false);
        }
        let exchange =
            self.reader.transport().send(patch).await.map_err(|e| failure(patch, e, records.clone()))?;
        if exchange.is_success() {
            records.push(record(patch, &exchange, RecordOutcome::Done));
            return Ok(true);
        }
        if !self.patch_refused(&exchange) {
            return Err(failure(patch, exchange.to_error(patch), std::mem::take(records)));
        }
        let message = format!("PATCH not supported ({}); sent as PUT", exchange.status);
        records.push(record(patch, &exchange, RecordOutcome::Failed { message }));
        Ok(false)
    }

    /// In automatic mode, a 405 or 501 answer to a PATCH means "use PUT".
    fn patch_refused(&self, exchange: &Exchange) -> bool {
        self.config().update_method == UpdateMethod::Auto && matches!(exchange.status, 405 | 501)
    }

    /// `POST /Groups` with the first members (at most `max_members_per_request`), then
    /// the rest by PATCH in chunks. A POST retried after a lost response that meets `409`
    /// adopts the group found by displayName (and externalId, when given).
    pub async fn create_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        member_ids: &[String],
    ) -> WriteOutcome<LiveGroup> {
        if let Some(adopted) = self.recheck_group_create(display_name, external_id, member_ids).await? {
            return Ok(adopted);
        }
        let chunk = self.config().max_members_per_request.max(1);
        let first = &member_ids[..member_ids.len().min(chunk)];
        let req = ScimRequest::create_group(&group_for_create(display_name, external_id, first));
        let exchange = self.reader.transport().send(&req).await.map_err(|e| failure(&req, e, Vec::new()))?;
        let mut records = Vec::new();
        let mut created = false;
        let (group, sent_members): (Group, &[String]) = if exchange.is_success() {
            let group: Group = exchange.parse(&req, "Group").map_err(|e| failure(&req, e, Vec::new()))?;
            records.push(record(&req, &exchange, RecordOutcome::Done));
            created = true;
            (group, first)
        } else if exchange.status == 409
            && exchange.attempts == 1
            && let Some(adopted) = self
                .recheck_group_create(display_name, external_id, member_ids)
                .await
                .map_err(|err| err.after(conflict_record(&req, &exchange)))?
        {
            return Ok(adopted.after(conflict_record(&req, &exchange)));
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
            records.push(record(&req, &exchange, RecordOutcome::Adopted { id, reason: None }));
            (group, &[][..])
        } else {
            return Err(failure(&req, exchange.to_error(&req), Vec::new()));
        };
        let mut live = group
            .to_live()
            .map_err(|source| ClientError::Mapping { method: req.method(), path: target(&req), source })
            .map_err(|e| failure(&req, e, records.clone()))?;
        if group.members.is_none() {
            // Some services do not echo members; the POST carried them.
            live.members = sent_members.to_vec();
        }
        if created {
            let settled = self.settle_group_race(live, external_id, member_ids, records).await?;
            if settled.adopted() {
                return Ok(settled);
            }
            (live, records) = (settled.value, settled.records);
        }
        let present: HashSet<&str> = live.members.iter().map(String::as_str).collect();
        let missing: Vec<String> =
            member_ids.iter().filter(|id| !present.contains(id.as_str())).cloned().collect();
        if !missing.is_empty() {
            let added = self.add_members(&live.id, &missing).await;
            match added {
                Ok(applied) => records.extend(applied.records),
                Err(mut err) => {
                    records.append(&mut err.records);
                    return Err(WriteError { error: err.error, records });
                }
            }
            live.members.extend(missing);
        }
        Ok(Applied { value: live, records })
    }

    /// Renames a group.
    pub async fn rename_group(&self, id: &str, display_name: &str) -> WriteOutcome<()> {
        let name = display_name.to_owned();
        self.change_group(id, group_rename_patch(display_name), move |group| group.display_name = name).await
    }

    /// Sets a group's externalId.
    pub async fn set_group_external_id(&self, id: &str, external_id: &str) -> WriteOutcome<()> {
        let patch = PatchOp::new(vec![roster_scim::PatchOperation::replace(
            "externalId",
            Value::String(external_id.to_owned()),
        )]);
        let value = external_id.to_owned();
        self.change_group(id, patch, move |group| group.external_id = Some(value)).await
    }

    /// Adds members to a group: one PATCH `add` per chunk of `max_members_per_request`.
    /// Stops at the first chunk that fails.
    pub async fn add_members(&self, group_id: &str, member_ids: &[String]) -> WriteOutcome<()> {
        self.change_members(group_id, member_ids, add_members_patch, |members, chunk| {
            let present: HashSet<String> = members.iter().map(|m| m.value.clone()).collect();
            members.extend(chunk.iter().filter(|id| !present.contains(*id)).map(Member::id));
        })
        .await
    }

    /// Removes members from a group: per chunk one PATCH with a `remove` of
    /// `members[value eq "id"]` per member. Stops at the first chunk that fails.
    pub async fn remove_members(&self, group_id: &str, member_ids: &[String]) -> WriteOutcome<()> {
        self.change_members(group_id, member_ids, remove_members_patch, |members, chunk| {
            let gone: HashSet<&String> = chunk.iter().collect();
            members.retain(|m| !gone.contains(&m.value));
        })
        .await
    }

    async fn change_members(
        &self,
        group_id: &str,
        member_ids: &[String],
        patch_for: fn(&[String]) -> PatchOp,
        edit: fn(&mut Vec<Member>, &[String]),
    ) -> WriteOutcome<()> {
        let mut records = Vec::new();
        for chunk in member_ids.chunks(self.config().max_members_per_request.max(1)) {
            let owned = chunk.to_vec();
            let applied = self
                .change_group(group_id, patch_for(chunk), move |group| {
                    edit(group.members.get_or_insert_with(Vec::new), &owned)
                })
                .await;
            match applied {
                Ok(applied) => records.extend(applied.records),
                Err(mut err) => {
                    records.append(&mut err.records);
                    return Err(WriteError { error: err.error, records });
                }
            }
        }
        Ok(Applied { value: (), records })
    }

    /// One change to a group: PATCH, or GET, edit and PUT where PATCH is unsupported.
    async fn change_group(
        &self,
        id: &str,
        patch: PatchOp,
        edit: impl FnOnce(&mut Group),
    ) -> WriteOutcome<()> {
        let mut records = Vec::new();
        let req = ScimRequest::patch_group(id, &patch).map_err(|e| no_records(e.into()))?;
        if self.try_patch(&req, &mut records).await? {
            return Ok(Applied { value: (), records });
        }
        let get = ScimRequest::get_group(id).map_err(|e| no_records(e.into()))?;
        let mut group = match self.reader.get_group(id).await {
            Ok(Some(group)) => group,
            Ok(None) => return Err(failure(&get, not_found(&get), records)),
            Err(err) => return Err(failure(&get, err, records)),
        };
        group.meta = None;
        edit(&mut group);
        let req = ScimRequest::replace_group(id, &group).map_err(|e| no_records(e.into()))?;
        match self.send_write(&req, &mut records).await {
            Ok(_) => Ok(Applied { value: (), records }),
            Err(err) => Err(failure(&req, err, records)),
        }
    }

    /// `DELETE /Groups/{id}`. A 404 after a retry counts as done: the first attempt
    /// deleted it and its answer was lost.
    pub async fn delete_group(&self, id: &str) -> WriteOutcome<()> {
        let req = ScimRequest::delete_group(id).map_err(|e| no_records(e.into()))?;
        let exchange = self.reader.transport().send(&req).await.map_err(|e| failure(&req, e, Vec::new()))?;
        if exchange.is_success() || (exchange.status == 404 && exchange.attempts > 1) {
            return Ok(Applied { value: (), records: vec![record(&req, &exchange, RecordOutcome::Done)] });
        }
        Err(failure(&req, exchange.to_error(&req), Vec::new()))
    }
}

mod recheck;

use recheck::conflict_record;

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
