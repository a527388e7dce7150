//! The model's projections (`attention::linear`) on every instruction set this CPU has, bit for
//! bit against the obvious loop, on the gate's sessions: each instruction set blocks its rows
//! its own way (two rows on AVX2, four on AVX-512 and the portable path), and the same fused
//! multiply-adds in the same order must come out of each (`docs/attention.md`).

use ironforge::attention::kernels::simd::Isa;
use ironforge::attention::linear::{affine_rows_on, affine_rows_reference};
use ironforge::attention::model::{normalise_columns, HIDDEN};
use ironforge::gate::{Fault, GateContext, GateError};
use ironforge::session::Session;
use ndarray::Array2;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::dag::dag_sessions;

/// The vector paths' first output of every row is off by one part in a thousand.
pub const NUDGED_PROJECTION: Fault =
    Fault::new("nudged_projection", "the vector projections' first output of every row is 0.1% larger");

/// One projection's operands: `x` (`rows × in`, row-major), `w` (`in × HIDDEN`) and `b`.
struct Projection {
    x: Vec<f32>,
    rows: usize,
    w: Vec<f32>,
    b: [f32; HIDDEN],
}

/// A session's z-scored node features (`L × 45`, row-major) and a seeded `45 × 44` weight
/// matrix with its bias: the model's input projection, whose shape every projection shares.
fn projection_inputs(s: &Session) -> Result<Projection, GateError> {
    let width = s.events().first().map_or(0, |e| e.features.len());
    let raw: Vec<f32> = s.events().iter().flat_map(|e| e.features.iter().copied()).collect();
    let x = Array2::from_shape_vec((s.len(), width), raw).map_err(|e| GateError::msg(format!("{}: {e}", s.id())))?;
    let x: Vec<f32> = normalise_columns(x.view()).iter().copied().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x9e37_79b9);
    let w: Vec<f32> = (0..width * HIDDEN).map(|_| rng.random_range(-0.3f32..0.3)).collect();
    let b: [f32; HIDDEN] = std::array::from_fn(|_| rng.random_range(-0.1f32..0.1));
    Ok(Projection { x, rows: s.len(), w, b })
}

/// The obvious loop's rows, once per instruction set this CPU has (the candidate's layout).
fn reference_projection(_: &GateContext, s: &Session) -> Result<Vec<f32>, GateError> {
    let Projection { x, rows, w, b } = projection_inputs(s)?;
    let mut once = Vec::with_capacity(rows * HIDDEN);
    affine_rows_reference(&x, rows, &w, &b, |_, y| once.extend_from_slice(y));
    Ok(once.repeat(Isa::available().len()))
}

/// The rows of every instruction set this CPU has, one after the other.
fn vector_projections(ctx: &GateContext, s: &Session) -> Result<Vec<f32>, GateError> {
    let Projection { x, rows, w, b } = projection_inputs(s)?;
    let nudge = if ctx.injected(&NUDGED_PROJECTION) { 1.001 } else { 1.0 };
    let mut out = Vec::new();
    for isa in Isa::available() {
        let ran = affine_rows_on(isa, &x, rows, &w, &b, |_, y| {
            out.push(y[0] * nudge);
            out.extend_from_slice(&y[1..]);
        });
        if !ran {
            return Err(GateError::msg(format!("{isa:?} is listed as available but did not run")));
        }
    }
    Ok(out)
}

ironforge::scenario!(model_projections_vs_reference: sessions = dag_sessions, reference = reference_projection,
    candidate = vector_projections, compare = exact, family = "attention", fault = NUDGED_PROJECTION,
    doc = "the model's projections on every instruction set this CPU has give the obvious loop's bits on every session");
