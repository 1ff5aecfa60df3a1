//! Scheduling renames and creates around names that must be unique.
//!
//! A service keeps userNames (and Productboard team names) unique, case-insensitively,
//! so a rename or create may take a name only once no other object holds it. A name is
//! free when no other live object holds it, or when every holder is renamed away
//! earlier in the plan. Claims form a graph (a claim waits on the claims that rename
//! the holders of its name away); Kahn's algorithm gives each claim a depth, the number
//! of steps that must run before it, and leaves out the claims that sit in a cycle (a
//! swap) or behind a holder that stays.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

/// A planned rename or create, which needs its (folded) name to be free.
pub(crate) struct Claim<'a> {
    /// The desired object that claims the name.
    pub desired: usize,
    /// The folded name.
    pub key: Cow<'a, str>,
    /// The live object renamed, or `None` for a create.
    pub own: Option<usize>,
}

/// Whether a claim can be made in this plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It can, after `depth` steps of renames that free its name.
    Allowed { depth: usize },
    /// It cannot: `holder` keeps the name, either because nothing renames it away
    /// (`stays`) or because its own rename cannot happen first.
    Blocked { holder: usize, stays: bool },
}

/// Decides every claim. `holders` gives the live objects holding a folded name,
/// `claimed_by` the desired object each live object is matched to.
pub(crate) fn schedule<'k>(
    claims: &[Claim<'_>],
    holders: impl Fn(&str) -> &'k [usize],
    claimed_by: &[Option<usize>],
) -> Vec<Verdict> {
    let claim_of: HashMap<usize, usize> =
        claims.iter().enumerate().map(|(c, claim)| (claim.desired, c)).collect();
    let mut waiting_on = vec![0usize; claims.len()];
    let mut frees: Vec<Vec<usize>> = vec![Vec::new(); claims.len()];
    let mut stays: Vec<Option<usize>> = vec![None; claims.len()];
    let mut first_holder: Vec<Option<usize>> = vec![None; claims.len()];
    for (c, claim) in claims.iter().enumerate() {
        for &holder in holders(&claim.key) {
            if Some(holder) == claim.own {
                continue;
            }
            first_holder[c].get_or_insert(holder);
            match claimed_by[holder].and_then(|other| claim_of.get(&other)) {
                Some(&other) if other != c => {
                    waiting_on[c] += 1;
                    frees[other].push(c);
                }
                _ => {
                    stays[c].get_or_insert(holder);
                }
            }
        }
    }
    let mut depth = vec![0usize; claims.len()];
    let mut allowed = vec![false; claims.len()];
    let mut ready: VecDeque<usize> =
        (0..claims.len()).filter(|&c| waiting_on[c] == 0 && stays[c].is_none()).collect();
    while let Some(c) = ready.pop_front() {
        allowed[c] = true;
        for &next in &frees[c] {
            depth[next] = depth[next].max(depth[c] + 1);
            waiting_on[next] -= 1;
            if waiting_on[next] == 0 && stays[next].is_none() {
                ready.push_back(next);
            }
        }
    }
    (0..claims.len())
        .map(|c| match (allowed[c], stays[c]) {
            (true, _) => Verdict::Allowed { depth: depth[c] },
            (false, Some(holder)) => Verdict::Blocked { holder, stays: true },
            (false, None) => Verdict::Blocked {
                holder: first_holder[c].expect("a claim that waits has a holder"),
                stays: false,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(desired: usize, key: &'static str, own: Option<usize>) -> Claim<'static> {
        Claim { desired, key: Cow::Borrowed(key), own }
    }

    /// Live objects 0 "a", 1 "b", 2 "c"; `holders` finds them by name.
    fn holders(key: &str) -> &'static [usize] {
        match key {
            "a" => &[0],
            "b" => &[1],
            "c" => &[2],
            _ => &[],
        }
    }

    #[test]
    fn a_chain_is_ordered_and_a_swap_is_refused() {
        // Desired 10 renames live 0 from a to new; desired 11 renames live 1 from b to a.
        let chain = [claim(10, "new", Some(0)), claim(11, "a", Some(1))];
        let claimed_by = [Some(10), Some(11), None];
        assert_eq!(
            schedule(&chain, holders, &claimed_by),
            vec![Verdict::Allowed { depth: 0 }, Verdict::Allowed { depth: 1 }]
        );
        // Desired 10 renames live 0 to b, desired 11 renames live 1 to a: a swap.
        let swap = [claim(10, "b", Some(0)), claim(11, "a", Some(1))];
        assert_eq!(
            schedule(&swap, holders, &claimed_by),
            vec![Verdict::Blocked { holder: 1, stays: false }, Verdict::Blocked { holder: 0, stays: false }]
        );
    }

    #[test]
    fn a_holder_that_stays_blocks_and_so_do_its_dependents() {
        // Live 2 holds c and nothing renames it away, so desired 10 cannot rename live 0
        // to c; desired 11, which needs live 0 to leave a, is blocked in turn.
        let claims = [claim(10, "c", Some(0)), claim(11, "a", Some(1))];
        let claimed_by = [Some(10), Some(11), None];
        assert_eq!(
            schedule(&claims, holders, &claimed_by),
            vec![Verdict::Blocked { holder: 2, stays: true }, Verdict::Blocked { holder: 0, stays: false }]
        );
        let create = [claim(12, "free", None)];
        assert_eq!(schedule(&create, holders, &claimed_by), vec![Verdict::Allowed { depth: 0 }]);
    }
}
