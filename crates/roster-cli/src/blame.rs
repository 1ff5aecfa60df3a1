//! Which commit last changed each user's entry, for `roster export`: one
//! `git blame --porcelain` per desired-state file (never one per user), read into a table
//! of lines, then each entry's span of lines looked up in it.
//!
//! An entry's span runs from its first line to the line before the next entry (user or
//! group) or top-level key, less the blank and comment-only lines at its end (those
//! usually introduce what follows). The entry's last change is the newest commit among
//! its lines (by committer time, then author time), or "uncommitted" when any of its
//! lines is not committed. Outside git (no repository, the file untracked or not yet
//! committed, git missing) there is no answer and no error. Blame sees the lines a file
//! has: a commit that only deleted lines from an entry is not seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use roster_model::DesiredState;
use roster_plan::export::LastChange;

/// The commit id git blame gives lines that are not committed.
const NOT_COMMITTED: &str = "0000000000000000000000000000000000000000";

/// One commit as blame describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Commit {
    id: String,
    author: String,
    author_mail: String,
    author_time: i64,
    committer_time: i64,
    /// Blame stopped here: the root commit, or the edge of a shallow clone.
    boundary: bool,
}

/// What a line of the file is, for cutting the file into entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineKind {
    /// A top-level key (`groups:`, `policy:`) or a document marker: ends an entry.
    TopLevel,
    /// Empty, whitespace or a comment only.
    Blank,
    /// Anything else.
    Content,
}

/// One blamed line: the commit (an index into [`Blame::commits`]) and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    commit: usize,
    kind: LineKind,
}

/// A file's blame: every line's commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blame {
    commits: Vec<Commit>,
    /// The repository is a shallow clone: a boundary commit stands for all the history
    /// that was not fetched, so it names no change.
    shallow: bool,
    /// By line number less one.
    lines: Vec<Option<Line>>,
}

/// The last change of each user's entry of `desired` (by index), from one blame per file.
pub fn last_changes(desired: &DesiredState) -> Vec<Option<LastChange>> {
    // The entries of each file: its users' and groups' first lines.
    let mut starts: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    let sources = desired.users.iter().filter_map(|u| u.source.as_ref());
    for source in sources.chain(desired.groups.iter().filter_map(|g| g.source.as_ref())) {
        starts.entry(source.file.as_str()).or_default().insert(source.line);
    }
    let blames: BTreeMap<&str, Blame> =
        starts.keys().filter_map(|file| Some((*file, blame_file(Path::new(file))?))).collect();
    desired
        .users
        .iter()
        .map(|user| {
            let source = user.source.as_ref()?;
            let blame = blames.get(source.file.as_str())?;
            let (first, last) = blame.span(source.line, &starts[source.file.as_str()]);
            blame.last_change(first, last)
        })
        .collect()
}

/// Runs `git blame --porcelain` once on a file; `None` outside git.
pub fn blame_file(file: &Path) -> Option<Blame> {
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["blame", "--porcelain", "--"])
        .arg(file.file_name()?)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        tracing::debug!("no git history for {}: git blame exited with {}", file.display(), output.status);
        return None;
    }
    let mut blame = parse_porcelain(&output.stdout)?;
    blame.shallow = is_shallow(dir);
    if blame.shallow {
        tracing::warn!(
            "{} is in a shallow clone: entries last changed before its oldest fetched commit get no commit; \
             fetch the whole history (actions/checkout: fetch-depth: 0)",
            file.display()
        );
    }
    Some(blame)
}

fn is_shallow(dir: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--is-shallow-repository"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"true")
}

/// Reads `git blame --porcelain` output; `None` when it is not such output.
pub fn parse_porcelain(bytes: &[u8]) -> Option<Blame> {
    let mut blame = Blame::default();
    let mut by_id: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // The commit and final line number of the header just read.
    let mut current: Option<(usize, usize)> = None;
    for raw in bytes.split(|b| *b == b'\n') {
        if let Some(content) = raw.strip_prefix(b"\t") {
            let (commit, line) = current.take()?;
            if blame.lines.len() < line {
                blame.lines.resize(line, None);
            }
            blame.lines[line - 1] = Some(Line { commit, kind: kind_of(content) });
            continue;
        }
        let text = String::from_utf8_lossy(raw);
        if let Some((id, line)) = header(&text) {
            let next = blame.commits.len();
            let commit = *by_id.entry(id.to_owned()).or_insert(next);
            if commit == next {
                blame.commits.push(Commit { id: id.to_owned(), ..Commit::default() });
            }
            current = Some((commit, line));
            continue;
        }
        let Some((commit, _)) = current else { continue };
        let entry = &mut blame.commits[commit];
        let (key, value) = text.split_once(' ').unwrap_or((&text, ""));
        match key {
            "author" => entry.author = value.to_owned(),
            "author-mail" => entry.author_mail = value.to_owned(),
            "author-time" => entry.author_time = value.parse().unwrap_or_default(),
            "committer-time" => entry.committer_time = value.parse().unwrap_or_default(),
            "boundary" => entry.boundary = true,
            _ => {}
        }
    }
    Some(blame)
}

/// `<40 or 64 hex digits> <original line> <final line>[ <count>]`: the commit id and the
/// final line number.
fn header(text: &str) -> Option<(&str, usize)> {
    let mut words = text.split(' ');
    let id = words.next()?;
    if !(id.len() == 40 || id.len() == 64) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let _original: usize = words.next()?.parse().ok()?;
    let line: usize = words.next()?.parse().ok()?;
    (line > 0).then_some((id, line))
}

fn kind_of(content: &[u8]) -> LineKind {
    let trimmed = content.trim_ascii();
    match content.first() {
        _ if trimmed.is_empty() || trimmed.starts_with(b"#") => LineKind::Blank,
        _ if content.starts_with(b"---") || content.starts_with(b"...") => LineKind::TopLevel,
        Some(b' ' | b'\t' | b'-') => LineKind::Content,
        _ => LineKind::TopLevel,
    }
}

impl Blame {
    /// The lines (one-based, inclusive) of the entry that starts on `first`, given the
    /// first lines of every entry of the file.
    fn span(&self, first: usize, entry_starts: &BTreeSet<usize>) -> (usize, usize) {
        let next_entry = entry_starts.range(first + 1..).next().copied();
        let mut last = first;
        for line in first + 1..=self.lines.len() {
            let kind = self.lines[line - 1].map(|l| l.kind);
            if Some(line) == next_entry || kind == Some(LineKind::TopLevel) {
                break;
            }
            if kind != Some(LineKind::Blank) {
                last = line;
            }
        }
        (first, last)
    }

    /// The last change among lines `first..=last` (one-based).
    fn last_change(&self, first: usize, last: usize) -> Option<LastChange> {
        let lines = self.lines.get(first.checked_sub(1)?..last.min(self.lines.len()))?;
        let commits = lines.iter().flatten().map(|line| &self.commits[line.commit]);
        // Newest by committer time, then author time; the id breaks ties, so that the
        // answer does not depend on the order of the lines.
        fn order(c: &Commit) -> (i64, i64, &str) {
            (c.committer_time, c.author_time, c.id.as_str())
        }
        let mut newest: Option<&Commit> = None;
        for commit in commits {
            if commit.id == NOT_COMMITTED {
                return Some(LastChange::Uncommitted);
            }
            if newest.is_none_or(|n| order(commit) > order(n)) {
                newest = Some(commit);
            }
        }
        let commit = newest.filter(|c| !(c.boundary && self.shallow))?;
        let date = jiff::Timestamp::from_second(commit.author_time).ok()?;
        Some(LastChange::Committed {
            commit: commit.id.clone(),
            author: format!("{} {}", commit.author, commit.author_mail).trim().to_owned(),
            date: date.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn commit_header(id: &str, original: usize, line: usize, name: &str, time: i64) -> String {
        format!(
            "{id} {original} {line} 1\nauthor {name}\nauthor-mail <{name}@example.com>\nauthor-time {time}\n\
             author-tz +0200\ncommitter C\ncommitter-mail <c@example.com>\ncommitter-time {time}\n\
             committer-tz +0000\nsummary s\nfilename users.yaml\n"
        )
    }

    /// A file's blame from (commit, content) per line; each commit's details are given
    /// the first time it appears, as git does.
    fn porcelain(lines: &[(&str, &str)]) -> String {
        let mut seen = BTreeSet::new();
        let mut out = String::new();
        for (n, (id, content)) in lines.iter().enumerate() {
            if seen.insert(*id) {
                let (name, time) = match *id {
                    A => ("ann", 1_700_000_000),
                    B => ("bob", 1_800_000_000),
                    _ => ("Not Committed Yet", 1_900_000_000),
                };
                out.push_str(&commit_header(id, n + 1, n + 1, name, time));
            } else {
                out.push_str(&format!("{id} {} {}\n", n + 1, n + 1));
            }
            out.push_str(&format!("\t{content}\n"));
        }
        out
    }

    fn file() -> Vec<(&'static str, &'static str)> {
        vec![
            (A, "version: 1"),                    // 1
            (A, "users:"),                        // 2
            (A, "  - userName: ada@example.com"), // 3
            (B, "    role: admin"),               // 4
            (B, ""),                              // 5
            (B, "  # the next one"),              // 6
            (A, "  - userName: bo@example.com"),  // 7
            (A, "    role: maker"),               // 8
            (NOT_COMMITTED, "groups:"),           // 9
            (A, "  - displayName: T"),            // 10
        ]
    }

    #[test]
    fn entries_end_before_the_next_entry_or_section() {
        let blame = parse_porcelain(porcelain(&file()).as_bytes()).unwrap();
        let starts = BTreeSet::from([3, 7, 10]);
        assert_eq!(blame.span(3, &starts), (3, 4));
        assert_eq!(blame.span(7, &starts), (7, 8));
        assert_eq!(blame.span(10, &starts), (10, 10));
        // The newest commit of the span, with its author date in UTC.
        assert_eq!(
            blame.last_change(3, 4),
            Some(LastChange::Committed {
                commit: B.into(),
                author: "bob <bob@example.com>".into(),
                date: "2027-01-15T08:00:00Z".into(),
            })
        );
        assert!(matches!(blame.last_change(7, 8), Some(LastChange::Committed { commit, .. }) if commit == A));
        assert_eq!(blame.last_change(8, 9), Some(LastChange::Uncommitted));
    }

    #[test]
    fn in_a_shallow_clone_the_boundary_names_no_change() {
        let text = porcelain(&file()).replacen("summary s\n", "summary s\nboundary\n", 1);
        let mut blame = parse_porcelain(text.as_bytes()).unwrap();
        assert!(blame.last_change(7, 8).is_some(), "a root commit is a change");
        blame.shallow = true;
        assert_eq!(blame.last_change(7, 8), None);
        // A later commit among the lines is still the entry's last change.
        assert!(matches!(blame.last_change(3, 4), Some(LastChange::Committed { commit, .. }) if commit == B));
    }

    #[test]
    fn flow_entries_on_one_line_share_it() {
        let blame = parse_porcelain(
            porcelain(&[(A, "users: [{userName: a@x.com}, {userName: b@x.com}]")]).as_bytes(),
        )
        .unwrap();
        assert_eq!(blame.span(1, &BTreeSet::from([1])), (1, 1));
        assert!(blame.last_change(1, 1).is_some());
    }

    #[test]
    fn other_output_is_no_answer() {
        assert_eq!(parse_porcelain(b"\tcontent without a header\n"), None);
        let empty = parse_porcelain(b"").unwrap();
        assert_eq!(empty.last_change(1, 1), None);
        assert_eq!(header("not a header 1 2"), None);
        assert_eq!(header(&format!("{A} 1 2 3")), Some((A, 2)));
    }
}
