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
    /// Two users with the same userName, compared case-insensitively.
    DuplicateUserName,
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
}

impl Diagnostics {
    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    /// True when there is no problem.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems, sorted by file, line and column.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
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
            let mut group = title.element(snippet(&problem.primary, AnnotationKind::Primary));
            for label in &problem.related {
                group = group.element(snippet(label, AnnotationKind::Context));
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
        Diagnostics { problems: self.problems.iter().take(n).cloned().collect() }
    }

    pub(crate) fn from_problems(mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        problems.dedup();
        Diagnostics { problems }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut files: Vec<&str> = self.problems.iter().map(|p| p.primary.location.file.as_str()).collect();
        files.dedup();
        let n = self.problems.len();
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

/// Collects problems while the files are checked.
pub(crate) struct Sink<'s> {
    sources: &'s [crate::SourceFile],
    problems: Vec<Problem>,
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
        Sink { sources, problems: Vec::new() }
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    pub fn into_diagnostics(self) -> Diagnostics {
        Diagnostics::from_problems(self.problems)
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

    /// A hint on how to fix it.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.problem.help = Some(text.into());
        self
    }

    pub fn emit(self) {
        self.sink.problems.push(self.problem);
    }
}

/// The most lines an excerpt shows for one span.
const MAX_EXCERPT_LINES: usize = 4;

/// The whole lines of `text` that hold the span at `pos`, with control characters
/// replaced (byte for byte, so offsets stay right), and the span within them. A span of
/// zero length (a collection's start) grows to the word it starts.
fn excerpt(text: &str, pos: Pos) -> (String, Range<usize>) {
    let start = (pos.start as usize).min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let mut end = (start + pos.len as usize).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end == start {
        end = start
            + text[start..]
                .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | ']' | '}'))
                .unwrap_or(text.len() - start);
        if end == start {
            end = start + text[start..].chars().next().map_or(0, char::len_utf8);
        }
    }
    let mut line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    if end > start && text[start..end].ends_with('\n') {
        line_end = end - 1;
    }
    let lines: Vec<&str> = text[line_start..line_end].split('\n').collect();
    let shown = if lines.len() > MAX_EXCERPT_LINES { &lines[..MAX_EXCERPT_LINES] } else { &lines[..] };
    let excerpt = shown.join("\n");
    let span_end = (end - line_start).min(excerpt.len());
    let span = (start - line_start).min(span_end)..span_end;
    (sanitize(&excerpt), span)
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

/// A value quoted for a message: in backticks, with control characters escaped.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('`');
    for c in value.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
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
