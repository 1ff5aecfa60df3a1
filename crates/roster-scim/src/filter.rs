//! SCIM filters and URL encoding.
//!
//! A filter value is a JSON string literal (RFC 7644 §3.4.2.2), so it is escaped the
//! JSON way: `userName eq "o\"brien@example.com"`. The whole query is then
//! percent-encoded, so that nothing in a value can end the parameter early.

/// The attributes roster filters on; a closed set, so a filter is always well formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterAttribute {
    /// `userName`.
    UserName,
    /// `externalId`.
    ExternalId,
    /// `displayName`.
    DisplayName,
}

impl FilterAttribute {
    /// The attribute's name as SCIM spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterAttribute::UserName => "userName",
            FilterAttribute::ExternalId => "externalId",
            FilterAttribute::DisplayName => "displayName",
        }
    }
}

/// The JSON string literal of a value, with its quotes: `a"b` becomes `"a\"b"`.
pub fn quote_value(value: &str) -> String {
    // serde_json escapes `"`, `\` and every control character, and cannot fail on a str.
    serde_json::to_string(value).unwrap_or_default()
}

/// The filter `attribute eq "value"`.
pub fn eq_filter(attribute: FilterAttribute, value: &str) -> String {
    format!("{} eq {}", attribute.as_str(), quote_value(value))
}

/// Percent-encodes a query component: everything but RFC 3986 unreserved characters.
/// A space becomes `%20`, never `+`, which some services do not decode.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds `k1=v1&k2=v2` with both sides encoded, in the order given.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_escaped_the_json_way() {
        assert_eq!(eq_filter(FilterAttribute::UserName, "a\"b"), r#"userName eq "a\"b""#);
        assert_eq!(eq_filter(FilterAttribute::UserName, r"a\b"), r#"userName eq "a\\b""#);
        assert_eq!(eq_filter(FilterAttribute::ExternalId, "a\nb\u{1}"), r#"externalId eq "a\nb\u0001""#);
        assert_eq!(eq_filter(FilterAttribute::DisplayName, "Zoë's team"), r#"displayName eq "Zoë's team""#);
        assert_eq!(
            eq_filter(FilterAttribute::UserName, "o'brien+pm@eu.example.com"),
            r#"userName eq "o'brien+pm@eu.example.com""#
        );
    }

    #[test]
    fn queries_are_percent_encoded() {
        let filter = eq_filter(FilterAttribute::UserName, "zoë\"&x=1");
        assert_eq!(
            encode_query(&[("filter", &filter)]),
            "filter=userName%20eq%20%22zo%C3%AB%5C%22%26x%3D1%22"
        );
        assert_eq!(encode_component("a+b c"), "a%2Bb%20c");
        assert_eq!(encode_component("az-AZ_09.~"), "az-AZ_09.~");
    }
}
