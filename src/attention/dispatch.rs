//! Kernel dispatch from a measured crossover table (replacing the original's hand rule
//! "flash only if L < 512").
//!
//! A [`DispatchTable`] holds, for each measured size L and mask class (dense or DAG), the
//! median time of every kernel. [`Dispatcher::choose`] takes the row of the smallest measured
//! L ≥ the session's L (the largest row beyond it) and picks the fastest kernel that the
//! [`AttentionConfig`] flags allow and that this build knows; `math` if none. `cargo xtask
//! tune` measures the table on the machine ([`measure`]). One measured table per instruction
//! set is committed (`src/attention/dispatch_tables/<isa>.json`, [`COMMITTED_TABLES`]): the
//! kernels' crossovers move with the vector width, so a CPU dispatches with the table of the
//! instruction set its kernels run on ([`DispatchTable::committed_default`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bias::TimeBias;
use super::config::{AttentionConfig, FlashMode};
use super::kernels::simd::Isa;
use super::kernels::{attend_on_isa, AttnError, AttnInputs, Kernel};
use super::Mask;

/// The committed tables, one per instruction set (measured by `cargo xtask tune --isa NAME`).
pub const COMMITTED_TABLES: [(Isa, &str); 3] = [
    (Isa::Avx512, include_str!("dispatch_tables/avx512.json")),
    (Isa::Avx2, include_str!("dispatch_tables/avx2.json")),
    (Isa::Portable, include_str!("dispatch_tables/portable.json")),
];

/// The sizes `cargo xtask tune` measures by default.
pub const TUNE_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];

/// Whether a mask is dense or sparse like a session DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskClass {
    /// At least half of the entries allowed.
    Dense,
    /// Fewer than half allowed (DAG masks allow about 5 per row).
    Dag,
}

impl MaskClass {
    /// The class of a mask: [`MaskClass::Dense`] if at least half of its L² entries are allowed.
    ///
    /// ```
    /// use ironforge::attention::{dispatch::MaskClass, Mask};
    /// assert_eq!(MaskClass::of(&Mask::full(8)), MaskClass::Dense);
    /// assert_eq!(MaskClass::of(&Mask::from_edges(8, &[(0, 1)])), MaskClass::Dag);
    /// ```
    pub fn of(mask: &Mask) -> Self {
        let n = mask.n();
        if 2 * mask.count_allowed() >= n * n {
            MaskClass::Dense
        } else {
            MaskClass::Dag
        }
    }
}

/// One measured row: median nanoseconds per kernel (by name) at one L and mask class.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DispatchRow {
    /// Sequence length measured.
    pub l: usize,
    /// Mask class measured.
    pub mask: MaskClass,
    /// Median wall time of one call, by kernel name.
    pub median_ns: BTreeMap<String, u64>,
}

/// A crossover table (serde JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DispatchTable {
    /// The instruction set the kernels ran on when it was measured (absent in tables from
    /// before tables per instruction set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa: Option<Isa>,
    /// Free text: where and how it was measured.
    pub measured_on: String,
    /// Heads of the measured inputs.
    pub heads: usize,
    /// Head dimension of the measured inputs.
    pub head_dim: usize,
    /// Timed repetitions per kernel and row.
    pub reps: usize,
    /// The rows.
    pub rows: Vec<DispatchRow>,
}

/// A table that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The file could not be read.
    #[error("{path}: cannot read dispatch table")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON is malformed.
    #[error("{path}: malformed dispatch table")]
    Json {
        /// The file (or `<committed default>`).
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A row has no timings or L = 0.
    #[error("{path}: dispatch row {row} is empty (L = 0 or no kernel timings)")]
    EmptyRow {
        /// The file.
        path: String,
        /// Row index.
        row: usize,
    },
}

impl DispatchTable {
    /// Parses a table from JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, DispatchError> {
        let table: Self =
            serde_json::from_str(text).map_err(|source| DispatchError::Json { path: origin.to_string(), source })?;
        if let Some(row) = table.rows.iter().position(|r| r.l == 0 || r.median_ns.is_empty()) {
            return Err(DispatchError::EmptyRow { path: origin.to_string(), row });
        }
        Ok(table)
    }

    /// Reads a table file.
    pub fn load(path: &Path) -> Result<Self, DispatchError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| DispatchError::Io { path: path.display().to_string(), source })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// The committed table of instruction set `isa`.
    ///
    /// ```
    /// use ironforge::attention::{dispatch::DispatchTable, kernels::simd::Isa};
    /// let t = DispatchTable::committed_for(Isa::Avx2);
    /// assert_eq!(t.isa, Some(Isa::Avx2));
    /// ```
    pub fn committed_for(isa: Isa) -> Self {
        let (_, json) = COMMITTED_TABLES.iter().find(|(i, _)| *i == isa).expect("a table per instruction set");
        Self::from_json(json, &format!("<committed {} table>", isa.name())).expect("the committed tables are valid")
    }

    /// The committed table of the instruction set the kernels run on here ([`Isa::detect`]).
    ///
    /// ```
    /// use ironforge::attention::{dispatch::DispatchTable, kernels::simd::Isa};
    /// assert_eq!(DispatchTable::committed_default().isa, Some(Isa::detect()));
    /// ```
    pub fn committed_default() -> Self {
        Self::committed_for(Isa::detect())
    }

    /// The row used for length `l` and `class`: smallest measured L ≥ `l`, else the largest.
    pub fn row_for(&self, l: usize, class: MaskClass) -> Option<&DispatchRow> {
        // No allocation: called once per session. Ties go to the first row listed (`min_by_key`)
        // and, for the largest, the last (`max_by_key`), as a stable sort would order them.
        let rows = self.rows.iter().filter(|r| r.mask == class);
        rows.clone().filter(|r| r.l >= l).min_by_key(|r| r.l).or_else(|| rows.max_by_key(|r| r.l))
    }
}

/// A table plus the flags: picks a kernel per call.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    /// The crossover table.
    pub table: DispatchTable,
    /// The flags restricting the choice.
    pub config: AttentionConfig,
}

impl Dispatcher {
    /// The committed table with the given flags.
    pub fn with_default_table(config: AttentionConfig) -> Self {
        Self { table: DispatchTable::committed_default(), config }
    }

    /// The kernel for length `l` and mask class `class`.
    ///
    /// `IRONFORGE_ENABLE_FLASH_ATTENTION=true` forces `flash` when this build has it; otherwise
    /// the fastest measured kernel the flags allow wins (ties broken by name); `math` if the
    /// table has no usable entry.
    ///
    /// ```
    /// use ironforge::attention::{config::AttentionConfig, dispatch::{Dispatcher, MaskClass}, Kernel};
    /// let d = Dispatcher::with_default_table(AttentionConfig::default());
    /// let k = d.choose(300, MaskClass::Dag);
    /// assert!(Kernel::ALL.contains(&k));
    /// ```
    pub fn choose(&self, l: usize, class: MaskClass) -> Kernel {
        if self.config.flash == FlashMode::On {
            if let Ok(flash) = "flash".parse::<Kernel>() {
                return flash;
            }
        }
        self.table
            .row_for(l, class)
            .and_then(|row| {
                row.median_ns
                    .iter()
                    .filter_map(|(name, &ns)| name.parse::<Kernel>().ok().map(|k| (ns, name, k)))
                    .filter(|&(_, _, k)| self.config.allows(k))
                    .min_by_key(|&(ns, name, _)| (ns, name))
                    .map(|(_, _, k)| k)
            })
            .unwrap_or(Kernel::Math)
    }

    /// The kernel for a mask (its L and [`MaskClass`]).
    pub fn choose_for(&self, mask: &Mask) -> Kernel {
        self.choose(mask.n(), MaskClass::of(mask))
    }
}

/// What [`measure`] measures.
#[derive(Debug, Clone)]
pub struct TuneParams {
    /// Sequence lengths.
    pub sizes: Vec<usize>,
    /// Timed repetitions per kernel (after one warm-up call each).
    pub reps: usize,
    /// Kernels to time.
    pub kernels: Vec<Kernel>,
    /// Free text recorded as `measured_on`.
    pub measured_on: String,
    /// The instruction set the kernels run on ([`attend_on_isa`]).
    pub isa: Isa,
}

/// The inputs of one tuning row: 4 heads × L × 11 (the model's shape) from a seeded stream,
/// the bucket time bias and either a full mask or the causal DAG mask of a synthetic session
/// of L events.
pub fn tune_inputs(l: usize, class: MaskClass) -> (Array3<f32>, Array3<f32>, Array3<f32>, Mask, ndarray::Array2<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7E57 + l as u64);
    let mut draw = || Array3::from_shape_fn((4, l, 11), |_| rng.random_range(-1.0f32..1.0));
    let (q, k, v) = (draw(), draw(), draw());
    let session =
        crate::synth::generate(&crate::synth::SessionSpec::new(format!("tune_{l}"), 0x7E57_0000 + l as u64, l));
    let mask = match class {
        MaskClass::Dense => Mask::full(l),
        MaskClass::Dag => {
            Mask::from_edges(l, &crate::dag::session_causal_pairs(&session, &crate::dag::BuildParams::default()))
        }
    };
    let bias = TimeBias::Bucket.matrix(&session.times_ms()).expect("bucket bias is a matrix");
    (q, k, v, mask, bias)
}

/// Measures a table: for each size and both mask classes, every kernel is timed `reps` times
/// on `params.isa`, interleaved (round-robin, starting kernel rotated each round), and the
/// median is kept. Fails when this CPU lacks the instruction set.
pub fn measure(params: &TuneParams, mut progress: impl FnMut(&DispatchRow)) -> Result<DispatchTable, AttnError> {
    if !params.isa.is_available() {
        return Err(AttnError::IsaUnavailable { isa: params.isa.name() });
    }
    let mut rows = Vec::new();
    for &l in &params.sizes {
        for class in [MaskClass::Dense, MaskClass::Dag] {
            let (q, k, v, mask, bias) = tune_inputs(l, class);
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(bias.view().into()) };
            let n = params.kernels.len();
            let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(params.reps); n];
            for &kernel in &params.kernels {
                std::hint::black_box(attend_on_isa(kernel, &inp, params.isa)?);
            }
            for rep in 0..params.reps {
                for i in 0..n {
                    let idx = (i + rep) % n;
                    let start = Instant::now();
                    std::hint::black_box(attend_on_isa(params.kernels[idx], &inp, params.isa)?);
                    samples[idx].push(start.elapsed().as_nanos() as u64);
                }
            }
            let median_ns = params
                .kernels
                .iter()
                .zip(samples.iter_mut())
                .map(|(k, s)| {
                    s.sort_unstable();
                    (k.name().to_string(), s[s.len() / 2])
                })
                .collect();
            let row = DispatchRow { l, mask: class, median_ns };
            progress(&row);
            rows.push(row);
        }
    }
    Ok(DispatchTable {
        isa: Some(params.isa),
        measured_on: params.measured_on.clone(),
        heads: 4,
        head_dim: 11,
        reps: params.reps,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(l: usize, mask: MaskClass, times: &[(&str, u64)]) -> DispatchRow {
        DispatchRow { l, mask, median_ns: times.iter().map(|(n, t)| (n.to_string(), *t)).collect() }
    }

    fn table(rows: Vec<DispatchRow>) -> DispatchTable {
        DispatchTable { isa: None, measured_on: "test".into(), heads: 4, head_dim: 11, reps: 1, rows }
    }

    #[test]
    fn row_lookup_takes_smallest_measured_l_at_or_above() {
        let t = table(vec![
            row(256, MaskClass::Dense, &[("math", 3)]),
            row(64, MaskClass::Dense, &[("math", 1)]),
            row(128, MaskClass::Dag, &[("math", 2)]),
        ]);
        assert_eq!(t.row_for(1, MaskClass::Dense).unwrap().l, 64);
        assert_eq!(t.row_for(64, MaskClass::Dense).unwrap().l, 64);
        assert_eq!(t.row_for(65, MaskClass::Dense).unwrap().l, 256);
        assert_eq!(t.row_for(9999, MaskClass::Dense).unwrap().l, 256);
        assert_eq!(t.row_for(5, MaskClass::Dag).unwrap().l, 128);
        assert!(table(vec![]).row_for(5, MaskClass::Dag).is_none());
    }

    #[test]
    fn unknown_kernels_are_skipped_and_math_is_the_last_resort() {
        let t = table(vec![row(64, MaskClass::Dense, &[("warp_drive", 1), ("math", 50)])]);
        let d = Dispatcher { table: t, config: AttentionConfig::default() };
        assert_eq!(d.choose(10, MaskClass::Dense), Kernel::Math);
        let d = Dispatcher { table: table(vec![row(64, MaskClass::Dense, &[("warp_drive", 1)])]), ..d };
        assert_eq!(d.choose(10, MaskClass::Dense), Kernel::Math);
        assert_eq!(d.choose(10, MaskClass::Dag), Kernel::Math, "no row for the class");
    }

    #[test]
    fn flags_restrict_the_choice() {
        // Every kernel of this build gets a time; the fastest allowed one must win.
        let times: Vec<(String, u64)> =
            Kernel::ALL.iter().enumerate().map(|(i, k)| (k.name().to_string(), 10 + i as u64)).collect();
        let r = DispatchRow { l: 64, mask: MaskClass::Dense, median_ns: times.iter().cloned().collect() };
        for cfg in [
            AttentionConfig::default(),
            AttentionConfig { block_sparse: false, flash: FlashMode::Off, amp: false, time_bias_cache: true },
            AttentionConfig { block_sparse: true, flash: FlashMode::Conditional, amp: true, time_bias_cache: true },
        ] {
            let d = Dispatcher { table: table(vec![r.clone()]), config: cfg };
            let chosen = d.choose(64, MaskClass::Dense);
            let want = Kernel::ALL.iter().copied().find(|&k| cfg.allows(k)).unwrap();
            assert_eq!(chosen, want, "{cfg:?}");
            assert!(cfg.allows(chosen));
        }
    }

    #[test]
    fn bad_tables_are_typed_errors() {
        assert!(matches!(DispatchTable::from_json("{", "x.json"), Err(DispatchError::Json { .. })));
        let empty = serde_json::to_string(&table(vec![row(0, MaskClass::Dense, &[("math", 1)])])).unwrap();
        let err = DispatchTable::from_json(&empty, "x.json").unwrap_err();
        assert!(err.to_string().contains("x.json") && err.to_string().contains("row 0"));
        assert!(matches!(DispatchTable::load(Path::new("/nonexistent/t.json")), Err(DispatchError::Io { .. })));
    }

    #[test]
    fn every_committed_table_has_both_classes_at_every_measured_size() {
        for (isa, _) in COMMITTED_TABLES {
            let t = DispatchTable::committed_for(isa);
            assert_eq!(t.isa, Some(isa), "the {} table says where it was measured", isa.name());
            let sizes: std::collections::BTreeSet<usize> = t.rows.iter().map(|r| r.l).collect();
            // At least the dispatch gate's buckets (L ≤ 128, 256, 512, 1024) are measured.
            for l in [64, 128, 256, 512, 1024] {
                assert!(sizes.contains(&l), "{}: missing L={l}", isa.name());
            }
            for l in sizes {
                for class in [MaskClass::Dense, MaskClass::Dag] {
                    assert!(
                        t.rows.iter().any(|r| r.l == l && r.mask == class),
                        "{}: missing L={l} {class:?}",
                        isa.name()
                    );
                }
            }
            assert!(
                t.rows.iter().all(|r| r.median_ns.len() == Kernel::ALL.len()),
                "{}: every kernel timed",
                isa.name()
            );
        }
        assert_eq!(DispatchTable::committed_default().isa, Some(Isa::detect()));
        assert_eq!(Dispatcher::with_default_table(AttentionConfig::default()).table.isa, Some(Isa::detect()));
    }

    #[test]
    fn measure_times_every_kernel_in_every_row() {
        for isa in Isa::available() {
            let params = TuneParams {
                sizes: vec![8, 16],
                reps: 3,
                kernels: Kernel::ALL.to_vec(),
                measured_on: "unit test".into(),
                isa,
            };
            let mut seen = 0;
            let t = measure(&params, |_| seen += 1).unwrap();
            assert_eq!((t.rows.len(), seen, t.isa), (4, 4, Some(isa)));
            for r in &t.rows {
                assert_eq!(r.median_ns.len(), Kernel::ALL.len());
            }
            let back = DispatchTable::from_json(&serde_json::to_string(&t).unwrap(), "roundtrip").unwrap();
            assert_eq!(back, t);
        }
    }
}
