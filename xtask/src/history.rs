//! `cargo xtask history`: each metric's trend over the commits of HEAD, its step changes, and
//! one SVG per timed metric.
//!
//! # Where the history lives
//!
//! Every audit's summary, a [`HistoryEntry`], is one JSON line in a **git note** on the
//! audited commit, under [`NOTES_REF`] (as git-perf does), appended with
//! `git notes --ref=refs/notes/ironforge-history append`. Notes because:
//!
//! - they are keyed by commit, so the trend follows `git log --first-parent` and a rebase or
//!   a branch switch cannot attach numbers to the wrong code;
//! - they live in `.git`, so `cargo clean` and a fresh `target/` keep them;
//! - they are shared like any ref: `git push origin refs/notes/ironforge-history` and
//!   `git fetch origin refs/notes/ironforge-history:refs/notes/ironforge-history`;
//! - no file in the tree changes, so recording a run never dirties the tree nor conflicts in
//!   a merge.
//!
//! Writers take a lock in the git folder first: `git notes append` itself would let two
//! concurrent appends keep only one line.
//!
//! Where notes cannot be kept (a CI checkout that cannot push them, a cache folder) the same
//! lines go to a JSON-lines file instead (`--history-file PATH`, [`Store::File`]): appended
//! whole under an exclusive lock, so concurrent writers and a crash mid-write lose at most
//! the line being written. Either way the commits to show come from git.
//!
//! # What is compared
//!
//! Only entries of one machine are compared (the newest entry's [`Machine::fingerprint`], see
//! [`crate::machine`]), unless `--cross-machine`; only clean trees unless `--include-dirty`;
//! only the newest entry's tier (`quick` and `release` runs measure different amounts). A
//! commit measured several times counts once, with the median of its values. Step changes
//! come from e-divisive means ([`crate::changepoint`]).

use std::path::PathBuf;

use anyhow::Context;
use ironforge::gate::audit::{AuditRun, Machine};
use ironforge::gate::record::{RecordKind, Verdict, DETAIL_REGRESS};
use ironforge::gate::Comparator;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::release_check::workspace_root;

mod analysis;
mod report;
mod store;

use analysis::analyze;
use report::{plot, render_text};
use store::first_parent_commits;
pub use store::Store;

/// The notes ref that holds the history.
pub const NOTES_REF: &str = "refs/notes/ironforge-history";
/// Schema id of a [`HistoryEntry`].
pub const HISTORY_SCHEMA: &str = "ironforge.history/1";
/// Schema id of `history.json`.
pub const REPORT_SCHEMA: &str = "ironforge.history-report/1";
/// The data file written to `--out`.
pub const HISTORY_JSON: &str = "history.json";
/// Units of timed metrics (throughputs, times); a gate in one of them, or one that declares
/// `regress <= N% on probe` (its speed-up in `x`), is timed and gets a plot.
pub const TIMED_UNITS: [&str; 5] = ["sessions/s", "events/s", "subgraphs/s", "ms", "us"];

/// Arguments of `cargo xtask history`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Read the history from this JSON-lines file instead of the git notes.
    #[arg(long)]
    pub history_file: Option<PathBuf>,
    /// How many first-parent commits of HEAD to look at.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Folder of `history.json` and the plots (default `target/history/` in the repository).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Show only this metric (repeatable; default: every metric).
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Mix entries of every machine instead of only the newest entry's machine.
    #[arg(long)]
    pub cross_machine: bool,
    /// Also use entries measured on a tree with uncommitted changes.
    #[arg(long)]
    pub include_dirty: bool,
    /// The git repository (default: this workspace).
    #[arg(long)]
    pub repo: Option<PathBuf>,
}

/// One audit's summary, one JSON line in the history.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Always [`HISTORY_SCHEMA`].
    pub schema: String,
    /// The audited commit (full sha).
    pub commit: String,
    /// Whether the tree had uncommitted changes (or git could not tell).
    pub dirty: bool,
    /// When the entry was recorded (seconds since the Unix epoch).
    pub recorded_unix_s: u64,
    /// The machine, with its fingerprint.
    pub machine: Machine,
    /// Gate tier run: `release` or `quick`.
    pub tier: String,
    /// `PASS` or `FAIL`.
    pub overall: String,
    /// Every gate and scenario row with a finite value.
    pub metrics: Vec<HistoryMetric>,
}

/// One gate or scenario row of an entry.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HistoryMetric {
    /// Record name.
    pub name: String,
    /// Unit of value and interval.
    pub unit: String,
    /// The point value.
    pub value: f64,
    /// The 95% interval, when the row has a finite one.
    pub interval: Option<[f64; 2]>,
    /// `higher` (comparator `>=`, `>`) or `lower` (`<=`, `<`).
    pub better: Option<String>,
    /// A gate in one of the [`TIMED_UNITS`].
    pub timed: bool,
}

/// The history entry of `audit`, recorded at `recorded_unix_s`; `None` when the audit has no
/// commit. Rows whose value is not finite are left out (JSON has no NaN); a tree git could
/// not call clean counts as dirty.
pub fn entry_of(audit: &AuditRun, recorded_unix_s: u64) -> Option<HistoryEntry> {
    let commit = audit.git.commit.clone()?;
    let metrics = audit
        .gates
        .iter()
        .map(|g| &g.record)
        .filter(|r| r.value.is_finite())
        .map(|r| HistoryMetric {
            name: r.name.clone(),
            unit: r.unit.clone(),
            value: r.value,
            interval: r.interval.filter(|i| i.iter().all(|x| x.is_finite())),
            better: Comparator::from_symbol(&r.comparator)
                .map(|c| if c.wants_large() { "higher" } else { "lower" }.to_string()),
            timed: r.kind == RecordKind::Gate
                && (TIMED_UNITS.contains(&r.unit.as_str()) || r.details.contains_key(DETAIL_REGRESS)),
        })
        .collect();
    Some(HistoryEntry {
        schema: HISTORY_SCHEMA.to_string(),
        commit,
        dirty: audit.git.dirty.unwrap_or(true),
        recorded_unix_s,
        machine: audit.machine.clone(),
        tier: audit.config.tier.clone(),
        overall: if audit.overall.verdict == Verdict::Pass { "PASS" } else { "FAIL" }.to_string(),
        metrics,
    })
}

/// Seconds since the Unix epoch, for [`entry_of`].
pub fn now_unix_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Prints every metric's trend and its step changes, and writes `history.json` and the plots.
pub fn run(args: Args) -> anyhow::Result<()> {
    let repo = args.repo.clone().unwrap_or_else(workspace_root);
    let out = args.out.clone().unwrap_or_else(|| repo.join("target").join("history"));
    let commits = first_parent_commits(&repo, args.limit)?;
    let store = Store::new(&repo, args.history_file.as_deref());
    let loaded = store.read(&commits)?;
    for m in &loaded.malformed {
        eprintln!("warning: skipped {m}");
    }
    let report = analyze(&commits, loaded, &store.describe(), &args.metrics, args.cross_machine, args.include_dirty)?;
    print!("{}", render_text(&report));
    let mut plots = 0;
    for (m, name) in report.metrics.iter().filter_map(|m| Some((m, m.svg.as_deref()?))) {
        let svg = plot(m).with_context(|| format!("plot {}", m.name))?;
        write_atomic(&out.join(name), svg.as_bytes())?;
        plots += 1;
    }
    let mut bytes = serde_json::to_vec_pretty(&report).context("serialize history.json")?;
    bytes.push(b'\n');
    write_atomic(&out.join(HISTORY_JSON), &bytes)?;
    println!("wrote {} and {plots} plots", out.join(HISTORY_JSON).display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::analysis::HistoryReport;
    use super::analysis::{file_stem, median};
    use super::report::{entries, percent, short};
    use super::store::{git, Loaded};
    use super::*;
    use crate::testdata;
    use std::io::Write;
    use std::path::Path;

    /// `git` in `dir` with a fixed identity and no signing, whatever the user's config says.
    fn git_in(dir: &Path, args: &[&str]) -> String {
        let out = git(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A fresh repository in `dir` with `n` empty commits; their shas, oldest first.
    fn repo_with_commits(dir: &Path, n: usize) -> Vec<String> {
        git_in(dir, &["init", "-q", "-b", "main"]);
        (0..n)
            .map(|i| {
                git_in(dir, &["commit", "-q", "--allow-empty", "-m", &format!("commit {i}")]);
                git_in(dir, &["rev-parse", "HEAD"])
            })
            .collect()
    }

    /// The fixed test machine, fingerprinted; `cores` tells machines apart.
    fn machine(cores: usize) -> Machine {
        let mut m = Machine { logical_cores: cores, ..testdata::machine() };
        m.fingerprint = crate::machine::fingerprint(&m);
        m
    }

    /// An entry of `commit` with a timed speed-up and an untimed error.
    fn entry(commit: &str, machine: &Machine, speedup: f64) -> HistoryEntry {
        HistoryEntry {
            schema: HISTORY_SCHEMA.into(),
            commit: commit.into(),
            dirty: false,
            recorded_unix_s: 1_700_000_000,
            machine: machine.clone(),
            tier: "release".into(),
            overall: "PASS".into(),
            metrics: vec![
                HistoryMetric {
                    name: "session_speedup".into(),
                    unit: "x".into(),
                    value: speedup,
                    interval: Some([speedup * 0.98, speedup * 1.02]),
                    better: Some("higher".into()),
                    timed: true,
                },
                HistoryMetric {
                    name: "attention_parity".into(),
                    unit: "abs".into(),
                    value: 1e-7,
                    interval: None,
                    better: Some("lower".into()),
                    timed: false,
                },
            ],
        }
    }

    /// Speed-ups of 8 commits with a 10% step up at the fifth.
    const STEP: [f64; 8] = [2.0, 2.02, 1.98, 2.01, 2.2, 2.22, 2.19, 2.21];

    /// The defaults of the command line, on `repo`, writing to `out`.
    fn args(repo: &Path, out: &Path) -> Args {
        Args {
            history_file: None,
            limit: 50,
            out: Some(out.to_path_buf()),
            metrics: vec![],
            cross_machine: false,
            include_dirty: false,
            repo: Some(repo.to_path_buf()),
        }
    }

    #[test]
    fn entry_of_an_audit_keeps_every_row() {
        let mut audit = testdata::audit(false);
        let speedup = audit.gates.iter_mut().find(|g| g.record.name == "attention_speedup").unwrap();
        speedup.record.details.insert(DETAIL_REGRESS.into(), serde_json::json!({"tolerance_pct": 5.0, "probe": "p"}));
        let e = entry_of(&audit, 42).unwrap();
        assert_eq!(
            (e.schema.as_str(), e.commit.as_str(), e.dirty, e.recorded_unix_s),
            (HISTORY_SCHEMA, &*"0".repeat(40), false, 42)
        );
        assert_eq!((e.tier.as_str(), e.overall.as_str()), ("release", "PASS"));
        assert_eq!(e.metrics.len(), audit.gates.len());
        let speed = e.metrics.iter().find(|m| m.name == "attention_speedup").unwrap();
        assert_eq!(
            speed,
            &HistoryMetric {
                name: "attention_speedup".into(),
                unit: "x".into(),
                value: 2.0,
                interval: Some([1.8, 2.2]),
                better: Some("higher".into()),
                timed: true
            }
        );
        let parity = e.metrics.iter().find(|m| m.name == "attention_parity").unwrap();
        assert_eq!((parity.better.as_deref(), parity.timed), (Some("lower"), false), "a scenario is never timed");
        let memory = e.metrics.iter().find(|m| m.name == "peak_memory").unwrap();
        assert!(!memory.timed, "% is not a timed unit");
        let untimed_ratio = entry_of(&testdata::audit(false), 42).unwrap();
        let speed = untimed_ratio.metrics.iter().find(|m| m.name == "attention_speedup").unwrap();
        assert!(!speed.timed, "a ratio is timed only with a regression probe");
        let mut no_commit = audit.clone();
        no_commit.git.commit = None;
        assert_eq!(entry_of(&no_commit, 42), None);
        let mut unknown = audit;
        unknown.git.dirty = None;
        let e = entry_of(&unknown, now_unix_s()).unwrap();
        assert!(e.dirty);
        assert!(e.recorded_unix_s > 1_700_000_000);
    }

    #[test]
    fn notes_round_trip_in_a_temporary_repository() {
        let dir = tempfile::tempdir().unwrap();
        let commits = repo_with_commits(dir.path(), 2);
        let store = Store::Notes { repo: dir.path().to_path_buf() };
        assert_eq!(store.read(&commits).unwrap().entries, []);
        let (a, b) = (entry(&commits[0], &machine(2), 2.0), entry(&commits[0], &machine(2), 2.1));
        store.append(&a).unwrap();
        store.append(&b).unwrap();
        assert_eq!(store.read(&commits).unwrap().entries, [a.clone(), b.clone()]);
        assert_eq!(store.read(&commits[1..]).unwrap().entries, []);
        // The note is on the commit, under the history ref, one line per entry.
        let note = git_in(dir.path(), &["notes", "--ref", NOTES_REF, "show", &commits[0]]);
        assert_eq!(note.lines().filter(|l| !l.is_empty()).count(), 2);
        // A line that is no entry, or an entry copied onto another commit, is skipped and named.
        git_in(dir.path(), &["notes", "--ref", NOTES_REF, "append", "-m", "{not json", &commits[0]]);
        git_in(
            dir.path(),
            &["notes", "--ref", NOTES_REF, "add", "-m", &serde_json::to_string(&a).unwrap(), &commits[1]],
        );
        let loaded = store.read(&commits).unwrap();
        assert_eq!(loaded.entries, [a, b]);
        assert_eq!(loaded.malformed.len(), 2, "{:?}", loaded.malformed);
        assert!(loaded.malformed.iter().any(|m| m.contains(&commits[0]) && m.contains("not a history entry")));
        assert!(loaded.malformed.iter().any(|m| m.contains("copied by a rewrite")));
    }

    #[test]
    fn concurrent_note_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let commits = repo_with_commits(dir.path(), 2);
        let store = Store::Notes { repo: dir.path().to_path_buf() };
        std::thread::scope(|s| {
            for t in 0..4 {
                let (store, commits) = (&store, &commits);
                s.spawn(move || {
                    for k in 0..6 {
                        store.append(&entry(&commits[k % 2], &machine(2), t as f64 + k as f64 / 100.0)).unwrap();
                    }
                });
            }
        });
        let loaded = store.read(&commits).unwrap();
        assert_eq!((loaded.entries.len(), loaded.malformed.len()), (24, 0));
    }

    #[test]
    fn file_store_round_trip_survives_a_cut_line_and_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache").join("history.jsonl");
        let store = Store::File { path: path.clone() };
        let commits: Vec<String> = (0..4).map(|i| format!("{i:040x}")).collect();
        assert_eq!(store.read(&commits).unwrap().entries, [], "a missing file is an empty history");
        let first = entry(&commits[2], &machine(2), 2.0);
        store.append(&first).unwrap();
        // A crash in the middle of a line: the next entry must still be whole.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"schema\":\"ironfo").unwrap();
        let second = entry(&commits[0], &machine(2), 1.9);
        store.append(&second).unwrap();
        let loaded = store.read(&commits).unwrap();
        assert_eq!(loaded.entries, [second, first], "commit order, not file order");
        assert_eq!(loaded.malformed.len(), 1);
        assert!(loaded.malformed[0].contains("line 2"), "{:?}", loaded.malformed);
        // Eight writers at once: every line arrives whole.
        std::thread::scope(|s| {
            for t in 0..8 {
                let (store, commit) = (&store, &commits[3]);
                s.spawn(move || {
                    for k in 0..25 {
                        store.append(&entry(commit, &machine(2), t as f64 + k as f64 / 100.0)).unwrap();
                    }
                });
            }
        });
        let loaded = store.read(&commits).unwrap();
        assert_eq!(loaded.entries.len(), 2 + 200);
        assert_eq!(loaded.malformed.len(), 1);
    }

    #[test]
    fn run_finds_the_step_and_writes_data_and_plots() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let commits = repo_with_commits(&repo, 8);
        let store = Store::Notes { repo: repo.clone() };
        let (here, there) = (machine(2), machine(64));
        for (c, v) in commits.iter().zip(STEP) {
            store.append(&entry(c, &there, v * 3.0)).unwrap();
            store.append(&entry(c, &here, v)).unwrap();
        }
        // A second, slightly different measurement of one commit, and a dirty outlier.
        store.append(&entry(&commits[1], &here, 2.0)).unwrap();
        store.append(&HistoryEntry { dirty: true, ..entry(&commits[6], &here, 9.0) }).unwrap();
        let out = dir.path().join("out");
        run(args(&repo, &out)).unwrap();
        let report: HistoryReport = serde_json::from_slice(&std::fs::read(out.join(HISTORY_JSON)).unwrap()).unwrap();
        assert_eq!(report.commits, commits);
        assert_eq!((report.entries_found, report.entries_used), (18, 9));
        assert_eq!((report.skipped_dirty, report.skipped_other_machines), (1, 8));
        assert_eq!(report.machines.len(), 1);
        assert_eq!(report.machines[0].fingerprint, here.fingerprint);
        assert_eq!(report.combined, [(commits[1].clone(), 2)]);
        let speed = report.metrics.iter().find(|m| m.name == "session_speedup").unwrap();
        assert_eq!(speed.series.len(), 8);
        assert!((speed.series[1].value - 2.01).abs() < 1e-12, "the median of 2.02 and 2.0");
        assert_eq!(speed.steps.len(), 1, "{:?}", speed.steps);
        let step = &speed.steps[0];
        assert_eq!(
            (step.index, step.commit.as_str(), step.direction.as_str()),
            (4, commits[4].as_str(), "improvement")
        );
        assert!((step.relative_change.unwrap() - 0.1).abs() < 0.01, "{step:?}");
        assert!(step.p_value < 0.05);
        let svg = std::fs::read_to_string(out.join("session_speedup.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("step change"), "{}", &svg[..200.min(svg.len())]);
        let parity = report.metrics.iter().find(|m| m.name == "attention_parity").unwrap();
        assert_eq!((parity.steps.len(), parity.svg.as_ref()), (0, None));
        assert!(!out.join("attention_parity.svg").exists());
        // The same data rendered twice is the same file.
        let first = std::fs::read(out.join(HISTORY_JSON)).unwrap();
        run(args(&repo, &out)).unwrap();
        assert_eq!(std::fs::read(out.join(HISTORY_JSON)).unwrap(), first);
    }

    #[test]
    fn other_machines_count_only_with_cross_machine() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let commits = repo_with_commits(&repo, 8);
        let file = dir.path().join("history.jsonl");
        let store = Store::File { path: file.clone() };
        let (here, there) = (machine(2), machine(64));
        let mut fingerprintless = here.clone();
        fingerprintless.fingerprint.clear();
        for (i, c) in commits.iter().enumerate() {
            let m = match i {
                0..3 => &there,
                3 => &fingerprintless,
                _ => &here,
            };
            store.append(&entry(c, m, 2.0 + i as f64 * 0.001)).unwrap();
        }
        let out = dir.path().join("out");
        let with_file = |cross_machine| Args { history_file: Some(file.clone()), cross_machine, ..args(&repo, &out) };
        run(with_file(false)).unwrap();
        let report: HistoryReport = serde_json::from_slice(&std::fs::read(out.join(HISTORY_JSON)).unwrap()).unwrap();
        assert_eq!((report.entries_used, report.skipped_other_machines), (4, 4));
        let speed = report.metrics.iter().find(|m| m.name == "session_speedup").unwrap();
        assert_eq!(speed.series.iter().map(|p| p.commit.clone()).collect::<Vec<_>>(), commits[4..]);
        run(with_file(true)).unwrap();
        let report: HistoryReport = serde_json::from_slice(&std::fs::read(out.join(HISTORY_JSON)).unwrap()).unwrap();
        assert_eq!((report.entries_used, report.skipped_other_machines, report.machines.len()), (8, 0, 3));
        assert!(render_text(&report).contains("entries from several machines are mixed"));
        assert!(render_text(&report).contains("no fingerprint recorded"));
    }

    #[test]
    fn errors_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let not_git = dir.path().join("plain");
        std::fs::create_dir(&not_git).unwrap();
        let err = format!("{:#}", run(args(&not_git, &out)).unwrap_err());
        assert!(err.contains("is not a git repository"), "{err}");
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let commits = repo_with_commits(&repo, 2);
        let err = format!("{:#}", run(args(&repo, &out)).unwrap_err());
        assert!(err.contains("no history entries") && err.contains("cargo xtask release-check"), "{err}");
        let store = Store::Notes { repo: repo.clone() };
        store.append(&HistoryEntry { dirty: true, ..entry(&commits[0], &machine(2), 2.0) }).unwrap();
        let err = format!("{:#}", run(args(&repo, &out)).unwrap_err());
        assert!(err.contains("--include-dirty"), "{err}");
        run(Args { include_dirty: true, ..args(&repo, &out) }).unwrap();
        let err = format!(
            "{:#}",
            run(Args { metrics: vec!["sesion_speedup".into()], include_dirty: true, ..args(&repo, &out) }).unwrap_err()
        );
        assert!(
            err.contains("unknown metric `sesion_speedup`") && err.contains("attention_parity, session_speedup"),
            "{err}"
        );
        assert!(!out.join("attention_parity.svg").exists());
    }

    #[test]
    fn tier_and_metric_filters_and_the_text_report() {
        const LEVELS: [f64; 12] = [2.0, 2.02, 1.98, 2.01, 2.0, 1.99, 2.2, 2.22, 2.19, 2.21, 2.2, 2.18];
        let commits: Vec<String> = (0..12).map(|i| format!("{i:040x}")).collect();
        let here = machine(2);
        let mut entries: Vec<HistoryEntry> = commits.iter().zip(LEVELS).map(|(c, v)| entry(c, &here, v)).collect();
        let malformed = vec!["history file h line 3: not a history entry".to_string()];
        // The newest entry is of the quick tier: only it is used.
        let mut quick = entries.clone();
        quick[11].tier = "quick".into();
        let r = analyze(&commits, Loaded { entries: quick, malformed: vec![] }, "h", &[], false, false).unwrap();
        assert_eq!((r.tier.as_str(), r.entries_used, r.skipped_other_tier), ("quick", 1, 11));
        entries.insert(1, HistoryEntry { tier: "quick".into(), ..entry(&commits[0], &here, 5.0) });
        let wanted = vec!["session_speedup".to_string()];
        let r = analyze(&commits, Loaded { entries, malformed }, "history file h", &wanted, false, false).unwrap();
        assert_eq!((r.tier.as_str(), r.entries_used, r.skipped_other_tier), ("release", 12, 1));
        assert_eq!(r.metrics.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["session_speedup"]);
        let steps = &r.metrics[0].steps;
        assert_eq!(steps.iter().map(|s| s.index).collect::<Vec<_>>(), [6]);
        assert!((steps[0].mean_before - 2.0).abs() < 1e-12 && (steps[0].mean_after - 2.2).abs() < 1e-12);
        let text = render_text(&r);
        assert!(text.contains("12 of 13 entries used (tier release)"), "{text}");
        assert!(text.contains("1 of another tier, 1 unreadable"), "{text}");
        assert!(text.contains("<- +10.0% improvement (p = "), "{text}");
        let line = format!("session_speedup: from {}, 2 -> 2.2 x (+10.0%, improvement), p = ", short(&commits[6]));
        assert!(text.contains(&line), "{text}");
        assert!(text.contains("step changes (e-divisive means, α = 1, 199 seeded permutations, p < 0.05"), "{text}");
    }

    #[test]
    fn helpers() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(file_stem("a/b c::d-1.x"), "a_b_c__d-1.x");
        assert_eq!(percent(Some(-0.1234)), "-12.3%");
        assert_eq!(percent(None), "n/a");
        assert_eq!((entries(1), entries(2)), ("1 entry".to_string(), "2 entries".to_string()));
    }
}
