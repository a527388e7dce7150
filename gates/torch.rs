//! Ours vs PyTorch (feature `torch`): every kernel against `torch.scaled_dot_product_attention`
//! on the gate's sessions (their DAG mask and time bias as PyTorch's additive float mask), for
//! parity and for speed (interleaved pairs in one process, torch on one thread like ours).

use ironforge::attention::dispatch::Dispatcher;
use ironforge::attention::kernels::parity::{bf16_tolerance, max_abs};
use ironforge::attention::torch::{sdpa, set_threads, Device, TorchPrepared};
use ironforge::attention::{AttentionConfig, AttnInputs, Kernel, Mask};
use ironforge::gate::record::{ParityRow, DETAIL_BENCH_ROWS, DETAIL_PARITY_ROWS};
use ironforge::gate::{GateContext, GateError, Measurement, Unit};

use crate::attention::{
    attention_cases, bench_row, bucket_cases, call, run, table_plan, Lowest, RowSpec, PERTURBED_OUTPUT, SLOW_KERNEL,
};

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

/// Times `kernels` against torch's SDPA (prepared tensors, one torch thread) on `inp`.
fn rows_vs_torch(
    ctx: &GateContext,
    inp: &AttnInputs<'_>,
    bucket: usize,
    mask: &str,
    kernels: &[Kernel],
    mut keep: impl FnMut(Kernel, ironforge::gate::record::BenchRow, Vec<f64>),
) -> Result<(), GateError> {
    let prepared = TorchPrepared::new(inp, Device::Cpu).map_err(GateError::msg)?;
    let plan = table_plan(ctx);
    for &k in kernels {
        let spec = RowSpec { candidate: k.name(), reference: "torch", bucket, mask };
        let (row, ratios) = bench_row(
            ctx,
            &plan,
            spec,
            &mut || drop(std::hint::black_box(prepared.run())),
            &mut || call(k, inp),
            &mut || call(Kernel::Math, inp),
        )?;
        keep(k, row, ratios);
    }
    Ok(())
}

/// Kernel table against PyTorch: per L bucket, every fast kernel on the session's DAG mask and
/// time bias, and `sdpa`/`flash` on a dense mask without bias (the setting of the PyTorch
/// anchors in DEVELOPERS.md); the gate's value is the dispatched kernel's ratio on the DAG
/// masks, in the bucket where it is lowest.
fn dispatched_vs_torch(ctx: &mut GateContext, _reference: &str) -> Result<Measurement, GateError> {
    set_threads(1);
    let dispatcher = Dispatcher::with_default_table(AttentionConfig::from_env().map_err(GateError::msg)?);
    let fast: Vec<Kernel> = Kernel::ALL.into_iter().filter(|&k| k != Kernel::Math).collect();
    let mut rows = Vec::new();
    let mut gate = Lowest::default();
    for (bucket, c) in bucket_cases(ctx)? {
        let inp = c.inputs();
        let chosen = dispatcher.choose_for(inp.mask);
        rows_vs_torch(ctx, &inp, bucket, "dag", &fast, |k, row, ratios| {
            if k == chosen {
                gate.offer(&row, ratios);
            }
            rows.push(row);
        })?;
        let full = Mask::full(inp.mask.n());
        let dense = AttnInputs { mask: &full, bias: None, ..inp };
        rows_vs_torch(ctx, &dense, bucket, "dense", &[Kernel::Sdpa, Kernel::Flash], |_, row, _| rows.push(row))?;
    }
    ctx.detail(DETAIL_BENCH_ROWS, &rows)?;
    gate.measurement("no L bucket has a session dispatched to a fast kernel")
}

ironforge::gate!(torch_speed: dispatched_vs_torch(reference = "torch") >= 1.0 x, family = "torch", fault = SLOW_KERNEL,
    doc = "in every L bucket the dispatched kernel is at least as fast as PyTorch's SDPA (one thread) on the sessions' DAG masks (lower end of the 95% interval); the table, with dense-mask rows for sdpa and flash, is in the details");
