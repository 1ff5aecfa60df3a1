//! Tests of `rules:`: every rule on valid and invalid files, across files, with snapshots
//! of the rendered messages.

use roster_model::Date;

use crate::{Diagnostics, SourceFile, load_as_of};

const AS_OF: &str = "2027-01-01";

fn as_of() -> Option<Date> {
    Some(Date::parse(AS_OF).unwrap())
}

fn run(files: &[(&str, &str)]) -> Result<roster_model::DesiredState, Diagnostics> {
    let sources: Vec<SourceFile> = files.iter().map(|(name, text)| SourceFile::new(*name, *text)).collect();
    load_as_of(&sources, as_of())
}

/// The problems of a run as `(file, code, line, column)`.
fn found(files: &[(&str, &str)]) -> Vec<(String, &'static str, usize, usize)> {
    match run(files) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics
            .problems()
            .iter()
            .map(|p| (p.location().file.clone(), p.check().code(), p.location().line, p.location().column))
            .collect(),
    }
}

fn found_one(text: &str) -> Vec<(&'static str, usize, usize)> {
    found(&[("users.yaml", text)]).into_iter().map(|(_, code, line, col)| (code, line, col)).collect()
}

/// The rendered problems of one file.
fn rendered(text: &str) -> String {
    rendered_files(&[("users.yaml", text)])
}

fn rendered_files(files: &[(&str, &str)]) -> String {
    run(files).map(|_| "valid".to_owned()).unwrap_or_else(|d| d.render(false))
}

/// The place and text of each problem's labels beyond the primary one.
fn related(text: &str) -> Vec<Vec<(usize, String)>> {
    run(&[("users.yaml", text)])
        .unwrap_err()
        .problems()
        .iter()
        .map(|p| p.related().iter().map(|l| (l.location().line, l.text().to_owned())).collect())
        .collect()
}

// ---------------------------------------------------------------- valid

#[test]
fn a_file_that_keeps_every_rule_is_valid() {
    let text = "\
version: 1
custom_roles: [billing-admin]
rules:
  email_domains: [example.com, '*.example.com', bücher.example]
  max_admins: 2
  max_per_role: { maker: 1, billing-admin: 1, contributor: 2 }
  admins_in_group: IT
  require: [reason]
  require_for: { admin: [approved_by, ticket], maker: [expires, review_after] }
users:
  - userName: root@example.com
    role: admin
    reason: runs the workspace
    approved_by: cto@example.com
    ticket: IT-1
  - userName: ops@EU.Example.com
    role: admin
    reason: backup admin
    approved_by: cto@example.com
    ticket: IT-2
  - userName: maker@xn--bcher-kva.example
    role: maker
    reason: writes specs
    expires: 2027-06-30
    review_after: 2027-03-01
  - userName: finance@example.com
    role: billing-admin
    reason: pays the bills
  - userName: anyone@example.com
    reason: reads and comments
  # A tombstone and an expired user grant nothing: no rule applies to them.
  - userName: gone@elsewhere.example
    role: admin
    active: false
  - userName: expired@elsewhere.example
    role: admin
    expires: 2026-12-31
groups:
  - displayName: IT
    members: [root@example.com, OPS@eu.example.com]
";
    assert_eq!(found_one(text), []);
}

#[test]
fn without_rules_nothing_is_required() {
    assert_eq!(found_one("version: 1\nusers:\n  - userName: a@anywhere.example\n    role: admin\n"), []);
}

#[test]
fn rules_in_one_file_govern_the_users_of_every_file() {
    let rules = "version: 1\nrules:\n  email_domains: [example.com]\n  require: [ticket]\n";
    let people = "version: 1\nusers:\n  - userName: ada@example.com\n    ticket: IT-1\n  - userName: eve@evil.example\n";
    assert_eq!(
        found(&[("rules.yaml", rules), ("people.yaml", people)]),
        [
            ("people.yaml".to_owned(), "rule-require", 5, 15),
            ("people.yaml".to_owned(), "rule-email-domain", 5, 15),
        ]
    );
    insta::assert_snapshot!(rendered_files(&[("rules.yaml", rules), ("people.yaml", people)]));
}

#[test]
fn only_one_file_may_carry_rules() {
    let a = "version: 1\nrules:\n  max_admins: 1\nusers:\n  - userName: a@example.com\n";
    let b = "version: 1\nrules:\n  max_admins: 5\nusers:\n  - userName: b@example.com\n";
    assert_eq!(found(&[("a.yaml", a), ("b.yaml", b)]), [("b.yaml".to_owned(), "conflicting-files", 2, 1)]);
    insta::assert_snapshot!(rendered_files(&[("a.yaml", a), ("b.yaml", b)]));
}

// ---------------------------------------------------------------- email_domains

#[test]
fn email_domains_compare_the_idna_form_and_refuse_lookalikes() {
    let text = "\
version: 1
rules:
  email_domains: [bücher.example, paypal.com]
users:
  - userName: a@xn--bcher-kva.example
  - userName: b@BÜCHER.example
  - userName: c@sub.bücher.example
  - userName: d@раураӏ.com
  - userName: e@paypal.com.evil.example
";
    assert_eq!(
        found_one(text),
        [("rule-email-domain", 7, 15), ("rule-email-domain", 8, 15), ("rule-email-domain", 9, 15)]
    );
    insta::assert_snapshot!(rendered(text));
    assert_eq!(related(text)[1], [(3, "the allowed domains".to_owned())]);
}

#[test]
fn subdomains_only_with_a_wildcard() {
    let text = "\
version: 1
rules:
  email_domains: ['*.example.com']
users:
  - userName: a@eu.example.com
  - userName: b@a.b.example.com
  - userName: c@example.com
  - userName: d@notexample.com
";
    assert_eq!(found_one(text), [("rule-email-domain", 7, 15), ("rule-email-domain", 8, 15)]);
}

#[test]
fn previously_names_and_inactive_users_are_not_checked_for_domains() {
    let text = "\
version: 1
rules:
  email_domains: [new.example]
users:
  - userName: ada@new.example
    previously: [ada@old.example]
  - userName: gone@old.example
    active: false
  - userName: ended@old.example
    expires: 2027-01-01
";
    assert_eq!(found_one(text), []);
}

#[test]
fn malformed_domains_are_errors_at_the_rule() {
    let text = "\
version: 1
rules:
  email_domains:
    - '@example.com'
    - example
    - '*example.com'
    - exa mple.com
    - ex..ample.com
    - example.com.
    - exаmple.com
    - ok.example
users:
  - userName: a@ok.example
";
    let found = found_one(text);
    assert_eq!(found.len(), 7, "{found:?}");
    assert!(found.iter().all(|(code, _, col)| *code == "invalid-value" && *col == 7), "{found:?}");
    assert_eq!(found.iter().map(|(_, line, _)| *line).collect::<Vec<_>>(), [4, 5, 6, 7, 8, 9, 10]);
    insta::assert_snapshot!(rendered(text));
    assert_eq!(
        found_one("version: 1\nrules:\n  email_domains: []\nusers:\n  - userName: a@example.com\n"),
        [("invalid-value", 3, 18)]
    );
}

// ---------------------------------------------------------------- counts

#[test]
fn max_admins_counts_active_admins_only() {
    let users = "\
users:
  - userName: a@example.com
    role: admin
  - userName: b@example.com
    role: admin
  - userName: c@example.com
    role: admin
    active: false
  - userName: d@example.com
    role: admin
    expires: 2026-06-30
  - userName: e@example.com
    role: maker
";
    assert_eq!(found_one(&format!("version: 1\nrules:\n  max_admins: 2\n{users}")), []);
    let text = format!("version: 1\nrules:\n  max_admins: 1\n{users}");
    assert_eq!(found_one(&text), [("rule-max-admins", 8, 11)]);
    assert_eq!(related(&text), [[(3, "the limit".to_owned())]]);
    insta::assert_snapshot!(rendered(&text));
    // Zero admins is a rule too.
    let none = format!("version: 1\nrules:\n  max_admins: 0\n{users}");
    assert_eq!(found_one(&none), [("rule-max-admins", 6, 11)]);
}

#[test]
fn max_per_role_counts_the_default_role_and_custom_roles() {
    let text = "\
version: 1
custom_roles: [billing-admin]
rules:
  max_per_role: { contributor: 1, billing-admin: 1, viewer: 0 }
users:
  - userName: a@example.com
  - userName: b@example.com
    role: contributor
  - userName: c@example.com
    role: billing-admin
";
    assert_eq!(found_one(text), [("rule-max-per-role", 8, 11)]);
    insta::assert_snapshot!(rendered(text));
}

#[test]
fn roles_in_rules_must_be_known() {
    let text = "\
version: 1
rules:
  max_per_role: { makr: 1, Admin: 1 }
  require_for: { owner: [reason] }
users:
  - userName: a@example.com
";
    assert_eq!(found_one(text), [("unknown-role", 3, 19), ("unknown-role", 3, 28), ("unknown-role", 4, 18)]);
    insta::assert_snapshot!(rendered(text));
}

#[test]
fn a_generic_provider_takes_any_role_and_matches_it_ignoring_case() {
    let text = "\
version: 1
provider: generic
rules:
  max_admins: 1
  max_per_role: { Owner: 1 }
  require_for: { owner: [ticket] }
users:
  - userName: a@example.com
    role: owner
    ticket: T-1
  - userName: b@example.com
    role: OWNER
  - userName: c@example.com
    role: Admin
  - userName: d@example.com
";
    assert_eq!(found_one(text), [("rule-require-for", 11, 15), ("rule-max-per-role", 12, 11)]);
}

// ---------------------------------------------------------------- admins_in_group

#[test]
fn every_active_admin_is_in_the_group() {
    let text = "\
version: 1
rules:
  admins_in_group: it team
users:
  - userName: a@example.com
    role: admin
  - userName: b@example.com
    role: admin
  - userName: c@example.com
    role: admin
  - userName: d@example.com
    role: admin
    active: false
groups:
  - displayName: IT Team
    members:
      - A@example.com
      - { userName: c@example.com, expires: 2026-12-01 }
";
    assert_eq!(found_one(text), [("rule-admins-in-group", 8, 11), ("rule-admins-in-group", 10, 11)]);
    insta::assert_snapshot!(rendered(text));
}

#[test]
fn the_group_must_exist_and_list_its_members() {
    let missing =
        "version: 1\nrules:\n  admins_in_group: IT\nusers:\n  - userName: a@example.com\n    role: admin\n";
    assert_eq!(found_one(missing), [("rule-admins-in-group", 3, 20)]);
    let unmanaged = format!("{missing}groups:\n  - displayName: IT\n");
    assert_eq!(found_one(&unmanaged), [("rule-admins-in-group", 3, 20)]);
    assert_eq!(related(&unmanaged), [[(8, "the group".to_owned())]]);
    insta::assert_snapshot!(format!("{}\n{}", rendered(missing), rendered(&unmanaged)));
}

// ---------------------------------------------------------------- require

#[test]
fn require_asks_every_active_user_for_the_fields() {
    let text = "\
version: 1
rules:
  require: [reason, approved_by, ticket, expires, review_after]
users:
  - userName: full@example.com
    reason: r
    approved_by: boss@example.com
    ticket: T-1
    expires: 2027-12-31
    review_after: 2027-06-30
  - userName: some@example.com
    reason: r
    ticket: T-2
  - userName: none@example.com
  - userName: gone@example.com
    active: false
";
    assert_eq!(found_one(text), [("rule-require", 11, 15), ("rule-require", 14, 15)]);
    assert_eq!(related(text)[0], [(3, "the rule".to_owned())]);
    insta::assert_snapshot!(rendered(text));
}

#[test]
fn require_for_asks_only_the_role() {
    let text = "\
version: 1
rules:
  require_for:
    admin: [approved_by]
    contributor: [expires]
users:
  - userName: boss@example.com
    role: admin
    approved_by: board
  - userName: admin@example.com
    role: admin
  - userName: maker@example.com
    role: maker
  - userName: default@example.com
";
    assert_eq!(found_one(text), [("rule-require-for", 10, 15), ("rule-require-for", 14, 15)]);
    assert_eq!(related(text)[0], [(4, "the rule".to_owned())]);
    insta::assert_snapshot!(rendered(text));
}

#[test]
fn malformed_rules_are_reported_where_written() {
    let text = "\
version: 1
rules:
  max_admins: -1
  max_per_role: { maker: two, maker: 1 }
  require: [reson, ticket]
  require_for: { admin: approved_by }
  admins_in_group: 12
  email_domain: [example.com]
users:
  - userName: a@example.com
";
    assert_eq!(
        found_one(text),
        [
            ("invalid-value", 3, 15),
            ("invalid-value", 4, 26),
            ("duplicate-key", 4, 31),
            ("invalid-value", 5, 13),
            ("wrong-type", 6, 25),
            ("wrong-type", 7, 20),
            ("unknown-key", 8, 3),
            ("rule-require", 10, 15),
        ]
    );
    insta::assert_snapshot!(rendered(text));
    assert_eq!(found_one("version: 1\nrules: [max_admins]\n"), [("wrong-type", 2, 8)]);
}

#[test]
fn every_violation_of_a_run_is_reported_together() {
    let text = "\
version: 1
rules:
  email_domains: [example.com]
  max_admins: 0
  require: [reason]
users:
  - userName: a@other.example
    role: admin
";
    assert_eq!(
        found_one(text),
        [("rule-require", 7, 15), ("rule-email-domain", 7, 15), ("rule-max-admins", 8, 11)]
    );
}

#[test]
fn many_rules_over_many_users_stay_linear() {
    // Every user is an admin in the team, has a role of its own with a limit of one, and
    // a domain of its own: a quadratic check would compare 10,000 × 10,000 pairs.
    const N: usize = 10_000;
    let mut text =
        String::from("version: 1\nprovider: generic\nrules:\n  admins_in_group: Team\n  email_domains:\n");
    for i in 0..N {
        text.push_str(&format!("    - d{i}.example\n"));
    }
    text.push_str("  max_per_role:\n");
    for i in 0..N {
        text.push_str(&format!("    r{i}: 1\n"));
    }
    text.push_str("users:\n");
    for i in 0..N {
        text.push_str(&format!("  - userName: u{i}@d{i}.example\n    role: r{i}\n"));
    }
    text.push_str(
        "  - userName: boss@d0.example\n    role: admin\ngroups:\n  - displayName: Team\n    members:\n",
    );
    for i in 0..N {
        text.push_str(&format!("      - u{i}@d{i}.example\n"));
    }
    // The one admin outside the team is the one problem.
    assert_eq!(found_one(&text), [("rule-admins-in-group", 4 * N + 9, 11)]);
}

#[test]
fn a_long_list_of_domains_is_shortened_in_messages() {
    let text = "\
version: 1
rules:
  email_domains: [a.example, b.example, c.example, d.example, e.example, f.example, g.example]
users:
  - userName: eve@h.example
";
    let messages: Vec<String> =
        run(&[("users.yaml", text)]).unwrap_err().problems().iter().map(|p| p.message().to_owned()).collect();
    assert_eq!(
        messages,
        ["userName `eve@h.example` is outside rules.email_domains (`a.example`, `b.example`, `c.example`, \
          `d.example`, `e.example` and 2 more)"]
    );
}

#[test]
fn a_rule_without_a_value_says_that_removing_it_drops_the_rule() {
    let text = "version: 1\nrules:\n  email_domains:\n  require:\nusers:\n  - userName: a@example.com\n";
    let helps: Vec<String> = run(&[("users.yaml", text)])
        .unwrap_err()
        .problems()
        .iter()
        .map(|p| p.help().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        helps,
        [
            "give a value, or remove `email_domains`: without it this rule is not checked",
            "give a value, or remove `require`: without it this rule is not checked",
        ]
    );
    let null = run(&[("users.yaml", "version: 1\nrules:\nusers: []\n")]).unwrap_err();
    assert_eq!(
        null.problems()[0].help(),
        Some("give the rules as a mapping, or remove `rules`: without it no rule is checked")
    );
}
