//! Benchmark: `roster_spec::load` on a generated desired-state file of 100,000 users and
//! 2,000 groups (50 members each on average).
//!
//! ```text
//! /usr/bin/time -v cargo run --release -p roster-spec --example bench_validate
//! ```
//!
//! The users look like an import of a real directory: every user has a userName, a
//! displayName, name parts and a role; most have an externalId and a title; one in a
//! hundred is a tombstone and one in two hundred has an earlier userName. Group sizes
//! vary from 1 to 99 members. The file is built in memory; the timing covers parse,
//! validation and conversion, and the example exits non-zero if the file does not load.

#![allow(clippy::print_stdout)]

use std::fmt::Write;
use std::time::Instant;

const N_USERS: usize = 100_000;
const N_GROUPS: usize = 2_000;
const ROLES: [&str; 4] = ["admin", "maker", "contributor", "viewer"];
const TITLES: [&str; 5] =
    ["Product Manager", "Software Engineer", "Designer", "Account Executive", "Analyst"];

fn generate() -> String {
    let mut text = String::with_capacity(24 * 1024 * 1024);
    text.push_str(
        "# yaml-language-server: $schema=schemas/roster.schema.json\nversion: 1\nprovider: productboard\n",
    );
    text.push_str("policy:\n  unmanaged_users: deactivate\n  max_deactivations: \"2%\"\n  protected: [user000000@example.com]\n");
    text.push_str("users:\n");
    for i in 0..N_USERS {
        let _ = writeln!(text, "  - userName: user{i:06}@example.com");
        if i % 10 != 0 {
            let _ = writeln!(text, "    externalId: \"00u{i:07}\"");
        }
        if i % 200 == 7 {
            let _ = writeln!(text, "    previously: [old.user{i:06}@example.org]");
        }
        let _ = writeln!(text, "    displayName: Given{i} Family{i}");
        let _ = writeln!(text, "    name: {{ givenName: Given{i}, familyName: Family{i} }}");
        if i % 3 != 0 {
            let _ = writeln!(text, "    title: {}", TITLES[i % TITLES.len()]);
        }
        let _ = writeln!(text, "    role: {}", ROLES[i % ROLES.len()]);
        if i % 100 == 99 {
            text.push_str("    active: false\n");
        }
    }
    text.push_str("groups:\n");
    let mut next_member = 0usize;
    for g in 0..N_GROUPS {
        let _ = writeln!(text, "  - displayName: Team {g:04}\n    externalId: grp-{g:04}\n    members:");
        // 1 to 99 members, 50 on average.
        for _ in 0..(g % 99) + 1 {
            let _ = writeln!(text, "      - user{:06}@example.com", next_member % N_USERS);
            next_member += 7;
        }
    }
    text
}

fn main() {
    let text = generate();
    let size = text.len();
    let sources = [roster_spec::SourceFile::new("generated.yaml", text)];
    let start = Instant::now();
    let result = roster_spec::load(&sources);
    let elapsed = start.elapsed();
    match result {
        Ok(state) => {
            let n_members: usize = state.groups.iter().map(|g| g.members.as_ref().map_or(0, Vec::len)).sum();
            println!(
                "loaded {} users, {} groups, {} memberships from {:.1} MB in {:.3} s",
                state.users.len(),
                state.groups.len(),
                n_members,
                size as f64 / 1e6,
                elapsed.as_secs_f64()
            );
        }
        Err(diagnostics) => {
            println!("{}", diagnostics.render(false));
            std::process::exit(1);
        }
    }
}
