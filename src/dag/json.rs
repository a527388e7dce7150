//! What `ironforge dag --json` prints.

use serde::Serialize;

use super::{BuildParams, Dag, DagError};
use crate::session::Session;

/// Where a session's DAG edges come from.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeSource {
    /// The session's own edges (as read from the shards).
    Imported,
    /// The causal edge builder with these parameters.
    Built(BuildParams),
}

/// The JSON form of a session's DAG: node ids throughout; `edges` are the distinct edges
/// sorted by local (source, destination), `generations` as in [`Dag::generation_node_ids`].
/// Field order is the printed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DagJson {
    /// Session id.
    pub session_id: String,
    /// Number of nodes.
    pub nodes: usize,
    /// `[src, dst]` node ids.
    pub edges: Vec<[u32; 2]>,
    /// Node ids of each generation, ascending.
    pub generations: Vec<Vec<u32>>,
}

impl DagJson {
    /// The JSON form of a DAG.
    pub fn from_dag(dag: &Dag) -> Self {
        Self {
            session_id: dag.session_id().to_string(),
            nodes: dag.len(),
            edges: dag.node_id_edges().into_iter().map(|(s, d)| [s, d]).collect(),
            generations: dag.generation_node_ids(),
        }
    }
}

/// The JSON form of a session's DAG from the chosen edge source.
///
/// ```
/// use ironforge::dag::{dag_json, EdgeSource};
/// use ironforge::session::*;
/// let meta = SessionMeta::new("s", "NY", "NQ", "M5");
/// let ev = vec![Event::new(5, 0, EventKind::Other, 1.0), Event::new(6, 60_000, EventKind::Other, 1.0)];
/// let s = Session::new(meta, ev, vec![Edge::new(5, 6, EdgeType::TemporalNext, 60_000)])?;
/// let json = serde_json::to_string(&dag_json(&s, &EdgeSource::Imported)?).unwrap();
/// assert_eq!(json, r#"{"session_id":"s","nodes":2,"edges":[[5,6]],"generations":[[5],[6]]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dag_json(session: &Session, source: &EdgeSource) -> Result<DagJson, DagError> {
    let dag = match source {
        EdgeSource::Imported => Dag::from_session(session)?,
        EdgeSource::Built(params) => Dag::built(session, params)?,
    };
    Ok(DagJson::from_dag(&dag))
}
