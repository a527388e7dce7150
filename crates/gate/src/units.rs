//! Static units: a metric that returns [`Measured<U>`] states its unit in its type, and a
//! threshold whose unit does not fit `U` is a compile error.
//!
//! `U` is one of the zero-sized markers of this module, one per [`Unit`]: [`Abs`], [`Ratio`],
//! [`Percent`], [`Fraction`], [`Bytes`], [`SessionsPerSec`], [`EventsPerSec`],
//! [`SubgraphsPerSec`], [`Millis`], [`Micros`]. A metric returning a plain [`Measurement`]
//! (its unit known only at run time) is *dynamic*: its declaration states the unit with
//! `unit = ...` and the harness checks it before and after measuring (see `docs/gates.md`).
//!
//! Which threshold fits which unit ([`Threshold::fitting_units`](super::Threshold::fitting_units)):
//!
//! | threshold | fits |
//! |---|---|
//! | bare number | `Abs`, `Fraction` |
//! | `x` | `Ratio` |
//! | `%` | `Percent`, `Fraction` |
//! | `bytes`, `KiB`, `MiB`, `GiB`, `% of ram` | `Bytes` |
//! | `sessions/s`, `events/s`, `subgraphs/s` | `SessionsPerSec`, `EventsPerSec`, `SubgraphsPerSec` (each its own) |
//! | `ms`, `us` | `Millis`, `Micros` (converted into each other) |
//!
//! ```
//! use ironforge_gate::gate;
//! use ironforge_gate::units::{Measured, Millis};
//! use ironforge_gate::{GateContext, GateError};
//!
//! fn p99_latency(_ctx: &mut GateContext) -> Result<Measured<Millis>, GateError> {
//!     Ok(Measured::<Millis>::new(1.2).with_samples(vec![0.9, 1.2, 1.1]))
//! }
//!
//! gate!(p99: p99_latency() <= 1500 us, family = "demo", doc = "p99 under 1.5 ms");
//! // gate!(p99: p99_latency() <= 1.5 x, ...) would not compile:
//! // "threshold in `x` does not fit a metric measured in `ms`".
//! ```

use std::fmt;
use std::marker::PhantomData;

use super::error::GateError;
use super::measurement::Measurement;
use super::spec::Unit;

mod sealed {
    pub trait Sealed {}
}

/// A zero-sized marker of a [`Unit`], the `U` of [`Measured<U>`]. Implemented by the markers
/// of this module only.
pub trait StaticUnit: sealed::Sealed + Copy + Default + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The unit the marker stands for.
    const UNIT: Unit;
    /// The unit as the compiler spells it in unit errors (`x`, `ms`, ...).
    #[doc(hidden)]
    type Spelling;
}

macro_rules! markers {
    ($($(#[$doc:meta])* $name:ident => $spelling:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
            pub struct $name;
            impl sealed::Sealed for $name {}
            impl StaticUnit for $name {
                const UNIT: Unit = Unit::$name;
                type Spelling = check::$spelling;
            }
        )*
    };
}

markers! {
    /// [`Unit::Abs`]: a plain number (errors, counts, lifts); takes bare-number thresholds.
    Abs => abs;
    /// [`Unit::Ratio`]: a ratio (speed-ups); takes `x` thresholds.
    Ratio => x;
    /// [`Unit::Percent`]: percent (0–100); takes `%` thresholds.
    Percent => percent;
    /// [`Unit::Fraction`]: a fraction (0–1); takes bare-number and `%` thresholds.
    Fraction => fraction;
    /// [`Unit::Bytes`]: bytes; takes `bytes`, `KiB`, `MiB`, `GiB` and `% of ram` thresholds.
    Bytes => bytes;
    /// [`Unit::SessionsPerSec`]: takes `sessions/s` thresholds.
    SessionsPerSec => sessions_per_s;
    /// [`Unit::EventsPerSec`]: takes `events/s` thresholds.
    EventsPerSec => events_per_s;
    /// [`Unit::SubgraphsPerSec`]: takes `subgraphs/s` thresholds.
    SubgraphsPerSec => subgraphs_per_s;
    /// [`Unit::Millis`]: milliseconds; takes `ms` and `us` thresholds.
    Millis => ms;
    /// [`Unit::Micros`]: microseconds; takes `us` and `ms` thresholds.
    Micros => us;
}

/// A [`Measurement`] whose unit is fixed by its type: what a *static* metric returns.
///
/// ```
/// use ironforge_gate::units::{Measured, Ratio, StaticUnit};
/// use ironforge_gate::{Measurement, Unit};
///
/// let m = Measured::<Ratio>::new(2.0).with_interval(1.8, 2.2).with_samples(vec![1.9, 2.0, 2.1]);
/// assert_eq!(m.value(), 2.0);
/// assert_eq!(Ratio::UNIT, Unit::Ratio);
/// let plain: Measurement = m.into();
/// assert_eq!((plain.unit, plain.interval), (Unit::Ratio, Some([1.8, 2.2])));
/// // Back again only in the same unit.
/// assert!(Measured::<Ratio>::try_from(plain.clone()).is_ok());
/// assert!(ironforge_gate::units::Measured::<ironforge_gate::units::Bytes>::try_from(plain).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Measured<U> {
    measurement: Measurement,
    unit: PhantomData<U>,
}

impl<U: StaticUnit> Measured<U> {
    /// A point value in `U`, without interval or samples.
    pub fn new(value: f64) -> Self {
        Measured { measurement: Measurement::new(value, U::UNIT), unit: PhantomData }
    }
    /// Adds a 95% interval `[low, high]` (in `U`).
    pub fn with_interval(mut self, low: f64, high: f64) -> Self {
        self.measurement = self.measurement.with_interval(low, high);
        self
    }
    /// Adds raw samples (in `U`).
    pub fn with_samples(mut self, samples: Vec<f64>) -> Self {
        self.measurement = self.measurement.with_samples(samples);
        self
    }
    /// The point value.
    pub fn value(&self) -> f64 {
        self.measurement.value
    }
    /// The measurement (its `unit` is `U::UNIT`).
    pub fn measurement(&self) -> &Measurement {
        &self.measurement
    }
}

impl<U: StaticUnit> From<Measured<U>> for Measurement {
    fn from(m: Measured<U>) -> Self {
        m.measurement
    }
}

/// A dynamic measurement taken as static: refused ([`GateError::MeasuredUnit`]) when its unit
/// is not `U::UNIT`. Lets a static metric return what a dynamic helper measured, e.g.
/// `measure_speedup(..).and_then(Measured::<Ratio>::try_from)`.
impl<U: StaticUnit> TryFrom<Measurement> for Measured<U> {
    type Error = GateError;
    fn try_from(m: Measurement) -> Result<Self, GateError> {
        if m.unit == U::UNIT {
            Ok(Measured { measurement: m, unit: PhantomData })
        } else {
            Err(GateError::MeasuredUnit {
                gate: String::new(),
                expected: U::UNIT.name().to_string(),
                measured: m.unit.name().to_string(),
            })
        }
    }
}

/// What a metric function returns inside its `Result`: a dynamic [`Measurement`] (unit known
/// at run time) or a static [`Measured<U>`]. Implemented for those two only.
#[diagnostic::on_unimplemented(
    message = "a metric returns `Result<Measurement, GateError>` or `Result<Measured<U>, GateError>`, not `Result<{Self}, GateError>`",
    label = "this metric's `Ok` type is `{Self}`"
)]
pub trait MetricOutput: sealed::Sealed {
    /// The static unit, `None` for a dynamic [`Measurement`].
    const UNIT: Option<Unit>;
    /// The unit as the compiler spells it in unit errors.
    #[doc(hidden)]
    type Spelling;
    /// The measurement the runner judges.
    fn into_measurement(self) -> Measurement;
}

impl sealed::Sealed for Measurement {}
impl MetricOutput for Measurement {
    const UNIT: Option<Unit> = None;
    type Spelling = check::dynamic;
    fn into_measurement(self) -> Measurement {
        self
    }
}

impl<U: StaticUnit> sealed::Sealed for Measured<U> {}
impl<U: StaticUnit> MetricOutput for Measured<U> {
    const UNIT: Option<Unit> = Some(U::UNIT);
    type Spelling = U::Spelling;
    fn into_measurement(self) -> Measurement {
        self.measurement
    }
}

/// The compile-time unit checks `gate!` expands to. Nothing here is meant to be called by
/// hand; it is public so that compiler messages name units as they are written.
///
/// Each lower-case type stands for a unit in those messages (`x` for [`Ratio`], `ms` for
/// [`Millis`], ...; `dynamic` for a [`Measurement`], `undeclared` for no `unit =` option). Each
/// `Accepts*` trait is one threshold form and is implemented by the units it fits (and by
/// `dynamic`: the harness checks a dynamic metric at run time); [`DeclaredAs<D>`](check::DeclaredAs)
/// says a `unit = D` option agrees with the metric. The `fits_*` functions carry those bounds.
#[allow(non_camel_case_types)]
pub mod check {
    use super::{GateError, MetricOutput, Unit};
    use crate::GateContext;

    /// The unit a `unit = ...` option declares.
    pub trait Declared {
        /// `None` for no `unit =` option.
        const UNIT: Option<Unit>;
    }

    macro_rules! spellings {
        ($($name:ident => $unit:expr;)*) => {
            $(
                #[doc = concat!("`", stringify!($name), "` in compiler messages.")]
                pub enum $name {}
                impl Declared for $name {
                    const UNIT: Option<Unit> = $unit;
                }
            )*
        };
    }

    spellings! {
        abs => Some(Unit::Abs);
        x => Some(Unit::Ratio);
        percent => Some(Unit::Percent);
        fraction => Some(Unit::Fraction);
        bytes => Some(Unit::Bytes);
        sessions_per_s => Some(Unit::SessionsPerSec);
        events_per_s => Some(Unit::EventsPerSec);
        subgraphs_per_s => Some(Unit::SubgraphsPerSec);
        ms => Some(Unit::Millis);
        us => Some(Unit::Micros);
        undeclared => None;
        dynamic => None;
    }

    /// `unit = D` agrees with the metric's unit.
    #[diagnostic::on_unimplemented(
        message = "`unit = {D}` contradicts the metric's static unit `{Self}`",
        label = "the metric returns `Measured<_>` in `{Self}`",
        note = "a metric returning `Measured<U>` needs no `unit =` option: drop it or make it agree"
    )]
    pub trait DeclaredAs<D> {}
    impl<D> DeclaredAs<D> for dynamic {}

    impl DeclaredAs<undeclared> for abs {}
    impl DeclaredAs<abs> for abs {}
    impl DeclaredAs<undeclared> for x {}
    impl DeclaredAs<x> for x {}
    impl DeclaredAs<undeclared> for percent {}
    impl DeclaredAs<percent> for percent {}
    impl DeclaredAs<undeclared> for fraction {}
    impl DeclaredAs<fraction> for fraction {}
    impl DeclaredAs<undeclared> for bytes {}
    impl DeclaredAs<bytes> for bytes {}
    impl DeclaredAs<undeclared> for sessions_per_s {}
    impl DeclaredAs<sessions_per_s> for sessions_per_s {}
    impl DeclaredAs<undeclared> for events_per_s {}
    impl DeclaredAs<events_per_s> for events_per_s {}
    impl DeclaredAs<undeclared> for subgraphs_per_s {}
    impl DeclaredAs<subgraphs_per_s> for subgraphs_per_s {}
    impl DeclaredAs<undeclared> for ms {}
    impl DeclaredAs<ms> for ms {}
    impl DeclaredAs<undeclared> for us {}
    impl DeclaredAs<us> for us {}

    /// A bare-number threshold fits.
    #[diagnostic::on_unimplemented(
        message = "a bare-number threshold does not fit a metric measured in `{Self}`",
        label = "write the threshold with its unit",
        note = "bare numbers fit dimensionless metrics only (`Abs`, `Fraction`); write e.g. `1.4 x`, `10%`, `2 ms`, `512 MiB`"
    )]
    pub trait AcceptsBare {}
    /// An `x` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `x` does not fit a metric measured in `{Self}`",
        label = "`x` fits `Ratio` metrics"
    )]
    pub trait AcceptsX {}
    /// A `%` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `%` does not fit a metric measured in `{Self}`",
        label = "`%` fits `Percent` and `Fraction` metrics"
    )]
    pub trait AcceptsPercent {}
    /// A `% of ram` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `% of ram` does not fit a metric measured in `{Self}`",
        label = "`% of ram` fits `Bytes` metrics"
    )]
    pub trait AcceptsPercentOfRam {}
    /// A `bytes`, `KiB`, `MiB` or `GiB` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in bytes (`bytes`, `KiB`, `MiB`, `GiB`) does not fit a metric measured in `{Self}`",
        label = "byte thresholds fit `Bytes` metrics"
    )]
    pub trait AcceptsBytes {}
    /// A `sessions/s` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `sessions/s` does not fit a metric measured in `{Self}`",
        label = "`sessions/s` fits `SessionsPerSec` metrics"
    )]
    pub trait AcceptsSessionsPerSec {}
    /// An `events/s` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `events/s` does not fit a metric measured in `{Self}`",
        label = "`events/s` fits `EventsPerSec` metrics"
    )]
    pub trait AcceptsEventsPerSec {}
    /// A `subgraphs/s` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `subgraphs/s` does not fit a metric measured in `{Self}`",
        label = "`subgraphs/s` fits `SubgraphsPerSec` metrics"
    )]
    pub trait AcceptsSubgraphsPerSec {}
    /// An `ms` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `ms` does not fit a metric measured in `{Self}`",
        label = "`ms` fits `Millis` and `Micros` metrics"
    )]
    pub trait AcceptsMs {}
    /// A `us` threshold fits.
    #[diagnostic::on_unimplemented(
        message = "threshold in `us` does not fit a metric measured in `{Self}`",
        label = "`us` fits `Millis` and `Micros` metrics"
    )]
    pub trait AcceptsUs {}

    // Which units each threshold form fits (`Threshold::fitting_units`; a unit test checks
    // that the two agree); `dynamic` fits every form here and is checked at run time.
    impl AcceptsBare for abs {}
    impl AcceptsBare for fraction {}
    impl AcceptsBare for dynamic {}
    impl AcceptsX for x {}
    impl AcceptsX for dynamic {}
    impl AcceptsPercent for percent {}
    impl AcceptsPercent for fraction {}
    impl AcceptsPercent for dynamic {}
    impl AcceptsPercentOfRam for bytes {}
    impl AcceptsPercentOfRam for dynamic {}
    impl AcceptsBytes for bytes {}
    impl AcceptsBytes for dynamic {}
    impl AcceptsSessionsPerSec for sessions_per_s {}
    impl AcceptsSessionsPerSec for dynamic {}
    impl AcceptsEventsPerSec for events_per_s {}
    impl AcceptsEventsPerSec for dynamic {}
    impl AcceptsSubgraphsPerSec for subgraphs_per_s {}
    impl AcceptsSubgraphsPerSec for dynamic {}
    impl AcceptsMs for ms {}
    impl AcceptsMs for us {}
    impl AcceptsMs for dynamic {}
    impl AcceptsUs for ms {}
    impl AcceptsUs for us {}
    impl AcceptsUs for dynamic {}

    /// Passes the metric's result through: a bare-number threshold fits it.
    pub fn fits_bare<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsBare + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: an `x` threshold fits it.
    pub fn fits_x<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsX + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: a `%` threshold fits it.
    pub fn fits_percent<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsPercent + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: a `% of ram` threshold fits it.
    pub fn fits_percent_of_ram<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsPercentOfRam + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: a byte threshold fits it.
    pub fn fits_bytes<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsBytes + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: a `sessions/s` threshold fits it.
    pub fn fits_sessions_per_s<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsSessionsPerSec + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: an `events/s` threshold fits it.
    pub fn fits_events_per_s<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsEventsPerSec + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: a `subgraphs/s` threshold fits it.
    pub fn fits_subgraphs_per_s<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsSubgraphsPerSec + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: an `ms` threshold fits it.
    pub fn fits_ms<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsMs + DeclaredAs<D>,
    {
        r
    }
    /// Passes the metric's result through: a `us` threshold fits it.
    pub fn fits_us<D, O: MetricOutput>(r: Result<O, GateError>) -> Result<O, GateError>
    where
        O::Spelling: AcceptsUs + DeclaredAs<D>,
    {
        r
    }

    /// The static unit of the metric `f` returns (`None` for a dynamic one), at compile time.
    pub const fn unit_of<O: MetricOutput, F: Fn(&mut GateContext) -> Result<O, GateError>>(_: &F) -> Option<Unit> {
        O::UNIT
    }

    /// The unit a `unit = D` option declares.
    pub const fn declared<D: Declared>() -> Option<Unit> {
        D::UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::check::*;
    use super::*;
    use crate::{GateContext, Threshold};

    /// `Probe::<S>::has_*()` is true iff `S` implements the trait: an inherent method whose
    /// bound holds wins over the trait's default.
    struct Probe<S>(PhantomData<S>);

    macro_rules! probes {
        ($($trait:ident $method:ident $fallback:ident;)*) => {
            $(
                trait $fallback {
                    fn $method(&self) -> bool {
                        false
                    }
                }
                impl<S> $fallback for Probe<S> {}
                impl<S: $trait> Probe<S> {
                    #[allow(dead_code)]
                    fn $method(&self) -> bool {
                        true
                    }
                }
            )*
        };
    }
    probes! {
        AcceptsBare bare NoBare;
        AcceptsX ratio NoX;
        AcceptsPercent percent NoPercent;
        AcceptsPercentOfRam ram NoRam;
        AcceptsBytes bytes NoBytes;
        AcceptsSessionsPerSec sessions NoSessions;
        AcceptsEventsPerSec events NoEvents;
        AcceptsSubgraphsPerSec subgraphs NoSubgraphs;
        AcceptsMs ms NoMs;
        AcceptsUs us NoUs;
    }

    /// Which thresholds the traits let through for marker `U`, as `Threshold`s.
    macro_rules! accepted {
        ($u:ty) => {{
            let p = Probe::<<$u as StaticUnit>::Spelling>(PhantomData);
            let all = [
                (p.bare(), Threshold::Absolute(1.0)),
                (p.ratio(), Threshold::Ratio(1.0)),
                (p.percent(), Threshold::Percent(1.0)),
                (p.ram(), Threshold::PercentOfRam(1.0)),
                (p.bytes(), Threshold::Bytes(1.0)),
                (p.sessions(), Threshold::SessionsPerSec(1.0)),
                (p.events(), Threshold::EventsPerSec(1.0)),
                (p.subgraphs(), Threshold::SubgraphsPerSec(1.0)),
                (p.ms(), Threshold::Millis(1.0)),
                (p.us(), Threshold::Micros(1.0)),
            ];
            (<$u as StaticUnit>::UNIT, all)
        }};
    }

    #[test]
    fn compile_time_fit_is_the_run_time_fit() {
        let table = [
            accepted!(Abs),
            accepted!(Ratio),
            accepted!(Percent),
            accepted!(Fraction),
            accepted!(Bytes),
            accepted!(SessionsPerSec),
            accepted!(EventsPerSec),
            accepted!(SubgraphsPerSec),
            accepted!(Millis),
            accepted!(Micros),
        ];
        assert_eq!(table.map(|(u, _)| u), Unit::ALL);
        for (unit, thresholds) in table {
            for (compiles, t) in thresholds {
                assert_eq!(compiles, t.fits(unit), "{} against a metric in {}", t.describe(), unit.name());
            }
        }
        // A dynamic metric passes every compile-time check; the harness checks it at run time.
        let d = Probe::<dynamic>(PhantomData);
        assert!(d.bare() && d.ratio() && d.percent() && d.ram() && d.bytes() && d.ms() && d.us());
    }

    #[test]
    fn static_and_declared_units_are_known_at_compile_time() {
        fn ratio(_: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
            Ok(Measured::new(2.0))
        }
        fn dynamic_metric(_: &mut GateContext) -> Result<Measurement, GateError> {
            Ok(Measurement::new(2.0, Unit::Ratio))
        }
        const STATIC: Option<Unit> = unit_of(&ratio);
        const DYNAMIC: Option<Unit> = unit_of(&dynamic_metric);
        assert_eq!((STATIC, DYNAMIC), (Some(Unit::Ratio), None));
        assert_eq!(declared::<ms>(), Some(Unit::Millis));
        assert_eq!(declared::<undeclared>(), None);
        let m = fits_x::<x, _>(ratio(&mut GateContext::for_test("g"))).unwrap().into_measurement();
        assert_eq!(m, Measurement::new(2.0, Unit::Ratio));
    }

    #[test]
    fn try_from_refuses_another_unit_and_names_the_gate_in_a_gate() {
        let err = Measured::<Millis>::try_from(Measurement::new(1.0, Unit::Micros)).unwrap_err();
        assert_eq!(
            err.in_gate("lat").to_string(),
            "gate `lat`: the metric measured in `us`, but the declaration says `ms`"
        );
    }
}
