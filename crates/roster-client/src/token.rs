//! The bearer token, which never shows itself.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The environment variable the token is read from.
pub const TOKEN_ENV: &str = "ROSTER_SCIM_TOKEN";

/// A SCIM bearer token. `Debug` and `Display` print `***`; the secret leaves this type
/// only as the `Authorization` header, which is marked sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// A token could not be read.
#[derive(Debug, Error)]
pub enum TokenError {
    /// The environment variable is not set.
    #[error("{var} is not set; put the SCIM token there or pass --token-file")]
    NotSet {
        /// The variable's name.
        var: &'static str,
    },
    /// The environment variable or file holds no token.
    #[error("{origin} holds no token")]
    Empty {
        /// Where the token was read from.
        origin: String,
    },
    /// The token holds characters an HTTP header cannot carry.
    #[error(
        "{origin} holds a token with characters an HTTP header cannot carry (control characters or line breaks)"
    )]
    Invalid {
        /// Where the token was read from.
        origin: String,
    },
    /// The token file could not be read.
    #[error("cannot read the token file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Token {
    /// A token from a value already in hand (tests, the emulator). Surrounding white
    /// space is removed.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into().trim().to_owned())
    }

    /// The token in `ROSTER_SCIM_TOKEN`.
    pub fn from_env() -> Result<Self, TokenError> {
        let value = std::env::var(TOKEN_ENV).map_err(|_| TokenError::NotSet { var: TOKEN_ENV })?;
        Token::checked(&value, TOKEN_ENV.to_owned())
    }

    /// The token in another environment variable (`ROSTER_API_TOKEN` for the REST API).
    pub fn from_env_var(var: &'static str) -> Result<Self, TokenError> {
        let value = std::env::var(var).map_err(|_| TokenError::NotSet { var })?;
        Token::checked(&value, var.to_owned())
    }

    /// The token in the environment variable a file names (a target's `token_env`);
    /// `None` when the variable is not set. Errors name the variable, never its value.
    pub fn from_env_named(var: &str) -> Result<Option<Self>, TokenError> {
        match std::env::var(var) {
            Ok(value) => Token::checked(&value, var.to_owned()).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::Invalid { origin: var.to_owned() }),
        }
    }

    /// The token in a file, without its trailing newline. Errors name the file, never
    /// its content.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TokenError::Read { path: path.to_owned(), source })?;
        Token::checked(&text, format!("the token file {}", path.display()))
    }

    fn checked(text: &str, origin: String) -> Result<Self, TokenError> {
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty { origin });
        }
        if token.chars().any(char::is_control) {
            return Err(TokenError::Invalid { origin });
        }
        Ok(Token(token.to_owned()))
    }

    /// The secret, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_prints_as_stars() {
        let token = Token::new("s3cr3t-value\n");
        assert_eq!(format!("{token:?} {token}"), "*** ***");
        assert_eq!(token.expose(), "s3cr3t-value");
    }

    #[test]
    fn token_file_is_trimmed_and_errors_name_the_file_only() {
        let dir = std::env::temp_dir().join(format!("roster-token-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cr3t-value\n").unwrap();
        assert_eq!(Token::from_file(&file).unwrap().expose(), "s3cr3t-value");

        std::fs::write(&file, "s3cr3t\nvalue\n").unwrap();
        let err = Token::from_file(&file).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()) && !err.contains("s3cr3t"), "{err}");

        std::fs::write(&file, "\n").unwrap();
        assert_eq!(
            Token::from_file(&file).unwrap_err().to_string(),
            format!("the token file {} holds no token", file.display())
        );

        let missing = dir.join("missing");
        let err = Token::from_file(&missing).unwrap_err();
        assert!(err.to_string().starts_with(&format!("cannot read the token file {}", missing.display())));
        assert!(std::error::Error::source(&err).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
