//! What a gate declares: comparator, threshold with unit, tiers, family, doc, fault, location.
//!
//! Every type here is `const`-constructible so that the [`gate!`](crate::gate!) macro can build
//! descriptors at compile time and register them with `inventory`.

use super::error::GateError;
use super::probe::Regression;
use super::record::Tier;

/// How the measured bound is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
}

impl Comparator {
    /// The comparator as written in a declaration.
    pub const fn symbol(self) -> &'static str {
        match self {
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Le => "<=",
            Comparator::Lt => "<",
        }
    }

    /// True for `>=` and `>`: bigger is better, so the interval's lower end is the bound.
    pub const fn wants_large(self) -> bool {
        matches!(self, Comparator::Ge | Comparator::Gt)
    }

    /// Whether `bound OP threshold` holds. NaN never holds.
    ///
    /// ```
    /// use ironforge_gate::Comparator;
    /// assert!(Comparator::Ge.holds(1.4, 1.4));
    /// assert!(!Comparator::Gt.holds(1.4, 1.4));
    /// assert!(Comparator::Lt.holds(0.01, 0.05));
    /// ```
    pub fn holds(self, bound: f64, threshold: f64) -> bool {
        match self {
            Comparator::Ge => bound >= threshold,
            Comparator::Gt => bound > threshold,
            Comparator::Le => bound <= threshold,
            Comparator::Lt => bound < threshold,
        }
    }

    /// The comparator written as `symbol` (`>=`, `>`, `<=`, `<`); `None` for anything else.
    ///
    /// ```
    /// use ironforge_gate::Comparator;
    /// assert_eq!(Comparator::from_symbol("<="), Some(Comparator::Le));
    /// assert_eq!(Comparator::from_symbol("=="), None);
    /// ```
    pub fn from_symbol(symbol: &str) -> Option<Self> {
        [Comparator::Ge, Comparator::Gt, Comparator::Le, Comparator::Lt].into_iter().find(|c| c.symbol() == symbol)
    }

    /// Signed distance of `bound` from `threshold` in the passing direction (positive = passing side).
    pub fn margin(self, bound: f64, threshold: f64) -> f64 {
        if self.wants_large() {
            bound - threshold
        } else {
            threshold - bound
        }
    }
}

/// Unit of a measured value (and of a resolved threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A plain number (errors, counts, lifts).
    Abs,
    /// A ratio, written `x` (speed-ups).
    Ratio,
    /// Percent (0–100).
    Percent,
    /// A fraction (0–1), comparable with percent thresholds.
    Fraction,
    /// Bytes.
    Bytes,
    /// Throughput: sessions per second.
    SessionsPerSec,
    /// Throughput: events per second.
    EventsPerSec,
    /// Throughput: subgraphs (motif instances) per second.
    SubgraphsPerSec,
    /// Time in milliseconds.
    Millis,
    /// Time in microseconds.
    Micros,
}

impl Unit {
    /// Every unit, in declaration order.
    pub const ALL: [Unit; 10] = [
        Unit::Abs,
        Unit::Ratio,
        Unit::Percent,
        Unit::Fraction,
        Unit::Bytes,
        Unit::SessionsPerSec,
        Unit::EventsPerSec,
        Unit::SubgraphsPerSec,
        Unit::Millis,
        Unit::Micros,
    ];

    /// The unit whose [`name`](Unit::name) is `name`.
    ///
    /// ```
    /// use ironforge_gate::Unit;
    /// assert_eq!(Unit::from_name("sessions/s"), Some(Unit::SessionsPerSec));
    /// assert_eq!(Unit::from_name("furlongs"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Unit::ALL.into_iter().find(|u| u.name() == name)
    }

    /// Short name written to the record.
    pub const fn name(self) -> &'static str {
        match self {
            Unit::Abs => "abs",
            Unit::Ratio => "x",
            Unit::Percent => "%",
            Unit::Fraction => "fraction",
            Unit::Bytes => "bytes",
            Unit::SessionsPerSec => "sessions/s",
            Unit::EventsPerSec => "events/s",
            Unit::SubgraphsPerSec => "subgraphs/s",
            Unit::Millis => "ms",
            Unit::Micros => "us",
        }
    }
}

/// A threshold as declared, before it is resolved against the metric's unit.
///
/// Each form fits a fixed set of units ([`Threshold::fitting_units`]): a static metric
/// (`Measured<U>`) is checked against it at compile time, a dynamic one before anything is
/// measured (its declared unit) and again after (its measured unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A bare number: only for dimensionless metrics ([`Unit::Abs`], [`Unit::Fraction`]).
    Absolute(f64),
    /// `1.4 x`: only comparable with [`Unit::Ratio`].
    Ratio(f64),
    /// `10%`: compared with [`Unit::Percent`] as is, with [`Unit::Fraction`] divided by 100.
    Percent(f64),
    /// `70% of ram`: that share of `MemTotal` from `/proc/meminfo`, in bytes, read at run time.
    PercentOfRam(f64),
    /// `512 MiB`, `1 GiB`, `4096 bytes`: a byte count.
    Bytes(f64),
    /// `3000 sessions/s`.
    SessionsPerSec(f64),
    /// `1e5 events/s`.
    EventsPerSec(f64),
    /// `2e6 subgraphs/s`.
    SubgraphsPerSec(f64),
    /// `2 ms`: compared with [`Unit::Millis`] as is, with [`Unit::Micros`] times 1000.
    Millis(f64),
    /// `500 us`: compared with [`Unit::Micros`] as is, with [`Unit::Millis`] divided by 1000.
    Micros(f64),
}

impl Threshold {
    /// The threshold as written (`1.4 x`, `70% of ram`, ...), for messages and records.
    pub fn describe(&self) -> String {
        match *self {
            Threshold::Absolute(v) => format!("{v}"),
            Threshold::Percent(v) => format!("{v}%"),
            Threshold::PercentOfRam(v) => format!("{v}% of ram"),
            Threshold::Ratio(v)
            | Threshold::Bytes(v)
            | Threshold::SessionsPerSec(v)
            | Threshold::EventsPerSec(v)
            | Threshold::SubgraphsPerSec(v)
            | Threshold::Millis(v)
            | Threshold::Micros(v) => format!("{v} {}", self.spelling()),
        }
    }

    /// The threshold's unit as written: empty for a bare number, `x`, `%`, `% of ram`, `bytes`,
    /// `sessions/s`, `events/s`, `subgraphs/s`, `ms`, `us`.
    pub const fn spelling(&self) -> &'static str {
        match self {
            Threshold::Absolute(_) => "",
            Threshold::Ratio(_) => "x",
            Threshold::Percent(_) => "%",
            Threshold::PercentOfRam(_) => "% of ram",
            Threshold::Bytes(_) => "bytes",
            Threshold::SessionsPerSec(_) => "sessions/s",
            Threshold::EventsPerSec(_) => "events/s",
            Threshold::SubgraphsPerSec(_) => "subgraphs/s",
            Threshold::Millis(_) => "ms",
            Threshold::Micros(_) => "us",
        }
    }

    /// The units a metric may measure in for this threshold to be compared with it.
    ///
    /// ```
    /// use ironforge_gate::{Threshold, Unit};
    /// assert_eq!(Threshold::Absolute(0.05).fitting_units(), [Unit::Abs, Unit::Fraction]);
    /// assert_eq!(Threshold::Millis(2.0).fitting_units(), [Unit::Millis, Unit::Micros]);
    /// ```
    pub const fn fitting_units(&self) -> &'static [Unit] {
        match self {
            Threshold::Absolute(_) => &[Unit::Abs, Unit::Fraction],
            Threshold::Ratio(_) => &[Unit::Ratio],
            Threshold::Percent(_) => &[Unit::Percent, Unit::Fraction],
            Threshold::PercentOfRam(_) | Threshold::Bytes(_) => &[Unit::Bytes],
            Threshold::SessionsPerSec(_) => &[Unit::SessionsPerSec],
            Threshold::EventsPerSec(_) => &[Unit::EventsPerSec],
            Threshold::SubgraphsPerSec(_) => &[Unit::SubgraphsPerSec],
            Threshold::Millis(_) | Threshold::Micros(_) => &[Unit::Millis, Unit::Micros],
        }
    }

    /// Whether a metric measured in `unit` can be compared with this threshold.
    ///
    /// ```
    /// use ironforge_gate::{Threshold, Unit};
    /// assert!(Threshold::Percent(10.0).fits(Unit::Fraction));
    /// assert!(!Threshold::Absolute(1.0).fits(Unit::Ratio));
    /// ```
    pub fn fits(&self, unit: Unit) -> bool {
        self.fitting_units().contains(&unit)
    }

    /// The error saying that this threshold does not fit `unit`.
    pub fn mismatch(&self, gate: &str, unit: Unit) -> GateError {
        let fits: Vec<String> = self.fitting_units().iter().map(|u| format!("`{}`", u.name())).collect();
        GateError::UnitMismatch {
            gate: gate.to_string(),
            threshold: self.describe(),
            unit: unit.name().to_string(),
            fits: fits.join(", "),
        }
    }

    /// Resolves the threshold into `measured` units. `mem_total` is asked only for `% of ram`.
    ///
    /// ```
    /// use ironforge_gate::{Threshold, Unit};
    /// let t = Threshold::PercentOfRam(70.0);
    /// assert_eq!(t.resolve("g", Unit::Bytes, || Ok(1000)).unwrap(), 700.0);
    /// assert_eq!(Threshold::Percent(10.0).resolve("g", Unit::Fraction, || unreachable!()).unwrap(), 0.1);
    /// assert_eq!(Threshold::Millis(2.0).resolve("g", Unit::Micros, || unreachable!()).unwrap(), 2000.0);
    /// assert!(Threshold::Ratio(1.4).resolve("g", Unit::Bytes, || Ok(1)).is_err());
    /// assert!(Threshold::Absolute(1.0).resolve("g", Unit::Ratio, || Ok(1)).is_err());
    /// ```
    pub fn resolve(
        &self,
        gate: &str,
        measured: Unit,
        mem_total: impl FnOnce() -> Result<u64, GateError>,
    ) -> Result<f64, GateError> {
        if !self.fits(measured) {
            return Err(self.mismatch(gate, measured));
        }
        Ok(match (*self, measured) {
            (Threshold::Percent(v), Unit::Fraction) => v / 100.0,
            (Threshold::PercentOfRam(v), _) => v / 100.0 * mem_total()? as f64,
            (Threshold::Millis(v), Unit::Micros) => v * 1000.0,
            (Threshold::Micros(v), Unit::Millis) => v / 1000.0,
            (
                Threshold::Absolute(v)
                | Threshold::Ratio(v)
                | Threshold::Percent(v)
                | Threshold::Bytes(v)
                | Threshold::SessionsPerSec(v)
                | Threshold::EventsPerSec(v)
                | Threshold::SubgraphsPerSec(v)
                | Threshold::Millis(v)
                | Threshold::Micros(v),
                _,
            ) => v,
        })
    }
}

/// The tiers a gate runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tiers {
    /// Only `cargo test` (quick).
    Quick,
    /// Only the release check.
    Release,
    /// Both (the default).
    Both,
}

impl Tiers {
    /// Whether the gate belongs to `tier`.
    pub const fn contains(self, tier: Tier) -> bool {
        matches!((self, tier), (Tiers::Both, _) | (Tiers::Quick, Tier::Quick) | (Tiers::Release, Tier::Release))
    }

    /// The tier to run at when the gate is not part of the current one (`--ignored` runs).
    pub const fn own(self) -> Tier {
        match self {
            Tiers::Quick => Tier::Quick,
            Tiers::Release | Tiers::Both => Tier::Release,
        }
    }
}

/// A fault that can be injected into a gate's metric to prove the gate can fail
/// (`IRONFORGE_PROVE=1`). Metric code asks [`GateContext::injected`](super::GateContext::injected).
///
/// ```
/// use ironforge_gate::Fault;
/// pub const SLOW_CANDIDATE: Fault = Fault::new("slow_candidate", "candidate slowed down 3x");
/// assert_eq!(SLOW_CANDIDATE.name, "slow_candidate");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Identifier.
    pub name: &'static str,
    /// What the fault does, in words (goes to [`Proof::fault`](super::record::Proof)).
    pub description: &'static str,
}

impl Fault {
    /// A fault from its name and description.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Fault { name, description }
    }
}

/// Where a declaration was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

/// What gates and scenarios share: family tag, tiers, doc string, fault, location, and the
/// comparison with a base build: a gate's regression tolerance with its probe, a scenario's
/// output-drift tolerance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeclMeta {
    /// Family tag (trial kind): `attention`, `dag`, `motif`, `pipeline`, `demo`...
    pub family: &'static str,
    /// Tiers the declaration runs in.
    pub tiers: Tiers,
    /// What the gate guards, in words. Required (checked at compile time by the macros).
    pub doc: &'static str,
    /// The fault that must make it fail, if declared.
    pub fault: Option<&'static Fault>,
    /// Source location.
    pub location: Location,
    /// Gates: `regress <= N% on probe` (compared with a base build by `release-check --against`).
    pub regression: Option<&'static Regression>,
    /// Scenarios: `drift <= TOL`, the largest change of the candidate's outputs allowed against a
    /// base build (0: any change fails).
    pub drift: Option<f64>,
}

impl DeclMeta {
    /// Defaults: family `general`, both tiers, empty doc, no fault.
    pub const fn new(location: Location) -> Self {
        DeclMeta {
            family: "general",
            tiers: Tiers::Both,
            doc: "",
            fault: None,
            location,
            regression: None,
            drift: None,
        }
    }
    /// Sets the family tag.
    pub const fn with_family(mut self, family: &'static str) -> Self {
        self.family = family;
        self
    }
    /// Sets the tiers.
    pub const fn with_tiers(mut self, tiers: Tiers) -> Self {
        self.tiers = tiers;
        self
    }
    /// Sets the doc string.
    pub const fn with_doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }
    /// Sets the fault.
    pub const fn with_fault(mut self, fault: &'static Fault) -> Self {
        self.fault = Some(fault);
        self
    }
    /// Sets the regression tolerance and probe (gates).
    pub const fn with_regression(mut self, regression: &'static Regression) -> Self {
        self.regression = Some(regression);
        self
    }
    /// Sets the drift tolerance (scenarios).
    pub const fn with_drift(mut self, tolerance: f64) -> Self {
        self.drift = Some(tolerance);
        self
    }
}
