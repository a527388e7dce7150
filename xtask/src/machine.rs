//! What the audit records about the machine and the source tree.

use ironforge::gate::audit::{GitState, Machine};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// CPU features the kernels care about, as `/proc/cpuinfo` spells them.
pub const RELEVANT_CPU_FLAGS: [&str; 7] = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512vl", "amx_tile", "amx_bf16"];

/// Reads the machine from `/proc/cpuinfo`, `/proc/meminfo` and the OS.
pub fn probe_machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let (cpu_model, cpu_flags) = parse_cpuinfo(&cpuinfo);
    Machine {
        cpu_model,
        logical_cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        ram_bytes: parse_meminfo_total(&meminfo).unwrap_or(0),
        cpu_flags,
        os: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// The first `model name` and the presence of each [`RELEVANT_CPU_FLAGS`] entry on the first
/// `flags` line (`unknown` and all-absent when the text has neither).
pub fn parse_cpuinfo(text: &str) -> (String, BTreeMap<String, bool>) {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let model = field("model name").unwrap_or_else(|| "unknown".to_string());
    let flags = field("flags").unwrap_or_default();
    let present: Vec<&str> = flags.split_whitespace().collect();
    let map = RELEVANT_CPU_FLAGS.iter().map(|f| (f.to_string(), present.contains(f))).collect();
    (model, map)
}

/// `MemTotal` of `/proc/meminfo` in bytes.
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut parts = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(n * 1024),
        None => Some(n),
        Some(_) => None,
    }
}

/// `git rev-parse HEAD` and `git status --porcelain` in `root`; `None`s when git cannot tell.
pub fn probe_git(root: &Path) -> GitState {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).current_dir(root).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).map(|s| s.trim().to_string());
    let status = git(&["status", "--porcelain"]);
    let dirty_paths: Vec<String> =
        status.as_deref().unwrap_or("").lines().filter(|l| l.len() > 3).map(|l| l[3..].to_string()).take(50).collect();
    GitState { commit, dirty: status.as_ref().map(|s| !s.trim().is_empty()), dirty_paths }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n\
flags\t\t: fpu sse avx2 fma avx512f avx512_bf16\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9R14\n";

    #[test]
    fn cpuinfo_gives_model_and_flags() {
        let (model, flags) = parse_cpuinfo(CPUINFO);
        assert_eq!(model, "AMD EPYC 9R14");
        assert!(flags["avx2"]);
        assert!(flags["avx512_bf16"]);
        assert!(!flags["avx512vl"]);
        assert!(!flags["amx_bf16"]);
        let (model, flags) = parse_cpuinfo("");
        assert_eq!(model, "unknown");
        assert!(flags.values().all(|present| !present));
    }

    #[test]
    fn meminfo_total_in_bytes() {
        assert_eq!(parse_meminfo_total("MemFree: 3 kB\nMemTotal:  16 kB\n"), Some(16 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 3 kB\n"), None);
        assert_eq!(parse_meminfo_total("MemTotal: x kB\n"), None);
    }

    #[test]
    fn git_state_of_this_checkout() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let g = probe_git(&root);
        if let Some(c) = &g.commit {
            assert_eq!(c.len(), 40);
        }
        assert_eq!(g.dirty == Some(true), !g.dirty_paths.is_empty());
        let none = probe_git(&std::env::temp_dir().join("surely-not-a-repo-ironforge"));
        assert_eq!(none.commit, None);
    }
}
