//! `cargo xtask lint`: the checks users' own tools make on what roster ships.

use anyhow::Result;

pub fn run() -> Result<()> {
    Ok(())
}
