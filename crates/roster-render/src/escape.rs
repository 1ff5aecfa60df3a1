//! Escaping of user-controlled strings for terminals and for GitHub Markdown.

use std::borrow::Cow;
use std::fmt::Write as _;

use roster_model::identity;

/// True for characters that must not reach a terminal raw: control characters (ESC
/// starts colour and cursor sequences), the bidirectional controls that can make text
/// read differently from what it is, and every other character a reader cannot see
/// (zero-width spaces, non-ASCII whitespace), so that two names that differ only there
/// show the difference.
fn is_unsafe_on_terminal(c: char) -> bool {
    identity::is_hidden(c)
}

/// A string made safe for a terminal: what cannot be seen (see [`identity::visible`]:
/// control and invisible characters, surrounding spaces, decomposed accents) becomes
/// `\u{..}` escapes.
pub(crate) fn terminal(s: &str) -> Cow<'_, str> {
    identity::visible(s)
}

/// A string in double quotes for a terminal, with `"` and `\` escaped as well.
pub(crate) fn quoted(s: &str) -> String {
    format!("\"{}\"", quoted_inner(s))
}

/// The inside of [`quoted`], for strings shown in pieces.
pub(crate) fn quoted_inner(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_unsafe_on_terminal(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes one character for Markdown that GitHub renders: HTML, Markdown punctuation
/// and table pipes become numeric entities, line breaks and controls become spaces or
/// escapes. Entities are decoded for display, so the reader sees the original text.
fn push_markdown_char(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        '|' | '`' | '\\' | '*' | '_' | '[' | ']' | '~' | '#' | '$' | '@' | ':' => {
            let _ = write!(out, "&#{};", c as u32);
        }
        '\n' | '\r' | '\t' => out.push(' '),
        c if is_unsafe_on_terminal(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// A user-controlled string as inline code in Markdown. Inside `<code>`, GitHub does not
/// turn `@name` into a mention, `#1` into a reference or `:x:` into an emoji, and the
/// entity escaping keeps HTML and Markdown inert.
pub(crate) fn code(s: &str) -> String {
    if s.is_empty() {
        return "<code>\"\"</code>".to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str("<code>");
    for c in identity::visible(s).chars() {
        push_markdown_char(&mut out, c);
    }
    out.push_str("</code>");
    out
}

/// A sentence that may quote user-controlled strings (a warning, a blocker), as Markdown
/// text. Besides the escaping of [`code`], a zero-width space follows an `@` or `#` that
/// could start a mention or a reference, since GitHub links those in decoded text.
pub(crate) fn prose(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut previous: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        push_markdown_char(&mut out, c);
        let starts_link = matches!(c, '@' | '#')
            && !previous.is_some_and(char::is_alphanumeric)
            && chars.peek().is_some_and(|next| next.is_alphanumeric());
        if starts_link {
            out.push('\u{200b}');
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_escape_sequences_and_bidi_controls() {
        assert_eq!(terminal("Ada\u{1b}[2J"), "Ada\\u{1b}[2J");
        assert_eq!(terminal("a\u{202e}b"), "a\\u{202e}b");
        assert!(matches!(terminal("plain"), Cow::Borrowed("plain")));
        assert_eq!(terminal("ada@example.com "), "ada@example.com\\u{20}");
        assert_eq!(terminal("bob\u{200b}@example.com"), "bob\\u{200b}@example.com");
        assert_eq!(terminal("jose\u{301}@example.com"), "jose\\u{301}@example.com");
        assert_eq!(code("a\u{200b}b"), "<code>a&#92;u{200b}b</code>");
        assert_eq!(quoted("say \"hi\"\n"), "\"say \\\"hi\\\"\\u{a}\"");
    }

    #[test]
    fn code_keeps_html_and_markdown_inert() {
        assert_eq!(code("<img src=x>"), "<code>&lt;img src=x&gt;</code>");
        assert_eq!(code("a|b`c"), "<code>a&#124;b&#96;c</code>");
        assert_eq!(code(""), "<code>\"\"</code>");
    }

    #[test]
    fn prose_breaks_mentions_but_not_emails() {
        assert_eq!(prose("team @org/admins"), "team &#64;\u{200b}org/admins");
        assert_eq!(prose("ada@example.com"), "ada&#64;example.com");
        assert_eq!(prose("see #12"), "see &#35;\u{200b}12");
    }
}
