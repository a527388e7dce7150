//! Parquet + ZSTD I/O: the pyarrow shard layout and the multi-session layout.
//!
//! (Seam: the readers and writers are being written on their own branch.)

use std::path::Path;

use crate::session::Session;

/// Reads every session at `path`: a shard folder, a folder of shard folders, or a
/// multi-session Parquet file.
pub fn read_sessions(path: &Path) -> anyhow::Result<Vec<Session>> {
    anyhow::bail!("{}: reading sessions is not built yet", path.display())
}
