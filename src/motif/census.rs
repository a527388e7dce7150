//! Motif census: counts of classified subgraph instances per motif.
//!
//! The unlabelled census ([`census()`], [`CensusCounter`]) counts each instance into a dense
//! slot per isomorphism class (one `u16` table read, one increment, nothing else) and reads the
//! counts out by one scan that skips blocks of 32 zero counts after a single OR each.
//! [`census()`] reuses one counter per thread, so a census allocates only its result.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::canon::{table, ClassCounter, COUNTERS_PER_CLASS, MAX_K, MIN_K};
use super::error::MotifError;
use super::esu::{for_each_pattern_with, for_each_subgraph, CensusIsa, PatternSink};
use super::graph::MotifGraph;

/// A motif: size, canonical adjacency pattern and, when labelled, the canonical label word
/// (2 bits per node, in canonical positions). Isomorphic subgraphs get the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MotifId {
    /// Number of nodes (3–5).
    pub size: u8,
    /// Canonical pattern (see [`super::canon`]).
    pub pattern: u32,
    /// Canonical labels, when the census was labelled by event kind.
    pub labels: Option<u16>,
}

impl fmt::Display for MotifId {
    /// `m<size>-<pattern hex>`, plus `-L<labels>` (one digit per node) when labelled.
    ///
    /// ```
    /// use ironforge::motif::MotifId;
    /// assert_eq!(MotifId { size: 3, pattern: 0x0d, labels: None }.to_string(), "m3-0d");
    /// assert_eq!(MotifId { size: 3, pattern: 0x0d, labels: Some(0b00_01_11) }.to_string(), "m3-0d-L013");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = (self.size as usize * (self.size as usize - 1)).div_ceil(4);
        write!(f, "m{}-{:0width$x}", self.size, self.pattern)?;
        if let Some(l) = self.labels {
            write!(f, "-L")?;
            for i in (0..self.size).rev() {
                write!(f, "{}", (l >> (2 * i)) & 3)?;
            }
        }
        Ok(())
    }
}

impl Serialize for MotifId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Instance counts per motif (only motifs seen), ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// `(id, count)`, ascending by id, each id once, counts > 0 (a census is built once and
    /// read many times; a sorted vector costs one allocation, a map one per node).
    counts: Vec<(MotifId, u64)>,
}

impl Census {
    /// Counts from explicit `(id, count)` pairs (zero counts dropped, repeats added).
    pub fn from_counts(pairs: impl IntoIterator<Item = (MotifId, u64)>) -> Self {
        let mut merged: BTreeMap<MotifId, u64> = BTreeMap::new();
        for (id, n) in pairs {
            if n > 0 {
                *merged.entry(id).or_insert(0) += n;
            }
        }
        Self { counts: merged.into_iter().collect() }
    }

    /// Count of one motif (0 when unseen).
    pub fn count(&self, id: &MotifId) -> u64 {
        self.counts.binary_search_by_key(id, |&(k, _)| k).map_or(0, |i| self.counts[i].1)
    }

    /// `(id, count)` of every motif seen, ascending by id.
    pub fn iter(&self) -> impl Iterator<Item = (MotifId, u64)> + '_ {
        self.counts.iter().copied()
    }

    /// Number of distinct motifs seen.
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// Total instances of motifs of `size` nodes.
    pub fn instances_of_size(&self, size: usize) -> u64 {
        self.counts.iter().filter(|(id, _)| id.size as usize == size).map(|(_, n)| n).sum()
    }

    /// Total instances of all sizes.
    pub fn instances(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Adds another census into this one.
    pub fn add(&mut self, other: &Census) {
        *self = Self::from_counts(self.iter().chain(other.iter()));
    }
}

/// Census of a graph's weakly connected induced subgraphs of `3..=max_k` nodes, classified
/// by the lookup tables (the fast path; [`super::brute::census_brute`] is its twin).
///
/// ```
/// use ironforge::motif::{census, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3), (0, 2)])?;
/// let c = census(&g, 5);
/// assert_eq!(c.instances_of_size(3), 3); // {0,1,2}, {0,2,3}, {1,2,3}
/// assert_eq!(c.instances_of_size(4), 1);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
///
/// # Panics
/// When `max_k` is outside `3..=5` (a caller's bug: [`super::analyse`] checks its
/// configuration with [`super::null::NullParams::validate`] first, and `ironforge motifs`
/// takes `--max-k` in 3..=5 only).
pub fn census(graph: &MotifGraph, max_k: usize) -> Census {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    census_on(graph, max_k, CensusIsa::detect())
}

/// [`census()`] on the walk's path `isa` ([`CensusIsa`]: AVX-512 VBMI2, AVX2 or scalar), for
/// tests and benchmarks that compare the paths on one machine; every path gives the same
/// census.
///
/// ```
/// use ironforge::motif::{census, census::census_with, esu::CensusIsa, MotifGraph};
/// let g = MotifGraph::new(5, &[(0, 1), (1, 2), (2, 3), (0, 2), (3, 4)])?;
/// for isa in CensusIsa::available() {
///     assert_eq!(census_with(&g, 5, isa)?, census(&g, 5), "{}", isa.name());
/// }
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
///
/// # Errors
/// [`MotifError::Parameter`] (`isa`) when this CPU cannot run `isa`.
///
/// # Panics
/// When `max_k` is outside `3..=5`, as [`census()`].
pub fn census_with(graph: &MotifGraph, max_k: usize, isa: CensusIsa) -> Result<Census, MotifError> {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    isa.check()?;
    Ok(census_on(graph, max_k, isa))
}

/// [`census()`] on `isa`, which this CPU has.
fn census_on(graph: &MotifGraph, max_k: usize, isa: CensusIsa) -> Census {
    thread_local! {
        /// One reusable counter per `max_k` (index `max_k - MIN_K`), emptied by every `finish`.
        static COUNTERS: [RefCell<Option<CensusCounter>>; MAX_K - MIN_K + 1] = Default::default();
    }
    let run = |counter: &mut CensusCounter| {
        counter.count_on(graph, isa);
        counter.finish()
    };
    COUNTERS.with(|counters| match counters[max_k - MIN_K].try_borrow_mut() {
        Ok(mut slot) => run(slot.get_or_insert_with(|| CensusCounter::new(max_k))),
        // Only reachable re-entrantly (a census inside a census on one thread): use a fresh one.
        Err(_) => run(&mut CensusCounter::new(max_k)),
    })
}

/// Census labelled by node labels (`labels[v] < 4`, e.g. [`crate::session::EventKind::code`]):
/// isomorphisms must also preserve labels.
pub fn census_labelled(graph: &MotifGraph, labels: &[u8], max_k: usize) -> Result<Census, MotifError> {
    if labels.len() != graph.len() {
        return Err(MotifError::LabelCount { labels: labels.len(), nodes: graph.len() });
    }
    let tables: Vec<_> = (MIN_K..=max_k).map(table).collect();
    let mut counts: BTreeMap<MotifId, u64> = BTreeMap::new();
    let mut local = [0u8; MAX_K];
    for_each_subgraph(graph, max_k, |size, pattern, nodes| {
        for (slot, &v) in local.iter_mut().zip(nodes) {
            *slot = labels[v as usize] & 3;
        }
        let t = tables[size - MIN_K];
        let id = MotifId {
            size: size as u8,
            pattern: t.canonical(t.class_of(pattern)),
            labels: Some(t.canonical_labels(pattern, &local[..size])),
        };
        *counts.entry(id).or_insert(0) += 1;
    });
    Ok(Census { counts: counts.into_iter().collect() })
}

/// Reusable dense counters for unlabelled censuses (one slot per isomorphism class), so
/// repeated censuses (null model) allocate nothing per graph but their results.
///
/// ```
/// use ironforge::motif::{census, CensusCounter, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut counter = CensusCounter::new(5);
/// counter.count(&g);
/// assert_eq!(counter.instances(), 3);
/// assert_eq!(counter.finish(), census(&g, 5));
/// assert_eq!(counter.instances(), 0); // finish empties it
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CensusCounter {
    max_k: usize,
    /// Counts per class, one vector per size `3..=max_k` (index = size − 3),
    /// [`COUNTERS_PER_CLASS`] counters per class ([`ClassCounter`]).
    dense: [Vec<u64>; 3],
    /// Every graph counted since the last [`Self::finish`] was acyclic.
    only_acyclic: bool,
    /// [`Self::finish`]'s list, kept between calls so that a census costs one allocation of
    /// its exact size.
    listed: Vec<(MotifId, u64)>,
}

/// Counts patterns into [`CensusCounter`]'s dense slots, one [`ClassCounter`] per size up to
/// `max_k` (index = size − 3; `size` is a constant at each call, so the table index folds to a
/// few shifts).
struct DenseSink<'a> {
    counters: [Option<ClassCounter<'a>>; 3],
}

impl<'a> DenseSink<'a> {
    #[inline(always)]
    fn counter(&mut self, size: usize) -> &mut ClassCounter<'a> {
        self.counters[size - MIN_K].as_mut().expect("the walk visits no size above max_k")
    }
}

impl PatternSink for DenseSink<'_> {
    #[inline(always)]
    fn one(&mut self, size: usize, pattern: u32) {
        self.counter(size).add(size, pattern, 0);
    }

    fn many(&mut self, size: usize, patterns: &[u32]) {
        match size {
            3 => self.counter(3).add_all(3, patterns),
            4 => self.counter(4).add_all(4, patterns),
            _ => self.counter(5).add_all(5, patterns),
        }
    }

    fn many_indexed(&mut self, size: usize, indices: &[u32]) {
        self.counter(size).add_all_indexed(indices);
    }
}

/// Classes per block of [`CensusCounter::for_each_counted`]'s scan: a block of zero counts is skipped
/// after one OR over it.
const SCAN_BLOCK: usize = 32;

impl CensusCounter {
    /// Counters for motifs of `3..=max_k` nodes.
    pub fn new(max_k: usize) -> Self {
        assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
        let slots =
            |k: usize| if k <= max_k { vec![0u64; COUNTERS_PER_CLASS * table(k).classes()] } else { Vec::new() };
        Self { max_k, dense: [slots(3), slots(4), slots(5)], only_acyclic: true, listed: Vec::new() }
    }

    /// Adds the census of `graph` to the counters: one table read and one increment per
    /// instance, nothing else (remembering which classes were hit, by a branch or a bitmap
    /// store per instance, cost more than scanning the counts once at the end).
    pub fn count(&mut self, graph: &MotifGraph) {
        self.count_on(graph, CensusIsa::detect());
    }

    /// [`Self::count`] on the walk's path `isa` (see [`census_with`]).
    ///
    /// ```
    /// use ironforge::motif::{census, esu::CensusIsa, CensusCounter, MotifGraph};
    /// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
    /// let mut counter = CensusCounter::new(5);
    /// counter.count_with(&g, CensusIsa::Scalar)?;
    /// assert_eq!(counter.finish(), census(&g, 5));
    /// # Ok::<(), ironforge::motif::MotifError>(())
    /// ```
    ///
    /// # Errors
    /// [`MotifError::Parameter`] (`isa`) when this CPU cannot run `isa`; nothing is counted.
    pub fn count_with(&mut self, graph: &MotifGraph, isa: CensusIsa) -> Result<(), MotifError> {
        isa.check()?;
        self.count_on(graph, isa);
        Ok(())
    }

    /// [`Self::count`] on `isa`, which this CPU has.
    fn count_on(&mut self, graph: &MotifGraph, isa: CensusIsa) {
        self.only_acyclic &= graph.is_acyclic();
        let max_k = self.max_k;
        let mut sizes = (MIN_K..).zip(&mut self.dense);
        let counters = std::array::from_fn(|_| {
            let (k, counts) = sizes.next().expect("three sizes");
            (k <= max_k).then(|| table(k).counter(counts))
        });
        for_each_pattern_with(graph, max_k, isa, &mut DenseSink { counters }).expect("`isa` is available");
    }

    /// Calls `f(size − 3, class, count)` for every class with a non-zero count, ascending, and
    /// zeroes its counters (plain loops: an iterator chain here cost more than the scan
    /// itself). When every graph counted was acyclic, only the acyclic connected classes are
    /// read (267 of 9,608 for k = 5); otherwise all, skipping blocks of zeros.
    fn for_each_counted(&mut self, mut f: impl FnMut(usize, usize, u64)) {
        const C: usize = COUNTERS_PER_CLASS;
        /// A class's counters summed and zeroed.
        fn take(counters: &mut [u64]) -> u64 {
            let n = counters.iter().sum();
            counters.fill(0);
            n
        }
        if self.only_acyclic {
            for (i, counts) in self.dense.iter_mut().enumerate().filter(|(_, c)| !c.is_empty()) {
                for &class in table(MIN_K + i).acyclic_connected_classes() {
                    let n = take(&mut counts[C * class as usize..][..C]);
                    if n != 0 {
                        f(i, class as usize, n);
                    }
                }
            }
            return;
        }
        for (i, counts) in self.dense.iter_mut().enumerate() {
            for (b, block) in counts.chunks_mut(C * SCAN_BLOCK).enumerate() {
                if block.iter().fold(0, |any, &n| any | n) == 0 {
                    continue;
                }
                for (c, counters) in block.chunks_exact_mut(C).enumerate() {
                    let n = take(counters);
                    if n != 0 {
                        f(i, b * SCAN_BLOCK + c, n);
                    }
                }
            }
        }
    }

    /// Classified instances counted so far.
    pub fn instances(&self) -> u64 {
        self.dense.iter().flatten().sum()
    }

    /// Moves the counts out as a [`Census`] and zeroes the counters.
    pub fn finish(&mut self) -> Census {
        // Class index = rank of the canonical pattern, so (size, class) order is MotifId order.
        let mut listed = std::mem::take(&mut self.listed);
        self.for_each_counted(|i, class, n| {
            let k = MIN_K + i;
            listed.push((MotifId { size: k as u8, pattern: table(k).canonical(class), labels: None }, n));
        });
        self.only_acyclic = true;
        let counts = listed.clone();
        listed.clear();
        self.listed = listed;
        Census { counts }
    }
}
