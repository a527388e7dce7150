//! The libtest-mimic harness: one trial per registered gate and scenario, kind = family,
//! sorted by name; gates outside the current tier are ignored trials (run them with `--ignored`).
//!
//! Before any trial measures, the harness checks every gate's units ([`preflight`]) and exits
//! non-zero naming each refused declaration; `--list` still lists. Every harness process that
//! writes measurements also writes the manifest ([`manifest_of`]): every registered
//! declaration, so the audit can tell a partial run from a complete one. With
//! `IRONFORGE_TRIAL_DIR` each trial also writes its own file ([`write_trial_file`]) and prints
//! its [`Record::summary_line`](super::record::Record::summary_line) on stdout.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};

use super::env::HarnessEnv;
use super::error::GateError;
use super::modes::{dump_outputs, run_probes, write_probe_file, Mode};
use super::record::Manifest;
use super::registry::{gates, manifest_of, scenarios, GateDecl, ScenarioDecl};
use super::runner::{run_gate, run_scenario, Outcome};
use super::sink::{merge, write_trial_file};

/// Measurements run one at a time in a process: timings and heap counters are process-wide.
static MEASURING: Mutex<()> = Mutex::new(());

/// Builds the trials of every registered gate and scenario, sorted by name (see [`trials_from`]).
pub fn build_trials(env: &HarnessEnv) -> Result<Vec<Trial>, GateError> {
    trials_from(&gates(), &scenarios(), env)
}

/// Builds trials from explicit lists (what [`build_trials`] does with the registry). Refuses
/// an empty list of gates, duplicate names and, through [`preflight`], any gate whose units
/// do not check, before a single trial can run.
pub fn trials_from(
    gates: &[&'static GateDecl],
    scenarios: &[&'static ScenarioDecl],
    env: &HarnessEnv,
) -> Result<Vec<Trial>, GateError> {
    check_names(gates, scenarios)?;
    preflight(gates)?;
    Ok(make_trials(gates, scenarios, env))
}

/// Checks every gate's units before anything is measured ([`GateDecl::check_units`]): a
/// dynamic metric needs `unit = ...`, a declared unit must agree with a static one, and the
/// threshold must fit the unit. Lists every refused gate in one [`GateError::Preflight`].
pub fn preflight(gates: &[&GateDecl]) -> Result<(), GateError> {
    let problems: Vec<GateError> = gates.iter().filter_map(|g| g.check_units().err()).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GateError::Preflight { problems })
    }
}

fn check_names(gates: &[&GateDecl], scenarios: &[&ScenarioDecl]) -> Result<(), GateError> {
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
    Ok(())
}

fn make_trials(gates: &[&'static GateDecl], scenarios: &[&'static ScenarioDecl], env: &HarnessEnv) -> Vec<Trial> {
    let env = Arc::new(env.clone());
    let manifest = Arc::new(manifest_of(gates, scenarios));
    let mut trials: Vec<(String, Trial)> = Vec::new();
    for &g in gates {
        let (e, m) = (Arc::clone(&env), Arc::clone(&manifest));
        let trial = Trial::test(g.name, move || finish(one_at_a_time(|| run_gate(g, &e)), &e, &m))
            .with_kind(g.meta.family)
            .with_ignored_flag(!g.meta.tiers.contains(env.tier));
        trials.push((g.name.to_string(), trial));
    }
    for &s in scenarios {
        let (e, m) = (Arc::clone(&env), Arc::clone(&manifest));
        let trial = Trial::test(s.name, move || finish(one_at_a_time(|| run_scenario(s, &e)), &e, &m))
            .with_kind(s.meta.family)
            .with_ignored_flag(!s.meta.tiers.contains(env.tier));
        trials.push((s.name.to_string(), trial));
    }
    trials.sort_by(|a, b| a.0.cmp(&b.0));
    trials.into_iter().map(|(_, t)| t).collect()
}

fn one_at_a_time<T>(f: impl FnOnce() -> T) -> T {
    let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    f()
}

fn finish(outcome: Result<Outcome, GateError>, env: &HarnessEnv, manifest: &Manifest) -> Result<(), Failed> {
    let outcome = outcome.map_err(|e| Failed::from(e.to_string()))?;
    if let Some(path) = &env.measurements {
        merge(path, Some(manifest), Some(outcome.record.clone())).map_err(|e| Failed::from(e.to_string()))?;
    }
    if let Some(dir) = &env.trial_dir {
        write_trial_file(dir, manifest, &outcome.record).map_err(|e| Failed::from(e.to_string()))?;
        println!("{}", outcome.record.summary_line());
    }
    outcome.trial.map_err(Failed::from)
}

/// The harness `main`: parses libtest flags, reads the environment, checks every declaration
/// ([`trials_from`]), writes the manifest, runs the trials and returns the exit code (never
/// calls `exit`, so destructors and coverage flushes run). With `--list`, refused
/// declarations are listed anyway, with a warning on stderr.
pub fn run_harness() -> ExitCode {
    let args = Arguments::from_args();
    let env = match HarnessEnv::from_env() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (gates, scenarios) = (gates(), scenarios());
    match Mode::from_env() {
        Ok(Mode::Gates) => {}
        Ok(mode) => return run_mode(&mode, &gates, &scenarios, &env),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let trials = if args.list {
        if let Err(e) = preflight(&gates) {
            eprintln!("warning: {e}");
        }
        check_names(&gates, &scenarios).map(|()| make_trials(&gates, &scenarios, &env))
    } else {
        trials_from(&gates, &scenarios, &env)
    };
    let trials = match trials {
        Ok(trials) => trials,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (false, Some(path)) = (args.list, &env.measurements) {
        if let Err(e) = merge(path, Some(&manifest_of(&gates, &scenarios)), None) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Runs a comparison mode ([`modes`](super::modes)) instead of the trials: exit 0 when every
/// probe measured (or the dump was written), 1 otherwise, with the problems on stderr.
fn run_mode(
    mode: &Mode,
    gates: &[&'static GateDecl],
    scenarios: &[&'static ScenarioDecl],
    env: &HarnessEnv,
) -> ExitCode {
    if let Err(e) = check_names(gates, scenarios) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match mode {
        Mode::Gates => Ok(()),
        Mode::Probe { out, slowdown, passes } => {
            let file = run_probes(gates, env, *slowdown, *passes);
            for r in &file.records {
                if let Some(e) = &r.error {
                    eprintln!("error: probe of gate `{}`: {e}", r.gate);
                }
            }
            let failed = file.records.iter().any(|r| r.error.is_some());
            write_probe_file(out, &file)
                .and_then(|()| if failed { Err(GateError::msg("a probe failed")) } else { Ok(()) })
        }
        Mode::Outputs { out } => dump_outputs(scenarios, env, out).map(drop),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordKind, Tier};
    use crate::runner::run_gate;
    use crate::units::{Measured, Ratio};
    use crate::{Comparator, DeclMeta, GateContext, Location, Measurement, Threshold, Tiers, Unit};

    fn abs_metric(_: &mut GateContext) -> Result<Measurement, GateError> {
        Ok(Measurement::new(0.01, Unit::Abs))
    }
    fn ratio_metric(_: &mut GateContext) -> Result<Measurement, GateError> {
        Ok(Measured::<Ratio>::new(2.0).into())
    }

    const fn decl(name: &'static str, threshold: Threshold, declared_unit: Option<Unit>) -> GateDecl {
        GateDecl {
            name,
            metric: "abs_metric",
            inputs: "",
            comparator: Comparator::Lt,
            threshold,
            static_unit: None,
            declared_unit,
            meta: DeclMeta::new(Location { file: "crates/gate/src/harness.rs", line: 7 }).with_doc("test gate"),
            measure: abs_metric,
        }
    }

    fn env() -> HarnessEnv {
        HarnessEnv { tier: Tier::Quick, seed: 0, sessions: vec![], prove: false, measurements: None, trial_dir: None }
    }

    fn problems(err: GateError) -> Vec<GateError> {
        match err {
            GateError::Preflight { problems } => problems,
            other => panic!("expected a preflight error, got {other}"),
        }
    }

    static DECLARED: GateDecl = decl("declared", Threshold::Absolute(0.05), Some(Unit::Abs));
    static UNDECLARED: GateDecl = decl("undeclared", Threshold::Absolute(0.05), None);
    static MISFIT: GateDecl = decl("misfit", Threshold::Millis(2.0), Some(Unit::Abs));
    static BARE_ON_RATIO: GateDecl = decl("bare_on_ratio", Threshold::Absolute(1.0), Some(Unit::Ratio));

    #[test]
    fn a_dynamic_gate_with_a_fitting_declared_unit_builds() {
        assert_eq!(trials_from(&[&DECLARED], &[], &env()).unwrap().len(), 1);
    }

    #[test]
    fn a_dynamic_gate_without_a_unit_is_refused_by_name_before_measuring() {
        let err = trials_from(&[&DECLARED, &UNDECLARED], &[], &env()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("gate `undeclared` (crates/gate/src/harness.rs:7)"), "{text}");
        assert!(text.contains("unit ="), "{text}");
        let p = problems(err);
        assert_eq!(p.len(), 1);
        assert!(matches!(&p[0], GateError::UndeclaredUnit { gate, .. } if gate == "undeclared"));
    }

    #[test]
    fn a_declared_unit_that_does_not_fit_the_threshold_is_refused() {
        let p = problems(trials_from(&[&MISFIT, &BARE_ON_RATIO, &UNDECLARED], &[], &env()).unwrap_err());
        let names: Vec<String> = p
            .iter()
            .map(|e| match e {
                GateError::UnitMismatch { gate, threshold, unit, .. } => format!("{gate}: {threshold} vs {unit}"),
                GateError::UndeclaredUnit { gate, .. } => format!("{gate}: undeclared"),
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(names, ["misfit: 2 ms vs abs", "bare_on_ratio: 1 vs x", "undeclared: undeclared"]);
        // run_gate checks the same before measuring.
        assert!(matches!(run_gate(&MISFIT, &env()), Err(GateError::UnitMismatch { .. })));
    }

    #[test]
    fn a_declared_unit_contradicting_the_static_unit_is_refused() {
        static STATIC: GateDecl = GateDecl {
            static_unit: Some(Unit::Ratio),
            comparator: Comparator::Ge,
            measure: ratio_metric,
            ..decl("static", Threshold::Ratio(1.4), Some(Unit::Millis))
        };
        let p = problems(trials_from(&[&STATIC], &[], &env()).unwrap_err());
        assert!(matches!(&p[0], GateError::ContradictoryUnit { gate, .. } if gate == "static"), "{:?}", p);
        let agreeing = GateDecl { declared_unit: None, ..STATIC };
        assert_eq!(agreeing.check_units().unwrap(), Unit::Ratio);
        let outcome = run_gate(&agreeing, &env()).unwrap();
        assert_eq!(outcome.record.details["unit_source"], "static");
    }

    #[test]
    fn a_measured_unit_other_than_the_declared_one_is_an_error_naming_the_gate() {
        let lying = GateDecl { measure: ratio_metric, ..decl("lying", Threshold::Absolute(0.05), Some(Unit::Abs)) };
        let err = run_gate(&lying, &env()).unwrap_err();
        assert!(matches!(&err, GateError::MeasuredUnit { gate, expected, measured }
            if gate == "lying" && expected == "abs" && measured == "x"));
        assert_eq!(err.to_string(), "gate `lying`: the metric measured in `x`, but the declaration says `abs`");
        let honest = run_gate(&DECLARED, &env()).unwrap();
        assert_eq!(honest.record.unit, "abs");
        assert_eq!(honest.record.details["unit_source"], "declared");
    }

    #[test]
    fn the_manifest_lists_every_declaration_with_its_tiers() {
        static RELEASE_ONLY: GateDecl = GateDecl {
            meta: DeclMeta::new(Location { file: "f.rs", line: 1 }).with_tiers(Tiers::Release).with_family("pipeline"),
            ..decl("release_only", Threshold::Absolute(0.05), Some(Unit::Abs))
        };
        let m = manifest_of(&[&UNDECLARED, &RELEASE_ONLY, &DECLARED], &[]);
        let rows: Vec<(&str, RecordKind, &str, &[Tier])> =
            m.declarations.iter().map(|e| (e.name.as_str(), e.kind, e.family.as_str(), e.tiers.as_slice())).collect();
        assert_eq!(
            rows,
            [
                ("declared", RecordKind::Gate, "general", &[Tier::Quick, Tier::Release][..]),
                ("release_only", RecordKind::Gate, "pipeline", &[Tier::Release][..]),
                ("undeclared", RecordKind::Gate, "general", &[Tier::Quick, Tier::Release][..]),
            ]
        );
    }
}
