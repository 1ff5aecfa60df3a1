//! SCIM filters (RFC 7644 section 3.4.2.2) and attribute paths, parsed and evaluated on
//! resources held as JSON.
//!
//! This is the server's own implementation, written independently of `roster-scim`, so
//! that the client and the emulator never share a misunderstanding of the grammar.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::error::ScimError;

/// The core schemas whose URN may prefix an attribute name and then means nothing more.
pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension; it lives under its URN as a top-level key.
pub(crate) const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An attribute path as a list of keys from the resource root, e.g. `name.givenName` is
/// `["name", "givenName"]` and an enterprise attribute is `[<urn>, "employeeNumber"]`.
/// Keys compare case-insensitively, as attribute names do in SCIM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AttrPath {
    pub(crate) segments: Vec<String>,
}

impl AttrPath {
    /// Parses `attr`, `attr.sub` or either behind a schema URN.
    pub(crate) fn parse(text: &str) -> Result<Self, ScimError> {
        let text = text.trim();
        let invalid = || ScimError::invalid_value(format!("invalid attribute path {text:?}"));
        if text.is_empty() {
            return Err(invalid());
        }
        let (urn, rest) = split_urn(text);
        let mut segments = Vec::new();
        if let Some(urn) = urn {
            segments.push(urn.to_owned());
        }
        if let Some(rest) = rest {
            for segment in rest.split('.') {
                if segment.is_empty()
                    || !segment.chars().all(|c| c.is_ascii_alphanumeric() || "_-$".contains(c))
                {
                    return Err(invalid());
                }
                segments.push(segment.to_owned());
            }
        }
        if segments.is_empty() {
            return Err(invalid());
        }
        Ok(Self { segments })
    }

    /// Whether string comparisons on this attribute are case-sensitive: identifiers and
    /// references are, names and emails are not (RFC 7643 `caseExact`).
    pub(crate) fn case_exact(&self) -> bool {
        let last = self.segments.last().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
        let first = self.segments[0].to_ascii_lowercase();
        matches!(first.as_str(), "id" | "externalid" | "meta")
            || last == "$ref"
            || (first == "members" && last == "value")
    }

    /// The values at this path in `node`, multi-valued attributes flattened.
    pub(crate) fn values<'a>(&self, node: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![node];
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                match value {
                    Value::Object(map) => {
                        if let Some(found) = get_ci(map, segment) {
                            push_flat(&mut next, found);
                        }
                    }
                    Value::Array(items) => {
                        for item in items {
                            if let Value::Object(map) = item
                                && let Some(found) = get_ci(map, segment)
                            {
                                push_flat(&mut next, found);
                            }
                        }
                    }
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    /// The path as written in messages.
    pub(crate) fn display(&self) -> String {
        let mut out = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push(if self.segments[0].starts_with("urn:") && i == 1 { ':' } else { '.' });
            }
            out.push_str(segment);
        }
        out
    }
}

fn push_flat<'a>(out: &mut Vec<&'a Value>, value: &'a Value) {
    match value {
        Value::Array(items) => out.extend(items.iter()),
        Value::Null => {}
        other => out.push(other),
    }
}

/// Splits a schema URN off an attribute path: the core URNs vanish, an extension URN
/// becomes the first key. Returns the URN key (if any) and the dotted rest (if any).
fn split_urn(text: &str) -> (Option<&str>, Option<&str>) {
    if !text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return (None, Some(text));
    }
    for core in [USER_SCHEMA, GROUP_SCHEMA] {
        if text.len() > core.len() + 1
            && text[..core.len()].eq_ignore_ascii_case(core)
            && text.as_bytes()[core.len()] == b':'
        {
            return (None, Some(&text[core.len() + 1..]));
        }
    }
    if text.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
        return (Some(text), None);
    }
    // Attribute names hold no colon, so the URN ends at the last one.
    match text.rfind(':') {
        Some(i) if i + 1 < text.len() => (Some(&text[..i]), Some(&text[i + 1..])),
        _ => (Some(text), None),
    }
}

/// Finds a key case-insensitively.
pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The key as the map spells it, if present in any case.
pub(crate) fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    /// `attr op value`.
    Compare { path: AttrPath, op: CompareOp, value: Value },
    /// `attr pr`.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some value of a multi-valued attribute matches the inner filter.
    ValuePath { path: AttrPath, filter: Box<Filter> },
}

impl Filter {
    /// Parses a whole filter expression.
    pub(crate) fn parse(text: &str) -> Result<Self, ScimError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, pos: 0, text };
        let filter = parser.parse_or()?;
        if parser.pos != parser.tokens.len() {
            return Err(parser.error("unexpected text after the end of the expression"));
        }
        Ok(filter)
    }

    /// Whether `node` (a resource, or an element of a multi-valued attribute) matches.
    pub(crate) fn matches(&self, node: &Value) -> bool {
        match self {
            Filter::Compare { path, op, value } => {
                let found = path.values(node);
                let case_exact = path.case_exact();
                match op {
                    CompareOp::Ne => !found.iter().any(|v| compare(v, CompareOp::Eq, value, case_exact)),
                    _ => found.iter().any(|v| compare(v, *op, value, case_exact)),
                }
            }
            Filter::Present(path) => path.values(node).iter().any(|v| match v {
                Value::String(s) => !s.is_empty(),
                Value::Object(m) => !m.is_empty(),
                _ => true,
            }),
            Filter::And(a, b) => a.matches(node) && b.matches(node),
            Filter::Or(a, b) => a.matches(node) || b.matches(node),
            Filter::Not(a) => !a.matches(node),
            Filter::ValuePath { path, filter } => path.values(node).iter().any(|v| filter.matches(v)),
        }
    }

    /// For a filter made only of `eq` comparisons on plain sub-attributes joined by
    /// `and`, the element those comparisons describe: `type eq "work"` gives
    /// `{"type": "work"}`. PATCH uses it to create the element a value path names.
    pub(crate) fn equality_template(&self) -> Option<Map<String, Value>> {
        match self {
            Filter::Compare { path, op: CompareOp::Eq, value } if path.segments.len() == 1 => {
                let mut map = Map::new();
                map.insert(path.segments[0].clone(), value.clone());
                Some(map)
            }
            Filter::And(a, b) => {
                let mut map = a.equality_template()?;
                map.extend(b.equality_template()?);
                Some(map)
            }
            _ => None,
        }
    }
}

/// Compares one attribute value with a filter literal.
fn compare(actual: &Value, op: CompareOp, literal: &Value, case_exact: bool) -> bool {
    match (actual, literal) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) =
                if case_exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else { return false };
            let ordering = a.partial_cmp(&b);
            match op {
                CompareOp::Eq => ordering == Some(Ordering::Equal),
                CompareOp::Ne => ordering != Some(Ordering::Equal),
                CompareOp::Gt => ordering == Some(Ordering::Greater),
                CompareOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
                CompareOp::Lt => ordering == Some(Ordering::Less),
                CompareOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
            }
        }
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        // Some clients send booleans as strings ("True"); compare them as booleans.
        (Value::Bool(a), Value::String(b)) => match (op, parse_bool(b)) {
            (CompareOp::Eq, Some(b)) => *a == b,
            (CompareOp::Ne, Some(b)) => *a != b,
            _ => false,
        },
        (Value::Null, Value::Null) => op == CompareOp::Eq,
        _ => op == CompareOp::Ne,
    }
}

/// `"true"`/`"false"` in any case, as Entra ID sends booleans.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string: find its end, honouring escapes, and let serde decode it.
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| {
                    ScimError::bad_request("invalidFilter", format!("unterminated string in filter {text:?}"))
                })?;
                let decoded: String = serde_json::from_str(&text[start..=end]).map_err(|_| {
                    ScimError::bad_request(
                        "invalidFilter",
                        format!("invalid string {} in filter", &text[start..=end]),
                    )
                })?;
                tokens.push(Token::Str(decoded));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || "()[]\"".contains(c) {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_owned()));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> ScimError {
        ScimError::bad_request("invalidFilter", format!("{what} in filter {:?}", self.text))
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), ScimError> {
        if self.tokens.get(self.pos) == Some(&token) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    fn parse_or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.parse_and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.parse_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.parse_unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.parse_unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Filter, ScimError> {
        if self.peek_word("not") && self.tokens.get(self.pos + 1) == Some(&Token::Open) {
            self.pos += 2;
            let inner = self.parse_or()?;
            self.expect(Token::Close, "')'")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.parse_or()?;
                self.expect(Token::Close, "')'")?;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                self.pos += 1;
                let path =
                    AttrPath::parse(&word).map_err(|_| self.error(&format!("invalid attribute {word:?}")))?;
                if self.tokens.get(self.pos) == Some(&Token::OpenBracket) {
                    self.pos += 1;
                    let inner = self.parse_or()?;
                    self.expect(Token::CloseBracket, "']'")?;
                    return Ok(Filter::ValuePath { path, filter: Box::new(inner) });
                }
                let Some(Token::Word(op)) = self.tokens.get(self.pos).cloned() else {
                    return Err(self.error(&format!("expected an operator after {word:?}")));
                };
                self.pos += 1;
                let op = match op.to_ascii_lowercase().as_str() {
                    "pr" => return Ok(Filter::Present(path)),
                    "eq" => CompareOp::Eq,
                    "ne" => CompareOp::Ne,
                    "co" => CompareOp::Co,
                    "sw" => CompareOp::Sw,
                    "ew" => CompareOp::Ew,
                    "gt" => CompareOp::Gt,
                    "ge" => CompareOp::Ge,
                    "lt" => CompareOp::Lt,
                    "le" => CompareOp::Le,
                    _ => return Err(self.error(&format!("unknown operator {op:?}"))),
                };
                let value = match self.tokens.get(self.pos).cloned() {
                    Some(Token::Str(s)) => Value::String(s),
                    Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => serde_json::from_str::<serde_json::Number>(&w)
                            .map(Value::Number)
                            .map_err(|_| self.error(&format!("invalid value {w:?}")))?,
                    },
                    _ => return Err(self.error(&format!("expected a value after {word:?}"))),
                };
                self.pos += 1;
                Ok(Filter::Compare { path, op, value })
            }
            _ => Err(self.error("expected an attribute")),
        }
    }
}

/// A PATCH target (RFC 7644 section 3.5.2): `attrPath`, `attrPath[filter]` or
/// `attrPath[filter].subAttr`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PatchPath {
    /// The attribute; with a filter, the multi-valued attribute the filter selects in.
    pub(crate) attr: AttrPath,
    /// The value filter, if any.
    pub(crate) filter: Option<Filter>,
    /// The sub-attribute after the filter, if any.
    pub(crate) sub: Option<String>,
}

impl PatchPath {
    /// Parses a PATCH `path`.
    pub(crate) fn parse(text: &str) -> Result<Self, ScimError> {
        let invalid = || ScimError::bad_request("invalidPath", format!("invalid path {text:?}"));
        let Some(open) = text.find('[') else {
            let attr = AttrPath::parse(text).map_err(|_| invalid())?;
            return Ok(Self { attr, filter: None, sub: None });
        };
        // Find the bracket that closes the filter, skipping brackets inside strings.
        let mut close = None;
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in text[open + 1..].char_indices() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            } else if c == ']' {
                close = Some(open + 1 + i);
                break;
            }
        }
        let close = close.ok_or_else(invalid)?;
        let attr = AttrPath::parse(&text[..open]).map_err(|_| invalid())?;
        let filter = Filter::parse(&text[open + 1..close])?;
        let rest = &text[close + 1..];
        let sub = if rest.is_empty() {
            None
        } else {
            let sub = rest.strip_prefix('.').ok_or_else(invalid)?;
            if sub.is_empty() || !sub.chars().all(|c| c.is_ascii_alphanumeric() || "_-$".contains(c)) {
                return Err(invalid());
            }
            Some(sub.to_owned())
        };
        Ok(Self { attr, filter: Some(filter), sub })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_and_matches_case_insensitive_user_name() {
        let filter = Filter::parse(r#"userName eq "Ada@Example.com""#).unwrap();
        assert!(filter.matches(&json!({"userName": "ada@example.COM"})));
        assert!(!filter.matches(&json!({"userName": "bob@example.com"})));
    }

    #[test]
    fn external_id_and_id_are_case_exact() {
        let filter = Filter::parse(r#"externalId eq "00uA""#).unwrap();
        assert!(filter.matches(&json!({"externalId": "00uA"})));
        assert!(!filter.matches(&json!({"externalId": "00ua"})));
        let filter = Filter::parse(r#"id eq "X1""#).unwrap();
        assert!(!filter.matches(&json!({"id": "x1"})));
    }

    #[test]
    fn and_or_not_parentheses_and_precedence() {
        let node = json!({"userName": "a", "title": "t", "active": true});
        let f = |text: &str| Filter::parse(text).unwrap().matches(&node);
        assert!(f(r#"userName eq "a" and active eq true"#));
        assert!(!f(r#"userName eq "b" and active eq true"#));
        assert!(f(r#"userName eq "b" or title eq "t""#));
        // `and` binds tighter than `or`.
        assert!(f(r#"userName eq "a" or userName eq "b" and title eq "x""#));
        assert!(!f(r#"(userName eq "a" or userName eq "b") and title eq "x""#));
        assert!(f(r#"not (userName eq "b")"#));
        assert!(f("title pr"));
        assert!(!f("displayName pr"));
    }

    #[test]
    fn strings_decode_json_escapes() {
        let filter = Filter::parse(r#"userName eq "o\"brien\\x@é.example""#).unwrap();
        assert!(filter.matches(&json!({"userName": "o\"brien\\x@é.example"})));
    }

    #[test]
    fn value_paths_and_sub_attributes() {
        let node = json!({"emails": [{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x"}]});
        assert!(Filter::parse(r#"emails[type eq "work" and value co "w"]"#).unwrap().matches(&node));
        assert!(!Filter::parse(r#"emails[type eq "other"]"#).unwrap().matches(&node));
        assert!(Filter::parse(r#"emails.value eq "h@x""#).unwrap().matches(&node));
        assert!(
            Filter::parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails.value eq "h@x""#)
                .unwrap()
                .matches(&node)
        );
    }

    #[test]
    fn extension_paths_key_by_urn() {
        let path =
            AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
                .unwrap();
        assert_eq!(path.segments, vec![ENTERPRISE_USER_SCHEMA.to_owned(), "employeeNumber".to_owned()]);
        let whole = AttrPath::parse(ENTERPRISE_USER_SCHEMA).unwrap();
        assert_eq!(whole.segments, vec![ENTERPRISE_USER_SCHEMA.to_owned()]);
    }

    #[test]
    fn malformed_filters_are_invalid_filter_errors() {
        for text in [
            "userName eq",
            r#"userName xx "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a"#,
            "",
            "eq eq eq eq",
        ] {
            let err = Filter::parse(text).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidFilter"), "{text}");
        }
    }

    #[test]
    fn patch_paths() {
        let p = PatchPath::parse(r#"roles[primary eq true].value"#).unwrap();
        assert_eq!(p.attr.segments, vec!["roles"]);
        assert_eq!(p.sub.as_deref(), Some("value"));
        let p = PatchPath::parse(r#"members[value eq "a]b"]"#).unwrap();
        assert!(p.filter.unwrap().matches(&json!({"value": "a]b"})));
        assert!(p.sub.is_none());
        assert!(PatchPath::parse("name.givenName").unwrap().filter.is_none());
        assert!(PatchPath::parse("emails[type eq \"work\"]x").is_err());
    }

    #[test]
    fn equality_template_of_a_conjunction() {
        let f = Filter::parse(r#"type eq "work" and primary eq true"#).unwrap();
        assert_eq!(Value::Object(f.equality_template().unwrap()), json!({"type": "work", "primary": true}));
        assert!(Filter::parse(r#"type ne "work""#).unwrap().equality_template().is_none());
    }
}
