//! The causality table: how strongly an event of one kind is taken to cause a later event of
//! another kind. Data, not code: a serde-loadable list of pairs over a default.

use serde::{Deserialize, Serialize};

use super::DagError;
use crate::session::EventKind;

/// One `(from, to) → value` entry of a [`CausalityTable`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CausalityEntry {
    /// Kind of the earlier event (edge source).
    pub from: EventKind,
    /// Kind of the later event (edge destination).
    pub to: EventKind,
    /// Causality in `[0, 1]`.
    pub value: f64,
}

/// Causality of `(source kind, destination kind)` pairs, `default` for pairs not listed.
///
/// The original keyed its table by semantic event types (e.g. `(fvg_formation,
/// fvg_redelivery) = 0.9`) with 0.3 for anything else. The shards only carry the four
/// [`EventKind`]s, so ironforge's default table keeps the original's 0.3 default and lists a
/// few kind pairs of its own choosing (see [`CausalityTable::default`]); load another table
/// with [`CausalityTable::from_json`].
///
/// ```
/// use ironforge::dag::CausalityTable;
/// use ironforge::session::EventKind::*;
/// let t = CausalityTable::default();
/// assert_eq!(t.get(Other, Other), 0.3);
/// assert_eq!(t.get(LiquidityEvent, PriceMovement), 0.7);
/// let custom = CausalityTable::from_json(r#"{"default": 0.1, "pairs": [{"from": "Anchor", "to": "Other", "value": 1.0}]}"#)?;
/// assert_eq!(custom.get(Anchor, Other), 1.0);
/// assert_eq!(custom.get(Other, Anchor), 0.1);
/// # Ok::<(), ironforge::dag::DagError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CausalityTable {
    /// Value of pairs not listed (0.3 in the original).
    pub default: f64,
    /// Listed pairs; a later entry for the same pair overrides an earlier one.
    pub pairs: Vec<CausalityEntry>,
}

/// ironforge's default pairs: a liquidity event (sweep) followed by a price movement
/// (displacement) is the strongest link; anchors and repeated liquidity events come next.
const DEFAULT_PAIRS: [(EventKind, EventKind, f64); 5] = [
    (EventKind::LiquidityEvent, EventKind::PriceMovement, 0.7),
    (EventKind::LiquidityEvent, EventKind::LiquidityEvent, 0.6),
    (EventKind::Anchor, EventKind::PriceMovement, 0.5),
    (EventKind::PriceMovement, EventKind::LiquidityEvent, 0.5),
    (EventKind::Anchor, EventKind::LiquidityEvent, 0.4),
];

impl Default for CausalityTable {
    /// Default 0.3 plus `DEFAULT_PAIRS`: (liquidity_event → price_movement) 0.7,
    /// (liquidity_event → liquidity_event) 0.6, (anchor → price_movement) 0.5,
    /// (price_movement → liquidity_event) 0.5, (anchor → liquidity_event) 0.4.
    fn default() -> Self {
        Self {
            default: 0.3,
            pairs: DEFAULT_PAIRS.iter().map(|&(from, to, value)| CausalityEntry { from, to, value }).collect(),
        }
    }
}

impl CausalityTable {
    /// Parses a table from JSON and checks it ([`CausalityTable::validate`]).
    pub fn from_json(text: &str) -> Result<Self, DagError> {
        let table: Self =
            serde_json::from_str(text).map_err(|e| DagError::BadCausalityTable { reason: e.to_string() })?;
        table.validate()?;
        Ok(table)
    }

    /// Checks that every value (default included) is finite and in `[0, 1]`.
    ///
    /// ```
    /// let mut t = ironforge::dag::CausalityTable::default();
    /// t.default = 1.5;
    /// assert!(t.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), DagError> {
        let bad = |v: f64| !(0.0..=1.0).contains(&v);
        if bad(self.default) {
            return Err(DagError::BadCausalityTable { reason: format!("default {} is not in [0, 1]", self.default) });
        }
        if let Some(e) = self.pairs.iter().find(|e| bad(e.value)) {
            return Err(DagError::BadCausalityTable {
                reason: format!("({}, {}) = {} is not in [0, 1]", e.from.name(), e.to.name(), e.value),
            });
        }
        Ok(())
    }

    /// Causality of an edge from a `from` event to a `to` event.
    pub fn get(&self, from: EventKind, to: EventKind) -> f64 {
        self.pairs.iter().rev().find(|e| e.from == from && e.to == to).map_or(self.default, |e| e.value)
    }

    /// The whole table as a 4×4 matrix indexed by kind codes (`[from][to]`), for hot loops.
    ///
    /// ```
    /// use ironforge::session::EventKind;
    /// let t = ironforge::dag::CausalityTable::default();
    /// let m = t.matrix();
    /// assert_eq!(m[EventKind::Anchor.code() as usize][EventKind::PriceMovement.code() as usize], 0.5);
    /// ```
    pub fn matrix(&self) -> [[f64; 4]; 4] {
        let mut m = [[0.0; 4]; 4];
        for from in EventKind::ALL {
            for to in EventKind::ALL {
                m[from.code() as usize][to.code() as usize] = self.get(from, to);
            }
        }
        m
    }
}
