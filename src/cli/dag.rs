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
    /// Builder: edges per event at most (1–65,536).
    #[arg(long, allow_negative_numbers = true, default_value_t = 4, requires = "build",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_K))]
    pub k: usize,
    /// Builder: smallest gap in minutes (0–525,600, a year; at most --dt-max-minutes).
    #[arg(long, allow_negative_numbers = true, default_value_t = 1, requires = "build",
          value_parser = clap::value_parser!(i64).range(0..=MAX_WINDOW_MINUTES))]
    pub dt_min_minutes: i64,
    /// Builder: largest gap in minutes (0–525,600, a year; at least --dt-min-minutes).
    #[arg(long, allow_negative_numbers = true, default_value_t = 120, requires = "build",
          value_parser = clap::value_parser!(i64).range(0..=MAX_WINDOW_MINUTES))]
    pub dt_max_minutes: i64,
}

/// Largest `--k`: a session holds at most [`crate::session::MAX_EVENTS`] events, so a larger
/// `k` could not add an edge.
pub const MAX_K: u64 = crate::session::MAX_EVENTS as u64;
/// Largest window in minutes (a year), far beyond any session and far from overflowing
/// milliseconds.
pub const MAX_WINDOW_MINUTES: i64 = 525_600;

impl Args {
    /// Builder parameters from the flags.
    pub fn build_params(&self) -> BuildParams {
        BuildParams { k: self.k, dt_min_ms: self.dt_min_minutes * 60_000, dt_max_ms: self.dt_max_minutes * 60_000 }
    }

    /// Refuses an inverted window, naming both flags (each is in range on its own; clap
    /// checked that).
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = ironforge::cli::Cli::try_parse_from(
    ///     ["ironforge", "dag", "s", "--build", "--dt-min-minutes", "100", "--dt-max-minutes", "10"])?;
    /// let ironforge::cli::Command::Dag(args) = cli.command else { unreachable!() };
    /// let err = args.validate().unwrap_err().to_string();
    /// assert!(err.contains("--dt-min-minutes 100") && err.contains("--dt-max-minutes 10"));
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.dt_min_minutes <= self.dt_max_minutes,
            "--dt-min-minutes {} is greater than --dt-max-minutes {}: the window would admit no edge",
            self.dt_min_minutes,
            self.dt_max_minutes
        );
        Ok(())
    }
}

/// Runs `ironforge dag`. Without `--build`, a session whose own edges have a cycle or a
/// self-loop is refused ([`super::input::session_dag`]).
pub fn run(args: &Args) -> anyhow::Result<()> {
    args.validate()?;
    let sessions = super::input::read_located(&args.session)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (edges_file, session) in &sessions {
        let dag = if args.build {
            Dag::built(session, &args.build_params())?
        } else {
            super::input::session_dag(edges_file, session)?
        };
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
