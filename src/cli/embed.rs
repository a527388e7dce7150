//! `ironforge embed` (being written on its own branch).

/// Arguments of `ironforge embed`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `ironforge embed`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`ironforge embed` is not built yet")
}
