//! A bounded, content-keyed cache of time-bias matrices.
//!
//! The key is the full content of the timestamps plus the [`TimeBias`] setting. Lookup hashes
//! the key, then compares the stored key in full, so two different keys that share a hash are
//! never confused (no false hits). The cache is bounded in bytes (matrix + stored key) and
//! evicts the least recently used entry first. Hits, misses and evictions are counted.
//! A cached matrix is the very matrix [`TimeBias::matrix`] computed, so cached and uncached
//! results are bit-identical.
//!
//! Only sessions of at most [`DENSE_BIAS_MAX_EVENTS`] events reach the cache:
//! [`crate::attention::Model::embed`] gives longer sessions a row-wise time bias and neither
//! looks them up nor counts them (a matrix of 4096 events is already the whole default
//! capacity). Asked directly for a matrix over [`DENSE_BIAS_MAX_BYTES`], the cache returns a
//! [`BiasError`] without allocating it.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use ndarray::Array2;

use super::bias::{check_dense_size, BiasError, TimeBias};
#[cfg(doc)]
use super::bias::{DENSE_BIAS_MAX_BYTES, DENSE_BIAS_MAX_EVENTS};

/// Default capacity: 64 MiB (one L = 4096 matrix, or many small ones).
pub const DEFAULT_CAPACITY_BYTES: usize = 64 << 20;

/// Hit, miss and eviction counts of a [`TimeBiasCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that computed the matrix.
    pub misses: u64,
    /// Entries dropped to stay within the byte bound.
    pub evictions: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now.
    pub bytes: usize,
}

struct Entry {
    times: Vec<i64>,
    bias: TimeBias,
    matrix: Arc<Array2<f32>>,
    bytes: usize,
    last_used: u64,
}

#[derive(Default)]
struct Inner {
    buckets: HashMap<u64, Vec<Entry>>,
    clock: u64,
    stats: CacheStats,
}

/// The key hash function (replaceable so tests can force collisions).
pub type KeyHash = fn(&[i64], TimeBias) -> u64;

/// The default key hash: SipHash with fixed keys (deterministic across runs).
pub fn default_key_hash(times: &[i64], bias: TimeBias) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    bias.hash(&mut h);
    times.hash(&mut h);
    h.finish()
}

/// A bounded LRU cache of time-bias matrices, safe to share between threads.
///
/// ```
/// use ironforge::attention::{bias::TimeBias, cache::TimeBiasCache};
/// let cache = TimeBiasCache::new(1 << 20);
/// let a = cache.get_or_compute(&[0, 60_000], TimeBias::Bucket)?.unwrap();
/// let b = cache.get_or_compute(&[0, 60_000], TimeBias::Bucket)?.unwrap();
/// assert_eq!(*a, *b);
/// let s = cache.stats();
/// assert_eq!((s.hits, s.misses), (1, 1));
/// # Ok::<(), ironforge::attention::bias::BiasError>(())
/// ```
pub struct TimeBiasCache {
    capacity_bytes: usize,
    key_hash: KeyHash,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for TimeBiasCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeBiasCache")
            .field("capacity_bytes", &self.capacity_bytes)
            .field("stats", &self.stats())
            .finish()
    }
}

impl TimeBiasCache {
    /// An empty cache holding at most `capacity_bytes`.
    pub fn new(capacity_bytes: usize) -> Self {
        Self::with_key_hash(capacity_bytes, default_key_hash)
    }

    /// An empty cache with a chosen key hash (tests use a constant hash to force collisions).
    pub fn with_key_hash(capacity_bytes: usize, key_hash: KeyHash) -> Self {
        Self { capacity_bytes, key_hash, inner: Mutex::new(Inner::default()) }
    }

    /// The byte bound.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written entry (entries are pushed
        // whole), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bias matrix for `times_ms` and `bias`, from the cache or computed (then stored if it
    /// fits the byte bound). `None` for [`TimeBias::None`] (nothing to cache, not counted); a
    /// [`BiasError`] (not counted, nothing allocated) when the matrix would exceed
    /// [`DENSE_BIAS_MAX_BYTES`].
    ///
    /// ```
    /// use ironforge::attention::{bias::TimeBias, cache::TimeBiasCache};
    /// let cache = TimeBiasCache::new(1 << 20);
    /// assert!(cache.get_or_compute(&vec![0; 20_000], TimeBias::Bucket).is_err());
    /// assert_eq!(cache.stats().misses, 0);
    /// ```
    pub fn get_or_compute(&self, times_ms: &[i64], bias: TimeBias) -> Result<Option<Arc<Array2<f32>>>, BiasError> {
        if bias == TimeBias::None {
            return Ok(None);
        }
        check_dense_size("time bias", times_ms.len())?;
        let hash = (self.key_hash)(times_ms, bias);
        {
            let mut inner = self.lock();
            inner.clock += 1;
            let now = inner.clock;
            let found = inner
                .buckets
                .get_mut(&hash)
                .and_then(|bucket| bucket.iter_mut().find(|e| e.bias == bias && e.times == times_ms))
                .map(|e| {
                    e.last_used = now;
                    Arc::clone(&e.matrix)
                });
            if let Some(m) = found {
                inner.stats.hits += 1;
                return Ok(Some(m));
            }
            inner.stats.misses += 1;
        }
        let Some(matrix) = bias.matrix(times_ms).map(Arc::new) else { return Ok(None) };
        let bytes = matrix.len() * std::mem::size_of::<f32>() + std::mem::size_of_val(times_ms);
        if bytes <= self.capacity_bytes {
            let mut inner = self.lock();
            let already =
                inner.buckets.get(&hash).is_some_and(|b| b.iter().any(|e| e.bias == bias && e.times == times_ms));
            if !already {
                while inner.stats.bytes + bytes > self.capacity_bytes {
                    evict_lru(&mut inner);
                }
                inner.clock += 1;
                let last_used = inner.clock;
                let entry = Entry { times: times_ms.to_vec(), bias, matrix: Arc::clone(&matrix), bytes, last_used };
                inner.buckets.entry(hash).or_default().push(entry);
                inner.stats.bytes += bytes;
                inner.stats.entries += 1;
            }
        }
        Ok(Some(matrix))
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// Drops every entry and zeroes the counters.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }
}

fn evict_lru(inner: &mut Inner) {
    let oldest = inner
        .buckets
        .iter()
        .flat_map(|(&h, bucket)| bucket.iter().enumerate().map(move |(i, e)| (e.last_used, h, i)))
        .min();
    let Some((_, hash, idx)) = oldest else { return };
    let bucket = inner.buckets.get_mut(&hash).expect("bucket of an entry just seen");
    let removed = bucket.remove(idx);
    if bucket.is_empty() {
        inner.buckets.remove(&hash);
    }
    inner.stats.bytes -= removed.bytes;
    inner.stats.entries -= 1;
    inner.stats.evictions += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(n: usize, step: i64) -> Vec<i64> {
        (0..n as i64).map(|i| i * step).collect()
    }

    fn entry_bytes(n: usize) -> usize {
        n * n * 4 + n * 8
    }

    #[test]
    fn cached_and_uncached_are_bit_identical() {
        let cache = TimeBiasCache::new(DEFAULT_CAPACITY_BYTES);
        for bias in [TimeBias::Bucket, TimeBias::Rbf] {
            let t = times(37, 170_000);
            let direct = bias.matrix(&t).unwrap();
            let first = cache.get_or_compute(&t, bias).unwrap().unwrap();
            let second = cache.get_or_compute(&t, bias).unwrap().unwrap();
            let bits = |m: &Array2<f32>| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&direct), bits(&first));
            assert_eq!(bits(&direct), bits(&second));
        }
        assert_eq!(cache.stats().hits, 2);
        assert_eq!(cache.stats().misses, 2);
    }

    #[test]
    fn colliding_hashes_never_give_a_false_hit() {
        let cache = TimeBiasCache::with_key_hash(DEFAULT_CAPACITY_BYTES, |_, _| 42);
        let a = times(5, 60_000);
        let b = times(5, 600_000);
        let ma = cache.get_or_compute(&a, TimeBias::Bucket).unwrap().unwrap();
        let mb = cache.get_or_compute(&b, TimeBias::Bucket).unwrap().unwrap();
        let mr = cache.get_or_compute(&a, TimeBias::Rbf).unwrap().unwrap();
        assert_eq!(*ma, TimeBias::Bucket.matrix(&a).unwrap());
        assert_eq!(*mb, TimeBias::Bucket.matrix(&b).unwrap());
        assert_eq!(*mr, TimeBias::Rbf.matrix(&a).unwrap());
        assert_ne!(*ma, *mb);
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.entries), (0, 3, 3));
        assert_eq!(*cache.get_or_compute(&b, TimeBias::Bucket).unwrap().unwrap(), *mb);
        assert_eq!(cache.stats().hits, 1);
    }

    #[test]
    fn byte_bound_evicts_least_recently_used() {
        let n = 10;
        let cache = TimeBiasCache::new(2 * entry_bytes(n));
        let (a, b, c) = (times(n, 60_000), times(n, 120_000), times(n, 180_000));
        cache.get_or_compute(&a, TimeBias::Bucket).unwrap();
        cache.get_or_compute(&b, TimeBias::Bucket).unwrap();
        cache.get_or_compute(&a, TimeBias::Bucket).unwrap(); // a is now more recent than b
        cache.get_or_compute(&c, TimeBias::Bucket).unwrap(); // evicts b
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.evictions, s.entries), (1, 3, 1, 2));
        assert!(s.bytes <= cache.capacity_bytes());
        cache.get_or_compute(&a, TimeBias::Bucket).unwrap();
        assert_eq!(cache.stats().hits, 2, "a survived");
        cache.get_or_compute(&b, TimeBias::Bucket).unwrap();
        assert_eq!(cache.stats().misses, 4, "b was evicted");
    }

    #[test]
    fn an_entry_larger_than_the_bound_is_computed_but_not_stored() {
        let cache = TimeBiasCache::new(entry_bytes(4));
        let t = times(5, 60_000);
        let m = cache.get_or_compute(&t, TimeBias::Bucket).unwrap().unwrap();
        assert_eq!(*m, TimeBias::Bucket.matrix(&t).unwrap());
        assert_eq!(cache.stats().entries, 0);
        assert!(cache.get_or_compute(&t, TimeBias::None).unwrap().is_none());
        cache.clear();
        assert_eq!(cache.stats(), CacheStats::default());
    }
}
