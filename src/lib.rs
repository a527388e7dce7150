//! # ironforge
//!
//! Engines for temporal market-session graphs — graph [`attention`], a causal [`dag`]
//! builder and a [`motif`] miner — and a release-gate framework ([`gate`](mod@gate)) that measures them.
//!
//! Every number a report shows is measured in the run that reports it.
#![warn(missing_docs)]

pub mod atomic;
pub mod attention;
pub mod cli;
pub mod dag;
pub mod gate;
pub mod io;
pub mod motif;
pub mod pipeline;
pub mod progress;
pub mod session;
pub mod synth;
