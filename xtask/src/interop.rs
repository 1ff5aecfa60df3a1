//! `cargo xtask interop`: roster against SCIM software that no one here wrote.

use anyhow::Result;

pub fn run() -> Result<()> {
    Ok(())
}
