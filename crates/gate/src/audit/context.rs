//! Where and how a release check ran: the [`Machine`], the source tree ([`GitState`]) and the
//! configuration ([`RunConfig`]).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The machine the check ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo` `model name`).
    pub cpu_model: String,
    /// Logical CPUs the process may use.
    pub logical_cores: usize,
    /// Total RAM in bytes (`/proc/meminfo` `MemTotal`), 0 when unknown.
    pub ram_bytes: u64,
    /// Relevant CPU features (`avx2`, `avx512f`, `avx512_bf16`, ...) and whether present.
    pub cpu_flags: BTreeMap<String, bool>,
    /// Operating system and architecture (`linux/x86_64`).
    pub os: String,
    /// Every CPU flag of the first `flags` line of `/proc/cpuinfo`, sorted (empty when not
    /// recorded).
    #[serde(default)]
    pub cpu_flag_list: Vec<String>,
    /// Kernel release (`uname -r`, from `/proc/sys/kernel/osrelease`).
    #[serde(default)]
    pub kernel: String,
    /// The compiler (`rustc -V` of `$RUSTC` or `rustc`).
    #[serde(default)]
    pub rustc: String,
    /// Cargo profile the measured harness was built with (`release`).
    #[serde(default)]
    pub profile: String,
    /// Compiler flags the harness build sees, one entry per flag.
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Where [`Machine::rustflags`] came from: `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`,
    /// `.cargo/config.toml [build] rustflags` or `none`.
    #[serde(default)]
    pub rustflags_source: String,
    /// The `-C target-cpu=` value in [`Machine::rustflags`] (`None`: rustc's default CPU).
    #[serde(default)]
    pub target_cpu: Option<String>,
    /// Short hex hash over the fields that make timings comparable (see xtask's `machine`
    /// module); empty in audits written before it was recorded.
    #[serde(default)]
    pub fingerprint: String,
}

/// The source tree the check ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitState {
    /// `git rev-parse HEAD`, when git could tell.
    pub commit: Option<String>,
    /// Whether `git status --porcelain` listed anything; `None` when git could not tell.
    pub dirty: Option<bool>,
    /// The paths `git status --porcelain` listed (at most 50).
    pub dirty_paths: Vec<String>,
}

/// How the check was configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Gate tier run: `release` or `quick`.
    pub tier: String,
    /// Session sets: `golden`, `canary` or `golden,canary`.
    pub sessions: String,
    /// Seed handed to the harness.
    pub seed: u64,
    /// Whether every gate was also run under its fault (`--prove`).
    pub prove: bool,
    /// Every `IRONFORGE_*` variable the harness saw.
    pub env: BTreeMap<String, String>,
    /// The harness command line, or a note that measurements were read from a file.
    pub harness: Vec<String>,
    /// Exit status of the harness process (`None` when it was not run or was killed).
    pub harness_exit_code: Option<i32>,
    /// Wall time of the harness in seconds (0 when not run).
    pub harness_duration_s: f64,
    /// Index of this run in a `--repeat` series (0 otherwise).
    pub repeat_index: usize,
    /// Whether a partial run may pass (`--partial`); it is reported as partial either way.
    #[serde(default)]
    pub allow_partial: bool,
    /// The shard's partition and the trials it selects, when the run was one shard of a
    /// partitioned release check (`--partition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::ShardRun>,
}
