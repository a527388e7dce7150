//! `cargo xtask tune`: measure the attention kernels' crossover table on this machine.
//!
//! Every kernel of this build is timed interleaved at each L (default 64 … 4096) on a dense
//! and a DAG mask (4 heads × 11, bucket time bias) on one instruction set (`--isa`, default
//! the best this CPU has); the medians are written as that instruction set's committed dispatch
//! table, `src/attention/dispatch_tables/<isa>.json`, unless `--out` says otherwise. Build in
//! release for representative numbers: `cargo run --release -p xtask -- tune [--isa avx2]`
//! (the `cargo xtask` alias builds in dev).

use std::path::PathBuf;

use ironforge::attention::dispatch::{measure, TuneParams, TUNE_SIZES};
use ironforge::attention::kernels::simd::Isa;
use ironforge::attention::Kernel;

/// Arguments of this task.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the table (default: the committed table of the instruction set,
    /// `src/attention/dispatch_tables/<isa>.json`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The instruction set the kernels run on: `avx512`, `avx2` or `portable` (default: the
    /// best this CPU has). A CPU with AVX-512 can measure the AVX2 and portable tables too.
    #[arg(long, value_parser = parse_isa)]
    pub isa: Option<Isa>,
    /// Timed repetitions per kernel and row (median kept).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Sizes to measure (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = TUNE_SIZES.to_vec())]
    pub sizes: Vec<usize>,
    /// Free text stored as `measured_on` (e.g. the CPU and the load on it).
    #[arg(long, default_value = "unspecified machine")]
    pub note: String,
}

/// Runs this task.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.reps > 0, "--reps must be at least 1");
    anyhow::ensure!(args.sizes.iter().all(|&l| l > 0), "--sizes must be positive");
    let profile = if cfg!(debug_assertions) { "debug build" } else { "release build" };
    let isa = args.isa.unwrap_or_else(Isa::detect);
    let out = args.out.clone().unwrap_or_else(|| {
        crate::release_check::workspace_root().join(format!("src/attention/dispatch_tables/{}.json", isa.name()))
    });
    let params = TuneParams {
        sizes: args.sizes.clone(),
        reps: args.reps,
        kernels: Kernel::ALL.to_vec(),
        measured_on: format!("{} ({profile}, {} reps, interleaved medians)", args.note, args.reps),
        isa,
    };
    let table = measure(&params, |row| {
        let cells: Vec<String> =
            row.median_ns.iter().map(|(k, ns)| format!("{k} {:.3} ms", *ns as f64 / 1e6)).collect();
        eprintln!("L = {:>5} {:?}: {}", row.l, row.mask, cells.join(", "));
    })?;
    let json = serde_json::to_string_pretty(&table)? + "\n";
    crate::atomic::write_atomic(&out, json.as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `--isa`: an instruction set by its report name.
fn parse_isa(name: &str) -> Result<Isa, String> {
    Isa::parse(name).ok_or_else(|| format!("unknown instruction set `{name}` (expected avx512, avx2 or portable)"))
}
