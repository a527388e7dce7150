//! A tiny crate in a temporary git repository, gated with ironforge's framework, to test the
//! build-heavy `--against` flow (worktrees, two builds, interleaved processes) without building
//! this project twice: one gate with a regression tolerance and a probe, one scenario with a
//! drift tolerance, both reading a committed fixture found through `CARGO_MANIFEST_DIR`. It
//! depends on the framework's crate alone (`crates/gate`), not on the engines. The tests build
//! it in `target/tiny-fixture` with this workspace's lock file and profile tables (the
//! dependencies build once there and are kept).

use std::path::Path;
use std::process::Command;

/// Held by the tests that build the tiny crate, time processes or start a browser: the
/// `--against` flow's timing test must not share the CPU with another test's build, and the
/// test harness runs tests two at a time.
pub static EXCLUSIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`EXCLUSIVE`] (a test that panicked while holding it does not poison the rest).
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    EXCLUSIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Work per probed call of the fast revision (iterations of a multiply-xor loop).
pub const FAST_WORK: u64 = 200_000;

/// The tiny crate's harness source with `work` iterations per probed call and `shift` added to
/// every output value.
pub fn harness_source(work: u64, shift: u64) -> String {
    format!(
        r#"use std::process::ExitCode;

use ironforge_gate::parity::Case;
use ironforge_gate::probe::{{seconds_per_call, Timing}};
use ironforge_gate::units::{{Measured, Ratio}};
use ironforge_gate::{{gate, scenario}};
use ironforge_gate::{{GateContext, GateError, Unit}};

fn spin(n: u64) -> u64 {{
    (0..n).fold(1u64, |a, x| std::hint::black_box(a.wrapping_mul(6364136223846793005) ^ x))
}}

fn always_fine(_: &mut GateContext) -> Result<Measured<Ratio>, GateError> {{
    Ok(Measured::new(1.0))
}}

/// The package folder as the real harness finds it: `CARGO_MANIFEST_DIR` as the runner sets
/// it, else where the harness was built.
fn package_dir() -> std::path::PathBuf {{
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}}

/// The number of cases, read from the committed `fixtures/cases.txt`.
fn fixture_cases() -> Result<u64, GateError> {{
    let path = package_dir().join("fixtures/cases.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| GateError::msg(format!("{{}}: {{e}}", path.display())))?;
    text.trim().parse().map_err(|e| GateError::msg(format!("{{}}: {{e}}", path.display())))
}}

fn spin_probe(ctx: &mut GateContext) -> Result<Vec<Timing>, GateError> {{
    fixture_cases()?;
    let s = seconds_per_call(ctx, || {{
        std::hint::black_box(spin({work}));
    }});
    Ok(vec![Timing::new("spin", Unit::Micros, s * 1e6)?])
}}

gate!(spin_speed: always_fine() >= 0.5 x, regress <= 5% on spin_probe, doc = "the spin loop is not slower than the base");

fn cases(_: &GateContext) -> Result<Vec<Case<u64>>, GateError> {{
    Ok((0..fixture_cases()?).map(|i| Case::new(format!("case{{i}}"), (0..8).map(|x| x * i).collect())).collect())
}}

fn doubled(_: &GateContext, c: &Case<u64>) -> Result<Vec<u64>, GateError> {{
    Ok(c.data.iter().map(|x| 2 * x + {shift}).collect())
}}

scenario!(doubled_outputs: sessions = cases, reference = doubled, candidate = doubled, compare = exact, drift <= 0,
    doc = "the doubled values do not change against the base");

fn main() -> ExitCode {{
    ironforge_gate::harness::run_harness()
}}
"#
    )
}

/// The tiny crate's manifest: `ironforge-gate` by path, the gates harness, and this workspace's
/// `[profile]` tables copied from its `Cargo.toml` (so the dependency's build is shared and
/// costs what the workspace's does, debug info included).
pub fn manifest(workspace: &Path) -> String {
    format!(
        r#"[package]
name = "tiny"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
ironforge-gate = {{ path = "{}" }}

[[test]]
name = "gates"
path = "gates/main.rs"
harness = false

{}"#,
        workspace.join("crates").join("gate").display(),
        profiles(workspace)
    )
}

/// The `[profile]` tables of `workspace`'s `Cargo.toml` as TOML text (empty when it has none).
fn profiles(workspace: &Path) -> String {
    let text = std::fs::read_to_string(workspace.join("Cargo.toml")).expect("read the workspace's Cargo.toml");
    let manifest: toml::Table = text.parse().expect("the workspace's Cargo.toml is TOML");
    let mut only = toml::Table::new();
    if let Some(p) = manifest.get("profile") {
        only.insert("profile".to_string(), p.clone());
    }
    toml::to_string(&only).expect("a TOML table serializes")
}

/// Runs git in `repo` with a fixed identity; panics with git's message on failure (tests only).
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=tiny", "-c", "user.email=tiny@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(repo)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Writes the harness with `work` and `shift` and commits it; returns the commit id.
pub fn commit(repo: &Path, work: u64, shift: u64, message: &str) -> String {
    std::fs::write(repo.join("gates/main.rs"), harness_source(work, shift)).expect("write harness");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

/// A fresh repository at `repo` with the tiny crate (this workspace's lock file copied, so the
/// dependency versions match) and its first commit: the fast revision.
pub fn init(repo: &Path, workspace: &Path) -> String {
    std::fs::create_dir_all(repo.join("gates")).expect("create repo");
    std::fs::create_dir_all(repo.join("src")).expect("create src");
    std::fs::write(repo.join("Cargo.toml"), manifest(workspace)).expect("write manifest");
    std::fs::write(repo.join("src/lib.rs"), "//! The tiny fixture crate.\n").expect("write lib");
    // Data the harness finds through `CARGO_MANIFEST_DIR`, as this project's gates find theirs.
    std::fs::create_dir_all(repo.join("fixtures")).expect("create fixtures");
    std::fs::write(repo.join("fixtures/cases.txt"), "4\n").expect("write fixture");
    std::fs::copy(workspace.join("Cargo.lock"), repo.join("Cargo.lock")).expect("copy lock");
    std::fs::write(repo.join(".gitignore"), "/target\n").expect("write gitignore");
    git(repo, &["init", "-q", "-b", "main"]);
    commit(repo, FAST_WORK, 0, "fast")
}

#[cfg(test)]
mod tests {
    /// The tiny crate builds with the workspace's profiles: same optimisation and debug info for
    /// the shared dependencies.
    #[test]
    fn the_manifest_copies_the_workspace_profiles() {
        let ws = crate::release_check::workspace_root();
        let tiny: toml::Table = super::manifest(&ws).parse().unwrap();
        let ours: toml::Table = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap().parse().unwrap();
        assert!(ours.contains_key("profile"));
        assert_eq!(tiny.get("profile"), ours.get("profile"));
        let framework = ws.join("crates").join("gate").display().to_string();
        assert_eq!(tiny["dependencies"]["ironforge-gate"]["path"].as_str(), Some(framework.as_str()));
    }
}
