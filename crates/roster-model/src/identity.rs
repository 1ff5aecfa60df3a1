//! One identity key for people: the canonical form of a userName, and the checks and
//! comparisons built on it.
//!
//! Everywhere roster compares two people (validation of the file, matching against the
//! live state, `protected`, group members, the emulator's uniqueness rule) it compares
//! [`UserKey`]s, never raw strings:
//!
//! - the part before the last `@` is put in Unicode NFC, fully case-folded (Unicode's
//!   `CaseFolding.txt` with its multi-character foldings, so `STRASSE` and `straße` are
//!   one key, which plain lower-casing misses) and put in NFC again;
//! - the domain is put in its IDNA ASCII form (UTS #46: mapped, NFC, lower-case,
//!   Punycode), so `bücher.de`, `BÜCHER.DE` and `xn--bcher-kva.de` are one domain.
//!
//! Names that differ by more than that yet look the same to a person (a Cyrillic `а`
//! for a Latin `a`, a trailing space, a zero-width space) have different keys but the
//! same [`Lookalike`]. The file refuses them ([`UserKey::parse`] and the twin check of
//! roster-spec), and the planner raises them as identity conflicts when they come from
//! the service: acting on either name could deactivate the wrong person.
//!
//! The crates used are the Unicode Consortium's own ICU4X (`icu_normalizer`,
//! `icu_casemap`, `icu_properties`), `idna` (the URL crate's UTS #46) and `unicode-security`
//! (UTS #39 confusable skeletons and mixed-script detection).

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup, WhiteSpace};
use icu_properties::{CodePointMapData, CodePointSetData};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_security::MixedScript;

/// The identity key of a userName: see the [module documentation](self).
///
/// Built only by [`UserKey::new`] (any string, for live data, which must always get a
/// key) or [`UserKey::parse`] (a userName from a file, refused when it could be mistaken
/// for another).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct UserKey(String);

impl UserKey {
    /// The key of any userName. It never fails: a name from the service must get a key
    /// whatever it holds, so that it can be compared and, if need be, reported.
    pub fn new(user_name: &str) -> Self {
        Self(canonical(user_name).into_owned())
    }

    /// The key of a userName written in a file, which must name one person unmistakably:
    /// no whitespace, control or invisible characters, an `@`, a domain that does not end
    /// with a dot, is valid IDNA and mixes no scripts within a label.
    pub fn parse(user_name: &str) -> Result<Self, KeyError> {
        check_user_name(user_name)?;
        Ok(Self::new(user_name))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form that names which look alike share: see [`Lookalike`].
    pub fn lookalike(&self) -> Lookalike {
        Lookalike::of(&self.0)
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of a userName as a string, borrowed when the name is its own key (lower-case
/// ASCII, the common case), so that tables of 100,000 users allocate little. Always equal
/// to `UserKey::new(user_name).as_str()`.
pub fn canonical(user_name: &str) -> Cow<'_, str> {
    if user_name.is_ascii() {
        // ASCII folds to ASCII lower case, NFC leaves it alone and UTS #46 maps only
        // upper-case letters among ASCII characters, so this is the whole computation.
        return if user_name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(user_name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(user_name)
        };
    }
    let Some((local, domain)) = user_name.rsplit_once('@') else {
        return Cow::Owned(fold(user_name));
    };
    let domain = match idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::EMPTY) {
        Ok(ascii) => ascii.into_owned(),
        Err(_) => fold(domain),
    };
    Cow::Owned(format!("{}@{domain}", fold(local)))
}

/// The text in Unicode NFC (composed accents), borrowed when it is already.
pub fn nfc(text: &str) -> Cow<'_, str> {
    ComposingNormalizerBorrowed::new_nfc().normalize(text)
}

/// NFC, full case folding, NFC: the canonical caseless form of Unicode's definition D145.
fn fold(text: &str) -> String {
    let nfc = ComposingNormalizerBorrowed::new_nfc();
    let folded = CaseMapper::new().fold_string(&nfc.normalize(text)).into_owned();
    nfc.normalize(&folded).into_owned()
}

/// The form that userNames which look alike share: the key's Unicode text (Punycode
/// decoded), without whitespace, control or invisible characters, with every non-ASCII
/// character replaced by its UTS #39 confusable prototype and case-folded again.
///
/// ASCII characters are kept as they are, although UTS #39 maps `rn` to `m` and `cl` to
/// `d`: `clara@` and `dara@` are two real people, and no one types one for the other.
/// The threat is a character from another script, or an invisible one, standing in for
/// the letter a reader expects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lookalike(String);

impl Lookalike {
    /// The lookalike form of any string (a userName or a key).
    pub fn of(user_name: &str) -> Self {
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_graphic()) && !s.contains("xn--");
        if plain(user_name) {
            return Lookalike(canonical(user_name).into_owned());
        }
        let visible: String = user_name.chars().filter(|&c| !is_invisible(c) && !is_space(c)).collect();
        let key = canonical(&visible);
        let unicode = match key.rsplit_once('@') {
            Some((local, domain)) if domain.contains("xn--") => {
                format!("{local}@{}", idna::domain_to_unicode(domain).0)
            }
            _ => key.into_owned(),
        };
        let mut prototype = String::with_capacity(unicode.len());
        let mut buffer = [0u8; 4];
        for c in unicode.chars() {
            if c.is_ascii() {
                prototype.push(c);
            } else {
                prototype.extend(unicode_security::skeleton(c.encode_utf8(&mut buffer)));
            }
        }
        Lookalike(fold(&prototype))
    }

    /// The form as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a userName written in a file is refused as an identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Nothing at all.
    Empty,
    /// A whitespace character, at the edges or inside.
    Whitespace {
        /// The character.
        found: char,
        /// Whether it is at the start or end.
        surrounding: bool,
    },
    /// A control character, such as a newline from a block scalar.
    Control(char),
    /// A character that is not displayed (zero-width space, joiner, soft hyphen,
    /// direction marks).
    Invisible(char),
    /// No `@`.
    NoAt,
    /// The domain ends with a dot (`example.com.`), which names the same host yet
    /// another userName.
    TrailingDot,
    /// The domain is not a valid internationalised domain name.
    InvalidDomain(String),
    /// A label of the domain mixes scripts, as `exаmple` with a Cyrillic `а` does.
    MixedScriptDomain(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => f.write_str("it is empty"),
            KeyError::Whitespace { found, surrounding: true } => {
                write!(f, "it starts or ends with whitespace ({})", code_point(*found))
            }
            KeyError::Whitespace { found, surrounding: false } => {
                write!(f, "it contains whitespace ({})", code_point(*found))
            }
            KeyError::Control(c) => write!(f, "it contains a control character ({})", code_point(*c)),
            KeyError::Invisible(c) => write!(f, "it contains an invisible character ({})", code_point(*c)),
            KeyError::NoAt => f.write_str("it has no `@`"),
            KeyError::TrailingDot => f.write_str("the domain ends with a dot"),
            KeyError::InvalidDomain(domain) => {
                write!(f, "the domain `{}` is not a valid internationalised domain name", escaped(domain))
            }
            KeyError::MixedScriptDomain(label) => write!(
                f,
                "the domain label `{}` mixes scripts ({}), a way to imitate another domain",
                label,
                escaped(label)
            ),
        }
    }
}

impl std::error::Error for KeyError {}

/// The identity checks of [`UserKey::parse`].
fn check_user_name(user_name: &str) -> Result<(), KeyError> {
    if user_name.is_empty() {
        return Err(KeyError::Empty);
    }
    let last = user_name.chars().count() - 1;
    for (i, c) in user_name.chars().enumerate() {
        if is_space(c) {
            return Err(KeyError::Whitespace { found: c, surrounding: i == 0 || i == last });
        }
        if c.is_control() {
            return Err(KeyError::Control(c));
        }
        if is_invisible(c) {
            return Err(KeyError::Invisible(c));
        }
    }
    let Some((_, domain)) = user_name.rsplit_once('@') else {
        return Err(KeyError::NoAt);
    };
    if domain.ends_with('.') || domain.ends_with('\u{3002}') || domain.ends_with('\u{ff0e}') {
        return Err(KeyError::TrailingDot);
    }
    if domain.is_ascii() && !domain.contains("xn--") {
        return Ok(());
    }
    if idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3).is_err() {
        return Err(KeyError::InvalidDomain(domain.to_owned()));
    }
    let (unicode, _) = idna::domain_to_unicode(domain);
    for label in unicode.split('.') {
        if !label.is_single_script() {
            return Err(KeyError::MixedScriptDomain(label.to_owned()));
        }
    }
    Ok(())
}

/// Whitespace by Unicode's `White_Space` property (also NBSP, ideographic space, line
/// separators).
fn is_space(c: char) -> bool {
    CodePointSetData::new::<WhiteSpace>().contains(c)
}

/// Characters that are not displayed: Unicode's default-ignorable code points (zero-width
/// space and joiners, soft hyphen, direction marks, variation selectors) and the other
/// format characters (the byte-order mark among them).
fn is_invisible(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// True for a character a reader cannot see as itself: a control or invisible character,
/// or whitespace other than the ASCII space.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_invisible(c) || (c != ' ' && is_space(c))
}

fn is_mark(c: char) -> bool {
    GeneralCategoryGroup::Mark.contains(CodePointMapData::<GeneralCategory>::new().get(c))
}

/// `U+0020`, for messages.
fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// A string with what a reader cannot see made visible as `\u{..}` escapes: control,
/// invisible and whitespace characters other than an inner ASCII space, and combining
/// marks when the string is not in NFC (a decomposed `é` looks like a composed one).
/// Everything else, accented and non-Latin letters included, is kept as written.
pub fn visible(text: &str) -> Cow<'_, str> {
    let decomposed = !ComposingNormalizerBorrowed::new_nfc().is_normalized(text);
    let last = text.chars().count().saturating_sub(1);
    let hidden =
        |i: usize, c: char| is_hidden(c) || (c == ' ' && (i == 0 || i == last)) || (decomposed && is_mark(c));
    if text.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
    {
        return Cow::Borrowed(text);
    }
    if !text.chars().enumerate().any(|(i, c)| hidden(i, c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        if hidden(i, c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A string with every character outside printable ASCII as a `\u{..}` escape, so that
/// two names that look alike show how they differ: `\u{430}da@example.com`.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if text.bytes().all(|b| b.is_ascii_graphic()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// The name of a group (a team) reduced for comparison: surrounding whitespace trimmed,
/// NFC and full case folding, so that `Product`, ` product ` and `PRODUCT` are one team.
pub fn group_key(display_name: &str) -> Cow<'_, str> {
    let trimmed = display_name.trim_matches(is_space);
    if trimmed.is_ascii() {
        if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(trimmed.to_ascii_lowercase())
        } else {
            Cow::Borrowed(trimmed)
        }
    } else {
        Cow::Owned(fold(trimmed))
    }
}

/// Why a single-line text attribute (displayName, title, a name part, a team name, an
/// externalId) is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextError {
    /// Empty, or only whitespace.
    Blank,
    /// A line break, such as the one a `|` block scalar ends with.
    LineBreak,
    /// A control character, other than a line break.
    Control(char),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Blank => f.write_str("it is blank"),
            TextError::LineBreak => {
                f.write_str("it holds a line break (a `|` or `>` block keeps its last one)")
            }
            TextError::Control(c) => write!(f, "it contains a control character ({})", code_point(*c)),
        }
    }
}

impl std::error::Error for TextError {}

/// Checks a single-line text attribute: not blank, no line break, no control character.
pub fn check_single_line(text: &str) -> Result<(), TextError> {
    if text.chars().all(is_space) {
        return Err(TextError::Blank);
    }
    if let Some(c) = text.chars().find(|&c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Err(if matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            TextError::LineBreak
        } else {
            TextError::Control(c)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> String {
        UserKey::new(name).as_str().to_owned()
    }

    #[test]
    fn keys_fold_case_fully_and_normalise() {
        assert_eq!(key("Ada@Example.COM"), "ada@example.com");
        // Full case folding: ß and ẞ fold to ss, which lower-casing does not do.
        assert_eq!(key("STRASSE@example.com"), key("straße@example.com"));
        assert_eq!(key("STRAẞE@example.com"), key("strasse@example.com"));
        // Final sigma, Cherokee and Turkish dotted capital I fold as CaseFolding.txt says.
        assert_eq!(key("ΟΔΟΣ@example.gr"), key("οδος@example.gr"));
        assert_eq!(key("ΟΔΟΣ@example.gr"), key("οδοσ@example.gr"));
        // NFC: a decomposed é is the composed one.
        assert_eq!(key("jose\u{301}@example.com"), key("josé@example.com"));
        // NFD after folding is put back into NFC.
        assert_eq!(key("JOSE\u{301}@example.com"), "josé@example.com");
    }

    #[test]
    fn domains_take_their_idna_ascii_form() {
        assert_eq!(key("ada@bücher.de"), "ada@xn--bcher-kva.de");
        assert_eq!(key("ada@BÜCHER.DE"), "ada@xn--bcher-kva.de");
        assert_eq!(key("ada@xn--bcher-kva.de"), "ada@xn--bcher-kva.de");
        assert_eq!(key("ada@bu\u{308}cher.de"), "ada@xn--bcher-kva.de");
        // A domain that is no valid IDN still gets a key.
        assert_eq!(key("ada@ex ample.com"), "ada@ex ample.com");
        assert_eq!(key("no-at-all"), "no-at-all");
    }

    #[test]
    fn the_fast_path_agrees_with_the_whole_computation() {
        for name in [
            "ada@example.com",
            "Ada@Example.COM",
            "o'brien+pm@eu.example.com",
            "a@xn--bcher-kva.de",
            "a@XN--BCHER-KVA.DE",
            "a@xn--invalid-.de",
            "a@example.com.",
            "a@exa_mple.com",
            "@",
            "",
            "a b@c d",
        ] {
            let (local, domain) = name.rsplit_once('@').unwrap_or((name, ""));
            let slow = match name.rsplit_once('@') {
                None => fold(name),
                Some(_) => {
                    let domain = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::EMPTY)
                        .map(Cow::into_owned)
                        .unwrap_or_else(|_| fold(domain));
                    format!("{}@{domain}", fold(local))
                }
            };
            assert_eq!(canonical(name), slow, "{name:?}");
        }
        assert!(matches!(canonical("ada@example.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn real_addresses_parse() {
        for name in [
            "ada@example.com",
            "o'brien+pm@eu.example.com",
            "josé@exämple.de",
            "ada@bücher.de",
            "ivan@пример.рф",
            "ivan@пример.com",
            "taro@例え.jp",
            "ada@xn--bcher-kva.de",
        ] {
            assert_eq!(UserKey::parse(name).map(|_| ()), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_that_could_be_mistaken_are_refused() {
        let cases = [
            ("", KeyError::Empty),
            (" ada@example.com", KeyError::Whitespace { found: ' ', surrounding: true }),
            ("ada@example.com ", KeyError::Whitespace { found: ' ', surrounding: true }),
            ("ada@example.com\u{a0}", KeyError::Whitespace { found: '\u{a0}', surrounding: true }),
            ("a da@example.com", KeyError::Whitespace { found: ' ', surrounding: false }),
            ("ada@example.com\n", KeyError::Whitespace { found: '\n', surrounding: true }),
            ("a\u{7}da@example.com", KeyError::Control('\u{7}')),
            ("a\u{200b}da@example.com", KeyError::Invisible('\u{200b}')),
            ("a\u{ad}da@example.com", KeyError::Invisible('\u{ad}')),
            ("\u{feff}ada@example.com", KeyError::Invisible('\u{feff}')),
            ("ada@example\u{202e}.com", KeyError::Invisible('\u{202e}')),
            ("ada.example.com", KeyError::NoAt),
            ("ada@example.com.", KeyError::TrailingDot),
            ("ada@exаmple.com", KeyError::MixedScriptDomain("exаmple".into())),
        ];
        for (name, error) in cases {
            assert_eq!(UserKey::parse(name), Err(error), "{name:?}");
        }
        let punycode = UserKey::new("ada@ex\u{430}mple.com");
        assert!(matches!(UserKey::parse(punycode.as_str()), Err(KeyError::MixedScriptDomain(_))));
    }

    #[test]
    fn lookalikes_share_a_form() {
        let same = |a: &str, b: &str| Lookalike::of(a) == Lookalike::of(b);
        assert!(same("ada@example.com", "\u{430}da@example.com"), "Cyrillic a");
        assert!(same("ada@example.com", "ada@example.com "), "trailing space");
        assert!(same("ada@example.com", "a\u{200b}da@example.com"), "zero-width space");
        assert!(same("ada@example.com", "ＡＤＡ@example.com"), "full-width letters");
        assert!(same("ada@example.com", "ada@ex\u{430}mple.com"), "Cyrillic a in the domain");
        let punycode = UserKey::new("ada@ex\u{430}mple.com");
        assert!(punycode.as_str().contains("xn--"), "{punycode}");
        assert!(same("ada@example.com", punycode.as_str()), "the same, in Punycode");
        assert!(same("ada@example.com", "Ada@Example.com"));
        assert!(!same("clara@example.com", "dara@example.com"), "ASCII is taken as typed");
        assert!(!same("ada@example.com", "ada1@example.com"));
        assert_eq!(UserKey::new("ADA@example.com").lookalike(), Lookalike::of("ada@example.com"));
    }

    #[test]
    fn visible_shows_what_cannot_be_seen() {
        assert_eq!(visible("ada@example.com"), "ada@example.com");
        assert_eq!(visible("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(visible("josé@example.com"), "josé@example.com");
        assert_eq!(visible("ada@example.com "), "ada@example.com\\u{20}");
        assert_eq!(visible("a\u{200b}da"), "a\\u{200b}da");
        assert_eq!(visible("jose\u{301}"), "jose\\u{301}");
        assert_eq!(visible("ada\u{a0}x"), "ada\\u{a0}x");
        assert_eq!(visible("a\u{1b}[2J"), "a\\u{1b}[2J");
        assert_eq!(escaped("\u{430}da@example.com"), "\\u{430}da@example.com");
    }

    #[test]
    fn group_names_compare_trimmed_and_folded() {
        assert_eq!(group_key(" Product "), "product");
        assert_eq!(group_key("PRODUCT"), group_key("product"));
        assert_eq!(group_key("Straße"), group_key("STRASSE"));
    }

    #[test]
    fn single_line_text() {
        assert_eq!(check_single_line("Ada Lovelace"), Ok(()));
        assert_eq!(check_single_line("Ada\n"), Err(TextError::LineBreak));
        assert_eq!(check_single_line("  "), Err(TextError::Blank));
        assert_eq!(check_single_line(""), Err(TextError::Blank));
        assert_eq!(check_single_line("a\u{1b}b"), Err(TextError::Control('\u{1b}')));
    }
}
