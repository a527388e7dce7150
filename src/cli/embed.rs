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

use crate::attention::bias::TimeBias;
use crate::attention::cache::{TimeBiasCache, DEFAULT_CAPACITY_BYTES};
use crate::attention::dispatch::{DispatchTable, Dispatcher};
use crate::attention::model::{EmbedOptions, KernelChoice, MaskVariant, Model, HIDDEN};
use crate::attention::{breaker, AttentionConfig, Kernel};
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
    #[arg(long, default_value_t = 0)]
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
pub fn write_embeddings(
    out: &Path,
    sessions: &[Session],
    model: &Model,
    opts: &EmbedOptions<'_>,
) -> anyhow::Result<usize> {
    let schema = Arc::new(embeddings_schema());
    let file = std::fs::File::create(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
        .with_context(|| format!("{}: cannot start Parquet writer", out.display()))?;
    let mut rows = 0;
    for session in sessions {
        let edges = crate::dag::session_causal_pairs(session, &crate::dag::BuildParams::default());
        let emb = model.embed(session, &edges, opts)?;
        let l = session.len();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![session.id(); l])),
            Arc::new(UInt32Array::from_iter_values(session.events().iter().map(|e| e.node_id))),
        ];
        columns.extend((0..HIDDEN).map(|c| Arc::new(Float32Array::from(emb.events.column(c).to_vec())) as ArrayRef));
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).context("building the embeddings batch")?;
        writer.write(&batch).with_context(|| format!("{}: cannot write session {}", out.display(), session.id()))?;
        rows += l;
    }
    writer.close().with_context(|| format!("{}: cannot finish Parquet file", out.display()))?;
    Ok(rows)
}

/// Runs `ironforge embed`.
pub fn run(args: &Args) -> anyhow::Result<()> {
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
    let rows = write_embeddings(&args.out, &sessions, &model, &opts)?;
    eprintln!(
        "wrote {rows} embeddings of {} sessions to {}; kernel fallbacks: {:?}; bias cache: {:?}",
        sessions.len(),
        args.out.display(),
        breaker::global().snapshot(),
        cache.stats()
    );
    Ok(())
}
