//! A YAML document as a tree of values that each know where they were written.
//!
//! serde stops at the first error it meets, but `roster validate` must report every
//! problem of a run at once. So the file is parsed into this loose tree, which accepts
//! any well-formed YAML, and the `check` module walks it, checking structure and types
//! itself and collecting every problem it finds.
//!
//! The tree is built from the events of serde-saphyr's parser (`granit-parser`,
//! re-exported as `serde_saphyr::granit_parser`) rather than through serde: the serde
//! layer would stop at the first wrong type, and costs about three times the parse
//! itself on a 100,000-user file. Building the tree here also puts every limit against
//! hostile input in one place (see [`limits`]).
//!
//! Plain scalars borrow from the source text and a position is four `u32`s, so the tree
//! of a 100,000-user file stays small.

use std::borrow::Cow;

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle, ScanError, Span, Tag};

/// The limits that keep hostile input cheap. A legitimate file of 100,000 users with
/// 2,000 groups (about 23 MB, 2.2 million nodes) stays well inside every one of them.
pub(crate) mod limits {
    /// The largest file accepted, checked before parsing: a 50 MiB file is refused
    /// without being read.
    pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
    /// Nodes (scalars and collections) per file, counting the copies aliases make.
    pub const MAX_NODES: usize = 6_000_000;
    /// Nodes that aliases may copy, in total per file: what stops an alias bomb
    /// ("billion laughs") before it allocates anything large.
    pub const MAX_ALIAS_NODES: usize = 100_000;
    /// Nested block collections: the format needs five levels.
    pub const MAX_BLOCK_NESTING: usize = 32;
    /// Nested flow collections (`[..]`, `{..}`).
    pub const MAX_FLOW_NESTING: usize = 32;
}

/// Where a node was written: one-based line and column, and its bytes in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos {
    /// One-based line.
    pub line: u32,
    /// One-based column, in characters.
    pub col: u32,
    /// Byte offset of the node's first byte in the file.
    pub start: u32,
    /// Byte length of the node's text (zero for a collection's start).
    pub len: u32,
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Pos {
    fn from_span(span: &Span) -> Self {
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start).max(start);
        Pos {
            line: clamp(span.start.line()),
            col: clamp(span.start.col() + 1),
            start: clamp(start),
            len: clamp(end - start),
        }
    }

    fn from_marker(marker: &granit_parser::Marker) -> Self {
        Pos {
            line: clamp(marker.line()),
            col: clamp(marker.col() + 1),
            start: clamp(marker.byte_offset().unwrap_or(0)),
            len: 0,
        }
    }
}

/// A value with its position.
#[derive(Clone, Debug)]
pub(crate) struct Node<'a> {
    /// Where the value was written (for an alias: where the alias was used).
    pub pos: Pos,
    /// The value.
    pub value: Value<'a>,
}

/// A YAML value, typed by the YAML 1.2 core schema (so `yes` and `no` are strings).
#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer; `i128` holds every integer a YAML file may plausibly carry.
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A mapping, in file order, keys included (they may repeat: the checks report it).
    Map(Vec<(Node<'a>, Node<'a>)>),
}

impl Value<'_> {
    /// What kind of value this is, for messages: "a string", "a mapping", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a file could not be parsed into a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What went wrong, lower-case, no trailing period.
    pub message: String,
}

impl ParseError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        ParseError { pos, message: message.into() }
    }

    fn from_scan(error: &ScanError) -> Self {
        let info = error.info();
        let message =
            if info.is_empty() { "invalid YAML".to_owned() } else { format!("invalid YAML: {info}") };
        ParseError::at(Pos::from_marker(error.marker()), message)
    }
}

/// Parses one YAML document. `Ok(None)` for a stream with no document (an empty file or
/// one with only comments).
pub(crate) fn parse(text: &str) -> Result<Option<Node<'_>>, ParseError> {
    if text.len() > limits::MAX_FILE_BYTES {
        return Err(ParseError::at(Pos { line: 1, col: 1, start: 0, len: 0 }, too_large_message(text.len())));
    }
    let mut options = granit_parser::Options::default();
    options.block_nesting_limit = limits::MAX_BLOCK_NESTING;
    options.flow_nesting_limit = limits::MAX_FLOW_NESTING;
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    Builder::default().run(parser)
}

/// The message for a file over [`limits::MAX_FILE_BYTES`].
pub(crate) fn too_large_message(n_bytes: usize) -> String {
    format!(
        "file is {}, larger than the {} limit; split the users across several files",
        human_size(n_bytes as u64),
        human_size(limits::MAX_FILE_BYTES as u64)
    )
}

/// A size in bytes for a message: `50.0 MiB`, `312 bytes`.
pub(crate) fn human_size(n_bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n_bytes >= MIB {
        let tenths = n_bytes * 10 / MIB;
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    } else {
        format!("{n_bytes} bytes")
    }
}

/// An open collection while the tree is being built.
enum Frame<'a> {
    Seq { pos: Pos, anchor: usize, items: Vec<Node<'a>> },
    Map { pos: Pos, anchor: usize, entries: Vec<(Node<'a>, Node<'a>)>, key: Option<Node<'a>> },
}

#[derive(Default)]
struct Builder<'a> {
    stack: Vec<Frame<'a>>,
    /// Anchored nodes by anchor id, with their node counts, for aliases to copy.
    anchors: Vec<Option<(Node<'a>, usize)>>,
    n_nodes: usize,
    n_alias_nodes: usize,
    root: Option<Node<'a>>,
    n_documents: usize,
}

impl<'a> Builder<'a> {
    fn run(
        mut self,
        parser: Parser<'a, granit_parser::StrInput<'a>>,
    ) -> Result<Option<Node<'a>>, ParseError> {
        for item in parser {
            let (event, span) = item.map_err(|e| ParseError::from_scan(&e))?;
            let pos = Pos::from_span(&span);
            match event {
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
                Event::DocumentStart(..) => {
                    self.n_documents += 1;
                    if self.n_documents > 1 {
                        return Err(ParseError::at(
                            pos,
                            "a second YAML document (`---`); put each desired state in its own file",
                        ));
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let value = resolve_scalar(text, style, tag.as_deref(), pos)?;
                    self.count(pos, 1)?;
                    self.finish(Node { pos, value }, anchor, 1)?;
                }
                Event::SequenceStart(_, anchor, tag) => {
                    check_collection_tag(tag.as_deref(), "seq", pos)?;
                    self.count(pos, 1)?;
                    self.stack.push(Frame::Seq { pos, anchor, items: Vec::new() });
                }
                Event::MappingStart(_, anchor, tag) => {
                    check_collection_tag(tag.as_deref(), "map", pos)?;
                    self.count(pos, 1)?;
                    self.stack.push(Frame::Map { pos, anchor, entries: Vec::new(), key: None });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (node, anchor) = match self.stack.pop() {
                        Some(Frame::Seq { pos, anchor, items }) => {
                            (Node { pos, value: Value::Seq(items) }, anchor)
                        }
                        Some(Frame::Map { pos, anchor, entries, .. }) => {
                            (Node { pos, value: Value::Map(entries) }, anchor)
                        }
                        None => return Err(ParseError::at(pos, "invalid YAML: unbalanced collection end")),
                    };
                    let size = if anchor == 0 { 0 } else { count_nodes(&node) };
                    self.finish(node, anchor, size)?;
                }
                Event::Alias(id) => {
                    let Some(Some((anchored, size))) = self.anchors.get(id) else {
                        return Err(ParseError::at(
                            pos,
                            "alias refers to an anchor that is not complete yet (a recursive alias)",
                        ));
                    };
                    let (anchored, size) = (anchored.clone(), *size);
                    self.n_alias_nodes += size;
                    if self.n_alias_nodes > limits::MAX_ALIAS_NODES {
                        return Err(ParseError::at(
                            pos,
                            format!(
                                "aliases expand to more than {} nodes; refusing a possible alias bomb",
                                limits::MAX_ALIAS_NODES
                            ),
                        ));
                    }
                    self.count(pos, size)?;
                    let mut node = anchored;
                    node.pos = pos;
                    self.finish(node, 0, size)?;
                }
                // Anchor metadata and unresolved aliases are off by default, and comments
                // are not emitted; anything else is an event this builder does not know.
                _ => return Err(ParseError::at(pos, "unsupported YAML construct")),
            }
        }
        Ok(self.root)
    }

    fn count(&mut self, pos: Pos, n: usize) -> Result<(), ParseError> {
        self.n_nodes += n;
        if self.n_nodes > limits::MAX_NODES {
            return Err(ParseError::at(
                pos,
                format!("file has more than {} YAML nodes; split it into several files", limits::MAX_NODES),
            ));
        }
        Ok(())
    }

    /// Places a complete node into its parent (or as the root) and remembers it when
    /// it carries an anchor.
    fn finish(&mut self, node: Node<'a>, anchor: usize, size: usize) -> Result<(), ParseError> {
        if anchor != 0 {
            if self.anchors.len() <= anchor {
                self.anchors.resize(anchor + 1, None);
            }
            self.anchors[anchor] = Some((node.clone(), size.max(1)));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

fn count_nodes(node: &Node<'_>) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries.iter().map(|(k, v)| count_nodes(k) + count_nodes(v)).sum::<usize>()
        }
        _ => 1,
    }
}

fn core_tag<'t>(tag: Option<&'t Tag>, pos: Pos) -> Result<Option<&'t str>, ParseError> {
    match tag {
        None => Ok(None),
        Some(tag) => match tag.core_suffix() {
            Some(suffix) => Ok(Some(suffix)),
            None if tag.handle() == "!" && tag.suffix().is_empty() => Ok(Some("str")),
            None => Err(ParseError::at(pos, format!("unsupported YAML tag `{}`", tag.original()))),
        },
    }
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str, pos: Pos) -> Result<(), ParseError> {
    match core_tag(tag, pos)? {
        None => Ok(()),
        Some(suffix) if suffix == kind => Ok(()),
        Some(suffix) => Err(ParseError::at(pos, format!("YAML tag `!!{suffix}` does not fit a collection"))),
    }
}

/// Types a scalar as the YAML 1.2 core schema does: plain scalars may be null, booleans
/// or numbers; quoted and block scalars are strings; core tags force a type.
fn resolve_scalar<'a>(
    text: Cow<'a, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Value<'a>, ParseError> {
    match core_tag(tag, pos)? {
        None if style == ScalarStyle::Plain => Ok(resolve_plain(text)),
        None | Some("str") => Ok(Value::Str(text)),
        Some("null") => Ok(Value::Null),
        Some(suffix) => match (suffix, resolve_plain(Cow::Borrowed(&text))) {
            ("bool", v @ Value::Bool(_)) | ("int", v @ Value::Int(_)) | ("float", v @ Value::Float(_)) => {
                Ok(v.into_owned())
            }
            ("float", Value::Int(n)) => Ok(Value::Float(n as f64)),
            _ => Err(ParseError::at(pos, format!("`{text}` is not a valid `!!{suffix}`"))),
        },
    }
}

impl Value<'_> {
    fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(n) => Value::Int(n),
            Value::Float(x) => Value::Float(x),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Seq(_) | Value::Map(_) => Value::Null,
        }
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
pub(crate) fn resolve_plain(text: Cow<'_, str>) -> Value<'_> {
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::Str(text);
    }
    if let Some(n) = parse_core_int(&text) {
        return Value::Int(n);
    }
    if is_core_float(&text) {
        if let Ok(x) = text.parse::<f64>() {
            return Value::Float(x);
        }
    }
    Value::Str(text)
}

fn parse_core_int(text: &str) -> Option<i128> {
    let digits_in = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = text.strip_prefix("0x") {
        return digits_in(hex, 16).then(|| i128::from_str_radix(hex, 16).ok()).flatten();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return digits_in(oct, 8).then(|| i128::from_str_radix(oct, 8).ok()).flatten();
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits_in(unsigned, 10) {
        return None;
    }
    text.parse::<i128>().ok()
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
            all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node<'_> {
        parse(text).unwrap().unwrap()
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let cases: &[(&str, &str)] = &[
            ("0012", "an integer"),
            ("-3", "an integer"),
            ("0x1F", "an integer"),
            ("1.5", "a number"),
            ("1e3", "a number"),
            (".inf", "a number"),
            ("yes", "a string"),
            ("no", "a string"),
            ("true", "a boolean"),
            ("~", "null"),
            ("null", "null"),
            ("1_000", "a string"),
            ("20%", "a string"),
            ("0o17", "an integer"),
            ("1.2.3", "a string"),
            ("+", "a string"),
            (".", "a string"),
        ];
        for (text, kind) in cases {
            assert_eq!(resolve_plain(Cow::Borrowed(text)).kind(), *kind, "{text}");
        }
    }

    #[test]
    fn quoted_and_tagged_scalars() {
        let node = root("a: \"0012\"\nb: !!str 12\nc: !!int \"7\"\nd: 'yes'\ne: |\n  text\n");
        let Value::Map(entries) = node.value else { panic!("not a map") };
        let kinds: Vec<_> = entries.iter().map(|(_, v)| v.value.kind()).collect();
        assert_eq!(kinds, ["a string", "a string", "an integer", "a string", "a string"]);
    }

    #[test]
    fn positions_are_one_based_with_byte_spans() {
        let text = "users:\n  - userName: ada@example.com\n";
        let node = root(text);
        let Value::Map(entries) = &node.value else { panic!("not a map") };
        let Value::Seq(users) = &entries[0].1.value else { panic!("not a seq") };
        let Value::Map(user) = &users[0].value else { panic!("not a map") };
        let value = &user[0].1;
        assert_eq!((value.pos.line, value.pos.col), (2, 15));
        assert_eq!(&text[value.pos.start as usize..][..value.pos.len as usize], "ada@example.com");
        assert_eq!((users[0].pos.line, users[0].pos.col), (2, 5));
    }

    #[test]
    fn aliases_copy_the_anchored_node_at_the_alias_position() {
        let node = root("a: &x [1, 2]\nb: *x\n");
        let Value::Map(entries) = &node.value else { panic!("not a map") };
        let Value::Seq(items) = &entries[1].1.value else { panic!("alias not expanded") };
        assert_eq!(items.len(), 2);
        assert_eq!(entries[1].1.pos.line, 2);
    }

    #[test]
    fn empty_and_comment_only_files_have_no_document() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# nothing here\n").unwrap().is_none());
    }

    #[test]
    fn second_document_is_refused() {
        let error = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(error.pos.line, 2);
        assert!(error.message.contains("second YAML document"), "{}", error.message);
    }

    #[test]
    fn syntax_error_has_a_position() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.message.starts_with("invalid YAML"), "{}", error.message);
        assert!(error.pos.line >= 1);
    }

    #[test]
    fn unknown_tag_is_refused() {
        let error = parse("a: !secret x\n").unwrap_err();
        assert!(error.message.contains("unsupported YAML tag"), "{}", error.message);
    }

    #[test]
    fn recursive_alias_is_refused() {
        assert!(parse("a: &x [*x]\n").is_err());
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("alias bomb"), "{}", error.message);
    }

    #[test]
    fn deep_flow_nesting_is_refused() {
        let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let error = parse(&text).unwrap_err();
        assert!(error.message.starts_with("invalid YAML"), "{}", error.message);
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        // Nested block mappings need growing indentation, so 1,000 levels already make
        // half a megabyte; 10,000 levels are tested with block sequences below.
        let mut text = String::new();
        for depth in 0..1_000 {
            text.push_str(&" ".repeat(depth));
            text.push_str("k:\n");
        }
        let error = parse(&text).unwrap_err();
        assert!(error.message.starts_with("invalid YAML"), "{}", error.message);
        let text = format!("{}x\n", "- ".repeat(10_000));
        let error = parse(&text).unwrap_err();
        assert!(error.message.starts_with("invalid YAML"), "{}", error.message);
    }

    #[test]
    fn oversized_text_is_refused_before_parsing() {
        let text = "#".repeat(50 * 1024 * 1024);
        let error = parse(&text).unwrap_err();
        assert_eq!(
            error.message,
            "file is 50.0 MiB, larger than the 32.0 MiB limit; split the users across several files"
        );
    }
}
