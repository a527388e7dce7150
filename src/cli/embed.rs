//! `ironforge embed <sessions> --kernel <name> --out emb.parquet`: per-event embeddings.
//!
//! Writes one row per event: `session_id` (utf8), `node_id` (uint32), `e0` … `e43` (float32),
//! sessions in input order, events in local-index order, ZSTD-compressed Parquet. The mask is
//! the session's causal DAG ([`crate::dag::session_causal_pairs`], default parameters).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::progress::Bar;
use crate::atomic::{refuse_same_file, AtomicFile};
use crate::attention::bias::TimeBias;
use crate::attention::cache::{TimeBiasCache, DEFAULT_CAPACITY_BYTES};
use crate::attention::dispatch::{DispatchTable, Dispatcher};
use crate::attention::model::{EmbedOptions, KernelChoice, MaskVariant, Model, HIDDEN};
use crate::attention::{breaker, AttentionConfig, Kernel};
use crate::io::checksum::{close_sealed, Crc32Writer};
use crate::progress::{check, Progress, Silent};
use crate::session::Session;

/// Arguments of `ironforge embed`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sessions: a shard folder, a folder of shard folders, or a multi-session Parquet file.
    pub sessions: PathBuf,
    /// Kernel name (`math`, …) or `auto` (crossover table + `IRONFORGE_ENABLE_*` flags).
    #[arg(long, default_value = "auto")]
    pub kernel: String,
    /// Output Parquet file.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the model weights (ignored with `--weights`).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// Load the weights from an `.npz` file instead.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Mask variant: `original` or `causal`.
    #[arg(long, default_value = "original")]
    pub mask: MaskVariant,
    /// Time bias: `none`, `bucket` or `rbf`.
    #[arg(long, default_value = "bucket")]
    pub bias: TimeBias,
    /// Crossover table for `--kernel auto` (default: the committed one).
    #[arg(long)]
    pub table: Option<PathBuf>,
}

/// The Arrow schema of the embeddings file.
pub fn embeddings_schema() -> Schema {
    let mut fields =
        vec![Field::new("session_id", DataType::Utf8, false), Field::new("node_id", DataType::UInt32, false)];
    fields.extend((0..HIDDEN).map(|i| Field::new(format!("e{i}"), DataType::Float32, false)));
    Schema::new(fields)
}

/// Embeds every session and writes the rows to `out`; returns the number of rows written.
///
/// Whole or not at all: the rows go to a temporary file beside `out`, renamed over it once
/// every session is embedded and written ([`AtomicFile`]). Any failure leaves no file and an
/// earlier `out` as it was; errors name `out`.
pub fn write_embeddings(
    out: &Path,
    sessions: &[Session],
    model: &Model,
    opts: &EmbedOptions<'_>,
) -> anyhow::Result<usize> {
    write_embeddings_with(out, sessions, model, opts, &Silent)
}

/// [`write_embeddings`], reporting each session to `progress` and stopping with an
/// "interrupted" error (nothing written) once it is cancelled.
///
/// ```
/// use ironforge::attention::model::{EmbedOptions, Model};
/// use ironforge::cli::embed::write_embeddings_with;
/// use ironforge::synth::{generate, SessionSpec};
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("emb.parquet");
/// let sessions = [generate(&SessionSpec::new("s", 1, 20))];
/// let rows = write_embeddings_with(
///     &out, &sessions, &Model::from_seed(0), &EmbedOptions::default(), &ironforge::progress::Silent,
/// )?;
/// assert_eq!(rows, 20);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn write_embeddings_with(
    out: &Path,
    sessions: &[Session],
    model: &Model,
    opts: &EmbedOptions<'_>,
    progress: &dyn Progress,
) -> anyhow::Result<usize> {
    let write_err = || format!("{}: cannot write", out.display());
    let schema = Arc::new(embeddings_schema());
    let file = Crc32Writer::new(AtomicFile::create(out).with_context(write_err)?);
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
        .with_context(|| format!("{}: cannot write Parquet", out.display()))?;
    progress.stage("sessions embedded", sessions.len() as u64);
    let mut rows = 0;
    for session in sessions {
        check(progress)?;
        let edges = crate::dag::session_causal_pairs(session, &crate::dag::BuildParams::default());
        let emb = model.embed(session, &edges, opts)?;
        let l = session.len();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![session.id(); l])),
            Arc::new(UInt32Array::from_iter_values(session.events().iter().map(|e| e.node_id))),
        ];
        columns.extend((0..HIDDEN).map(|c| Arc::new(Float32Array::from(emb.events.column(c).to_vec())) as ArrayRef));
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).context("building the embeddings batch")?;
        writer
            .write(&batch)
            .with_context(|| format!("{}: cannot write Parquet (session {})", out.display(), session.id()))?;
        rows += l;
        progress.advance(1);
    }
    let file = close_sealed(writer).with_context(|| format!("{}: cannot write Parquet", out.display()))?;
    check(progress)?;
    file.commit().with_context(write_err)?;
    Ok(rows)
}

/// Runs `ironforge embed`.
///
/// `--out` is written whole or not at all (see [`write_embeddings`]); it may not be the
/// sessions' own file or lie inside their folder. Sessions embedded are shown on a terminal's
/// stderr; Ctrl-C stops the run and writes nothing.
pub fn run(args: &Args) -> anyhow::Result<()> {
    refuse_same_file(&args.sessions, &args.out)?;
    let config = AttentionConfig::from_env()?;
    let table = match &args.table {
        Some(p) => DispatchTable::load(p)?,
        None => DispatchTable::committed_default(),
    };
    let dispatcher = Dispatcher { table, config };
    let kernel = match args.kernel.as_str() {
        "auto" => KernelChoice::Dispatch(&dispatcher),
        name => KernelChoice::Fixed(name.parse::<Kernel>().map_err(anyhow::Error::msg)?),
    };
    let model = match &args.weights {
        Some(p) => Model::load_npz(p)?,
        None => Model::from_seed(args.seed),
    };
    let cache = TimeBiasCache::new(DEFAULT_CAPACITY_BYTES);
    let opts = EmbedOptions {
        kernel,
        mask: args.mask,
        bias: args.bias,
        cache: config.time_bias_cache.then_some(&cache),
        breaker: breaker::global(),
    };
    let sessions = crate::io::read_sessions(&args.sessions)?;
    let bar = Bar::new();
    let rows = write_embeddings_with(&args.out, &sessions, &model, &opts, &bar)?;
    drop(bar);
    eprintln!(
        "wrote {rows} embeddings of {} sessions to {}; kernel fallbacks: {:?}; bias cache: {:?}",
        sessions.len(),
        args.out.display(),
        breaker::global().snapshot(),
        cache.stats()
    );
    Ok(())
}
