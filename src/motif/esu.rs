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
//! Every path gives the same instances, so the same counts (`tests/motif_esu_bitset.rs`).
//! The census per path is measured by `MOTIF_BENCH_PATHS=1 cargo bench --bench motif` (the
//! `census` figure in docs/figures).

use super::canon::{bit_index, pattern_at, pattern_bits, MAX_K, MIN_K};
use super::error::MotifError;
use super::graph::{MotifGraph, IN, OUT};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

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
pub fn for_each_subgraph<F: FnMut(usize, u32, &[u32])>(graph: &MotifGraph, max_k: usize, visit: F) {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    if graph.len() <= BITSET_MAX_NODES {
        bitset_dispatch(graph, max_k, Nodes(visit), CensusIsa::Scalar);
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
    visit: F,
) -> Result<(), MotifError> {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    if graph.len() > BITSET_MAX_NODES {
        return Err(MotifError::TooLargeForBitset { nodes: graph.len(), max: BITSET_MAX_NODES });
    }
    bitset_dispatch(graph, max_k, Nodes(visit), CensusIsa::Scalar);
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

/// A closure that wants every instance with its nodes.
struct Nodes<F>(F);

impl<F: FnMut(usize, u32, &[u32])> Visitor for Nodes<F> {
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
/// the path `isa` (available on this CPU) when the visitor wants only patterns, else scalar.
fn bitset_dispatch<V: Visitor>(graph: &MotifGraph, max_k: usize, visit: V, isa: CensusIsa) {
    match graph.len().div_ceil(64) {
        0 | 1 => BitsetWalk::<1, V>::run(graph, max_k, visit, isa),
        2 => BitsetWalk::<2, V>::run(graph, max_k, visit, isa),
        3 | 4 => BitsetWalk::<4, V>::run(graph, max_k, visit, isa),
        _ => BitsetWalk::<8, V>::run(graph, max_k, visit, isa),
    }
}

/// A node set as `W` words of 64 bits.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Bits<const W: usize>([u64; W]);

impl<const W: usize> Bits<W> {
    const EMPTY: Self = Self([0; W]);

    #[inline(always)]
    fn single(v: u32) -> Self {
        let mut b = Self::EMPTY;
        b.0[v as usize / 64] = 1 << (v % 64);
        b
    }

    /// Nodes strictly above `v`.
    #[inline(always)]
    fn above(v: u32) -> Self {
        let mut b = Self::EMPTY;
        let (word, bit) = (v as usize / 64, v % 64);
        for (i, w) in b.0.iter_mut().enumerate() {
            *w = match i.cmp(&word) {
                std::cmp::Ordering::Less => 0,
                std::cmp::Ordering::Equal => (!0u64).checked_shl(bit + 1).unwrap_or(0),
                std::cmp::Ordering::Greater => !0,
            };
        }
        b
    }

    #[inline(always)]
    fn contains(&self, v: u32) -> bool {
        self.0[v as usize / 64] >> (v % 64) & 1 != 0
    }

    #[inline(always)]
    fn or(self, other: Self) -> Self {
        let mut b = self;
        for (x, y) in b.0.iter_mut().zip(other.0) {
            *x |= y;
        }
        b
    }

    /// `self & other & !not`.
    #[inline(always)]
    fn and_and_not(self, other: Self, not: Self) -> Self {
        let mut b = self;
        for ((x, y), z) in b.0.iter_mut().zip(other.0).zip(not.0) {
            *x = *x & y & !z;
        }
        b
    }

    /// Removes and returns the smallest node, if any.
    #[inline(always)]
    fn pop_lowest(&mut self) -> Option<u32> {
        for (i, w) in self.0.iter_mut().enumerate() {
            if *w != 0 {
                let bit = w.trailing_zeros();
                *w &= *w - 1;
                return Some(i as u32 * 64 + bit);
            }
        }
        None
    }
}

/// The bitset walk's buffers, kept per thread between walks (one set per word count `W`):
/// five allocations a census, one of them a 4 KiB zero fill, on the real sessions.
#[derive(Default)]
struct WalkBuffers<const W: usize> {
    adj: Vec<Bits<W>>,
    out: Vec<Bits<W>>,
    inn: Vec<Bits<W>>,
    links: Vec<u8>,
    edges: Vec<u8>,
    patterns: Vec<u32>,
}

thread_local! {
    /// [`WalkBuffers`] of the word counts walked on this thread.
    static WALK_BUFFERS: std::cell::RefCell<Vec<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<const W: usize> WalkBuffers<W> {
    /// This thread's buffers for `W` words, or fresh ones when a walk further up the stack (a
    /// visitor that walks again) holds them.
    fn take() -> Box<Self> {
        let kept = WALK_BUFFERS.with(|pool| {
            let mut pool = pool.borrow_mut();
            let at = pool.iter().position(|b| b.is::<Self>())?;
            pool.swap_remove(at).downcast::<Self>().ok()
        });
        kept.unwrap_or_default()
    }

    /// Returns the buffers to this thread for the next walk.
    fn keep(self: Box<Self>) {
        WALK_BUFFERS.with(|pool| pool.borrow_mut().push(self));
    }
}

/// ESU over bit masks (see the module docs).
struct BitsetWalk<'g, const W: usize, V> {
    graph: &'g MotifGraph,
    /// Undirected neighbours per node.
    adj: Vec<Bits<W>>,
    /// Out-neighbours per node.
    out: Vec<Bits<W>>,
    /// In-neighbours per node.
    inn: Vec<Bits<W>>,
    /// Per node, its edges to the subgraph's nodes at positions `0..3` (2 bits per position:
    /// [`OUT`] = position → node, [`IN`] = node → position): the pattern bits the node adds
    /// when it joins the subgraph, kept up to date as nodes are placed and removed (on a bulk
    /// path all 64 · W bytes at once: [`avx512::place`] from the placed node's masks,
    /// [`avx2::place`] from its row of [`Self::edges`]; otherwise by a walk over its neighbour
    /// list). Position 3 is not placed: the last level reads its bits from its masks or its
    /// edge bytes (a few vector operations per 64 nodes in bulk, two bit tests per instance
    /// otherwise), which cost less than the ~2,000 neighbour walks per session that placing it
    /// took.
    links: Vec<u8>,
    /// On the AVX2 path only (empty otherwise): per node `v`, 64 · W *edge bytes*, byte `u` =
    /// `v`'s edge bits to `u` ([`OUT`] = v → u, [`IN`] = u → v), so `v`'s contribution to
    /// every link byte at position `p` is its row shifted left by `2p`.
    edges: Vec<u8>,
    max_k: usize,
    /// Nodes strictly above the root of the current ESU tree.
    above_root: Bits<W>,
    nodes: [u32; MAX_K],
    visit: V,
    /// The last level's patterns, when they go in bulk ([`LastLevel`]).
    bulk: LastLevel,
}

impl<'g, const W: usize, V: Visitor> BitsetWalk<'g, W, V> {
    /// The walk on the path `isa` (available on this CPU) when `V` wants only patterns, else
    /// on the scalar path.
    fn run(graph: &'g MotifGraph, max_k: usize, visit: V, isa: CensusIsa) {
        let n = graph.len();
        debug_assert!(n <= W * 64);
        // The buffers move into the walk; their box stays, to carry them back without an
        // allocation.
        let mut kept = WalkBuffers::take();
        let WalkBuffers { mut adj, mut out, mut inn, mut links, mut edges, patterns } = std::mem::take(&mut *kept);
        for masks in [&mut adj, &mut out, &mut inn] {
            masks.clear();
            masks.resize(n, Bits::EMPTY);
        }
        for v in 0..n {
            for &(u, dir) in graph.neighbours(v as u32) {
                let bit = Bits::single(u);
                adj[v] = adj[v].or(bit);
                if dir & OUT != 0 {
                    out[v] = out[v].or(bit);
                }
                if dir & IN != 0 {
                    inn[v] = inn[v].or(bit);
                }
            }
        }
        // Padded to whole 64-byte vectors for the bulk last level.
        links.clear();
        links.resize(W * 64, 0);
        let bulk = LastLevel::new(V::PATTERNS_ONLY, patterns, isa);
        edges.clear();
        if bulk.isa == CensusIsa::Avx2 {
            edges.resize(n * W * 64, 0);
            for v in 0..n {
                let row = &mut edges[v * W * 64..][..W * 64];
                for &(u, dir) in graph.neighbours(v as u32) {
                    row[u as usize] = dir;
                }
            }
        }
        let mut walk =
            Self { graph, adj, out, inn, links, edges, max_k, above_root: Bits::EMPTY, nodes: [0; MAX_K], visit, bulk };
        match walk.bulk.isa {
            // SAFETY: `bulk.isa` is a path this CPU has (the caller's contract, checked by
            // `CensusIsa::is_available`), whose features `avx512::roots` enables.
            #[cfg(target_arch = "x86_64")]
            CensusIsa::Avx512Vbmi2 => unsafe { avx512::roots(&mut walk) },
            // SAFETY: as above, for the features `avx2::roots` enables.
            #[cfg(target_arch = "x86_64")]
            CensusIsa::Avx2 => unsafe { avx2::roots(&mut walk) },
            _ => walk.roots_of_size::<SCALAR>(),
        }
        if walk.bulk.len > 0 {
            walk.hand_over(max_k);
        }
        let Self { adj, out, inn, links, edges, bulk, .. } = walk;
        *kept = WalkBuffers { adj, out, inn, links, edges, patterns: bulk.patterns };
        kept.keep();
    }

    /// Hands the buffered last-level instances (of `size` nodes, as class-table indices) to the
    /// visitor and empties the buffer.
    fn hand_over(&mut self, size: usize) {
        self.visit.many_indexed(size, &self.bulk.patterns[..self.bulk.len]);
        self.bulk.len = 0;
    }

    /// [`Self::roots`] with `max_k` as the constant `K`.
    #[inline(always)]
    fn roots_of_size<const PATH: u8>(&mut self) {
        match self.max_k {
            3 => self.roots::<3, PATH>(),
            4 => self.roots::<4, PATH>(),
            _ => self.roots::<5, PATH>(),
        }
    }

    /// The ESU tree of every root, for subgraphs of up to `K` (= `max_k`) nodes, on the path
    /// `PATH` (= `bulk.isa as u8`). Both are constants so that the levels do not reload them
    /// from memory after every visit (its stores could alias them for the compiler).
    #[inline(always)]
    fn roots<const K: usize, const PATH: u8>(&mut self) {
        debug_assert_eq!((K, PATH), (self.max_k, self.bulk.isa as u8));
        for root in 0..self.graph.len() as u32 {
            self.above_root = Bits::above(root);
            self.nodes[0] = root;
            let a = self.adj[root as usize];
            let ext = a.and_and_not(self.above_root, Bits::EMPTY);
            self.place::<PATH>(root, 0);
            self.level1::<K, PATH>(0, ext, a.or(Bits::single(root)));
            self.unplace::<PATH>(root, 0);
        }
    }

    /// Records, in every neighbour's `links`, its edges to `v`, now at `position`.
    #[inline(always)]
    fn place<const PATH: u8>(&mut self, v: u32, position: usize) {
        let v = v as usize;
        #[cfg(target_arch = "x86_64")]
        if PATH == AVX512 {
            // SAFETY: `PATH` is `AVX512` only in the walk `avx512::roots` runs, which is
            // compiled with the features `avx512::place` needs and called only when the CPU
            // has them.
            unsafe { avx512::place(&mut self.links, &self.out[v].0, &self.inn[v].0, position) };
            return;
        } else if PATH == AVX2 {
            let row = &self.edges[v * W * 64..][..W * 64];
            // SAFETY: as above, for `AVX2` and `avx2::roots`.
            unsafe { avx2::place::<W>(&mut self.links, row, position) };
            return;
        }
        for &(u, dir) in self.graph.neighbours(v as u32) {
            self.links[u as usize] |= dir << (2 * position);
        }
    }

    /// Undoes [`Self::place`].
    #[inline(always)]
    fn unplace<const PATH: u8>(&mut self, v: u32, position: usize) {
        #[cfg(target_arch = "x86_64")]
        if PATH == AVX512 {
            // SAFETY: as in `place`.
            unsafe { avx512::unplace::<W>(&mut self.links, position) };
            return;
        } else if PATH == AVX2 {
            // SAFETY: as in `place`.
            unsafe { avx2::unplace::<W>(&mut self.links, position) };
            return;
        }
        for &(u, _) in self.graph.neighbours(v) {
            self.links[u as usize] &= !(3 << (2 * position));
        }
    }

    /// Extends the subgraph `nodes[..SIZE]` (pattern `pattern`, closed neighbourhood
    /// `closed`) by every node of `ext` in turn; `deeper` is the next level. One function per
    /// level, so the pattern's bit positions and the size are constants.
    #[inline(always)]
    fn level<const SIZE: usize, const K: usize, const PATH: u8>(
        &mut self,
        pattern: u32,
        mut ext: Bits<W>,
        closed: Bits<W>,
        deeper: Level<'g, W, V>,
    ) {
        // Loop invariants read once (the visit's stores could alias them for the compiler);
        // the AVX2 path reads the last placed node's edge bytes instead.
        let (last_out, last_in) = if SIZE == PLACED + 1 && PATH != AVX2 {
            let u = self.nodes[PLACED] as usize;
            (self.out[u], self.inn[u])
        } else {
            (Bits::EMPTY, Bits::EMPTY)
        };
        let go_deeper = SIZE + 1 < K;
        if !go_deeper && PATH != SCALAR {
            self.last_level_bulk::<SIZE, PATH>(pattern, ext, last_out, last_in);
            return;
        }
        while let Some(w) = ext.pop_lowest() {
            // `links[w]` holds w's edges to positions 0..min(SIZE, 3), in the order of its new
            // bits; position 3 (only when SIZE = 4) is read from its masks.
            let mut bits = u32::from(self.links[w as usize]);
            if SIZE == PLACED + 1 {
                bits |=
                    (last_out.contains(w) as u32) << (2 * PLACED) | (last_in.contains(w) as u32) << (2 * PLACED + 1);
            }
            let grown = pattern | bits << pattern_bits(SIZE);
            self.nodes[SIZE] = w;
            if SIZE + 1 >= MIN_K {
                self.visit.visit(SIZE + 1, grown, &self.nodes[..SIZE + 1]);
            }
            if go_deeper {
                let adj_w = self.adj[w as usize];
                let next = ext.or(adj_w.and_and_not(self.above_root, closed));
                if SIZE < PLACED {
                    self.place::<PATH>(w, SIZE);
                }
                deeper(self, grown, next, closed.or(adj_w));
                if SIZE < PLACED {
                    self.unplace::<PATH>(w, SIZE);
                }
            }
        }
    }

    /// The last level in bulk on a bulk path: the extensions of `nodes[..SIZE]`, 64 nodes at a
    /// time (a word with no extension skipped, except in one-word graphs, where the branch
    /// would cost more than it saves). `last_out`/`last_in` are the last placed node's masks
    /// (AVX-512 VBMI2 path, `SIZE` = 4).
    #[inline(always)]
    fn last_level_bulk<const SIZE: usize, const PATH: u8>(
        &mut self,
        pattern: u32,
        ext: Bits<W>,
        last_out: Bits<W>,
        last_in: Bits<W>,
    ) {
        #[cfg(target_arch = "x86_64")]
        for word in 0..W {
            if W > 1 && ext.0[word] == 0 {
                continue;
            }
            let links: &[u8; 64] = self.links[64 * word..][..64].try_into().expect("links are padded to 64 W");
            let full = if PATH == AVX512 {
                let (o, i) = if SIZE == PLACED + 1 { (last_out.0[word], last_in.0[word]) } else { (0, 0) };
                // SAFETY: `PATH` is `AVX512` only in the walk `avx512::roots` runs, which is
                // compiled with the features `append_avx512` needs and called only when the
                // CPU has them.
                unsafe { self.bulk.append_avx512::<SIZE>(links, ext.0[word], o, i, pattern) }
            } else {
                let last: Option<&[u8; 64]> = (SIZE == PLACED + 1).then(|| {
                    let at = self.nodes[PLACED] as usize * W * 64 + 64 * word;
                    self.edges[at..][..64].try_into().expect("edge rows are 64 W long")
                });
                // SAFETY: as above, for `AVX2` (the only other bulk path) and `avx2::roots`.
                unsafe { self.bulk.append_avx2::<SIZE>(links, last, ext.0[word], pattern) }
            };
            if full {
                self.hand_over(SIZE + 1);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (pattern, ext, last_out, last_in);
            unreachable!("the bulk paths are x86-64 only")
        }
    }

    #[inline(always)]
    fn level1<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<1, K, PATH>(pattern, ext, closed, Self::level2::<K, PATH>);
    }

    #[inline(always)]
    fn level2<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<2, K, PATH>(pattern, ext, closed, Self::level3::<K, PATH>);
    }

    #[inline(always)]
    fn level3<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<3, K, PATH>(pattern, ext, closed, Self::level4::<K, PATH>);
    }

    #[inline(always)]
    fn level4<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        // Size 5 = MAX_K is the last level: nothing deeper.
        self.level::<4, K, PATH>(pattern, ext, closed, |_, _, _, _| {});
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

/// Patterns the bulk last level buffers before handing them over.
const BULK_CAP: usize = 1024;

/// The bulk last level: every extension of a subgraph one level short of `max_k` at once, 64
/// nodes at a time, written as 32-bit class-table indices (the subgraph's pattern shifted above
/// the new node's pattern byte: [`table_index`]) into a buffer that the visitor gets whole
/// ([`Visitor::many_indexed`]). Node `w`'s pattern byte is its edges to the subgraph's
/// positions: `links[w]`, plus the bits of the unplaced last position. How the extensions'
/// bytes are gathered depends on the path ([`LastLevel::append_avx512`]: one compress;
/// [`LastLevel::append_avx2`]: bit scans in a fixed sequence); on both, no branch depends on how
/// many extensions there are (up to 16 or 8; more take one predictable branch), where the
/// one-at-a-time loop (about four extensions a call on the real sessions) mispredicted its exit
/// at every call.
///
/// [`table_index`]: crate::motif::canon::table_index
struct LastLevel {
    /// The walk's path: a bulk one only for a pattern-only visitor.
    isa: CensusIsa,
    /// Class-table indices of the buffered instances; `BULK_CAP + 64` slots: an append may
    /// write 64 past `len`.
    patterns: Vec<u32>,
    len: usize,
}

impl LastLevel {
    /// `patterns` is the buffer to use (any length, any contents); the path is `isa` (available
    /// on this CPU) when the visitor `wants` bulk, else scalar.
    fn new(wants: bool, mut patterns: Vec<u32>, isa: CensusIsa) -> Self {
        let isa = if wants { isa } else { CensusIsa::Scalar };
        debug_assert!(isa.is_available());
        if isa != CensusIsa::Scalar {
            patterns.resize(BULK_CAP + 64, 0);
        }
        Self { isa, patterns, len: 0 }
    }
}

/// Positions `0..PLACED` are recorded in `BitsetWalk::links`; position `PLACED` (the last one
/// with a level below it) is read from its masks.
const PLACED: usize = MAX_K - 2;

/// One level of the bitset walk (see `BitsetWalk::level`).
type Level<'g, const W: usize, V> = fn(&mut BitsetWalk<'g, W, V>, u32, Bits<W>, Bits<W>);

/// The list walk alone (any graph size): neighbour-list scans with per-node marks. The twin
/// of [`for_each_subgraph_bitset`] and the path [`for_each_subgraph`] takes for graphs of
/// more than [`BITSET_MAX_NODES`] nodes.
///
/// ```
/// use ironforge::motif::{esu::for_each_subgraph_walk, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut seen = 0;
/// for_each_subgraph_walk(&g, 4, |_, _, _| seen += 1);
/// assert_eq!(seen, 3);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn for_each_subgraph_walk<F: FnMut(usize, u32, &[u32])>(graph: &MotifGraph, max_k: usize, visit: F) {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    let n = graph.len();
    let mut walk = Walk {
        graph,
        max_k,
        root: 0,
        position: vec![0u8; n],
        blocked: vec![0u8; n],
        nodes: [0; MAX_K],
        extension: vec![Vec::new(); MAX_K + 1],
        visit,
    };
    for v in 0..n as u32 {
        walk.root = v;
        walk.position[v as usize] = 1;
        walk.nodes[0] = v;
        walk.blocked[v as usize] += 1;
        let mut ext = std::mem::take(&mut walk.extension[1]);
        ext.clear();
        for &(u, _) in graph.neighbours(v) {
            walk.blocked[u as usize] += 1;
            if u > v {
                ext.push(u);
            }
        }
        walk.extension[1] = ext;
        walk.extend(1, 0);
        for &(u, _) in graph.neighbours(v) {
            walk.blocked[u as usize] -= 1;
        }
        walk.blocked[v as usize] -= 1;
        walk.position[v as usize] = 0;
    }
}

struct Walk<'g, F> {
    graph: &'g MotifGraph,
    max_k: usize,
    root: u32,
    /// 1 + position in the current subgraph, 0 when outside it.
    position: Vec<u8>,
    /// How many current subgraph nodes have this node in their closed neighbourhood.
    blocked: Vec<u8>,
    nodes: [u32; MAX_K],
    /// Extension set per subgraph size.
    extension: Vec<Vec<u32>>,
    visit: F,
}

impl<F: FnMut(usize, u32, &[u32])> Walk<'_, F> {
    fn extend(&mut self, size: usize, pattern: u32) {
        if size + 1 == self.max_k {
            // Last level: only the pattern is needed, no extension set and no marks.
            while let Some(w) = self.extension[size].pop() {
                let mut grown = pattern;
                for &(u, dir) in self.graph.neighbours(w) {
                    let pos = self.position[u as usize];
                    if pos != 0 {
                        let q = pos as usize - 1;
                        if dir & OUT != 0 {
                            grown |= 1 << bit_index(size, q);
                        }
                        if dir & IN != 0 {
                            grown |= 1 << bit_index(q, size);
                        }
                    }
                }
                self.nodes[size] = w;
                (self.visit)(size + 1, grown, &self.nodes[..size + 1]);
            }
            return;
        }
        while let Some(w) = self.extension[size].pop() {
            let mut next = std::mem::take(&mut self.extension[size + 1]);
            next.clear();
            next.extend_from_slice(&self.extension[size]);
            let mut grown = pattern;
            for &(u, dir) in self.graph.neighbours(w) {
                let pos = self.position[u as usize];
                if pos != 0 {
                    let q = pos as usize - 1;
                    if dir & OUT != 0 {
                        grown |= 1 << bit_index(size, q);
                    }
                    if dir & IN != 0 {
                        grown |= 1 << bit_index(q, size);
                    }
                } else if u > self.root && self.blocked[u as usize] == 0 {
                    // Exclusive neighbour of w: outside the subgraph and its neighbourhood.
                    next.push(u);
                }
                self.blocked[u as usize] += 1;
            }
            self.blocked[w as usize] += 1;
            self.position[w as usize] = size as u8 + 1;
            self.nodes[size] = w;
            if size + 1 >= MIN_K {
                (self.visit)(size + 1, grown, &self.nodes[..size + 1]);
            }
            self.extension[size + 1] = next;
            self.extend(size + 1, grown);
            for &(u, _) in self.graph.neighbours(w) {
                self.blocked[u as usize] -= 1;
            }
            self.blocked[w as usize] -= 1;
            self.position[w as usize] = 0;
        }
    }
}
