//! `cargo xtask …`: project automation, one module per task.

use clap::{Parser, Subcommand};

mod against;
mod against_report;
mod atomic;
mod audit_merge;
mod baseline;
mod changepoint;
mod ci_formats;
mod figures;
mod fixtures;
mod format;
mod history;
mod html_report;
mod machine;
mod plots;
mod release_check;
mod render;
mod setup_torch;
mod stability;
#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tiny_fixture;
mod tune;

/// ironforge's project tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Write (or `--check`) the committed golden fixtures.
    Fixtures(fixtures::Args),
    /// Run every release gate on the golden and canary sets and write the audit and reports.
    ReleaseCheck(release_check::Args),
    /// Re-render the human reports from an `audit_run.json`.
    Render(render::Args),
    /// Merge the audits of shards (disjoint parts of one run) into one audit and its reports.
    AuditMerge(audit_merge::Args),
    /// Measure the attention kernels' crossover table on this machine.
    Tune(tune::Args),
    /// Create (or reuse) a venv with PyTorch and write the environment file for `--features torch`.
    SetupTorch(setup_torch::Args),
    /// Render docs/figures from the recorded benchmark data (`record` runs a benchmark first).
    Figures(figures::Args),
    /// Print each metric's trend over commits, flag step changes and render one SVG per timed metric.
    History(history::Args),
}

fn main() -> std::process::ExitCode {
    let result = match Xtask::parse().task {
        Task::Fixtures(a) => fixtures::run(a),
        Task::ReleaseCheck(a) => release_check::run(a),
        Task::Render(a) => render::run(a),
        Task::AuditMerge(a) => audit_merge::run(a),
        Task::Tune(a) => tune::run(a),
        Task::SetupTorch(a) => setup_torch::run(a),
        Task::History(a) => history::run(a),
        Task::Figures(a) => figures::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
