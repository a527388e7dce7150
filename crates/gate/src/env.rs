//! Harness settings read from the environment.

use std::path::PathBuf;

use super::error::GateError;
use super::record::Tier;

/// `IRONFORGE_TIER`: `quick` (default) or `release`.
pub const ENV_TIER: &str = "IRONFORGE_TIER";
/// `IRONFORGE_SEED`: seed of every ChaCha stream (default 0).
pub const ENV_SEED: &str = "IRONFORGE_SEED";
/// `IRONFORGE_SESSIONS`: comma-separated session set names handed to metric functions.
pub const ENV_SESSIONS: &str = "IRONFORGE_SESSIONS";
/// `IRONFORGE_PROVE`: `1` runs every gate also under its declared fault.
pub const ENV_PROVE: &str = "IRONFORGE_PROVE";
/// `IRONFORGE_MEASUREMENTS`: path of the JSON measurements file to merge records into.
pub const ENV_MEASUREMENTS: &str = "IRONFORGE_MEASUREMENTS";
/// `IRONFORGE_TRIAL_DIR`: folder where every trial writes its own measurements file,
/// `<name>.json` (the per-process model of nextest: no trial depends on another process's file).
pub const ENV_TRIAL_DIR: &str = "IRONFORGE_TRIAL_DIR";

/// What the harness was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessEnv {
    /// Tier to run.
    pub tier: Tier,
    /// Seed.
    pub seed: u64,
    /// Session sets asked for.
    pub sessions: Vec<String>,
    /// Whether to run faults too.
    pub prove: bool,
    /// Where to write measurements, if anywhere.
    pub measurements: Option<PathBuf>,
    /// Where each trial writes its own measurements file, if anywhere.
    pub trial_dir: Option<PathBuf>,
}

impl HarnessEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, GateError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (testable without touching the process environment).
    ///
    /// ```
    /// use ironforge_gate::env::HarnessEnv;
    /// use ironforge_gate::record::Tier;
    /// let env = HarnessEnv::from_lookup(|k| (k == "IRONFORGE_TIER").then(|| "release".to_string())).unwrap();
    /// assert_eq!(env.tier, Tier::Release);
    /// assert!(HarnessEnv::from_lookup(|k| (k == "IRONFORGE_SEED").then(|| "x".to_string())).is_err());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GateError> {
        let tier = match lookup(ENV_TIER).as_deref().map(str::trim) {
            None | Some("") | Some("quick") => Tier::Quick,
            Some("release") => Tier::Release,
            Some(other) => {
                return Err(GateError::Env {
                    var: ENV_TIER,
                    value: other.to_string(),
                    expected: "`quick` or `release`",
                })
            }
        };
        let seed = match lookup(ENV_SEED) {
            None => 0,
            Some(s) if s.trim().is_empty() => 0,
            Some(s) => s.trim().parse().map_err(|_| GateError::Env {
                var: ENV_SEED,
                value: s.clone(),
                expected: "an unsigned 64-bit integer",
            })?,
        };
        let sessions = lookup(ENV_SESSIONS)
            .map(|s| s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect())
            .unwrap_or_default();
        let prove = match lookup(ENV_PROVE).as_deref().map(str::trim) {
            None | Some("") | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(GateError::Env { var: ENV_PROVE, value: other.to_string(), expected: "`0` or `1`" })
            }
        };
        let path = |var| lookup(var).filter(|s| !s.trim().is_empty()).map(PathBuf::from);
        let (measurements, trial_dir) = (path(ENV_MEASUREMENTS), path(ENV_TRIAL_DIR));
        Ok(HarnessEnv { tier, seed, sessions, prove, measurements, trial_dir })
    }
}
