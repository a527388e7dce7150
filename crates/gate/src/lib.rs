//! The release-gate framework. It knows nothing of the engines (it depends on none of their
//! code, nor on Parquet, Arrow or ndarray): a metric is a plain function that the
//! [`gate!`](crate::gate!) macro registers, so any code can be gated.
//!
//! - [`spec`]: comparator, threshold with unit, tiers, faults, declaration metadata;
//! - [`measurement`], [`units`], [`judge`]: what a metric returns (a dynamic [`Measurement`] or a
//!   static [`Measured<U>`](units::Measured) whose unit the compiler checks against the
//!   threshold) and how it is judged (interval bounds);
//! - metrics: [`speedup`] (interleaved A/B, bootstrap interval), [`parity`] (max abs, the
//!   FlashAttention rule, exact), [`memory`] (counting allocator, `VmHWM`, `MemTotal`),
//!   [`value`] (anything user code computes);
//! - [`registry`], [`runner`], [`sink`], [`env`](mod@env), [`harness`]: the libtest-mimic harness that
//!   checks every declaration's units before measuring anything, runs every declaration as a
//!   trial and writes [`record::Measurements`] JSON (records and the manifest of declarations);
//! - [`audit`]: the release audit built from the measurements, re-judged before any report;
//!   [`table`]: named tables of rows a gate attaches (timings per size, counts …), carried into
//!   the audit for reports, whatever their columns.
//! - [`drift`]: output drift between two revisions: each opted-in scenario's candidate outputs
//!   on every case, dumped per harness process and compared dump against dump.
//! - [`paired`]: statistics of a release comparison (base, candidate and A/A control builds in
//!   interleaved rounds): paired speed ratios, minimum detectable effect and the regression rule.
//! - [`probe`], [`modes`]: what a gate's `regress <= N% on probe` times, the calibrated-slowdown
//!   hook ([`GateContext::time`]), and the harness's probe and outputs modes;
//!   [`comparison`]: the audit's comparison with a base revision.
//! - [`figure`]: benchmarks' measured tables as data (JSON and Bencher Metric Format), rendered
//!   into the docs by `cargo xtask figures`.
//! - [`atomic`]: every file and folder the framework (and ironforge) writes, written whole or
//!   not at all.
//!
//! See `docs/gates.md` for the DSL grammar, environment variables and JSON output.
//!
//! # Quick start
//!
//! A crate gating a function of its own: a parity [`scenario!`], two [`gate!`]s (one on the
//! scenario, one on a metric function) with a fault each, and the harness's `main`. This is
//! `tests/quickstart.rs`, a test target of this crate (`harness = false`), so it runs with
//! `cargo test`:
//!
#![doc = concat!("```no_run\n", include_str!("../tests/quickstart.rs"), "```")]
#![warn(missing_docs)]

pub mod atomic;
pub mod audit;
pub mod comparison;
pub mod context;
pub mod drift;
pub mod env;
pub mod error;
pub mod figure;
pub mod harness;
pub mod judge;
mod macros;
pub mod measurement;
pub mod memory;
pub mod modes;
pub mod paired;
pub mod parity;
pub mod probe;
pub mod record;
pub mod registry;
pub mod runner;
pub mod sink;
pub mod spec;
pub mod speedup;
pub mod stats;
pub mod table;
pub mod units;

pub use context::GateContext;
pub use error::GateError;
pub use measurement::{value, Measurement};
pub use memory::CountingAllocator;
pub use registry::{scenario_parity, GateDecl, ScenarioDecl};
pub use spec::{Comparator, DeclMeta, Fault, Location, Threshold, Tiers, Unit};
pub use units::Measured;

/// What the declaration macros reach through `$crate`; not a public API.
#[doc(hidden)]
pub mod __macro_support {
    pub use inventory;
}
