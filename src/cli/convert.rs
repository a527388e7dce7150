//! `ironforge convert` (being written on its own branch).

/// Arguments of `ironforge convert`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `ironforge convert`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`ironforge convert` is not built yet")
}
