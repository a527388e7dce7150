//! The engines', I/O's and CLI's integration tests, as one test binary: one link against the
//! engine instead of one per file. A file's tests alone:
//! `cargo test --test integration motif_census::`.
//!
//! Two test files stay binaries of their own: `tests/gate_memory.rs` installs a global
//! allocator, and `tests/torch_parity.rs` needs the `torch` feature.

mod common;

mod attention_bounded;
mod attention_kernels;
mod attention_model;
mod attention_model_cli;
mod dag_engine;
mod dag_shards;
mod gate_paired;
mod gate_props;
mod io_bad_input;
mod io_cli;
mod io_fuzz;
mod io_layouts;
mod io_malformed;
mod io_outputs;
mod motif_census;
mod motif_esu_bitset;
mod motif_pipeline;
mod motif_real;
mod motif_regime;
mod pipeline_threads;
