//! `ironforge inspect <path>`: validate sessions (either layout) and print a summary.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::io::{detect_layout, read_shard, shard_dirs, Layout, MultiSessionReader};
use crate::session::{Session, NODE_FEATURES};

/// Arguments of `ironforge inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A shard folder, a folder of shard folders, or a multi-session `.parquet` file.
    pub path: PathBuf,
}

/// One line of summary for a session: id, events, edges, time span, kinds and edge types, and
/// for a 51- or 53-wide feature-set variant the extra node features it carries.
///
/// ```
/// use ironforge::synth::{generate, SessionSpec};
/// let line = ironforge::cli::inspect::summary(&generate(&SessionSpec::new("s", 1, 20)));
/// assert!(line.starts_with("s: 20 events"));
/// assert!(!line.contains("node features"));
/// ```
pub fn summary(s: &Session) -> String {
    let times = s.times_ms();
    // i128: the span of two i64 timestamps can exceed i64.
    let span_min = (i128::from(times[times.len() - 1]) - i128::from(times[0])) as f64 / 60_000.0;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in s.events() {
        *kinds.entry(e.kind.name()).or_default() += 1;
    }
    let mut etypes: BTreeMap<&str, usize> = BTreeMap::new();
    for e in s.edges() {
        *etypes.entry(e.etype.name()).or_default() += 1;
    }
    let fmt = |m: &BTreeMap<&str, usize>| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
    let features = match s.extra_features() {
        None => String::new(),
        Some(x) => format!(
            " | node features: {} (f0..f{} read by the engines, f{}..f{} carried)",
            s.node_feature_width(),
            NODE_FEATURES - 1,
            NODE_FEATURES,
            NODE_FEATURES + x.width() - 1
        ),
    };
    format!(
        "{}: {} events, {} edges, span {:.0} min ({} .. {} ms) | kinds: {} | edges: {}{features}",
        s.id(),
        s.len(),
        s.edges().len(),
        span_min,
        times[0],
        times[times.len() - 1],
        fmt(&kinds),
        fmt(&etypes)
    )
}

/// Runs `ironforge inspect`: prints one summary line per session and a total; the first invalid
/// session stops it with the error (non-zero exit).
pub fn run(args: &Args) -> anyhow::Result<()> {
    let layout = detect_layout(&args.path)?;
    let (mut sessions, mut events, mut edges) = (0usize, 0usize, 0usize);
    let mut show = |s: Session| {
        println!("{}", summary(&s));
        sessions += 1;
        events += s.len();
        edges += s.edges().len();
    };
    match layout {
        Layout::Multi => {
            for s in MultiSessionReader::open(&args.path)? {
                show(s?);
            }
        }
        Layout::Shard => show(read_shard(&args.path)?),
        Layout::ShardFolders => {
            let dirs = shard_dirs(&args.path)?;
            anyhow::ensure!(!dirs.is_empty(), "{}: no shard folders (folders with nodes.parquet)", args.path.display());
            let mut ids = crate::io::UniqueIds::default();
            for d in dirs {
                let s = read_shard(&d)?;
                ids.insert(s.id(), &d)?;
                show(s);
            }
        }
    }
    println!("{}: {layout:?} layout, {sessions} valid sessions, {events} events, {edges} edges", args.path.display());
    Ok(())
}
