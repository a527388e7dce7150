//! A shard's part of the trials: `hash:I/N` or `slice:I/N`, the partitions cargo-nextest
//! takes (`--partition`), and what a shard records of it ([`ShardRun`]) so a merge can check
//! that the shards cover the whole, each once.

use serde::{Deserialize, Serialize};
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
}

/// Shard `index` of `count` under `scheme`.
///
/// ```
/// use ironforge_gate::audit::Partition;
/// let p: Partition = "hash:2/3".parse().unwrap();
/// assert_eq!((p.index, p.count), (2, 3));
/// assert_eq!(p.to_string(), "hash:2/3");
/// assert!("hash:4/3".parse::<Partition>().unwrap_err().contains("hash:4/3"));
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
        let bad = || format!("partition `{s}`: expected hash:I/N or slice:I/N with 1 <= I <= N");
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        let scheme = match scheme {
            "hash" => Scheme::Hash,
            "slice" => Scheme::Slice,
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
}
