//! `ironforge convert <in> <out>`: convert between the shard layout and the multi-session layout.
//!
//! The input layout is detected (file → multi-session; folder with `nodes.parquet` → one shard;
//! other folder → folder of shards). The output layout is chosen by `<out>`'s name: ending in
//! `.parquet` → one multi-session file; anything else → a folder with one shard folder per
//! session (`<out>/<session_id>/`). Sessions are streamed: one is in memory at a time.

use std::path::{Path, PathBuf};

use crate::io::{
    detect_layout, read_shard, shard_dirs, write_shard, IoError, Layout, MultiSessionReader, MultiSessionWriter,
    StatisticsLevel, WriterSettings,
};
use crate::session::Session;

/// Arguments of `ironforge convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input: a shard folder, a folder of shard folders, or a multi-session `.parquet` file.
    pub input: PathBuf,
    /// Output: a `.parquet` path (multi-session layout) or a folder (one shard folder per session).
    pub output: PathBuf,
    /// ZSTD level (1–22).
    #[arg(long, default_value_t = 3)]
    pub zstd_level: i32,
    /// Rows per row group.
    #[arg(long, default_value_t = 10_000)]
    pub row_group_rows: usize,
    /// Do not dictionary-encode string columns.
    #[arg(long)]
    pub no_dictionary: bool,
    /// Do not write column statistics.
    #[arg(long)]
    pub no_statistics: bool,
}

/// Whether `path` names a multi-session output (it ends in `.parquet`).
pub fn is_multi_output(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Whether a session id can be used as one folder name (no separators, not `.`/`..`, not empty).
fn is_plain_name(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\\', '\0'])
}

/// Calls `f` on every session at `input`, in order, one at a time.
fn for_each_session(input: &Path, mut f: impl FnMut(Session) -> Result<(), IoError>) -> Result<usize, IoError> {
    let mut n = 0;
    let mut go = |s: Session| {
        n += 1;
        f(s)
    };
    match detect_layout(input)? {
        Layout::Multi => {
            for s in MultiSessionReader::open(input)? {
                go(s?)?;
            }
        }
        Layout::Shard => go(read_shard(input)?)?,
        Layout::ShardFolders => {
            for d in shard_dirs(input)? {
                go(read_shard(&d)?)?;
            }
        }
    }
    Ok(n)
}

/// Runs `ironforge convert`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let settings = WriterSettings {
        zstd_level: args.zstd_level,
        row_group_rows: args.row_group_rows,
        dictionary_strings: !args.no_dictionary,
        statistics: if args.no_statistics { StatisticsLevel::None } else { StatisticsLevel::Chunk },
        compress: true,
    };
    settings.validate()?;
    let n = if is_multi_output(&args.output) {
        let mut writer = MultiSessionWriter::create(&args.output, &settings)?;
        let n = for_each_session(&args.input, |s| writer.write(&s))?;
        writer.finish()?;
        n
    } else {
        for_each_session(&args.input, |s| {
            if !is_plain_name(s.id()) {
                return Err(IoError::NotSessions {
                    path: args.output.clone(),
                    detail: format!("session id {:?} cannot be a folder name", s.id()),
                });
            }
            write_shard(&s, &args.output.join(s.id()), &settings)
        })?
    };
    anyhow::ensure!(n > 0, "{}: no sessions found", args.input.display());
    println!("converted {n} sessions: {} -> {}", args.input.display(), args.output.display());
    Ok(())
}
