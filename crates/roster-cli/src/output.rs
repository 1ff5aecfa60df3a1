//! Where output goes and how it looks: plans on stdout, everything else on stderr,
//! colour only where a person reads it.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::{ColorChoice, GlobalArgs, LogFormat};

/// Whether to colour what is written to stdout.
pub fn stdout_color(choice: ColorChoice) -> bool {
    color(choice, std::io::stdout().is_terminal())
}

/// Whether to colour what is written to stderr.
pub fn stderr_color(choice: ColorChoice) -> bool {
    color(choice, std::io::stderr().is_terminal())
}

fn color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |term| term != "dumb")
        }
    }
}

/// The text with every token of the environment replaced by `***`: the value of
/// `ROSTER_SCIM_TOKEN`, and of every variable whose name contains `TOKEN` (a
/// multi-target file names its tokens' variables, e.g. `ROSTER_TOKEN_MIRO`, and a file
/// that fails to load cannot say which). A desired-state file that holds a token (pasted
/// by mistake, or a token file named as FILES) is quoted in messages; the token must
/// not reach output or CI logs. Messages cut values after 80 characters, so a longer
/// token's first 80 go too.
pub fn redact_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    let mut redacted = std::borrow::Cow::Borrowed(text);
    for (name, value) in std::env::vars_os() {
        if !name.to_string_lossy().to_ascii_uppercase().contains("TOKEN") {
            continue;
        }
        let Some(token) = value.to_str().map(|t| t.trim().to_owned()) else { continue };
        if token.chars().count() < 8 {
            continue;
        }
        let prefix: String = token.chars().take(80).collect();
        if redacted.contains(&prefix) {
            redacted = std::borrow::Cow::Owned(redacted.replace(&token, "***").replace(&prefix, "***"));
        }
    }
    redacted
}

/// True inside GitHub Actions, where errors also become workflow annotations.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Sets up `tracing` on stderr: `-q` errors only, default warnings and progress (info),
/// `-v` debug, `-vv` trace; `RUST_LOG` wins when set.
pub fn init_logging(global: &GlobalArgs) {
    // The embedded emulator's own start-up lines are noise next to roster's unless asked for;
    // so is the TLS verifier's error line, which roster's own error repeats with a hint.
    let default_level = if global.quiet {
        "error,rustls_platform_verifier=off"
    } else {
        match global.verbose {
            0 => "info,roster_emulator=warn,rustls_platform_verifier=off",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match global.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            builder.with_ansi(stderr_color(global.color)).with_target(false).without_time().init()
        }
    }
}

/// A count with its noun, singular for one: "1 group", "2 groups".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod count_tests {
    use super::count;

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1, "group"), "1 group");
        assert_eq!(count(0, "group"), "0 groups");
        assert_eq!(count(2, "user"), "2 users");
    }
}
