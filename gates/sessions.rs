//! The session sets gates run on, by name (`IRONFORGE_SESSIONS=golden,canary,real`).
//!
//! - `golden`: the 20 committed fixtures, read from `fixtures/golden/` through the Parquet reader;
//! - `canary`: the 120 canary sessions, generated from their fixed seeds;
//! - `xl`: sessions of 2048 and 4096 events, generated;
//! - `real`: the 40 real NQ shards in `../shared/data/nq-m5` (an error if the folder is absent).
//!
//! The quick tier (`cargo test`) uses [`QUICK_GOLDEN`] of the golden set whatever the sets asked.

use std::path::PathBuf;
use std::sync::OnceLock;

use ironforge::gate::record::Tier;
use ironforge::gate::{GateContext, GateError};
use ironforge::session::Session;
use ironforge::synth;

/// Golden sessions the quick tier runs on: small, mid-sized and one of the parity matrix sizes.
pub const QUICK_GOLDEN: [&str; 4] = ["golden_05_16", "golden_07_30", "golden_13_68", "golden_00_117"];

/// The package folder: `CARGO_MANIFEST_DIR` as the runner sets it when the harness runs (cargo
/// and nextest do; nextest remaps it when the harness runs from an archive on another machine),
/// else where the harness was built.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn golden_dir() -> PathBuf {
    package_dir().join("fixtures/golden")
}

fn real_dir() -> PathBuf {
    package_dir().join("../shared/data/nq-m5")
}

fn load(name: &str) -> Result<Vec<Session>, GateError> {
    let read = |dir: PathBuf| {
        ironforge::io::read_sessions(&dir).map_err(|e| GateError::msg(format!("session set `{name}`: {e}")))
    };
    match name {
        "golden" => read(golden_dir()),
        "real" => read(real_dir()),
        "canary" => Ok(synth::canary_specs().iter().map(synth::generate).collect()),
        "xl" => Ok(synth::xl_specs().iter().map(synth::generate).collect()),
        other => Err(GateError::msg(format!("unknown session set `{other}` (expected golden, canary, xl or real)"))),
    }
}

fn cached(name: &str) -> Result<&'static [Session], GateError> {
    static GOLDEN: OnceLock<Vec<Session>> = OnceLock::new();
    static CANARY: OnceLock<Vec<Session>> = OnceLock::new();
    static XL: OnceLock<Vec<Session>> = OnceLock::new();
    static REAL: OnceLock<Vec<Session>> = OnceLock::new();
    let cell = match name {
        "golden" => &GOLDEN,
        "canary" => &CANARY,
        "xl" => &XL,
        "real" => &REAL,
        _ => return load(name).map(|_| &[][..]),
    };
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = load(name)?;
    Ok(cell.get_or_init(|| v))
}

/// The sessions this gate runs on: the quick golden subset in the quick tier, else every
/// session of the requested sets (default `golden`), in set order.
pub fn for_gate(ctx: &GateContext) -> Result<Vec<&'static Session>, GateError> {
    let golden = cached("golden")?;
    if ctx.tier() == Tier::Quick {
        let picked: Vec<&Session> = golden.iter().filter(|s| QUICK_GOLDEN.contains(&s.id())).collect();
        if picked.len() != QUICK_GOLDEN.len() {
            return Err(GateError::msg(format!(
                "golden fixtures lack some of {QUICK_GOLDEN:?}: run `cargo xtask fixtures`"
            )));
        }
        return Ok(picked);
    }
    let mut out = Vec::new();
    for set in ctx.session_sets_or(&["golden"]) {
        out.extend(cached(&set)?.iter());
    }
    if out.is_empty() {
        return Err(GateError::msg("the requested session sets hold no sessions"));
    }
    Ok(out)
}

/// Every session of the named set (`golden`, `canary`, `xl`, `real`), whatever the tier.
pub fn set(name: &str) -> Result<&'static [Session], GateError> {
    cached(name)
}

/// All 20 golden sessions, whatever the tier (for gates whose value moves in steps of one
/// session: four sessions would make one session a 25% step).
pub fn golden_all() -> Result<Vec<&'static Session>, GateError> {
    Ok(set("golden")?.iter().collect())
}

/// The `xl` session with exactly `events` events (2048 or 4096).
pub fn xl_session(events: usize) -> Result<&'static Session, GateError> {
    let xl = set("xl")?;
    xl.iter().find(|s| s.len() == events).ok_or_else(|| {
        let sizes: Vec<usize> = xl.iter().map(|s| s.len()).collect();
        GateError::msg(format!("the xl set has no session of {events} events (it has {sizes:?})"))
    })
}
