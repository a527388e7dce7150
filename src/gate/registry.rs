//! Registered gates and scenarios (collected with `inventory` from `gate!`/`scenario!`).

use super::context::GateContext;
use super::error::GateError;
use super::measurement::Measurement;
use super::parity::ParityOutcome;
use super::record::DETAIL_PARITY_ROWS;
use super::spec::{Comparator, DeclMeta, Threshold};

/// A gate as declared by [`gate!`](crate::gate!): built at compile time, registered with inventory.
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
    /// Family, tiers, doc, fault, location.
    pub meta: DeclMeta,
    /// Calls the metric function with the declared inputs.
    pub measure: fn(&mut GateContext) -> Result<Measurement, GateError>,
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
/// scenario: `gate!(attention_parity: scenario_parity(scenario = "kernels_vs_math") <= 1e-4, ...)`.
pub fn scenario_parity(ctx: &mut GateContext, scenario: &str) -> Result<Measurement, GateError> {
    let decl = find_scenario(scenario)?;
    let outcome = (decl.run)(ctx)?;
    ctx.detail(DETAIL_PARITY_ROWS, &outcome.rows)?;
    ctx.detail("scenario", scenario)?;
    Ok(outcome.measurement)
}
