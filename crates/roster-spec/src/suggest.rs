//! "Did you mean" suggestions by edit distance.

/// The candidate closest to `word`, if it is close enough to be a likely typo. Case and
/// the difference between `user_name` and `userName` do not count.
pub(crate) fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    // Work on a bounded prefix: the distance is quadratic, and no key or value of the
    // format is anywhere near this long, so a longer word has no suggestion anyway.
    const MAX_CHARS: usize = 64;
    let (word, cut) = crate::diagnostics::truncate(word, MAX_CHARS);
    if cut > 0 {
        return None;
    }
    let normalize = |s: &str| {
        s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect::<String>()
    };
    let word_n = normalize(word);
    let mut best: Option<(usize, &'c str)> = None;
    for &candidate in candidates {
        let candidate_n = normalize(candidate);
        let distance = edit_distance(&word_n, &candidate_n);
        let threshold = (candidate_n.chars().count() / 3).max(1);
        if distance <= threshold && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Edit distance in characters, where swapping two neighbours counts as one edit
/// (optimal string alignment), since `titel` for `title` is one slip, not two.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("titel", "title"), 1);
    }

    #[test]
    fn suggestions() {
        let keys = ["userName", "externalId", "displayName", "title", "role", "active"];
        assert_eq!(did_you_mean("titel", &keys), Some("title"));
        assert_eq!(did_you_mean("user_name", &keys), Some("userName"));
        assert_eq!(did_you_mean("username", &keys), Some("userName"));
        assert_eq!(did_you_mean("externalID", &keys), Some("externalId"));
        assert_eq!(did_you_mean("displayname", &keys), Some("displayName"));
        assert_eq!(did_you_mean("email", &keys), None);
        assert_eq!(did_you_mean("roles", &keys), Some("role"));
        assert_eq!(did_you_mean("Admin", &["admin", "maker", "contributor", "viewer"]), Some("admin"));
    }
}
