//! Registered gates and scenarios (collected with `inventory` from `gate!`/`scenario!`).

use super::context::GateContext;
use super::drift::DriftWriter;
use super::error::GateError;
use super::measurement::Measurement;
use super::parity::ParityOutcome;
use super::record::DETAIL_PARITY_ROWS;
use super::record::{Manifest, ManifestEntry, RecordKind, Tier};
use super::spec::{Comparator, DeclMeta, Threshold, Tiers, Unit};

/// A gate as declared by [`gate!`](crate::gate!): built at compile time, registered with inventory.
/// The plain API under the macro: a hand-built `GateDecl` runs the same way.
#[derive(Debug, Clone, Copy)]
pub struct GateDecl {
    /// Trial name.
    pub name: &'static str,
    /// The metric function's path as written.
    pub metric: &'static str,
    /// Its inputs as written.
    pub inputs: &'static str,
    /// Comparator.
    pub comparator: Comparator,
    /// Threshold as declared.
    pub threshold: Threshold,
    /// The metric's static unit when it returns `Measured<U>` (`U::UNIT`), `None` for a
    /// dynamic metric returning `Measurement`.
    pub static_unit: Option<Unit>,
    /// The unit stated with `unit = ...`, if any.
    pub declared_unit: Option<Unit>,
    /// Family, tiers, doc, fault, location.
    pub meta: DeclMeta,
    /// Calls the metric function with the declared inputs.
    pub measure: fn(&mut GateContext) -> Result<Measurement, GateError>,
}

impl GateDecl {
    /// The unit the metric must measure in, checked against the threshold before anything is
    /// measured (the harness's preflight): the static unit, else the declared one. Refuses a
    /// dynamic metric without `unit =`, a declared unit that contradicts the static one, and a
    /// threshold that does not fit the unit.
    ///
    /// ```
    /// use ironforge_gate::{Comparator, DeclMeta, GateContext, GateDecl, GateError, Location, Measurement, Threshold, Unit};
    /// fn ratio(_: &mut GateContext) -> Result<Measurement, GateError> {
    ///     Ok(Measurement::new(2.0, Unit::Ratio))
    /// }
    /// let decl = GateDecl {
    ///     name: "g", metric: "ratio", inputs: "", comparator: Comparator::Ge,
    ///     threshold: Threshold::Ratio(1.4), static_unit: None, declared_unit: Some(Unit::Ratio),
    ///     meta: DeclMeta::new(Location { file: "f.rs", line: 1 }).with_doc("d"), measure: ratio,
    /// };
    /// assert_eq!(decl.check_units().unwrap(), Unit::Ratio);
    /// let undeclared = GateDecl { declared_unit: None, ..decl };
    /// assert!(matches!(undeclared.check_units(), Err(GateError::UndeclaredUnit { .. })));
    /// let bare = GateDecl { threshold: Threshold::Absolute(1.4), ..decl };
    /// assert!(matches!(bare.check_units(), Err(GateError::UnitMismatch { .. })));
    /// ```
    pub fn check_units(&self) -> Result<Unit, GateError> {
        let unit = match (self.static_unit, self.declared_unit) {
            (Some(s), Some(d)) if s != d => {
                return Err(GateError::ContradictoryUnit {
                    gate: self.name.to_string(),
                    declared: d.name().to_string(),
                    static_unit: s.name().to_string(),
                })
            }
            (Some(u), _) | (None, Some(u)) => u,
            (None, None) => {
                return Err(GateError::UndeclaredUnit {
                    gate: self.name.to_string(),
                    location: format!("{}:{}", self.meta.location.file, self.meta.location.line),
                })
            }
        };
        if self.threshold.fits(unit) {
            Ok(unit)
        } else {
            Err(self.threshold.mismatch(self.name, unit))
        }
    }
}

/// A parity scenario as declared by [`scenario!`](crate::scenario!).
#[derive(Debug, Clone, Copy)]
pub struct ScenarioDecl {
    /// Trial name.
    pub name: &'static str,
    /// Session-set function as written.
    pub sessions: &'static str,
    /// Reference function as written.
    pub reference: &'static str,
    /// Candidate function as written.
    pub candidate: &'static str,
    /// The comparison as written (`max_abs(1e-4)`, `flash(..)`, `exact`).
    pub compare: &'static str,
    /// Family, tiers, doc, fault, location.
    pub meta: DeclMeta,
    /// Runs the comparison over every case.
    pub run: fn(&GateContext) -> Result<ParityOutcome, GateError>,
    /// Writes the candidate's output on every case to a drift dump (with the given drift
    /// tolerance), returning the number of cases: what `release-check --against` compares
    /// between a base build and the candidate ([`drift`](super::drift)).
    pub dump: fn(&GateContext, f64, &mut DriftWriter) -> Result<usize, GateError>,
}

inventory::collect!(GateDecl);
inventory::collect!(ScenarioDecl);

/// Every registered gate, sorted by name.
pub fn gates() -> Vec<&'static GateDecl> {
    let mut v: Vec<_> = inventory::iter::<GateDecl>.into_iter().collect();
    v.sort_by_key(|g| g.name);
    v
}

/// Every registered scenario, sorted by name.
pub fn scenarios() -> Vec<&'static ScenarioDecl> {
    let mut v: Vec<_> = inventory::iter::<ScenarioDecl>.into_iter().collect();
    v.sort_by_key(|s| s.name);
    v
}

/// The manifest of `gates` and `scenarios`: every declaration, whether or not it runs, sorted by name.
pub fn manifest_of(gates: &[&GateDecl], scenarios: &[&ScenarioDecl]) -> Manifest {
    let entry = |name: &str, kind, meta: &DeclMeta| ManifestEntry {
        name: name.to_string(),
        kind,
        family: meta.family.to_string(),
        tiers: match meta.tiers {
            Tiers::Quick => vec![Tier::Quick],
            Tiers::Release => vec![Tier::Release],
            Tiers::Both => vec![Tier::Quick, Tier::Release],
        },
    };
    let mut declarations: Vec<ManifestEntry> = gates
        .iter()
        .map(|g| entry(g.name, RecordKind::Gate, &g.meta))
        .chain(scenarios.iter().map(|s| entry(s.name, RecordKind::Scenario, &s.meta)))
        .collect();
    declarations.sort_by(|a, b| a.name.cmp(&b.name));
    Manifest { declarations }
}

/// The registered scenario called `name`.
pub fn find_scenario(name: &str) -> Result<&'static ScenarioDecl, GateError> {
    inventory::iter::<ScenarioDecl>
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| GateError::UnknownScenario { name: name.to_string() })
}

/// Metric: runs the registered scenario `scenario` in this gate's context and measures its
/// judged number (worst max-abs error, worst error/allowed for the flash rule, mismatching
/// cases for exact), with the rows in the details. Lets a gate put its own threshold on a
/// scenario. A dynamic metric: its unit follows from the scenario's comparison (`abs` for
/// `max_abs` and `exact`, `x` for `flash`), so the gate states it:
/// `gate!(attention_parity: scenario_parity(scenario = "kernels_vs_math") <= 1e-4, unit = abs, ...)`.
pub fn scenario_parity(ctx: &mut GateContext, scenario: &str) -> Result<Measurement, GateError> {
    let decl = find_scenario(scenario)?;
    let outcome = (decl.run)(ctx)?;
    ctx.detail(DETAIL_PARITY_ROWS, &outcome.rows)?;
    ctx.detail("scenario", scenario)?;
    Ok(outcome.measurement)
}
