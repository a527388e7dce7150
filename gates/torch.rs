//! Ours vs PyTorch (feature `torch`): every kernel against `torch.scaled_dot_product_attention`
//! on the gate's sessions (their DAG mask and time bias as PyTorch's additive float mask).

use ironforge::attention::kernels::parity::{bf16_tolerance, max_abs};
use ironforge::attention::torch::sdpa;
use ironforge::attention::Kernel;
use ironforge::gate::record::{ParityRow, DETAIL_PARITY_ROWS};
use ironforge::gate::{GateContext, GateError, Measurement, Unit};

use crate::attention::{attention_cases, run, PERTURBED_OUTPUT};

/// Worst error of `kernels` against PyTorch, divided by each row's tolerance (≤ 1 passes):
/// 1e-5 max abs for the f32 kernels, the derived bf16 bound for `bf16`.
fn kernels_vs_torch(ctx: &mut GateContext, kernels: &[Kernel]) -> Result<Measurement, GateError> {
    let mut rows = Vec::new();
    let mut worst = 0.0f64;
    for c in &attention_cases(ctx)? {
        let theirs = sdpa(&c.inputs()).map_err(GateError::msg)?;
        for &k in kernels {
            let tolerance = if k == Kernel::Bf16 { bf16_tolerance(&c.inputs()) } else { 1e-5 };
            let error = max_abs(run(ctx, k, c)?.view(), theirs.view());
            worst = worst.max(error / tolerance);
            rows.push(ParityRow {
                session_id: ironforge::gate::parity::ParityCase::case_id(c),
                events: ironforge::gate::parity::ParityCase::case_size(c),
                candidate: format!("{} vs torch", k.name()),
                error,
                tolerance,
            });
        }
    }
    ctx.detail(DETAIL_PARITY_ROWS, &rows)?;
    Ok(Measurement::new(worst, Unit::Ratio))
}

fn every_kernel_vs_torch(ctx: &mut GateContext, _oracle: &str) -> Result<Measurement, GateError> {
    kernels_vs_torch(ctx, &Kernel::ALL)
}

ironforge::gate!(torch_parity: every_kernel_vs_torch(oracle = "torch") <= 1.0 x, family = "torch", fault = PERTURBED_OUTPUT,
    doc = "every kernel is within its tolerance of PyTorch's SDPA on every session (f32 kernels 1e-5 max abs, bf16 its derived bound): error / tolerance <= 1");
