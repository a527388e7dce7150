//! `ironforge dag` (being written on its own branch).

/// Arguments of `ironforge dag`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `ironforge dag`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`ironforge dag` is not built yet")
}
