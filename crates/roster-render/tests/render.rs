//! Rendering tests: snapshots of rich plans as text and Markdown, colour, escaping of
//! user-controlled strings, and the size limit of the Markdown comment.

use roster_model::{DesiredState, LiveState};
use roster_plan::{Plan, PlanOptions};
use roster_render::{
    Context, MARKDOWN_LIMIT, TextOptions, render_json, render_markdown, render_text, summary_line,
};
use serde_json::json;

fn plan_of(desired: serde_json::Value, live: serde_json::Value, options: &PlanOptions) -> Plan {
    let desired: DesiredState = serde_json::from_value(desired).expect("a desired state");
    let live: LiveState = serde_json::from_value(live).expect("a live state");
    roster_plan::plan(&desired, &live, options)
}

fn policy(unmanaged_users: &str, max: u64) -> serde_json::Value {
    json!({
        "unmanagedUsers": unmanaged_users,
        "unmanagedGroups": "keep",
        "maxDeactivations": {"count": max},
        "protected": ["admin@example.com"],
    })
}

/// A plan with one of everything: deactivations, updates with renames, a reactivation,
/// creates, group creates and renames, member changes, protected and kept objects.
fn rich_plan() -> Plan {
    plan_of(
        json!({
            "provider": "productboard",
            "policy": policy("deactivate", 10),
            "users": [
                {"userName": "ada.king@example.com", "externalId": "00u1", "displayName": "Ada King",
                 "title": "Head of Analysis", "role": "admin"},
                {"userName": "bob@example.com", "active": false},
                {"userName": "erin@example.com", "role": "maker"},
                {"userName": "frank@example.com", "displayName": "Frank Ocean", "givenName": "Frank",
                 "familyName": "Ocean", "role": "viewer"},
            ],
            "groups": [
                {"displayName": "Engineering", "externalId": "grp-eng",
                 "members": ["ada.king@example.com", "frank@example.com"]},
                {"displayName": "Design", "externalId": "grp-design", "members": ["frank@example.com", "erin@example.com"]},
            ],
        }),
        json!({
            "users": [
                {"id": "u0", "userName": "admin@example.com", "role": "admin"},
                {"id": "u1", "userName": "ada@example.com", "externalId": "00u1", "displayName": "Ada Lovelace",
                 "title": "Analyst", "role": "maker"},
                {"id": "u2", "userName": "bob@example.com"},
                {"id": "u3", "userName": "carol@example.com"},
                {"id": "u5", "userName": "erin@example.com", "active": false, "role": "viewer"},
            ],
            "groups": [
                {"id": "g1", "displayName": "Eng", "externalId": "grp-eng", "members": ["u1", "u2", "u3", "ghost"]},
                {"id": "g2", "displayName": "Sales", "members": ["u3"]},
            ],
        }),
        &PlanOptions::default(),
    )
}

/// A plan blocked by the deactivation rail, with an override that does not match.
fn rail_blocked_plan() -> Plan {
    let users: Vec<_> = (1..=12)
        .map(|i| json!({"id": format!("u{i}"), "userName": format!("user{i}@example.com")}))
        .collect();
    plan_of(
        json!({"provider": "productboard", "policy": policy("deactivate", 3), "users": [], "groups": []}),
        json!({"users": users, "groups": []}),
        &PlanOptions { allow_deactivations: Some(5), ..PlanOptions::default() },
    )
}

fn incomplete_plan() -> Plan {
    plan_of(
        json!({
            "provider": "productboard",
            "policy": policy("deactivate", 10),
            "users": [{"userName": "ada@example.com", "title": "Analyst"}, {"userName": "dan@example.com"}],
            "groups": [{"displayName": "Engineering", "members": ["ada@example.com", "dan@example.com"]}],
        }),
        json!({
            "users": [{"id": "u1", "userName": "ada@example.com"}, {"id": "u3", "userName": "carol@example.com"}],
            "groups": [{"id": "g1", "displayName": "Engineering", "members": ["u1", "u3"]}],
            "completeness": {"status": "incomplete", "reasons": ["page 3 of /Users repeated page 2"]},
        }),
        &PlanOptions::default(),
    )
}

/// Names that try to break out of Markdown, HTML and the terminal.
fn hostile_plan() -> Plan {
    plan_of(
        json!({
            "provider": "generic",
            "policy": policy("keep", 10),
            "users": [
                {"userName": "o'brien+pm@eu.example.com", "displayName": "<img src=x onerror=alert(1)>",
                 "title": "a | b `code` **bold** [link](http://evil.example) @org/admins #12 :smile:"},
                {"userName": "mallory@example.com", "displayName": "Mallory\u{1b}[2J\u{1b}[31mOK\u{202e}txt.exe"},
            ],
            "groups": [{"displayName": "</details><script>x</script>|", "members": ["o'brien+pm@eu.example.com"]}],
        }),
        json!({"users": [{"id": "u9", "userName": "mallory@example.com", "displayName": "Mallory"}], "groups": []}),
        &PlanOptions::default(),
    )
}

/// What a reviewer meets in a typical pull request: an offboarding, a promotion to admin,
/// a reactivation with a paid role, a demotion, and an attribute-only change.
fn mixed_plan() -> Plan {
    plan_of(
        json!({
            "provider": "productboard",
            "policy": policy("deactivate", 10),
            "users": [
                {"userName": "ada@example.com", "displayName": "Ada Lovelace", "title": "Head of Analysis"},
                {"userName": "grace@example.com", "role": "admin"},
                {"userName": "linus@example.com", "role": "maker"},
                {"userName": "ken@example.com", "role": "viewer"},
                {"userName": "admin@example.com"},
            ],
            "groups": [
                {"displayName": "Platform", "externalId": "grp-platform",
                 "members": ["grace@example.com", "linus@example.com"]},
            ],
        }),
        json!({
            "users": [
                {"id": "u0", "userName": "admin@example.com", "role": "admin"},
                {"id": "u1", "userName": "ada@example.com", "displayName": "Ada Lovelace", "title": "Analyst",
                 "role": "contributor"},
                {"id": "u2", "userName": "grace@example.com", "displayName": "Grace Hopper",
                 "title": "Staff Engineer", "role": "maker"},
                {"id": "u3", "userName": "linus@example.com", "displayName": "Linus T", "title": "Engineer",
                 "role": "contributor", "active": false},
                {"id": "u4", "userName": "ken@example.com", "displayName": "Ken T", "role": "maker"},
                {"id": "u5", "userName": "mallory@example.com", "displayName": "Mallory Leaver",
                 "title": "Sales Lead", "role": "maker"},
                {"id": "u6", "userName": "trent@example.com", "displayName": "Trent", "role": "viewer"},
            ],
            "groups": [
                {"id": "g1", "displayName": "Platform", "externalId": "grp-platform", "members": ["u2", "u5"]},
            ],
        }),
        &PlanOptions::default(),
    )
}

fn pr_context() -> Context {
    Context {
        provider: roster_model::Provider::Productboard,
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        computed_at: Some("2026-11-30 13:05 UTC".into()),
        target_host: Some("api.productboard.com".into()),
    }
}

#[test]
fn a_mixed_plan_in_every_format() {
    let plan = mixed_plan();
    let mut out = Vec::new();
    render_text(&plan, &mut out, &TextOptions { color: false, context: pr_context() }).unwrap();
    let text = String::from_utf8(out).unwrap();
    insta::assert_snapshot!("mixed_text", text);
    let mut out = Vec::new();
    render_markdown(&plan, &mut out, &pr_context()).unwrap();
    let md = String::from_utf8(out).unwrap();
    insta::assert_snapshot!("mixed_markdown", md);
    let mut out = Vec::new();
    render_json(&plan, &mut out).unwrap();
    insta::assert_snapshot!("mixed_json", String::from_utf8(out).unwrap());

    // Access changes are never folded: everything before the first fold names who
    // loses access, who gets it back and whose role changes, with names beside ids.
    let folded_from = md.find("<details>").unwrap_or(md.len());
    for open in ["Mallory Leaver, Sales Lead", "trent&#64;example.com", "Linus T, Engineer", "Grace Hopper"] {
        let at = md.find(open).unwrap_or_else(|| panic!("{open} missing from:\n{md}"));
        assert!(at < folded_from, "{open} is folded in:\n{md}");
    }
    assert!(md.contains("<code>maker</code> → <code>admin</code> **▲ higher role, paid seat**"), "{md}");
    assert!(md.contains("<code>maker</code> → <code>viewer</code> <i>▼ lower role</i>"), "{md}");
    // The attribute-only update is the one thing folded.
    assert!(md.find("Ada Lovelace").unwrap() > folded_from, "{md}");
    assert!(md.contains("for commit <code>0123456789abcdef0123456789abcdef01234567</code>"));
    assert!(md.contains("against <code>api.productboard.com</code>"));
    assert!(text.contains("role: \"maker\" → \"admin\"  ▲ higher role, paid seat"), "{text}");
}

#[test]
fn member_counts_agree_between_summary_and_details() {
    for plan in [rich_plan(), mixed_plan(), incomplete_plan()] {
        let n = plan.summary.member_changes();
        let groups = plan.summary.groups_with_member_changes;
        let text = text(&plan, false);
        let md = markdown(&plan);
        if n == 0 {
            assert!(!text.contains("Member changes") && !md.contains("Member changes"));
            continue;
        }
        let heading =
            format!("Member changes ({n} in {groups} {}", if groups == 1 { "group)" } else { "groups)" });
        assert!(text.contains(&heading), "{heading} not in:\n{text}");
        assert!(md.contains(&heading), "{heading} not in:\n{md}");
        let listed = text
            .lines()
            .skip_while(|line| !line.starts_with("Member changes"))
            .skip(1)
            .take_while(|line| !line.is_empty())
            .filter(|line| line.trim_start().starts_with("+ ") || line.trim_start().starts_with("- "))
            .count() as u64;
        assert_eq!(listed, n, "{text}");
    }
}

fn text(plan: &Plan, color: bool) -> String {
    let mut out = Vec::new();
    render_text(plan, &mut out, &TextOptions { color, ..TextOptions::default() }).unwrap();
    String::from_utf8(out).unwrap()
}

fn markdown(plan: &Plan) -> String {
    let mut out = Vec::new();
    render_markdown(plan, &mut out, &Context::default()).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_of_a_rich_plan() {
    insta::assert_snapshot!(text(&rich_plan(), false));
}

#[test]
fn text_of_blocked_plans() {
    insta::assert_snapshot!("text_rail_blocked", text(&rail_blocked_plan(), false));
    insta::assert_snapshot!("text_incomplete", text(&incomplete_plan(), false));
}

#[test]
fn coloured_text_marks_the_changed_characters() {
    let coloured = text(&rich_plan(), true);
    assert!(coloured.contains('\u{1b}'));
    // Shown with a visible escape character, so that the snapshot is readable.
    insta::assert_snapshot!(coloured.replace('\u{1b}', "␛"));
}

#[test]
fn text_without_colour_has_no_escape_byte() {
    for plan in [rich_plan(), rail_blocked_plan(), incomplete_plan(), hostile_plan()] {
        let plain = text(&plan, false);
        assert!(!plain.as_bytes().contains(&0x1b), "an ESC byte in:\n{plain}");
    }
}

#[test]
fn text_escapes_terminal_controls_in_names() {
    let plain = text(&hostile_plan(), false);
    assert!(plain.contains(r#""Mallory\u{1b}[2J\u{1b}[31mOK\u{202e}txt.exe""#), "{plain}");
    assert!(!plain.contains('\u{202e}'));
    // With colour, only the renderer's own sequences appear.
    let coloured = text(&hostile_plan(), true);
    assert!(!coloured.contains("\u{1b}[2J"));
    assert!(!coloured.contains('\u{202e}'));
}

#[test]
fn markdown_of_a_rich_plan() {
    insta::assert_snapshot!(markdown(&rich_plan()));
}

#[test]
fn markdown_of_blocked_plans() {
    insta::assert_snapshot!("markdown_rail_blocked", markdown(&rail_blocked_plan()));
    insta::assert_snapshot!("markdown_incomplete", markdown(&incomplete_plan()));
}

#[test]
fn markdown_escapes_user_strings() {
    let md = markdown(&hostile_plan());
    insta::assert_snapshot!(md);
    for raw in [
        "<img",
        "<script",
        "</details><script",
        "**bold**",
        "[link]",
        "`code`",
        "@org",
        " #12",
        ":smile:",
        "\u{1b}",
    ] {
        assert!(!md.contains(raw), "{raw:?} reached the Markdown unescaped:\n{md}");
    }
    // Every table row has exactly its three pipes: no name adds a column.
    for line in md.lines().filter(|line| line.starts_with('|')) {
        assert_eq!(line.matches('|').count(), 3, "{line}");
    }
    assert_eq!(md.matches("<details>").count(), md.matches("</details>").count());
}

#[test]
fn markdown_of_a_huge_plan_folds_its_tail() {
    let desired_users: Vec<_> = (0..20_000)
        .map(|i| json!({"userName": format!("new.user.{i:05}@example.com"), "displayName": format!("New User {i}")}))
        .collect();
    let live_users: Vec<_> = (0..5_000)
        .map(|i| json!({"id": format!("u{i:05}"), "userName": format!("old{i:05}@example.com")}))
        .collect();
    let plan = plan_of(
        json!({"provider": "productboard", "policy": policy("deactivate", 10), "users": desired_users, "groups": []}),
        json!({"users": live_users, "groups": []}),
        &PlanOptions { allow_deactivations: Some(5_000), ..PlanOptions::default() },
    );
    assert_eq!(plan.operations.len(), 25_000);
    let md = markdown(&plan);
    assert!(md.len() <= MARKDOWN_LIMIT, "{} bytes", md.len());
    assert!(md.chars().count() < 65_536);
    let shown = md.lines().filter(|line| line.starts_with("- <code>")).count();
    assert!(shown > 100, "only {shown} operations shown");
    let note =
        format!("… {} more operations not shown; run `roster plan` for the full plan.", 25_000 - shown);
    assert!(md.contains(&note), "no note {note:?} at the end of:\n{}", &md[md.len() - 500..]);
    assert_eq!(md.matches("<details>").count(), md.matches("</details>").count());
    // Deactivations come first, so the people who lose access are the ones shown.
    assert!(md.find("Users to deactivate").unwrap() < md.find("- <code>").unwrap());
}

#[test]
fn markdown_of_a_plan_that_fits_has_no_fold_note() {
    assert!(!markdown(&rich_plan()).contains("not shown"));
}

#[test]
fn summary_lines() {
    assert_eq!(
        summary_line(&rich_plan()),
        "2 to create, 2 to update, 1 to reactivate, 2 to deactivate, 5 member changes in 2 groups"
    );
    assert_eq!(summary_line(&rail_blocked_plan()), "12 to deactivate");
    let empty = plan_of(
        json!({"provider": "productboard", "policy": policy("keep", 10), "users": [], "groups": []}),
        json!({"users": [{"id": "u1", "userName": "ada@example.com"}], "groups": []}),
        &PlanOptions::default(),
    );
    assert_eq!(summary_line(&empty), "no changes");
    let single = plan_of(
        json!({
            "provider": "productboard",
            "policy": policy("keep", 10),
            "users": [{"userName": "ada@example.com"}],
            "groups": [{"displayName": "Eng", "members": ["ada@example.com"]}],
        }),
        json!({
            "users": [{"id": "u1", "userName": "ada@example.com"}],
            "groups": [{"id": "g1", "displayName": "Eng"}, {"id": "g2", "displayName": "Old"}],
        }),
        &PlanOptions::default(),
    );
    assert_eq!(summary_line(&single), "1 member change in 1 group");
}

#[test]
fn json_is_pretty_reads_back_and_ends_with_a_newline() {
    let plan = rich_plan();
    let mut out = Vec::new();
    render_json(&plan, &mut out).unwrap();
    let json = String::from_utf8(out).unwrap();
    assert!(json.ends_with("}\n"));
    assert!(json.starts_with("{\n  \"formatVersion\": 1,"));
    let read_back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(read_back, plan);
}

#[test]
fn rendering_is_deterministic() {
    let plan = rich_plan();
    assert_eq!(text(&plan, true), text(&rich_plan(), true));
    assert_eq!(markdown(&plan), markdown(&rich_plan()));
}

#[test]
fn an_empty_duplicate_team_is_shown_as_such_in_every_format() {
    let mut policy = policy("keep", 10);
    policy["unmanagedGroups"] = json!("delete");
    let plan = plan_of(
        json!({
            "provider": "productboard",
            "policy": policy,
            "users": [{"userName": "admin@example.com"}],
            "groups": [{"displayName": "Platform", "members": ["admin@example.com"]}],
        }),
        json!({
            "users": [{"id": "u0", "userName": "admin@example.com"}],
            "groups": [
                {"id": "g1", "displayName": "Platform", "members": ["u0"], "created": "2026-11-30T09:00:00Z"},
                {"id": "g2", "displayName": "Platform", "members": [], "created": "2026-11-30T09:59:00Z"},
                {"id": "g3", "displayName": "Old", "members": []},
            ],
        }),
        &PlanOptions {
            now: roster_model::Timestamp::parse("2026-11-30T10:00:00Z").ok(),
            ..PlanOptions::default()
        },
    );
    assert!(!plan.is_blocked(), "{:?}", plan.blockers);
    let text = text(&plan, false);
    let markdown = markdown(&plan);
    for output in [&text, &markdown] {
        assert!(
            output.contains("g2") && output.contains("an empty duplicate of a team in the file"),
            "{output}"
        );
        assert!(
            output.contains("g3")
                && output.contains("not in the file; the policy deletes groups not in the file"),
            "{output}"
        );
        assert!(
            output.contains("is an empty duplicate of") && output.contains("(id g1, 1 member, created"),
            "the warning: {output}"
        );
    }
    let mut json = Vec::new();
    render_json(&plan, &mut json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let flags: Vec<bool> =
        json["operations"].as_array().unwrap().iter().map(|op| op["emptyDuplicate"] == true).collect();
    assert_eq!(flags, [false, true], "g3 (Old), then g2 (Platform)");
}

/// A former employee's account revived without an externalId in the file, in a team the
/// file does not manage, while a team is emptied past the removal rail by override.
fn revival_plan() -> Plan {
    plan_of(
        json!({
            "provider": "productboard",
            "policy": {"unmanagedUsers": "keep", "unmanagedGroups": "keep", "maxDeactivations": {"count": 10},
                       "maxRemovals": {"count": 1}},
            "users": [{"userName": "ada@example.com"}, {"userName": "bob@example.com"}],
            "groups": [{"displayName": "Admins"}, {"displayName": "Sales", "members": []}],
        }),
        json!({
            "users": [
                {"id": "u1", "userName": "ada@example.com", "externalId": "00u-<former>", "title": "CFO",
                 "role": "admin", "active": false},
                {"id": "u2", "userName": "bob@example.com"},
                {"id": "u3", "userName": "cy@example.com"},
            ],
            "groups": [
                {"id": "g1", "displayName": "Admins", "members": ["u1"]},
                {"id": "g2", "displayName": "Sales", "members": ["u2", "u3"]},
            ],
        }),
        &PlanOptions { allow_removals: Some(2), ..PlanOptions::default() },
    )
}

#[test]
fn a_revived_account_shows_what_it_comes_back_with_in_every_format() {
    let plan = revival_plan();
    assert!(!plan.is_blocked(), "{:?}", plan.blockers);
    let text = text(&plan, false);
    let markdown = markdown(&plan);
    let mut json = Vec::new();
    render_json(&plan, &mut json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let revival = &json["operations"][0]["comesBackWith"];
    assert_eq!(revival["keptExternalId"], "00u-<former>");
    assert_eq!(revival["attributes"]["role"], "admin");
    assert_eq!(revival["groups"], json!(["Admins"]));
    assert_eq!(json["removalRail"]["status"], "allowedByOverride");
    for shown in ["teams: \"Admins\"", "role: \"admin\"", "former employee's account", "--allow-removals 2"] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    assert!(markdown.contains("00u-&lt;former&gt;") && !markdown.contains("<former>"), "{markdown}");
    insta::assert_snapshot!("text_revival", text);
    insta::assert_snapshot!("markdown_revival", markdown);
}

#[test]
fn a_revived_account_in_many_teams_lists_the_first_fifty() {
    let groups: Vec<serde_json::Value> = (0..60)
        .map(|n| json!({"id": format!("g{n:02}"), "displayName": format!("Team {n:02}"), "members": ["u1"]}))
        .collect();
    let plan = plan_of(
        json!({"provider": "productboard", "policy": policy("keep", 10), "users": [{"userName": "ada@example.com"}], "groups": []}),
        json!({"users": [{"id": "u1", "userName": "ada@example.com", "active": false}], "groups": groups}),
        &PlanOptions::default(),
    );
    let text = text(&plan, false);
    assert!(text.contains("\"Team 49\" and 10 more"), "{text}");
    let teams = text.lines().find(|l| l.trim_start().starts_with("teams:")).unwrap();
    assert!(!teams.contains("Team 50"), "{teams}");
    assert!(markdown(&plan).contains("and 10 more"));
}

/// A plan that grants access with evidence: a created user, a role change, a title-only
/// update (no grant, so no evidence), a reactivation and new memberships.
fn evidence_plan() -> Plan {
    plan_of(
        json!({
            "provider": "productboard",
            "policy": policy("keep", 10),
            "users": [
                {"userName": "new@example.com", "role": "maker", "reason": "Q1 research <contract>",
                 "approvedBy": "@maya", "ticket": "IT-1234"},
                {"userName": "promoted@example.com", "role": "admin", "reason": "workspace owner",
                 "approvedBy": "cto@example.com"},
                {"userName": "retitled@example.com", "title": "Staff Designer", "reason": "designer"},
                {"userName": "returning@example.com", "reason": "back from leave", "ticket": "HR-77"},
            ],
            "groups": [
                {"displayName": "Research", "members": ["new@example.com", "promoted@example.com"],
                 "memberGrants": [{"userName": "new@example.com", "reason": "joins research", "ticket": "IT-1234"}]},
            ],
        }),
        json!({
            "users": [
                {"id": "u1", "userName": "promoted@example.com", "role": "maker"},
                {"id": "u2", "userName": "retitled@example.com", "title": "Designer"},
                {"id": "u3", "userName": "returning@example.com", "active": false},
            ],
            "groups": [{"id": "g1", "displayName": "Research", "members": []}],
        }),
        &PlanOptions::default(),
    )
}

#[test]
fn evidence_shows_beside_what_grants_access_in_every_format() {
    let plan = evidence_plan();
    let text = text(&plan, false);
    let markdown = markdown(&plan);
    let mut json = Vec::new();
    render_json(&plan, &mut json).unwrap();
    let json = String::from_utf8(json).unwrap();
    // Beside a create, a role change, a reactivation and a new membership; not beside a
    // title change.
    assert_eq!(text.matches("evidence: ").count(), 3, "{text}");
    assert!(text.contains("+ new@example.com (created by this plan)  reason \"joins research\""), "{text}");
    assert!(!text.contains("\"designer\""), "{text}");
    assert_eq!(markdown.matches("evidence: ").count(), 3, "{markdown}");
    assert!(!markdown.contains("<contract>") && !markdown.contains("@maya"), "escaped: {markdown}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let grants: Vec<&serde_json::Value> =
        value["operations"].as_array().unwrap().iter().filter_map(|op| op.get("grant")).collect();
    assert_eq!(grants.len(), 3, "{json}");
    assert!(!json.contains("\"designer\""), "{json}");
    insta::assert_snapshot!("text_evidence", text);
    insta::assert_snapshot!("markdown_evidence", markdown);
    insta::assert_snapshot!("json_evidence", json);
}

#[test]
fn a_plan_without_evidence_renders_as_before() {
    // New optional fields stay out of the JSON when empty, so plans without evidence are
    // byte for byte what they were.
    let plan = rich_plan();
    let mut json = Vec::new();
    render_json(&plan, &mut json).unwrap();
    let json = String::from_utf8(json).unwrap();
    assert!(!json.contains("\"grant\""), "{json}");
    assert!(!text(&plan, false).contains("evidence"));
    assert!(!markdown(&plan).contains("evidence"));
}
