//! The motif table as Arrow / Parquet (ZSTD).

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::error::MotifError;
use super::lift::MotifStat;
use crate::atomic::AtomicFile;
use crate::io::checksum::{close_sealed, Crc32Writer};

/// Schema of the motif table.
pub fn motif_table_schema() -> Schema {
    let f = |name: &str, t: DataType| Field::new(name, t, false);
    Schema::new(vec![
        f("motif_id", DataType::Utf8),
        f("size", DataType::UInt8),
        f("count", DataType::UInt64),
        f("null_mean", DataType::Float64),
        f("null_std", DataType::Float64),
        f("lift", DataType::Float64),
        f("z", DataType::Float64),
        f("p", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("class", DataType::Utf8),
    ])
}

/// The rows as one Arrow record batch.
pub fn motif_table_batch(stats: &[MotifStat]) -> RecordBatch {
    let float =
        |get: fn(&MotifStat) -> f64| Arc::new(Float64Array::from_iter_values(stats.iter().map(get))) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(stats.iter().map(|s| s.id.to_string()))),
        Arc::new(UInt8Array::from_iter_values(stats.iter().map(|s| s.id.size))),
        Arc::new(UInt64Array::from_iter_values(stats.iter().map(|s| s.count))),
        float(|s| s.null_mean),
        float(|s| s.null_std),
        float(|s| s.lift),
        float(|s| s.z),
        float(|s| s.p),
        float(|s| s.ci_low),
        float(|s| s.ci_high),
        Arc::new(StringArray::from_iter_values(stats.iter().map(|s| s.class.name()))),
    ];
    RecordBatch::try_new(Arc::new(motif_table_schema()), columns).expect("columns match the schema by construction")
}

/// Writes the motif table to a Parquet file (ZSTD), whole or not at all: through a temporary
/// file renamed over `path` at the end ([`crate::atomic`]), so a failure leaves an earlier
/// table at `path` as it was.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("motifs.parquet");
/// ironforge::motif::table::write_motif_table(&path, &[])?;
/// assert!(path.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_motif_table(path: &Path, stats: &[MotifStat]) -> Result<(), MotifError> {
    let wrap =
        |e: Box<dyn std::error::Error + Send + Sync>| MotifError::Write { path: path.display().to_string(), source: e };
    let file = Crc32Writer::new(AtomicFile::create(path).map_err(|e| wrap(Box::new(e)))?);
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let batch = motif_table_batch(stats);
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| wrap(Box::new(e)))?;
    writer.write(&batch).map_err(|e| wrap(Box::new(e)))?;
    let file = close_sealed(writer).map_err(|e| wrap(Box::new(e)))?;
    file.commit().map_err(|e| wrap(Box::new(e)))
}
