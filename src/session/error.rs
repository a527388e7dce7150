use std::fmt;

/// Why a session could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The session has no events.
    Empty {
        /// Id of the empty session.
        session_id: String,
    },
    /// The session has more than [`super::MAX_EVENTS`] events.
    TooLarge {
        /// Id of the session.
        session_id: String,
        /// Events given.
        events: usize,
        /// Events allowed.
        max: usize,
    },
    /// A value that must be finite is NaN or infinite.
    NonFinite {
        /// The field (`price`, `f12`, `e3`, ...).
        what: String,
        /// Node id of the offending event, for event fields.
        node_id: Option<u32>,
        /// Position of the offending edge, for edge fields.
        edge: Option<usize>,
    },
    /// Two events share a node id.
    DuplicateNodeId {
        /// The repeated id.
        node_id: u32,
    },
    /// An edge names a node id that no event has.
    DanglingEdge {
        /// Position of the edge in the input.
        edge: usize,
        /// The missing node id.
        node_id: u32,
    },
    /// Extra node features that are not whole rows of a positive width.
    ExtraShape {
        /// Features per row.
        width: usize,
        /// Values given.
        values: usize,
    },
    /// Extra node features given for another number of events.
    ExtraRows {
        /// Rows of extra features.
        rows: usize,
        /// Events.
        events: usize,
    },
    /// A feature vector has the wrong width.
    FeatureWidth {
        /// `node` or `edge`.
        what: &'static str,
        /// Width supported.
        expected: usize,
        /// Width found.
        got: usize,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Empty { session_id } => write!(f, "session {session_id:?} has no events"),
            SessionError::TooLarge { session_id, events, max } => {
                write!(f, "session {session_id:?} has {events} events; at most {max} are supported")
            }
            SessionError::NonFinite { what, node_id: Some(n), .. } => {
                write!(f, "event with node id {n}: {what} is not finite")
            }
            SessionError::NonFinite { what, edge: Some(k), .. } => write!(f, "edge #{k}: {what} is not finite"),
            SessionError::NonFinite { what, .. } => write!(f, "{what} is not finite"),
            SessionError::DuplicateNodeId { node_id } => write!(f, "node id {node_id} appears more than once"),
            SessionError::DanglingEdge { edge, node_id } => {
                write!(f, "edge #{edge} names node id {node_id}, which no event has")
            }
            SessionError::ExtraShape { width, values } => {
                write!(f, "{values} extra node feature values are not whole rows of width {width}")
            }
            SessionError::ExtraRows { rows, events } => {
                write!(f, "{rows} rows of extra node features for {events} events")
            }
            SessionError::FeatureWidth { what, expected, got } => {
                write!(f, "{what} features have width {got}; ironforge supports {expected}")
            }
        }
    }
}

impl std::error::Error for SessionError {}
