//! Canonical, isomorphism-invariant ids of small directed graphs (3–5 nodes).
//!
//! A k-node subgraph whose nodes sit at positions `0..k` is written as an *adjacency pattern*
//! of `k(k−1)` bits: the pair of positions `lo < hi` owns bits `hi(hi−1) + 2·lo` (edge
//! `lo → hi`) and `hi(hi−1) + 2·lo + 1` (edge `hi → lo`). The layout is *prefix-stable*: the
//! pattern of the first `s` positions is the low `s(s−1)` bits, so a growing subgraph extends
//! its pattern without re-encoding.
//!
//! The canonical pattern of a graph is the smallest pattern over all `k!` relabellings. For
//! each size a lookup table, built once and lazily ([`std::sync::OnceLock`]), maps every
//! pattern (`2^20` entries for k = 5, a `u16` class each) to its isomorphism class, so
//! classifying a subgraph is one read of a 2-byte entry. [`canonical_pattern_brute`] is the obvious twin (try every permutation).

use std::sync::OnceLock;

/// Smallest motif size.
pub const MIN_K: usize = 3;
/// Largest motif size.
pub const MAX_K: usize = 5;

/// Counters per class in the slices a [`ClassCounter`] fills (alternate patterns go
/// to alternate counters; a class's count is their sum): two halve the chain of dependent
/// increments; more add cache lines without shortening it further.
pub const COUNTERS_PER_CLASS: usize = 2;

/// Number of pattern bits of a `k`-node subgraph: `k(k−1)`.
///
/// ```
/// assert_eq!(ironforge::motif::canon::pattern_bits(5), 20);
/// ```
pub const fn pattern_bits(k: usize) -> usize {
    k * (k - 1)
}

/// Bit index of the directed pair `from → to` (positions, `from != to`).
///
/// ```
/// use ironforge::motif::canon::bit_index;
/// assert_eq!(bit_index(0, 1), 0);
/// assert_eq!(bit_index(1, 0), 1);
/// assert_eq!(bit_index(0, 2), 2);
/// ```
pub const fn bit_index(from: usize, to: usize) -> usize {
    if from < to {
        to * (to - 1) + 2 * from
    } else {
        from * (from - 1) + 2 * to + 1
    }
}

/// Pattern of the `k`-node graph with edges `(from, to)` given as positions `< k`.
pub fn pattern_of(edges: &[(usize, usize)]) -> u32 {
    edges.iter().filter(|(a, b)| a != b).fold(0u32, |p, &(a, b)| p | (1 << bit_index(a, b)))
}

/// Applies a relabelling: position `i` of `pattern` moves to position `perm[i]`.
pub fn permute_pattern(pattern: u32, perm: &[usize]) -> u32 {
    let k = perm.len();
    let mut out = 0u32;
    for a in 0..k {
        for b in 0..k {
            if a != b && pattern & (1 << bit_index(a, b)) != 0 {
                out |= 1 << bit_index(perm[a], perm[b]);
            }
        }
    }
    out
}

/// All permutations of `0..k` in lexicographic order.
pub fn permutations(k: usize) -> Vec<Vec<usize>> {
    fn rec(prefix: &mut Vec<usize>, used: &mut [bool], out: &mut Vec<Vec<usize>>) {
        if prefix.len() == used.len() {
            out.push(prefix.clone());
            return;
        }
        for i in 0..used.len() {
            if !used[i] {
                used[i] = true;
                prefix.push(i);
                rec(prefix, used, out);
                prefix.pop();
                used[i] = false;
            }
        }
    }
    let mut out = Vec::new();
    rec(&mut Vec::with_capacity(k), &mut vec![false; k], &mut out);
    out
}

/// Obvious canonical form: the smallest pattern over all `k!` relabellings.
///
/// ```
/// use ironforge::motif::canon::{canonical_pattern_brute, pattern_of};
/// // 0→1→2 and 2→0→1 are the same path.
/// assert_eq!(canonical_pattern_brute(pattern_of(&[(0, 1), (1, 2)]), 3),
///            canonical_pattern_brute(pattern_of(&[(2, 0), (0, 1)]), 3));
/// ```
pub fn canonical_pattern_brute(pattern: u32, k: usize) -> u32 {
    permutations(k).iter().map(|p| permute_pattern(pattern, p)).min().expect("k! >= 1")
}

/// Whether the `k`-node graph of `pattern` is weakly connected.
pub fn is_weakly_connected(pattern: u32, k: usize) -> bool {
    let mut seen = 1u32;
    let mut frontier = 1u32;
    while frontier != 0 {
        let a = frontier.trailing_zeros() as usize;
        frontier &= frontier - 1;
        for b in 0..k {
            let linked = a != b && pattern & ((1 << bit_index(a, b)) | (1 << bit_index(b, a))) != 0;
            if linked && seen & (1 << b) == 0 {
                seen |= 1 << b;
                frontier |= 1 << b;
            }
        }
    }
    seen == (1u32 << k) - 1
}

/// Whether the `k`-node graph of `pattern` has no directed cycle (positions with no incoming
/// edge from the remaining ones are removed until none is left, or none can be).
///
/// ```
/// use ironforge::motif::canon::{is_acyclic, pattern_of};
/// assert!(is_acyclic(pattern_of(&[(0, 1), (1, 2), (0, 2)]), 3));
/// assert!(!is_acyclic(pattern_of(&[(0, 1), (1, 2), (2, 0)]), 3));
/// ```
pub fn is_acyclic(pattern: u32, k: usize) -> bool {
    let mut left = (1u32 << k) - 1;
    while left != 0 {
        let source = (0..k).find(|&b| {
            left & (1 << b) != 0
                && (0..k).all(|a| a == b || left & (1 << a) == 0 || pattern & (1 << bit_index(a, b)) == 0)
        });
        match source {
            Some(b) => left &= !(1 << b),
            None => return false,
        }
    }
    true
}

/// Position of a `k`-node `pattern` in [`ClassTable`]'s class array ("last node minor"): the
/// last node's `2(k−1)` bits become the low bits and the first `k−1` nodes' pattern the high
/// bits. The census's bulk last level produces these indices directly
/// ([`crate::motif::esu::PatternSink::many_indexed`]); [`pattern_at`] is the inverse.
///
/// ```
/// use ironforge::motif::canon::{pattern_at, table_index};
/// // 4 nodes, 0 → 1 → 2 → 3: bit pairs (2,3) (1,3) (0,3) | (1,2) (0,2) (0,1)
/// let p = 0b01_00_00_01_00_01;
/// assert_eq!(table_index(p, 4), 0b01_00_01 << 6 | 0b01_00_00);
/// assert_eq!(pattern_at(table_index(p, 4), 4), p);
/// ```
#[inline(always)]
pub const fn table_index(pattern: u32, k: usize) -> u32 {
    let prefix_bits = pattern_bits(k - 1);
    ((pattern & ((1 << prefix_bits) - 1)) << (2 * (k - 1))) | (pattern >> prefix_bits)
}

/// The `k`-node pattern at class-table index `index`: the inverse of [`table_index`].
#[inline(always)]
pub const fn pattern_at(index: u32, k: usize) -> u32 {
    let last_bits = 2 * (k - 1);
    (index >> last_bits) | ((index & ((1 << last_bits) - 1)) << pattern_bits(k - 1))
}

/// Class counters bound to a [`ClassTable`] ([`ClassTable::counter`]):
/// [`COUNTERS_PER_CLASS`] (two) counters per class, `counts[2·class]` and
/// `counts[2·class + 1]`, a class's count their sum. Counting a pattern is one table read and
/// one increment, neither bounds-checked (the checks were four of the counting loop's twelve
/// instructions): the table's length is a power of two and the index is masked to it, every
/// entry is a class below `classes()`, and the counts' length was checked when they were bound.
///
/// ```
/// use ironforge::motif::canon::{table, COUNTERS_PER_CLASS};
/// let t = table(3);
/// let mut counts = vec![0u64; COUNTERS_PER_CLASS * t.classes()];
/// let chain = 0b01_00_01; // 0 → 1 and 1 → 2: the bit pairs of (1,2), (0,2), (0,1)
/// t.counter(&mut counts).add_all(3, &[chain, chain, chain]);
/// let class = t.class_of(chain);
/// assert_eq!(counts[2 * class] + counts[2 * class + 1], 3);
/// ```
pub struct ClassCounter<'a> {
    class: &'a [u16],
    /// `class.len() − 1`.
    index_mask: usize,
    counts: &'a mut [u64],
}

impl ClassCounter<'_> {
    /// Adds one `k`-node pattern (`k` the table's size, a constant where this is inlined: the
    /// index then folds to a few shifts; another `k` counts wrong classes, never out of
    /// bounds) to counter `counter` (taken modulo [`COUNTERS_PER_CLASS`]) of its class.
    #[inline(always)]
    pub fn add(&mut self, k: usize, pattern: u32, counter: usize) {
        self.add_indexed(table_index(pattern, k), counter);
    }

    /// [`Self::add`] of the pattern at class-table index `index` ([`table_index`]).
    #[inline(always)]
    pub fn add_indexed(&mut self, index: u32, counter: usize) {
        const C: usize = COUNTERS_PER_CLASS;
        // SAFETY: the index is masked to the table's length; every entry is a class below
        // `classes()`, so `C · class + counter % C` is below `counts.len()` (checked when
        // bound, `ClassTable::counter`).
        unsafe {
            let c = *self.class.get_unchecked(index as usize & self.index_mask) as usize;
            *self.counts.get_unchecked_mut(C * c + counter % C) += 1;
        }
    }

    /// Adds every pattern, alternate patterns to alternate counters. Consecutive patterns are
    /// usually extensions of one subgraph, often of one class: with one counter, each increment
    /// waited for the previous one's store; alternating halves that chain. Patterns are read in
    /// order (one 512-byte row of the table for most runs): taking them from quarters of the
    /// slice in turn helps a warm table alone but costs the pipeline, where the table is cold.
    #[inline(always)]
    pub fn add_all(&mut self, k: usize, patterns: &[u32]) {
        self.add_each(patterns, |p| table_index(p, k));
    }

    /// [`Self::add_all`] of patterns given by their class-table indices ([`table_index`]).
    #[inline(always)]
    pub fn add_all_indexed(&mut self, indices: &[u32]) {
        self.add_each(indices, |i| i);
    }

    #[inline(always)]
    fn add_each(&mut self, items: &[u32], index: impl Fn(u32) -> u32) {
        let mut runs = items.chunks_exact(COUNTERS_PER_CLASS);
        for run in &mut runs {
            for (counter, &item) in run.iter().enumerate() {
                self.add_indexed(index(item), counter);
            }
        }
        for &item in runs.remainder() {
            self.add_indexed(index(item), 0);
        }
    }
}

/// Lookup table of one size: every pattern → (class, permutation to the canonical form).
#[derive(Debug)]
pub struct ClassTable {
    k: usize,
    /// Class per pattern (2 bytes an entry: 2 MiB for k = 5), stored in [`table_index`]
    /// order: the ESU walk grows a subgraph one node at a time, so the instances counted one
    /// after another share their first `k−1` nodes, and their entries then sit in one
    /// 512-byte row instead of 8 KiB apart (pattern order). In the pipeline, where the other
    /// stages evict the table between sessions, this halves the cache lines a census touches.
    class: Vec<u16>,
    /// Index (into `perms`) of a permutation that maps each pattern to its class's canonical form.
    to_canonical: Vec<u8>,
    /// Canonical pattern of each class, ascending (class index = rank).
    canonical: Vec<u32>,
    /// Whether each class is weakly connected.
    connected: Vec<bool>,
    /// The classes that are weakly connected and acyclic, ascending: all a census of an acyclic
    /// graph can meet (4, 24 and 267 of the 16, 218 and 9,608 classes for k = 3, 4, 5).
    acyclic_connected: Vec<u16>,
    /// Automorphisms (permutation indices) of each class's canonical pattern.
    automorphisms: Vec<Vec<u8>>,
    /// All permutations of `0..k`, lexicographic.
    perms: Vec<Vec<usize>>,
}

impl ClassTable {
    /// Builds the table of size `k` by walking patterns in ascending order: the first pattern
    /// met of an orbit is its minimum, and all `k!` images of it are filled in at once, so the
    /// work is (number of classes) × k! relabellings, not 2^(k(k−1)) × k!.
    fn build(k: usize) -> Self {
        let perms = permutations(k);
        let inverse: Vec<usize> = perms
            .iter()
            .map(|p| {
                let mut inv = vec![0; k];
                for (i, &pi) in p.iter().enumerate() {
                    inv[pi] = i;
                }
                perms.iter().position(|q| *q == inv).expect("inverse is a permutation")
            })
            .collect();
        let size = 1usize << pattern_bits(k);
        let mut class_of = vec![u16::MAX; size];
        let mut to_canonical = vec![0u8; size];
        let (mut canonical, mut connected, mut automorphisms) = (Vec::new(), Vec::new(), Vec::new());
        for p in 0..size as u32 {
            if class_of[p as usize] != u16::MAX {
                continue;
            }
            let class = u16::try_from(canonical.len()).expect("fewer than 65,535 classes for k <= 5");
            let mut autos = Vec::new();
            for (t, perm) in perms.iter().enumerate() {
                let q = permute_pattern(p, perm);
                if q == p {
                    autos.push(t as u8);
                }
                if class_of[q as usize] == u16::MAX {
                    // perm maps p to q, so its inverse maps q back to the canonical p.
                    class_of[q as usize] = class;
                    to_canonical[q as usize] = inverse[t] as u8;
                }
            }
            canonical.push(p);
            connected.push(is_weakly_connected(p, k));
            automorphisms.push(autos);
        }
        let mut class = vec![0u16; size];
        for (p, &c) in class_of.iter().enumerate() {
            class[table_index(p as u32, k) as usize] = c;
        }
        let acyclic_connected =
            (0..canonical.len()).filter(|&c| connected[c] && is_acyclic(canonical[c], k)).map(|c| c as u16).collect();
        Self { k, class, to_canonical, canonical, connected, acyclic_connected, automorphisms, perms }
    }

    /// Motif size of this table.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of isomorphism classes (connected or not).
    pub fn classes(&self) -> usize {
        self.canonical.len()
    }

    /// Number of weakly connected classes.
    pub fn connected_classes(&self) -> usize {
        self.connected.iter().filter(|&&c| c).count()
    }

    /// The weakly connected, acyclic classes, ascending: the only classes an ESU census of an
    /// acyclic graph can count (an induced subgraph of a DAG is a DAG).
    pub fn acyclic_connected_classes(&self) -> &[u16] {
        &self.acyclic_connected
    }

    /// Class index of a pattern (one table read).
    #[inline]
    pub fn class_of(&self, pattern: u32) -> usize {
        self.class_of_size(pattern, self.k)
    }

    /// [`Self::class_of`] with the size given (a constant in the census's inner loop, so the
    /// table index folds to a few shifts). `k` must be this table's size.
    #[inline(always)]
    pub fn class_of_size(&self, pattern: u32, k: usize) -> usize {
        debug_assert_eq!(k, self.k);
        self.class[table_index(pattern, k) as usize] as usize
    }

    /// `counts` bound to this table for counting ([`ClassCounter`]); the slice's length is
    /// checked here, once, not at every instance.
    ///
    /// # Panics
    /// When `counts` has fewer than `COUNTERS_PER_CLASS · classes()` slots.
    pub fn counter<'a>(&'a self, counts: &'a mut [u64]) -> ClassCounter<'a> {
        let classes = self.classes();
        assert!(counts.len() >= COUNTERS_PER_CLASS * classes, "{} counters for {classes} classes", counts.len());
        assert!(self.class.len().is_power_of_two(), "class tables hold 2^pattern_bits(k) entries");
        ClassCounter { class: &self.class, index_mask: self.class.len() - 1, counts }
    }

    /// Canonical pattern of a class.
    pub fn canonical(&self, class: usize) -> u32 {
        self.canonical[class]
    }

    /// Class index of a canonical pattern, if it is one.
    pub fn class_of_canonical(&self, canonical: u32) -> Option<usize> {
        self.canonical.binary_search(&canonical).ok()
    }

    /// Whether a class is weakly connected.
    pub fn is_connected(&self, class: usize) -> bool {
        self.connected[class]
    }

    /// Canonical node labels of a labelled subgraph: `labels[i]` (2 bits each, < 4) is the label
    /// of position `i`; the result is the smallest label word, read in canonical positions,
    /// over all relabellings that reach the canonical pattern.
    pub fn canonical_labels(&self, pattern: u32, labels: &[u8]) -> u16 {
        let to_canon = &self.perms[self.to_canonical[pattern as usize] as usize];
        let class = self.class_of(pattern);
        let mut in_canon = [0u8; MAX_K];
        for (i, &l) in labels.iter().enumerate().take(self.k) {
            in_canon[to_canon[i]] = l;
        }
        let mut best = u16::MAX;
        for &a in &self.automorphisms[class] {
            let alpha = &self.perms[a as usize];
            let mut word = [0u8; MAX_K];
            for (&to, &label) in alpha.iter().zip(&in_canon[..self.k]) {
                word[to] = label;
            }
            let packed = word[..self.k].iter().fold(0u16, |w, &l| w << 2 | (l & 3) as u16);
            best = best.min(packed);
        }
        best
    }
}

/// The lookup table of size `k` (3, 4 or 5), built on first use.
///
/// ```
/// use ironforge::motif::canon::table;
/// assert_eq!(table(3).connected_classes(), 13);
/// assert_eq!(table(4).connected_classes(), 199);
/// ```
pub fn table(k: usize) -> &'static ClassTable {
    static TABLES: [OnceLock<ClassTable>; MAX_K + 1] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    assert!((MIN_K..=MAX_K).contains(&k), "motif size {k} outside {MIN_K}..={MAX_K}");
    TABLES[k].get_or_init(|| ClassTable::build(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_counts_match_known_numbers_of_directed_graphs() {
        // OEIS A000273 (directed graphs on k nodes) and A003085 (weakly connected ones).
        assert_eq!((table(3).classes(), table(3).connected_classes()), (16, 13));
        assert_eq!((table(4).classes(), table(4).connected_classes()), (218, 199));
    }

    /// `is_acyclic` against its definition: some relabelling puts every edge from a lower to
    /// a higher position (only the even bits of the pattern set).
    #[test]
    fn acyclic_means_some_order_makes_every_edge_ascend() {
        const ASCENDING: u32 = 0x5555_5555;
        for k in 3..=4 {
            let perms = permutations(k);
            for p in 0..1u32 << pattern_bits(k) {
                let ordered = perms.iter().any(|perm| permute_pattern(p, perm) & !ASCENDING == 0);
                assert_eq!(is_acyclic(p, k), ordered, "k = {k}, pattern {p:#x}");
            }
        }
    }

    #[test]
    fn table_agrees_with_brute_force_on_every_4_node_pattern() {
        let t = table(4);
        for p in 0..1u32 << 12 {
            assert_eq!(t.canonical(t.class_of(p)), canonical_pattern_brute(p, 4), "pattern {p:#x}");
        }
    }

    #[test]
    fn bit_layout_is_a_bijection() {
        let mut seen = vec![false; pattern_bits(5)];
        for a in 0..5 {
            for b in 0..5 {
                if a != b {
                    assert!(!seen[bit_index(a, b)]);
                    seen[bit_index(a, b)] = true;
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn canonical_labels_are_invariant_under_relabelling() {
        let t = table(3);
        // Path 0→1→2 with labels [1, 2, 3] vs the same path written 2→0→1 with labels moved along.
        let a = t.canonical_labels(pattern_of(&[(0, 1), (1, 2)]), &[1, 2, 3]);
        let b = t.canonical_labels(pattern_of(&[(2, 0), (0, 1)]), &[2, 3, 1]);
        assert_eq!(a, b);
        let c = t.canonical_labels(pattern_of(&[(0, 1), (1, 2)]), &[3, 2, 1]);
        assert_ne!(a, c);
    }
}
