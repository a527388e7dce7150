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
//! the pattern), which lets the bitset walk do its last level in bulk with AVX-512 VBMI2.
//! On the 40 real NQ M5 sessions (causal DAG, ~11,000 instances per session) the bitset walk
//! plus the dense census counter classify about 6× more instances per second than the list
//! walk did (see docs/motif.md for the measured figures).

use super::canon::{bit_index, pattern_at, pattern_bits, MAX_K, MIN_K};
use super::error::MotifError;
use super::graph::{MotifGraph, IN, OUT};

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
        bitset_dispatch(graph, max_k, Nodes(visit));
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
    bitset_dispatch(graph, max_k, Nodes(visit));
    Ok(())
}

/// Calls `sink` once for every weakly connected induced subgraph of `MIN_K..=max_k` nodes, with
/// its size and pattern but not its nodes — the same instances as [`for_each_subgraph`]. On
/// graphs of at most [`BITSET_MAX_NODES`] nodes, when the CPU has AVX-512 VBMI2, the last
/// level of the walk (the `max_k`-node instances, most of them) comes in bulk: all extensions
/// of a `(max_k − 1)`-node subgraph at once (their pattern bytes compressed into one vector
/// and widened into class-table indices with no branch per instance), passed to
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
    if graph.len() <= BITSET_MAX_NODES {
        bitset_dispatch(graph, max_k, Patterns(sink));
    } else {
        for_each_subgraph_walk(graph, max_k, |size, pattern, _| sink.one(size, pattern));
    }
}

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

/// Runs the bitset walk with the smallest word count that holds the graph (≤ 512 nodes).
fn bitset_dispatch<V: Visitor>(graph: &MotifGraph, max_k: usize, visit: V) {
    match graph.len().div_ceil(64) {
        0 | 1 => BitsetWalk::<1, V>::run(graph, max_k, visit),
        2 => BitsetWalk::<2, V>::run(graph, max_k, visit),
        3 | 4 => BitsetWalk::<4, V>::run(graph, max_k, visit),
        _ => BitsetWalk::<8, V>::run(graph, max_k, visit),
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
    /// when it joins the subgraph, kept up to date as nodes are placed and removed (on the bulk
    /// path all 64 · W bytes at once from the placed node's masks, [`place_avx512`]; otherwise
    /// by a walk over its neighbour list). Position 3 is not placed: the last level reads its
    /// bits from its masks (two masked broadcasts per 64 nodes in bulk, two bit tests per
    /// instance otherwise), which cost less than the ~2,000 neighbour walks per session that
    /// placing it took.
    links: Vec<u8>,
    max_k: usize,
    /// Nodes strictly above the root of the current ESU tree.
    above_root: Bits<W>,
    nodes: [u32; MAX_K],
    visit: V,
    /// The last level's patterns, when they go in bulk ([`LastLevel`]).
    bulk: LastLevel,
}

impl<'g, const W: usize, V: Visitor> BitsetWalk<'g, W, V> {
    fn run(graph: &'g MotifGraph, max_k: usize, visit: V) {
        let n = graph.len();
        debug_assert!(n <= W * 64);
        // The buffers move into the walk; their box stays, to carry them back without an
        // allocation.
        let mut kept = WalkBuffers::take();
        let WalkBuffers { mut adj, mut out, mut inn, mut links, patterns } = std::mem::take(&mut *kept);
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
        let bulk = LastLevel::new(V::PATTERNS_ONLY, patterns);
        let mut walk =
            Self { graph, adj, out, inn, links, max_k, above_root: Bits::EMPTY, nodes: [0; MAX_K], visit, bulk };
        #[cfg(target_arch = "x86_64")]
        if walk.bulk.on {
            // SAFETY: `on` is set only when the CPU has the features `roots_avx512` enables.
            unsafe { roots_avx512(&mut walk) };
        } else {
            walk.roots_of_size::<false>();
        }
        #[cfg(not(target_arch = "x86_64"))]
        walk.roots_of_size::<false>();
        if walk.bulk.len > 0 {
            walk.hand_over(max_k);
        }
        let Self { adj, out, inn, links, bulk, .. } = walk;
        *kept = WalkBuffers { adj, out, inn, links, patterns: bulk.patterns };
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
    fn roots_of_size<const BULK: bool>(&mut self) {
        match self.max_k {
            3 => self.roots::<3, BULK>(),
            4 => self.roots::<4, BULK>(),
            _ => self.roots::<5, BULK>(),
        }
    }

    /// The ESU tree of every root, for subgraphs of up to `K` (= `max_k`) nodes, the last level
    /// in bulk when `BULK` (= `bulk.on`). Both are constants so that the levels do not reload
    /// them from memory after every visit (its stores could alias them for the compiler).
    #[inline(always)]
    fn roots<const K: usize, const BULK: bool>(&mut self) {
        debug_assert_eq!((K, BULK), (self.max_k, self.bulk.on));
        for root in 0..self.graph.len() as u32 {
            self.above_root = Bits::above(root);
            self.nodes[0] = root;
            let a = self.adj[root as usize];
            let ext = a.and_and_not(self.above_root, Bits::EMPTY);
            self.place::<BULK>(root, 0);
            self.level1::<K, BULK>(0, ext, a.or(Bits::single(root)));
            self.unplace::<BULK>(root, 0);
        }
    }

    /// Records, in every neighbour's `links`, its edges to `v`, now at `position`.
    #[inline(always)]
    fn place<const BULK: bool>(&mut self, v: u32, position: usize) {
        #[cfg(target_arch = "x86_64")]
        if BULK {
            let v = v as usize;
            // SAFETY: `on` is set only when the CPU has the features `roots_avx512` enables.
            unsafe { place_avx512(&mut self.links, &self.out[v].0, &self.inn[v].0, position) };
            return;
        }
        for &(u, dir) in self.graph.neighbours(v) {
            self.links[u as usize] |= dir << (2 * position);
        }
    }

    /// Undoes [`Self::place`].
    #[inline(always)]
    fn unplace<const BULK: bool>(&mut self, v: u32, position: usize) {
        #[cfg(target_arch = "x86_64")]
        if BULK {
            // SAFETY: as in `place`.
            unsafe { unplace_avx512::<W>(&mut self.links, position) };
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
    fn level<const SIZE: usize, const K: usize, const BULK: bool>(
        &mut self,
        pattern: u32,
        mut ext: Bits<W>,
        closed: Bits<W>,
        deeper: Level<'g, W, V>,
    ) {
        // Loop invariants read once (the visit's stores could alias them for the compiler).
        let (last_out, last_in) = if SIZE == PLACED + 1 {
            let u = self.nodes[PLACED] as usize;
            (self.out[u], self.inn[u])
        } else {
            (Bits::EMPTY, Bits::EMPTY)
        };
        let go_deeper = SIZE + 1 < K;
        if !go_deeper && BULK {
            // The last level in bulk, 64 nodes at a time (a word with no extension skipped,
            // except in one-word graphs, where the branch would cost more than it saves).
            for word in 0..W {
                if W > 1 && ext.0[word] == 0 {
                    continue;
                }
                let (o, i) = if SIZE == PLACED + 1 { (last_out.0[word], last_in.0[word]) } else { (0, 0) };
                let bytes: &[u8; 64] = self.links[64 * word..][..64].try_into().expect("links are padded to 64 W");
                if self.bulk.append::<SIZE>(bytes, ext.0[word], o, i, pattern) {
                    self.hand_over(SIZE + 1);
                }
            }
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
                    self.place::<BULK>(w, SIZE);
                }
                deeper(self, grown, next, closed.or(adj_w));
                if SIZE < PLACED {
                    self.unplace::<BULK>(w, SIZE);
                }
            }
        }
    }

    #[inline(always)]
    fn level1<const K: usize, const BULK: bool>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<1, K, BULK>(pattern, ext, closed, Self::level2::<K, BULK>);
    }

    #[inline(always)]
    fn level2<const K: usize, const BULK: bool>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<2, K, BULK>(pattern, ext, closed, Self::level3::<K, BULK>);
    }

    #[inline(always)]
    fn level3<const K: usize, const BULK: bool>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<3, K, BULK>(pattern, ext, closed, Self::level4::<K, BULK>);
    }

    #[inline(always)]
    fn level4<const K: usize, const BULK: bool>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        // Size 5 = MAX_K is the last level: nothing deeper.
        self.level::<4, K, BULK>(pattern, ext, closed, |_, _, _, _| {});
    }
}

/// Whether [`for_each_pattern`] does its last level in bulk on this CPU (x86-64 with AVX-512
/// F, BW and VBMI2, POPCNT and BMI1: every CPU with the first three has the last two, but a
/// virtual machine may hide any of them).
///
/// ```
/// // Either way the instances are the same; only how they arrive differs.
/// let _bulk: bool = ironforge::motif::esu::bulk_last_level_available();
/// ```
pub fn bulk_last_level_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vbmi2")
            && std::is_x86_feature_detected!("popcnt")
            && std::is_x86_feature_detected!("bmi1")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Patterns the bulk last level buffers before handing them over.
const BULK_CAP: usize = 1024;

/// The bulk last level: every extension of a subgraph one level short of `max_k` at once, 64
/// nodes at a time. Node `w`'s pattern byte (its edges to the subgraph's positions: `links[w]`,
/// plus the out/in bits of the unplaced position) sits in byte `w % 64` of a 64-byte vector;
/// a compress by the extension mask (AVX-512 VBMI2) packs the extensions' bytes to the front,
/// and they are widened to 32-bit class-table indices (the subgraph's pattern shifted above
/// the byte: [`table_index`]) sixteen at a time and stored whole. No branch
/// depends on how many extensions there are (up to 16; more take one predictable branch),
/// where the one-at-a-time loop (about four extensions a call on the real sessions)
/// mispredicted its exit at every call.
///
/// [`table_index`]: crate::motif::canon::table_index
struct LastLevel {
    /// Whether the bulk path runs: a pattern-only visitor on a CPU where
    /// [`bulk_last_level_available`].
    on: bool,
    /// Class-table indices of the buffered instances; `BULK_CAP + 64` slots: an append may
    /// write 64 past `len`.
    patterns: Vec<u32>,
    len: usize,
}

impl LastLevel {
    /// `patterns` is the buffer to use (any length, any contents).
    fn new(wanted: bool, mut patterns: Vec<u32>) -> Self {
        let on = wanted && bulk_last_level_available();
        if on {
            patterns.resize(BULK_CAP + 64, 0);
        }
        Self { on, patterns, len: 0 }
    }

    /// Appends the class-table index of `prefix | byte(w) << pattern_bits(SIZE)`, which is
    /// `prefix << 2·SIZE | byte(w)` ([`table_index`]), for every `w` in `ext`, where `byte(w)`
    /// is `links[w]` with bit 6 set when `w` is in `out` and bit 7 when in `inn`; true when the
    /// buffer should be handed over.
    ///
    /// [`table_index`]: crate::motif::canon::table_index
    #[inline(always)]
    fn append<const SIZE: usize>(&mut self, links: &[u8; 64], ext: u64, out: u64, inn: u64, prefix: u32) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let dst: &mut [u32; 64] = (&mut self.patterns[self.len..self.len + 64]).try_into().expect("64 free slots");
            let high = prefix << (2 * SIZE);
            // SAFETY: `on` (checked by the caller) is set only when the CPU has the features of
            // `roots_avx512`, the only caller of this inlined step.
            self.len += unsafe { append_avx512(links, ext, out, inn, high, dst) };
            self.len > BULK_CAP
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (links, ext, out, inn, prefix);
            unreachable!("the bulk last level is x86-64 only")
        }
    }
}

/// [`BitsetWalk::roots`] compiled for the bulk last level's instruction set, so that
/// [`append_avx512`] inlines into the walk.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2,popcnt,bmi1")]
fn roots_avx512<const W: usize, V: Visitor>(walk: &mut BitsetWalk<'_, W, V>) {
    walk.roots_of_size::<true>()
}

/// See [`LastLevel::append`]: writes `high | byte(w)` for the nodes of `ext` to `dst[..16]`,
/// or all of `dst` when `ext` has more than 16 nodes, and returns how many are valid.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn append_avx512(links: &[u8; 64], ext: u64, out: u64, inn: u64, high: u32, dst: &mut [u32; 64]) -> usize {
    use std::arch::x86_64::*;
    let count = ext.count_ones() as usize;
    // SAFETY: 64-byte unaligned loads and stores within `links` and `dst` (64 u32 = 4 chunks).
    unsafe {
        let bytes = with_links(_mm512_loadu_si512(links.as_ptr().cast()), out, inn, PLACED);
        let packed = _mm512_maskz_compress_epi8(ext, bytes);
        let high = _mm512_set1_epi32(high as i32);
        macro_rules! widen_store {
            ($chunk:literal) => {
                let b = _mm512_extracti32x4_epi32::<$chunk>(packed);
                let p = _mm512_or_si512(_mm512_cvtepu8_epi32(b), high);
                _mm512_storeu_si512(dst.as_mut_ptr().add(16 * $chunk).cast(), p);
            };
        }
        widen_store!(0);
        if count > 16 {
            widen_store!(1);
            widen_store!(2);
            widen_store!(3);
        }
    }
    count
}

/// [`BitsetWalk::place`] on the bulk path: the link bytes of all 64 · W nodes at once, from
/// `v`'s out- and in-neighbour masks (one masked byte broadcast per direction and word), with
/// no walk over `v`'s neighbour list. Inlined into [`roots_avx512`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn place_avx512<const W: usize>(links: &mut [u8], out: &[u64; W], inn: &[u64; W], position: usize) {
    use std::arch::x86_64::*;
    for (word, bytes) in links.chunks_exact_mut(64).take(W).enumerate() {
        // SAFETY: a 64-byte load and store within one 64-byte chunk of `links`.
        unsafe {
            let b = with_links(_mm512_loadu_si512(bytes.as_ptr().cast()), out[word], inn[word], position);
            _mm512_storeu_si512(bytes.as_mut_ptr().cast(), b);
        }
    }
}

/// Link bytes of 64 nodes (byte `w % 64` is node `w`'s) with the edges to a node at `position`
/// added: [`OUT`] in the position's bit pair for the nodes of `out` (position → node), [`IN`]
/// for those of `inn`. Used to place a node and, for the last placed position, in the bulk
/// last level.
///
/// # Safety
/// The CPU must have AVX-512 F and BW.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn with_links(
    bytes: std::arch::x86_64::__m512i,
    out: u64,
    inn: u64,
    position: usize,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let (to, from) = ((OUT << (2 * position)) as i8, (IN << (2 * position)) as i8);
    // SAFETY: AVX-512 F and BW are available (the caller's contract); register operations only.
    unsafe {
        let b = _mm512_or_si512(bytes, _mm512_maskz_set1_epi8(out, to));
        _mm512_or_si512(b, _mm512_maskz_set1_epi8(inn, from))
    }
}

/// [`BitsetWalk::unplace`] on the bulk path: clears `position`'s two bits in every link byte.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn unplace_avx512<const W: usize>(links: &mut [u8], position: usize) {
    use std::arch::x86_64::*;
    let keep = !(3u8 << (2 * position)) as i8;
    for bytes in links.chunks_exact_mut(64).take(W) {
        // SAFETY: a 64-byte load and store within one 64-byte chunk of `links`.
        unsafe {
            let b = _mm512_and_si512(_mm512_loadu_si512(bytes.as_ptr().cast()), _mm512_set1_epi8(keep));
            _mm512_storeu_si512(bytes.as_mut_ptr().cast(), b);
        }
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
