//! A CRC32 of every data byte of the Parquet files ironforge writes, kept in the footer and
//! verified on read.
//!
//! Parquet's own page checksums (the optional `crc` of each page header) are verified on read
//! wherever a file carries them (pyarrow's `write_page_checksum=True`), but the Parquet crate
//! this project writes with cannot write them (its page writers leave the field empty). So
//! every writer here seals its file instead: a [`Crc32Writer`] hashes the bytes on their way to
//! disk, and [`close_sealed`] stores `crc32:length` of everything before the footer (magic,
//! row groups, pages, indexes) in the footer's key-value metadata under [`DATA_CRC32_KEY`].
//! `verify` recomputes it when a file has the key: a flipped byte anywhere in the data is an
//! error naming the file, where it could otherwise decode to different values. Other readers
//! ignore the key; files without it (other writers) are read as before.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use ironforge::io::checksum::{close_sealed, verify_file, Crc32Writer};
//! let batch = RecordBatch::try_from_iter([("t", Arc::new(Int64Array::from(vec![1, 2, 3])) as _)]).unwrap();
//! let path = std::env::temp_dir().join(format!("ironforge_doc_crc_{}.parquet", std::process::id()));
//! let file = std::fs::File::create(&path).unwrap();
//! let mut writer = parquet::arrow::ArrowWriter::try_new(Crc32Writer::new(file), batch.schema(), None).unwrap();
//! writer.write(&batch).unwrap();
//! close_sealed(writer).unwrap();
//! assert!(verify_file(&path).unwrap(), "sealed and intact");
//! let mut bytes = std::fs::read(&path).unwrap();
//! bytes[8] ^= 1; // a data byte
//! std::fs::write(&path, &bytes).unwrap();
//! assert!(verify_file(&path).unwrap_err().to_string().contains("checksum"));
//! # std::fs::remove_file(&path).ok();
//! ```

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;

use super::IoError;

/// The footer key holding `crc32:length` (8 hex digits, a decimal byte count) of the bytes
/// before the footer.
pub const DATA_CRC32_KEY: &str = "ironforge.data_crc32";

/// A writer that passes bytes through and keeps their CRC32 and count.
#[derive(Debug)]
pub struct Crc32Writer<W> {
    inner: W,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<W> Crc32Writer<W> {
    /// Wraps `inner`; nothing is hashed yet.
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: crc32fast::Hasher::new(), len: 0 }
    }

    /// The CRC32 and the count of the bytes written so far.
    pub fn checksum(&self) -> (u32, u64) {
        (self.hasher.clone().finalize(), self.len)
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Crc32Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Closes `writer` with the CRC32 of every byte before its footer stored in the footer
/// ([`DATA_CRC32_KEY`]); returns the underlying writer (for example an
/// [`crate::atomic::AtomicFile`] to commit).
pub fn close_sealed<W: Write + Send>(mut writer: ArrowWriter<Crc32Writer<W>>) -> parquet::errors::Result<W> {
    // The last row group and the writer's buffer reach the hasher; what follows is the footer.
    writer.flush()?;
    writer.sync()?;
    let (crc, len) = writer.inner().checksum();
    writer.append_key_value_metadata(KeyValue::new(DATA_CRC32_KEY.to_string(), format!("{crc:08x}:{len}")));
    Ok(writer.into_inner()?.into_inner())
}

/// Checks the data checksum of the file at `path` if its footer `key_value` metadata has one;
/// `Ok(true)` when it had one and it matched, `Ok(false)` when there was none.
pub(crate) fn verify(path: &Path, key_value: Option<&Vec<KeyValue>>) -> Result<bool, IoError> {
    let Some(value) = key_value.into_iter().flatten().find(|kv| kv.key == DATA_CRC32_KEY).map(|kv| &kv.value) else {
        return Ok(false);
    };
    let corrupt = |detail: String| IoError::Checksum { path: path.to_path_buf(), detail };
    let (want_crc, want_len) = value
        .as_deref()
        .and_then(|v| v.split_once(':'))
        .and_then(|(c, l)| Some((u32::from_str_radix(c, 16).ok()?, l.parse::<u64>().ok()?)))
        .ok_or_else(|| corrupt(format!("footer entry `{DATA_CRC32_KEY}` = {value:?} is not `crc32:length`")))?;
    let mut file = File::open(path).map_err(|e| IoError::os(path, e))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut left = want_len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).map_err(|e| IoError::os(path, e))?;
        if n == 0 {
            return Err(corrupt(format!("the file ends {left} bytes before the {want_len} its checksum covers")));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    let got = hasher.finalize();
    if got != want_crc {
        return Err(corrupt(format!(
            "data checksum mismatch: CRC32 {got:08x} of its first {want_len} bytes, the footer says {want_crc:08x}"
        )));
    }
    Ok(true)
}

/// `verify` for a file on its own (reads its footer first): `Ok(true)` when sealed and
/// intact, `Ok(false)` when it carries no data checksum.
pub fn verify_file(path: &Path) -> Result<bool, IoError> {
    let file = File::open(path).map_err(|e| IoError::os(path, e))?;
    let reader = super::guard::guarded(path, || {
        parquet::file::serialized_reader::SerializedFileReader::new(file).map_err(|e| IoError::parquet(path, e))
    })?;
    use parquet::file::reader::FileReader;
    verify(path, reader.metadata().file_metadata().key_value_metadata())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Float64Array, RecordBatch};

    fn sealed_file(dir: &Path) -> std::path::PathBuf {
        let batch = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Float64Array::from((0..2000).map(|i| i as f64 * 0.5).collect::<Vec<_>>())) as _,
        )])
        .unwrap();
        let path = dir.join("sealed.parquet");
        let mut w = ArrowWriter::try_new(Crc32Writer::new(File::create(&path).unwrap()), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        close_sealed(w).unwrap().sync_all().unwrap();
        path
    }

    #[test]
    fn every_flipped_data_byte_is_caught_and_the_footer_is_left_to_the_decoder() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_file(dir.path());
        assert!(verify_file(&path).unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        use parquet::file::reader::FileReader;
        let kv = reader.metadata().file_metadata().key_value_metadata().unwrap().clone();
        let covered: u64 =
            kv.iter().find(|k| k.key == DATA_CRC32_KEY).unwrap().value.as_ref().unwrap()[9..].parse().unwrap();
        assert!(covered > 100 && (covered as usize) < bytes.len(), "{covered} of {}", bytes.len());
        for at in (0..covered as usize).step_by(97) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let key_value = Some(&kv);
            let err = verify(&path, key_value).unwrap_err().to_string();
            assert!(err.contains("sealed.parquet") && err.contains("checksum mismatch"), "byte {at}: {err}");
        }
        std::fs::write(&path, &bytes[..covered as usize - 1]).unwrap();
        assert!(verify(&path, Some(&kv)).unwrap_err().to_string().contains("ends 1 bytes before"));
    }

    #[test]
    fn files_without_the_key_pass_and_a_malformed_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_file(dir.path());
        assert!(!verify(&path, None).unwrap());
        let odd = vec![KeyValue::new(DATA_CRC32_KEY.to_string(), "xyz".to_string())];
        assert!(verify(&path, Some(&odd)).unwrap_err().to_string().contains("not `crc32:length`"));
    }
}
