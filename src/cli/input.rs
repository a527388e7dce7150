//! What the subcommands that read sessions share: the sessions with the file each one's edges
//! came from, and the one check every subcommand that needs a DAG applies to them.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::dag::Dag;
use crate::session::Session;

/// Every session at `path` (either layout) with the file holding its edges.
pub fn read_located(path: &Path) -> anyhow::Result<Vec<(PathBuf, Session)>> {
    Ok(crate::io::read_sessions_located(path)?)
}

/// The DAG of a session's own edges. A directed cycle or a self-loop is refused, naming
/// `edges_file`, the session and the node ids (never local indices). `dag` and `motifs` both
/// go through here, so they accept and refuse the same inputs.
///
/// ```
/// use ironforge::session::{Edge, EdgeType, Event, EventKind, Session, SessionMeta};
/// let events = vec![Event::new(5, 0, EventKind::Other, 1.0), Event::new(6, 60_000, EventKind::Other, 1.0)];
/// let edges = vec![Edge::new(5, 6, EdgeType::TemporalNext, 0), Edge::new(6, 5, EdgeType::TemporalNext, 0)];
/// let s = Session::new(SessionMeta::new("s", "NY", "NQ", "M5"), events, edges)?;
/// let err = ironforge::cli::input::session_dag(std::path::Path::new("x/edges.parquet"), &s).unwrap_err();
/// assert_eq!(format!("{err:#}"), "x/edges.parquet: session \"s\": edges form a cycle through node ids [5, 6]");
/// # Ok::<(), ironforge::session::SessionError>(())
/// ```
pub fn session_dag(edges_file: &Path, session: &Session) -> anyhow::Result<Dag> {
    Dag::from_session(session).with_context(|| edges_file.display().to_string())
}
