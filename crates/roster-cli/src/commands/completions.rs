//! `roster completions SHELL`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::failure::{CommandResult, Exit};

/// Prints the completion script for a shell on stdout.
pub fn run(args: &CompletionsArgs) -> CommandResult {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "roster", &mut std::io::stdout());
    Ok(Exit::Success)
}
