//! Decoding and encoding of event and edge rows, shared by both layouts.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use arrow_array::builder::{Float32Builder, Float64Builder, Int32Builder, Int64Builder, UInt32Builder, UInt8Builder};
use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, PrimitiveArray};

use super::columns::{BatchColumns, Col};
use super::IoError;
use crate::session::{Edge, EdgeType, Event, EventKind, EDGE_FEATURES, NODE_FEATURES};

/// Names `f0..f{width-1}` (45, 51 or 53 node features).
pub(crate) fn node_feature_names(width: usize) -> Vec<String> {
    (0..width).map(super::schema::node_feature_name).collect()
}

/// Names `e0..e19`.
pub(crate) fn edge_feature_names() -> Vec<String> {
    (0..EDGE_FEATURES).map(super::schema::edge_feature_name).collect()
}

/// The event columns of one batch.
pub(crate) struct EventColumns<'a> {
    node_id: Col<'a, &'a PrimitiveArray<arrow_array::types::UInt32Type>>,
    t: Col<'a, &'a PrimitiveArray<arrow_array::types::Int64Type>>,
    kind: Col<'a, &'a PrimitiveArray<arrow_array::types::UInt8Type>>,
    price: Col<'a, &'a PrimitiveArray<arrow_array::types::Float64Type>>,
    features: Vec<Col<'a, &'a PrimitiveArray<Float32Type>>>,
    extra: Vec<Col<'a, &'a PrimitiveArray<Float32Type>>>,
}

impl<'a> EventColumns<'a> {
    /// Looks the event columns up (`node_id`, `t`, `kind`, `price`, and the feature columns
    /// `feature_names`: `f0..f44`, then a variant's extra features).
    pub fn new(cols: &BatchColumns<'a>, feature_names: &'a [String]) -> Result<Self, IoError> {
        Ok(Self {
            node_id: cols.u32("node_id")?,
            t: cols.time_ms("t")?,
            kind: cols.u8("kind")?,
            price: cols.f64("price")?,
            features: cols.features(&feature_names[..NODE_FEATURES.min(feature_names.len())])?,
            extra: cols.features(&feature_names[NODE_FEATURES.min(feature_names.len())..])?,
        })
    }

    /// Number of extra feature columns (`f45..`; 0 for the base feature set).
    pub fn extra_width(&self) -> usize {
        self.extra.len()
    }

    /// Appends the extra features of batch row `i` to `out`.
    pub fn push_extra(&self, i: usize, out: &mut Vec<f32>) -> Result<(), IoError> {
        for col in &self.extra {
            out.push(col.get(i)?);
        }
        Ok(())
    }

    /// The event at batch row `i`.
    pub fn event(&self, i: usize, path: &Path) -> Result<Event, IoError> {
        let code = self.kind.get(i)?;
        let kind = EventKind::from_code(code).ok_or_else(|| IoError::UnknownCode {
            path: path.to_path_buf(),
            column: "kind".into(),
            row: self.kind.row(i),
            code,
        })?;
        let mut event = Event::new(self.node_id.get(i)?, self.t.get(i)?, kind, self.price.get(i)?);
        for (slot, col) in event.features.iter_mut().zip(&self.features) {
            *slot = col.get(i)?;
        }
        Ok(event)
    }
}

/// The edge columns of one batch (`src_column` is `src` in shards, `node_id` in the multi layout).
pub(crate) struct EdgeColumns<'a> {
    src: Col<'a, &'a PrimitiveArray<arrow_array::types::UInt32Type>>,
    dst: Col<'a, &'a PrimitiveArray<arrow_array::types::UInt32Type>>,
    etype: Col<'a, &'a PrimitiveArray<arrow_array::types::UInt8Type>>,
    dt: Col<'a, &'a PrimitiveArray<arrow_array::types::Int32Type>>,
    features: Vec<Col<'a, &'a PrimitiveArray<Float32Type>>>,
}

impl<'a> EdgeColumns<'a> {
    /// Looks the edge columns up.
    pub fn new(cols: &BatchColumns<'a>, src_column: &'a str, feature_names: &'a [String]) -> Result<Self, IoError> {
        Ok(Self {
            src: cols.u32(src_column)?,
            dst: cols.u32("dst")?,
            etype: cols.u8("etype")?,
            dt: cols.i32("dt")?,
            features: cols.features(feature_names)?,
        })
    }

    /// The edge at batch row `i`.
    pub fn edge(&self, i: usize, path: &Path) -> Result<Edge, IoError> {
        let code = self.etype.get(i)?;
        let etype = EdgeType::from_code(code).ok_or_else(|| IoError::UnknownCode {
            path: path.to_path_buf(),
            column: "etype".into(),
            row: self.etype.row(i),
            code,
        })?;
        let mut edge = Edge::new(self.src.get(i)?, self.dst.get(i)?, etype, self.dt.get(i)?);
        for (slot, col) in edge.features.iter_mut().zip(&self.features) {
            *slot = col.get(i)?;
        }
        Ok(edge)
    }
}

/// Refuses the first event whose node id an earlier event of the session has; `rows[k]` is
/// event `k`'s file row. Checked before the edges, so a repeated id is reported against the
/// nodes, not as an edge naming the id it replaced.
pub(crate) fn check_unique_node_ids(path: &Path, events: &[Event], rows: &[usize]) -> Result<(), IoError> {
    let mut first: HashMap<u32, usize> = HashMap::with_capacity(events.len());
    for (k, event) in events.iter().enumerate() {
        if let Some(&first_row) = first.get(&event.node_id) {
            return Err(IoError::DuplicateNodeId {
                path: path.to_path_buf(),
                column: "node_id".into(),
                row: rows[k],
                first_row,
                node_id: event.node_id,
            });
        }
        first.insert(event.node_id, rows[k]);
    }
    Ok(())
}

/// Refuses the first edge naming a node id that is not among `events`; `rows[k]` is edge `k`'s
/// file row.
pub(crate) fn check_dangling(
    path: &Path,
    session_id: &str,
    src_column: &str,
    events: &[Event],
    edges: &[Edge],
    rows: &[usize],
) -> Result<(), IoError> {
    let ids: HashSet<u32> = events.iter().map(|e| e.node_id).collect();
    for (k, edge) in edges.iter().enumerate() {
        for (column, node_id) in [(src_column, edge.src), ("dst", edge.dst)] {
            if !ids.contains(&node_id) {
                return Err(IoError::DanglingEdge {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                    row: rows[k],
                    node_id,
                    session_id: session_id.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Builders for the numeric event and edge columns; `None` rows become nulls (multi layout).
#[derive(Default)]
pub(crate) struct RowBuilders {
    pub node_id: UInt32Builder,
    pub dst: UInt32Builder,
    pub t: Int64Builder,
    pub kind: UInt8Builder,
    pub price: Float64Builder,
    pub etype: UInt8Builder,
    pub dt: Int32Builder,
    pub f: Vec<Float32Builder>,
    pub e: Vec<Float32Builder>,
}

impl RowBuilders {
    /// Empty builders for both feature sets.
    pub fn new() -> Self {
        Self {
            f: (0..NODE_FEATURES).map(|_| Float32Builder::new()).collect(),
            e: (0..EDGE_FEATURES).map(|_| Float32Builder::new()).collect(),
            ..Self::default()
        }
    }

    /// Appends an event; with `with_edge_columns` the edge columns get nulls.
    pub fn push_event(&mut self, ev: &Event, with_edge_columns: bool) {
        self.node_id.append_value(ev.node_id);
        self.t.append_value(ev.t_ms);
        self.kind.append_value(ev.kind.code());
        self.price.append_value(ev.price);
        for (b, &v) in self.f.iter_mut().zip(&ev.features) {
            b.append_value(v);
        }
        if with_edge_columns {
            self.dst.append_null();
            self.etype.append_null();
            self.dt.append_null();
            self.e.iter_mut().for_each(|b| b.append_null());
        }
    }

    /// Appends an edge (source in `node_id`); with `with_event_columns` the event columns get nulls.
    pub fn push_edge(&mut self, edge: &Edge, with_event_columns: bool) {
        self.node_id.append_value(edge.src);
        self.dst.append_value(edge.dst);
        self.etype.append_value(edge.etype.code());
        self.dt.append_value(edge.dt_ms);
        for (b, &v) in self.e.iter_mut().zip(&edge.features) {
            b.append_value(v);
        }
        if with_event_columns {
            self.t.append_null();
            self.kind.append_null();
            self.price.append_null();
            self.f.iter_mut().for_each(|b| b.append_null());
        }
    }

    /// Finishes the node feature builders into arrays.
    pub fn finish_f(&mut self) -> Vec<ArrayRef> {
        self.f.iter_mut().map(|b| std::sync::Arc::new(b.finish()) as ArrayRef).collect()
    }

    /// Finishes the edge feature builders into arrays.
    pub fn finish_e(&mut self) -> Vec<ArrayRef> {
        self.e.iter_mut().map(|b| std::sync::Arc::new(b.finish()) as ArrayRef).collect()
    }
}
