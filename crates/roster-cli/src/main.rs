//! `roster`: the users and groups of a SCIM 2.0 service, kept in a YAML file in git.
//!
//! This crate is the only one that prints: library crates return values and errors,
//! and log through `tracing`. Each command lives in `commands/` and returns an [`Exit`]
//! or a [`Failure`]; `main` prints failures and turns them into exit codes.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;

mod blame;
mod cli;
mod commands;
mod connection;
mod failure;
mod git;
mod output;

use cli::{Cli, Command};
use failure::Exit;

fn main() -> ExitCode {
    // clap exits 2 on a usage error, which roster's contract reserves for "changes
    // present": a mistyped flag in a drift check must not read as drift.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { Exit::Error.into() } else { Exit::Success.into() };
        }
    };
    output::init_logging(&cli.global);
    let ui = commands::Ui::new(&cli.global);
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args, &ui),
        Command::Completions(args) => commands::completions::run(&args),
        Command::Schema(args) => commands::schema::run(&args, &ui),
        command => {
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(err) => {
                    eprintln!("error: cannot start the async runtime: {err}");
                    return Exit::Error.into();
                }
            };
            runtime.block_on(commands::run_async(command, &ui))
        }
    };
    match result {
        Ok(exit) => exit.into(),
        Err(failure) => {
            if !failure.reported {
                eprintln!("{}", ui.paint_error(&failure.to_string()));
            }
            failure.exit.into()
        }
    }
}
