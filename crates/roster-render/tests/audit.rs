//! The audit report of a workspace with one finding of every kind, in each format.

use roster_model::{DesiredState, DesiredUser, LiveState, MemberStatus, UserAttributes, WorkspaceMember};
use roster_plan::audit::{AuditReport, audit};

fn report() -> AuditReport {
    let desired = DesiredState {
        users: ["ada", "bob", "cy", "eve"]
            .iter()
            .map(|name| DesiredUser {
                apps: Default::default(),
                expires: None,
                review_after: None,
                grant: Default::default(),
                attributes: UserAttributes {
                    user_name: format!("{name}@lumen.example"),
                    active: true,
                    ..Default::default()
                },
                previously: Vec::new(),
                source: None,
            })
            .collect(),
        ..Default::default()
    };
    let live: LiveState = serde_json::from_value(serde_json::json!({"users": [
        {"id": "u-ada", "userName": "ada@lumen.example", "role": "maker", "active": true},
        {"id": "u-bob", "userName": "bob@lumen.example", "role": "maker", "active": true},
        {"id": "u-cy", "userName": "cy@lumen.example", "role": "viewer", "active": true},
        {"id": "u-eve", "userName": "eve@lumen.example", "role": "contributor", "active": true},
        {"id": "u-dee", "userName": "dee@lumen.example", "role": "contributor", "active": true}
    ], "groups": []}))
    .unwrap();
    let member =
        |id: &str, email: &str, role: &str, status: MemberStatus, created: Option<&str>| WorkspaceMember {
            id: id.into(),
            email: Some(email.into()),
            name: None,
            role: Some(role.into()),
            status: Some(status),
            created: created.map(str::to_owned),
        };
    let members = vec![
        member("u-ada", "ada@lumen.example", "maker", MemberStatus::Active, None),
        member("u-bob", "bob@lumen.example", "admin", MemberStatus::Active, None),
        member("u-cy", "cy@lumen.example", "viewer", MemberStatus::Inactive, None),
        member(
            "u-dee",
            "dee@lumen.example",
            "contributor",
            MemberStatus::Active,
            Some("2026-11-28T08:00:00Z"),
        ),
        WorkspaceMember {
            name: Some("Guest | <Agency> @team".into()),
            ..member(
                "m-9",
                "guest@agency.example",
                "admin",
                MemberStatus::Invited,
                Some("2026-11-20T10:00:00Z"),
            )
        },
        member("m-10", "Guest@agency.example", "viewer", MemberStatus::Active, None),
    ];
    audit(&desired, &live, &members)
}

fn render(f: impl Fn(&AuditReport, &mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&report(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_report() {
    insta::assert_snapshot!(render(roster_render::render_audit_text));
}

#[test]
fn markdown_report() {
    insta::assert_snapshot!(render(roster_render::render_audit_markdown));
}

#[test]
fn json_report() {
    insta::assert_snapshot!(render(roster_render::render_audit_json));
}
