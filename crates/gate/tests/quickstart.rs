//! Quick start: a crate gating a function of its own. Copy this file to `gates/main.rs` of your
//! crate, declare it in `Cargo.toml` as
//!
//! ```toml
//! [[test]]
//! name = "gates"
//! path = "gates/main.rs"
//! harness = false
//! ```
//!
//! and `cargo test --test gates` runs every `gate!` and `scenario!` below as one trial
//! (`-- --list` lists them; `IRONFORGE_PROVE=1` also runs each under its declared fault, where
//! it must fail). This file is itself a test target of the framework (`cargo test -p
//! ironforge-gate --test quickstart`).

use std::process::ExitCode;

use ironforge_gate::parity::Case;
use ironforge_gate::units::{Abs, Measured};
use ironforge_gate::{gate, scenario, scenario_parity, Fault, GateContext, GateError};

// ---- the code under test: a mean computed in f32, in pairs --------------------------------------

/// The function being gated: the mean of `xs`, summed pairwise in f32.
fn mean_pairwise_f32(xs: &[f32]) -> f32 {
    fn sum(v: &[f32]) -> f32 {
        if v.len() <= 8 {
            v.iter().sum()
        } else {
            let (a, b) = v.split_at(v.len() / 2);
            sum(a) + sum(b)
        }
    }
    if xs.is_empty() {
        0.0
    } else {
        sum(xs) / xs.len() as f32
    }
}

/// A fault: the gates below must fail when it is injected (`IRONFORGE_PROVE=1`).
const SHIFTED_MEAN: Fault = Fault::new("shifted_mean", "the candidate mean is shifted by 0.01");

// ---- a parity scenario: the f32 mean against an f64 reference on every case ----------------------

/// The cases: named inputs ([`Case`]); a real crate would load its data sets here.
fn ramps(_: &GateContext) -> Result<Vec<Case<f32>>, GateError> {
    Ok([10usize, 1_000, 100_000]
        .iter()
        .map(|&n| Case::new(format!("ramp_{n}"), (0..n).map(|i| (i % 97) as f32 / 97.0).collect()))
        .collect())
}

fn mean_f64(_: &GateContext, c: &Case<f32>) -> Result<f64, GateError> {
    Ok(c.data.iter().map(|&x| f64::from(x)).sum::<f64>() / c.data.len() as f64)
}

fn mean_candidate(ctx: &GateContext, c: &Case<f32>) -> Result<f64, GateError> {
    let shift = if ctx.injected(&SHIFTED_MEAN) { 0.01 } else { 0.0 };
    Ok(f64::from(mean_pairwise_f32(&c.data)) + shift)
}

scenario!(mean_pairwise_vs_f64: sessions = ramps, reference = mean_f64, candidate = mean_candidate,
          compare = max_abs(1e-5), fault = SHIFTED_MEAN,
          doc = "the pairwise f32 mean stays within 1e-5 of the f64 mean on every ramp");

// ---- gates: a threshold on the scenario, and a metric function of our own ----------------------

gate!(mean_parity: scenario_parity(scenario = "mean_pairwise_vs_f64") <= 1e-5, unit = abs, fault = SHIFTED_MEAN,
      doc = "worst error of the pairwise f32 mean against f64, at most 1e-5");

/// A metric is a plain function of the context and its inputs; `Measured<Abs>` makes the
/// threshold's unit a compile-time check.
fn constant_mean_error(ctx: &mut GateContext, len: usize) -> Result<Measured<Abs>, GateError> {
    let shift = if ctx.injected(&SHIFTED_MEAN) { 0.01 } else { 0.0 };
    let mean = mean_pairwise_f32(&vec![0.25f32; len]) + shift;
    Ok(Measured::new((f64::from(mean) - 0.25).abs()))
}

gate!(constant_mean: constant_mean_error(len = 4_096) <= 0.0, fault = SHIFTED_MEAN,
      doc = "the mean of a constant input is that constant, exactly");

// ---- the harness -------------------------------------------------------------------------------

fn main() -> ExitCode {
    ironforge_gate::harness::run_harness()
}
