//! Saved plans: a reviewed artefact, not a capability.
//!
//! `roster plan --out F` writes a [`SavedPlan`]: the plan, the desired state it was made
//! from, and a digest over both. `roster apply --plan F` then checks, in this order:
//!
//! 1. the digest: content that no longer matches it was edited after it was saved
//!    ([`Refusal::Tampered`]), whatever the edit (an operation, a rail's override, a
//!    blocker removed, the desired state);
//! 2. the plan was not blocked when it was saved ([`Refusal::BlockedWhenSaved`]): a plan
//!    that was not fit to apply then is not fit now;
//! 3. after fetching the live state again and planning afresh, with the overrides of
//!    apply's own command line (never the saved ones), the operations are the same. If
//!    not, the live fingerprint tells a changed service ([`Refusal::ServiceChanged`])
//!    from a plan that its own inputs no longer reproduce ([`Refusal::NotReproduced`]:
//!    another roster version, or an edit that kept the digest right).
//!
//! The digest is a plain sha256 with no secret: it detects edits, not a forger who
//! recomputes it. What keeps a forged file from doing harm is that apply re-plans and
//! takes the rails' overrides only from its own command line.

use roster_model::DesiredState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::Plan;

/// The file `roster plan --out F` writes: the plan, the desired state it was made from,
/// and a digest over both, so that `roster apply --plan F` can tell an edited plan from
/// a stale one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: Plan,
    /// The desired state the plan was made from.
    pub desired: DesiredState,
    /// The sha256 (lower-case hex) of the plan's content: the desired state, the
    /// operations, the rails with the overrides given, the blockers, warnings and the
    /// live fingerprint, everything in this file but the digest itself.
    #[serde(default)]
    pub digest: String,
}

/// The content the digest covers, in a fixed shape.
#[derive(Serialize)]
struct Content<'a> {
    domain: &'static str,
    plan: &'a Plan,
    desired: &'a DesiredState,
}

impl SavedPlan {
    /// A saved plan with its digest.
    pub fn new(plan: Plan, desired: DesiredState) -> SavedPlan {
        let mut saved = SavedPlan { plan, desired, digest: String::new() };
        saved.digest = saved.content_digest();
        saved
    }

    /// The digest of the content as it is now: sha256 over a canonical JSON encoding of
    /// the typed plan and desired state, so that reformatting the file (whitespace, key
    /// order) is no edit, while any change of a value is.
    pub fn content_digest(&self) -> String {
        let content = Content { domain: "roster saved plan v1", plan: &self.plan, desired: &self.desired };
        // Serialising these types cannot fail: they hold only strings, numbers, lists
        // and structs (no maps with non-string keys).
        let bytes = serde_json::to_vec(&content).unwrap_or_default();
        Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Checks what can be checked without the service: the digest, then that the plan
    /// was not blocked when it was saved.
    pub fn verify(&self) -> Result<(), Refusal> {
        if self.digest.is_empty() {
            return Err(Refusal::NoDigest);
        }
        let actual = self.content_digest();
        if !self.digest.eq_ignore_ascii_case(&actual) {
            return Err(Refusal::Tampered { recorded: self.digest.clone(), actual });
        }
        if self.plan.is_blocked() {
            return Err(Refusal::BlockedWhenSaved {
                headlines: self.plan.blockers.iter().map(|b| b.headline()).collect(),
            });
        }
        Ok(())
    }

    /// Compares the saved plan with a fresh plan of the same desired state against the
    /// live state of now: the same operations, or a refusal that says why not.
    pub fn check_against(&self, fresh: &Plan) -> Result<(), Refusal> {
        let differences = crate::compare(&self.plan, fresh);
        if differences.is_empty() {
            Ok(())
        } else if self.plan.live_fingerprint != fresh.live_fingerprint {
            Err(Refusal::ServiceChanged { differences })
        } else {
            Err(Refusal::NotReproduced { differences })
        }
    }
}

/// Why `apply --plan` refuses a saved plan. Each is an error (exit 1), and each says
/// something different: a person reacts to an edited file differently than to a
/// service that moved on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The file carries no digest: not written by `roster plan --out` of this version,
    /// or the digest was removed.
    NoDigest,
    /// The content does not match the digest: the file was edited after it was saved.
    Tampered {
        /// The digest the file carries.
        recorded: String,
        /// The digest of the content as it is.
        actual: String,
    },
    /// The plan was blocked when it was saved (a rail, an identity conflict, an
    /// incomplete view), so it was never fit to apply.
    BlockedWhenSaved {
        /// What blocked it, one line each.
        headlines: Vec<String>,
    },
    /// The service changed since the plan was saved, and a fresh plan does other things.
    ServiceChanged {
        /// One line per difference.
        differences: Vec<String>,
    },
    /// The service is as it was, yet a fresh plan of the saved desired state does other
    /// things: the plan was made by another roster version, or edited.
    NotReproduced {
        /// One line per difference.
        differences: Vec<String>,
    },
}

impl Refusal {
    /// The message, with its itemised lines.
    pub fn message(&self) -> String {
        let (headline, items): (String, &[String]) = match self {
            Refusal::NoDigest => (
                "the saved plan carries no digest, so it cannot be shown to be the plan that was reviewed"
                    .into(),
                &[],
            ),
            Refusal::Tampered { recorded, actual } => (
                format!(
                    "the saved plan was edited after it was saved: its content no longer matches its digest \
                     (recorded {}…, content {}…), so it is not the plan that was reviewed",
                    recorded.chars().take(12).collect::<String>(),
                    actual.chars().take(12).collect::<String>()
                ),
                &[],
            ),
            Refusal::BlockedWhenSaved { headlines } => {
                ("the saved plan was blocked when it was saved and must not be applied".into(), headlines)
            }
            Refusal::ServiceChanged { differences } => (
                "the saved plan is stale: the service changed since the plan was saved, and applying it \
                 now would do something else than what was reviewed"
                    .into(),
                differences,
            ),
            Refusal::NotReproduced { differences } => (
                "the saved plan does not match a fresh plan of its own desired state, although the service \
                 has not changed: it was made by another roster version, or edited"
                    .into(),
                differences,
            ),
        };
        let mut message = headline;
        for item in items {
            message.push_str("\n  - ");
            message.push_str(item);
        }
        message
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Refusal::BlockedWhenSaved { .. } => {
                "resolve the blockers (or pass the rail's --allow-… flag to `roster plan --out`), review the \
                 new plan, then apply it with the same flag"
            }
            _ => "run `roster plan --out` again and review the new plan",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Refusal {}
