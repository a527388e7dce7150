//! Column names and Arrow schemas of the two layouts.
//!
//! The shard layout matches what pyarrow 17 wrote for `../shared/data/nq-m5` (every field
//! nullable, as pyarrow writes them; ironforge refuses nulls on reading). The multi-session
//! layout is one row per *record*: `record = 0` rows are events, `record = 1` rows are edges
//! (`node_id` holds the edge's source), so the columns of the other record kind are null.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::session::{EDGE_FEATURES, NODE_FEATURES, NODE_FEATURE_WIDTHS};

/// Node feature widths the readers accept: 45 (`f0..f44`), and the 51- and 53-wide variants
/// whose extra columns travel as [`crate::session::ExtraFeatures`].
pub const ACCEPTED_NODE_FEATURES: &[usize] = &NODE_FEATURE_WIDTHS;
/// Edge feature widths the readers accept: exactly 20 (`e0..e19`).
pub const ACCEPTED_EDGE_FEATURES: &[usize] = &[EDGE_FEATURES];

/// Name of node feature column `j` (`f0` … `f44`).
pub fn node_feature_name(j: usize) -> String {
    format!("f{j}")
}

/// Name of edge feature column `j` (`e0` … `e19`).
pub fn edge_feature_name(j: usize) -> String {
    format!("e{j}")
}

/// `record` code of an event row in the multi-session layout.
pub const RECORD_EVENT: u8 = 0;
/// `record` code of an edge row in the multi-session layout.
pub const RECORD_EDGE: u8 = 1;

/// String columns of `nodes.parquet` (dictionary-encoded when the settings say so).
pub const NODES_STRING_COLUMNS: [&str; 3] = ["session_id", "symbol", "tf"];
/// String columns of `node_map.parquet`.
pub const NODE_MAP_STRING_COLUMNS: [&str; 3] = ["session_id", "timestamp", "source_type"];
/// String columns of the multi-session layout.
pub const MULTI_STRING_COLUMNS: [&str; 4] = ["session_id", "session_type", "symbol", "tf"];

fn features(prefix: char, n: usize) -> impl Iterator<Item = Field> {
    (0..n).map(move |j| Field::new(format!("{prefix}{j}"), DataType::Float32, true))
}

/// Schema of `nodes.parquet`: `node_id u32, t i64, kind u8, session_id, symbol, tf: string,
/// price f64, f0..f44 f32`.
pub fn nodes_schema() -> SchemaRef {
    nodes_schema_for(NODE_FEATURES)
}

/// Schema of `nodes.parquet` with `width` node features (`f0..f{width-1}`; 45, 51 or 53).
///
/// ```
/// let s = ironforge::io::schema::nodes_schema_for(51);
/// assert_eq!(s.fields().last().unwrap().name(), "f50");
/// ```
pub fn nodes_schema_for(width: usize) -> SchemaRef {
    let mut fields = vec![
        Field::new("node_id", DataType::UInt32, true),
        Field::new("t", DataType::Int64, true),
        Field::new("kind", DataType::UInt8, true),
        Field::new("session_id", DataType::Utf8, true),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("tf", DataType::Utf8, true),
        Field::new("price", DataType::Float64, true),
    ];
    fields.extend(features('f', width));
    Arc::new(Schema::new(fields))
}

/// Schema of `edges.parquet`: `src u32, dst u32, etype u8, dt i32, e0..e19 f32`.
pub fn edges_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("src", DataType::UInt32, true),
        Field::new("dst", DataType::UInt32, true),
        Field::new("etype", DataType::UInt8, true),
        Field::new("dt", DataType::Int32, true),
    ];
    fields.extend(features('e', EDGE_FEATURES));
    Arc::new(Schema::new(fields))
}

/// Schema of `node_map.parquet`: `session_id, local_idx i64, node_id i64, t i64, timestamp,
/// source_type`.
pub fn node_map_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("session_id", DataType::Utf8, true),
        Field::new("local_idx", DataType::Int64, true),
        Field::new("node_id", DataType::Int64, true),
        Field::new("t", DataType::Int64, true),
        Field::new("timestamp", DataType::Utf8, true),
        Field::new("source_type", DataType::Utf8, true),
    ]))
}

/// Schema of the multi-session layout (see the module docs).
pub fn multi_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("session_id", DataType::Utf8, false),
        Field::new("session_type", DataType::Utf8, false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("tf", DataType::Utf8, false),
        Field::new("record", DataType::UInt8, false),
        Field::new("node_id", DataType::UInt32, false),
        Field::new("dst", DataType::UInt32, true),
        Field::new("t", DataType::Int64, true),
        Field::new("kind", DataType::UInt8, true),
        Field::new("price", DataType::Float64, true),
        Field::new("etype", DataType::UInt8, true),
        Field::new("dt", DataType::Int32, true),
    ];
    fields.extend(features('f', NODE_FEATURES));
    fields.extend(features('e', EDGE_FEATURES));
    Arc::new(Schema::new(fields))
}
