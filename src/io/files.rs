//! Whole-file Parquet reads and writes (small files: one shard's nodes, edges or node map);
//! writes are atomic.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::checksum::{close_sealed, verify, Crc32Writer};
use super::IoError;
use crate::atomic::AtomicFile;

/// Rows per decoded batch when reading.
pub(crate) const READ_BATCH_ROWS: usize = 8_192;

/// Reads every batch of a Parquet file, with the file's Arrow schema (whose column names must
/// be distinct).
pub(crate) fn read_all(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), IoError> {
    let file = File::open(path).map_err(|e| IoError::os(path, e))?;
    super::guard::guarded(path, || {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| IoError::parquet(path, e))?;
        verify(path, builder.metadata().file_metadata().key_value_metadata())?;
        let schema = builder.schema().clone();
        super::columns::check_unique_columns(path, &schema)?;
        let reader = builder.with_batch_size(READ_BATCH_ROWS).build().map_err(|e| IoError::parquet(path, e))?;
        let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| IoError::arrow(path, e))?;
        Ok((schema, batches))
    })
}

/// Writes one batch as a whole Parquet file at `path`, whole or not at all
/// ([`AtomicFile`]: a temporary file renamed over `path` at the end). Errors name `shown`, the
/// path the user knows the file by (`path` may lie in a staged folder).
pub(crate) fn write_one(
    path: &Path,
    shown: &Path,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<(), IoError> {
    let file = Crc32Writer::new(AtomicFile::create(path).map_err(|e| IoError::write(shown, e))?);
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| IoError::parquet_write(shown, e))?;
    writer.write(batch).map_err(|e| IoError::parquet_write(shown, e))?;
    let file = close_sealed(writer).map_err(|e| IoError::parquet_write(shown, e))?;
    file.commit().map_err(|e| IoError::write(shown, e))
}
