//! A shard's part of the trials: `hash:I/N` or `slice:I/N`, the partitions cargo-nextest
//! takes (`--partition`), or `duration:I/N`, trials dealt by their durations in an earlier run
//! ([`DurationPlan`]) so the shards take about equally long; and what a shard records of
//! it ([`ShardRun`]) so a merge can check that the shards cover the whole, each once.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How the trials are dealt to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// By a hash of the trial's name (stable when trials are added).
    Hash,
    /// Every N-th trial in order.
    Slice,
    /// Dealt by duration ([`DurationPlan`]): the longest trial first, each to the shard
    /// with the least time so far.
    Duration,
}

/// Shard `index` of `count` under `scheme`.
///
/// ```
/// use ironforge_gate::audit::Partition;
/// let p: Partition = "hash:2/3".parse().unwrap();
/// assert_eq!((p.index, p.count), (2, 3));
/// assert_eq!(p.to_string(), "hash:2/3");
/// assert!("hash:4/3".parse::<Partition>().unwrap_err().contains("hash:4/3"));
/// assert_eq!("duration:1/2".parse::<Partition>().unwrap().to_string(), "duration:1/2");
/// assert!("count:1/2".parse::<Partition>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    /// The scheme.
    pub scheme: Scheme,
    /// This shard, from 1.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("partition `{s}`: expected hash:I/N, slice:I/N or duration:I/N with 1 <= I <= N");
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        let scheme = match scheme {
            "hash" => Scheme::Hash,
            "slice" => Scheme::Slice,
            "duration" => Scheme::Duration,
            _ => return Err(bad()),
        };
        let (index, count) = rest.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (index.parse().map_err(|_| bad())?, count.parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { scheme, index, count })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Hash => "hash",
            Scheme::Slice => "slice",
            Scheme::Duration => "duration",
        };
        write!(f, "{scheme}:{}/{}", self.index, self.count)
    }
}

impl Serialize for Partition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Partition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// What a shard of a partitioned run records: its partition and the trials the runner said
/// the partition selects (before running them), so a merge can tell a shard that ran another
/// set from one that ran its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    /// The partition.
    pub partition: Partition,
    /// The trials it selects, sorted.
    pub selected: Vec<String>,
    /// For a `duration` partition, the [`DurationPlan::digest`] of the plan it was dealt from:
    /// shards dealt from different plans do not add up to the whole, and a merge says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// The trials of a run dealt to `count` shards by their durations in an earlier run.
///
/// The longest trial first (ties by name), each to the shard whose dealt time is least so far
/// (ties to the lowest index): the longest-processing-time rule, within 4/3 of the best
/// possible longest shard. A trial the earlier run did not time counts as the median of those
/// it did (1 s when it timed none). The same trials and durations give the same plan on every
/// machine, so shards of one CI matrix agree without talking to each other.
///
/// ```
/// use ironforge_gate::audit::DurationPlan;
/// use std::collections::BTreeMap;
/// let trials: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).into();
/// let durations = BTreeMap::from([("a".to_string(), 40.0), ("b".into(), 30.0), ("c".into(), 20.0), ("d".into(), 10.0)]);
/// let plan = DurationPlan::new(&trials, &durations, 2);
/// // e was not timed: it counts as the median, 25. a (40) to shard 1, b (30) to 2, e (25)
/// // to 2, c (20) to 1, d (10) to 2.
/// assert_eq!(plan.shard(1), ["a", "c"]);
/// assert_eq!(plan.shard(2), ["b", "d", "e"]);
/// assert_eq!(plan.seconds(), [60.0, 65.0]);
/// assert_eq!(plan.digest(), DurationPlan::new(&trials, &durations, 2).digest());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DurationPlan {
    shards: Vec<Vec<String>>,
    seconds: Vec<f64>,
    digest: String,
}

impl DurationPlan {
    /// Deals `trials` to `count` shards (at least one) by `durations` (seconds by trial name;
    /// entries of other trials are ignored).
    pub fn new(trials: &[String], durations: &BTreeMap<String, f64>, count: u32) -> Self {
        let count = count.max(1) as usize;
        // Each trial's recorded duration, where it is a usable one.
        let recorded: Vec<Option<f64>> =
            trials.iter().map(|t| durations.get(t).copied().filter(|d| d.is_finite() && *d >= 0.0)).collect();
        let mut known: Vec<f64> = recorded.iter().flatten().copied().collect();
        known.sort_by(f64::total_cmp);
        let fallback = match known.len() {
            0 => 1.0,
            n if n % 2 == 1 => known[n / 2],
            n => (known[n / 2 - 1] + known[n / 2]) / 2.0,
        };
        let mut timed: Vec<(f64, &String)> =
            recorded.iter().zip(trials).map(|(d, t)| (d.unwrap_or(fallback), t)).collect();
        timed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        timed.dedup_by(|a, b| a.1 == b.1);
        let mut shards = vec![Vec::new(); count];
        let mut seconds = vec![0.0f64; count];
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for (d, t) in timed {
            let least = (0..count).min_by(|&a, &b| seconds[a].total_cmp(&seconds[b])).expect("count >= 1");
            shards[least].push(t.clone());
            seconds[least] += d;
            h = crate::context::fnv1a(h, t.as_bytes());
            h = crate::context::fnv1a(h, &d.to_bits().to_le_bytes());
        }
        h = crate::context::fnv1a(h, &(count as u64).to_le_bytes());
        shards.iter_mut().for_each(|s| s.sort());
        Self { shards, seconds, digest: format!("{h:016x}") }
    }

    /// Shard `index`'s trials (from 1), sorted; empty past the count.
    pub fn shard(&self, index: u32) -> &[String] {
        index.checked_sub(1).and_then(|i| self.shards.get(i as usize)).map_or(&[], Vec::as_slice)
    }

    /// The seconds dealt to each shard, in order.
    pub fn seconds(&self) -> &[f64] {
        &self.seconds
    }

    /// A digest of what the plan was made from (trials, the durations it used, the count):
    /// equal digests, equal plans.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}
