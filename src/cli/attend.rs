//! `ironforge attend --input case.npz --kernel <name> --output out.npy`: one kernel on NumPy
//! arrays (see [`crate::attention::npz`] for the file contract).

use std::path::PathBuf;

use crate::attention::{breaker, npz, Kernel};

/// Arguments of `ironforge attend`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `.npz` with `q`, `k`, `v` (float32 `[H, L, D]` or `[B, H, L, D]`), optional `mask`
    /// (bool `[L, L]`, true = allowed) and `bias` (float32 `[L, L]`).
    #[arg(long)]
    pub input: PathBuf,
    /// Kernel name.
    #[arg(long, default_value = "math")]
    pub kernel: Kernel,
    /// Output `.npy` (shape of `q`, float32).
    #[arg(long)]
    pub output: PathBuf,
}

/// Runs `ironforge attend`. A non-finite output of a fast kernel falls back to `math` and is
/// reported on stderr. `--output` is written whole or not at all, and may not be `--input`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    crate::atomic::refuse_same_file(&args.input, &args.output)?;
    let fallbacks = npz::attend_file(&args.input, args.kernel, &args.output, breaker::global())?;
    if fallbacks > 0 {
        eprintln!(
            "ironforge attend: kernel `{}` gave a non-finite output in {fallbacks} batch entries; used `math` there",
            args.kernel.name()
        );
    }
    Ok(())
}
