//! `cargo xtask fixtures` (being written on its own branch).

/// Arguments of this task.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs this task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("this task is not built yet")
}
