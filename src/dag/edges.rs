//! Causal edges: the builder's pairs turned into [`EdgeType::Causal`] edges with a weight and
//! 20 deterministic features.

use super::{causal_pairs, BuildParams, Builder, CausalityTable, DagError};
use crate::session::{Edge, EdgeType, Session, EDGE_FEATURES};

/// How edges are weighted: the causality table and the price scale of the proximity term.
///
/// ```
/// let w = ironforge::dag::EdgeWeighting::default();
/// assert_eq!(w.price_scale, 10.0);
/// assert!(w.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeWeighting {
    /// Causality of (source kind, destination kind).
    pub causality: CausalityTable,
    /// Price distance at which [`price_proximity`] falls to 1/2 (default 10.0 price units:
    /// 40 NQ ticks, about two 5-minute bars of movement).
    pub price_scale: f64,
}

impl Default for EdgeWeighting {
    fn default() -> Self {
        Self { causality: CausalityTable::default(), price_scale: 10.0 }
    }
}

impl EdgeWeighting {
    /// Checks the table and that `price_scale` is finite and positive.
    pub fn validate(&self) -> Result<(), DagError> {
        self.causality.validate()?;
        if !(self.price_scale.is_finite() && self.price_scale > 0.0) {
            return Err(DagError::BadParameter {
                name: "price_scale",
                value: self.price_scale.to_string(),
                why: "must be finite and positive",
            });
        }
        Ok(())
    }
}

/// Names of the 20 features of a built edge, slot by slot. Every slot is a pure function of the
/// two events, their local indices and the parameters; there is no random noise.
pub const EDGE_FEATURE_NAMES: [&str; EDGE_FEATURES] = [
    "weight",            // e0: 0.5·(1 − dt/dt_max) + 0.3·causality + 0.2·proximity, clamped to [0.1, 1]
    "dt_norm",           // e1: dt / dt_max (0 when dt_max <= 0)
    "temporal_term",     // e2: 1 − dt_norm
    "causality",         // e3: table value of (src kind, dst kind)
    "price_proximity",   // e4: 1 / (1 + |Δprice| / price_scale)
    "price_change_norm", // e5: (price_dst − price_src) / price_scale
    "dt_minutes",        // e6: dt in minutes
    "rank",              // e7: position of this edge among its source's causal edges (0-based)
    "index_gap",         // e8: local index of dst − local index of src
    "src_kind",          // e9: kind code of the source
    "dst_kind",          // e10: kind code of the destination
    "same_kind",         // e11: 1 when both kinds are equal, else 0
    "price_up",          // e12: 1 when price_dst > price_src, else 0
    "price_down",        // e13: 1 when price_dst < price_src, else 0
    "reserved_14",       // e14–e19: 0.0 (the original filled these with random noise)
    "reserved_15",
    "reserved_16",
    "reserved_17",
    "reserved_18",
    "reserved_19",
];

/// Price proximity of two events: `1 / (1 + |Δprice| / price_scale)`, in `(0, 1]`; 1 for equal
/// prices, 1/2 at a distance of `price_scale`.
///
/// ```
/// use ironforge::dag::price_proximity;
/// assert_eq!(price_proximity(100.0, 100.0, 10.0), 1.0);
/// assert_eq!(price_proximity(100.0, 110.0, 10.0), 0.5);
/// ```
pub fn price_proximity(price_src: f64, price_dst: f64, price_scale: f64) -> f64 {
    1.0 / (1.0 + (price_dst - price_src).abs() / price_scale)
}

/// Causal edges of a session with the default [`EdgeWeighting`], pairs from `builder`.
/// Endpoints are node ids; `dt_ms` is the true gap (saturated to `i32`).
///
/// ```
/// use ironforge::dag::{build_edges, BuildParams, Builder};
/// use ironforge::session::EdgeType;
/// let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("d", 5, 60));
/// let fast = build_edges(&s, &BuildParams::default(), Builder::Fast);
/// assert_eq!(fast, build_edges(&s, &BuildParams::default(), Builder::Reference));
/// assert!(fast.iter().all(|e| e.etype == EdgeType::Causal && (0.1..=1.0).contains(&e.features[0])));
/// ```
pub fn build_edges(session: &Session, params: &BuildParams, builder: Builder) -> Vec<Edge> {
    edges_from_pairs(session, params, &EdgeWeighting::default(), builder)
}

/// Causal edges with a chosen [`EdgeWeighting`] (checked first).
pub fn build_edges_with(
    session: &Session,
    params: &BuildParams,
    weighting: &EdgeWeighting,
    builder: Builder,
) -> Result<Vec<Edge>, DagError> {
    weighting.validate()?;
    Ok(edges_from_pairs(session, params, weighting, builder))
}

fn edges_from_pairs(session: &Session, params: &BuildParams, weighting: &EdgeWeighting, builder: Builder) -> Vec<Edge> {
    let events = session.events();
    let pairs = causal_pairs(&session.times_ms(), params, builder);
    let matrix = weighting.causality.matrix();
    let mut edges = Vec::with_capacity(pairs.len());
    let mut rank = 0u32;
    let mut last_src = u32::MAX;
    for &(i, j) in &pairs {
        rank = if i == last_src { rank + 1 } else { 0 };
        last_src = i;
        let (a, b) = (&events[i as usize], &events[j as usize]);
        let dt = b.t_ms.saturating_sub(a.t_ms);
        let dt_norm = if params.dt_max_ms > 0 { dt as f64 / params.dt_max_ms as f64 } else { 0.0 };
        let causality = matrix[a.kind.code() as usize][b.kind.code() as usize];
        let proximity = price_proximity(a.price, b.price, weighting.price_scale);
        let weight = (0.5 * (1.0 - dt_norm) + 0.3 * causality + 0.2 * proximity).clamp(0.1, 1.0);
        let mut edge =
            Edge::new(a.node_id, b.node_id, EdgeType::Causal, dt.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
        let f = &mut edge.features;
        f[0] = weight as f32;
        f[1] = dt_norm as f32;
        f[2] = (1.0 - dt_norm) as f32;
        f[3] = causality as f32;
        f[4] = proximity as f32;
        f[5] = ((b.price - a.price) / weighting.price_scale) as f32;
        f[6] = (dt as f64 / 60_000.0) as f32;
        f[7] = rank as f32;
        f[8] = (j - i) as f32;
        f[9] = a.kind.code() as f32;
        f[10] = b.kind.code() as f32;
        f[11] = f32::from(u8::from(a.kind == b.kind));
        f[12] = f32::from(u8::from(b.price > a.price));
        f[13] = f32::from(u8::from(b.price < a.price));
        edges.push(edge);
    }
    edges
}
