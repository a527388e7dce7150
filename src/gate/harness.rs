//! The libtest-mimic harness: one trial per registered gate and scenario, kind = family,
//! sorted by name; gates outside the current tier are ignored trials (run them with `--ignored`).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};

use super::env::HarnessEnv;
use super::error::GateError;
use super::registry::{gates, scenarios, GateDecl, ScenarioDecl};
use super::runner::{run_gate, run_scenario, Outcome};
use super::sink::merge_record;

/// Measurements run one at a time in a process: timings and heap counters are process-wide.
static MEASURING: Mutex<()> = Mutex::new(());

/// Builds the trials of every registered gate and scenario, sorted by name. Refuses an empty
/// registry and duplicate names.
pub fn build_trials(env: &HarnessEnv) -> Result<Vec<Trial>, GateError> {
    trials_from(&gates(), &scenarios(), env)
}

/// Builds trials from explicit lists (what [`build_trials`] does with the registry).
pub fn trials_from(
    gates: &[&'static GateDecl],
    scenarios: &[&'static ScenarioDecl],
    env: &HarnessEnv,
) -> Result<Vec<Trial>, GateError> {
    if gates.is_empty() {
        return Err(GateError::NoGates);
    }
    let mut names: Vec<(&str, String)> = gates
        .iter()
        .map(|g| (g.name, format!("{}:{}", g.meta.location.file, g.meta.location.line)))
        .chain(scenarios.iter().map(|s| (s.name, format!("{}:{}", s.meta.location.file, s.meta.location.line))))
        .collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(GateError::DuplicateName {
            name: w[0].0.to_string(),
            first: w[0].1.clone(),
            second: w[1].1.clone(),
        });
    }
    let env = Arc::new(env.clone());
    let mut trials: Vec<(String, Trial)> = Vec::new();
    for &g in gates {
        let e = Arc::clone(&env);
        let trial = Trial::test(g.name, move || finish(one_at_a_time(|| run_gate(g, &e)), &e))
            .with_kind(g.meta.family)
            .with_ignored_flag(!g.meta.tiers.contains(env.tier));
        trials.push((g.name.to_string(), trial));
    }
    for &s in scenarios {
        let e = Arc::clone(&env);
        let trial = Trial::test(s.name, move || finish(one_at_a_time(|| run_scenario(s, &e)), &e))
            .with_kind(s.meta.family)
            .with_ignored_flag(!s.meta.tiers.contains(env.tier));
        trials.push((s.name.to_string(), trial));
    }
    trials.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(trials.into_iter().map(|(_, t)| t).collect())
}

fn one_at_a_time<T>(f: impl FnOnce() -> T) -> T {
    let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    f()
}

fn finish(outcome: Result<Outcome, GateError>, env: &HarnessEnv) -> Result<(), Failed> {
    let outcome = outcome.map_err(|e| Failed::from(e.to_string()))?;
    if let Some(path) = &env.measurements {
        merge_record(path, outcome.record.clone()).map_err(|e| Failed::from(e.to_string()))?;
    }
    outcome.trial.map_err(Failed::from)
}

/// The harness `main`: parses libtest flags, reads the environment, runs the trials and
/// returns the exit code (never calls `exit`, so destructors and coverage flushes run).
pub fn run_harness() -> ExitCode {
    let args = Arguments::from_args();
    let env = match HarnessEnv::from_env() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match build_trials(&env) {
        Ok(trials) => libtest_mimic::run(&args, trials).exit_code(),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
