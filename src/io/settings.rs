//! Typed, documented writer settings.

use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::IoError;

/// Which column statistics (min, max, null count) the writer stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatisticsLevel {
    /// No statistics.
    None,
    /// One set per column chunk (per row group) — what pyarrow writes by default.
    #[default]
    Chunk,
    /// Per column chunk and per data page (finer pruning, slightly larger files).
    Page,
}

/// How Parquet files are written. [`WriterSettings::default`] is ZSTD level 3, row groups of
/// 10,000 rows, ZSTD-compressed, dictionary encoding for string columns, chunk statistics.
///
/// ```
/// use ironforge::io::{StatisticsLevel, WriterSettings};
/// let s = WriterSettings { zstd_level: 9, ..WriterSettings::default() };
/// assert_eq!(s.row_group_rows, 10_000);
/// assert_eq!(s.statistics, StatisticsLevel::Chunk);
/// assert!(s.validate().is_ok());
/// assert!(WriterSettings { zstd_level: 23, ..s }.validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterSettings {
    /// Compress pages with ZSTD. Default true; false writes uncompressed pages (the baseline of
    /// `benches/io.rs`).
    pub compress: bool,
    /// ZSTD compression level, 1 (fastest) to 22 (smallest). Default 3.
    pub zstd_level: i32,
    /// Largest number of rows in one row group. Default 10,000. In the multi-session layout a
    /// session may span row groups; readers do not care.
    pub row_group_rows: usize,
    /// Dictionary-encode the string columns (session id, symbol, …). Default true. Numeric
    /// columns are never dictionary-encoded.
    pub dictionary_strings: bool,
    /// Column statistics to store. Default [`StatisticsLevel::Chunk`].
    pub statistics: StatisticsLevel,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            compress: true,
            zstd_level: 3,
            row_group_rows: 10_000,
            dictionary_strings: true,
            statistics: StatisticsLevel::Chunk,
        }
    }
}

impl WriterSettings {
    /// Checks the ranges: `zstd_level` in 1..=22, `row_group_rows` at least 1.
    pub fn validate(&self) -> Result<(), IoError> {
        if !(1..=22).contains(&self.zstd_level) {
            return Err(IoError::Settings { detail: format!("zstd_level {} is not in 1..=22", self.zstd_level) });
        }
        if self.row_group_rows == 0 {
            return Err(IoError::Settings { detail: "row_group_rows must be at least 1".into() });
        }
        Ok(())
    }

    /// The Parquet writer properties for a file whose string columns are `string_columns`.
    pub(crate) fn properties(&self, string_columns: &[&str]) -> Result<WriterProperties, IoError> {
        self.validate()?;
        let level = ZstdLevel::try_new(self.zstd_level)
            .map_err(|e| IoError::Settings { detail: format!("zstd_level {}: {e}", self.zstd_level) })?;
        let statistics = match self.statistics {
            StatisticsLevel::None => EnabledStatistics::None,
            StatisticsLevel::Chunk => EnabledStatistics::Chunk,
            StatisticsLevel::Page => EnabledStatistics::Page,
        };
        let mut builder = WriterProperties::builder()
            .set_compression(if self.compress { Compression::ZSTD(level) } else { Compression::UNCOMPRESSED })
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_statistics_enabled(statistics)
            .set_dictionary_enabled(false);
        for column in string_columns {
            builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), self.dictionary_strings);
        }
        Ok(builder.build())
    }
}
