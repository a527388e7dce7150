//! `ironforge motifs`: census, null model and lift of 3–5 node motifs of sessions.

use std::path::PathBuf;

use anyhow::Context;

use crate::dag::BuildParams;
use crate::motif::report::motifs_json;
use crate::motif::table::write_motif_table;
use crate::motif::{analyse, EdgeSource, MotifConfig, SessionGraph};

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
    /// Null-model iterations (default 1,000; 10,000 with --strict).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Bootstrap replicates over sessions (default 1,000; 10,000 with --strict).
    #[arg(long)]
    pub bootstrap: Option<usize>,
    /// Strict mode: 10,000 null iterations and 10,000 bootstrap replicates.
    #[arg(long)]
    pub strict: bool,
    /// Master seed of the null model and the bootstrap.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Largest motif size (3, 4 or 5).
    #[arg(long, default_value_t = 5)]
    pub max_k: usize,
    /// Also write the motif table to this Parquet file.
    #[arg(long)]
    pub table: Option<PathBuf>,
}

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
pub fn run(args: &Args) -> anyhow::Result<()> {
    let sessions = crate::io::read_sessions(&args.sessions)?;
    let source = args.edge_source();
    let graphs: Vec<SessionGraph> = sessions.iter().map(|s| SessionGraph::from_session(s, &source)).collect();
    let analysis =
        analyse(&graphs, &args.config()).with_context(|| format!("motifs of {}", args.sessions.display()))?;
    if let Some(path) = &args.table {
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
