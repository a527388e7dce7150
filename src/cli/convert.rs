//! `ironforge convert <in> <out>`: convert between the shard layout and the multi-session layout.
//!
//! The input layout is detected (file → multi-session; folder with `nodes.parquet` → one shard;
//! other folder → folder of shards). The output layout is chosen by `<out>`'s name: ending in
//! `.parquet` → one multi-session file; anything else → a folder with one shard folder per
//! session (`<out>/<session_id>/`). Sessions are streamed: one is in memory at a time. The
//! output appears only once every session is converted (see [`run`]).

use std::path::{Path, PathBuf};

use super::progress::{check_interrupt, Bar};
use crate::atomic::{refuse_same_file, AtomicDir};
use crate::io::{
    detect_layout, is_shard_dir, read_shard, shard_dirs, write_shard_into, IoError, Layout, MultiSessionReader,
    MultiSessionWriter, StatisticsLevel, UniqueIds, WriterSettings,
};
use crate::progress::{check, Progress};
use crate::session::Session;

/// Arguments of `ironforge convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input: a shard folder, a folder of shard folders, or a multi-session `.parquet` file.
    pub input: PathBuf,
    /// Output: a `.parquet` path (multi-session layout) or a folder (one shard folder per session).
    pub output: PathBuf,
    /// ZSTD level (1–22).
    #[arg(long, allow_negative_numbers = true, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub zstd_level: i32,
    /// Rows per row group (1–1,000,000; the writer buffers one row group).
    #[arg(long, allow_negative_numbers = true, default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_ROW_GROUP_ROWS))]
    pub row_group_rows: usize,
    /// Do not dictionary-encode string columns.
    #[arg(long)]
    pub no_dictionary: bool,
    /// Do not write column statistics.
    #[arg(long)]
    pub no_statistics: bool,
}

/// Largest `--row-group-rows`: the writer holds one row group in memory (about 300 bytes a
/// row in the multi-session layout).
pub const MAX_ROW_GROUP_ROWS: u64 = 1_000_000;

/// Whether `path` names a multi-session output (it ends in `.parquet`).
pub fn is_multi_output(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Whether a session id can be used as one folder name (no separators, not `.`/`..`, not empty).
fn is_plain_name(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\\', '\0'])
}

/// Calls `f` on every session at `input`, in order, one at a time; refuses a session id seen
/// before (naming both sources) and stops once `progress` is cancelled. Returns the count.
fn for_each_session(
    input: &Path,
    progress: &dyn Progress,
    mut f: impl FnMut(Session) -> Result<(), IoError>,
) -> anyhow::Result<usize> {
    let mut ids = UniqueIds::default();
    let mut go = |s: Session, source: &Path| -> anyhow::Result<()> {
        ids.insert(s.id(), source)?;
        f(s)?;
        progress.advance(1);
        Ok(())
    };
    match detect_layout(input)? {
        Layout::Multi => {
            progress.stage("sessions converted", 0);
            for s in MultiSessionReader::open(input)? {
                check(progress)?;
                go(s?, input)?;
            }
        }
        Layout::Shard => {
            progress.stage("sessions converted", 1);
            go(read_shard(input)?, input)?;
        }
        Layout::ShardFolders => {
            let dirs = shard_dirs(input)?;
            progress.stage("sessions converted", dirs.len() as u64);
            for d in dirs {
                check(progress)?;
                go(read_shard(&d)?, &d)?;
            }
        }
    }
    Ok(ids.len())
}

/// Refuses an existing folder output that is not an earlier `convert` output (a folder of shard
/// folders, or empty): replacing it would delete files ironforge did not write.
fn check_replaceable_folder_output(out: &Path) -> Result<(), IoError> {
    let in_the_way = |detail: String| IoError::OutputInTheWay { path: out.to_path_buf(), detail };
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IoError::Write { path: out.to_path_buf(), source: e }),
        Ok(m) if !m.is_dir() => Err(in_the_way("exists and is not a folder".into())),
        Ok(_) => {
            let entries = std::fs::read_dir(out).map_err(|e| IoError::Write { path: out.to_path_buf(), source: e })?;
            for entry in entries {
                let path = entry.map_err(|e| IoError::Write { path: out.to_path_buf(), source: e })?.path();
                if !is_shard_dir(&path) {
                    return Err(in_the_way(format!(
                        "is a folder holding {}, which is not a shard folder",
                        path.display()
                    )));
                }
            }
            Ok(())
        }
    }
}

/// Converts into one multi-session file, written whole at the end.
fn to_multi(args: &Args, settings: &WriterSettings, progress: &dyn Progress) -> anyhow::Result<usize> {
    if args.output.is_dir() {
        return Err(IoError::OutputInTheWay { path: args.output.clone(), detail: "is a folder".into() }.into());
    }
    let mut writer = MultiSessionWriter::create(&args.output, settings)?;
    let n = for_each_session(&args.input, progress, |s| writer.write(&s))?;
    anyhow::ensure!(n > 0, "{}: no sessions found", args.input.display());
    check_interrupt()?;
    writer.finish()?;
    Ok(n)
}

/// Converts into a folder of shard folders, staged and renamed whole at the end.
fn to_folder(args: &Args, settings: &WriterSettings, progress: &dyn Progress) -> anyhow::Result<usize> {
    let out = &args.output;
    check_replaceable_folder_output(out)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::Write { path: parent.to_path_buf(), source: e })?;
    }
    let stage = AtomicDir::create(out).map_err(|e| IoError::Write { path: out.clone(), source: e })?;
    let n = for_each_session(&args.input, progress, |s| {
        if !is_plain_name(s.id()) {
            return Err(IoError::NotSessions {
                path: out.clone(),
                detail: format!("session id {:?} cannot be a folder name", s.id()),
            });
        }
        let into = stage.path().join(s.id());
        let shown = out.join(s.id());
        std::fs::create_dir(&into).map_err(|e| IoError::Write { path: shown.clone(), source: e })?;
        write_shard_into(&s, &into, &shown, settings)
    })?;
    anyhow::ensure!(n > 0, "{}: no sessions found", args.input.display());
    check_interrupt()?;
    stage.commit().map_err(|e| IoError::Write { path: out.clone(), source: e })?;
    Ok(n)
}

/// Runs `ironforge convert`.
///
/// Every session is read and validated before the output appears: a multi-session output is
/// written to a temporary file renamed over `<out>` at the end, a folder output is staged and
/// renamed whole ([`crate::atomic`]). Any failure — a bad session, a full disk, Ctrl-C — leaves
/// no output and an earlier `<out>` as it was. An output that is the input, lies inside it or
/// holds it is refused; an existing folder output is replaced only when it holds nothing but
/// shard folders. Two sessions with the same id are refused, naming both sources.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let settings = WriterSettings {
        zstd_level: args.zstd_level,
        row_group_rows: args.row_group_rows,
        dictionary_strings: !args.no_dictionary,
        statistics: if args.no_statistics { StatisticsLevel::None } else { StatisticsLevel::Chunk },
        compress: true,
    };
    settings.validate()?;
    refuse_same_file(&args.input, &args.output)?;
    let bar = Bar::new();
    let n = if is_multi_output(&args.output) {
        to_multi(args, &settings, &bar)?
    } else {
        to_folder(args, &settings, &bar)?
    };
    drop(bar);
    println!("converted {n} sessions: {} -> {}", args.input.display(), args.output.display());
    Ok(())
}
