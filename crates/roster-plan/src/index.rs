//! Lookup tables for matching, built to stay cheap at 100,000 users: keys borrow from the
//! input where they can, and a key held by one object (the common case) allocates nothing.

use std::borrow::Cow;
use std::collections::HashMap;

/// The identity key of a userName ([`roster_model::UserKey`]), borrowed when the name is
/// its own key.
pub(crate) fn fold(name: &str) -> Cow<'_, str> {
    roster_model::identity::canonical(name)
}

/// The objects that share one key.
enum Bucket {
    One([usize; 1]),
    Many(Vec<usize>),
}

/// Object indices by key.
pub(crate) struct Index<'k> {
    map: HashMap<&'k str, Bucket, Hasher>,
    /// Keys that more than one object has.
    shared_keys: Vec<&'k str>,
}

/// The hasher of the planner's large maps: foldhash is several times faster than SipHash
/// on short keys, and its per-process random seed still spreads crafted keys.
pub(crate) type Hasher = foldhash::fast::RandomState;

/// A map with the planner's hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, Hasher>;

/// An empty map with room for `capacity` entries.
pub(crate) fn map_with_capacity<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, Hasher::default())
}

impl<'k> Index<'k> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self { map: map_with_capacity(capacity), shared_keys: Vec::new() }
    }

    pub(crate) fn insert(&mut self, key: &'k str, index: usize) {
        match self.map.get_mut(key) {
            None => {
                self.map.insert(key, Bucket::One([index]));
            }
            Some(bucket @ Bucket::One(_)) => {
                let Bucket::One([first]) = *bucket else { unreachable!("matched above") };
                *bucket = Bucket::Many(vec![first, index]);
                self.shared_keys.push(key);
            }
            Some(Bucket::Many(indices)) => indices.push(index),
        }
    }

    /// Puts the indices of every shared key in the order `compare` gives, so that the
    /// order objects were inserted in does not matter.
    pub(crate) fn sort_shared(&mut self, mut compare: impl FnMut(&usize, &usize) -> std::cmp::Ordering) {
        for key in &self.shared_keys {
            if let Some(Bucket::Many(indices)) = self.map.get_mut(key) {
                indices.sort_by(&mut compare);
            }
        }
    }

    /// The indices of every key that more than one object has.
    pub(crate) fn shared(&self) -> impl Iterator<Item = usize> + '_ {
        self.shared_keys
            .iter()
            .flat_map(|key| self.get(key).iter().copied().filter(|_| self.get(key).len() > 1))
    }

    /// The indices under `key`, empty when there are none.
    pub(crate) fn get(&self, key: &str) -> &[usize] {
        match self.map.get(key) {
            None => &[],
            Some(Bucket::One(one)) => one,
            Some(Bucket::Many(many)) => many,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_agrees_with_user_key() {
        for name in ["ada@example.com", "Ada@Example.COM", "ÅSA@example.com", "o'brien+pm@eu.example.com"] {
            assert_eq!(fold(name), roster_model::UserKey::new(name).as_str());
        }
        assert!(matches!(fold("ada@example.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn index_keeps_every_index_of_a_key() {
        let mut index = Index::with_capacity(4);
        index.insert("a", 0);
        index.insert("b", 1);
        index.insert("a", 2);
        index.insert("a", 3);
        assert_eq!(index.get("a"), &[0, 2, 3]);
        assert_eq!(index.get("b"), &[1]);
        assert!(index.get("c").is_empty());
        index.sort_shared(|x, y| y.cmp(x));
        assert_eq!(index.get("a"), &[3, 2, 0]);
        assert_eq!(index.shared().collect::<Vec<_>>(), vec![3, 2, 0]);
    }
}
