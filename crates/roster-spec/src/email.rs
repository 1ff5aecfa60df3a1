//! Email addresses as people really have them.
//!
//! Not the whole of RFC 5322 (no quoted local parts, comments or IP-literal domains,
//! which no SCIM service accepts as a login), but everything real addresses use:
//! `o'brien+pm@eu.example.com`, internationalised letters, subdomains.

/// Checks an address; the error says what is wrong, for a message.
pub(crate) fn check_email(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("it is empty".into());
    }
    if address.chars().any(char::is_whitespace) {
        return Err("it contains whitespace".into());
    }
    if address.chars().any(char::is_control) {
        return Err("it contains a control character".into());
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err("it has no `@`".into());
    };
    if local.contains('@') {
        return Err("it has more than one `@`".into());
    }
    if local.is_empty() {
        return Err("nothing before the `@`".into());
    }
    if domain.is_empty() {
        return Err("no domain after the `@`".into());
    }
    if address.len() > 254 {
        return Err("it is longer than 254 characters".into());
    }
    check_local_part(local)?;
    check_domain(domain)
}

fn check_local_part(local: &str) -> Result<(), String> {
    if local.len() > 64 {
        return Err("the part before the `@` is longer than 64 characters".into());
    }
    if local.starts_with('.') || local.ends_with('.') {
        return Err("the part before the `@` starts or ends with a dot".into());
    }
    if local.contains("..") {
        return Err("the part before the `@` has two dots in a row".into());
    }
    if let Some(c) = local.chars().find(|&c| !(c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))) {
        return Err(format!("`{c}` is not allowed before the `@`"));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), String> {
    if !domain.contains('.') {
        return Err(format!("the domain `{domain}` has no dot"));
    }
    if domain.len() > 253 {
        return Err("the domain is longer than 253 characters".into());
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(format!("the domain `{domain}` has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!("the domain `{domain}` has a label longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the domain `{domain}` has a label that starts or ends with `-`"));
        }
        if let Some(c) = label.chars().find(|&c| !(c.is_alphanumeric() || c == '-')) {
            return Err(format!("`{c}` is not allowed in the domain"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_addresses_are_valid() {
        for address in [
            "ada@example.com",
            "o'brien+pm@eu.example.com",
            "first.last@sub.domain.example.co.uk",
            "ADA@EXAMPLE.COM",
            "user_name-1@example-corp.io",
            "josé@exämple.de",
            "a@b.co",
            "x!#$%&*/=?^`{|}~@example.com",
        ] {
            assert_eq!(check_email(address), Ok(()), "{address}");
        }
    }

    #[test]
    fn malformed_addresses_say_why() {
        let cases = [
            ("", "it is empty"),
            ("ada.example.com", "it has no `@`"),
            ("ada lovelace@example.com", "it contains whitespace"),
            ("ada@example.com\n", "it contains whitespace"),
            ("\tada@example.com", "it contains whitespace"),
            ("@example.com", "nothing before the `@`"),
            ("ada@", "no domain after the `@`"),
            ("ada@example", "the domain `example` has no dot"),
            ("ada@example..com", "the domain `example..com` has an empty label"),
            ("ada@.example.com", "the domain `.example.com` has an empty label"),
            ("ada@example.com.", "the domain `example.com.` has an empty label"),
            ("ada@b@example.com", "it has more than one `@`"),
            (".ada@example.com", "the part before the `@` starts or ends with a dot"),
            ("a..da@example.com", "the part before the `@` has two dots in a row"),
            ("ada,b@example.com", "`,` is not allowed before the `@`"),
            ("ada@exa_mple.com", "`_` is not allowed in the domain"),
            ("ada@-example.com", "the domain `-example.com` has a label that starts or ends with `-`"),
            ("ada@[127.0.0.1]", "`[` is not allowed in the domain"),
            ("a\u{7}da@example.com", "it contains a control character"),
        ];
        for (address, reason) in cases {
            assert_eq!(check_email(address), Err(reason.to_owned()), "{address:?}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(check_email(&format!("a@{}.com", "b".repeat(64))).is_err());
    }
}
