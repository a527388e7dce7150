//! Named tables a gate attaches to its record — a timing grid by input size, counts of some
//! event, anything with rows — carried into the audit without the framework knowing their
//! columns. Whoever renders a table reads it back as their own row type.
//!
//! A gate attaches rows with [`GateContext::table`](crate::GateContext::table) (or [`attach`]
//! on a record's details); [`AuditRun::tables`](crate::audit::AuditRun::tables) holds every
//! table by name, each row with the record that attached it, and
//! [`AuditRun::table`](crate::audit::AuditRun::table) deserialises one table's rows.
//!
//! ```
//! use ironforge_gate::audit::{AuditRun, GitState, Machine, RunConfig};
//! use ironforge_gate::record::Measurements;
//! use ironforge_gate::GateContext;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct BySize {
//!     n: usize,
//!     ms: f64,
//! }
//!
//! // In a metric function: attach the rows behind the gate's one number.
//! let mut ctx = GateContext::for_test("sort_speed");
//! ctx.table("by_size", [BySize { n: 64, ms: 0.5 }, BySize { n: 128, ms: 1.25 }]).unwrap();
//!
//! // The harness moves the details into the gate's record; the audit gathers the tables.
//! let mut measurements = Measurements::empty();
//! measurements.records.push(record("sort_speed", ctx.take_details()));
//! let audit = AuditRun::from_measurements(&measurements, Machine::default(), GitState::default(), RunConfig::default()).unwrap();
//!
//! // A report reads them back as its own type.
//! let rows = audit.table::<BySize>("by_size").unwrap();
//! assert_eq!(rows.len(), 2);
//! assert_eq!((rows[1].gate.as_str(), &rows[1].row), ("sort_speed", &BySize { n: 128, ms: 1.25 }));
//! assert!(audit.table::<BySize>("absent").unwrap().is_empty());
//! # fn record(name: &str, details: std::collections::BTreeMap<String, serde_json::Value>) -> ironforge_gate::record::Record {
//! #     let mut r: ironforge_gate::record::Record = serde_json::from_value(serde_json::json!({
//! #         "name": name, "kind": "gate", "family": "demo", "tier": "quick", "metric": "speedup",
//! #         "comparator": ">=", "threshold": 1.0, "unit": "x", "value": 2.0, "interval": [1.5, 2.5],
//! #         "bound": 1.5, "margin": 0.5, "verdict": "pass", "samples": [], "duration_s": 0.1, "doc": "",
//! #     })).unwrap();
//! #     r.details = details;
//! #     r
//! # }
//! ```

use crate::record::DETAIL_TABLES;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A record's tables as the harness writes them under [`DETAIL_TABLES`]: table name → rows,
/// each row a JSON object.
pub type Tables = BTreeMap<String, Vec<Map<String, Value>>>;

/// One row of a named table in the audit, with the record that attached it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    /// Record (gate or scenario) that attached the row.
    pub gate: String,
    /// The row's columns, as attached.
    pub row: Map<String, Value>,
}

/// A table row read back as the caller's type ([`AuditRun::table`](crate::audit::AuditRun::table)).
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry<T> {
    /// Record (gate or scenario) that attached the row.
    pub gate: String,
    /// The row.
    pub row: T,
}

/// Why rows could not be attached.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A row did not serialise to JSON.
    #[error("table `{table}`: row {index} could not be serialised: {source}")]
    Serialise {
        /// Table name.
        table: String,
        /// Index of the row among those attached in the call.
        index: usize,
        /// Serde's error.
        source: serde_json::Error,
    },
    /// A row serialised to something other than a JSON object (a number, a list …).
    #[error("table `{table}`: row {index} is not a struct or map (it serialised to `{found}`)")]
    NotAnObject {
        /// Table name.
        table: String,
        /// Index of the row among those attached in the call.
        index: usize,
        /// The JSON it gave, shortened.
        found: String,
    },
    /// The record's [`DETAIL_TABLES`] entry was set to something else than tables.
    #[error("detail `{DETAIL_TABLES}` holds something other than tables: {source}")]
    Malformed {
        /// Serde's error.
        source: serde_json::Error,
    },
}

/// Appends `rows` to table `name` in a record's `details` (under [`DETAIL_TABLES`]); a table
/// attached twice keeps both calls' rows in order. Every row must serialise to a JSON object
/// (a struct or a map); nothing is attached when one does not.
pub fn attach<R: Serialize>(
    details: &mut BTreeMap<String, Value>,
    name: &str,
    rows: impl IntoIterator<Item = R>,
) -> Result<(), TableError> {
    let mut new_rows = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        match serde_json::to_value(row) {
            Ok(Value::Object(map)) => new_rows.push(map),
            Ok(other) => {
                let mut found = other.to_string();
                found.truncate(60);
                return Err(TableError::NotAnObject { table: name.to_string(), index, found });
            }
            Err(source) => return Err(TableError::Serialise { table: name.to_string(), index, source }),
        }
    }
    let mut tables = match details.get(DETAIL_TABLES) {
        None => Tables::new(),
        Some(v) => Tables::deserialize(v).map_err(|source| TableError::Malformed { source })?,
    };
    tables.entry(name.to_string()).or_default().extend(new_rows);
    let value = serde_json::to_value(tables).map_err(|source| TableError::Malformed { source })?;
    details.insert(DETAIL_TABLES.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        k: &'static str,
        v: f64,
    }

    #[test]
    fn rows_attached_twice_to_one_table_keep_their_order() {
        let mut details = BTreeMap::new();
        attach(&mut details, "t", [Row { k: "a", v: 1.0 }]).unwrap();
        attach(&mut details, "t", [Row { k: "b", v: 0.1 + 0.2 }]).unwrap();
        attach(&mut details, "u", [Row { k: "c", v: -0.0 }]).unwrap();
        let tables: Tables = serde_json::from_value(details[DETAIL_TABLES].clone()).unwrap();
        let keys: Vec<&str> = tables["t"].iter().map(|r| r["k"].as_str().unwrap()).collect();
        assert_eq!(keys, ["a", "b"]);
        // Floats survive bit for bit (the audit compares the numbers it reads back exactly).
        assert_eq!(tables["t"][1]["v"].as_f64().unwrap().to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(tables["u"].len(), 1);
    }

    #[test]
    fn a_row_that_is_not_an_object_is_refused_and_nothing_is_attached() {
        let mut details = BTreeMap::new();
        attach(&mut details, "t", [Row { k: "a", v: 1.0 }]).unwrap();
        let before = details.clone();
        let err = attach(&mut details, "t", [serde_json::json!({"k": "b"}), serde_json::json!(3)]).unwrap_err();
        assert!(matches!(err, TableError::NotAnObject { index: 1, .. }), "{err}");
        assert!(err.to_string().contains("table `t`: row 1"), "{err}");
        assert_eq!(details, before);
    }

    #[test]
    fn a_detail_of_another_shape_under_the_tables_key_is_an_error_not_overwritten() {
        let mut details = BTreeMap::new();
        details.insert(DETAIL_TABLES.to_string(), serde_json::json!([1, 2]));
        let before = details.clone();
        let err = attach(&mut details, "t", [Row { k: "a", v: 1.0 }]).unwrap_err();
        assert!(matches!(err, TableError::Malformed { .. }), "{err}");
        assert_eq!(details, before);
    }
}
