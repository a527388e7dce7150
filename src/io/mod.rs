//! Parquet + ZSTD I/O: the pyarrow shard layout and the streamed multi-session layout.
//!
//! - **Shard layout** ([`read_shard`], [`write_shard`]): one folder per session holding
//!   `nodes.parquet`, `edges.parquet`, `node_map.parquet` and `meta.json`, column for column as
//!   pyarrow wrote the real corpus `../shared/data/nq-m5`.
//! - **Multi-session layout** ([`MultiSessionWriter`], [`MultiSessionReader`]): many sessions in
//!   one Parquet file, one row per event or edge, streamed both ways.
//!
//! Every failure is an [`IoError`] naming the file and, where relevant, the column and row.
//! [`read_sessions`] accepts either layout. Reading accepts every codec pyarrow writes (snappy,
//! gzip, brotli, lz4, zstd, none), verifies page checksums where a file has them and the data
//! checksum of every file written here ([`checksum`]), reads 45, 51
//! or 53 node features (the extras travel as [`crate::session::ExtraFeatures`]), and turns a
//! panic of the Parquet decoder on a corrupt file into an error.
//!
//! ```
//! use ironforge::io::{read_sessions, write_multi, WriterSettings};
//! use ironforge::synth::{generate, SessionSpec};
//! let path = std::env::temp_dir().join(format!("ironforge_doc_io_{}.parquet", std::process::id()));
//! let s = generate(&SessionSpec::new("x", 3, 30));
//! write_multi(&path, [&s], &WriterSettings::default())?;
//! assert_eq!(read_sessions(&path)?, vec![s]);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), ironforge::io::IoError>(())
//! ```

pub mod checksum;
mod columns;
pub mod date;
mod error;
mod files;
mod guard;
mod ids;
mod multi;
mod rows;
pub mod schema;
mod settings;
mod shard;

use std::path::{Path, PathBuf};

pub use error::IoError;
pub use guard::quiet_decoder_panics;
pub use ids::UniqueIds;
pub use multi::{read_multi, write_multi, MultiSessionReader, MultiSessionWriter};
pub use settings::{StatisticsLevel, WriterSettings};
pub(crate) use shard::write_shard_into;
pub use shard::{is_shard_dir, read_shard, write_shard, EDGES_FILE, META_FILE, NODES_FILE, NODE_MAP_FILE};

use crate::session::Session;

/// What a path holds, as [`read_sessions`] decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A shard folder (it holds `nodes.parquet`).
    Shard,
    /// A folder whose sub-folders are shard folders.
    ShardFolders,
    /// A multi-session Parquet file.
    Multi,
}

/// Decides the layout of an existing path: a file is a multi-session file, a folder with
/// `nodes.parquet` a shard, any other folder a folder of shards.
pub fn detect_layout(path: &Path) -> Result<Layout, IoError> {
    let meta = std::fs::metadata(path).map_err(|e| IoError::os(path, e))?;
    Ok(if meta.is_file() {
        Layout::Multi
    } else if is_shard_dir(path) {
        Layout::Shard
    } else {
        Layout::ShardFolders
    })
}

/// The shard folders directly under `dir`, sorted by name.
pub fn shard_dirs(dir: &Path) -> Result<Vec<std::path::PathBuf>, IoError> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| IoError::os(dir, e))? {
        let p = entry.map_err(|e| IoError::os(dir, e))?.path();
        if is_shard_dir(&p) {
            dirs.push(p);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Reads every session at `path`: a shard folder, a folder of shard folders (sorted by folder
/// name), or a multi-session Parquet file (in file order). A folder with no shard is an error,
/// and so are two sessions with the same id (naming both shard folders, or both row ranges).
pub fn read_sessions(path: &Path) -> Result<Vec<Session>, IoError> {
    Ok(read_sessions_located(path)?.into_iter().map(|(_, s)| s).collect())
}

/// [`read_sessions`], each session with the file its edges were read from (a shard's
/// `edges.parquet`, or the multi-session file), so that a later check of the edges (a cycle,
/// say) can name it.
///
/// ```
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/golden_00_117");
/// let located = ironforge::io::read_sessions_located(&dir)?;
/// assert!(located[0].0.ends_with("golden_00_117/edges.parquet"));
/// # Ok::<(), ironforge::io::IoError>(())
/// ```
pub fn read_sessions_located(path: &Path) -> Result<Vec<(PathBuf, Session)>, IoError> {
    match detect_layout(path)? {
        Layout::Multi => Ok(read_multi(path)?.into_iter().map(|s| (path.to_path_buf(), s)).collect()),
        Layout::Shard => Ok(vec![(path.join(EDGES_FILE), read_shard(path)?)]),
        Layout::ShardFolders => {
            let dirs = shard_dirs(path)?;
            if dirs.is_empty() {
                return Err(IoError::NotSessions {
                    path: path.to_path_buf(),
                    detail: "folder holds neither nodes.parquet nor shard folders".into(),
                });
            }
            let mut ids = UniqueIds::default();
            dirs.iter()
                .map(|d| {
                    let s = read_shard(d)?;
                    ids.insert(s.id(), d)?;
                    Ok((d.join(EDGES_FILE), s))
                })
                .collect()
        }
    }
}
