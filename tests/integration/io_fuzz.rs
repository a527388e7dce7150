//! Byte-mutation fuzzing of the readers: Parquet (our multi-session file, pyarrow shards with
//! and without page checksums) and `.npz` (an attention case, model weights).
//!
//! Each case flips 1–8 bytes of a valid file and reads it back. The property: no panic, no
//! abort — either a typed error or a decoded value. On the pyarrow shard written with page
//! checksums, one byte flipped inside a page's data must be an error naming the checksum; on a
//! file ironforge wrote (sealed with a CRC32 of its data), any bytes flipped before the footer.
//!
//! The budget is small and seeded so that `cargo test` stays fast and repeatable
//! (`IRONFORGE_FUZZ_CASES`, default 64 cases per property, fixed seed; `IRONFORGE_FUZZ_SEED`
//! picks another). A longer run: `IRONFORGE_FUZZ_CASES=20000 cargo test --release --test integration io_fuzz::`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ironforge::attention::model::Model;
use ironforge::attention::npz::read_case;
use ironforge::io::{read_multi, read_shard, write_multi, WriterSettings};
use ironforge::synth::{generate, SessionSpec};
use ndarray::ArrayD;
use ndarray_npy::NpzWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngSeed;

use crate::common::chain;

fn config() -> ProptestConfig {
    let env =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default);
    ProptestConfig {
        cases: env("IRONFORGE_FUZZ_CASES", 64) as u32,
        rng_seed: RngSeed::Fixed(env("IRONFORGE_FUZZ_SEED", 0x1F0F_2025)),
        ..ProptestConfig::default()
    }
}

fn codecs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codecs")
}

/// Which reader a base file goes through.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// `read_multi`.
    Multi,
    /// `read_shard` of a copy of `fixtures/codecs/<folder>` with this file replaced.
    Shard(&'static str, &'static str),
    /// `attention::npz::read_case`.
    Case,
    /// `Model::load_npz`.
    Weights,
}

/// The valid files the mutations start from, built once.
fn bases() -> &'static [(Reader, Vec<u8>)] {
    static BASES: OnceLock<Vec<(Reader, Vec<u8>)>> = OnceLock::new();
    BASES.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let multi = tmp.path().join("m.parquet");
        let sessions: Vec<_> = (0..2).map(|i| generate(&SessionSpec::new(format!("f{i}"), i, 12))).collect();
        write_multi(&multi, &sessions, &WriterSettings::default()).unwrap();
        let case = tmp.path().join("case.npz");
        let mut npz = NpzWriter::new(File::create(&case).unwrap());
        for name in ["q", "k", "v"] {
            npz.add_array(name, &ArrayD::<f32>::from_elem(ndarray::IxDyn(&[2, 5, 3]), 0.5)).unwrap();
        }
        npz.add_array("mask", &ArrayD::<bool>::from_elem(ndarray::IxDyn(&[5, 5]), true)).unwrap();
        npz.add_array("bias", &ArrayD::<f32>::zeros(ndarray::IxDyn(&[5, 5]))).unwrap();
        npz.finish().unwrap();
        let weights = tmp.path().join("w.npz");
        Model::from_seed(2).save_npz(&weights).unwrap();
        let read = |p: &Path| std::fs::read(p).unwrap();
        vec![
            (Reader::Multi, read(&multi)),
            (Reader::Shard("snappy", "nodes.parquet"), read(&codecs().join("snappy/nodes.parquet"))),
            (Reader::Shard("gzip", "edges.parquet"), read(&codecs().join("gzip/edges.parquet"))),
            (Reader::Shard("checksum", "nodes.parquet"), read(&codecs().join("checksum/nodes.parquet"))),
            (Reader::Case, read(&case)),
            (Reader::Weights, read(&weights)),
        ]
    })
}

/// Reads `bytes` as `reader` would; `Err` holds the error and its causes ([`chain`]).
fn decode(reader: Reader, bytes: &[u8]) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    match reader {
        Reader::Multi => {
            let path = tmp.path().join("m.parquet");
            std::fs::write(&path, bytes).unwrap();
            read_multi(&path).map(drop).map_err(|e| chain(&e))
        }
        Reader::Shard(folder, file) => {
            for f in ["nodes.parquet", "edges.parquet", "meta.json"] {
                std::fs::copy(codecs().join(folder).join(f), tmp.path().join(f)).unwrap();
            }
            std::fs::write(tmp.path().join(file), bytes).unwrap();
            read_shard(tmp.path()).map(drop).map_err(|e| chain(&e))
        }
        Reader::Case => {
            let path = tmp.path().join("case.npz");
            std::fs::write(&path, bytes).unwrap();
            read_case(&path).map(drop).map_err(|e| chain(&e))
        }
        Reader::Weights => {
            let path = tmp.path().join("w.npz");
            std::fs::write(&path, bytes).unwrap();
            Model::load_npz(&path).map(drop).map_err(|e| chain(&e))
        }
    }
}

/// Byte positions certainly inside a page's data (not its header) of the checksummed
/// `nodes.parquet`: the last byte of each dictionary page and the last two of each data page.
fn page_data_positions() -> &'static [usize] {
    static POSITIONS: OnceLock<Vec<usize>> = OnceLock::new();
    POSITIONS.get_or_init(|| {
        let file = File::open(codecs().join("checksum/nodes.parquet")).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let mut out = Vec::new();
        for c in builder.metadata().row_group(0).columns() {
            let data = c.data_page_offset() as usize;
            let start = c.dictionary_page_offset().map_or(data, |d| d as usize);
            let end = start + c.compressed_size() as usize;
            if start < data {
                out.push(data - 1);
            }
            out.extend([end - 1, end - 2]);
        }
        out
    })
}

/// How many leading bytes of a sealed file its data checksum covers (what precedes the footer).
fn sealed_data_len(bytes: &[u8]) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("sealed.parquet");
    std::fs::write(&path, bytes).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
    let kv = builder.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
    let value = kv.iter().find(|k| k.key == ironforge::io::checksum::DATA_CRC32_KEY).and_then(|k| k.value.clone());
    let len: usize = value.expect("ironforge's files are sealed").split_once(':').unwrap().1.parse().unwrap();
    assert!(len > 4 && len < bytes.len());
    len
}

proptest! {
    #![proptest_config(config())]

    /// Any 1–8 flipped bytes of any base file: a typed error or a decode, never a panic.
    #[test]
    fn mutated_files_are_refused_or_decoded(
        base in any::<Index>(),
        flips in proptest::collection::vec((any::<Index>(), 1u8..=255), 1..=8),
    ) {
        let (reader, bytes) = &bases()[base.index(bases().len())];
        let mut mutated = bytes.clone();
        let len = mutated.len();
        for (at, xor) in &flips {
            mutated[at.index(len)] ^= xor;
        }
        // A panic inside fails the case; an error or a decode are both fine.
        let _ = decode(*reader, &mutated);
    }

    /// Any 1–8 bytes flipped before the footer of a file ironforge wrote (sealed with its data
    /// checksum, `io::checksum`) are always an error: never a silently different value.
    #[test]
    fn a_mutated_sealed_file_is_an_error(flips in proptest::collection::vec((any::<Index>(), 1u8..=255), 1..=8)) {
        let (_, bytes) = &bases()[0];
        let mut mutated = bytes.clone();
        let data = sealed_data_len(bytes);
        for (at, xor) in &flips {
            mutated[at.index(data)] ^= xor;
        }
        prop_assert!(decode(Reader::Multi, &mutated).is_err());
    }

    /// One byte flipped inside a checksummed page is always caught.
    #[test]
    fn a_mutated_checksummed_page_is_an_error(at in any::<Index>(), xor in 1u8..=255) {
        let positions = page_data_positions();
        let mut bytes = std::fs::read(codecs().join("checksum/nodes.parquet")).unwrap();
        bytes[positions[at.index(positions.len())]] ^= xor;
        let result = decode(Reader::Shard("checksum", "nodes.parquet"), &bytes);
        prop_assert!(matches!(&result, Err(e) if e.contains("checksum") && e.contains("nodes.parquet")), "{:?}", result);
    }
}

#[test]
fn the_bases_decode_unmutated() {
    for (reader, bytes) in bases() {
        assert_eq!(decode(*reader, bytes), Ok(()), "{reader:?}");
    }
    assert!(page_data_positions().len() >= 3 * 52, "every column of nodes.parquet");
}
