//! The Markdown plan, for a pull-request comment.
//!
//! The comment must fit GitHub's limit, so everything is appended against a budget:
//! the head (summary, blockers, table, warnings) is capped by construction, and the
//! operations are appended one by one until the next would not fit; a note then says
//! how many were left out.

use std::fmt::Write as _;

use roster_plan::{KeptReason, MemberRef, Operation, Plan};

use crate::escape::{code, prose};
use crate::fields::{self, Value};
use crate::{MARKDOWN_LIMIT, no_operations, plural, summary_line};

/// Room kept free for the closing tags and the truncation note.
const RESERVE: usize = 1_024;
/// The most warnings listed; the rest are counted.
const MAX_WARNINGS: usize = 20;
/// The most characters of one warning or blocker message.
const MAX_MESSAGE: usize = 1_500;
/// The most kept or protected users and groups listed; the rest are counted.
const MAX_LISTED: usize = 100;

struct Markdown {
    out: String,
    /// Operations rendered so far.
    shown: usize,
    /// Set once an operation did not fit: nothing more is appended but the end.
    full: bool,
    /// Whether a `<details>` block is open.
    open: bool,
}

impl Markdown {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Appends one operation's item if it fits in the budget; returns whether it did.
    fn item(&mut self, s: &str, n_operations: usize) -> bool {
        if self.full || self.out.len() + s.len() + RESERVE > MARKDOWN_LIMIT {
            self.full = true;
            return false;
        }
        self.out.push_str(s);
        self.shown += n_operations;
        true
    }

    fn open(&mut self, summary: &str) {
        let _ = write!(self.out, "<details><summary>{summary}</summary>\n\n");
        self.open = true;
    }

    fn close(&mut self) {
        if self.open {
            self.out.push_str("\n</details>\n\n");
            self.open = false;
        }
    }
}

fn truncate(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        return message.to_string();
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE).collect();
    cut.push('…');
    cut
}

fn member_list(members: &[&MemberRef]) -> String {
    members
        .iter()
        .map(|m| if m.id.is_none() { format!("{} (new)", code(&m.user_name)) } else { code(&m.user_name) })
        .collect::<Vec<_>>()
        .join(", ")
}

fn value(value: Value<'_>) -> String {
    match value {
        Value::Text(s) => code(s),
        Value::Flag(flag) => format!("<code>{flag}</code>"),
        Value::Unset => "<i>unset</i>".to_string(),
    }
}

pub(crate) fn render(plan: &Plan) -> String {
    let mut md = Markdown { out: String::new(), shown: 0, full: false, open: false };
    let ops = &plan.operations;
    let s = &plan.summary;

    md.push("### roster plan\n\n");
    let _ = write!(md.out, "**Plan: {}.**\n\n", summary_line(plan));

    if plan.is_blocked() {
        md.push("> [!CAUTION]\n> **This plan is blocked and must not be applied.**\n>\n");
        for blocker in &plan.blockers {
            let _ = writeln!(md.out, "> - {}", prose(&truncate(&blocker.headline())));
            // A comment has a size limit: the first reasons, and a count of the rest.
            const SHOWN: usize = 20;
            let reasons = blocker.reasons();
            for reason in reasons.iter().take(SHOWN) {
                let _ = writeln!(md.out, ">   - {}", prose(&truncate(reason)));
            }
            if reasons.len() > SHOWN {
                let _ =
                    writeln!(md.out, ">   - … and {} more; run `roster plan` for all", reasons.len() - SHOWN);
            }
        }
        md.push("\n");
    }

    let rows: [(&str, u64); 10] = [
        ("users to deactivate", s.users_to_deactivate),
        ("users to create", s.users_to_create),
        ("users to update", s.users_to_update),
        ("users to reactivate", s.users_to_reactivate),
        ("groups to create", s.groups_to_create),
        ("groups to update", s.groups_to_update),
        ("groups to delete", s.groups_to_delete),
        ("memberships to add", s.members_to_add),
        ("memberships to remove", s.members_to_remove),
        ("unmanaged users and groups kept", s.users_kept + s.groups_kept),
    ];
    if rows.iter().any(|(_, n)| *n > 0) || s.users_protected > 0 {
        md.push("| change | count |\n|:--|--:|\n");
        for (label, n) in rows.iter().filter(|(_, n)| *n > 0) {
            let _ = writeln!(md.out, "| {label} | {n} |");
        }
        if s.users_protected > 0 {
            let _ = writeln!(md.out, "| protected users spared | {} |", s.users_protected);
        }
        md.push("\n");
    }
    if ops.is_empty() {
        md.push(no_operations(plan));
        md.push("\n\n");
    }

    if !plan.warnings.is_empty() {
        let n = plan.warnings.len();
        let _ = write!(md.out, "> [!WARNING]\n> {n} {}:\n>\n", plural(n as u64, "warning", "warnings"));
        for warning in plan.warnings.iter().take(MAX_WARNINGS) {
            let _ = writeln!(md.out, "> - {}", prose(&truncate(warning)));
        }
        if n > MAX_WARNINGS {
            let _ =
                writeln!(md.out, "> - … and {} more; run `roster plan` to see them all", n - MAX_WARNINGS);
        }
        md.push("\n");
    }

    // Deactivations are called out, not folded: they lock people out.
    let deactivations: Vec<_> =
        ops.iter().filter(|op| matches!(op, Operation::DeactivateUser { .. })).collect();
    if !deactivations.is_empty() {
        let _ = write!(md.out, "#### ⚠️ Users to deactivate ({})\n\n", deactivations.len());
        for op in deactivations {
            if let Operation::DeactivateUser { id, user_name, reason } = op {
                let item = format!("- {} (id {}): {}\n", code(user_name), code(id), fields::reason(*reason));
                if !md.item(&item, 1) {
                    break;
                }
            }
        }
        md.push("\n");
    }

    for (title, reactivate) in [("Users to update", false), ("Users to reactivate", true)] {
        let updates = fields::user_updates(ops, reactivate);
        if updates.is_empty() || md.full {
            continue;
        }
        md.open(&format!("{title} ({})", updates.len()));
        for (id, user_name, before, changes) in updates {
            let mut item = format!("- {} (id {})\n", code(user_name), code(id));
            for field in fields::changed_fields(before, changes) {
                let _ =
                    writeln!(item, "  - {}: {} → {}", field.name, value(field.before), value(field.after));
            }
            if !md.item(&item, 1) {
                break;
            }
        }
        md.close();
    }

    let creates = fields::user_creates(ops);
    if !creates.is_empty() && !md.full {
        md.open(&format!("Users to create ({})", creates.len()));
        for attributes in creates {
            let details: Vec<String> = fields::set_fields(attributes)
                .into_iter()
                .map(|(name, value)| format!("{name} {}", code(value)))
                .collect();
            let details =
                if details.is_empty() { String::new() } else { format!(": {}", details.join(", ")) };
            if !md.item(&format!("- {}{details}\n", code(&attributes.user_name)), 1) {
                break;
            }
        }
        md.close();
    }

    let group_ops: Vec<_> = ops
        .iter()
        .filter(|op| {
            matches!(
                op,
                Operation::CreateGroup { .. }
                    | Operation::RenameGroup { .. }
                    | Operation::SetGroupExternalId { .. }
            )
        })
        .collect();
    if !group_ops.is_empty() && !md.full {
        md.open(&format!("Groups to create or update ({})", group_ops.len()));
        for op in group_ops {
            let item = match op {
                Operation::CreateGroup { display_name, external_id, members } => {
                    let external_id = external_id
                        .as_deref()
                        .map(|external_id| format!(" (externalId {})", code(external_id)))
                        .unwrap_or_default();
                    let members: Vec<&MemberRef> = members.iter().collect();
                    let listed = if members.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", member_list(&members))
                    };
                    format!(
                        "- create {}{external_id} with {} {}{listed}\n",
                        code(display_name),
                        members.len(),
                        plural(members.len() as u64, "member", "members")
                    )
                }
                Operation::RenameGroup { id, from, to } => {
                    format!("- rename {} (id {}) to {}\n", code(from), code(id), code(to))
                }
                Operation::SetGroupExternalId { id, group, from, to } => format!(
                    "- set externalId of {} (id {}): {} → {}\n",
                    code(group),
                    code(id),
                    value(from.as_deref().map_or(Value::Unset, Value::Text)),
                    code(to)
                ),
                _ => continue,
            };
            if !md.item(&item, 1) {
                break;
            }
        }
        md.close();
    }

    let member_ops: Vec<_> = ops
        .iter()
        .filter(|op| matches!(op, Operation::AddMembers { .. } | Operation::RemoveMembers { .. }))
        .collect();
    if !member_ops.is_empty() && !md.full {
        let n = s.member_changes();
        md.open(&format!(
            "Member changes ({n} in {} {})",
            s.groups_with_member_changes,
            plural(s.groups_with_member_changes, "group", "groups")
        ));
        for op in member_ops {
            let item = match op {
                Operation::AddMembers { group_id, group, members } => {
                    let id = group_id
                        .as_deref()
                        .map_or_else(|| "new group".to_string(), |id| format!("id {}", code(id)));
                    let members: Vec<&MemberRef> = members.iter().collect();
                    format!("- {} ({id}): add {}\n", code(group), member_list(&members))
                }
                Operation::RemoveMembers { group_id, group, members } => {
                    let members: Vec<&MemberRef> = members.iter().collect();
                    format!("- {} (id {}): remove {}\n", code(group), code(group_id), member_list(&members))
                }
                _ => continue,
            };
            if !md.item(&item, 1) {
                break;
            }
        }
        md.close();
    }

    let deletes: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            Operation::DeleteGroup { id, display_name, empty_duplicate } => {
                Some((id, display_name, *empty_duplicate))
            }
            _ => None,
        })
        .collect();
    if !deletes.is_empty() && !md.full {
        md.open(&format!("⚠️ Groups to delete ({})", deletes.len()));
        for (id, name, empty_duplicate) in deletes {
            let item =
                format!("- {} (id {}): {}\n", code(name), code(id), fields::delete_reason(empty_duplicate));
            if !md.item(&item, 1) {
                break;
            }
        }
        md.close();
    }

    if !plan.protected.is_empty() {
        let mut block = format!(
            "<details><summary>Protected users, not deactivated ({})</summary>\n\n",
            plan.protected.len()
        );
        for user in plan.protected.iter().take(MAX_LISTED) {
            let _ = writeln!(
                block,
                "- {} (id {}): {}",
                code(&user.user_name),
                code(&user.id),
                fields::reason(user.reason)
            );
        }
        if plan.protected.len() > MAX_LISTED {
            let _ = writeln!(block, "- … and {} more", plan.protected.len() - MAX_LISTED);
        }
        block.push_str("\n</details>\n\n");
        md.item(&block, 0);
    }
    let kept = &plan.unmanaged;
    let n_kept = kept.users.len() + kept.groups.len();
    if n_kept > 0 {
        let mut block = format!("<details><summary>Kept, not in the file ({n_kept})</summary>\n\n");
        let entries = kept
            .users
            .iter()
            .map(|u| (format!("user {} (id {})", code(&u.user_name), code(&u.id)), u.reason))
            .chain(
                kept.groups
                    .iter()
                    .map(|g| (format!("group {} (id {})", code(&g.display_name), code(&g.id)), g.reason)),
            );
        for (entry, reason) in entries.take(MAX_LISTED) {
            let why =
                if reason == KeptReason::Ambiguous { ": ambiguous match, see the blockers" } else { "" };
            let _ = writeln!(block, "- {entry}{why}");
        }
        if n_kept > MAX_LISTED {
            let _ = writeln!(block, "- … and {} more", n_kept - MAX_LISTED);
        }
        block.push_str("\n</details>\n\n");
        md.item(&block, 0);
    }

    if md.full {
        md.close();
        let hidden = ops.len() - md.shown;
        let what = if hidden > 0 {
            format!("{hidden} more {} not shown", plural(hidden as u64, "operation", "operations"))
        } else {
            "the lists of protected and kept users and groups are not shown".to_string()
        };
        let _ = write!(md.out, "> [!NOTE]\n> … {what}; run `roster plan` for the full plan.\n");
    }
    md.out
}
