//! The harness's two comparison modes (`IRONFORGE_MODE`), what `release-check --against REV`
//! asks of the base build and of the candidate:
//!
//! - `probe`: every gate with `regress <= N% on probe` runs its probe once; the samples go to
//!   the [`ProbeFile`] at `IRONFORGE_PROBES` (one process = one sample per timed subject);
//! - `outputs`: every scenario with `drift <= TOL` writes its candidate's output on every case
//!   to the drift dump at `IRONFORGE_OUTPUTS` ([`drift`](super::drift)).
//!
//! Neither runs a trial. A harness from before these modes ignores the variable: the release
//! check also passes a trial filter that matches nothing, so such a harness exits at once and
//! writes no file, and its gates are reported as absent from the base.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::context::GateContext;
use super::drift::DriftWriter;
use super::env::HarnessEnv;
use super::error::GateError;
use super::probe::{
    parse_slowdown, ProbeFile, ProbeRecord, Regression, Timing, ENV_MODE, ENV_OUTPUTS, ENV_PROBES, ENV_PROBE_PASSES,
    ENV_SLOWDOWN, MODE_OUTPUTS, MODE_PROBE, PROBES_SCHEMA,
};
use super::registry::{GateDecl, ScenarioDecl};
use super::runner::effective_tier;
use super::spec::Unit;

/// What the harness process was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Run the trials (the default).
    Gates,
    /// Run every probe `passes` times, slowed down by `slowdown` (a fraction), and write `out`.
    Probe {
        /// Where the [`ProbeFile`] goes.
        out: PathBuf,
        /// Calibrated slowdown of every timed call.
        slowdown: f64,
        /// Passes over every probe ([`PASSES`] unless `IRONFORGE_PROBE_PASSES` says otherwise).
        passes: usize,
    },
    /// Dump every drift-declaring scenario's outputs to `out`.
    Outputs {
        /// Where the dump goes.
        out: PathBuf,
    },
}

impl Mode {
    /// Reads the process environment ([`Mode::from_lookup`]).
    pub fn from_env() -> Result<Self, GateError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads `IRONFORGE_MODE`, `IRONFORGE_PROBES`, `IRONFORGE_OUTPUTS`, `IRONFORGE_SLOWDOWN` and
    /// `IRONFORGE_PROBE_PASSES` through `lookup`.
    ///
    /// ```
    /// use ironforge_gate::modes::Mode;
    /// let env = |pairs: &'static [(&'static str, &'static str)]| {
    ///     move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
    /// };
    /// assert_eq!(Mode::from_lookup(env(&[])).unwrap(), Mode::Gates);
    /// let probe = Mode::from_lookup(env(&[("IRONFORGE_MODE", "probe"), ("IRONFORGE_PROBES", "/t/p.json"),
    ///     ("IRONFORGE_SLOWDOWN", "10")])).unwrap();
    /// assert_eq!(probe, Mode::Probe { out: "/t/p.json".into(), slowdown: 0.1, passes: 3 });
    /// assert!(Mode::from_lookup(env(&[("IRONFORGE_MODE", "probe")])).is_err());
    /// let two = Mode::from_lookup(env(&[("IRONFORGE_MODE", "probe"), ("IRONFORGE_PROBES", "/t/p.json"),
    ///     ("IRONFORGE_PROBE_PASSES", "2")])).unwrap();
    /// assert_eq!(two, Mode::Probe { out: "/t/p.json".into(), slowdown: 0.0, passes: 2 });
    /// assert!(Mode::from_lookup(env(&[("IRONFORGE_MODE", "probe"), ("IRONFORGE_PROBES", "/t/p.json"),
    ///     ("IRONFORGE_PROBE_PASSES", "0")])).is_err());
    /// assert!(Mode::from_lookup(env(&[("IRONFORGE_MODE", "fast")])).is_err());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GateError> {
        let path = |var: &'static str| {
            lookup(var).filter(|s| !s.trim().is_empty()).map(PathBuf::from).ok_or(GateError::Env {
                var,
                value: String::new(),
                expected: "a file path (the mode writes its results there)",
            })
        };
        match lookup(ENV_MODE).as_deref().map(str::trim) {
            None | Some("") | Some("gates") => Ok(Mode::Gates),
            Some(MODE_PROBE) => {
                let passes = match lookup(ENV_PROBE_PASSES).as_deref().map(str::trim) {
                    None | Some("") => PASSES,
                    Some(v) => v.parse().ok().filter(|n| (1..=100).contains(n)).ok_or(GateError::Env {
                        var: ENV_PROBE_PASSES,
                        value: v.to_string(),
                        expected: "a whole number of passes from 1 to 100",
                    })?,
                };
                Ok(Mode::Probe {
                    out: path(ENV_PROBES)?,
                    slowdown: parse_slowdown(lookup(ENV_SLOWDOWN).as_deref())?,
                    passes,
                })
            }
            Some(MODE_OUTPUTS) => Ok(Mode::Outputs { out: path(ENV_OUTPUTS)? }),
            Some(other) => Err(GateError::Env {
                var: ENV_MODE,
                value: other.to_string(),
                expected: "`gates`, `probe` or `outputs`",
            }),
        }
    }
}

/// Passes over every probe in one process: each probe runs this many times, round-robin with
/// the others, and each subject keeps its fastest sample. A burst of interference (another
/// tenant of a shared machine, a periodic job) shorter than the process then slows one pass,
/// not the process's value.
pub const PASSES: usize = 3;

/// Runs the probe of every gate that declares one (sorted by gate name) `passes` times,
/// round-robin, in contexts slowed down by `slowdown`; each subject keeps its fastest sample
/// (highest throughput, lowest time). A failing probe is recorded with its error, not raised.
pub fn run_probes(gates: &[&GateDecl], env: &HarnessEnv, slowdown: f64, passes: usize) -> ProbeFile {
    let probed: Vec<(&GateDecl, &Regression)> =
        gates.iter().filter_map(|g| g.meta.regression.map(|r| (*g, r))).collect();
    let mut records: Vec<ProbeRecord> = probed
        .iter()
        .map(|(g, r)| ProbeRecord {
            gate: g.name.to_string(),
            probe: r.probe_name.to_string(),
            tolerance_pct: r.tolerance_pct,
            timings: Vec::new(),
            error: None,
            duration_s: 0.0,
        })
        .collect();
    for _ in 0..passes {
        for ((g, regression), record) in probed.iter().zip(records.iter_mut()) {
            if record.error.is_some() {
                continue;
            }
            let tier = effective_tier(&g.meta, env);
            let mut ctx = GateContext::new(g.name, tier, env.seed, env.sessions.clone()).with_slowdown(slowdown);
            let start = Instant::now();
            match (regression.probe)(&mut ctx).and_then(|t| check_timings(g.name, t)) {
                Ok(t) => keep_fastest(&mut record.timings, t),
                Err(e) => {
                    record.error = Some(e.to_string());
                    record.timings.clear();
                }
            }
            record.duration_s += start.elapsed().as_secs_f64();
        }
    }
    ProbeFile { schema: PROBES_SCHEMA.to_string(), slowdown_pct: slowdown * 100.0, records }
}

/// Merges a pass's samples into `kept`: per subject the faster one (higher throughput, lower
/// time); a subject first seen now is added.
fn keep_fastest(kept: &mut Vec<Timing>, pass: Vec<Timing>) {
    for t in pass {
        match kept.iter_mut().find(|k| k.metric == t.metric) {
            None => kept.push(t),
            Some(k) => {
                let lower_is_better = matches!(Unit::from_name(&t.unit), Some(Unit::Millis | Unit::Micros));
                if (lower_is_better && t.value < k.value) || (!lower_is_better && t.value > k.value) {
                    *k = t;
                }
            }
        }
    }
}

/// Refuses a probe that measured nothing or named a subject twice.
fn check_timings(gate: &str, timings: Vec<Timing>) -> Result<Vec<Timing>, GateError> {
    if timings.is_empty() {
        return Err(GateError::msg(format!("gate `{gate}`: its probe measured no subject")));
    }
    let mut names: Vec<&str> = timings.iter().map(|t| t.metric.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(GateError::msg(format!("gate `{gate}`: its probe measured `{}` twice", w[0])));
    }
    Ok(timings)
}

/// Writes `file` to `path` whole or not at all ([`crate::atomic::write_atomic`]).
pub fn write_probe_file(path: &Path, file: &ProbeFile) -> Result<(), GateError> {
    let mut bytes = serde_json::to_vec_pretty(file).map_err(GateError::msg)?;
    bytes.push(b'\n');
    crate::atomic::write_atomic(path, &bytes)
        .map_err(|e| GateError::msg(format!("write probe file {}: {e}", path.display())))
}

/// Dumps the outputs of every scenario that declares `drift <= TOL` to `out` (sorted by name);
/// returns the number of (scenario, case) records written. Any error aborts the dump and
/// leaves no file under `out`'s name.
pub fn dump_outputs(scenarios: &[&ScenarioDecl], env: &HarnessEnv, out: &Path) -> Result<usize, GateError> {
    let mut writer = DriftWriter::create(out).map_err(GateError::msg)?;
    let mut cases = 0;
    for s in scenarios {
        let Some(tolerance) = s.meta.drift else { continue };
        let ctx = GateContext::new(s.name, effective_tier(&s.meta, env), env.seed, env.sessions.clone());
        cases += (s.dump)(&ctx, tolerance, &mut writer).map_err(|e| e.in_gate(s.name))?;
    }
    writer.finish().map_err(GateError::msg)?;
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subject_keeps_its_fastest_pass() {
        let t = |m: &str, u: Unit, v: f64| Timing::new(m, u, v).unwrap();
        let mut kept = Vec::new();
        keep_fastest(&mut kept, vec![t("rate", Unit::SessionsPerSec, 100.0), t("time", Unit::Micros, 5.0)]);
        keep_fastest(&mut kept, vec![t("rate", Unit::SessionsPerSec, 90.0), t("time", Unit::Micros, 4.0)]);
        keep_fastest(&mut kept, vec![t("rate", Unit::SessionsPerSec, 120.0), t("time", Unit::Micros, 6.0)]);
        assert_eq!(kept, [t("rate", Unit::SessionsPerSec, 120.0), t("time", Unit::Micros, 4.0)]);
    }
}
