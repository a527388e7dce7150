//! `ironforge motifs` (being written on its own branch).

/// Arguments of `ironforge motifs`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `ironforge motifs`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`ironforge motifs` is not built yet")
}
