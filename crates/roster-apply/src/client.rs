//! [`Writer`] for the HTTP client: its records become the report's request records.

use roster_client::{Applied, OperationRecord, Verification, WriteClient, WriteError, WriteOutcome};
use roster_model::{UserAttributes, UserChanges};

use crate::{RequestRecord, Verified, WriteFailure, WriteResult, Writer, Written};

fn records(records: Vec<OperationRecord>) -> Vec<RequestRecord> {
    records
        .into_iter()
        .map(|r| RequestRecord {
            method: r.method.as_str().to_owned(),
            path: r.path,
            status: r.status,
            attempts: r.attempts,
        })
        .collect()
}

/// Converts a client outcome, keeping only what `keep` takes from the value.
fn convert<T, U>(outcome: WriteOutcome<T>, keep: impl FnOnce(T) -> U) -> WriteResult<U> {
    match outcome {
        Ok(applied) => {
            let adopted = applied.adopted();
            let Applied { value, records: recs, verification } = applied;
            let verified = match verification {
                Verification::Answer => Verified::Answer,
                Verification::ReadBack => Verified::ReadBack,
                Verification::Unverified => Verified::No,
            };
            Ok(Written { value: keep(value), requests: records(recs), adopted, verified })
        }
        Err(WriteError { error, records: recs }) => {
            let mut message = error.to_string();
            if let Some(hint) = error.hint() {
                message.push_str(" (");
                message.push_str(hint);
                message.push(')');
            }
            Err(WriteFailure { message, requests: records(recs) })
        }
    }
}

impl Writer for WriteClient {
    async fn create_user(&self, attributes: &UserAttributes) -> WriteResult<String> {
        convert(WriteClient::create_user(self, attributes).await, |user| user.id)
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> WriteResult<()> {
        convert(WriteClient::update_user(self, id, changes).await, |()| ())
    }

    async fn create_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        member_ids: &[String],
    ) -> WriteResult<String> {
        convert(WriteClient::create_group(self, display_name, external_id, member_ids).await, |group| {
            group.id
        })
    }

    async fn rename_group(&self, id: &str, display_name: &str) -> WriteResult<()> {
        convert(WriteClient::rename_group(self, id, display_name).await, |()| ())
    }

    async fn set_group_external_id(&self, id: &str, external_id: &str) -> WriteResult<()> {
        convert(WriteClient::set_group_external_id(self, id, external_id).await, |()| ())
    }

    async fn add_members(&self, group_id: &str, member_ids: &[String]) -> WriteResult<()> {
        convert(WriteClient::add_members(self, group_id, member_ids).await, |()| ())
    }

    async fn remove_members(&self, group_id: &str, member_ids: &[String]) -> WriteResult<()> {
        convert(WriteClient::remove_members(self, group_id, member_ids).await, |()| ())
    }

    async fn delete_group(&self, id: &str) -> WriteResult<()> {
        convert(WriteClient::delete_group(self, id).await, |()| ())
    }
}
