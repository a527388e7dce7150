//! `ironforge inspect` (being written on its own branch).

/// Arguments of `ironforge inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `ironforge inspect`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`ironforge inspect` is not built yet")
}
