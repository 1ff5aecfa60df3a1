//! The `roster` command.
fn main() {}
