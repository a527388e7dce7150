//! # ironforge
//!
//! Engines for temporal market-session graphs — graph [`attention`], a causal [`dag`]
//! builder and a [`motif`] miner — and a release-gate framework ([`gate`](mod@gate)) that measures them.
//!
//! The framework is its own crate, `ironforge-gate` (`crates/gate/`), which depends on no
//! engine code; this crate re-exports it as [`gate`](mod@gate), its [`atomic`] module and its
//! [`gate!`] and [`scenario!`] macros, so `ironforge::gate::…` paths work unchanged. The engines
//! implement its traits next to their types (`ParityCase` for a session, `DriftOutput` for a
//! motif census).
//!
//! Every number a report shows is measured in the run that reports it.
#![warn(missing_docs)]

pub mod attention;
pub mod cli;
pub mod dag;
pub mod io;
pub mod motif;
pub mod pipeline;
pub mod progress;
pub mod session;
pub mod synth;

/// The gate framework, its own crate (`crates/gate/`): `ironforge::gate::…` paths stay valid.
pub use ironforge_gate as gate;
/// Outputs written whole or not at all (the gate framework's `atomic` module).
pub use ironforge_gate::atomic;
/// The declaration macros, callable as `ironforge::gate!` and `ironforge::scenario!`.
pub use ironforge_gate::{gate, scenario};
