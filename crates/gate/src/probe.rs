//! Probes: what a gate's timed subjects measure when a base build and a candidate build are
//! compared (`cargo xtask release-check --against REV`).
//!
//! A gate declares a regression tolerance and the probe that times its subject in one line:
//! `gate!(… >= 3 x, regress <= 5% on pipeline_probe, …)`. A probe is a plain function
//! `fn(&mut GateContext) -> Result<Vec<Timing>, GateError>`: one short sample of each timed
//! subject (a throughput or a time), taken the way the gate's own metric meets the subject.
//! The harness runs every probe once per process in probe mode ([`MODE_PROBE`]) and writes a
//! [`ProbeFile`]; the release check runs base and candidate processes interleaved and compares
//! their samples round by round ([`paired`](super::paired)).
//!
//! Probes time their subject through [`GateContext::time`], which is also the framework's
//! calibrated-slowdown hook: under `IRONFORGE_SLOWDOWN=k` every timed call is followed, inside
//! the timed region, by busy work lasting k% of the call's own time, so the release check can
//! show the smallest slowdown each timed gate catches.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::context::GateContext;
use super::error::GateError;
use super::spec::Unit;

/// `IRONFORGE_MODE`: `gates` (default: run the trials), `probe` or `outputs`.
pub const ENV_MODE: &str = "IRONFORGE_MODE";
/// The value of [`ENV_MODE`] that runs every declared probe once and writes a [`ProbeFile`].
pub const MODE_PROBE: &str = "probe";
/// The value of [`ENV_MODE`] that dumps every drift-declaring scenario's outputs.
pub const MODE_OUTPUTS: &str = "outputs";
/// `IRONFORGE_PROBES`: where probe mode writes its [`ProbeFile`].
pub const ENV_PROBES: &str = "IRONFORGE_PROBES";
/// `IRONFORGE_OUTPUTS`: where outputs mode writes its dump.
pub const ENV_OUTPUTS: &str = "IRONFORGE_OUTPUTS";
/// `IRONFORGE_SLOWDOWN`: percent of busy work added to every [`GateContext::time`] call.
pub const ENV_SLOWDOWN: &str = "IRONFORGE_SLOWDOWN";
/// `IRONFORGE_PROBE_PASSES`: passes over every probe in one probe-mode process
/// (default [`PASSES`](super::modes::PASSES)).
pub const ENV_PROBE_PASSES: &str = "IRONFORGE_PROBE_PASSES";
/// Schema id of a [`ProbeFile`].
pub const PROBES_SCHEMA: &str = "ironforge.probes/1";

/// A probe: one sample of each of a gate's timed subjects.
pub type ProbeFn = fn(&mut GateContext) -> Result<Vec<Timing>, GateError>;

/// A gate's regression tolerance and the probe that times its subjects (`regress <= 5% on probe`).
#[derive(Debug, Clone, Copy)]
pub struct Regression {
    /// Largest slowdown accepted against the base, in percent.
    pub tolerance_pct: f64,
    /// The probe.
    pub probe: ProbeFn,
    /// The probe's path as written.
    pub probe_name: &'static str,
}

impl PartialEq for Regression {
    fn eq(&self, other: &Self) -> bool {
        self.tolerance_pct == other.tolerance_pct && self.probe_name == other.probe_name
    }
}

/// One sample of one timed subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// The subject, unique within its gate (`optimized`, `dispatch/L128`).
    pub metric: String,
    /// Unit name: a throughput (`sessions/s`, `events/s`, `subgraphs/s`: higher is better) or a
    /// time (`ms`, `us`: lower is better).
    pub unit: String,
    /// The sample.
    pub value: f64,
}

impl Timing {
    /// A sample of `metric` in `unit`; refuses a unit that is neither a throughput nor a time and
    /// a value that is not finite and positive.
    ///
    /// ```
    /// use ironforge_gate::probe::Timing;
    /// use ironforge_gate::Unit;
    /// let t = Timing::new("optimized", Unit::SessionsPerSec, 1200.0).unwrap();
    /// assert_eq!(t.unit, "sessions/s");
    /// assert!(Timing::new("x", Unit::Ratio, 2.0).is_err());
    /// assert!(Timing::new("x", Unit::Millis, f64::NAN).is_err());
    /// ```
    pub fn new(metric: impl Into<String>, unit: Unit, value: f64) -> Result<Self, GateError> {
        let metric = metric.into();
        let timed = matches!(
            unit,
            Unit::SessionsPerSec | Unit::EventsPerSec | Unit::SubgraphsPerSec | Unit::Millis | Unit::Micros
        );
        if !timed {
            return Err(GateError::msg(format!(
                "probe metric `{metric}`: unit `{}` is neither a throughput nor a time",
                unit.name()
            )));
        }
        if !(value.is_finite() && value > 0.0) {
            return Err(GateError::msg(format!("probe metric `{metric}`: sample {value} is not a positive number")));
        }
        Ok(Timing { metric, unit: unit.name().to_string(), value })
    }
}

/// What one gate's probe gave in one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// The gate that declared the tolerance.
    pub gate: String,
    /// The probe's path as written.
    pub probe: String,
    /// Tolerance in percent.
    pub tolerance_pct: f64,
    /// One sample per timed subject (empty when the probe failed).
    pub timings: Vec<Timing>,
    /// The probe's error, if it failed.
    pub error: Option<String>,
    /// Wall time of the probe in seconds.
    pub duration_s: f64,
}

/// Everything one probe-mode process measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeFile {
    /// Always [`PROBES_SCHEMA`].
    pub schema: String,
    /// The slowdown (percent) this process added to every timed call.
    pub slowdown_pct: f64,
    /// One record per gate with a regression tolerance, sorted by gate.
    pub records: Vec<ProbeRecord>,
}

/// Samples per probe call. A process calls each probe [`PASSES`](super::modes::PASSES) times,
/// round-robin with the others, and gives one round's value per subject: the fastest sample
/// (interference on a shared machine only ever slows a sample down; the rounds, not the
/// samples, carry the statistics). One sample per call spreads a process's samples over its
/// whole life, so a burst of interference slows one of them, not all; more consecutive samples
/// per call would lengthen every process (fewer rounds per budget) without steadying it.
pub const SAMPLES_PER_CALL: usize = 1;
/// Shortest sample of [`seconds_per_call`]: calls are repeated until a sample lasts this long.
pub const MIN_SAMPLE: Duration = Duration::from_millis(10);

/// The fastest of `samples` (seconds): a process's value for one subject. NaN when empty.
///
/// ```
/// assert_eq!(ironforge_gate::probe::fastest(&[0.3, 0.2, 0.25]), 0.2);
/// ```
pub fn fastest(samples: &[f64]) -> f64 {
    samples.iter().copied().reduce(f64::min).unwrap_or(f64::NAN)
}

/// Seconds per call of `f`: the fastest of [`SAMPLES_PER_CALL`] samples, each repeating `f`
/// until it lasts [`MIN_SAMPLE`] (repetitions calibrated on one untimed call, which also warms
/// the caches), every sample timed through [`GateContext::time`] (so a calibrated slowdown
/// applies).
///
/// ```
/// use ironforge_gate::{probe::seconds_per_call, GateContext};
/// let ctx = GateContext::for_test("demo");
/// let s = seconds_per_call(&ctx, || { std::hint::black_box((0..1000u64).sum::<u64>()); });
/// assert!(s > 0.0 && s < 0.1);
/// ```
pub fn seconds_per_call(ctx: &GateContext, mut f: impl FnMut()) -> f64 {
    let once = Instant::now();
    f();
    let reps = super::speedup::calibrated_reps(once.elapsed(), MIN_SAMPLE);
    let samples: Vec<f64> = (0..SAMPLES_PER_CALL)
        .map(|_| {
            let ((), s) = ctx.time(|| {
                for _ in 0..reps {
                    f();
                }
            });
            s / reps as f64
        })
        .collect();
    fastest(&samples)
}

/// Runs `f` and returns its result and its time in seconds. With a slowdown set
/// ([`GateContext::with_slowdown`]), busy work lasting that share of the call's own time is
/// added before the clock stops: the calibrated slowdown of `--prove`.
pub(crate) fn timed<R>(slowdown: f64, f: impl FnOnce() -> R) -> (R, f64) {
    let start = Instant::now();
    let out = f();
    let own = start.elapsed();
    if slowdown > 0.0 {
        busy_wait(own.mul_f64(slowdown));
    }
    (out, start.elapsed().as_secs_f64())
}

/// Spins (no sleep: the core stays busy, as slower code would keep it) for `d`.
fn busy_wait(d: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < d {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Parses `IRONFORGE_SLOWDOWN` (percent, default 0) into a fraction.
///
/// ```
/// use ironforge_gate::probe::parse_slowdown;
/// assert_eq!(parse_slowdown(None).unwrap(), 0.0);
/// assert_eq!(parse_slowdown(Some("10")).unwrap(), 0.1);
/// assert!(parse_slowdown(Some("-3")).is_err());
/// ```
pub fn parse_slowdown(value: Option<&str>) -> Result<f64, GateError> {
    match value.map(str::trim) {
        None | Some("") => Ok(0.0),
        Some(s) => match s.parse::<f64>() {
            Ok(p) if p.is_finite() && (0.0..=1000.0).contains(&p) => Ok(p / 100.0),
            _ => {
                Err(GateError::Env { var: ENV_SLOWDOWN, value: s.to_string(), expected: "a percentage from 0 to 1000" })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slowdown_adds_its_share_of_the_calls_own_time() {
        let work = || {
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(20) {}
        };
        let ((), plain) = timed(0.0, work);
        let ((), slowed) = timed(0.5, work);
        assert!((0.020..0.5).contains(&plain), "{plain}");
        assert!(slowed >= 0.030, "{slowed}");
    }

    #[test]
    fn timings_refuse_units_and_values_that_cannot_be_compared() {
        assert!(Timing::new("m", Unit::Micros, 3.0).is_ok());
        assert!(Timing::new("m", Unit::Bytes, 3.0).is_err());
        assert!(Timing::new("m", Unit::Micros, 0.0).is_err());
        assert!(Timing::new("m", Unit::Micros, f64::INFINITY).is_err());
    }
}
