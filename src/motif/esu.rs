//! ESU enumeration (Wernicke 2006, as in FANMOD) of weakly connected induced subgraphs.
//!
//! Every connected node set of size `3..=max_k` is visited exactly once: at the node of the
//! ESU tree rooted at its smallest node. The adjacency pattern (see [`super::canon`]) grows with
//! the subgraph, one step per added node.
//!
//! Two walks enumerate the same sets:
//! - the *bitset walk* ([`for_each_subgraph_bitset`], graphs of at most [`BITSET_MAX_NODES`]
//!   nodes): per node, its undirected, out- and in-neighbours as bit masks of `W` 64-bit words
//!   (`W` = 1, 2, 4 or 8, the smallest that holds the graph). The state of the ESU tree is the
//!   subgraph's nodes, its closed neighbourhood mask and its extension mask, so adding a node is
//!   a few word operations and its pattern bits are read from the masks of the ≤ 4 nodes
//!   already in the subgraph — no neighbour-list scans, no marks to undo, no allocation.
//! - the *list walk* ([`for_each_subgraph_walk`], any size): neighbour-list scans with
//!   per-node marks; the twin the bitset walk is tested against, and the path for larger graphs.
//!
//! [`for_each_subgraph`] picks the bitset walk when the graph fits, the list walk otherwise.
//! Files: the entry points, the paths and the sinks here; the bitset walk in `esu/bitset.rs`,
//! the list walk in `esu/list.rs`.
//! [`for_each_pattern`] visits the same instances without their nodes (the census needs only
//! the pattern), which lets the bitset walk keep its link bytes by vector operations and do
//! its last level in bulk. That bulk path exists once per instruction set, each in its own
//! file, picked at run time ([`CensusIsa::detect`]) or by the caller
//! ([`for_each_pattern_with`]):
//! - [`CensusIsa::Avx512Vbmi2`] (`esu/avx512.rs`): masked byte broadcasts and one `vpcompressb`
//!   per 64 nodes;
//! - [`CensusIsa::Avx2`] (`esu/avx2.rs`): rows of edge bytes shifted into place, and the
//!   extensions read by `tzcnt`/`blsr` in a fixed sequence;
//! - [`CensusIsa::Scalar`]: one instance at a time (any CPU).
//!
//! Every path gives the same instances, so the same counts (`tests/integration/motif_esu_bitset.rs`).
//! The census per path is measured by `MOTIF_BENCH_PATHS=1 cargo bench --bench motif` (the
//! `census` figure in docs/figures).

use super::canon::{pattern_at, MAX_K, MIN_K};
use super::error::MotifError;
use super::graph::MotifGraph;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod bitset;
mod list;

use bitset::{BitsetWalk, LastLevel, BULK_CAP, PLACED};
pub use list::for_each_subgraph_walk;

/// Largest graph (in nodes) the bitset walk takes: 8 words of 64 bits per mask.
pub const BITSET_MAX_NODES: usize = 512;

/// Calls `visit(size, pattern, nodes)` once for every weakly connected induced subgraph of
/// `MIN_K..=max_k` nodes; `nodes` lists its nodes in the positions of `pattern`. Uses the
/// bitset walk for graphs of at most [`BITSET_MAX_NODES`] nodes, the list walk otherwise; the
/// visit order is unspecified.
///
/// ```
/// use ironforge::motif::{esu::for_each_subgraph, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut seen = 0;
/// for_each_subgraph(&g, 4, |_, _, _| seen += 1);
/// assert_eq!(seen, 3); // {0,1,2}, {1,2,3}, {0,1,2,3}
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn for_each_subgraph<F: FnMut(usize, u32, &[u32])>(graph: &MotifGraph, max_k: usize, mut visit: F) {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    if graph.len() <= BITSET_MAX_NODES {
        bitset_nodes(graph, max_k, &mut visit);
    } else {
        for_each_subgraph_walk(graph, max_k, visit);
    }
}

/// The bitset walk alone: same visits as [`for_each_subgraph_walk`] (in another order), for
/// graphs of at most [`BITSET_MAX_NODES`] nodes.
///
/// ```
/// use ironforge::motif::{esu::for_each_subgraph_bitset, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut seen = 0;
/// for_each_subgraph_bitset(&g, 4, |_, _, _| seen += 1)?;
/// assert_eq!(seen, 3);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
///
/// # Errors
/// [`MotifError::TooLargeForBitset`] when the graph has more than [`BITSET_MAX_NODES`] nodes.
pub fn for_each_subgraph_bitset<F: FnMut(usize, u32, &[u32])>(
    graph: &MotifGraph,
    max_k: usize,
    mut visit: F,
) -> Result<(), MotifError> {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    if graph.len() > BITSET_MAX_NODES {
        return Err(MotifError::TooLargeForBitset { nodes: graph.len(), max: BITSET_MAX_NODES });
    }
    bitset_nodes(graph, max_k, &mut visit);
    Ok(())
}

/// Calls `sink` once for every weakly connected induced subgraph of `MIN_K..=max_k` nodes, with
/// its size and pattern but not its nodes — the same instances as [`for_each_subgraph`], on the
/// best path this CPU has ([`CensusIsa::detect`]). On graphs of at most [`BITSET_MAX_NODES`]
/// nodes, on a bulk path (AVX-512 VBMI2 or AVX2), the last level of the walk (the
/// `max_k`-node instances, most of them) comes in bulk: all extensions of a
/// `(max_k − 1)`-node subgraph at once, as class-table indices, passed to
/// [`PatternSink::many_indexed`] a buffer at a time. Otherwise every instance comes through
/// [`PatternSink::one`].
///
/// ```
/// use ironforge::motif::{esu::{for_each_pattern, PatternSink}, MotifGraph};
/// struct Count(u64);
/// impl PatternSink for Count {
///     fn one(&mut self, _size: usize, _pattern: u32) {
///         self.0 += 1;
///     }
///     fn many(&mut self, _size: usize, patterns: &[u32]) {
///         self.0 += patterns.len() as u64;
///     }
/// }
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut count = Count(0);
/// for_each_pattern(&g, 4, &mut count);
/// assert_eq!(count.0, 3);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn for_each_pattern<S: PatternSink>(graph: &MotifGraph, max_k: usize, sink: &mut S) {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    pattern_walk(graph, max_k, CensusIsa::detect(), sink);
}

/// [`for_each_pattern`] on the path `isa` (for tests and benchmarks that compare the paths on
/// one machine): the same instances on every path, only how they arrive differs.
///
/// ```
/// use ironforge::motif::{esu::{for_each_pattern_with, CensusIsa, PatternSink}, MotifGraph};
/// struct Count(u64);
/// impl PatternSink for Count {
///     fn one(&mut self, _size: usize, _pattern: u32) {
///         self.0 += 1;
///     }
///     fn many(&mut self, _size: usize, patterns: &[u32]) {
///         self.0 += patterns.len() as u64;
///     }
/// }
/// let g = MotifGraph::new(5, &[(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)])?;
/// for isa in CensusIsa::available() {
///     let mut count = Count(0);
///     for_each_pattern_with(&g, 5, isa, &mut count)?;
///     assert_eq!(count.0, 11, "{}", isa.name()); // 5 + 5 + 1
/// }
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
///
/// # Errors
/// [`MotifError::Parameter`] (`isa`) when this CPU cannot run `isa`
/// ([`CensusIsa::is_available`]).
pub fn for_each_pattern_with<S: PatternSink>(
    graph: &MotifGraph,
    max_k: usize,
    isa: CensusIsa,
    sink: &mut S,
) -> Result<(), MotifError> {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    isa.check()?;
    pattern_walk(graph, max_k, isa, sink);
    Ok(())
}

/// [`for_each_pattern_with`] once `isa` is known to be available.
fn pattern_walk<S: PatternSink>(graph: &MotifGraph, max_k: usize, isa: CensusIsa, sink: &mut S) {
    if graph.len() <= BITSET_MAX_NODES {
        bitset_dispatch(graph, max_k, Patterns(sink), isa);
    } else {
        for_each_subgraph_walk(graph, max_k, |size, pattern, _| sink.one(size, pattern));
    }
}

/// Which instruction set the pattern walk ([`for_each_pattern`], hence the census) keeps its
/// link bytes and does its last level on: one implementation per instruction set, the best
/// available picked at run time ([`Self::detect`]), any available one on request
/// ([`for_each_pattern_with`], [`census_with`](crate::motif::census::census_with)). Every path
/// gives the same instances and the same counts.
///
/// ```
/// use ironforge::motif::esu::CensusIsa;
/// let best = CensusIsa::detect();
/// assert!(best.is_available());
/// assert_eq!(CensusIsa::available()[0], best);
/// assert!(CensusIsa::available().contains(&CensusIsa::Scalar));
/// println!("census path: {}", best.name());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CensusIsa {
    /// x86-64 with AVX-512 F, BW and VBMI2 (and POPCNT, BMI1): link bytes by masked byte
    /// broadcasts, the last level compressed by `vpcompressb` (`esu/avx512.rs`).
    Avx512Vbmi2,
    /// x86-64 with AVX2 (and POPCNT, BMI1): link bytes by rows of edge bytes, the last level
    /// read by bit scans in a fixed sequence (`esu/avx2.rs`).
    Avx2,
    /// Any CPU: link bytes by neighbour-list walks, every instance one at a time.
    Scalar,
}

impl CensusIsa {
    /// Every path, best first.
    pub const ALL: [CensusIsa; 3] = [CensusIsa::Avx512Vbmi2, CensusIsa::Avx2, CensusIsa::Scalar];

    /// The best path this CPU can run.
    ///
    /// ```
    /// use ironforge::motif::esu::CensusIsa;
    /// assert!(CensusIsa::detect().is_available());
    /// ```
    pub fn detect() -> CensusIsa {
        Self::ALL.into_iter().find(|isa| isa.is_available()).unwrap_or(CensusIsa::Scalar)
    }

    /// Whether this CPU can run `self` (detected at run time; a virtual machine may hide
    /// features its host has).
    ///
    /// ```
    /// use ironforge::motif::esu::CensusIsa;
    /// assert!(CensusIsa::Scalar.is_available());
    /// ```
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use crate::attention::kernels::simd::Isa;
            use std::is_x86_feature_detected as has;
            match self {
                CensusIsa::Avx512Vbmi2 => {
                    Isa::Avx512.allowed()
                        && has!("avx512f")
                        && has!("avx512bw")
                        && has!("avx512vbmi2")
                        && has!("popcnt")
                        && has!("bmi1")
                }
                CensusIsa::Avx2 => Isa::Avx2.allowed() && has!("avx2") && has!("popcnt") && has!("bmi1"),
                CensusIsa::Scalar => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == CensusIsa::Scalar
        }
    }

    /// Every path this CPU can run, best first (always ends with [`Self::Scalar`]).
    ///
    /// ```
    /// use ironforge::motif::esu::CensusIsa;
    /// assert_eq!(CensusIsa::available().last(), Some(&CensusIsa::Scalar));
    /// ```
    pub fn available() -> Vec<CensusIsa> {
        Self::ALL.into_iter().filter(|isa| isa.is_available()).collect()
    }

    /// Lower-case name for reports: `avx512vbmi2`, `avx2` or `scalar`.
    ///
    /// ```
    /// assert_eq!(ironforge::motif::esu::CensusIsa::Avx2.name(), "avx2");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            CensusIsa::Avx512Vbmi2 => "avx512vbmi2",
            CensusIsa::Avx2 => "avx2",
            CensusIsa::Scalar => "scalar",
        }
    }

    /// `Ok` when this CPU can run `self`, else [`MotifError::Parameter`] naming it.
    pub(crate) fn check(self) -> Result<(), MotifError> {
        if self.is_available() {
            Ok(())
        } else {
            Err(MotifError::Parameter {
                name: "isa",
                value: self.name().to_string(),
                why: "this CPU lacks the instructions of that census path",
            })
        }
    }
}

/// The walk's path as a constant parameter (`CensusIsa as u8`), so that each instruction set's
/// walk is compiled on its own and its branches fold away.
const SCALAR: u8 = CensusIsa::Scalar as u8;
/// See [`SCALAR`].
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX512: u8 = CensusIsa::Avx512Vbmi2 as u8;
/// See [`SCALAR`].
const AVX2: u8 = CensusIsa::Avx2 as u8;

/// Receives the instances of [`for_each_pattern`]: one at a time, or in bulk.
pub trait PatternSink {
    /// One instance of `size` nodes.
    fn one(&mut self, size: usize, pattern: u32);
    /// Several instances of `size` nodes.
    fn many(&mut self, size: usize, patterns: &[u32]);
    /// Several instances of `size` nodes given by their positions in the class tables
    /// ([`table_index`]): the pattern with the last node's byte low, which the bulk last level
    /// writes without shifting the byte into place. The default turns them back into patterns
    /// ([`pattern_at`]) for [`Self::many`]; a sink that looks classes up overrides it and
    /// skips both conversions.
    ///
    /// [`table_index`]: crate::motif::canon::table_index
    fn many_indexed(&mut self, size: usize, indices: &[u32]) {
        let mut patterns = [0u32; 64];
        for chunk in indices.chunks(patterns.len()) {
            for (p, &i) in patterns.iter_mut().zip(chunk) {
                *p = pattern_at(i, size);
            }
            self.many(size, &patterns[..chunk.len()]);
        }
    }
}

/// What the bitset walk hands its instances to.
trait Visitor {
    /// Whether only patterns are wanted, so the last level may go in bulk.
    const PATTERNS_ONLY: bool;
    fn visit(&mut self, size: usize, pattern: u32, nodes: &[u32]);
    /// Instances by class-table index ([`PatternSink::many_indexed`]).
    fn many_indexed(&mut self, size: usize, indices: &[u32]);
}

/// A closure that wants every instance with its nodes. One type for every closure (called
/// through a pointer): each visitor type is a whole copy of the walk for every word count, and
/// a closure's work per instance (its nodes at hand) dwarfs an indirect call.
struct Nodes<'f>(&'f mut dyn FnMut(usize, u32, &[u32]));

impl Visitor for Nodes<'_> {
    const PATTERNS_ONLY: bool = false;
    #[inline(always)]
    fn visit(&mut self, size: usize, pattern: u32, nodes: &[u32]) {
        (self.0)(size, pattern, nodes)
    }
    fn many_indexed(&mut self, _: usize, _: &[u32]) {
        unreachable!("a walk for nodes never batches")
    }
}

/// A [`PatternSink`].
struct Patterns<'s, S>(&'s mut S);

impl<S: PatternSink> Visitor for Patterns<'_, S> {
    const PATTERNS_ONLY: bool = true;
    #[inline(always)]
    fn visit(&mut self, size: usize, pattern: u32, _: &[u32]) {
        self.0.one(size, pattern)
    }
    #[inline(always)]
    fn many_indexed(&mut self, size: usize, indices: &[u32]) {
        self.0.many_indexed(size, indices)
    }
}

/// Runs the bitset walk with the smallest word count that holds the graph (≤ 512 nodes), on
/// the path `isa` (available on this CPU).
fn bitset_dispatch<S: PatternSink>(graph: &MotifGraph, max_k: usize, visit: Patterns<'_, S>, isa: CensusIsa) {
    match graph.len().div_ceil(64) {
        0 | 1 => BitsetWalk::<1, _>::run(graph, max_k, visit, isa),
        2 => BitsetWalk::<2, _>::run(graph, max_k, visit, isa),
        3 | 4 => BitsetWalk::<4, _>::run(graph, max_k, visit, isa),
        _ => BitsetWalk::<8, _>::run(graph, max_k, visit, isa),
    }
}

/// [`bitset_dispatch`] for a walk that hands out nodes: always the scalar path (the bulk last
/// level gives patterns only), and only the scalar path is compiled for it.
fn bitset_nodes(graph: &MotifGraph, max_k: usize, visit: &mut dyn FnMut(usize, u32, &[u32])) {
    let visit = Nodes(visit);
    match graph.len().div_ceil(64) {
        0 | 1 => BitsetWalk::<1, _>::run_scalar(graph, max_k, visit),
        2 => BitsetWalk::<2, _>::run_scalar(graph, max_k, visit),
        3 | 4 => BitsetWalk::<4, _>::run_scalar(graph, max_k, visit),
        _ => BitsetWalk::<8, _>::run_scalar(graph, max_k, visit),
    }
}

/// Whether [`for_each_pattern`] does its last level in bulk on this CPU: whether the best path
/// it has ([`CensusIsa::detect`]) is a bulk path (AVX-512 VBMI2 or AVX2), not
/// [`CensusIsa::Scalar`].
///
/// ```
/// use ironforge::motif::esu::{bulk_last_level_available, CensusIsa};
/// // Either way the instances are the same; only how they arrive differs.
/// assert_eq!(bulk_last_level_available(), CensusIsa::detect() != CensusIsa::Scalar);
/// ```
pub fn bulk_last_level_available() -> bool {
    CensusIsa::detect() != CensusIsa::Scalar
}
