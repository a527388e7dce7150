//! The gate harness (`cargo test --test gates`): every `gate!` and `scenario!` in these modules
//! is one libtest-mimic trial. `gates/` is where the engines meet the generic framework of
//! `crates/gate/` (`ironforge::gate`). See `docs/gates.md`.

use std::process::ExitCode;

use ironforge::gate::CountingAllocator;

mod attention;
mod attention_cases;
mod dag;
mod framework;
mod interval;
mod kernel_paths;
mod motif;
mod pipeline;
mod projections;
mod sessions;
mod targets;
mod time_bias;
#[cfg(feature = "torch")]
mod torch;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn main() -> ExitCode {
    ironforge::gate::harness::run_harness()
}
