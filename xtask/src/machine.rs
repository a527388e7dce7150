//! What the audit records about the machine and the source tree, and whether two audits ran
//! on the same machine.
//!
//! [`probe_machine`] fills a [`Machine`]: CPU model and flags, cores, RAM, OS, kernel, rustc,
//! the harness's build profile, the RUSTFLAGS its build sees and the `target-cpu` in them, and
//! [`fingerprint`], a short hash over the fields that decide whether two timings can be
//! compared. [`differences`] names the fields in which two machines differ and
//! [`ensure_comparable`] refuses a comparison across machines unless it is asked for.

use crate::atomic::sha256_hex;
use ironforge::gate::audit::{GitState, Machine};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// CPU features the kernels care about, as `/proc/cpuinfo` spells them.
pub const RELEVANT_CPU_FLAGS: [&str; 7] = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512vl", "amx_tile", "amx_bf16"];

/// Hex digits kept of the sha256 in [`Machine::fingerprint`] (64 bits: collisions between
/// the handful of machines one project sees are out of the question).
pub const FINGERPRINT_HEX_DIGITS: usize = 16;

/// CPU flags named per side in a difference line (a machine has well over 100).
const LISTED_FLAGS: usize = 12;

/// Written in place of a field an older audit does not carry.
const NOT_RECORDED: &str = "(not recorded)";

/// Reads the machine from `/proc/cpuinfo`, `/proc/meminfo`, `/proc/sys/kernel/osrelease`,
/// `rustc -V` and the RUSTFLAGS the harness build in `root` sees (see [`effective_rustflags`]);
/// `profile` is the Cargo profile the measured harness is built with (`release`).
pub fn probe_machine(root: &Path, profile: &str) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string());
    let config = std::fs::read_to_string(root.join(".cargo").join("config.toml")).ok();
    let encoded = std::env::var("CARGO_ENCODED_RUSTFLAGS").ok();
    let plain = std::env::var("RUSTFLAGS").ok();
    let (rustflags, rustflags_source) = effective_rustflags(encoded.as_deref(), plain.as_deref(), config.as_deref());
    let (cpu_model, cpu_flags) = parse_cpuinfo(&cpuinfo);
    let mut m = Machine {
        cpu_model,
        logical_cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        ram_bytes: parse_meminfo_total(&meminfo).unwrap_or(0),
        cpu_flags,
        os: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        cpu_flag_list: parse_cpu_flag_list(&cpuinfo),
        kernel: kernel.ok().filter(|k| !k.is_empty()).unwrap_or_else(|| "unknown".to_string()),
        rustc: rustc_version(),
        profile: profile.to_string(),
        target_cpu: target_cpu(&rustflags),
        rustflags,
        rustflags_source: rustflags_source.to_string(),
        fingerprint: String::new(),
    };
    m.fingerprint = fingerprint(&m);
    m
}

/// `rustc -V` of `$RUSTC` (or `rustc`), `unknown` when it cannot be run.
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The first `model name` and the presence of each [`RELEVANT_CPU_FLAGS`] entry on the first
/// `flags` line (`unknown` and all-absent when the text has neither).
pub fn parse_cpuinfo(text: &str) -> (String, BTreeMap<String, bool>) {
    let model = cpuinfo_field(text, "model name").unwrap_or_else(|| "unknown".to_string());
    let flags = cpuinfo_field(text, "flags").unwrap_or_default();
    let present: Vec<&str> = flags.split_whitespace().collect();
    let map = RELEVANT_CPU_FLAGS.iter().map(|f| (f.to_string(), present.contains(f))).collect();
    (model, map)
}

/// Every flag of the first `flags` line (`Features` on arm64) of `/proc/cpuinfo` text, sorted
/// and without repeats.
pub fn parse_cpu_flag_list(text: &str) -> Vec<String> {
    let flags = cpuinfo_field(text, "flags").or_else(|| cpuinfo_field(text, "Features")).unwrap_or_default();
    flags.split_whitespace().map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect()
}

/// The value of the first `key : value` line whose key is `key`.
fn cpuinfo_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
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

/// RAM in whole GiB, rounded to the nearest (`MemTotal` moves by a few MiB between boots).
pub fn ram_gib(bytes: u64) -> u64 {
    bytes.saturating_add(1 << 29) >> 30
}

/// The compiler flags a Cargo build sees and where they came from, in Cargo's order of
/// precedence: `CARGO_ENCODED_RUSTFLAGS` (split on `0x1f`), else `RUSTFLAGS` (split on
/// whitespace), else `[build] rustflags` of the workspace's `.cargo/config.toml` text, else
/// none. `[target.*] rustflags` and config files outside the workspace are not read.
pub fn effective_rustflags(
    encoded: Option<&str>,
    plain: Option<&str>,
    config: Option<&str>,
) -> (Vec<String>, &'static str) {
    if let Some(e) = encoded {
        let flags = if e.is_empty() { Vec::new() } else { e.split('\x1f').map(str::to_string).collect() };
        return (flags, "CARGO_ENCODED_RUSTFLAGS");
    }
    if let Some(p) = plain {
        return (p.split_whitespace().map(str::to_string).collect(), "RUSTFLAGS");
    }
    match config.and_then(config_build_rustflags) {
        Some(flags) => (flags, ".cargo/config.toml [build] rustflags"),
        None => (Vec::new(), "none"),
    }
}

/// `build.rustflags` of Cargo config text: a string (split on whitespace, as Cargo does) or an
/// array of strings, under `[build]` or as the dotted key `build.rustflags`; `None` when the key
/// is absent or the text is not TOML (Cargo itself would then refuse to build).
pub fn config_build_rustflags(text: &str) -> Option<Vec<String>> {
    let config: toml::Table = text.parse().ok()?;
    match config.get("build")?.get("rustflags")? {
        toml::Value::String(s) => Some(s.split_whitespace().map(str::to_string).collect()),
        toml::Value::Array(items) => Some(items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        _ => None,
    }
}

/// The `target-cpu` the flags select (`-C target-cpu=X`, `-Ctarget-cpu=X`, `--codegen
/// target-cpu=X` or `--codegen=target-cpu=X`; the last one wins, as in rustc).
pub fn target_cpu(flags: &[String]) -> Option<String> {
    let mut cpu = None;
    let mut iter = flags.iter();
    while let Some(flag) = iter.next() {
        let codegen = if flag == "-C" || flag == "--codegen" {
            iter.next().map(String::as_str)
        } else {
            flag.strip_prefix("--codegen=").or_else(|| flag.strip_prefix("-C"))
        };
        if let Some(v) = codegen.and_then(|c| c.strip_prefix("target-cpu=")) {
            cpu = Some(v.to_string());
        }
    }
    cpu
}

/// The machine's identity as hashed into [`fingerprint`]: CPU model, the full CPU flag list,
/// logical cores, RAM in GiB ([`ram_gib`]), OS and architecture, kernel release, rustc
/// version, build profile, RUSTFLAGS and target CPU. Left out: the relevant-flag map (a
/// subset of the list), where the RUSTFLAGS came from (the same flags build the same code)
/// and the fingerprint itself.
fn identity(m: &Machine) -> String {
    format!(
        "ironforge.machine/1\ncpu_model={}\ncpu_flags={}\nlogical_cores={}\nram_gib={}\nos={}\nkernel={}\n\
         rustc={}\nprofile={}\nrustflags={}\ntarget_cpu={}\n",
        m.cpu_model,
        m.cpu_flag_list.join(" "),
        m.logical_cores,
        ram_gib(m.ram_bytes),
        m.os,
        m.kernel,
        m.rustc,
        m.profile,
        m.rustflags.join("\x1f"),
        m.target_cpu.as_deref().unwrap_or(""),
    )
}

/// The first [`FINGERPRINT_HEX_DIGITS`] hex digits of the sha256 of the machine's identity
/// (the fields listed at [`identity`]); equal fingerprints mean timings may be compared.
pub fn fingerprint(m: &Machine) -> String {
    sha256_hex(identity(m).as_bytes())[..FINGERPRINT_HEX_DIGITS].to_string()
}

/// A field for a difference line: [`NOT_RECORDED`] when empty.
fn shown(s: &str) -> &str {
    if s.is_empty() {
        NOT_RECORDED
    } else {
        s
    }
}

/// Flags for a difference line: space separated, `(none)` when there are none.
fn shown_flags(flags: &[String]) -> String {
    if flags.is_empty() {
        "(none)".to_string()
    } else {
        format!("`{}`", flags.join(" "))
    }
}

/// Flag names for a difference line: the first [`LISTED_FLAGS`], then how many more; `(none)`
/// when there are none.
fn flag_names<'a>(flags: impl Iterator<Item = &'a &'a String>) -> String {
    let flags: Vec<&str> = flags.map(|f| f.as_str()).collect();
    match flags.len() {
        0 => "(none)".to_string(),
        n if n <= LISTED_FLAGS => flags.join(" "),
        n => format!("{} and {} more", flags[..LISTED_FLAGS].join(" "), n - LISTED_FLAGS),
    }
}

/// The fields in which two machines differ (empty when the fingerprints agree).
///
/// A machine without a fingerprint (an audit written before it was recorded) is never the
/// same machine: the first line then says "no fingerprint recorded". Each further line names
/// one identity field that differs, first machine's value first, e.g.
/// `rustc: rustc 1.95.0 (…) vs rustc 1.94.0 (…)`.
pub fn differences(a: &Machine, b: &Machine) -> Vec<String> {
    if !a.fingerprint.is_empty() && a.fingerprint == b.fingerprint {
        return Vec::new();
    }
    let fp = |m: &Machine| {
        if m.fingerprint.is_empty() {
            "no fingerprint recorded".to_string()
        } else {
            m.fingerprint.clone()
        }
    };
    let mut d = vec![format!("fingerprint: {} vs {}", fp(a), fp(b))];
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            d.push(format!("{name}: {x} vs {y}"));
        }
    };
    field("cpu model", shown(&a.cpu_model).to_string(), shown(&b.cpu_model).to_string());
    field("logical cores", a.logical_cores.to_string(), b.logical_cores.to_string());
    field("RAM", format!("{} GiB", ram_gib(a.ram_bytes)), format!("{} GiB", ram_gib(b.ram_bytes)));
    field("os", shown(&a.os).to_string(), shown(&b.os).to_string());
    field("kernel", shown(&a.kernel).to_string(), shown(&b.kernel).to_string());
    field("rustc", shown(&a.rustc).to_string(), shown(&b.rustc).to_string());
    field("profile", shown(&a.profile).to_string(), shown(&b.profile).to_string());
    field("rustflags", shown_flags(&a.rustflags), shown_flags(&b.rustflags));
    let cpu = |m: &Machine| m.target_cpu.clone().unwrap_or_else(|| "(default)".to_string());
    field("target-cpu", cpu(a), cpu(b));
    if a.cpu_flag_list.is_empty() != b.cpu_flag_list.is_empty() {
        let count = |m: &Machine| {
            if m.cpu_flag_list.is_empty() {
                NOT_RECORDED.to_string()
            } else {
                format!("{} flags", m.cpu_flag_list.len())
            }
        };
        d.push(format!("cpu flags: {} vs {}", count(a), count(b)));
    } else if a.cpu_flag_list != b.cpu_flag_list {
        let (fa, fb): (BTreeSet<&String>, BTreeSet<&String>) =
            (a.cpu_flag_list.iter().collect(), b.cpu_flag_list.iter().collect());
        d.push(format!(
            "cpu flags: only first: {}; only second: {}",
            flag_names(fa.difference(&fb)),
            flag_names(fb.difference(&fa))
        ));
    }
    d
}

/// Refuses a comparison between audits of different machines unless `cross_machine`; returns
/// the note to print/record when allowed across machines (None when same).
///
/// `what` names the other audit in the messages (`baseline target/a/audit_run.json`).
pub fn ensure_comparable(
    current: &Machine,
    other: &Machine,
    what: &str,
    cross_machine: bool,
) -> anyhow::Result<Option<String>> {
    let d = differences(current, other);
    if d.is_empty() {
        return Ok(None);
    }
    let listed = d.join("; ");
    if cross_machine {
        Ok(Some(format!(
            "{what} ran on another machine (this run vs it: {listed}); compared anyway (--cross-machine): \
             timing differences may come from the machines, not the code"
        )))
    } else {
        anyhow::bail!(
            "{what} ran on another machine (this run vs it: {listed}); timings of different machines are not \
             comparable: measure both on one machine, or pass --cross-machine to compare anyway"
        )
    }
}

/// `git rev-parse HEAD` and `git status --porcelain` in `root`; `None`s when git cannot tell.
pub fn probe_git(root: &Path) -> GitState {
    probe_git_excluding(root, &[])
}

/// [`probe_git`], not counting changes under the folders `excluded` (relative to `root`) as
/// dirty: `figures record` leaves out `docs/figures`, which each recording rewrites.
pub fn probe_git_excluding(root: &Path, excluded: &[&str]) -> GitState {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).current_dir(root).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).map(|s| s.trim().to_string());
    let exclusions: Vec<String> = excluded.iter().map(|p| format!(":(exclude){p}")).collect();
    let mut status_args = vec!["status", "--porcelain", "--", "."];
    status_args.extend(exclusions.iter().map(String::as_str));
    let status = git(&status_args);
    let dirty_paths: Vec<String> =
        status.as_deref().unwrap_or("").lines().filter(|l| l.len() > 3).map(|l| l[3..].to_string()).take(50).collect();
    GitState { commit, dirty: status.as_ref().map(|s| !s.trim().is_empty()), dirty_paths }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n\
flags\t\t: fpu sse avx2 fma avx512f avx512_bf16\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9R14\n";

    /// A machine with every identity field set.
    fn sample() -> Machine {
        let (cpu_model, cpu_flags) = parse_cpuinfo(CPUINFO);
        let rustflags = vec!["-C".to_string(), "target-cpu=native".to_string()];
        let mut m = Machine {
            cpu_model,
            logical_cores: 16,
            ram_bytes: 64 << 30,
            cpu_flags,
            os: "linux/x86_64".into(),
            cpu_flag_list: parse_cpu_flag_list(CPUINFO),
            kernel: "6.8.0-1021-aws".into(),
            rustc: "rustc 1.95.0 (59807616e 2026-04-14)".into(),
            profile: "release".into(),
            target_cpu: target_cpu(&rustflags),
            rustflags,
            rustflags_source: "RUSTFLAGS".into(),
            fingerprint: String::new(),
        };
        m.fingerprint = fingerprint(&m);
        m
    }

    /// `m` with its fingerprint recomputed after an edit.
    fn refingerprint(mut m: Machine) -> Machine {
        m.fingerprint = fingerprint(&m);
        m
    }

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
    fn full_flag_list_is_sorted_and_from_the_first_processor() {
        let text = format!("{CPUINFO}flags\t: zzz_only_on_cpu1\n");
        assert_eq!(parse_cpu_flag_list(&text), ["avx2", "avx512_bf16", "avx512f", "fma", "fpu", "sse"]);
        assert!(parse_cpu_flag_list("model name: x\n").is_empty());
        assert_eq!(parse_cpu_flag_list("processor: 0\nFeatures: fp asimd aes\n"), ["aes", "asimd", "fp"]);
    }

    #[test]
    fn meminfo_total_in_bytes() {
        assert_eq!(parse_meminfo_total("MemFree: 3 kB\nMemTotal:  16 kB\n"), Some(16 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 3 kB\n"), None);
        assert_eq!(parse_meminfo_total("MemTotal: x kB\n"), None);
        assert_eq!(ram_gib(25_276_194_816), 24);
        assert_eq!(ram_gib((16 << 30) - (100 << 20)), 16);
        assert_eq!(ram_gib(0), 0);
    }

    #[test]
    fn config_rustflags_as_string_array_and_dotted_key() {
        let string =
            "[alias]\nxtask = \"run -p xtask --\"\n\n[build]\nrustflags = \"-C target-cpu=native  -Dwarnings\"\n";
        assert_eq!(config_build_rustflags(string).unwrap(), ["-C", "target-cpu=native", "-Dwarnings"]);
        let array =
            "[build] # the build table\njobs = 2\nrustflags = [\n  \"-C\", # codegen\n  'target-cpu=x86-64-v3',\n]\n\
                     [target.x86_64-unknown-linux-gnu]\nrustflags = [\"-Cother\"]\n";
        assert_eq!(config_build_rustflags(array).unwrap(), ["-C", "target-cpu=x86-64-v3"]);
        let dotted = "build.rustflags = [\"-Ctarget-cpu=znver4\", \"--cfg=a#b\"]\n";
        assert_eq!(config_build_rustflags(dotted).unwrap(), ["-Ctarget-cpu=znver4", "--cfg=a#b"]);
        // Only `[build]` counts: the same key under another table, or no key, gives nothing.
        assert_eq!(config_build_rustflags("[target.'cfg(all())']\nrustflags = [\"-Cx\"]\n"), None);
        assert_eq!(config_build_rustflags("[alias]\nxtask = \"run\"\n"), None);
        assert_eq!(config_build_rustflags("[build]\nrustflags = []\n").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn rustflags_follow_cargos_precedence() {
        let config = Some("[build]\nrustflags = [\"-Cfrom-config\"]\n");
        assert_eq!(
            effective_rustflags(Some("-C\x1ftarget-cpu=native"), Some("-Cplain"), config),
            (vec!["-C".to_string(), "target-cpu=native".to_string()], "CARGO_ENCODED_RUSTFLAGS")
        );
        assert_eq!(effective_rustflags(Some(""), Some("-Cplain"), config), (vec![], "CARGO_ENCODED_RUSTFLAGS"));
        assert_eq!(effective_rustflags(None, Some(" -Cplain  -Dx "), config).0, ["-Cplain", "-Dx"]);
        assert_eq!(
            effective_rustflags(None, None, config),
            (vec!["-Cfrom-config".to_string()], ".cargo/config.toml [build] rustflags")
        );
        assert_eq!(effective_rustflags(None, None, Some("[alias]\n")), (vec![], "none"));
        assert_eq!(effective_rustflags(None, None, None), (vec![], "none"));
    }

    #[test]
    fn target_cpu_in_every_spelling_last_wins() {
        let f = |s: &str| target_cpu(&s.split_whitespace().map(str::to_string).collect::<Vec<_>>());
        assert_eq!(f("-C target-cpu=native"), Some("native".into()));
        assert_eq!(f("-Ctarget-cpu=znver4 -Copt-level=3"), Some("znver4".into()));
        assert_eq!(f("--codegen target-cpu=x86-64-v3"), Some("x86-64-v3".into()));
        assert_eq!(f("--codegen=target-cpu=a -C target-cpu=b"), Some("b".into()));
        assert_eq!(f("-C opt-level=3 -Ctarget-feature=+avx2"), None);
        assert_eq!(f("-C"), None);
    }

    #[test]
    fn fingerprint_covers_each_identity_field_and_nothing_else() {
        let m = sample();
        assert_eq!(m.fingerprint.len(), FINGERPRINT_HEX_DIGITS);
        assert!(m.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
        type Edit = (&'static str, fn(&mut Machine));
        let edits: Vec<Edit> = vec![
            ("cpu model", |m| m.cpu_model.push('X')),
            ("cpu flags", |m| m.cpu_flag_list.push("amx_tile".into())),
            ("logical cores", |m| m.logical_cores = 8),
            ("RAM", |m| m.ram_bytes = 32 << 30),
            ("os", |m| m.os = "linux/aarch64".into()),
            ("kernel", |m| m.kernel = "6.9.0".into()),
            ("rustc", |m| m.rustc = "rustc 1.94.0 (4a4ef493e 2026-03-02)".into()),
            ("profile", |m| m.profile = "dev".into()),
            ("rustflags", |m| m.rustflags.push("-Dwarnings".into())),
            ("target-cpu", |m| m.target_cpu = None),
        ];
        for (name, edit) in edits {
            let mut other = m.clone();
            edit(&mut other);
            let other = refingerprint(other);
            assert_ne!(other.fingerprint, m.fingerprint, "{name} must change the fingerprint");
            let d = differences(&m, &other);
            assert_eq!(d[0], format!("fingerprint: {} vs {}", m.fingerprint, other.fingerprint));
            assert_eq!(d.len(), 2, "{name}: {d:?}");
            assert!(d[1].starts_with(name), "{name}: {d:?}");
        }
        // Not identity: where the flags came from, the flag subset map, RAM within rounding.
        let mut same = m.clone();
        same.rustflags_source = ".cargo/config.toml [build] rustflags".into();
        same.cpu_flags.insert("avx2".into(), false);
        same.ram_bytes -= 3 << 20;
        assert_eq!(fingerprint(&same), m.fingerprint);
        assert!(differences(&m, &refingerprint(same)).is_empty());
    }

    #[test]
    fn differences_name_values_of_both_machines() {
        let a = sample();
        let mut b = a.clone();
        b.rustc = "rustc 1.94.0 (4a4ef493e 2026-03-02)".into();
        b.cpu_flag_list.retain(|f| f != "avx512f");
        b.cpu_flag_list.push("amx_tile".into());
        b.cpu_flag_list.sort();
        b.target_cpu = None;
        b.rustflags.clear();
        let b = refingerprint(b);
        assert_eq!(
            differences(&a, &b)[1..],
            [
                "rustc: rustc 1.95.0 (59807616e 2026-04-14) vs rustc 1.94.0 (4a4ef493e 2026-03-02)",
                "rustflags: `-C target-cpu=native` vs (none)",
                "target-cpu: native vs (default)",
                "cpu flags: only first: avx512f; only second: amx_tile",
            ]
        );
    }

    #[test]
    fn a_machine_without_fingerprint_is_another_machine() {
        let a = sample();
        let mut old = a.clone();
        old.fingerprint.clear();
        assert_eq!(differences(&a, &old), [format!("fingerprint: {} vs no fingerprint recorded", a.fingerprint)]);
        assert_eq!(differences(&old, &old), ["fingerprint: no fingerprint recorded vs no fingerprint recorded"]);
        // An audit from before the new fields: they show as not recorded.
        let older = Machine { kernel: String::new(), rustc: String::new(), ..old };
        let older = Machine { cpu_flag_list: vec![], ..older };
        let d = differences(&a, &older);
        assert!(d.contains(&"kernel: 6.8.0-1021-aws vs (not recorded)".to_string()), "{d:?}");
        assert!(d.contains(&"cpu flags: 6 flags vs (not recorded)".to_string()), "{d:?}");
        // Long flag lists are cut short.
        let many = refingerprint(Machine { cpu_flag_list: (0..20).map(|i| format!("f{i:02}")).collect(), ..a.clone() });
        let d = differences(&a, &many);
        let want = "cpu flags: only first: avx2 avx512_bf16 avx512f fma fpu sse; \
                    only second: f00 f01 f02 f03 f04 f05 f06 f07 f08 f09 f10 f11 and 8 more";
        assert_eq!(d.last().unwrap(), want);
    }

    #[test]
    fn older_audit_machines_still_parse() {
        let json = r#"{"cpu_model":"AMD EPYC","logical_cores":2,"ram_bytes":25276194816,
            "cpu_flags":{"avx2":true},"os":"linux/x86_64"}"#;
        let m: Machine = serde_json::from_str(json).unwrap();
        assert_eq!(m.logical_cores, 2);
        assert_eq!(m.fingerprint, "");
        assert_eq!(m.target_cpu, None);
        let back: Machine = serde_json::from_str(&serde_json::to_string(&sample()).unwrap()).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn comparisons_across_machines_need_the_flag() {
        let a = sample();
        assert_eq!(ensure_comparable(&a, &a.clone(), "baseline b.json", false).unwrap(), None);
        let b = refingerprint(Machine { logical_cores: 4, ..a.clone() });
        let err = ensure_comparable(&a, &b, "baseline b.json", false).unwrap_err().to_string();
        assert!(err.contains("baseline b.json ran on another machine"), "{err}");
        assert!(err.contains("logical cores: 16 vs 4"), "{err}");
        assert!(err.contains("--cross-machine"), "{err}");
        let note = ensure_comparable(&a, &b, "baseline b.json", true).unwrap().unwrap();
        assert!(note.contains("logical cores: 16 vs 4") && note.contains("compared anyway"), "{note}");
    }

    #[test]
    fn probe_of_this_machine_is_complete_and_self_consistent() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let m = probe_machine(&root, "release");
        assert_eq!(m.profile, "release");
        assert_eq!(m.fingerprint, fingerprint(&m));
        assert!(m.rustc.starts_with("rustc ") || m.rustc == "unknown", "{}", m.rustc);
        assert_eq!(m.target_cpu, target_cpu(&m.rustflags));
        assert!(!m.kernel.is_empty());
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert!(!m.cpu_flag_list.is_empty());
            assert_ne!(m.kernel, "unknown");
        }
        // Probing twice gives the same machine.
        assert_eq!(probe_machine(&root, "release").fingerprint, m.fingerprint);
        assert_ne!(probe_machine(&root, "dev").fingerprint, m.fingerprint);
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

    #[test]
    fn changes_under_an_excluded_folder_leave_the_tree_clean() {
        let tmp = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git").args(args).current_dir(tmp.path()).output().unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(tmp.path().join("docs/figures")).unwrap();
        std::fs::write(tmp.path().join("docs/figures/a.md"), "a table").unwrap();
        assert_eq!(probe_git_excluding(tmp.path(), &["docs/figures"]).dirty, Some(false));
        assert_eq!(probe_git(tmp.path()).dirty, Some(true));
        std::fs::write(tmp.path().join("src.rs"), "code").unwrap();
        let g = probe_git_excluding(tmp.path(), &["docs/figures"]);
        assert_eq!((g.dirty, g.dirty_paths), (Some(true), vec!["src.rs".to_string()]));
    }
}
