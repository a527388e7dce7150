//! The bitset walk (see [`super`]): node sets as bit masks, its per-thread buffers and the
//! bulk last level's buffer. The per-instruction-set files (`avx2.rs`, `avx512.rs`) add the
//! bulk paths to [`BitsetWalk`] and [`LastLevel`].

use super::super::canon::{pattern_bits, MAX_K, MIN_K};
use super::super::graph::{MotifGraph, IN, OUT};
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};
use super::{CensusIsa, Visitor, AVX2, AVX512, SCALAR};

/// A node set as `W` words of 64 bits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Bits<const W: usize>(pub(super) [u64; W]);

impl<const W: usize> Bits<W> {
    const EMPTY: Self = Self([0; W]);

    #[inline(always)]
    pub(super) fn single(v: u32) -> Self {
        let mut b = Self::EMPTY;
        b.0[v as usize / 64] = 1 << (v % 64);
        b
    }

    /// Nodes strictly above `v`.
    #[inline(always)]
    pub(super) fn above(v: u32) -> Self {
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
    pub(super) fn contains(&self, v: u32) -> bool {
        self.0[v as usize / 64] >> (v % 64) & 1 != 0
    }

    #[inline(always)]
    pub(super) fn or(self, other: Self) -> Self {
        let mut b = self;
        for (x, y) in b.0.iter_mut().zip(other.0) {
            *x |= y;
        }
        b
    }

    /// `self & other & !not`.
    #[inline(always)]
    pub(super) fn and_and_not(self, other: Self, not: Self) -> Self {
        let mut b = self;
        for ((x, y), z) in b.0.iter_mut().zip(other.0).zip(not.0) {
            *x = *x & y & !z;
        }
        b
    }

    /// Removes and returns the smallest node, if any.
    #[inline(always)]
    pub(super) fn pop_lowest(&mut self) -> Option<u32> {
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
pub(super) struct WalkBuffers<const W: usize> {
    pub(super) adj: Vec<Bits<W>>,
    pub(super) out: Vec<Bits<W>>,
    pub(super) inn: Vec<Bits<W>>,
    pub(super) links: Vec<u8>,
    pub(super) edges: Vec<u8>,
    pub(super) patterns: Vec<u32>,
}

thread_local! {
    /// [`WalkBuffers`] of the word counts walked on this thread.
    static WALK_BUFFERS: std::cell::RefCell<Vec<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<const W: usize> WalkBuffers<W> {
    /// This thread's buffers for `W` words, or fresh ones when a walk further up the stack (a
    /// visitor that walks again) holds them.
    pub(super) fn take() -> Box<Self> {
        let kept = WALK_BUFFERS.with(|pool| {
            let mut pool = pool.borrow_mut();
            let at = pool.iter().position(|b| b.is::<Self>())?;
            pool.swap_remove(at).downcast::<Self>().ok()
        });
        kept.unwrap_or_default()
    }

    /// Returns the buffers to this thread for the next walk.
    pub(super) fn keep(self: Box<Self>) {
        WALK_BUFFERS.with(|pool| pool.borrow_mut().push(self));
    }
}

/// ESU over bit masks (see the module docs).
pub(super) struct BitsetWalk<'g, const W: usize, V> {
    pub(super) graph: &'g MotifGraph,
    /// Undirected neighbours per node.
    pub(super) adj: Vec<Bits<W>>,
    /// Out-neighbours per node.
    pub(super) out: Vec<Bits<W>>,
    /// In-neighbours per node.
    pub(super) inn: Vec<Bits<W>>,
    /// Per node, its edges to the subgraph's nodes at positions `0..3` (2 bits per position:
    /// [`OUT`] = position → node, [`IN`] = node → position): the pattern bits the node adds
    /// when it joins the subgraph, kept up to date as nodes are placed and removed (on a bulk
    /// path all 64 · W bytes at once: [`avx512::place`] from the placed node's masks,
    /// [`avx2::place`] from its row of [`Self::edges`]; otherwise by a walk over its neighbour
    /// list). Position 3 is not placed: the last level reads its bits from its masks or its
    /// edge bytes (a few vector operations per 64 nodes in bulk, two bit tests per instance
    /// otherwise), which cost less than the ~2,000 neighbour walks per session that placing it
    /// took.
    pub(super) links: Vec<u8>,
    /// On the AVX2 path only (empty otherwise): per node `v`, 64 · W *edge bytes*, byte `u` =
    /// `v`'s edge bits to `u` ([`OUT`] = v → u, [`IN`] = u → v), so `v`'s contribution to
    /// every link byte at position `p` is its row shifted left by `2p`.
    pub(super) edges: Vec<u8>,
    pub(super) max_k: usize,
    /// Nodes strictly above the root of the current ESU tree.
    pub(super) above_root: Bits<W>,
    pub(super) nodes: [u32; MAX_K],
    pub(super) visit: V,
    /// The last level's patterns, when they go in bulk ([`LastLevel`]).
    pub(super) bulk: LastLevel,
}

impl<'g, const W: usize, V: Visitor> BitsetWalk<'g, W, V> {
    /// The walk on the path `isa` (available on this CPU), which must be
    /// [`CensusIsa::Scalar`] unless `V` wants only patterns.
    pub(super) fn run(graph: &'g MotifGraph, max_k: usize, visit: V, isa: CensusIsa) {
        let (mut walk, kept) = Self::new(graph, max_k, visit, isa);
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
        walk.finish(max_k, kept);
    }

    /// The walk on the scalar path alone (the vector paths are not compiled for `V`).
    pub(super) fn run_scalar(graph: &'g MotifGraph, max_k: usize, visit: V) {
        let (mut walk, kept) = Self::new(graph, max_k, visit, CensusIsa::Scalar);
        walk.roots_of_size::<SCALAR>();
        walk.finish(max_k, kept);
    }

    /// A walk of `graph` in the thread's kept buffers, filled with its neighbourhoods, and the
    /// emptied box that carries the buffers back ([`Self::finish`]) without an allocation.
    fn new(graph: &'g MotifGraph, max_k: usize, visit: V, isa: CensusIsa) -> (Self, Box<WalkBuffers<W>>) {
        let n = graph.len();
        debug_assert!(n <= W * 64);
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
        let walk =
            Self { graph, adj, out, inn, links, edges, max_k, above_root: Bits::EMPTY, nodes: [0; MAX_K], visit, bulk };
        (walk, kept)
    }

    /// Hands over what the bulk buffer still holds and gives the buffers back to the thread.
    fn finish(mut self, max_k: usize, mut kept: Box<WalkBuffers<W>>) {
        if self.bulk.len > 0 {
            self.hand_over(max_k);
        }
        let Self { adj, out, inn, links, edges, bulk, .. } = self;
        *kept = WalkBuffers { adj, out, inn, links, edges, patterns: bulk.patterns };
        kept.keep();
    }

    /// Hands the buffered last-level instances (of `size` nodes, as class-table indices) to the
    /// visitor and empties the buffer.
    pub(super) fn hand_over(&mut self, size: usize) {
        self.visit.many_indexed(size, &self.bulk.patterns[..self.bulk.len]);
        self.bulk.len = 0;
    }

    /// [`Self::roots`] with `max_k` as the constant `K`.
    #[inline(always)]
    pub(super) fn roots_of_size<const PATH: u8>(&mut self) {
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
    pub(super) fn roots<const K: usize, const PATH: u8>(&mut self) {
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
    pub(super) fn place<const PATH: u8>(&mut self, v: u32, position: usize) {
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
    pub(super) fn unplace<const PATH: u8>(&mut self, v: u32, position: usize) {
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
    pub(super) fn level<const SIZE: usize, const K: usize, const PATH: u8>(
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
    pub(super) fn last_level_bulk<const SIZE: usize, const PATH: u8>(
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
    pub(super) fn level1<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<1, K, PATH>(pattern, ext, closed, Self::level2::<K, PATH>);
    }

    #[inline(always)]
    pub(super) fn level2<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<2, K, PATH>(pattern, ext, closed, Self::level3::<K, PATH>);
    }

    #[inline(always)]
    pub(super) fn level3<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<3, K, PATH>(pattern, ext, closed, Self::level4::<K, PATH>);
    }

    #[inline(always)]
    pub(super) fn level4<const K: usize, const PATH: u8>(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        // Size 5 = MAX_K is the last level: nothing deeper.
        self.level::<4, K, PATH>(pattern, ext, closed, |_, _, _, _| {});
    }
}

/// Patterns the bulk last level buffers before handing them over.
pub(super) const BULK_CAP: usize = 1024;

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
pub(super) struct LastLevel {
    /// The walk's path: a bulk one only for a pattern-only visitor.
    pub(super) isa: CensusIsa,
    /// Class-table indices of the buffered instances; `BULK_CAP + 64` slots: an append may
    /// write 64 past `len`.
    pub(super) patterns: Vec<u32>,
    pub(super) len: usize,
}

impl LastLevel {
    /// `patterns` is the buffer to use (any length, any contents); the path is `isa` (available
    /// on this CPU) when the visitor `wants` bulk, else scalar.
    pub(super) fn new(wants: bool, mut patterns: Vec<u32>, isa: CensusIsa) -> Self {
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
pub(super) const PLACED: usize = MAX_K - 2;

/// One level of the bitset walk (see `BitsetWalk::level`).
pub(super) type Level<'g, const W: usize, V> = fn(&mut BitsetWalk<'g, W, V>, u32, Bits<W>, Bits<W>);
