//! Ours vs PyTorch (feature `torch`): every kernel against `torch.scaled_dot_product_attention`
//! on the attention case families (their mask and time bias as PyTorch's additive float mask), for
//! parity and for speed (interleaved pairs in one process, torch on one thread like ours).

use ironforge::attention::dispatch::Dispatcher;
use ironforge::attention::kernels::bench::{BenchRow, KERNEL_TABLE};
use ironforge::attention::kernels::parity::{bf16_tolerance, max_abs};
use ironforge::attention::kernels::simd::Isa;
use ironforge::attention::torch::{sdpa, set_threads, Device, TorchPrepared};
use ironforge::attention::{AttentionConfig, AttnInputs, Kernel, Mask};
use ironforge::gate::record::{ParityRow, DETAIL_PARITY_ROWS};
use ironforge::gate::units::{Measured, Ratio};
use ironforge::gate::{GateContext, GateError};

use crate::attention::{
    bench_row, bucket_cases, call, run, table_plan, AgainstTargets, RowSpec, PERTURBED_OUTPUT, SLOW_KERNEL,
};
use crate::attention_cases::all_cases;

/// Worst error of `kernels` against PyTorch, divided by each row's tolerance (≤ 1 passes):
/// 1e-5 max abs for the f32 kernels, the derived bf16 bound for `bf16`.
fn kernels_vs_torch(ctx: &mut GateContext, kernels: &[Kernel]) -> Result<Measured<Ratio>, GateError> {
    let mut rows = Vec::new();
    let mut worst = 0.0f64;
    for c in &all_cases(ctx)? {
        let theirs = sdpa(&c.inputs()).map_err(GateError::msg)?;
        for &k in kernels {
            let tolerance = if k == Kernel::Bf16 { bf16_tolerance(&c.inputs()) } else { 1e-5 };
            let error = max_abs(run(ctx, k, c)?.view(), theirs.view());
            worst = worst.max(error / tolerance);
            rows.push(ParityRow {
                case: ironforge::gate::parity::ParityCase::case_id(c),
                size: ironforge::gate::parity::ParityCase::case_size(c),
                candidate: format!("{} vs torch", k.name()),
                error,
                tolerance,
            });
        }
    }
    ctx.detail(DETAIL_PARITY_ROWS, &rows)?;
    Ok(Measured::new(worst))
}

fn every_kernel_vs_torch(ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    kernels_vs_torch(ctx, &Kernel::ALL)
}

ironforge::gate!(torch_parity: every_kernel_vs_torch() <= 1.0 x, family = "torch", fault = PERTURBED_OUTPUT,
    doc = "every kernel is within its tolerance of PyTorch's SDPA on every attention case family (f32 kernels 1e-5 max abs, bf16 its derived bound): error / tolerance <= 1");

/// Times `kernels` against torch's SDPA (prepared tensors, one torch thread) on `inp`.
fn rows_vs_torch(
    ctx: &GateContext,
    inp: &AttnInputs<'_>,
    bucket: usize,
    mask: &str,
    kernels: &[Kernel],
) -> Result<Vec<(Kernel, BenchRow, Vec<f64>)>, GateError> {
    let prepared = TorchPrepared::new(inp, Device::Cpu).map_err(GateError::msg)?;
    let plan = table_plan(ctx);
    let mut out = Vec::new();
    for &k in kernels {
        let spec = RowSpec { candidate: k.name(), reference: "torch", bucket, mask };
        let (row, ratios) =
            bench_row(ctx, &plan, spec, &mut || drop(std::hint::black_box(prepared.run())), &mut || call(k, inp))?;
        out.push((k, row, ratios));
    }
    Ok(out)
}

/// Kernel table against PyTorch: per L bucket, every fast kernel on the session's DAG mask and
/// time bias, and `sdpa`/`flash` on a dense mask without bias (the setting of the PyTorch
/// anchors in DEVELOPERS.md). Judged against the targets of `gates/targets.rs`: the dispatched
/// kernel on the DAG masks (`torch/<isa>/dispatch/dag/L<bucket>`) and dense `sdpa` and `flash`
/// (`torch/<isa>/<kernel>/dense/L<bucket>`); the value is the lowest lower bound over target.
fn dispatched_vs_torch(ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    set_threads(1);
    let dispatcher = Dispatcher::with_default_table(AttentionConfig::from_env().map_err(GateError::msg)?);
    let fast: Vec<Kernel> = Kernel::ALL.into_iter().filter(|&k| k != Kernel::Math).collect();
    let isa = Isa::detect().name();
    let mut rows = Vec::new();
    let mut gate = AgainstTargets::default();
    for (bucket, c) in bucket_cases(ctx)? {
        let inp = c.inputs();
        let chosen = dispatcher.choose_for(inp.mask);
        for (k, row, ratios) in rows_vs_torch(ctx, &inp, bucket, "dag", &fast)? {
            if k == chosen {
                gate.offer(&format!("torch/{isa}/dispatch/dag/L{bucket}"), &row, ratios)?;
            }
            rows.push(row);
        }
        let full = Mask::full(inp.mask.n());
        let dense = AttnInputs { mask: &full, bias: None, ..inp };
        for (k, row, ratios) in rows_vs_torch(ctx, &dense, bucket, "dense", &[Kernel::Sdpa, Kernel::Flash])? {
            gate.offer(&format!("torch/{isa}/{}/dense/L{bucket}", k.name()), &row, ratios)?;
            rows.push(row);
        }
    }
    ctx.table(KERNEL_TABLE, &rows)?;
    gate.measurement(ctx, "no L bucket has a session dispatched to a fast kernel")
}

ironforge::gate!(torch_speed: dispatched_vs_torch() >= 1.0 x, family = "torch", fault = SLOW_KERNEL,
    doc = "in every L bucket the dispatched kernel on the sessions' DAG masks, and dense sdpa and flash, reach their target speed-up over PyTorch's SDPA on one thread (lower end of the 95% interval over the target of gates/targets.rs); the whole table is in the details");
