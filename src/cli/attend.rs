//! `ironforge attend` (being written on its own branch).

/// Arguments of `ironforge attend`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `ironforge attend`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`ironforge attend` is not built yet")
}
