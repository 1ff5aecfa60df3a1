//! Times `roster_plan::plan` on a large workspace: 100,000 users and 2,000 groups of
//! 50 members on average, with 1% of everything changed, the live state already in memory.
//!
//! Run: `/usr/bin/time -v cargo run --release -p roster-plan --example bench_plan`
//! (peak RSS covers building both states as well as planning).

// An example is a program of its own: it reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use roster_model::{
    DeactivationLimit, DesiredGroup, DesiredState, DesiredUser, LiveGroup, LiveState, LiveUser, Policy,
    Provider, UnmanagedGroups, UnmanagedUsers, UserAttributes,
};
use roster_plan::PlanOptions;

const USERS: usize = 100_000;
const GROUPS: usize = 2_000;
const ROLES: [&str; 4] = ["admin", "maker", "contributor", "viewer"];

/// A small deterministic generator, so that every run plans the same states.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True once in a hundred.
    fn one_percent(&mut self) -> bool {
        self.below(100) == 0
    }
}

fn user(i: usize) -> UserAttributes {
    UserAttributes {
        user_name: format!("user{i:06}@example.com"),
        external_id: Some(format!("00u{i:06}")),
        display_name: Some(format!("User {i}")),
        given_name: Some("User".to_string()),
        family_name: Some(format!("{i}")),
        title: Some("Engineer".to_string()),
        role: Some(ROLES[i % 4].to_string()),
        active: true,
    }
}

fn states() -> (DesiredState, LiveState) {
    let mut rng = SplitMix(42);
    let mut live_users = Vec::with_capacity(USERS);
    let mut desired_users = Vec::with_capacity(USERS);
    // The userName the file gives each live user, if the file lists it.
    let mut desired_name: Vec<Option<String>> = vec![None; USERS];
    for i in 0..USERS {
        let attributes = user(i);
        live_users.push(LiveUser { created: None, id: format!("id-{i:06}"), attributes: attributes.clone() });
        let mut wanted = attributes;
        if rng.one_percent() {
            // 1% of users change: a fifth each renamed, retitled, re-roled, removed
            // from the file (deactivated as unmanaged) or tombstoned.
            match rng.below(5) {
                0 => wanted.user_name = format!("renamed{i:06}@example.com"),
                1 => wanted.title = Some("Senior Engineer".to_string()),
                2 => wanted.role = Some(ROLES[(i + 1) % 4].to_string()),
                3 => continue,
                _ => wanted.active = false,
            }
        }
        desired_name[i] = Some(wanted.user_name.clone());
        desired_users.push(DesiredUser {
            apps: Default::default(),
            expires: None,
            review_after: None,
            grant: Default::default(),
            attributes: wanted,
            previously: Vec::new(),
            source: None,
        });
    }
    // 1% more users are new.
    for i in USERS..USERS + USERS / 100 {
        desired_users.push(DesiredUser {
            apps: Default::default(),
            expires: None,
            review_after: None,
            grant: Default::default(),
            attributes: user(i),
            previously: Vec::new(),
            source: None,
        });
    }

    let mut live_groups = Vec::with_capacity(GROUPS);
    let mut desired_groups = Vec::with_capacity(GROUPS);
    for g in 0..GROUPS {
        let n_members = rng.below(101); // 50 on average
        let members: Vec<usize> = (0..n_members).map(|_| rng.below(USERS)).collect();
        live_groups.push(LiveGroup {
            id: format!("grp-{g:04}"),
            display_name: format!("Team {g}"),
            external_id: Some(format!("ext-{g:04}")),
            members: members.iter().map(|&m| format!("id-{m:06}")).collect(),
            created: None,
        });
        // 1% of the members leave (and members the file no longer lists drop out)...
        let mut wanted: Vec<String> =
            members.iter().filter(|_| !rng.one_percent()).filter_map(|&m| desired_name[m].clone()).collect();
        // ...and about as many join, some of them new users.
        for _ in 0..n_members / 100 + usize::from(rng.below(2) == 0) {
            wanted.push(desired_users[rng.below(desired_users.len())].attributes.user_name.clone());
        }
        let display_name =
            if rng.one_percent() { format!("Team {g} (renamed)") } else { format!("Team {g}") };
        desired_groups.push(DesiredGroup {
            target: Default::default(),
            expiring_members: Vec::new(),
            member_grants: Vec::new(),
            display_name,
            external_id: Some(format!("ext-{g:04}")),
            members: Some(wanted),
            source: None,
        });
    }
    let desired = DesiredState {
        targets: Default::default(),
        paid_roles: None,
        provider: Provider::Productboard,
        policy: Policy {
            expiry_notice_days: roster_model::DEFAULT_EXPIRY_NOTICE_DAYS,
            max_access_days: None,
            max_paid_seats: None,
            unmanaged_users: UnmanagedUsers::Deactivate,
            unmanaged_groups: UnmanagedGroups::Keep,
            max_deactivations: DeactivationLimit::PercentHundredths(100),
            max_removals: DeactivationLimit::PercentHundredths(10_000),
            protected: vec!["user000000@example.com".to_string()],
        },
        custom_roles: Vec::new(),
        users: desired_users,
        groups: desired_groups,
    };
    let live = LiveState { users: live_users, groups: live_groups, completeness: Default::default() };
    (desired, live)
}

/// Runs of `plan`: the machine may be shared, so the fastest run is the fairest figure.
const RUNS: usize = 5;

fn main() {
    let started = Instant::now();
    let (desired, live) = states();
    let built = started.elapsed();

    let mut times = Vec::with_capacity(RUNS);
    let mut plan = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let planned = roster_plan::plan(&desired, &live, &PlanOptions::default());
        times.push(started.elapsed().as_secs_f64());
        plan = Some(planned);
    }
    let plan = plan.expect("at least one run");
    times.sort_by(f64::total_cmp);

    let s = &plan.summary;
    println!(
        "{} live users, {} live groups, {} memberships",
        live.users.len(),
        live.groups.len(),
        live.groups.iter().map(|g| g.members.len()).sum::<usize>()
    );
    println!(
        "plan: {} operations ({} creates, {} updates, {} deactivations, {} member changes in {} groups), \
         {} warnings, blocked: {}",
        plan.operations.len(),
        s.users_to_create,
        s.users_to_update,
        s.users_to_deactivate,
        s.member_changes(),
        s.groups_with_member_changes,
        plan.warnings.len(),
        plan.is_blocked()
    );
    println!("built the states in {:.3} s", built.as_secs_f64());
    println!(
        "planned {RUNS} times: fastest {:.3} s, median {:.3} s, slowest {:.3} s",
        times[0],
        times[RUNS / 2],
        times[RUNS - 1]
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
}
