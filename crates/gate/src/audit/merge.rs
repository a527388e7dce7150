//! Merging the audits of shards — runs of disjoint parts of one harness, one commit and tier —
//! into the audit one run of the whole would have given, or an error naming the shard and the
//! trial that makes the union wrong.

use super::{AuditError, AuditRun, Partition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One shard's audit and where it came from (its file, for the errors).
#[derive(Debug, Clone)]
pub struct Shard {
    /// The file the audit was read from.
    pub file: String,
    /// Its audit.
    pub audit: AuditRun,
}

/// What a merged audit was made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// The shards in the order given.
    pub shards: Vec<ShardInfo>,
    /// Whether the shards ran on machines with different fingerprints (CPU model, instruction
    /// sets, core count): their timed values were not measured on one machine.
    pub mixed_machines: bool,
}

/// One shard of a merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Its file.
    pub file: String,
    /// The machine's fingerprint ([`fingerprint`]).
    pub machine: String,
    /// The trials (gates and scenarios) it ran, sorted.
    pub trials: Vec<String>,
    /// Its partition, when the run was partitioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
}

/// Why shards do not merge.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard audit given")]
    NoShards,
    /// A shard's audit contradicts itself.
    #[error("shard {file}: {source}")]
    Invalid {
        /// The shard.
        file: String,
        /// What is wrong.
        #[source]
        source: Box<AuditError>,
    },
    /// A shard differs from the first in what must be the same.
    #[error("shard {file}: {what} is {found}, but {first} has {expected}")]
    Mismatch {
        /// The shard.
        file: String,
        /// What differs (commit, tier, seed, ...).
        what: &'static str,
        /// The first shard's file.
        first: String,
        /// The first shard's value.
        expected: String,
        /// This shard's value.
        found: String,
    },
    /// A shard carries what a merge cannot combine (a baseline or a comparison).
    #[error("shard {file}: carries {what}; merge shards of plain runs and compare the merged audit")]
    Unsupported {
        /// The shard.
        file: String,
        /// What it carries.
        what: &'static str,
    },
    /// A trial ran in two shards.
    #[error("trial `{trial}` ran in two shards: {first} and {second}")]
    Duplicate {
        /// The trial.
        trial: String,
        /// The first shard that ran it.
        first: String,
        /// The second.
        second: String,
    },
    /// A shard ran a trial the manifest does not declare for the tier.
    #[error("shard {file}: trial `{trial}` is not a declaration of tier `{tier}` in the manifest")]
    Unexpected {
        /// The shard.
        file: String,
        /// The trial.
        trial: String,
        /// The tier.
        tier: String,
    },
    /// Two shards of the same partition.
    #[error("shards {first} and {second} are both partition {partition}")]
    DuplicatePartition {
        /// The partition.
        partition: Partition,
        /// The first shard.
        first: String,
        /// The second.
        second: String,
    },
    /// Partitions of the scheme and count no shard ran.
    #[error("no shard of partition {} was given", missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    MissingPartition {
        /// The partitions, in order.
        missing: Vec<Partition>,
    },
    /// A shard ran other trials than its partition selects.
    #[error("shard {file}: its trials disagree with its partition {partition}: ran but not selected {not_selected:?}, selected but not run {not_run:?}")]
    DisagreesWithPartition {
        /// The shard.
        file: String,
        /// Its partition.
        partition: Partition,
        /// Trials it ran that the partition does not select.
        not_selected: Vec<String>,
        /// Trials the partition selects that it did not run.
        not_run: Vec<String>,
    },
    /// Declarations of the tier no shard ran.
    #[error("no shard ran {}: a shard is missing or ran another partition", missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "))]
    Incomplete {
        /// The declarations, sorted.
        missing: Vec<String>,
    },
}

/// A machine's fingerprint: the one the audit recorded ([`super::Machine::fingerprint`]), or
/// else its CPU model, logical cores and the instruction sets it has.
pub fn fingerprint(audit: &AuditRun) -> String {
    let m = &audit.machine;
    if !m.fingerprint.is_empty() {
        return m.fingerprint.clone();
    }
    let flags: Vec<&str> = m.cpu_flags.iter().filter(|(_, on)| **on).map(|(f, _)| f.as_str()).collect();
    format!("{} / {} cores / {}", m.cpu_model, m.logical_cores, flags.join(" "))
}

/// Merges `shards` into one audit: every shard valid and of a plain run, all of one commit,
/// tier, seed, sessions and manifest; when partitioned, every partition `1..=N` of one scheme
/// once and each shard's trials exactly those its partition selects
/// ([`ShardRun`](super::ShardRun)); every declaration of the tier run by exactly one shard.
/// The merged audit has the rows of all shards in the order a single run gives, the first
/// shard's machine and configuration (the harness exit code the worst, the durations summed)
/// and [`MergeInfo`] under `merged`.
pub fn merge(shards: Vec<Shard>) -> Result<AuditRun, MergeError> {
    let first = shards.first().ok_or(MergeError::NoShards)?;
    for s in &shards {
        s.audit.validate().map_err(|e| MergeError::Invalid { file: s.file.clone(), source: Box::new(e) })?;
        if s.audit.baseline.is_some() {
            return Err(MergeError::Unsupported { file: s.file.clone(), what: "a baseline comparison" });
        }
        if s.audit.comparison.is_some() {
            return Err(MergeError::Unsupported { file: s.file.clone(), what: "a comparison with a base revision" });
        }
        if s.audit.merged.is_some() {
            return Err(MergeError::Unsupported { file: s.file.clone(), what: "an earlier merge" });
        }
        let same = |what: &'static str, get: &dyn Fn(&AuditRun) -> String| {
            let (expected, found) = (get(&first.audit), get(&s.audit));
            if expected == found {
                Ok(())
            } else {
                Err(MergeError::Mismatch { file: s.file.clone(), what, first: first.file.clone(), expected, found })
            }
        };
        same("the commit", &|a| a.git.commit.clone().unwrap_or_else(|| "unknown".into()))?;
        same("the tier", &|a| a.config.tier.clone())?;
        same("the seed", &|a| a.config.seed.to_string())?;
        same("the sessions", &|a| a.config.sessions.clone())?;
        same("--prove", &|a| a.config.prove.to_string())?;
        same("the manifest", &|a| serde_json::to_string(&a.manifest).unwrap_or_default())?;
    }
    if first.audit.git.commit.is_none() {
        return Err(MergeError::Mismatch {
            file: first.file.clone(),
            what: "the commit",
            first: first.file.clone(),
            expected: "a known commit".into(),
            found: "unknown".into(),
        });
    }
    let expected: Vec<String> = match first.audit.expected() {
        Some(names) => names.into_iter().map(String::from).collect(),
        None => {
            return Err(MergeError::Mismatch {
                file: first.file.clone(),
                what: "the manifest",
                first: first.file.clone(),
                expected: "a manifest".into(),
                found: "none".into(),
            })
        }
    };
    check_partitions(&shards)?;
    let mut ran_in: BTreeMap<String, String> = BTreeMap::new();
    for s in &shards {
        for g in &s.audit.gates {
            let trial = &g.record.name;
            if !expected.contains(trial) {
                return Err(MergeError::Unexpected {
                    file: s.file.clone(),
                    trial: trial.clone(),
                    tier: s.audit.config.tier.clone(),
                });
            }
            if let Some(earlier) = ran_in.insert(trial.clone(), s.file.clone()) {
                return Err(MergeError::Duplicate { trial: trial.clone(), first: earlier, second: s.file.clone() });
            }
        }
    }
    let missing: Vec<String> = expected.iter().filter(|e| !ran_in.contains_key(*e)).cloned().collect();
    if !missing.is_empty() {
        return Err(MergeError::Incomplete { missing });
    }

    let info = MergeInfo {
        shards: shards
            .iter()
            .map(|s| ShardInfo {
                file: s.file.clone(),
                machine: fingerprint(&s.audit),
                trials: s.audit.gates.iter().map(|g| g.record.name.clone()).collect(),
                partition: s.audit.config.shard.as_ref().map(|r| r.partition),
            })
            .collect(),
        mixed_machines: shards.iter().any(|s| fingerprint(&s.audit) != fingerprint(&first.audit)),
    };
    let mut merged = first.audit.clone();
    let exit_codes: Vec<Option<i32>> = shards.iter().map(|s| s.audit.config.harness_exit_code).collect();
    merged.config.harness_exit_code = exit_codes.iter().copied().find(|c| *c != Some(0)).unwrap_or(Some(0));
    merged.config.harness_duration_s = shards.iter().map(|s| s.audit.config.harness_duration_s).sum();
    merged.config.allow_partial = false;
    merged.git.dirty = shards.iter().map(|s| s.audit.git.dirty).try_fold(false, |any, d| d.map(|d| any || d));
    merged.git.dirty_paths = shards.iter().flat_map(|s| s.audit.git.dirty_paths.iter().cloned()).collect();
    merged.git.dirty_paths.sort();
    merged.git.dirty_paths.dedup();
    merged.gates.clear();
    merged.parity.clear();
    merged.paths.clear();
    merged.tables.clear();
    for s in shards {
        merged.gates.extend(s.audit.gates);
        merged.parity.extend(s.audit.parity);
        merged.paths.extend(s.audit.paths);
        for (name, rows) in s.audit.tables {
            merged.tables.entry(name).or_default().extend(rows);
        }
    }
    merged.sort_rows();
    merged.merged = Some(info);
    (merged.partial, merged.missing) = merged.compute_partial();
    merged.overall = merged.compute_overall();
    Ok(merged)
}

/// The partition checks of [`merge`]: every shard partitioned or none, one scheme and count
/// (and for `duration`, one plan), each partition once and none missing, each shard's trials
/// those its partition selects.
fn check_partitions(shards: &[Shard]) -> Result<(), MergeError> {
    let first = &shards[0];
    let describe = |s: &Shard| s.audit.config.shard.as_ref().map_or("none".to_string(), |r| r.partition.to_string());
    let Some(lead) = first.audit.config.shard.as_ref().map(|r| r.partition) else {
        return match shards.iter().find(|s| s.audit.config.shard.is_some()) {
            None => Ok(()),
            Some(s) => Err(MergeError::Mismatch {
                file: s.file.clone(),
                what: "the partition",
                first: first.file.clone(),
                expected: "none".into(),
                found: describe(s),
            }),
        };
    };
    let lead_plan = first.audit.config.shard.as_ref().and_then(|r| r.plan.clone());
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for s in shards {
        let Some(run) = &s.audit.config.shard else {
            return Err(MergeError::Mismatch {
                file: s.file.clone(),
                what: "the partition",
                first: first.file.clone(),
                expected: lead.to_string(),
                found: "none".into(),
            });
        };
        let p = run.partition;
        if (p.scheme, p.count) != (lead.scheme, lead.count) {
            return Err(MergeError::Mismatch {
                file: s.file.clone(),
                what: "the partition scheme and count",
                first: first.file.clone(),
                expected: lead.to_string(),
                found: p.to_string(),
            });
        }
        if run.plan != lead_plan {
            let show = |plan: &Option<String>| plan.clone().unwrap_or_else(|| "none".into());
            return Err(MergeError::Mismatch {
                file: s.file.clone(),
                what: "the duration plan (shards dealt from different durations)",
                first: first.file.clone(),
                expected: show(&lead_plan),
                found: show(&run.plan),
            });
        }
        if let Some(earlier) = seen.insert(p.index, &s.file) {
            return Err(MergeError::DuplicatePartition { partition: p, first: earlier.into(), second: s.file.clone() });
        }
        let ran: Vec<&str> = s.audit.gates.iter().map(|g| g.record.name.as_str()).collect();
        let not_selected: Vec<String> =
            ran.iter().filter(|t| !run.selected.iter().any(|x| x == *t)).map(|t| t.to_string()).collect();
        let not_run: Vec<String> = run.selected.iter().filter(|x| !ran.contains(&x.as_str())).cloned().collect();
        if !not_selected.is_empty() || !not_run.is_empty() {
            return Err(MergeError::DisagreesWithPartition {
                file: s.file.clone(),
                partition: p,
                not_selected,
                not_run,
            });
        }
    }
    let missing: Vec<Partition> =
        (1..=lead.count).filter(|i| !seen.contains_key(i)).map(|index| Partition { index, ..lead }).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MergeError::MissingPartition { missing })
    }
}
