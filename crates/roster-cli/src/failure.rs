//! Exit codes and the one error type commands return.
//!
//! Library crates return their own `thiserror` enums; here they become a [`Failure`]
//! that knows its exit code and, where there is one, a hint a person can act on.

use std::fmt;
use std::process::ExitCode;

/// The exit codes of DESIGN.md's CLI contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; with `--detailed-exitcode`, also "no changes".
    Success = 0,
    /// An error: bad input, bad connection, a stale plan.
    Error = 1,
    /// Changes present (only with `--detailed-exitcode`).
    Changes = 2,
    /// Blocked by a safety rail.
    Blocked = 3,
    /// Apply partly failed.
    Partial = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Why a command did not succeed, ready to print.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What went wrong, lower-case, no trailing period.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Already printed in full (e.g. rendered diagnostics): print nothing more.
    pub reported: bool,
}

impl Failure {
    /// An error (exit 1).
    pub fn error(message: impl Into<String>) -> Self {
        Failure { exit: Exit::Error, message: message.into(), hint: None, reported: false }
    }

    /// An error whose details were already printed.
    pub fn reported(exit: Exit, message: impl Into<String>) -> Self {
        Failure { exit, message: message.into(), hint: None, reported: true }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An error from a library error, with its whole `source()` chain.
    pub fn from_error(context: &str, err: &(dyn std::error::Error + 'static)) -> Self {
        Failure::error(format!("{context}: {}", chain(err)))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// An error and its causes on one line, `outer: inner: innermost`, without repeats
/// (many errors include their source's text in their own).
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What every command returns.
pub type CommandResult = Result<Exit, Failure>;
