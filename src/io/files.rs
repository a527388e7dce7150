//! Whole-file Parquet reads and writes (small files: one shard's nodes, edges or node map).

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::IoError;

/// Rows per decoded batch when reading.
pub(crate) const READ_BATCH_ROWS: usize = 8_192;

/// Reads every batch of a Parquet file, with the file's Arrow schema.
pub(crate) fn read_all(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), IoError> {
    let file = File::open(path).map_err(|e| IoError::os(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| IoError::parquet(path, e))?;
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(READ_BATCH_ROWS).build().map_err(|e| IoError::parquet(path, e))?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| IoError::arrow(path, e))?;
    Ok((schema, batches))
}

/// Writes one batch as a whole Parquet file.
pub(crate) fn write_one(path: &Path, batch: &RecordBatch, props: WriterProperties) -> Result<(), IoError> {
    let file = File::create(path).map_err(|e| IoError::os(path, e))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| IoError::parquet(path, e))?;
    writer.write(batch).map_err(|e| IoError::parquet(path, e))?;
    writer.close().map_err(|e| IoError::parquet(path, e))?;
    Ok(())
}
