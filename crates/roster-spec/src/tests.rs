//! Tests of `load` for every check, of limits against hostile input, and of `to_yaml`.

use roster_model::{
    DeactivationLimit, DesiredGroup, DesiredState, DesiredUser, Policy, Provider, SourceLocation,
    UnmanagedGroups, UnmanagedUsers, UserAttributes,
};

use crate::{Check, Diagnostics, SourceFile, load, to_yaml};

fn load_one(text: &str) -> Result<DesiredState, Diagnostics> {
    load(&[SourceFile::new("users.yaml", text)])
}

/// The problems of a file as `(code, line, column)`, in order.
fn found(text: &str) -> Vec<(&'static str, usize, usize)> {
    found_in(&[SourceFile::new("users.yaml", text)])
        .into_iter()
        .map(|(_, code, line, column)| (code, line, column))
        .collect()
}

fn found_in(sources: &[SourceFile]) -> Vec<(String, &'static str, usize, usize)> {
    match load(sources) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics
            .problems()
            .iter()
            .map(|p| (p.location().file.clone(), p.check().code(), p.location().line, p.location().column))
            .collect(),
    }
}

/// The messages of a file's problems, in order.
fn messages(text: &str) -> Vec<String> {
    match load_one(text) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.problems().iter().map(|p| p.message().to_owned()).collect(),
    }
}

fn user_file(users: &str) -> String {
    format!("version: 1\nusers:\n{users}")
}

// ---------------------------------------------------------------- valid files

#[test]
fn a_minimal_file_gets_the_defaults() {
    let state = load_one("version: 1\nusers:\n  - userName: ada@example.com\n").unwrap();
    assert_eq!(state.provider, Provider::Productboard);
    assert_eq!(state.policy, Policy::default());
    assert_eq!(state.policy.unmanaged_users, UnmanagedUsers::Deactivate);
    assert_eq!(state.policy.unmanaged_groups, UnmanagedGroups::Keep);
    assert_eq!(state.policy.max_deactivations, DeactivationLimit::Count(10));
    assert_eq!(state.users.len(), 1);
    let user = &state.users[0];
    assert!(user.attributes.active);
    assert_eq!(user.attributes.role, None);
    assert_eq!(user.source, Some(SourceLocation { file: "users.yaml".into(), line: 3, column: 5 }));
}

#[test]
fn every_field_reaches_the_model() {
    let text = r#"# yaml-language-server: $schema=schemas/roster.schema.json
version: 1
provider: productboard
custom_roles: [billing-admin]
policy:
  unmanaged_users: keep
  unmanaged_groups: delete
  max_deactivations: "12.5%"
  protected: [admin@example.com]
users:
  - userName: admin@example.com
  - userName: Ada@Example.com
    externalId: "00u1ada"
    previously: [ada@old.example]
    displayName: Ada Lovelace
    name: { givenName: Ada, familyName: Lovelace }
    title: Analyst
    role: billing-admin
    active: false
groups:
  - displayName: Product Team
    externalId: grp-product
    members: [ADA@example.com, admin@example.com]
  - displayName: Empty
"#;
    let state = load_one(text).unwrap();
    let expected = DesiredState {
        targets: Default::default(),
        paid_roles: None,
        provider: Provider::Productboard,
        policy: Policy {
            expiry_notice_days: roster_model::DEFAULT_EXPIRY_NOTICE_DAYS,
            max_access_days: None,
            max_paid_seats: None,
            unmanaged_users: UnmanagedUsers::Keep,
            unmanaged_groups: UnmanagedGroups::Delete,
            max_deactivations: DeactivationLimit::PercentHundredths(1250),
            max_removals: DeactivationLimit::DEFAULT_REMOVALS,
            protected: vec!["admin@example.com".into()],
        },
        custom_roles: vec!["billing-admin".into()],
        users: vec![
            DesiredUser {
                apps: Default::default(),
                expires: None,
                review_after: None,
                grant: Default::default(),
                attributes: UserAttributes {
                    user_name: "admin@example.com".into(),
                    active: true,
                    ..Default::default()
                },
                previously: vec![],
                source: Some(SourceLocation { file: "users.yaml".into(), line: 11, column: 5 }),
            },
            DesiredUser {
                apps: Default::default(),
                expires: None,
                review_after: None,
                grant: Default::default(),
                attributes: UserAttributes {
                    user_name: "Ada@Example.com".into(),
                    external_id: Some("00u1ada".into()),
                    display_name: Some("Ada Lovelace".into()),
                    given_name: Some("Ada".into()),
                    family_name: Some("Lovelace".into()),
                    title: Some("Analyst".into()),
                    role: Some("billing-admin".into()),
                    active: false,
                },
                previously: vec!["ada@old.example".into()],
                source: Some(SourceLocation { file: "users.yaml".into(), line: 12, column: 5 }),
            },
        ],
        groups: vec![
            DesiredGroup {
                target: Default::default(),
                expiring_members: Vec::new(),
                member_grants: Vec::new(),
                display_name: "Product Team".into(),
                external_id: Some("grp-product".into()),
                members: Some(vec!["ADA@example.com".into(), "admin@example.com".into()]),
                source: Some(SourceLocation { file: "users.yaml".into(), line: 21, column: 5 }),
            },
            DesiredGroup {
                target: Default::default(),
                expiring_members: Vec::new(),
                member_grants: Vec::new(),
                display_name: "Empty".into(),
                external_id: None,
                members: None,
                source: Some(SourceLocation { file: "users.yaml".into(), line: 24, column: 5 }),
            },
        ],
    };
    assert_eq!(state, expected);
}

#[test]
fn generic_provider_accepts_any_role() {
    let text =
        "version: 1\nprovider: generic\nusers:\n  - userName: ada@example.com\n    role: Chief Wizard\n";
    assert_eq!(load_one(text).unwrap().provider, Provider::Generic);
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_fine() {
    let text = "\u{feff}version: 1\r\nusers:\r\n  - userName: ada@example.com\r\n    title: Analyst\r\n";
    let state = load_one(text).unwrap();
    assert_eq!(state.users[0].attributes.title.as_deref(), Some("Analyst"));
}

#[test]
fn anchors_and_aliases_work_for_values() {
    let text = "version: 1\nusers:\n  - userName: ada@example.com\n    title: &t Analyst\n  - userName: grace@example.com\n    title: *t\n";
    let state = load_one(text).unwrap();
    assert_eq!(state.users[1].attributes.title.as_deref(), Some("Analyst"));
}

#[test]
fn files_merge_in_order() {
    let sources = [
        SourceFile::new(
            "a.yaml",
            "version: 1\npolicy:\n  max_deactivations: 3\nusers:\n  - userName: ada@example.com\n",
        ),
        SourceFile::new(
            "b.yaml",
            "version: 1\nprovider: productboard\ncustom_roles: [x]\nusers:\n  - userName: grace@example.com\n    role: x\ngroups:\n  - displayName: G\n    members: [ada@example.com]\n",
        ),
    ];
    let state = load(&sources).unwrap();
    let names: Vec<_> = state.users.iter().map(|u| u.attributes.user_name.as_str()).collect();
    assert_eq!(names, ["ada@example.com", "grace@example.com"]);
    assert_eq!(state.policy.max_deactivations, DeactivationLimit::Count(3));
    assert_eq!(state.users[1].source.as_ref().unwrap().file, "b.yaml");
}

#[test]
fn a_file_without_provider_must_agree_with_one_that_names_another() {
    let sources = [
        SourceFile::new("a.yaml", "version: 1\nusers:\n  - userName: ada@example.com\n"),
        SourceFile::new("b.yaml", "version: 1\nprovider: generic\nusers:\n  - userName: bob@example.com\n"),
    ];
    let problems = found_in(&sources);
    assert!(problems.contains(&("b.yaml".to_owned(), "conflicting-files", 2, 11)), "{problems:?}");
    // Files that all leave it out, or all say productboard, agree.
    let sources = [
        SourceFile::new("a.yaml", "version: 1\nusers:\n  - userName: ada@example.com\n"),
        SourceFile::new("b.yaml", "version: 1\nprovider: productboard\n"),
    ];
    assert!(load(&sources).is_ok());
}

#[test]
fn no_sources_give_an_empty_state() {
    assert_eq!(load(&[]).unwrap(), DesiredState::default());
}

// ---------------------------------------------------------------- structure

#[test]
fn version_must_be_present_and_1() {
    assert_eq!(found("users: []\n"), [("version", 1, 1)]);
    assert_eq!(found("version: 2\n"), [("version", 1, 10)]);
    assert_eq!(found("version: \"1\"\n"), [("version", 1, 10)]);
    assert_eq!(found(""), [("version", 1, 1)]);
    assert_eq!(found("# only a comment\n"), [("version", 1, 1)]);
    assert_eq!(messages("version: 2\n"), ["unsupported version `2`: this roster reads version 1"]);
    assert_eq!(messages("users: []\n"), ["the file has no `version`: add `version: 1`"]);
}

#[test]
fn unknown_keys_are_reported_everywhere_with_suggestions() {
    let text = "version: 1\nuser:\n  - x\npolicy:\n  max_deactivation: 3\nusers:\n  - userName: ada@example.com\n    Title: x\n    name: {givenname: Ada}\ngroups:\n  - displayName: G\n    owner: ada@example.com\n";
    assert_eq!(
        found(text),
        [
            ("unknown-key", 2, 1),
            ("unknown-key", 5, 3),
            ("unknown-key", 8, 5),
            ("unknown-key", 9, 12),
            ("unknown-key", 12, 5)
        ]
    );
    let problems = load_one(text).unwrap_err();
    let labels: Vec<_> =
        problems.problems().iter().map(|p| p.help().unwrap_or_default().to_owned()).collect();
    assert!(labels[4].contains("`displayName`, `externalId`, `members`"), "{labels:?}");
    let rendered = problems.render(false);
    for hint in [
        "did you mean `users`?",
        "did you mean `max_deactivations`?",
        "did you mean `title`?",
        "did you mean `givenName`?",
    ] {
        assert!(rendered.contains(hint), "{hint} missing from\n{rendered}");
    }
}

#[test]
fn merge_keys_are_refused() {
    let text = "version: 1\nusers:\n  - &base\n    userName: ada@example.com\n  - <<: *base\n    userName: grace@example.com\n";
    assert_eq!(found(text), [("unknown-key", 5, 5)]);
}

#[test]
fn a_repeated_key_names_both_places() {
    let text = user_file("  - userName: ada@example.com\n    title: a\n    title: b\n");
    assert_eq!(found(&text), [("duplicate-key", 5, 5)]);
    let diagnostics = load_one(&text).unwrap_err();
    assert_eq!(diagnostics.problems()[0].related()[0].location().line, 4);
}

#[test]
fn wrong_types_are_reported_with_the_value_as_written() {
    let text = user_file(
        "  - userName: ada@example.com\n    externalId: 0012\n    displayName: 12.50\n    title: ~\n    role: true\n    active: \"false\"\n    previously: {a: b}\n    name: Ada\n",
    );
    assert_eq!(
        found(&text),
        [
            ("wrong-type", 4, 17),
            ("wrong-type", 5, 18),
            ("wrong-type", 6, 12),
            ("wrong-type", 7, 11),
            ("wrong-type", 8, 13),
            ("wrong-type", 9, 17),
            ("wrong-type", 10, 11),
        ]
    );
    let messages = messages(&text);
    assert_eq!(messages[0], "`externalId` must be a string, found an integer `0012`");
    assert_eq!(messages[1], "`displayName` must be a string, found a number `12.50`");
    assert_eq!(messages[2], "`title` must be a string, found null `~`");
    assert_eq!(messages[4], "`active` must be `true` or `false`, found a string `\"false\"`");
    let diagnostics = load_one(&text).unwrap_err();
    assert_eq!(diagnostics.problems()[0].help(), Some("quote it to make it a string: \"0012\""));
}

#[test]
fn wrong_types_of_sections() {
    assert_eq!(found("- version: 1\n"), [("not-a-roster-file", 1, 1)]);
    assert_eq!(found("version: 1\nusers: ada@example.com\n"), [("wrong-type", 2, 8)]);
    assert_eq!(found("version: 1\nusers:\n  - ada@example.com\n"), [("wrong-type", 3, 5)]);
    assert_eq!(found("version: 1\ngroups:\n  - [a]\n"), [("wrong-type", 3, 5)]);
    assert_eq!(found("version: 1\npolicy: strict\n"), [("wrong-type", 2, 9)]);
    assert_eq!(found("version: 1\ncustom_roles: admin\n"), [("wrong-type", 2, 15)]);
    assert_eq!(found("version: 1\n1: x\n"), [("wrong-type", 2, 1)]);
    assert_eq!(found("version: 1\nusers:\n"), [("wrong-type", 2, 6)]);
}

#[test]
fn required_keys() {
    assert_eq!(found(&user_file("  - displayName: Ada\n")), [("missing-key", 3, 5)]);
    assert_eq!(found("version: 1\ngroups:\n  - members: []\n"), [("missing-key", 3, 5)]);
}

#[test]
fn invalid_values() {
    let text = "version: 1\nprovider: Productboard\npolicy:\n  unmanaged_users: remove\n  unmanaged_groups: deleet\nusers:\n  - userName: ada@example.com\n    externalId: \"\"\n    displayName: ''\ngroups:\n  - displayName: \"\"\n";
    assert_eq!(
        found(text),
        [
            ("invalid-value", 2, 11),
            ("invalid-value", 4, 20),
            ("invalid-value", 5, 21),
            ("invalid-value", 8, 17),
            ("invalid-value", 9, 18),
            ("invalid-value", 11, 18),
        ]
    );
    let rendered = load_one(text).unwrap_err().render(false);
    assert!(rendered.contains("did you mean `productboard`?"), "{rendered}");
    assert!(rendered.contains("did you mean `delete`?"), "{rendered}");
}

// ---------------------------------------------------------------- emails

#[test]
fn malformed_emails_everywhere() {
    let text = "version: 1\npolicy:\n  protected: [admin]\nusers:\n  - userName: ada lovelace@example.com\n  - userName: grace@example.com\n    previously: [grace@old]\n  - userName: \"\"\ngroups:\n  - displayName: G\n    members: [\"grace@@example.com\"]\n";
    assert_eq!(
        found(text),
        [
            ("malformed-email", 3, 15),
            ("malformed-email", 5, 15),
            ("malformed-email", 7, 18),
            ("malformed-email", 8, 15),
            ("malformed-email", 11, 15),
        ]
    );
    assert_eq!(
        messages(text)[1],
        "malformed email `ada lovelace@example.com` in userName: it contains whitespace (U+0020)"
    );
}

#[test]
fn real_world_addresses_are_accepted() {
    let text =
        user_file("  - userName: o'brien+pm@eu.example.com\n  - userName: first.last@sub.example.co.uk\n");
    assert!(load_one(&text).is_ok());
}

// ---------------------------------------------------------------- duplicates

#[test]
fn duplicate_user_names_ignore_case_and_name_both_places() {
    let text = user_file(
        "  - userName: ada@example.com\n  - userName: grace@example.com\n  - userName: ADA@example.COM\n",
    );
    assert_eq!(found(&text), [("duplicate-username", 5, 15)]);
    let diagnostics = load_one(&text).unwrap_err();
    let problem = &diagnostics.problems()[0];
    assert_eq!(
        problem.message(),
        "duplicate userName `ADA@example.COM` (userNames ignore case and Unicode form): first defined at users.yaml:3:15"
    );
    assert_eq!(problem.related()[0].location().to_string(), "users.yaml:3:15");
}

/// A string as the inside of a double-quoted YAML scalar, with everything outside
/// printable ASCII escaped.
fn yaml_escaped(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => format!("\\{c}"),
            ' '..='~' => c.to_string(),
            c => format!("\\U{:08x}", c as u32),
        })
        .collect()
}

#[test]
fn user_names_with_one_identity_key_are_duplicates() {
    // Full case folding, NFC and the IDNA form of the domain make each pair one key.
    for (first, second) in [
        ("strasse@example.com", "STRAẞE@example.com"),
        ("josé@example.com", "jose\u{301}@example.com"),
        ("ada@bücher.de", "ada@xn--bcher-kva.de"),
        ("ada@BÜCHER.de", "ada@bücher.de"),
    ] {
        let text = user_file(&format!("  - userName: \"{first}\"\n  - userName: \"{second}\"\n"));
        assert_eq!(found(&text), [("duplicate-username", 4, 15)], "{first} {second}");
        let message = &messages(&text)[0];
        assert!(message.contains("users.yaml:3:15"), "{message}");
    }
}

#[test]
fn user_names_that_could_be_mistaken_are_refused_with_their_line() {
    for (name, reason) in [
        (" ada@example.com", "it starts or ends with whitespace (U+0020)"),
        ("ada@example.com ", "it starts or ends with whitespace (U+0020)"),
        ("ada@example.com\u{a0}", "it starts or ends with whitespace (U+00A0)"),
        ("a da@example.com", "it contains whitespace (U+0020)"),
        ("ada@example.com\n", "it starts or ends with whitespace (U+000A)"),
        ("a\u{1b}da@example.com", "it contains a control character (U+001B)"),
        ("a\u{200b}da@example.com", "it contains an invisible character (U+200B)"),
        ("\u{feff}ada@example.com", "it contains an invisible character (U+FEFF)"),
        ("ada@example.com.", "the domain ends with a dot"),
        ("ada@ex\u{430}mple.com", "the domain label `ex\u{430}mple` mixes scripts"),
    ] {
        let yaml_name = yaml_escaped(name);
        let text = user_file(&format!("  - userName: ada.real@example.com\n  - userName: \"{yaml_name}\"\n"));
        assert_eq!(found(&text), [("malformed-email", 4, 15)], "{name:?}");
        let message = &messages(&text)[0];
        assert!(message.contains(reason), "{name:?}: {message}");
    }
    // The same checks hold for previous names, members and protected users.
    let text = "version: 1\npolicy:\n  protected: [\"ada@example.com \"]\nusers:\n  - userName: ada@example.com\n    previously: [\"old@example.com.\"]\ngroups:\n  - displayName: G\n    members: [\"a\\u200bda@example.com\"]\n";
    assert_eq!(
        found(text),
        [("malformed-email", 3, 15), ("malformed-email", 6, 18), ("malformed-email", 9, 15)]
    );
}

#[test]
fn confusable_twins_are_refused_naming_both_lines() {
    for twin in ["\u{430}da@example.com", "ＡＤＡ@example.com", "ada@ex\u{430}mple.com"] {
        let yaml_twin = yaml_escaped(twin);
        let text = user_file(&format!("  - userName: ada@example.com\n  - userName: \"{yaml_twin}\"\n"));
        let found = found(&text);
        assert!(
            found.contains(&("lookalike-username", 4, 15)) || found.contains(&("malformed-email", 4, 15)),
            "{twin}: {found:?}"
        );
    }
    let text = user_file("  - userName: ada@example.com\n  - userName: \"\\u0430da@example.com\"\n");
    assert_eq!(found(&text), [("lookalike-username", 4, 15)]);
    let diagnostics = load_one(&text).unwrap_err();
    let problem = &diagnostics.problems()[0];
    assert_eq!(problem.related()[0].location().line, 3);
    assert!(problem.message().contains("\\u{430}da@example.com"), "{}", problem.message());
    // Real, different people stay valid, also where UTS #39 would call ASCII confusable.
    let text = user_file(
        "  - userName: clara@example.com\n  - userName: dara@example.com\n  - userName: ivan@пример.рф\n  - userName: o'brien+pm@eu.example.com\n  - userName: taro@例え.jp\n",
    );
    assert_eq!(found(&text), []);
}

#[test]
fn text_attributes_are_single_lines() {
    let text = user_file(
        "  - userName: ada@example.com\n    displayName: |\n      Ada Lovelace\n    title: \"  \"\n    externalId: \"x\\ty\"\n    name: { givenName: \"A\\u001bda\", familyName: \"\\n\" }\n",
    );
    assert_eq!(
        found(&text),
        [
            ("invalid-value", 5, 7),
            ("invalid-value", 6, 12),
            ("invalid-value", 7, 17),
            ("invalid-value", 8, 24),
            ("invalid-value", 8, 49),
        ]
    );
    let messages = messages(&text);
    assert!(messages[0].contains("line break"), "{}", messages[0]);
    assert!(messages[1].contains("blank"), "{}", messages[1]);
    let groups = "version: 1\ngroups:\n  - displayName: Product\n  - displayName: \" product \"\n  - displayName: PRODUCT\n  - displayName: \"Ops\\n\"\n";
    assert_eq!(
        found(groups),
        [("duplicate-group", 4, 18), ("duplicate-group", 5, 18), ("invalid-value", 6, 18)]
    );
}

#[test]
fn a_file_that_is_not_a_desired_state_is_never_echoed() {
    let secret = "s3cr3t-T0KEN-value";
    for text in [
        format!("{secret}\n"),
        format!("ROSTER_SCIM_TOKEN={secret}\n"),
        format!("{{\"token\": \"{secret}\", \"user\": \"x\"}}\n"),
        format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
        format!("- {secret}\n- two\n"),
        format!("tokn: {secret}\nuserz: [x]\n"),
        // Not YAML at all: the syntax error shows no line either.
        format!("key: [{secret}\n"),
        format!("{secret}: \"unterminated\n"),
    ] {
        let diagnostics = load_one(&text).unwrap_err();
        let everything =
            format!("{}{}{diagnostics}", diagnostics.render(false), diagnostics.github_annotations());
        assert!(!everything.contains(secret), "{text:?} echoed:\n{everything}");
        assert!(!everything.contains("did you mean"), "{everything}");
        assert!(everything.contains("users.yaml:"), "the file and place are named: {everything}");
    }
    let diagnostics = load_one(&format!("{secret}\n")).unwrap_err();
    assert_eq!(diagnostics.problems()[0].check().code(), "not-a-roster-file");
    // A desired-state file with a syntax error still shows its line.
    let diagnostics = load_one("version: 1\nusers: [\n").unwrap_err();
    assert!(diagnostics.render(false).contains("users: ["), "{}", diagnostics.render(false));
}

#[test]
fn locations_are_exact_for_aliases_tabs_and_line_ends() {
    // An alias that repeats a user is reported where the alias is.
    let text = "version: 1\nusers:\n  - &ada\n    userName: ada@example.com\n  - userName: grace@example.com\n  - *ada\n";
    assert_eq!(found(text), [("duplicate-username", 6, 5)]);
    let message = &messages(text)[0];
    assert!(message.contains("first defined at users.yaml:4:15"), "{message}");
    // A tab names its own line.
    let text = "version: 1\nusers:\n  - userName: ada@example.com\n\t- userName: grace@example.com\n";
    let found_tab = found(text);
    assert_eq!(found_tab.len(), 1, "{found_tab:?}");
    assert_eq!(found_tab[0].1, 4, "{found_tab:?}");
    // The same problems at the same lines whatever the line ends; CR LF shows no `?`.
    let lf =
        "version: 1\nusers:\n  - userName: ada@example.com\n    titel: x\n  - userName: Ada@example.com\n";
    for text in [lf.to_owned(), lf.replace('\n', "\r\n"), lf.replace('\n', "\r")] {
        assert_eq!(found(&text), [("unknown-key", 4, 5), ("duplicate-username", 5, 15)], "{text:?}");
        let rendered = load_one(&text).unwrap_err().render(false);
        assert!(!rendered.contains("x?") && !rendered.contains("com?"), "{rendered}");
        assert!(rendered.contains("4 |     titel: x\n"), "{rendered}");
    }
}

#[test]
fn parallel_parsing_gives_the_lines_of_a_sequential_parse_whatever_the_line_ends() {
    // Over 2 MiB, so that the file is cut in pieces where it can be.
    let mut lf = String::from("version: 1\nusers:\n");
    for i in 0..40_000 {
        lf.push_str(&format!("  - userName: user{i}@example.com\n    displayName: User {i}\n"));
    }
    lf.push_str("  - userName: user7@example.com\n    titel: x\n");
    let n_lines = lf.lines().count();
    // Mixed line ends too: a lone CR in a file of CR LF lines.
    let mixed = lf.replacen('\n', "\r", 1).replacen('\n', "\r\n", 20_000);
    for text in [lf.clone(), lf.replace('\n', "\r\n"), lf.replace('\n', "\r"), mixed] {
        assert!(text.len() > 2 * 1024 * 1024);
        assert_eq!(
            found(&text),
            [("duplicate-username", n_lines - 1, 15), ("unknown-key", n_lines, 5)],
            "line ends {:?}",
            &text[10..12]
        );
    }
}

#[test]
fn a_version_written_as_a_string_says_so() {
    for text in ["version: !!str 1\n", "version: \"1\"\n", "version: '1'\n"] {
        assert_eq!(messages(text), ["`version` must be the number 1, found the string `1`"], "{text}");
    }
}

#[test]
fn duplicate_external_ids() {
    let text = user_file(
        "  - userName: a@example.com\n    externalId: x1\n  - userName: b@example.com\n    externalId: x1\n  - userName: c@example.com\n    externalId: X1\n",
    );
    assert_eq!(found(&text), [("duplicate-external-id", 6, 17)]);
}

#[test]
fn duplicate_groups_by_name_and_external_id() {
    let text = "version: 1\ngroups:\n  - displayName: Product\n    externalId: g1\n  - displayName: PRODUCT\n  - displayName: Design\n    externalId: g1\n";
    assert_eq!(found(text), [("duplicate-group", 5, 18), ("duplicate-group-external-id", 7, 17)]);
}

#[test]
fn a_user_defined_in_two_files_names_both_files() {
    let sources = [
        SourceFile::new("a.yaml", "version: 1\nusers:\n  - userName: ada@example.com\n"),
        SourceFile::new("b.yaml", "version: 1\nusers:\n  - userName: Ada@example.com\n"),
    ];
    let diagnostics = load(&sources).unwrap_err();
    let problem = &diagnostics.problems()[0];
    assert_eq!(problem.location().to_string(), "b.yaml:3:15");
    assert!(problem.message().contains("in another file at a.yaml:3:15"), "{}", problem.message());
    let rendered = diagnostics.render(false);
    assert!(rendered.contains("--> b.yaml:3:15") && rendered.contains("::: a.yaml:3:15"), "{rendered}");
}

#[test]
fn a_group_defined_in_two_files_names_both_files() {
    let sources = [
        SourceFile::new("a.yaml", "version: 1\ngroups:\n  - displayName: Product\n"),
        SourceFile::new("b.yaml", "version: 1\ngroups:\n  - displayName: product\n"),
    ];
    assert_eq!(found_in(&sources), [("b.yaml".to_owned(), "duplicate-group", 3, 18)]);
}

// ---------------------------------------------------------------- references

#[test]
fn members_must_be_users_of_the_files() {
    let text = user_file(
        "  - userName: ada@example.com\n  - userName: grace.hopper@example.com\n    previously: [grace@example.com]\ngroups:\n  - displayName: G\n    members: [Ada@Example.com, alan@example.com, grace@example.com]\n",
    );
    assert_eq!(found(&text), [("undefined-member", 8, 32), ("undefined-member", 8, 50)]);
    let diagnostics = load_one(&text).unwrap_err();
    assert_eq!(
        diagnostics.problems()[1].help(),
        Some(
            "`grace@example.com` is an earlier name of `grace.hopper@example.com`: list the current userName"
        )
    );
}

#[test]
fn a_member_twice_in_a_group() {
    let text = user_file(
        "  - userName: ada@example.com\ngroups:\n  - displayName: G\n    members:\n      - ada@example.com\n      - Ada@example.com\n",
    );
    assert_eq!(found(&text), [("duplicate-member", 8, 9)]);
}

#[test]
fn previously_must_not_clash() {
    let text = user_file(
        "  - userName: ada@example.com\n    previously: [ada@old.example, Ada@Example.com]\n  - userName: grace@example.com\n    previously: [ada@example.com, ada@old.example, g@old.example, g@old.example]\n",
    );
    assert_eq!(
        found(&text),
        [
            ("previously-clash", 4, 35),
            ("previously-clash", 6, 18),
            ("previously-clash", 6, 35),
            ("previously-clash", 6, 67),
        ]
    );
    let messages = messages(&text);
    assert!(messages[0].contains("own userName"), "{}", messages[0]);
    assert!(messages[1].contains("is the userName of another user at users.yaml:3:15"), "{}", messages[1]);
    assert!(messages[2].contains("is also an earlier name of `ada@example.com`"), "{}", messages[2]);
    assert!(messages[3].contains("appears twice in `previously`"), "{}", messages[3]);
}

#[test]
fn roles_are_checked_against_the_provider_and_custom_roles() {
    let text = "version: 1\ncustom_roles: [billing-admin]\nusers:\n  - userName: a@example.com\n    role: maker\n  - userName: b@example.com\n    role: billing-admin\n  - userName: c@example.com\n    role: Viewer\n  - userName: d@example.com\n    role: owner\n";
    assert_eq!(found(text), [("unknown-role", 9, 11), ("unknown-role", 11, 11)]);
    let rendered = load_one(text).unwrap_err().render(false);
    assert!(rendered.contains("did you mean `viewer`?"), "{rendered}");
    assert!(
        rendered.contains("the roles are `admin`, `maker`, `contributor`, `viewer`, `billing-admin`"),
        "{rendered}"
    );
}

#[test]
fn custom_roles_from_another_file_count() {
    let sources = [
        SourceFile::new("roles.yaml", "version: 1\ncustom_roles: [auditor]\n"),
        SourceFile::new("users.yaml", "version: 1\nusers:\n  - userName: a@example.com\n    role: auditor\n"),
    ];
    assert!(load(&sources).is_ok());
}

#[test]
fn max_deactivations_forms() {
    let limit = |value: &str| {
        load_one(&format!("version: 1\npolicy:\n  max_deactivations: {value}\n"))
            .map(|s| s.policy.max_deactivations)
    };
    assert_eq!(limit("0"), Ok(DeactivationLimit::Count(0)));
    assert_eq!(limit("250"), Ok(DeactivationLimit::Count(250)));
    assert_eq!(limit("\"20%\""), Ok(DeactivationLimit::PercentHundredths(2000)));
    assert_eq!(limit("20%"), Ok(DeactivationLimit::PercentHundredths(2000)));
    assert_eq!(limit("'12.5%'"), Ok(DeactivationLimit::PercentHundredths(1250)));
    assert_eq!(limit("\"0.05%\""), Ok(DeactivationLimit::PercentHundredths(5)));
    for bad in ["-1", "2.5", "\"10\"", "\"101%\"", "\"12.345%\"", "true", "[10]", "ten", "~", "\"20 %\""] {
        let problems = found(&format!("version: 1\npolicy:\n  max_deactivations: {bad}\n"));
        assert_eq!(problems, [("max-deactivations", 3, 22)], "{bad}");
    }
    assert_eq!(
        messages("version: 1\npolicy:\n  max_deactivations: \"101%\"\n"),
        [
            "malformed `max_deactivations` `\"101%\"`: expected a count like `10` or a percentage like `\"20%\"`"
        ]
    );
}

#[test]
fn max_removals_forms_and_default() {
    let limit = |value: &str| {
        load_one(&format!("version: 1\npolicy:\n  max_removals: {value}\n")).map(|s| s.policy.max_removals)
    };
    assert_eq!(load_one("version: 1\n").unwrap().policy.max_removals, DeactivationLimit::DEFAULT_REMOVALS);
    assert_eq!(limit("0"), Ok(DeactivationLimit::Count(0)));
    assert_eq!(limit("\"5%\""), Ok(DeactivationLimit::PercentHundredths(500)));
    for bad in ["-1", "\"101%\"", "ten", "~"] {
        let problems = found(&format!("version: 1\npolicy:\n  max_removals: {bad}\n"));
        assert_eq!(problems, [("max-removals", 3, 17)], "{bad}");
    }
    assert_eq!(
        messages("version: 1\npolicy:\n  max_removals: ten\n"),
        ["malformed `max_removals` `ten`: expected a count like `10` or a percentage like `\"20%\"`"]
    );
}

#[test]
fn members_absent_empty_and_null_differ() {
    let members = |group: &str| {
        load_one(&format!(
            "version: 1\nusers:\n  - userName: ada@example.com\ngroups:\n  - displayName: G\n{group}"
        ))
        .map(|s| s.groups[0].members.clone())
    };
    assert_eq!(members(""), Ok(None), "no `members` key: unmanaged");
    assert_eq!(members("    members: []\n"), Ok(Some(vec![])), "`members: []`: empty");
    assert_eq!(members("    members: [ada@example.com]\n"), Ok(Some(vec!["ada@example.com".to_string()])));
    // `members:` with nothing after it is neither: an error that says what each means.
    let diagnostics = load_one(
        "version: 1\nusers:\n  - userName: ada@example.com\ngroups:\n  - displayName: G\n    members:\n",
    )
    .unwrap_err();
    assert_eq!(diagnostics.problems()[0].check(), Check::WrongType);
    let help = diagnostics.problems()[0].help().unwrap();
    assert!(help.contains("`members: []` to empty the team"), "{help}");
    assert!(help.contains("remove `members` to leave the team's membership unmanaged"), "{help}");
}

#[test]
fn a_null_users_or_groups_never_advises_removing_it_as_harmless() {
    for (text, key, must_say) in [
        ("version: 1\nusers:\n", "users", "every active live user that no file lists is then deactivated"),
        ("version: 1\nusers: ~\n", "users", "set `policy.unmanaged_users: keep`"),
        ("version: 1\ngroups:\n", "groups", "with `delete` every team is deleted"),
        ("version: 1\npolicy:\n", "policy", "to use the defaults"),
        ("version: 1\npolicy:\n  protected:\n", "protected", "without `protected` no user is protected"),
    ] {
        let diagnostics = load_one(text).unwrap_err();
        let help = diagnostics.problems()[0].help().unwrap_or_default().to_owned();
        assert!(help.contains(must_say), "{key}: {help}");
        assert!(!help.contains("to leave it unmanaged"), "{key}: {help}");
    }
    // An attribute left out is unmanaged, and the advice says so.
    let diagnostics = load_one(&user_file("  - userName: ada@example.com\n    title:\n")).unwrap_err();
    let help = diagnostics.problems()[0].help().unwrap();
    assert!(help.starts_with("give a value, or remove `title` to leave it unmanaged"), "{help}");
}

#[test]
fn protected_users_must_be_defined_and_active() {
    let text = "version: 1\npolicy:\n  protected: [root@example.com, ada@example.com, Grace@example.com]\nusers:\n  - userName: ada@example.com\n  - userName: grace@example.com\n    active: false\n";
    assert_eq!(found(text), [("protected-undefined", 3, 15), ("protected-inactive", 3, 50)]);
    let diagnostics = load_one(text).unwrap_err();
    assert_eq!(diagnostics.problems()[1].related()[0].location().line, 7);
}

#[test]
fn provider_and_policy_across_files() {
    let sources = [
        SourceFile::new("a.yaml", "version: 1\nprovider: generic\npolicy: {}\n"),
        SourceFile::new("b.yaml", "version: 1\nprovider: generic\n"),
        SourceFile::new("c.yaml", "version: 1\nprovider: productboard\npolicy:\n  unmanaged_users: keep\n"),
    ];
    assert_eq!(
        found_in(&sources),
        [("c.yaml".to_owned(), "conflicting-files", 2, 11), ("c.yaml".to_owned(), "conflicting-files", 3, 1)]
    );
}

// ---------------------------------------------------------------- all at once

#[test]
fn every_problem_of_a_run_is_reported_sorted() {
    let sources = [
        SourceFile::new("z.yaml", "version: 1\nusers:\n  - userName: bad\n    titel: x\n"),
        SourceFile::new(
            "a.yaml",
            "version: 3\nusers:\n  - userName: ada@example.com\n    role: wizard\n    active: maybe\ngroups:\n  - displayName: G\n    members: [nobody@example.com]\n",
        ),
    ];
    assert_eq!(
        found_in(&sources),
        [
            ("a.yaml".to_owned(), "version", 1, 10),
            ("a.yaml".to_owned(), "unknown-role", 4, 11),
            ("a.yaml".to_owned(), "wrong-type", 5, 13),
            ("a.yaml".to_owned(), "undefined-member", 8, 15),
            ("z.yaml".to_owned(), "malformed-email", 3, 15),
            ("z.yaml".to_owned(), "unknown-key", 4, 5),
        ]
    );
}

#[test]
fn a_broken_file_does_not_hide_the_others_problems() {
    let sources = [
        SourceFile::new("broken.yaml", "version: 1\nusers: [\n"),
        SourceFile::new(
            "teams.yaml",
            "version: 1\ngroups:\n  - displayName: G\n    members: [ada@example.com, not-an-email]\n    colour: red\n",
        ),
    ];
    // The member may be defined in the broken file, so it is not called undefined.
    assert_eq!(
        found_in(&sources),
        [
            ("broken.yaml".to_owned(), "yaml-syntax", 2, 8),
            ("teams.yaml".to_owned(), "malformed-email", 4, 32),
            ("teams.yaml".to_owned(), "unknown-key", 5, 5),
        ]
    );
}

// ---------------------------------------------------------------- hostile input

#[test]
fn alias_bomb_ends_with_a_clear_error() {
    let mut text = String::from("version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..12 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    let diagnostics = load_one(&text).unwrap_err();
    assert_eq!(diagnostics.len(), 1);
    let problem = &diagnostics.problems()[0];
    assert_eq!(problem.check(), Check::YamlSyntax);
    assert_eq!(
        problem.message(),
        "aliases expand to more than 100000 nodes in total; refusing a possible alias bomb"
    );
}

#[test]
fn deep_nesting_ends_with_a_clear_error() {
    for text in [
        format!("version: 1\nusers: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
        format!("version: 1\nusers: {}\n", "{a: ".repeat(10_000) + &"}".repeat(10_000)),
        format!("version: 1\nusers:\n{}x\n", "- ".repeat(10_000)),
    ] {
        let diagnostics = load_one(&text).unwrap_err();
        assert_eq!(diagnostics.len(), 1);
        let problem = &diagnostics.problems()[0];
        assert_eq!(problem.check(), Check::YamlSyntax);
        assert!(problem.message().starts_with("invalid YAML"), "{}", problem.message());
    }
}

#[test]
fn a_50_mib_text_is_refused_without_parsing() {
    let text = format!("version: 1\n{}", "# padding\n".repeat(50 * 1024 * 1024 / 10));
    let diagnostics = load_one(&text).unwrap_err();
    let problem = &diagnostics.problems()[0];
    assert_eq!(problem.check(), Check::FileTooLarge);
    assert_eq!(
        problem.message(),
        "file is 50.0 MiB, larger than the 32.0 MiB limit; split the users across several files"
    );
}

/// A legitimate large file: 100,000 users and 2,000 groups of 50 members. It has over a
/// million nodes, four times serde-saphyr's default budget, and must load.
#[test]
fn a_100000_user_file_loads() {
    let mut text = String::from("version: 1\nusers:\n");
    for i in 0..100_000 {
        text.push_str(&format!("  - userName: u{i}@example.com\n    role: maker\n"));
    }
    text.push_str("groups:\n");
    for g in 0..2_000 {
        text.push_str(&format!("  - displayName: g{g}\n    members:\n"));
        for m in 0..50 {
            text.push_str(&format!("      - u{}@example.com\n", (g * 50 + m) % 100_000));
        }
    }
    let state = load_one(&text).unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert_eq!(state.users.len(), 100_000);
    assert_eq!(state.groups.len(), 2_000);
    assert_eq!(state.users[99_999].source.as_ref().unwrap().line, 2 + 2 * 99_999 + 1);
    assert_eq!(state.groups[1_999].source.as_ref().unwrap().line, 4 + 2 * 100_000 + 52 * 1_999);
}

// ---------------------------------------------------------------- output

#[test]
fn render_has_locations_snippets_and_optional_color() {
    let text = user_file("  - userName: ada@example.com\n    titel: x\n");
    let diagnostics = load_one(&text).unwrap_err();
    let plain = diagnostics.render(false);
    assert!(
        plain.starts_with("error[unknown-key]: unknown key `titel` in a user\n --> users.yaml:4:5\n"),
        "{plain}"
    );
    assert!(plain.contains("4 |     titel: x\n"), "{plain}");
    assert!(!plain.contains('\u{1b}'));
    let colored = diagnostics.render(true);
    assert!(colored.contains('\u{1b}'));
    assert_eq!(diagnostics.render(false), plain);
}

#[test]
fn github_annotations_one_line_per_problem() {
    let sources = [SourceFile::new(
        "dir,1/users:a.yaml",
        "version: 1\npolicy:\n  max_deactivations: 101%\nusers:\n  - userName: x\n    titel: a\n",
    )];
    let annotations = load(&sources).unwrap_err().github_annotations();
    assert_eq!(
        annotations,
        "::error file=dir%2C1/users%3Aa.yaml,line=3,col=22,title=roster max-deactivations::malformed `max_deactivations` `101%25`: expected a count like `10` or a percentage like `\"20%25\"`; a count is a whole number from 0; a percentage is 0%25 to 100%25 with at most two decimals\n\
         ::error file=dir%2C1/users%3Aa.yaml,line=5,col=15,title=roster malformed-email::malformed email `x` in userName: it has no `@`\n\
         ::error file=dir%2C1/users%3Aa.yaml,line=6,col=5,title=roster unknown-key::unknown key `titel` in a user\n"
    );
}

#[test]
fn diagnostics_summarise_in_one_line() {
    let diagnostics = load_one("version: 2\nusers: 3\n").unwrap_err();
    assert_eq!(diagnostics.to_string(), "2 problems in the desired state (users.yaml)");
}

// ---------------------------------------------------------------- to_yaml

fn without_sources(mut state: DesiredState) -> DesiredState {
    for user in &mut state.users {
        user.source = None;
    }
    for group in &mut state.groups {
        group.source = None;
    }
    state
}

/// The state as `to_yaml` orders it.
fn canonical(state: &DesiredState) -> DesiredState {
    let mut state = without_sources(state.clone());
    state.users.sort_by_cached_key(|u| (u.attributes.key(), u.attributes.user_name.clone()));
    state.groups.sort_by_cached_key(|g| (g.display_name.to_lowercase(), g.display_name.clone()));
    for group in &mut state.groups {
        if let Some(members) = &mut group.members {
            members.sort_by_cached_key(|m| (roster_model::UserKey::new(m), m.clone()));
        }
    }
    state
}

fn user(user_name: &str) -> DesiredUser {
    DesiredUser {
        apps: Default::default(),
        expires: None,
        review_after: None,
        grant: Default::default(),
        attributes: UserAttributes { user_name: user_name.into(), active: true, ..Default::default() },
        previously: vec![],
        source: None,
    }
}

const HOSTILE: &[&str] = &[
    "yes",
    "No",
    "null",
    "NULL",
    "~",
    "true",
    "off",
    "0012",
    "1_000",
    "1e3",
    ".inf",
    "0x1F",
    "-1",
    "+1",
    "#hash",
    "a #b",
    "a: b",
    "a:b",
    "- dash",
    "-",
    "'single'",
    "\"double\"",
    "back\\slash",
    "multi\nline",
    "tab\there",
    " leading",
    "trailing ",
    "[flow]",
    "{map}",
    "*alias",
    "&anchor",
    "!tag",
    "%percent",
    "@at",
    "`tick",
    "?q",
    "|pipe",
    ">fold",
    "Ünïcødé",
    "🚀 launch",
    "line\u{2028}sep",
    "bell\u{7}",
    "nbsp\u{a0}",
    "bom\u{feff}",
    "R&D (Berlin)",
    "o'brien",
    "100%",
    "=",
    "<<",
    "---",
    "...",
];

#[test]
fn to_yaml_round_trips_hostile_strings() {
    let mut state = DesiredState { provider: Provider::Generic, ..Default::default() };
    state.custom_roles = HOSTILE.iter().map(|s| (*s).to_owned()).collect();
    // Text attributes are single lines (multi-line values are refused, see
    // `text_attributes_are_single_lines`); roles take any string.
    let single_line = |value: &str| roster_model::identity::check_single_line(value).is_ok();
    for (i, value) in HOSTILE.iter().enumerate().filter(|(_, v)| single_line(v)) {
        let mut u = user(&format!("user{i}@example.com"));
        u.attributes.external_id = Some((*value).to_owned());
        u.attributes.display_name = Some((*value).to_owned());
        u.attributes.given_name = Some((*value).to_owned());
        u.attributes.family_name = Some((*value).to_owned());
        u.attributes.title = Some((*value).to_owned());
        u.attributes.role = Some((*value).to_owned());
        u.attributes.active = i % 2 == 0;
        state.users.push(u);
        state.groups.push(DesiredGroup {
            target: Default::default(),
            expiring_members: Vec::new(),
            member_grants: Vec::new(),
            display_name: format!("{value} {i}"),
            external_id: Some(format!("{i}{value}")),
            members: Some(vec![format!("user{i}@example.com")]),
            source: None,
        });
    }
    let text = to_yaml(&state);
    let loaded = load_one(&text).unwrap_or_else(|d| panic!("{}\n{text}", d.render(false)));
    assert_eq!(without_sources(loaded), canonical(&state));
}

#[test]
fn to_yaml_round_trips_hostile_addresses_and_policy() {
    let addresses = [
        "o'brien+pm@eu.example.com",
        "#x@example.com",
        "-x@example.com",
        "x!#$%&*/=?^`{|}~@example.com",
        "josé@exämple.de",
        "0012@example.com",
        "yes@example.com",
    ];
    let mut state = DesiredState {
        provider: Provider::Productboard,
        policy: Policy {
            expiry_notice_days: roster_model::DEFAULT_EXPIRY_NOTICE_DAYS,
            max_access_days: None,
            max_paid_seats: None,
            unmanaged_users: UnmanagedUsers::Keep,
            unmanaged_groups: UnmanagedGroups::Delete,
            max_deactivations: DeactivationLimit::PercentHundredths(1250),
            max_removals: DeactivationLimit::Count(0),
            protected: vec![addresses[0].to_owned()],
        },
        custom_roles: vec!["yes".into()],
        ..Default::default()
    };
    for (i, address) in addresses.iter().enumerate() {
        let mut u = user(address);
        u.previously = vec![format!("old{i}+{address}")];
        u.attributes.role = Some(if i % 2 == 0 { "yes".into() } else { "maker".into() });
        state.users.push(u);
    }
    state.groups.push(DesiredGroup {
        target: Default::default(),
        expiring_members: Vec::new(),
        member_grants: Vec::new(),
        display_name: "Everyone".into(),
        external_id: None,
        members: Some(addresses.iter().rev().map(|a| a.to_uppercase()).collect()),
        source: None,
    });
    state.groups.push(DesiredGroup {
        target: Default::default(),
        expiring_members: Vec::new(),
        member_grants: Vec::new(),
        display_name: "empty".into(),
        external_id: None,
        members: Some(vec![]),
        source: None,
    });
    state.groups.push(DesiredGroup {
        target: Default::default(),
        expiring_members: Vec::new(),
        member_grants: Vec::new(),
        display_name: "unmanaged members".into(),
        external_id: None,
        members: None,
        source: None,
    });
    let text = to_yaml(&state);
    let loaded = load_one(&text).unwrap_or_else(|d| panic!("{}\n{text}", d.render(false)));
    assert_eq!(without_sources(loaded.clone()), canonical(&state));
    assert_eq!(to_yaml(&loaded), text, "to_yaml of a loaded file is stable");
}

#[test]
fn to_yaml_of_the_example_is_canonical_and_stable() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/users.yaml")).unwrap();
    let state = load_one(&text).unwrap();
    let canonical_text = to_yaml(&state);
    assert!(canonical_text.starts_with(
        "# yaml-language-server: $schema=schemas/roster.schema.json\nversion: 1\nprovider: productboard\n"
    ));
    let again = load_one(&canonical_text).unwrap();
    assert_eq!(without_sources(again.clone()), canonical(&state));
    assert_eq!(to_yaml(&again), canonical_text);
    insta::assert_snapshot!("to_yaml_example", canonical_text);
}

#[test]
fn to_yaml_of_an_empty_state() {
    let text = to_yaml(&DesiredState::default());
    assert_eq!(
        text,
        "# yaml-language-server: $schema=schemas/roster.schema.json\nversion: 1\nprovider: productboard\npolicy:\n  unmanaged_users: deactivate\n  unmanaged_groups: keep\n  max_deactivations: 10\n  max_removals: 10\nusers: []\ngroups: []\n"
    );
    assert_eq!(load_one(&text).unwrap(), DesiredState::default());
    let with_url =
        crate::to_yaml_with_schema(&DesiredState::default(), "https://example.com/roster.schema.json");
    assert!(with_url.starts_with("# yaml-language-server: $schema=https://example.com/roster.schema.json\n"));
}

// ---------------------------------------------------------------- schema and file types

/// The property names of an object schema, following a `$ref` or `allOf: [$ref]`.
fn properties(schema: &serde_json::Value, at: &serde_json::Value) -> Vec<String> {
    let resolved = resolve(schema, at);
    // A user's other keys are per-target attributes; every other mapping is closed.
    let per_target = serde_json::json!({"$ref": "#/definitions/TargetAttributesEntry"});
    assert!(
        [serde_json::Value::Bool(false), per_target].contains(&resolved["additionalProperties"]),
        "{resolved}"
    );
    resolved["properties"].as_object().unwrap().keys().cloned().collect()
}

fn resolve<'a>(schema: &'a serde_json::Value, at: &'a serde_json::Value) -> &'a serde_json::Value {
    let reference = at.get("$ref").or_else(|| at.get("allOf").and_then(|all| all[0].get("$ref")));
    match reference.and_then(|r| r.as_str()) {
        Some(r) => &schema["definitions"][r.trim_start_matches("#/definitions/")],
        None => at,
    }
}

#[test]
fn the_schema_and_the_loader_know_the_same_keys() {
    use crate::file::keys;
    let schema = crate::json_schema();
    let sorted = |keys: &[&str]| {
        let mut keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        keys.sort();
        keys
    };
    let check = |at: &serde_json::Value, expected: &[&str]| {
        let mut found = properties(&schema, at);
        found.sort();
        assert_eq!(found, sorted(expected));
    };
    check(&schema, keys::TOP);
    let props = &schema["properties"];
    check(&props["policy"], keys::POLICY);
    let user = &props["users"]["items"];
    check(user, keys::USER);
    check(&resolve(&schema, user)["properties"]["name"], keys::NAME);
    check(&props["groups"]["items"], keys::GROUP);
    let target = &props["targets"]["additionalProperties"];
    check(target, keys::TARGET);
    check(&resolve(&schema, user)["additionalProperties"], keys::TARGET_ATTRIBUTES);
}

#[test]
fn the_schema_has_enums_for_editors() {
    let schema = crate::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["required"], serde_json::json!(["version"]));
    assert_eq!(schema["properties"]["version"]["const"], 1);
    let definitions = &schema["definitions"];
    assert_eq!(definitions["ProviderName"]["enum"], serde_json::json!(["productboard", "generic"]));
    assert_eq!(definitions["UnmanagedUsersPolicy"]["enum"], serde_json::json!(["deactivate", "keep"]));
    assert_eq!(definitions["UnmanagedGroupsPolicy"]["enum"], serde_json::json!(["keep", "delete"]));
    assert_eq!(definitions["UserEntry"]["required"], serde_json::json!(["userName"]));
    let description = definitions["UserEntry"]["properties"]["userName"]["description"].as_str().unwrap();
    assert!(description.starts_with("The login: an email address"), "{description}");
    assert!(!description.contains('\n'));
}

/// What the serde file types read, converted the way `load` converts, for comparison.
fn from_file_types(spec: crate::file::SpecFile) -> DesiredState {
    use crate::file::{MaxDeactivations, UnmanagedGroupsPolicy, UnmanagedUsersPolicy};
    let limit = |given: Option<MaxDeactivations>, default| match given {
        None => default,
        Some(MaxDeactivations::Count(n)) => DeactivationLimit::Count(n),
        Some(MaxDeactivations::Percentage(p)) => {
            DeactivationLimit::PercentHundredths(crate::check::parse_percentage(&p).unwrap())
        }
    };
    let policy = spec.policy.unwrap_or_default();
    DesiredState {
        targets: Default::default(),
        provider: spec.provider.unwrap_or_default().into(),
        policy: Policy {
            unmanaged_users: match policy.unmanaged_users.unwrap_or_default() {
                UnmanagedUsersPolicy::Deactivate => UnmanagedUsers::Deactivate,
                UnmanagedUsersPolicy::Keep => UnmanagedUsers::Keep,
            },
            unmanaged_groups: match policy.unmanaged_groups.unwrap_or_default() {
                UnmanagedGroupsPolicy::Keep => UnmanagedGroups::Keep,
                UnmanagedGroupsPolicy::Delete => UnmanagedGroups::Delete,
            },
            max_deactivations: limit(policy.max_deactivations, DeactivationLimit::DEFAULT_DEACTIVATIONS),
            max_removals: limit(policy.max_removals, DeactivationLimit::DEFAULT_REMOVALS),
            protected: policy.protected,
            expiry_notice_days: policy.expiry_notice_days.unwrap_or(roster_model::DEFAULT_EXPIRY_NOTICE_DAYS),
            max_access_days: policy.max_access_days,
            max_paid_seats: policy.max_paid_seats,
        },
        custom_roles: spec.custom_roles,
        paid_roles: spec.paid_roles,
        users: spec
            .users
            .into_iter()
            .map(|u| DesiredUser {
                apps: Default::default(),
                attributes: UserAttributes {
                    user_name: u.user_name,
                    external_id: u.external_id,
                    display_name: u.display_name,
                    given_name: u.name.as_ref().and_then(|n| n.given_name.clone()),
                    family_name: u.name.as_ref().and_then(|n| n.family_name.clone()),
                    title: u.title,
                    role: u.role,
                    active: u.active,
                },
                previously: u.previously,
                expires: u.expires,
                review_after: u.review_after,
                grant: roster_model::Grant { reason: u.reason, approved_by: u.approved_by, ticket: u.ticket },
                source: None,
            })
            .collect(),
        groups: spec
            .groups
            .into_iter()
            .map(|g| DesiredGroup {
                target: Default::default(),
                display_name: g.display_name,
                external_id: g.external_id,
                members: g.members.as_ref().map(|members| {
                    members
                        .iter()
                        .map(|m| match m {
                            crate::file::MemberEntry::Name(name) => name.clone(),
                            crate::file::MemberEntry::Expiring(m) => m.user_name.clone(),
                        })
                        .collect()
                }),
                expiring_members: g
                    .members
                    .iter()
                    .flatten()
                    .filter_map(|m| match m {
                        crate::file::MemberEntry::Expiring(m) => m.expires.map(|expires| {
                            roster_model::MembershipExpiry { user_name: m.user_name.clone(), expires }
                        }),
                        crate::file::MemberEntry::Name(_) => None,
                    })
                    .collect(),
                member_grants: g
                    .members
                    .iter()
                    .flatten()
                    .filter_map(|m| match m {
                        crate::file::MemberEntry::Expiring(m) => {
                            let grant = roster_model::Grant {
                                reason: m.reason.clone(),
                                approved_by: m.approved_by.clone(),
                                ticket: m.ticket.clone(),
                            };
                            (!grant.is_empty())
                                .then(|| roster_model::MemberGrant { user_name: m.user_name.clone(), grant })
                        }
                        crate::file::MemberEntry::Name(_) => None,
                    })
                    .collect(),
                source: None,
            })
            .collect(),
    }
}

#[test]
fn the_file_types_read_the_examples_as_load_does() {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/users.yaml")).unwrap();
    let canonical_text = to_yaml(&load_one(&example).unwrap());
    for text in [&example, &canonical_text] {
        let spec: crate::file::SpecFile = serde_saphyr::from_str(text).unwrap();
        assert_eq!(from_file_types(spec), without_sources(load_one(text).unwrap()));
    }
    // And they refuse what the loader refuses for its structure.
    for name in ["unknown-key", "wrong-type", "missing-key", "duplicate-key"] {
        let path = format!("{}/../../examples/invalid/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        assert!(serde_saphyr::from_str::<crate::file::SpecFile>(&text).is_err(), "{name}");
    }
}

/// The problems of a file judged on a day, as `(code, line, column)`.
fn found_as_of(text: &str, as_of: &str) -> Vec<(&'static str, usize, usize)> {
    let as_of = roster_model::Date::parse(as_of).unwrap();
    match crate::load_as_of(&[SourceFile::new("users.yaml", text)], Some(as_of)) {
        Ok(_) => Vec::new(),
        Err(d) => {
            d.problems().iter().map(|p| (p.check().code(), p.location().line, p.location().column)).collect()
        }
    }
}

#[test]
fn dates_are_read_as_written_whatever_yaml_types_them() {
    let state = load_one(
        "version: 1\nusers:\n  - userName: a@example.com\n    expires: 2027-03-31\n    review_after: \"2027-01-15\"\n\
         groups:\n  - displayName: G\n    members:\n      - a@example.com\n      - { userName: b@example.com, expires: '2027-01-31' }\n\
         \n  - displayName: H\n    members: [b@example.com]\n"
            .replace("\n\n", "\n")
            .replace("users:\n", "users:\n  - userName: b@example.com\n")
            .as_str(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render(false)));
    let a = state.users.iter().find(|u| u.attributes.user_name == "a@example.com").unwrap();
    assert_eq!(a.expires.unwrap().to_string(), "2027-03-31");
    assert_eq!(a.review_after.unwrap().to_string(), "2027-01-15");
    let g = &state.groups[0];
    assert_eq!(g.members.as_deref().unwrap(), ["a@example.com", "b@example.com"]);
    assert_eq!(g.expiring_members.len(), 1);
    assert_eq!(g.expiring_members[0].expires.to_string(), "2027-01-31");
    assert!(state.groups[1].expiring_members.is_empty());
}

#[test]
fn max_access_days_is_judged_on_the_as_of_day() {
    let file = "version: 1\npolicy:\n  max_access_days: 90\nusers:\n  - userName: a@example.com\n    expires: 2027-03-01\n\
                groups:\n  - displayName: G\n    members:\n      - { userName: a@example.com, expires: 2027-02-28 }\n";
    // 2026-12-01 + 90 days = 2027-03-01: exactly the limit is allowed.
    assert_eq!(found_as_of(file, "2026-12-01"), []);
    // A day earlier, both dates are too far ahead, each at its own line.
    assert_eq!(found_as_of(file, "2026-11-29"), [("max-access-days", 6, 14), ("max-access-days", 10, 45)]);
    // Without a day to judge on (`load`), the limit is not checked.
    assert!(load_one(file).is_ok());
    // A past date is not too far ahead.
    assert_eq!(found_as_of(file, "2028-01-01"), []);
}

#[test]
fn members_as_mappings_are_checked_like_strings() {
    let file = "version: 1\nusers:\n  - userName: a@example.com\ngroups:\n  - displayName: G\n    members:\n\
                - { expires: 2027-01-01 }\n      - { userName: a@example.com, until: 2027-01-01 }\n      - { userName: nobody@example.com }\n"
        .replace("members:\n- ", "members:\n      - ");
    let codes: Vec<_> = found(&file).into_iter().map(|(code, line, _)| (code, line)).collect();
    assert_eq!(codes, [("missing-key", 7), ("unknown-key", 8), ("undefined-member", 9)]);
}

#[test]
fn evidence_is_read_on_users_and_memberships_and_written_back() {
    let file = concat!(
        "version: 1\nusers:\n",
        "  - userName: a@example.com\n    reason: \"Q1 research: contract\"\n",
        "    approved_by: maya@example.com\n    ticket: IT-1234\n",
        "  - userName: b@example.com\n",
        "groups:\n  - displayName: G\n    members:\n",
        "      - { userName: a@example.com, reason: on call, ticket: IT-9 }\n      - b@example.com\n",
    );
    let state = load_one(file).unwrap_or_else(|d| panic!("{}", d.render(false)));
    let a = &state.users[0].grant;
    assert_eq!(a.reason.as_deref(), Some("Q1 research: contract"));
    assert_eq!(a.approved_by.as_deref(), Some("maya@example.com"));
    assert_eq!(a.ticket.as_deref(), Some("IT-1234"));
    assert!(state.users[1].grant.is_empty());
    let grants = &state.groups[0].member_grants;
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].user_name, "a@example.com");
    assert_eq!(grants[0].grant.reason.as_deref(), Some("on call"));
    assert_eq!(grants[0].grant.approved_by, None);
    assert_eq!(grants[0].grant.ticket.as_deref(), Some("IT-9"));

    // Written back, the file reads as the same state.
    let written = crate::to_yaml(&state);
    let again = load_one(&written).unwrap_or_else(|d| panic!("{}\n{written}", d.render(false)));
    let strip = |s: &DesiredState| {
        let mut s = s.clone();
        s.users.iter_mut().for_each(|u| u.source = None);
        s.groups.iter_mut().for_each(|g| g.source = None);
        s
    };
    assert_eq!(strip(&again), strip(&state));

    // Evidence is text: a number, an empty value or two lines are errors at their place.
    let bad = "version: 1\nusers:\n  - userName: a@example.com\n    ticket: 1234\n    reason: \"\"\n    approved_by: \"a\\nb\"\n";
    let codes: Vec<_> = match load_one(bad) {
        Ok(_) => panic!("accepted"),
        Err(d) => d.problems().iter().map(|p| (p.check().code(), p.location().line)).collect(),
    };
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert_eq!(codes.iter().map(|c| c.1).collect::<Vec<_>>(), [4, 5, 6]);
}
