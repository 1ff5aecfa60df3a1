//! The audit report (`roster audit`) as text, Markdown or JSON, with the plan renderers'
//! escaping: names and emails come from the service and are never written raw.

use std::fmt::Write as _;
use std::io::{self, Write};

use roster_model::WorkspaceMember;
use roster_plan::audit::{AuditReport, MemberFinding, ScimFinding};

use crate::MARKDOWN_LIMIT;
use crate::escape::{code, quoted, terminal};

/// Room kept free in a Markdown report for the truncation note.
const RESERVE: usize = 1_024;

/// The report's sections, with their titles, in order.
const TITLES: [&str; 5] = [
    "Members with access that SCIM does not show",
    "Roles or statuses that differ between the REST list and SCIM",
    "Members with access absent from the file",
    "SCIM users the REST member list does not know",
    "People listed twice under one identity",
];

/// One finding, in the words of each format.
struct Row {
    text: String,
    cells: Vec<String>,
}

fn sections(report: &AuditReport) -> [(&'static str, &'static [&'static str], Vec<Row>); 5] {
    let members = |findings: &[MemberFinding]| findings.iter().map(member_row).collect::<Vec<_>>();
    [
        (TITLES[0], &["email", "name", "role", "status", "REST id", "joined"], members(&report.not_in_scim)),
        (
            TITLES[1],
            &["email", "REST id", "SCIM id", "REST list", "SCIM"],
            report
                .differences
                .iter()
                .map(|d| {
                    let mut what = Vec::new();
                    if let Some(role) = &d.role {
                        what.push((format!("role {}", role.rest), format!("role {}", role.scim)));
                    }
                    if let Some(status) = &d.status {
                        what.push((status.rest.clone(), status.scim.clone()));
                    }
                    let rest: Vec<&str> = what.iter().map(|(r, _)| r.as_str()).collect();
                    let scim: Vec<&str> = what.iter().map(|(_, s)| s.as_str()).collect();
                    Row {
                        text: format!(
                            "{} (REST id {}, SCIM id {}): {} in the REST list, {} in SCIM",
                            quoted(&email_of(&d.member)),
                            quoted(&d.member.id),
                            quoted(&d.scim.id),
                            terminal(&rest.join(", ")),
                            terminal(&scim.join(", "))
                        ),
                        cells: vec![
                            code(&email_of(&d.member)),
                            code(&d.member.id),
                            code(&d.scim.id),
                            code(&rest.join(", ")),
                            code(&scim.join(", ")),
                        ],
                    }
                })
                .collect(),
        ),
        (
            TITLES[2],
            &["email", "name", "role", "status", "REST id", "joined", "SCIM account"],
            report
                .not_in_file
                .iter()
                .map(|f| {
                    let mut row = member_row(f);
                    let scim = match &f.scim {
                        Some(s) => format!("{} ({})", s.id, if s.active { "active" } else { "inactive" }),
                        None => "none".to_owned(),
                    };
                    let _ = write!(row.text, ", SCIM account {}", terminal(&scim));
                    row.cells.push(code(&scim));
                    row
                })
                .collect(),
        ),
        (TITLES[3], &["userName", "SCIM id", "role"], report.unknown_to_rest.iter().map(scim_row).collect()),
        (
            TITLES[4],
            &["identity", "source", "ids"],
            report
                .ambiguous
                .iter()
                .map(|a| {
                    let source = if a.source == "rest" { "the REST list" } else { "SCIM" };
                    let ids: Vec<String> = a.ids.iter().map(|id| quoted(id)).collect();
                    Row {
                        text: format!("{} in {source}: {}", quoted(&a.key), ids.join(", ")),
                        cells: vec![code(&a.key), source.to_owned(), code(&a.ids.join(", "))],
                    }
                })
                .collect(),
        ),
    ]
}

fn email_of(member: &WorkspaceMember) -> String {
    member.email.clone().unwrap_or_default()
}

fn or_dash(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

fn member_row(finding: &MemberFinding) -> Row {
    let m = &finding.member;
    let status = m.status.as_ref().map(ToString::to_string);
    let email = match &m.email {
        Some(email) => quoted(email),
        None => "(no email)".to_owned(),
    };
    let mut text = format!("{email} (REST id {})", quoted(&m.id));
    if let Some(name) = &m.name {
        let _ = write!(text, ", name {}", quoted(name));
    }
    let _ = write!(
        text,
        ", role {}, status {}",
        terminal(or_dash(m.role.as_deref())),
        terminal(or_dash(status.as_deref()))
    );
    if let Some(created) = &m.created {
        let _ = write!(text, ", joined {}", terminal(created));
    }
    let cells = vec![
        code(or_dash(m.email.as_deref())),
        code(or_dash(m.name.as_deref())),
        code(or_dash(m.role.as_deref())),
        code(or_dash(status.as_deref())),
        code(&m.id),
        code(or_dash(m.created.as_deref())),
    ];
    Row { text, cells }
}

fn scim_row(user: &ScimFinding) -> Row {
    Row {
        text: format!(
            "{} (SCIM id {}), role {}",
            quoted(&user.user_name),
            quoted(&user.id),
            terminal(or_dash(user.role.as_deref()))
        ),
        cells: vec![code(&user.user_name), code(&user.id), code(or_dash(user.role.as_deref()))],
    }
}

fn headline(report: &AuditReport) -> String {
    let c = &report.counts;
    format!(
        "{} members in the REST list ({} with access), {} SCIM users, {} users in the file",
        c.members, c.members_with_access, c.scim_users, c.file_users
    )
}

fn verdict(report: &AuditReport) -> String {
    match report.n_findings() {
        0 => "No findings: the file, SCIM and the REST member list agree.".to_owned(),
        1 => "1 finding.".to_owned(),
        n => format!("{n} findings."),
    }
}

/// Renders the audit for a person at a terminal: the counts, then every section with
/// its findings (or "none"), then the verdict.
pub fn render_audit_text(report: &AuditReport, out: &mut impl Write) -> io::Result<()> {
    let mut s = format!("roster audit: {}\n", headline(report));
    for (title, _, rows) in sections(report) {
        if rows.is_empty() {
            let _ = writeln!(s, "\n{title}: none");
            continue;
        }
        let _ = writeln!(s, "\n{title} ({}):", rows.len());
        for row in rows {
            let _ = writeln!(s, "  - {}", row.text);
        }
    }
    let _ = writeln!(s, "\n{}", verdict(report));
    out.write_all(s.as_bytes())
}

/// Renders the audit as Markdown (a job summary or an issue): a table of counts, then a
/// table per section, within [`MARKDOWN_LIMIT`] bytes.
pub fn render_audit_markdown(report: &AuditReport, out: &mut impl Write) -> io::Result<()> {
    let mut s = format!("## roster audit\n\n{}\n\n| finding | count |\n|---|---:|\n", headline(report));
    let all = sections(report);
    for (title, _, rows) in &all {
        let _ = writeln!(s, "| {title} | {} |", rows.len());
    }
    let mut left_out = 0usize;
    for (title, header, rows) in all {
        if rows.is_empty() {
            continue;
        }
        let _ = write!(s, "\n### {title}\n\n| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
        for row in rows {
            let line = format!("| {} |\n", row.cells.join(" | "));
            if left_out > 0 || s.len() + line.len() + RESERVE > MARKDOWN_LIMIT {
                left_out += 1;
                continue;
            }
            s.push_str(&line);
        }
    }
    if left_out > 0 {
        let _ = write!(
            s,
            "\n{left_out} more findings do not fit in this comment; `roster audit --format json` lists them all.\n"
        );
    }
    let _ = writeln!(s, "\n{}", verdict(report));
    out.write_all(s.as_bytes())
}

/// Renders the audit as pretty JSON with a trailing newline.
pub fn render_audit_json(report: &AuditReport, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use roster_model::MemberStatus;
    use roster_plan::audit::{AuditCounts, Difference, Pair};

    use super::*;

    fn report() -> AuditReport {
        let member = |id: &str, email: &str| WorkspaceMember {
            id: id.into(),
            email: Some(email.into()),
            name: Some("Eve <b>|x</b>\u{1b}[2J".into()),
            role: Some("admin".into()),
            status: Some(MemberStatus::Active),
            created: Some("2026-11-01T09:00:00Z".into()),
        };
        let scim = ScimFinding {
            id: "u1".into(),
            user_name: "b@x.io".into(),
            role: Some("maker".into()),
            active: true,
        };
        AuditReport {
            version: 1,
            counts: AuditCounts { members: 3, members_with_access: 3, scim_users: 2, file_users: 1 },
            not_in_scim: vec![MemberFinding { member: member("m1", "hand@x.io"), scim: None }],
            differences: vec![Difference {
                member: member("m2", "b@x.io"),
                scim: scim.clone(),
                role: Some(Pair { rest: "admin".into(), scim: "maker".into() }),
                status: None,
            }],
            not_in_file: vec![MemberFinding { member: member("m1", "hand@x.io"), scim: None }],
            unknown_to_rest: vec![ScimFinding {
                id: "u9".into(),
                user_name: "ghost@x.io".into(),
                role: None,
                active: true,
            }],
            ambiguous: Vec::new(),
        }
    }

    #[test]
    fn text_lists_every_section_and_escapes_names() {
        let mut out = Vec::new();
        render_audit_text(&report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.contains(
                "Members with access that SCIM does not show (1):\n  - \"hand@x.io\" (REST id \"m1\")"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\"b@x.io\" (REST id \"m2\", SCIM id \"u1\"): role admin in the REST list, role maker in SCIM"
            ),
            "{text}"
        );
        assert!(text.contains("People listed twice under one identity: none"), "{text}");
        assert!(text.ends_with("\n4 findings.\n"), "{text}");
    }

    #[test]
    fn markdown_keeps_html_inert_and_counts_sections() {
        let mut out = Vec::new();
        render_audit_markdown(&report(), &mut out).unwrap();
        let md = String::from_utf8(out).unwrap();
        assert!(!md.contains("<b>"), "{md}");
        assert!(md.contains("| Members with access that SCIM does not show | 1 |"), "{md}");
        assert!(md.contains("| People listed twice under one identity | 0 |"), "{md}");
    }

    #[test]
    fn markdown_stays_within_the_limit() {
        let mut big = report();
        big.not_in_scim = (0..5_000)
            .map(|i| MemberFinding {
                member: WorkspaceMember {
                    id: format!("m{i}"),
                    email: Some(format!("person{i}@x.io")),
                    name: None,
                    role: None,
                    status: None,
                    created: None,
                },
                scim: None,
            })
            .collect();
        let mut out = Vec::new();
        render_audit_markdown(&big, &mut out).unwrap();
        assert!(out.len() <= MARKDOWN_LIMIT, "{}", out.len());
        let md = String::from_utf8(out).unwrap();
        assert!(md.contains("more findings do not fit in this comment"), "{}", &md[md.len() - 300..]);
    }

    #[test]
    fn json_is_the_report() {
        let mut out = Vec::new();
        render_audit_json(&report(), &mut out).unwrap();
        let back: AuditReport = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, report());
    }
}
