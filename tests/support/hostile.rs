//! Hostile desired-state files, one per category, each the worst of its kind that fits
//! under the file size limit, and a valid file of about 30 MB. Shared by the test that
//! runs each through `roster validate` (`tests/hostile.rs`) and the benchmark that
//! measures them (`crates/roster-cli/examples/bench_hostile.rs`).

#![allow(dead_code)]

use std::fmt::Write as _;

/// The token the environment holds while the files are validated; no output may hold it.
pub const SECRET_TOKEN: &str = "pb_scim_S3cr3tT0kenThatMustNeverBePrinted";

/// About 31 MB: the worst a file can be and still be read (the limit is 32 MiB).
const FULL: usize = 31 * 1024 * 1024;

/// One hostile file: its category and how to make its bytes.
pub struct Hostile {
    /// What it tries.
    pub name: &'static str,
    /// Makes the file; called when needed, so that only one is in memory at a time.
    pub make: Box<dyn Fn() -> Vec<u8>>,
}

fn fill(head: &str, unit: &str, tail: &str, size: usize) -> String {
    let n = (size.saturating_sub(head.len() + tail.len())) / unit.len();
    let mut text = String::with_capacity(head.len() + n * unit.len() + tail.len());
    text.push_str(head);
    for _ in 0..n {
        text.push_str(unit);
    }
    text.push_str(tail);
    text
}

/// Every hostile category.
pub fn hostile_files() -> Vec<Hostile> {
    let mut files: Vec<Hostile> = Vec::new();
    let mut add = |name: &'static str, make: fn() -> String| {
        files.push(Hostile { name, make: Box::new(move || make().into_bytes()) })
    };

    // Billion laughs: nine levels of ten aliases each.
    add("alias-bomb", || {
        let mut bomb =
            String::from("version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            let _ = writeln!(bomb, "a{level}: &a{level} [{refs}]");
        }
        bomb
    });

    // Anchors on nested collections around a large one, never used by an alias.
    add("nested-anchors", || {
        let mut nested = String::from("version: 1\nx: ");
        for depth in 0..30 {
            let _ = write!(nested, "[&n{depth} ");
        }
        nested.push_str(&fill("[", "1,", "1]", FULL / 2));
        nested.push_str(&"]".repeat(30));
        nested.push('\n');
        nested
    });

    add("deep-flow-nesting", || format!("version: 1\nx: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)));
    add("deep-block-nesting", || format!("version: 1\nx:\n{}1\n", "- ".repeat(1_000_000)));

    // A flood of the smallest nodes.
    add("tiny-nodes", || fill("version: 1\nx: [", "1,", "1]\n", FULL));

    // One line of 31 MB: an unknown key and a value that long.
    add("one-long-line", || {
        let long = "k".repeat(FULL / 2);
        format!("version: 1\nusers: [{{userName: ada@example.com, {long}: {long}}}]\n")
    });

    // Half a million users with two problems each.
    add("many-errors", || {
        fill("version: 1\nusers:\n", "  - userName: not-an-address\n    titel: 1\n", "", FULL)
    });

    // Many problems on one long line, each quoting long values.
    add("many-errors-one-line", || {
        let value = "v".repeat(200);
        fill("version: 1\nusers: [", &format!("{{userName: {value}, rolle: {value}}}, "), "]\n", FULL)
    });

    // Invisible twins: each user repeated with a zero-width space, a lookalike per user.
    add("invisible-twins", || {
        let pair = "  - userName: ada@example.com\n  - userName: \"a\\u200bda@example.com\"\n";
        fill("version: 1\nusers:\n", pair, "", FULL)
    });

    // Lone CR line ends throughout, with a problem on every entry.
    add("lone-cr", || {
        fill("version: 1\rusers:\r", "  - userName: ada@example.com\r    titel: x\r", "", FULL)
    });

    // The token itself, saved by mistake where a desired state belongs, and a file that
    // quotes it in places that are errors.
    add("token-file", || format!("{SECRET_TOKEN}\n"));
    add("token-in-values", || {
        format!(
            "version: 1\nusers:\n  - userName: {SECRET_TOKEN}\n    {SECRET_TOKEN}: x\n    role: {SECRET_TOKEN}\n    title: |\n      {SECRET_TOKEN}\n"
        )
    });

    // Not UTF-8: binary noise after a valid start.
    files.push(Hostile {
        name: "not-utf8",
        make: Box::new(|| {
            let mut binary = b"version: 1\nusers:\n".to_vec();
            binary.extend((0..FULL as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
            binary
        }),
    });
    // Over the size limit.
    files.push(Hostile { name: "too-large", make: Box::new(|| vec![b'#'; 40 * 1024 * 1024]) });
    files
}

/// A valid file of about 31 MB: 145,000 users with most attributes, and 1,000 teams.
pub fn valid_30mb() -> String {
    let mut text = String::with_capacity(31 * 1024 * 1024);
    text.push_str("version: 1\nprovider: productboard\npolicy:\n  max_deactivations: \"2%\"\nusers:\n");
    let n_users = 145_000;
    for i in 0..n_users {
        let _ = write!(
            text,
            "  - userName: user{i:06}@example.com\n    externalId: \"00u{i:07}\"\n    displayName: Given{i} Family{i}\n    name: {{ givenName: Given{i}, familyName: Family{i} }}\n    title: Software Engineer\n    role: maker\n"
        );
    }
    text.push_str("groups:\n");
    for g in 0..1_000 {
        let _ = write!(text, "  - displayName: Team {g}\n    members: [");
        for m in 0..20 {
            if m > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "user{:06}@example.com", (g * 97 + m * 13) % n_users);
        }
        text.push_str("]\n");
    }
    text
}
