//! DAG gates: the fast edge builder gives exactly the reference's edges.

use ironforge::dag::{causal_pairs, BuildParams, Builder};
use ironforge::gate::{Fault, GateContext, GateError};
use ironforge::session::Session;

use crate::sessions;

/// The fast builder drops its last edge.
pub const DROPPED_EDGE: Fault = Fault::new("dropped_edge", "the fast builder's last edge is dropped");

/// The gate's sessions (owned: a scenario's cases are values).
pub fn dag_sessions(ctx: &GateContext) -> Result<Vec<Session>, GateError> {
    Ok(sessions::for_gate(ctx)?.into_iter().cloned().collect())
}

/// Edges of the O(n²) reference builder.
pub fn reference_edges(_: &GateContext, s: &Session) -> Result<Vec<(u32, u32)>, GateError> {
    Ok(causal_pairs(&s.times_ms(), &BuildParams::default(), Builder::Reference))
}

/// Edges of the sweep builder.
pub fn fast_edges(ctx: &GateContext, s: &Session) -> Result<Vec<(u32, u32)>, GateError> {
    let mut e = causal_pairs(&s.times_ms(), &BuildParams::default(), Builder::Fast);
    if ctx.injected(&DROPPED_EDGE) {
        e.pop();
    }
    Ok(e)
}

ironforge::scenario!(dag_edges_fast_vs_reference: sessions = dag_sessions, reference = reference_edges, candidate = fast_edges,
    compare = exact, family = "dag", fault = DROPPED_EDGE,
    doc = "the sweep edge builder gives exactly the reference builder's edge list, in order, on every session");
