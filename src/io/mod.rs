//! Parquet + ZSTD I/O: the pyarrow shard layout and the streamed multi-session layout.
//!
//! - **Shard layout** ([`read_shard`], [`write_shard`]): one folder per session holding
//!   `nodes.parquet`, `edges.parquet`, `node_map.parquet` and `meta.json`, column for column as
//!   pyarrow wrote the real corpus `../shared/data/nq-m5`.
//! - **Multi-session layout** ([`MultiSessionWriter`], [`MultiSessionReader`]): many sessions in
//!   one Parquet file, one row per event or edge, streamed both ways.
//!
//! Every failure is an [`IoError`] naming the file and, where relevant, the column and row.
//! [`read_sessions`] accepts either layout.
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

mod columns;
mod error;
mod files;
mod multi;
mod rows;
pub mod schema;
mod settings;
mod shard;

use std::path::Path;

pub use error::IoError;
pub use multi::{read_multi, write_multi, MultiSessionReader, MultiSessionWriter};
pub use settings::{StatisticsLevel, WriterSettings};
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
/// name), or a multi-session Parquet file (in file order). A folder with no shard is an error.
pub fn read_sessions(path: &Path) -> Result<Vec<Session>, IoError> {
    match detect_layout(path)? {
        Layout::Multi => read_multi(path),
        Layout::Shard => Ok(vec![read_shard(path)?]),
        Layout::ShardFolders => {
            let dirs = shard_dirs(path)?;
            if dirs.is_empty() {
                return Err(IoError::NotSessions {
                    path: path.to_path_buf(),
                    detail: "folder holds neither nodes.parquet nor shard folders".into(),
                });
            }
            dirs.iter().map(|d| read_shard(d)).collect()
        }
    }
}
