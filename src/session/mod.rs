//! The session model: one market session as a set of timed events and the edges between them.
//!
//! A [`Session`] is built with [`Session::new`], which validates everything and returns a
//! typed [`SessionError`] naming the first problem found. Events are **stably sorted** by
//! timestamp: the *sequence index* that breaks ties is the event's position in the input, so
//! events sharing a timestamp keep the order they were given in. After construction
//! `session.events()[i]` is the event with local index `i`; node ids are kept as given.
//!
//! ```
//! use ironforge::session::{Event, EventKind, Session, SessionMeta};
//!
//! let meta = SessionMeta::new("NY_2025-07-24", "NY", "NQ", "M5");
//! let events = vec![
//!     Event::new(7, 1_000, EventKind::PriceMovement, 100.0),
//!     Event::new(3, 0, EventKind::Anchor, 99.5),
//! ];
//! let session = Session::new(meta, events, vec![])?;
//! assert_eq!(session.events()[0].node_id, 3); // sorted by time
//! assert_eq!(session.node_index(7), Some(1));
//! # Ok::<(), ironforge::session::SessionError>(())
//! ```

mod error;
mod parity;

pub use error::SessionError;

use std::collections::HashMap;

/// Number of node features of the base feature set (`f0..f44`).
pub const NODE_FEATURES: usize = 45;
/// Node feature widths a session may carry: the base set, the higher-timeframe variant
/// (`f0..f50`) and the one-minute-bar variant (`f0..f52`). The engines read the first
/// [`NODE_FEATURES`]; the others travel as [`ExtraFeatures`].
pub const NODE_FEATURE_WIDTHS: [usize; 3] = [NODE_FEATURES, 51, 53];
/// Number of edge features (`e0..e19`).
pub const EDGE_FEATURES: usize = 20;
/// Largest session accepted, in events. Larger inputs are refused with
/// [`SessionError::TooLarge`] rather than exhausting memory in the quadratic reference paths.
pub const MAX_EVENTS: usize = 65_536;

/// What an event is, as encoded in the shards' `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum EventKind {
    /// 0: a price movement.
    PriceMovement = 0,
    /// 1: a liquidity event.
    LiquidityEvent = 1,
    /// 2: an anchor.
    Anchor = 2,
    /// 3: anything else.
    Other = 3,
}

impl EventKind {
    /// All kinds, in code order.
    pub const ALL: [EventKind; 4] =
        [EventKind::PriceMovement, EventKind::LiquidityEvent, EventKind::Anchor, EventKind::Other];

    /// The kind for a code of the `kind` column, or `None` for an unknown code.
    ///
    /// ```
    /// # use ironforge::session::EventKind;
    /// assert_eq!(EventKind::from_code(1), Some(EventKind::LiquidityEvent));
    /// assert_eq!(EventKind::from_code(9), None);
    /// ```
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }

    /// The code written to the `kind` column.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// A short lowercase name (`price_movement`, `liquidity_event`, `anchor`, `other`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::PriceMovement => "price_movement",
            EventKind::LiquidityEvent => "liquidity_event",
            EventKind::Anchor => "anchor",
            EventKind::Other => "other",
        }
    }
}

/// What an edge is, as encoded in the shards' `etype` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum EdgeType {
    /// 0: the next event in time.
    TemporalNext = 0,
    /// 1: a transition between movements.
    MovementTransition = 1,
    /// 2: a link between liquidity events.
    LiqLink = 2,
    /// 3: an edge made by ironforge's causal edge builder (`src/dag`).
    Causal = 3,
}

impl EdgeType {
    /// All edge types, in code order.
    pub const ALL: [EdgeType; 4] =
        [EdgeType::TemporalNext, EdgeType::MovementTransition, EdgeType::LiqLink, EdgeType::Causal];

    /// The edge type for a code of the `etype` column, or `None` for an unknown code.
    ///
    /// ```
    /// # use ironforge::session::EdgeType;
    /// assert_eq!(EdgeType::from_code(2), Some(EdgeType::LiqLink));
    /// ```
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }

    /// The code written to the `etype` column.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// A short lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            EdgeType::TemporalNext => "temporal_next",
            EdgeType::MovementTransition => "movement_transition",
            EdgeType::LiqLink => "liq_link",
            EdgeType::Causal => "causal",
        }
    }
}

/// Identity of a session: the strings of a shard's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SessionMeta {
    /// Unique id, e.g. `NY_2025-07-24`.
    pub session_id: String,
    /// Session type, e.g. `NY`, `LONDON`, `ASIA`.
    pub session_type: String,
    /// Instrument, e.g. `NQ`.
    pub symbol: String,
    /// Bar timeframe, e.g. `M5`.
    pub timeframe: String,
}

impl SessionMeta {
    /// Builds the metadata from its four strings.
    ///
    /// ```
    /// # use ironforge::session::SessionMeta;
    /// let m = SessionMeta::new("NY_2025-07-24", "NY", "NQ", "M5");
    /// assert_eq!(m.symbol, "NQ");
    /// ```
    pub fn new(
        session_id: impl Into<String>,
        session_type: impl Into<String>,
        symbol: impl Into<String>,
        timeframe: impl Into<String>,
    ) -> Self {
        Self {
            session_id: session_id.into(),
            session_type: session_type.into(),
            symbol: symbol.into(),
            timeframe: timeframe.into(),
        }
    }
}

/// One event (a node of the session graph).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Global node id as written in the shard (not 0-based).
    pub node_id: u32,
    /// Time in UTC milliseconds.
    pub t_ms: i64,
    /// What the event is.
    pub kind: EventKind,
    /// Price at the event.
    pub price: f64,
    /// The 45 node features `f0..f44`.
    pub features: [f32; NODE_FEATURES],
}

impl Event {
    /// An event with all features zero.
    ///
    /// ```
    /// # use ironforge::session::{Event, EventKind};
    /// let e = Event::new(1, 0, EventKind::Other, 1.0);
    /// assert!(e.features.iter().all(|&f| f == 0.0));
    /// ```
    pub fn new(node_id: u32, t_ms: i64, kind: EventKind, price: f64) -> Self {
        Self { node_id, t_ms, kind, price, features: [0.0; NODE_FEATURES] }
    }
}

/// One directed edge between two events, named by node id.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// Node id of the source event.
    pub src: u32,
    /// Node id of the destination event.
    pub dst: u32,
    /// What the edge is.
    pub etype: EdgeType,
    /// Time gap in milliseconds as stored (the shards cap it at 3,600,000).
    pub dt_ms: i32,
    /// The 20 edge features `e0..e19`.
    pub features: [f32; EDGE_FEATURES],
}

impl Edge {
    /// An edge with all features zero.
    ///
    /// ```
    /// # use ironforge::session::{Edge, EdgeType};
    /// let e = Edge::new(1, 2, EdgeType::TemporalNext, 60_000);
    /// assert_eq!((e.src, e.dst), (1, 2));
    /// ```
    pub fn new(src: u32, dst: u32, etype: EdgeType, dt_ms: i32) -> Self {
        Self { src, dst, etype, dt_ms, features: [0.0; EDGE_FEATURES] }
    }
}

/// Node features beyond the 45 base features (`f45..`), one row per event: what the 51- and
/// 53-wide feature-set variants add. The engines do not read them; readers and writers carry
/// them, and `inspect` reports them.
///
/// ```
/// use ironforge::session::ExtraFeatures;
/// let x = ExtraFeatures::new(2, vec![1.0, 2.0, 3.0, 4.0])?;
/// assert_eq!((x.width(), x.rows()), (2, 2));
/// assert_eq!(x.row(1), &[3.0, 4.0]);
/// assert!(ExtraFeatures::new(2, vec![1.0]).is_err());
/// # Ok::<(), ironforge::session::SessionError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraFeatures {
    width: usize,
    values: Vec<f32>,
}

impl ExtraFeatures {
    /// `values` row-major, `width` per row (width at least 1, a whole number of rows).
    pub fn new(width: usize, values: Vec<f32>) -> Result<Self, SessionError> {
        if width == 0 || !values.len().is_multiple_of(width) {
            return Err(SessionError::ExtraShape { width, values: values.len() });
        }
        Ok(Self { width, values })
    }

    /// Features per event.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of rows (events).
    pub fn rows(&self) -> usize {
        self.values.len() / self.width
    }

    /// The extra features of row `i` (`f45`, `f46`, …).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.width..][..self.width]
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
}

/// A validated session: metadata, events sorted by (timestamp, sequence index), edges whose
/// endpoints all exist, and, for the wider feature-set variants, the [`ExtraFeatures`] of each
/// event.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    meta: SessionMeta,
    events: Vec<Event>,
    edges: Vec<Edge>,
    index_of: HashMap<u32, u32>,
    extra: Option<ExtraFeatures>,
}

impl Session {
    /// Validates and builds a session.
    ///
    /// Events are stably sorted by `t_ms` (ties keep input order). Errors, in the order they
    /// are checked: [`SessionError::Empty`], [`SessionError::TooLarge`],
    /// [`SessionError::NonFinite`] (price, feature), [`SessionError::DuplicateNodeId`],
    /// [`SessionError::NonFinite`] (edge feature), [`SessionError::DanglingEdge`].
    ///
    /// ```
    /// use ironforge::session::{Edge, EdgeType, Event, EventKind, Session, SessionError, SessionMeta};
    /// let meta = SessionMeta::new("s", "NY", "NQ", "M5");
    /// let events = vec![Event::new(1, 0, EventKind::Other, 1.0)];
    /// let edges = vec![Edge::new(1, 2, EdgeType::TemporalNext, 0)];
    /// let err = Session::new(meta, events, edges).unwrap_err();
    /// assert!(matches!(err, SessionError::DanglingEdge { node_id: 2, .. }));
    /// ```
    pub fn new(meta: SessionMeta, events: Vec<Event>, edges: Vec<Edge>) -> Result<Self, SessionError> {
        Self::build(meta, events, edges, None)
    }

    /// Like [`Session::new`], with the extra node features of a 51- or 53-wide variant:
    /// `extra.row(i)` belongs to `events[i]` as given (it is reordered with the events).
    /// Also refused: [`SessionError::ExtraRows`] (not one row per event) and
    /// [`SessionError::NonFinite`] (an extra feature, named `f45`, `f46`, …).
    ///
    /// ```
    /// use ironforge::session::{Event, EventKind, ExtraFeatures, Session, SessionMeta};
    /// let meta = SessionMeta::new("s", "NY", "NQ", "M5");
    /// let events = vec![Event::new(1, 60_000, EventKind::Other, 1.0), Event::new(2, 0, EventKind::Other, 1.0)];
    /// let extra = ExtraFeatures::new(6, [[1.0f32; 6], [2.0; 6]].concat())?;
    /// let s = Session::with_extra_features(meta, events, vec![], extra)?;
    /// assert_eq!(s.node_feature_width(), 51);
    /// assert_eq!(s.extra_features().unwrap().row(0), &[2.0; 6]); // node 2 sorts first
    /// # Ok::<(), ironforge::session::SessionError>(())
    /// ```
    pub fn with_extra_features(
        meta: SessionMeta,
        events: Vec<Event>,
        edges: Vec<Edge>,
        extra: ExtraFeatures,
    ) -> Result<Self, SessionError> {
        Self::build(meta, events, edges, Some(extra))
    }

    fn build(
        meta: SessionMeta,
        mut events: Vec<Event>,
        edges: Vec<Edge>,
        mut extra: Option<ExtraFeatures>,
    ) -> Result<Self, SessionError> {
        if events.is_empty() {
            return Err(SessionError::Empty { session_id: meta.session_id });
        }
        if events.len() > MAX_EVENTS {
            return Err(SessionError::TooLarge { session_id: meta.session_id, events: events.len(), max: MAX_EVENTS });
        }
        for e in &events {
            if !e.price.is_finite() {
                return Err(SessionError::NonFinite { what: "price".into(), node_id: Some(e.node_id), edge: None });
            }
            if let Some(j) = e.features.iter().position(|f| !f.is_finite()) {
                return Err(SessionError::NonFinite { what: format!("f{j}"), node_id: Some(e.node_id), edge: None });
            }
        }
        if let Some(x) = &extra {
            if x.rows() != events.len() {
                return Err(SessionError::ExtraRows { rows: x.rows(), events: events.len() });
            }
            for (e, row) in events.iter().zip(x.values.chunks_exact(x.width)) {
                if let Some(j) = row.iter().position(|f| !f.is_finite()) {
                    let what = format!("f{}", NODE_FEATURES + j);
                    return Err(SessionError::NonFinite { what, node_id: Some(e.node_id), edge: None });
                }
            }
        }
        // Stable sort: ties keep input order (the sequence index).
        match &mut extra {
            None => events.sort_by_key(|e| e.t_ms),
            Some(x) => {
                let mut order: Vec<usize> = (0..events.len()).collect();
                order.sort_by_key(|&i| events[i].t_ms);
                if order.windows(2).any(|w| w[0] > w[1]) {
                    let values = order.iter().flat_map(|&i| x.row(i).iter().copied()).collect();
                    let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
                    events = order.iter().filter_map(|&i| slots[i].take()).collect();
                    x.values = values;
                }
            }
        }
        let mut index_of = HashMap::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            if index_of.insert(e.node_id, i as u32).is_some() {
                return Err(SessionError::DuplicateNodeId { node_id: e.node_id });
            }
        }
        for (k, edge) in edges.iter().enumerate() {
            if let Some(j) = edge.features.iter().position(|f| !f.is_finite()) {
                return Err(SessionError::NonFinite { what: format!("e{j}"), node_id: None, edge: Some(k) });
            }
            for node_id in [edge.src, edge.dst] {
                if !index_of.contains_key(&node_id) {
                    return Err(SessionError::DanglingEdge { edge: k, node_id });
                }
            }
        }
        Ok(Self { meta, events, edges, index_of, extra })
    }

    /// The session's metadata.
    pub fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    /// The session id (shortcut for `meta().session_id`).
    pub fn id(&self) -> &str {
        &self.meta.session_id
    }

    /// Events sorted by (timestamp, sequence index); position = local index.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Edges as given (endpoints are node ids).
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Always false: an empty session cannot be built.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Local index (position in [`Session::events`]) of a node id.
    pub fn node_index(&self, node_id: u32) -> Option<usize> {
        self.index_of.get(&node_id).map(|&i| i as usize)
    }

    /// Edges as `(src, dst)` local indices, in the order of [`Session::edges`].
    ///
    /// ```
    /// # use ironforge::session::*;
    /// let meta = SessionMeta::new("s", "NY", "NQ", "M5");
    /// let ev = vec![Event::new(10, 5, EventKind::Other, 1.0), Event::new(20, 0, EventKind::Other, 1.0)];
    /// let s = Session::new(meta, ev, vec![Edge::new(20, 10, EdgeType::TemporalNext, 5)])?;
    /// assert_eq!(s.local_edges(), vec![(0, 1)]);
    /// # Ok::<(), SessionError>(())
    /// ```
    pub fn local_edges(&self) -> Vec<(u32, u32)> {
        self.edges.iter().map(|e| (self.index_of[&e.src], self.index_of[&e.dst])).collect()
    }

    /// Timestamps in local-index order (non-decreasing).
    pub fn times_ms(&self) -> Vec<i64> {
        self.events.iter().map(|e| e.t_ms).collect()
    }

    /// Returns the same events (and extra features) with another edge set (validated like
    /// [`Session::new`]).
    pub fn with_edges(&self, edges: Vec<Edge>) -> Result<Self, SessionError> {
        Session::build(self.meta.clone(), self.events.clone(), edges, self.extra.clone())
    }

    /// The extra node features (`f45..`) of a 51- or 53-wide variant, in local-index order;
    /// `None` for the base feature set.
    pub fn extra_features(&self) -> Option<&ExtraFeatures> {
        self.extra.as_ref()
    }

    /// Node features per event as read: 45, or 45 plus the extra features' width.
    ///
    /// ```
    /// let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("s", 1, 5));
    /// assert_eq!(s.node_feature_width(), 45);
    /// ```
    pub fn node_feature_width(&self) -> usize {
        NODE_FEATURES + self.extra.as_ref().map_or(0, ExtraFeatures::width)
    }

    /// Takes the session apart into metadata, sorted events and edges (the extra features, if
    /// any, are dropped).
    pub fn into_parts(self) -> (SessionMeta, Vec<Event>, Vec<Edge>) {
        (self.meta, self.events, self.edges)
    }
}
