//! The files in `examples/`: every valid example loads, and every invalid example gives
//! exactly its snapshotted message. Adding a file to `examples/invalid/` adds a case.

use std::path::{Path, PathBuf};

use roster_spec::{SourceFile, load, read_sources};

/// The workspace root, so that file names in messages read `examples/...`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Reads files under the workspace root, named relative to it.
fn sources(relative: &[&str]) -> Vec<SourceFile> {
    std::env::set_current_dir(root()).unwrap();
    read_sources(&relative.iter().map(PathBuf::from).collect::<Vec<_>>()).unwrap()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml"))
        .collect();
    files.sort();
    files
}

/// Folders under `examples/` that hold no valid desired-state files.
const NOT_VALID_EXAMPLES: &[&str] = &["github", "gitlab", "invalid"];

#[test]
fn every_valid_example_loads() {
    let mut files = yaml_files(&root().join("examples"));
    // A folder of its own holds an example that is not meant to merge with the others.
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if path.is_dir() && !NOT_VALID_EXAMPLES.contains(&name) {
            files.extend(yaml_files(&path));
        }
    }
    assert!(files.iter().any(|f| f.ends_with("examples/governed/users.yaml")), "{files:?}");
    for file in files {
        let name = file.strip_prefix(root()).unwrap().to_str().unwrap().to_owned();
        let state = load(&sources(&[&name])).unwrap_or_else(|d| panic!("{name}:\n{}", d.render(false)));
        assert!(!state.users.is_empty(), "{name} has no users");
    }
}

#[test]
fn the_company_example_is_what_it_says() {
    let state = load(&sources(&["examples/users.yaml"])).unwrap();
    assert_eq!(state.users.len(), 12);
    assert_eq!(state.groups.len(), 4);
    assert_eq!(state.users.iter().filter(|u| !u.attributes.active).count(), 1);
    assert_eq!(state.users.iter().filter(|u| !u.previously.is_empty()).count(), 1);
    let first = &state.users[0];
    let source = first.source.as_ref().unwrap();
    assert_eq!((source.file.as_str(), source.line, source.column), ("examples/users.yaml", 18, 5));
}

#[test]
fn the_governed_example_keeps_its_rules_and_carries_evidence() {
    let state = load(&sources(&["examples/governed/users.yaml"])).unwrap();
    assert_eq!(state.users.len(), 7);
    assert!(state.users.iter().filter(|u| u.attributes.active).all(|u| u.grant.reason.is_some()));
    let product = state.groups.iter().find(|g| g.display_name == "Product").unwrap();
    assert_eq!(product.member_grants.len(), 1);
    // The same users without their evidence break the rules, each at its line.
    let text = std::fs::read_to_string(root().join("examples/governed/users.yaml")).unwrap();
    let stripped: String = text
        .lines()
        .filter(|line| {
            !line.trim_start().starts_with("reason:") && !line.trim_start().starts_with("approved_by:")
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let diagnostics = load(&[SourceFile::new("governed.yaml", stripped)]).unwrap_err();
    let codes: Vec<_> = diagnostics.problems().iter().map(|p| p.check().code()).collect();
    assert!(codes.contains(&"rule-require") && codes.contains(&"rule-require-for"), "{codes:?}");
    assert!(codes.iter().all(|c| c.starts_with("rule-require")), "{codes:?}");
}

#[test]
fn every_invalid_example_fails_with_its_own_check_and_snapshot() {
    let files = yaml_files(&root().join("examples/invalid"));
    assert!(files.len() >= 19, "expected one file per check, found {}", files.len());
    for file in files {
        let stem = file.file_stem().unwrap().to_str().unwrap().to_owned();
        let name = format!("examples/invalid/{stem}.yaml");
        let diagnostics = load(&sources(&[&name])).expect_err(&name);
        for problem in diagnostics.problems() {
            assert_eq!(problem.check().code(), stem, "{name}: unexpected problem {}", problem.message());
        }
        insta::assert_snapshot!(format!("invalid-{stem}"), diagnostics.render(false));
    }
}

#[test]
fn files_that_clash_name_each_other() {
    let diagnostics = load(&sources(&["examples/invalid/multi"])).unwrap_err();
    let codes: Vec<_> = diagnostics.problems().iter().map(|p| p.check().code()).collect();
    assert_eq!(codes, ["conflicting-files", "conflicting-files", "duplicate-username"]);
    insta::assert_snapshot!("invalid-multi", diagnostics.render(false));
    insta::assert_snapshot!("invalid-multi-github", diagnostics.github_annotations());
}
