//! Times planning a multi-target file: 10 targets of 10,000 live users each (19,000
//! people, each in up to 10 apps, 100 teams of 50 members on average per target), with
//! about 1% of the file changed: people removed (offboarded from every app they had),
//! apps dropped, per-target roles changed, people added. Pure planning time: the
//! projection of the file onto each target, the ten plans and the aggregation
//! (`roster_plan::plan_targets`), the states already in memory.
//!
//! Run: `cargo xtask bench plan-targets`, or
//! `/usr/bin/time -v cargo run --release -p roster-plan --example bench_plan_targets`.

// An example is a program of its own: it reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use roster_model::{
    DesiredGroup, DesiredState, DesiredUser, LiveGroup, LiveState, LiveUser, Policy, Provider, RailLimit,
    Target, TargetAttributes, TargetName, TokenSource, UserAttributes,
};
use roster_plan::{MultiOverrides, PlanOptions, TargetInput};

#[path = "support/split_mix.rs"]
mod split_mix;

use split_mix::SplitMix;

const TARGETS: usize = 10;
const USERS_PER_TARGET: usize = 10_000;
/// Target `t` holds people `t * STRIDE .. t * STRIDE + USERS_PER_TARGET`.
const STRIDE: usize = 1_000;
const PEOPLE: usize = (TARGETS - 1) * STRIDE + USERS_PER_TARGET;
const GROUPS_PER_TARGET: usize = 100;
const ROLES: [&str; 4] = ["admin", "maker", "contributor", "viewer"];

fn name(t: usize) -> TargetName {
    TargetName::new(&format!("app{t:02}")).expect("a valid name")
}

fn person(i: usize) -> UserAttributes {
    UserAttributes {
        user_name: format!("user{i:06}@example.com"),
        display_name: Some(format!("User {i}")),
        title: Some("Engineer".to_string()),
        role: Some(ROLES[i % 4].to_string()),
        active: true,
        ..Default::default()
    }
}

fn in_target(t: usize, i: usize) -> bool {
    (t * STRIDE..t * STRIDE + USERS_PER_TARGET).contains(&i)
}

fn states() -> (DesiredState, Vec<(String, LiveState)>) {
    let mut rng = SplitMix(17);
    let policy = Policy {
        max_deactivations: RailLimit::PercentHundredths(10_000),
        max_removals: RailLimit::PercentHundredths(10_000),
        ..Policy::default()
    };
    let targets: Vec<Target> = (0..TARGETS)
        .map(|t| Target {
            name: name(t),
            provider: if t % 2 == 0 { Provider::Productboard } else { Provider::Generic },
            url: format!("https://app{t:02}.example.com/scim/v2"),
            token: TokenSource::Env(format!("ROSTER_TOKEN_APP{t:02}")),
            api_token: None,
            policy: policy.clone(),
            custom_roles: Vec::new(),
            paid_roles: None,
            everyone: false,
            source: None,
        })
        .collect();

    let mut users = Vec::with_capacity(PEOPLE);
    for i in 0..PEOPLE {
        if rng.one_percent() && rng.below(2) == 0 {
            continue; // removed from the file: offboarded from every app
        }
        let mut apps: Vec<TargetName> = (0..TARGETS).filter(|&t| in_target(t, i)).map(name).collect();
        if rng.one_percent() && apps.len() > 1 {
            apps.remove(rng.below(apps.len())); // one app dropped
        }
        let mut user = DesiredUser::new(person(i));
        if rng.one_percent() {
            let t = apps[rng.below(apps.len())].clone();
            let role = ROLES[(i + 1) % 4].to_string();
            user.apps.attributes.insert(t, TargetAttributes { role: Some(role), ..Default::default() });
        }
        user.apps.listed = Some(apps);
        users.push(user);
    }
    for i in PEOPLE..PEOPLE + PEOPLE / 100 {
        let mut user = DesiredUser::new(person(i));
        user.apps.listed = Some(vec![name(rng.below(TARGETS))]);
        users.push(user);
    }

    let mut groups = Vec::new();
    let mut lives = Vec::with_capacity(TARGETS);
    for t in 0..TARGETS {
        let first = t * STRIDE;
        let live_users: Vec<LiveUser> = (first..first + USERS_PER_TARGET)
            .map(|i| LiveUser { id: format!("{t}-{i}"), attributes: person(i), created: None })
            .collect();
        let mut live_groups = Vec::with_capacity(GROUPS_PER_TARGET);
        for g in 0..GROUPS_PER_TARGET {
            let members: Vec<usize> =
                (0..rng.below(101)).map(|_| first + rng.below(USERS_PER_TARGET)).collect();
            live_groups.push(LiveGroup {
                id: format!("{t}-g{g}"),
                display_name: format!("Team {g}"),
                external_id: None,
                members: members.iter().map(|i| format!("{t}-{i}")).collect(),
                created: None,
            });
            groups.push((t, g, members));
        }
        lives.push((
            name(t).to_string(),
            LiveState { users: live_users, groups: live_groups, ..LiveState::default() },
        ));
    }
    // Which people keep which app, by index: the teams keep those members, and one joins.
    let mut has: Vec<Vec<bool>> = vec![vec![false; TARGETS]; PEOPLE + PEOPLE / 100];
    for user in &users {
        let i: usize = user.attributes.user_name[4..10].parse().expect("userN");
        for app in user.apps.listed.iter().flatten() {
            has[i][app.as_str()[3..].parse::<usize>().expect("appNN")] = true;
        }
    }
    let groups = groups
        .into_iter()
        .map(|(t, g, members)| {
            let mut wanted: Vec<String> =
                members.into_iter().filter(|&i| has[i][t]).map(|i| person(i).user_name).collect();
            let joiner = t * STRIDE + rng.below(USERS_PER_TARGET);
            if has[joiner][t] {
                wanted.push(person(joiner).user_name);
            }
            wanted.sort();
            wanted.dedup();
            DesiredGroup {
                display_name: format!("Team {g}"),
                external_id: None,
                members: Some(wanted),
                expiring_members: Vec::new(),
                member_grants: Vec::new(),
                target: Some(name(t)),
                source: None,
            }
        })
        .collect();
    let desired = DesiredState { policy, users, groups, targets, ..DesiredState::default() };
    (desired, lives)
}

/// Runs: the machine may be shared, so the fastest run is the fairest figure.
const RUNS: usize = 5;

fn main() {
    let started = Instant::now();
    let (desired, lives) = states();
    let built = started.elapsed();
    let inputs: Vec<TargetInput<'_>> = lives
        .iter()
        .map(|(target, live)| TargetInput { target, live, options: PlanOptions::default() })
        .collect();

    let mut times = Vec::with_capacity(RUNS);
    let mut multi = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let planned = roster_plan::plan_targets(&desired, &inputs, &MultiOverrides::default());
        times.push(started.elapsed().as_secs_f64());
        multi = Some(planned);
    }
    let multi = multi.expect("at least one run");
    times.sort_by(f64::total_cmp);

    let operations: usize = multi.targets.iter().map(|t| t.plan.operations.len()).sum();
    let deactivations: u64 = multi.targets.iter().map(|t| t.plan.summary.users_to_deactivate).sum();
    println!(
        "{TARGETS} targets of {USERS_PER_TARGET} live users ({} people in the file, {} live users in all)",
        desired.users.len(),
        lives.iter().map(|(_, l)| l.users.len()).sum::<usize>()
    );
    println!(
        "multi-plan: {operations} operations ({deactivations} deactivations), {} people losing access, {} gaining, \
         blocked: {}",
        multi.summary.people_losing_access,
        multi.summary.people_gaining_access,
        multi.is_blocked()
    );
    println!("built the states in {:.3} s", built.as_secs_f64());
    println!(
        "planned {RUNS} times (projection + {TARGETS} plans + aggregation): fastest {:.3} s, median {:.3} s, \
         slowest {:.3} s",
        times[0],
        times[RUNS / 2],
        times[RUNS - 1]
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "load average at the end: {}",
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    }
}
