//! Problems found in desired-state files, and how they are shown to people.

use std::fmt;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use roster_model::SourceLocation;

use crate::tree::Pos;

/// Which check found a problem. Its [`Check::code`] names the problem in rendered
/// output (`error[unknown-key]`), in GitHub annotations and in `examples/invalid/`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// The file is not well-formed YAML, or hits a parse limit (alias bomb, nesting).
    YamlSyntax,
    /// The file is larger than the size limit.
    FileTooLarge,
    /// `version` is missing or not a supported version.
    Version,
    /// A key the format does not know.
    UnknownKey,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A value of the wrong YAML type, e.g. a number where a string belongs.
    WrongType,
    /// A required key is missing.
    MissingKey,
    /// A value of the right type that is not allowed: an unknown provider or policy,
    /// an empty string.
    InvalidValue,
    /// An email address (userName, `previously`, `protected`, member) that is malformed.
    MalformedEmail,
    /// Two users with the same userName, compared by identity key (case, Unicode
    /// normalisation and the IDNA form of the domain aside).
    DuplicateUserName,
    /// Two userNames that look the same but are different addresses (another script's
    /// letter, an invisible character).
    LookalikeUserName,
    /// Two users with the same externalId.
    DuplicateExternalId,
    /// Two groups with the same displayName, compared case-insensitively.
    DuplicateGroup,
    /// Two groups with the same externalId.
    DuplicateGroupExternalId,
    /// A group member that no user of the files defines.
    UndefinedMember,
    /// The same member twice in one group.
    DuplicateMember,
    /// A `previously` name that is a userName or earlier name of another user.
    PreviouslyClash,
    /// A role the provider does not know and the files do not declare.
    UnknownRole,
    /// A malformed `max_deactivations`.
    MaxDeactivations,
    /// A malformed `max_removals`.
    MaxRemovals,
    /// A `protected` user that the files do not define.
    ProtectedUndefined,
    /// A `protected` user that the files mark `active: false`.
    ProtectedInactive,
    /// Files that disagree on a setting only one may give (`provider`, `policy`).
    ConflictingFiles,
    /// A file that is not a desired-state file at all (a token, a key, a `.env` file):
    /// reported without a single byte of its content.
    NotRosterFile,
    /// A date that is not a day written `YYYY-MM-DD` (no such day, a time, a time zone).
    InvalidDate,
    /// An `expires` further ahead of the as-of day than `policy.max_access_days` allows.
    AccessTooLong,
    /// A multi-target problem: a malformed target, an app, per-target attribute or group
    /// `target` that names no target, a member without the group's app.
    Targets,
}

impl Check {
    /// The short kebab-case name of the check.
    pub fn code(self) -> &'static str {
        match self {
            Check::YamlSyntax => "yaml-syntax",
            Check::FileTooLarge => "file-too-large",
            Check::Version => "version",
            Check::UnknownKey => "unknown-key",
            Check::DuplicateKey => "duplicate-key",
            Check::WrongType => "wrong-type",
            Check::MissingKey => "missing-key",
            Check::InvalidValue => "invalid-value",
            Check::MalformedEmail => "malformed-email",
            Check::DuplicateUserName => "duplicate-username",
            Check::LookalikeUserName => "lookalike-username",
            Check::DuplicateExternalId => "duplicate-external-id",
            Check::DuplicateGroup => "duplicate-group",
            Check::DuplicateGroupExternalId => "duplicate-group-external-id",
            Check::UndefinedMember => "undefined-member",
            Check::DuplicateMember => "duplicate-member",
            Check::PreviouslyClash => "previously-clash",
            Check::UnknownRole => "unknown-role",
            Check::MaxDeactivations => "max-deactivations",
            Check::MaxRemovals => "max-removals",
            Check::ProtectedUndefined => "protected-undefined",
            Check::ProtectedInactive => "protected-inactive",
            Check::ConflictingFiles => "conflicting-files",
            Check::NotRosterFile => "not-a-roster-file",
            Check::InvalidDate => "invalid-date",
            Check::AccessTooLong => "max-access-days",
            Check::Targets => "targets",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A place in a file that a problem points at, with the lines to show around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    location: SourceLocation,
    text: String,
    /// The source lines that hold the span, sanitised for terminals.
    excerpt: String,
    /// The span within `excerpt`, in bytes.
    span: Range<usize>,
}

impl Label {
    /// Where the label points.
    pub fn location(&self) -> &SourceLocation {
        &self.location
    }

    /// What the label says about the place.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// One problem in the desired-state files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    check: Check,
    message: String,
    primary: Label,
    related: Vec<Label>,
    help: Option<String>,
}

impl Problem {
    /// The check that found the problem.
    pub fn check(&self) -> Check {
        self.check
    }

    /// What is wrong, in one line; it names the value and, for a clash, the other place.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the problem is.
    pub fn location(&self) -> &SourceLocation {
        &self.primary.location
    }

    /// Other places involved, such as the first definition of a duplicate.
    pub fn related(&self) -> &[Label] {
        &self.related
    }

    /// A hint on how to fix it, if there is one.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    fn sort_key(&self) -> (&str, usize, usize, &str) {
        let l = &self.primary.location;
        (&l.file, l.line, l.column, &self.message)
    }
}

/// Every problem found in one run over the desired-state files, sorted by file, line and
/// column. [`crate::load`] returns it when there is at least one problem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    problems: Vec<Problem>,
    /// Problems found beyond the most that a run keeps, counted only.
    n_omitted: usize,
}

impl Diagnostics {
    /// How many problems there are, those counted but not kept included.
    pub fn len(&self) -> usize {
        self.problems.len() + self.n_omitted
    }

    /// True when there is no problem.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The problems kept (at most a thousand), sorted by file, line and column.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How many problems were found beyond those kept, and only counted.
    pub fn n_omitted(&self) -> usize {
        self.n_omitted
    }

    /// The problems for a person: each with its `file:line:col` and the source lines it
    /// points at, in the style of rustc, separated by blank lines and ending with a
    /// newline. `color` adds ANSI colours; without it the text is plain and the same run
    /// after run.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let mut out = String::new();
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let title = Level::ERROR.primary_title(problem.message.as_str()).id(problem.check.code());
            let mut group = title.element(element(&problem.primary, AnnotationKind::Primary));
            for label in &problem.related {
                group = group.element(element(label, AnnotationKind::Context));
            }
            let mut report: Vec<Group<'_>> = vec![group];
            if let Some(help) = &problem.help {
                report.push(Group::with_title(Level::HELP.secondary_title(help.as_str())));
            }
            out.push_str(&renderer.render(&report));
            out.push('\n');
        }
        out
    }

    /// One GitHub Actions workflow command per problem, so that each shows on the pull
    /// request's diff: `::error file=F,line=L,col=C,title=CODE::MESSAGE`.
    pub fn github_annotations(&self) -> String {
        let mut out = String::new();
        for problem in &self.problems {
            let l = &problem.primary.location;
            let mut message = problem.message.clone();
            if let Some(help) = &problem.help {
                message.push_str("; ");
                message.push_str(help);
            }
            out.push_str(&format!(
                "::error file={},line={},col={},title={}::{}\n",
                escape_property(&l.file),
                l.line,
                l.column,
                escape_property(&format!("roster {}", problem.check.code())),
                escape_data(&message)
            ));
        }
        out
    }

    /// The first `n` problems, in order: a file with 100,000 broken entries should not
    /// print 100,000 reports.
    pub fn first(&self, n: usize) -> Diagnostics {
        Diagnostics { problems: self.problems.iter().take(n).cloned().collect(), n_omitted: 0 }
    }

    pub(crate) fn from_problems(mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        problems.dedup();
        Diagnostics { problems, n_omitted: 0 }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut files: Vec<&str> = self.problems.iter().map(|p| p.primary.location.file.as_str()).collect();
        files.dedup();
        let n = self.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        write!(f, "{n} {noun} in the desired state ({})", files.join(", "))
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("roster::invalid_desired_state"))
    }
}

/// The source lines of a label, or only its `file:line:col` for a label without them.
fn element(label: &Label, kind: AnnotationKind) -> annotate_snippets::Element<'_> {
    if label.excerpt.is_empty() {
        annotate_snippets::Origin::path(label.location.file.as_str())
            .line(label.location.line)
            .char_column(label.location.column)
            .into()
    } else {
        snippet(label, kind).into()
    }
}

fn snippet(label: &Label, kind: AnnotationKind) -> Snippet<'_, annotate_snippets::Annotation<'_>> {
    let annotation = kind.span(label.span.clone());
    let annotation = if label.text.is_empty() { annotation } else { annotation.label(label.text.as_str()) };
    Snippet::source(label.excerpt.as_str())
        .line_start(label.location.line)
        .path(label.location.file.as_str())
        .annotation(annotation)
}

/// GitHub's escaping for the data of a workflow command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub's escaping for a property of a workflow command.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The most problems one run keeps; the others are counted. A hostile file with a
/// million errors must not take a million reports' worth of memory.
pub(crate) const MAX_PROBLEMS: usize = 1_000;

/// Collects problems while the files are checked, at most [`MAX_PROBLEMS`] of them.
pub(crate) struct Sink<'s> {
    sources: &'s [crate::SourceFile],
    problems: Vec<Problem>,
    n_omitted: usize,
}

/// A position in one of the sources of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct At {
    /// Index of the file in the run's sources.
    pub file: usize,
    /// Position in that file.
    pub pos: Pos,
}

impl<'s> Sink<'s> {
    pub fn new(sources: &'s [crate::SourceFile]) -> Self {
        Sink { sources, problems: Vec::new(), n_omitted: 0 }
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    pub fn into_diagnostics(self) -> Diagnostics {
        let mut diagnostics = Diagnostics::from_problems(self.problems);
        diagnostics.n_omitted = self.n_omitted;
        diagnostics
    }

    /// The `file:line:col` of a position, as messages print it.
    pub fn location(&self, at: At) -> SourceLocation {
        SourceLocation {
            file: self.sources[at.file].name.clone(),
            line: at.pos.line as usize,
            column: at.pos.col as usize,
        }
    }

    /// Starts a problem at `at`; finish it with [`ProblemBuilder::emit`].
    pub fn problem(&mut self, check: Check, at: At, message: impl Into<String>) -> ProblemBuilder<'_, 's> {
        let primary = self.label(at, String::new());
        ProblemBuilder {
            sink: self,
            problem: Problem { check, message: message.into(), primary, related: vec![], help: None },
        }
    }

    fn label(&self, at: At, text: String) -> Label {
        let source = &self.sources[at.file];
        let (excerpt, span) = excerpt(&source.text, at.pos);
        Label { location: self.location(at), text, excerpt, span }
    }
}

/// A problem being assembled.
pub(crate) struct ProblemBuilder<'a, 's> {
    sink: &'a mut Sink<'s>,
    problem: Problem,
}

impl ProblemBuilder<'_, '_> {
    /// Text under the primary span.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.problem.primary.text = text.into();
        self
    }

    /// Another place involved, with what it is.
    pub fn related(mut self, at: At, text: impl Into<String>) -> Self {
        let label = self.sink.label(at, text.into());
        self.problem.related.push(label);
        self
    }

    /// Shows no source line, only the `file:line:col`: for a file that may hold a secret
    /// rather than a desired state, nothing of its content is echoed.
    pub fn without_source(mut self) -> Self {
        self.problem.primary.excerpt.clear();
        self.problem.primary.span = 0..0;
        self
    }

    /// A hint on how to fix it.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.problem.help = Some(text.into());
        self
    }

    pub fn emit(self) {
        if self.sink.problems.len() < MAX_PROBLEMS {
            self.sink.problems.push(self.problem);
        } else {
            self.sink.n_omitted += 1;
        }
    }
}

/// The most lines an excerpt shows for one span.
const MAX_EXCERPT_LINES: usize = 4;
/// The most bytes of a line an excerpt shows before the span and after it: a file of one
/// 30 MB line must not put 30 MB into every message.
const MAX_EXCERPT_CONTEXT: usize = 60;
/// The most bytes of a span an excerpt shows.
const MAX_EXCERPT_SPAN: usize = 160;

/// Whether a byte ends a line: YAML breaks lines at LF, CR LF and a lone CR.
fn is_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The lines of `text` that hold the span at `pos` (at most [`MAX_EXCERPT_LINES`], and of
/// a long line only [`MAX_EXCERPT_CONTEXT`] bytes either side of the span, marked `…`),
/// with line ends made plain LF and control characters replaced (so offsets stay right),
/// and the span within them. A span of zero length (a collection's start) grows to the
/// word it starts. Work and size are bounded whatever the length of the line.
fn excerpt(text: &str, pos: Pos) -> (String, Range<usize>) {
    let bytes = text.as_bytes();
    let start = floor_boundary(text, pos.start as usize);
    let mut end = floor_boundary(text, start + (pos.len as usize).min(MAX_EXCERPT_SPAN));
    if end == start {
        let limit = ceil_boundary(text, start + MAX_EXCERPT_SPAN);
        end = start
            + text[start..limit]
                .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | ']' | '}'))
                .unwrap_or(limit - start);
        if end == start {
            end = start + text[start..].chars().next().map_or(0, char::len_utf8);
        }
    }
    // A span that ends with its line break and the next line's indentation (a block
    // scalar) stops before them.
    while end > start && matches!(bytes[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let window_start = floor_boundary(text, start.saturating_sub(MAX_EXCERPT_CONTEXT));
    let from = match bytes[window_start..start].iter().rposition(|&b| is_break(b)) {
        Some(i) => window_start + i + 1,
        None => window_start,
    };
    let window_end = ceil_boundary(text, end + MAX_EXCERPT_CONTEXT);
    let mut to = match bytes[end..window_end].iter().position(|&b| is_break(b)) {
        Some(i) => end + i,
        None => window_end,
    };
    // At most a few lines of a span that covers many.
    let mut n_lines = 1;
    for (i, &b) in bytes[from..to].iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(from + i + 1) != Some(&b'\n')) {
            n_lines += 1;
            if n_lines > MAX_EXCERPT_LINES {
                to = from + i;
                break;
            }
        }
    }
    let end = end.min(to);
    let cut_before = from > 0 && !is_break(bytes[from - 1]);
    let cut_after = to < text.len() && !is_break(bytes[to]);
    let mut excerpt = String::with_capacity(to - from + 8);
    if cut_before {
        excerpt.push('…');
    }
    let offset = excerpt.len();
    // CR LF becomes " \n" and a lone CR "\n", byte for byte, so that spans stay right.
    let body = &text[from..to];
    let mut lines = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\r' if chars.peek().is_some_and(|&(_, next)| next == '\n') => lines.push(' '),
            '\r' => lines.push('\n'),
            c => lines.push(c),
        }
    }
    excerpt.push_str(&sanitize(&lines));
    if cut_after {
        excerpt.push('…');
    }
    let span_start = offset + (start - from).min(to - from);
    let span_end = offset + (end - from).max(start - from).min(to - from);
    (excerpt, span_start..span_end)
}

/// Replaces control characters (other than tab and newline) with `?` bytes, so that a
/// hostile file cannot send escape sequences to a terminal through an excerpt.
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' && c != '\n' {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// The most characters of a value that a message quotes; a longer value is cut, so that
/// a hostile file of one 30 MB line gives short messages.
pub(crate) const MAX_QUOTED_CHARS: usize = 80;

/// A value quoted for a message: in backticks, what cannot be seen (control and invisible
/// characters, surrounding spaces) escaped as code points, and cut after
/// [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn quote(value: &str) -> String {
    let (shown, cut) = truncate(value, MAX_QUOTED_CHARS);
    let mut out = String::with_capacity(shown.len() + 2);
    out.push('`');
    out.push_str(&roster_model::identity::visible(shown));
    if cut > 0 {
        out.push_str(&format!("…` ({cut} more characters)"));
    } else {
        out.push('`');
    }
    out
}

/// The first `max` characters of a value, and how many characters were left out.
pub(crate) fn truncate(value: &str, max: usize) -> (&str, usize) {
    match value.char_indices().nth(max) {
        None => (value, 0),
        Some((end, _)) => (&value[..end], value[end..].chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_the_line_and_the_span_within_it() {
        let text = "a: 1\nkey: value\nz: 2\n";
        let (excerpt, span) = excerpt(text, Pos { line: 2, col: 6, start: 10, len: 5 });
        assert_eq!(excerpt, "key: value");
        assert_eq!(&excerpt[span], "value");
    }

    #[test]
    fn empty_span_grows_to_the_word() {
        let text = "users:\n  - displayName: Ada\n";
        let (excerpt, span) = excerpt(text, Pos { line: 2, col: 5, start: 11, len: 0 });
        assert_eq!(&excerpt[span], "displayName");
    }

    #[test]
    fn control_characters_do_not_reach_the_terminal() {
        let text = "a: \"\u{1b}[31mred\"\n";
        let (excerpt, _) = excerpt(text, Pos { line: 1, col: 4, start: 3, len: 13 });
        assert!(!excerpt.contains('\u{1b}'));
        assert_eq!(excerpt.len(), text.len() - 1);
        assert_eq!(quote("a\u{1b}b"), "`a\\u{1b}b`");
    }

    #[test]
    fn github_escaping() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("dir,a:b.yaml"), "dir%2Ca%3Ab.yaml");
    }
}
