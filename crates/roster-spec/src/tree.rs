//! A YAML document as a tree of values that each know where they were written.
//!
//! serde stops at the first error it meets, but `roster validate` must report every
//! problem of a run at once. So the file is parsed into this loose tree, which accepts
//! any well-formed YAML, and the `check` module walks it, checking structure and types
//! itself and collecting every problem it finds.
//!
//! The tree is built from the events of serde-saphyr's parser (`granit-parser`,
//! re-exported as `serde_saphyr::granit_parser`) rather than through serde: the serde
//! layer would stop at the first wrong type, and makes a 100,000-user file about two and
//! a half times slower to read. Building the tree here also puts every limit against
//! hostile input in one place (see [`limits`]).
//!
//! Plain scalars borrow from the source text and a position is four `u32`s, so the tree
//! of a 100,000-user file stays small.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle, ScanError, Span, Tag};

/// The limits that keep hostile input cheap. A legitimate file of 100,000 users with
/// 2,000 groups (about 23 MB, 2.2 million nodes) stays well inside every one of them.
pub(crate) mod limits {
    /// The largest file accepted, checked before parsing: a 50 MiB file is refused
    /// without being read.
    pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
    /// Nodes (scalars and collections) per file, counting the copies aliases make. A
    /// 100,000-user file with every attribute set has about 2.7 million, and a 30 MB file
    /// of userNames only about 2.6 million; a node takes 40 bytes, so the tree of 3.4
    /// million takes about 140 MB, which keeps a hostile file under 200 MB in all.
    pub const MAX_NODES: usize = 3_400_000;
    /// Nodes that anchors and aliases may copy, in total per file: what stops an alias
    /// bomb ("billion laughs") and nested anchors before they allocate anything large.
    /// An anchor keeps a copy of its node for later aliases, so it counts here whether
    /// or not any alias uses it.
    pub const MAX_ALIAS_NODES: usize = 100_000;
    /// Mappings per file: a user is one or two (its `name`), so a file of 200,000 users
    /// fits; a flood of tiny mappings, each an allocation, stops here.
    pub const MAX_MAPPINGS: usize = 500_000;
    /// Users in one file: a legitimate file of 100,000 users is 23 MB. Each user entry
    /// costs about a kilobyte to check, so this bounds the memory of a file of many tiny
    /// entries.
    pub const MAX_USERS: usize = 200_000;
    /// Groups in one file.
    pub const MAX_GROUPS: usize = 50_000;
    /// Targets (apps) of a multi-target file: the checks and planning scale with them.
    pub const MAX_TARGETS: usize = 100;
    /// Names listed in one file (members, previous names, protected users), in total.
    pub const MAX_NAMES: usize = 1_000_000;
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
    /// An integer. Integers beyond `i64` are kept as [`Value::Float`]: no key of the
    /// format takes one, and an `i64` keeps every node of the tree at 40 bytes (an
    /// `i128` would align it to 48), which matters when a file holds millions of them.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A sequence. Collections are boxed slices rather than vectors: one word less, so
    /// that a node takes 40 bytes, not 48.
    Seq(Box<[Node<'a>]>),
    /// A mapping, in file order, keys included (they may repeat: the checks report it).
    Map(Box<[(Node<'a>, Node<'a>)]>),
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
///
/// A large file is parsed in pieces on several threads when its `users` list can be cut
/// at item boundaries (see [`split_plan`]); the result is the same tree, and any doubt
/// (a piece that fails, or an unexpected shape) falls back to one sequential parse, whose
/// errors are the ones reported.
pub(crate) fn parse(text: &str) -> Result<Option<Node<'_>>, ParseError> {
    parse_with_max_nodes(text, limits::MAX_NODES)
}

/// [`parse`] with another node limit, so that tests can reach it cheaply.
fn parse_with_max_nodes(text: &str, max_nodes: usize) -> Result<Option<Node<'_>>, ParseError> {
    if text.len() > limits::MAX_FILE_BYTES {
        return Err(ParseError::at(Pos { line: 1, col: 1, start: 0, len: 0 }, too_large_message(text.len())));
    }
    let n_threads = std::thread::available_parallelism().map_or(1, usize::from).min(MAX_THREADS);
    if text.len() >= PARALLEL_MIN_BYTES
        && n_threads > 1
        && let Some(plan) = split_plan(text, n_threads)
        && let Some(root) = parse_in_pieces(text, &plan, max_nodes)
    {
        return Ok(Some(root));
    }
    parse_piece(text, Offset::default(), &Budget::new(max_nodes)).map_err(|error| at_the_tab(text, error))
}

/// A parser error about a tab points at the scalar or indentation it was reading, which
/// may start lines earlier (a plain scalar goes on over lines): move it to the tab.
fn at_the_tab(text: &str, mut error: ParseError) -> ParseError {
    if !error.message.contains("tab") {
        return error;
    }
    let start = (error.pos.start as usize).min(text.len());
    let Some(found) = text[start..].find('\t') else { return error };
    let before = &text[start..start + found];
    let n_breaks =
        before.matches('\n').count() + before.matches('\r').count() - before.matches("\r\n").count();
    if n_breaks > 0 {
        let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        error.pos.line = error.pos.line.saturating_add(clamp(n_breaks));
        error.pos.col = clamp(before[line_start..].chars().count() + 1);
    } else {
        error.pos.col = error.pos.col.saturating_add(clamp(before.chars().count()));
    }
    error.pos.start = clamp(start + found);
    error.pos.len = 1;
    error
}

/// Files smaller than this are parsed on one thread: splitting would not pay.
const PARALLEL_MIN_BYTES: usize = 2 * 1024 * 1024;
/// The most threads one file is parsed on.
const MAX_THREADS: usize = 4;

/// Where a piece of a file starts: lines and bytes before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Offset {
    lines: u32,
    bytes: u32,
}

/// The node counters of one file, shared by the pieces parsed in parallel.
struct Budget {
    max_nodes: usize,
    n_nodes: AtomicUsize,
    n_alias_nodes: AtomicUsize,
    n_mappings: AtomicUsize,
}

impl Budget {
    fn new(max_nodes: usize) -> Self {
        Budget {
            max_nodes,
            n_nodes: AtomicUsize::new(0),
            n_alias_nodes: AtomicUsize::new(0),
            n_mappings: AtomicUsize::new(0),
        }
    }
}

/// How to cut a file into pieces that parse on their own: `boundaries[0]` is the start
/// of the file, the others are line starts of items of the top-level `users` block
/// sequence, then the end of that block; the text after it (the other top-level keys)
/// is the last piece.
#[derive(Debug, PartialEq, Eq)]
struct SplitPlan {
    boundaries: Vec<(usize, Offset)>,
}

/// Finds cut points in the top-level `users:` block sequence, near equal shares of the
/// file. Only plain layouts qualify: no directives or document markers, one `users:`
/// line with nothing after the colon but a comment, and items written as `- ` at one
/// indentation. A cut at such a line start is an item boundary unless a flow collection
/// or quoted scalar spans it, and then the piece before it fails to parse, which sends
/// [`parse`] back to a sequential parse.
fn split_plan(text: &str, n_pieces: usize) -> Option<SplitPlan> {
    let mut users_block: Option<(usize, Offset)> = None;
    let mut users_end: Option<(usize, Offset)> = None;
    let mut item_indent: Option<usize> = None;
    let mut items: Vec<(usize, Offset)> = Vec::new();
    let mut offset = 0usize;
    for (line_index, line) in text.split_inclusive('\n').enumerate() {
        let here = (offset, Offset { lines: clamp(line_index), bytes: clamp(offset) });
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        // A lone CR is a line break to YAML but not to this count of lines: parse
        // such a file in one piece, so that its line numbers are the parser's.
        if content.contains('\r') || line.ends_with('\r') {
            return None;
        }
        if content.starts_with('%') || content.starts_with("---") || content.starts_with("...") {
            return None;
        }
        let first = content.bytes().next();
        let top_level_key = first.is_some_and(|b| !matches!(b, b' ' | b'\t' | b'#' | b'-'));
        if top_level_key {
            let key_only = content.split(" #").next().unwrap_or("").trim_end() == "users:";
            match (key_only, users_block, users_end) {
                (true, None, _) => {
                    users_block =
                        Some((offset, Offset { lines: clamp(line_index + 1), bytes: clamp(offset) }));
                }
                (true, Some(_), _) => return None,
                (false, Some(_), None) => users_end = Some(here),
                (false, _, _) => {}
            }
            continue;
        }
        if users_block.is_none() || users_end.is_some() {
            continue;
        }
        let indent = content.len() - content.trim_start_matches(' ').len();
        let rest = &content[indent..];
        let is_item = rest == "-" || rest.starts_with("- ");
        match item_indent {
            None if rest.is_empty() || rest.starts_with('#') => {}
            None if is_item => {
                item_indent = Some(indent);
                items.push(here);
            }
            None => return None,
            Some(i) if i == indent && is_item => items.push(here),
            Some(_) => {}
        }
    }
    let users_end = users_end.unwrap_or((text.len(), Offset { lines: 0, bytes: clamp(text.len()) }));
    let mut boundaries = vec![(0, Offset::default())];
    for k in 1..n_pieces {
        let target = text.len() * k / n_pieces;
        let i = items.partition_point(|(start, _)| *start < target);
        // Never cut before the first item: the first piece must hold a `users` list.
        if let Some(&cut) = items.get(i.max(1))
            && cut.0 > boundaries.last()?.0
        {
            boundaries.push(cut);
        }
    }
    if boundaries.len() < 2 {
        return None;
    }
    let users_end_offset = if users_end.0 == text.len() {
        Offset { lines: clamp(text.split_inclusive('\n').count()), bytes: clamp(text.len()) }
    } else {
        users_end.1
    };
    boundaries.push((users_end.0, users_end_offset));
    Some(SplitPlan { boundaries })
}

/// Parses the pieces of a plan on scoped threads and joins them; `None` when anything
/// is not as the plan expects.
fn parse_in_pieces<'a>(text: &'a str, plan: &SplitPlan, max_nodes: usize) -> Option<Node<'a>> {
    let budget = Budget::new(max_nodes);
    let bounds = &plan.boundaries;
    let mut pieces: Vec<(&'a str, Offset)> =
        bounds.windows(2).map(|w| (&text[w[0].0..w[1].0], w[0].1)).collect();
    let last = bounds.last()?;
    pieces.push((&text[last.0..], last.1));
    let results: Vec<Result<Option<Node<'a>>, ParseError>> = std::thread::scope(|scope| {
        let budget = &budget;
        let handles: Vec<_> = pieces[1..]
            .iter()
            .map(|&(piece, offset)| {
                std::thread::Builder::new().spawn_scoped(scope, move || parse_piece(piece, offset, budget))
            })
            .collect();
        let mut results = vec![parse_piece(pieces[0].0, pieces[0].1, budget)];
        for (handle, &(piece, offset)) in handles.into_iter().zip(&pieces[1..]) {
            results.push(match handle {
                Ok(handle) => {
                    handle.join().unwrap_or_else(|_| Err(ParseError::at(Pos::default(), "parser panicked")))
                }
                Err(_) => parse_piece(piece, offset, budget),
            });
        }
        results
    });
    let mut results = results.into_iter();
    let mut root = results.next()?.ok()??;
    let rest = results.next_back()?.ok()?;
    {
        let Value::Map(entries) = &mut root.value else { return None };
        let (key, users) = entries.last_mut()?;
        if !matches!(&key.value, Value::Str(k) if k == "users") {
            return None;
        }
        let Value::Seq(items) = &mut users.value else { return None };
        let mut all = std::mem::take(items).into_vec();
        for piece in results {
            let Value::Seq(more) = piece.ok()??.value else { return None };
            all.extend(more);
        }
        *items = all.into_boxed_slice();
    }
    match rest {
        None => {}
        Some(Node { value: Value::Map(more), .. }) => {
            let Value::Map(entries) = &mut root.value else { return None };
            let mut all = std::mem::take(entries).into_vec();
            all.extend(more);
            *entries = all.into_boxed_slice();
        }
        Some(_) => return None,
    }
    Some(root)
}

/// Parses one document, or one piece of a file, whose first line is `offset.lines + 1`.
fn parse_piece<'a>(text: &'a str, offset: Offset, budget: &Budget) -> Result<Option<Node<'a>>, ParseError> {
    let mut options = granit_parser::Options::default();
    options.block_nesting_limit = limits::MAX_BLOCK_NESTING;
    options.flow_nesting_limit = limits::MAX_FLOW_NESTING;
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    Builder::new(offset, budget).run(parser)
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

/// An open collection while the tree is being built. Its children wait on the builder's
/// scratch stacks from index `base` on, so that each collection gets one allocation of
/// its exact size when it ends.
enum Frame<'a> {
    Seq { pos: Pos, anchor: usize, base: usize },
    Map { pos: Pos, anchor: usize, base: usize, key: Option<Node<'a>> },
}

struct Builder<'a, 'b> {
    stack: Vec<Frame<'a>>,
    /// Items of the open sequences, innermost last.
    items: Vec<Node<'a>>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<(Node<'a>, Node<'a>)>,
    /// Anchored nodes by anchor id, with their node counts, for aliases to copy.
    anchors: Vec<Option<(Node<'a>, usize)>>,
    root: Option<Node<'a>>,
    n_documents: usize,
    offset: Offset,
    budget: &'b Budget,
    /// Nodes counted here and not yet added to the shared budget.
    n_pending: usize,
}

impl<'a, 'b> Builder<'a, 'b> {
    fn new(offset: Offset, budget: &'b Budget) -> Self {
        Builder {
            stack: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            anchors: Vec::new(),
            root: None,
            n_documents: 0,
            offset,
            budget,
            n_pending: 0,
        }
    }

    fn shift(&self, mut pos: Pos) -> Pos {
        pos.line = pos.line.saturating_add(self.offset.lines);
        pos.start = pos.start.saturating_add(self.offset.bytes);
        pos
    }

    fn run(
        mut self,
        parser: Parser<'a, granit_parser::StrInput<'a>>,
    ) -> Result<Option<Node<'a>>, ParseError> {
        for item in parser {
            let (event, span) = item.map_err(|e| {
                let mut error = ParseError::from_scan(&e);
                error.pos = self.shift(error.pos);
                error
            })?;
            let pos = self.shift(Pos::from_span(&span));
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
                    self.stack.push(Frame::Seq { pos, anchor, base: self.items.len() });
                }
                Event::MappingStart(_, anchor, tag) => {
                    check_collection_tag(tag.as_deref(), "map", pos)?;
                    self.count(pos, 1)?;
                    if self.budget.n_mappings.fetch_add(1, Ordering::Relaxed) >= limits::MAX_MAPPINGS {
                        return Err(ParseError::at(
                            pos,
                            format!(
                                "file has more than {} mappings; split the users across several files",
                                limits::MAX_MAPPINGS
                            ),
                        ));
                    }
                    self.stack.push(Frame::Map { pos, anchor, base: self.entries.len(), key: None });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (node, anchor) = match self.stack.pop() {
                        Some(Frame::Seq { pos, anchor, base }) => {
                            (Node { pos, value: Value::Seq(take_from(&mut self.items, base)) }, anchor)
                        }
                        Some(Frame::Map { pos, anchor, base, .. }) => {
                            (Node { pos, value: Value::Map(take_from(&mut self.entries, base)) }, anchor)
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
                    self.copied(pos, size, "aliases expand to")?;
                    self.count(pos, size)?;
                    let mut node = anchored;
                    relocate(&mut node, pos);
                    self.finish(node, 0, size)?;
                }
                // Anchor metadata and unresolved aliases are off by default, and comments
                // are not emitted; anything else is an event this builder does not know.
                _ => return Err(ParseError::at(pos, "unsupported YAML construct")),
            }
        }
        Ok(self.root)
    }

    /// Counts nodes copied by anchors and aliases against the file's copy budget.
    fn copied(&mut self, pos: Pos, size: usize, what: &str) -> Result<(), ParseError> {
        let n_copied = self.budget.n_alias_nodes.fetch_add(size, Ordering::Relaxed) + size;
        if n_copied > limits::MAX_ALIAS_NODES {
            return Err(ParseError::at(
                pos,
                format!(
                    "{what} more than {} nodes in total; refusing a possible alias bomb",
                    limits::MAX_ALIAS_NODES
                ),
            ));
        }
        Ok(())
    }

    /// Counts nodes against the file's budget; the shared counter is updated in batches
    /// so that threads do not contend for it on every node.
    fn count(&mut self, pos: Pos, n: usize) -> Result<(), ParseError> {
        self.n_pending += n;
        if self.n_pending < 4096 {
            return Ok(());
        }
        let n_nodes = self.budget.n_nodes.fetch_add(self.n_pending, Ordering::Relaxed) + self.n_pending;
        self.n_pending = 0;
        if n_nodes > self.budget.max_nodes {
            return Err(ParseError::at(
                pos,
                format!(
                    "file has more than {} YAML nodes; split it into several files",
                    self.budget.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Places a complete node into its parent (or as the root) and remembers it when
    /// it carries an anchor.
    fn finish(&mut self, node: Node<'a>, anchor: usize, size: usize) -> Result<(), ParseError> {
        if anchor != 0 {
            // The anchored node is kept as a copy for later aliases: the copy counts
            // against the same budget as the copies aliases make, whether or not an alias
            // ever uses it, so that anchors on nested collections cannot multiply memory.
            let size = size.max(1);
            self.copied(node.pos, size, "anchors keep copies of")?;
            self.count(node.pos, size)?;
            if self.anchors.len() <= anchor {
                self.anchors.resize(anchor + 1, None);
            }
            self.anchors[anchor] = Some((node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { .. }) => push(&mut self.items, node),
            Some(Frame::Map { key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => push(&mut self.entries, (k, node)),
            },
        }
        Ok(())
    }
}

/// Pushes onto a scratch stack. Past a million entries it grows by an eighth rather
/// than doubling, so that a flood of nodes stopped by the node limit has not reserved
/// twice the memory it uses.
fn push<T>(stack: &mut Vec<T>, item: T) {
    if stack.len() == stack.capacity() && stack.capacity() >= 1 << 20 {
        stack.reserve_exact(stack.capacity() / 8);
    }
    stack.push(item);
}

/// The entries of a stack from `base` on, as a collection's exact-size slice. A large
/// tail stays in its allocation (the few entries before it are moved out instead), so
/// that a collection of millions of nodes is never held twice; a small one is copied
/// out, and the stack keeps its capacity for the next.
fn take_from<T>(stack: &mut Vec<T>, base: usize) -> Box<[T]> {
    if stack.len() - base >= 1 << 16 && base <= stack.len() / 2 {
        let mut tail = std::mem::take(stack);
        *stack = tail.drain(..base).collect();
        tail.into_boxed_slice()
    } else {
        stack.split_off(base).into_boxed_slice()
    }
}

/// Puts every node of an alias's copy where the alias is: a problem inside it (a user
/// repeated through `*ada`) is the alias's doing, and points there.
fn relocate(node: &mut Node<'_>, pos: Pos) {
    node.pos = pos;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|item| relocate(item, pos)),
        Value::Map(entries) => entries.iter_mut().for_each(|(key, value)| {
            relocate(key, pos);
            relocate(value, pos);
        }),
        _ => {}
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

fn core_tag(tag: Option<&Tag>, pos: Pos) -> Result<Option<&str>, ParseError> {
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
        return i64::try_from(n).map_or(Value::Float(n as f64), Value::Int);
    }
    if is_core_float(&text)
        && let Ok(x) = text.parse::<f64>()
    {
        return Value::Float(x);
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
    fn anchors_count_even_without_aliases() {
        // Anchors on nested collections, never used: each keeps a copy of its subtree.
        let mut text = String::new();
        let inner = format!("[{}]", "1,".repeat(20_000));
        for depth in 0..10 {
            text.push_str(&format!("{}&a{depth} ", "["));
        }
        text = format!("x: {text}{inner}{}\n", "]".repeat(10));
        let error = parse(&text).unwrap_err();
        assert!(
            error.message.starts_with("anchors keep copies of more than 100000 nodes"),
            "{}",
            error.message
        );
        // A few anchored values are fine.
        assert!(parse("a: &r maker\nb: *r\nc: &l [1, 2]\n").is_ok());
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

    /// The tree as a sequential parse builds it, for comparisons.
    fn sequential(text: &str) -> String {
        format!("{:?}", parse_piece(text, Offset::default(), &Budget::new(limits::MAX_NODES)))
    }

    /// Splits `text` into 2, 3 and 4 pieces and checks that each split parses to the same
    /// tree as a sequential parse. Returns how many splits were possible.
    fn check_pieces_match(text: &str) -> usize {
        let expected = sequential(text);
        let mut n_split = 0;
        for n in 2..=4 {
            let Some(plan) = split_plan(text, n) else { continue };
            if let Some(root) = parse_in_pieces(text, &plan, limits::MAX_NODES) {
                assert_eq!(
                    format!("{:?}", Ok::<_, ParseError>(Some(root))),
                    expected,
                    "{n} pieces of\n{text}"
                );
                n_split += 1;
            }
        }
        n_split
    }

    fn users_file(item: impl Fn(usize) -> String) -> String {
        let mut text =
            String::from("# comment\nversion: 1\npolicy:\n  users: nested key, not the list\nusers:\n");
        for i in 0..40 {
            text.push_str(&item(i));
        }
        text
    }

    #[test]
    fn pieces_parse_to_the_same_tree() {
        let plain = users_file(|i| format!("  - userName: u{i}@example.com\n    title: T{i}\n"));
        let with_groups =
            format!("{plain}groups:\n- displayName: g\n  members: [u1@example.com]\nprovider: generic\n");
        let indentless = users_file(|i| format!("- userName: u{i}@example.com\n  role: maker\n"));
        let crlf = plain.replace('\n', "\r\n");
        let tricky = users_file(|i| {
            format!(
                "  # - a comment, not an item\n  - userName: u{i}@example.com\n    title: |\n      - block text {i}\n       - more\n    displayName: \"multi\n      - line {i}\"\n    previously: [\n      a{i}@example.com,\n      b{i}@example.com]\n    name:\n      - nested\n      - list\n\n"
            )
        });
        for text in [&plain, &with_groups, &indentless, &crlf, &tricky] {
            assert!(check_pieces_match(text) >= 2, "no split of\n{text}");
        }
    }

    #[test]
    fn pieces_that_need_each_other_fall_back_to_one_parse() {
        // An alias in a later piece refers to an anchor in the first: the piece fails
        // alone, and the sequential parse gives the right tree.
        let text = users_file(|i| {
            if i == 0 { "  - title: &t shared\n".to_owned() } else { format!("  - title: *t\n    n: {i}\n") }
        });
        let plan = split_plan(&text, 2).unwrap();
        assert!(parse_in_pieces(&text, &plan, limits::MAX_NODES).is_none());
        assert_eq!(format!("{:?}", parse(&text)), sequential(&text));
    }

    #[test]
    fn unusual_layouts_are_not_split() {
        let items = "  - userName: a@example.com\n  - userName: b@example.com\n  - userName: c@example.com\n";
        for text in [
            format!("%YAML 1.2\n---\nusers:\n{items}"),
            format!("---\nusers:\n{items}"),
            format!("users:\n{items}users:\n{items}"),
            format!("users: &u\n{items}"),
            format!("users: [a, b]\nx:\n{items}"),
            format!("users:\n  x: 1\n{items}"),
        ] {
            assert_eq!(split_plan(&text, 2), None, "{text}");
        }
    }

    #[test]
    fn a_flood_of_tiny_nodes_is_refused() {
        let text = format!("x: [{}]\n", "1,".repeat(30_000));
        let error = parse_with_max_nodes(&text, 10_000).unwrap_err();
        assert_eq!(error.message, "file has more than 10000 YAML nodes; split it into several files");
        assert!(parse_with_max_nodes(&text, 40_000).is_ok());
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
