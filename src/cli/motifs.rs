//! `ironforge motifs`: census, null model and lift of 3–5 node motifs of sessions.

use std::path::PathBuf;

use anyhow::Context;

use super::progress::{check_interrupt, Bar};
use crate::atomic::refuse_same_file;
use crate::dag::BuildParams;
use crate::motif::report::motifs_json;
use crate::motif::table::write_motif_table;
use crate::motif::{analyse_with, EdgeSource, MotifConfig, SessionGraph};

/// Arguments of `ironforge motifs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sessions: a shard folder, a folder of shard folders, or a multi-session Parquet file.
    pub sessions: PathBuf,
    /// Print the JSON summary (sessions, counts by size, motifs with lift and class).
    #[arg(long)]
    pub json: bool,
    /// Rebuild edges with the DAG builder instead of using the sessions' own edges.
    #[arg(long)]
    pub build: bool,
    /// Null-model iterations, 1–100,000 (default 1,000; 10,000 with --strict).
    #[arg(long, allow_negative_numbers = true, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPLICATES))]
    pub iterations: Option<usize>,
    /// Bootstrap replicates over sessions, 1–100,000 (default 1,000; 10,000 with --strict).
    #[arg(long, allow_negative_numbers = true, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPLICATES))]
    pub bootstrap: Option<usize>,
    /// Strict mode: 10,000 null iterations and 10,000 bootstrap replicates.
    #[arg(long)]
    pub strict: bool,
    /// Master seed of the null model and the bootstrap (any u64).
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Largest motif size (3, 4 or 5).
    #[arg(long, allow_negative_numbers = true, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(3..=5))]
    pub max_k: usize,
    /// Also write the motif table to this Parquet file.
    #[arg(long)]
    pub table: Option<PathBuf>,
}

/// Largest `--iterations` and `--bootstrap`: ten times strict mode. The bootstrap keeps
/// replicates × motifs lifts (4 bytes each), so its memory grows with this bound.
pub const MAX_REPLICATES: u64 = 100_000;

impl Args {
    /// The analysis settings these arguments ask for.
    pub fn config(&self) -> MotifConfig {
        let mut config = if self.strict { MotifConfig::strict() } else { MotifConfig::default() };
        if let Some(n) = self.iterations {
            config.null.iterations = n;
        }
        if let Some(b) = self.bootstrap {
            config.bootstrap.replicates = b;
        }
        if let Some(s) = self.seed {
            config.seed = s;
        }
        config.null.max_k = self.max_k;
        config
    }

    /// Where the observed edges come from.
    pub fn edge_source(&self) -> EdgeSource {
        if self.build {
            EdgeSource::Rebuilt(BuildParams::default())
        } else {
            EdgeSource::Imported
        }
    }
}

/// Runs `ironforge motifs`.
///
/// The null model and the bootstrap show a progress bar on a terminal's stderr; Ctrl-C stops
/// them and writes no `--table` (an earlier table there is kept, as on any failure).
pub fn run(args: &Args) -> anyhow::Result<()> {
    if let Some(table) = &args.table {
        refuse_same_file(&args.sessions, table)?;
    }
    let sessions = super::input::read_located(&args.sessions)?;
    let source = args.edge_source();
    if source == EdgeSource::Imported {
        // The census is defined on DAGs: refuse cycles and self-loops as `dag` does.
        for (edges_file, session) in &sessions {
            super::input::session_dag(edges_file, session)?;
        }
    }
    let graphs: Vec<SessionGraph> = sessions.iter().map(|(_, s)| SessionGraph::from_session(s, &source)).collect();
    let bar = Bar::new();
    let analysis = analyse_with(&graphs, &args.config(), &bar)
        .with_context(|| format!("motifs of {}", args.sessions.display()))?;
    drop(bar);
    if let Some(path) = &args.table {
        check_interrupt()?;
        write_motif_table(path, &analysis.stats)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&motifs_json(&analysis))?);
    } else {
        let json = motifs_json(&analysis);
        println!(
            "{} sessions; instances by size: {}; {} motifs observed",
            analysis.observed.len(),
            json["counts_by_size"],
            json["motifs"].as_array().map_or(0, Vec::len)
        );
    }
    Ok(())
}
