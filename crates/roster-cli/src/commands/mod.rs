//! One module per command; each returns an [`crate::failure::Exit`] or a
//! [`crate::failure::Failure`].

pub mod apply;
pub mod audit;
pub mod completions;
pub mod demo;
pub mod doctor;
pub mod emulator;
pub mod export;
pub mod import;
pub mod multi;
pub mod plan;
pub mod rest_check;
pub mod schema;
pub mod target;
pub mod validate;

use crate::cli::{Command, GlobalArgs};
use crate::failure::CommandResult;
use crate::output;

/// How to talk to the person at the other end.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Colour on stdout.
    pub stdout_color: bool,
    /// Colour on stderr.
    pub stderr_color: bool,
    /// `-q`: only errors on stderr.
    pub quiet: bool,
    /// The target a line is about, when a file names several: status lines start with it.
    pub label: Option<String>,
}

impl Ui {
    /// Decides colours from the flags, the environment and the terminals.
    pub fn new(global: &GlobalArgs) -> Self {
        Ui {
            stdout_color: output::stdout_color(global.color),
            stderr_color: output::stderr_color(global.color),
            quiet: global.quiet,
            label: None,
        }
    }

    /// The same, for lines about one target of a multi-target file.
    pub fn for_target(&self, name: &str) -> Ui {
        Ui { label: Some(name.to_owned()), ..self.clone() }
    }

    /// `NAME: ` for a target's lines, empty otherwise.
    pub fn prefix(&self) -> String {
        self.label.as_deref().map(|name| format!("{name}: ")).unwrap_or_default()
    }

    /// An error line, red where colour is on.
    pub fn paint_error(&self, text: &str) -> String {
        if self.stderr_color { format!("\x1b[1;31m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// Prints a status line on stderr unless `-q` was given.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{}{text}", self.prefix());
        }
    }
}

/// Runs a command that needs the async runtime.
pub async fn run_async(command: Command, ui: &Ui) -> CommandResult {
    match command {
        Command::Plan(args) => plan::run(&args, ui).await,
        Command::Apply(args) => apply::run(&args, ui).await,
        Command::Import(args) => import::run(&args, ui).await,
        Command::Doctor(args) => doctor::run(&args, ui).await,
        Command::Audit(args) => audit::run(&args, ui).await,
        Command::Export(args) => export::run(&args, ui).await,
        Command::Emulator(args) => emulator::run(&args, ui).await,
        Command::Demo(args) => demo::run(&args, ui).await,
        Command::Validate(args) => validate::run(&args, ui),
        Command::Completions(args) => completions::run(&args),
        Command::Schema(args) => schema::run(&args, ui),
    }
}
