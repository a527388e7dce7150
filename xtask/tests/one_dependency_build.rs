//! `cargo xtask` (a release build of the xtask) and the release check's harness
//! (`cargo test --release --test gates`) must resolve every shared dependency with the same
//! features: then cargo builds each one once for both. One differing feature on a crate near the
//! bottom of the graph (serde_core, once_cell) rebuilds everything above it, the engine included,
//! and a first release check takes minutes longer.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// `package version -> enabled features` of the dependency graph `cargo tree` resolves for
/// `package` with the given edge kinds.
fn features(package: &str, edges: &str) -> BTreeMap<String, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace)
        .args(["tree", "--quiet", "--offline", "--package", package, "--edges", edges])
        .args(["--format", "{p}|{f}", "--prefix", "none"])
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| {
            let (package, features) = line.trim_end_matches(" (*)").split_once('|')?;
            // `name vX.Y.Z (path)` for workspace crates: keep name and version.
            let mut words = package.split(' ');
            let id = format!("{} {}", words.next()?, words.next()?);
            Some((id, features.to_string()))
        })
        .collect()
}

#[test]
fn the_xtask_and_the_release_harness_resolve_shared_dependencies_alike() {
    let xtask = features("xtask", "normal,build");
    // All of the engine's dev-dependencies: the harness is one of its test targets.
    let harness = features("ironforge", "normal,build,dev");
    let differing: Vec<String> = xtask
        .iter()
        .filter_map(|(id, f)| {
            let h = harness.get(id)?;
            (h != f).then(|| format!("{id}: xtask [{f}], harness [{h}]"))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "these would be built twice by `cargo xtask release-check`; give the side that lacks a \
         feature the same feature (xtask/Cargo.toml or the root Cargo.toml):\n{}",
        differing.join("\n")
    );
    let shared = xtask.keys().filter(|id| harness.contains_key(*id)).count();
    assert!(shared > 100, "only {shared} shared crates parsed from cargo tree: did its format change?");
}
