//! The `ironforge` command line: one file per subcommand, each with its `Args` and `run`.

use clap::{Parser, Subcommand};

pub mod attend;
pub mod convert;
pub mod dag;
pub mod embed;
pub mod errors;
pub mod input;
pub mod inspect;
pub mod motifs;
pub mod progress;

/// Temporal market-session graph engines.
#[derive(Debug, Parser)]
#[command(name = "ironforge", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a session (shard folder or multi-session file) and print a summary.
    Inspect(inspect::Args),
    /// Convert between the shard layout and the multi-session layout.
    Convert(convert::Args),
    /// Print a session's DAG (edges and topological generations) as JSON.
    Dag(dag::Args),
    /// Run one attention kernel on arrays from a `.npz` file.
    Attend(attend::Args),
    /// Write per-event embeddings of sessions to Parquet.
    Embed(embed::Args),
    /// Count 3–5 node motifs of sessions and print them as JSON.
    Motifs(motifs::Args),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::attention::kernels::simd::Isa::ceiling_from_env().map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Convert(a) => convert::run(&a),
        Command::Dag(a) => dag::run(&a),
        Command::Attend(a) => attend::run(&a),
        Command::Embed(a) => embed::run(&a),
        Command::Motifs(a) => motifs::run(&a),
    }
}
