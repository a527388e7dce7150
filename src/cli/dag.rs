//! `ironforge dag <session> [--json] [--build]`: a session's DAG (edges and topological
//! generations).
//!
//! With `--json`, one JSON object per session, one per line (JSON Lines), so a file holding
//! several sessions prints several lines; without it, one summary line per session.

use std::io::Write;
use std::path::PathBuf;

use crate::dag::{BuildParams, Dag, DagJson};

/// Arguments of `ironforge dag`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A shard folder, a folder of shard folders, or a multi-session Parquet file.
    pub session: PathBuf,
    /// Print `{"session_id", "nodes", "edges", "generations"}` (node ids) per session, one line each.
    #[arg(long)]
    pub json: bool,
    /// Use the causal edge builder instead of the session's own edges.
    #[arg(long)]
    pub build: bool,
    /// Builder: edges per event at most.
    #[arg(long, default_value_t = 4, requires = "build")]
    pub k: usize,
    /// Builder: smallest gap in minutes.
    #[arg(long, default_value_t = 1, requires = "build")]
    pub dt_min_minutes: i64,
    /// Builder: largest gap in minutes.
    #[arg(long, default_value_t = 120, requires = "build")]
    pub dt_max_minutes: i64,
}

impl Args {
    /// Builder parameters from the flags.
    pub fn build_params(&self) -> BuildParams {
        BuildParams { k: self.k, dt_min_ms: self.dt_min_minutes * 60_000, dt_max_ms: self.dt_max_minutes * 60_000 }
    }
}

/// Runs `ironforge dag`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let sessions = crate::io::read_sessions(&args.session)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for session in &sessions {
        let dag = if args.build { Dag::built(session, &args.build_params())? } else { Dag::from_session(session)? };
        writeln!(out, "{}", render(&dag, args.json)?)?;
    }
    Ok(())
}

/// One session's output line: the compact JSON object, or a summary.
///
/// ```
/// let dag = ironforge::dag::Dag::from_local_edges("s", vec![1, 2], &[(0, 1)])?;
/// assert_eq!(ironforge::cli::dag::render(&dag, false)?, "s: 2 nodes, 1 edges, 2 generations");
/// assert!(ironforge::cli::dag::render(&dag, true)?.starts_with(r#"{"session_id":"s""#));
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn render(dag: &Dag, json: bool) -> anyhow::Result<String> {
    Ok(if json {
        serde_json::to_string(&DagJson::from_dag(dag))?
    } else {
        format!(
            "{}: {} nodes, {} edges, {} generations",
            dag.session_id(),
            dag.len(),
            dag.local_edges().len(),
            dag.generations().len()
        )
    })
}
