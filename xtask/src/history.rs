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

use crate::atomic::write_atomic;
use crate::changepoint::{e_divisive, Params, PARAMS};
use crate::format::{interval as show_interval, num};
use crate::plots::{legend, plot_err, svg_of};
use crate::release_check::workspace_root;
use anyhow::Context;
use ironforge::gate::audit::{AuditRun, Machine};
use ironforge::gate::record::{RecordKind, Verdict, DETAIL_REGRESS};
use ironforge::gate::Comparator;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

/// Where history entries are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Git notes under [`NOTES_REF`] in this repository.
    Notes {
        /// The repository (any folder inside its work tree).
        repo: PathBuf,
    },
    /// A JSON-lines file.
    File {
        /// The file.
        path: PathBuf,
    },
}

/// What [`Store::read`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Entries of the commits asked for, in their order, each commit's in recording order.
    pub entries: Vec<HistoryEntry>,
    /// One line per entry that could not be read (where, and why); skipped.
    pub malformed: Vec<String>,
}

impl Store {
    /// The file store when `history_file` is given, else the notes of `repo`.
    pub fn new(repo: &Path, history_file: Option<&Path>) -> Store {
        match history_file {
            Some(path) => Store::File { path: path.to_path_buf() },
            None => Store::Notes { repo: repo.to_path_buf() },
        }
    }

    /// The store in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::Notes { repo } => format!("git notes {NOTES_REF} of {}", repo.display()),
            Store::File { path } => format!("history file {}", path.display()),
        }
    }

    /// Appends `entry` as one JSON line: to the note of its commit, or to the end of the file.
    pub fn append(&self, entry: &HistoryEntry) -> anyhow::Result<()> {
        let line = serde_json::to_string(entry).context("serialize history entry")?;
        match self {
            Store::Notes { repo } => append_note(repo, &entry.commit, &line),
            Store::File { path } => append_line(path, &line),
        }
        .with_context(|| format!("record commit {} in the {}", entry.commit, self.describe()))
    }

    /// The entries of `commits` and the lines that could not be read.
    pub fn read(&self, commits: &[String]) -> anyhow::Result<Loaded> {
        let order: HashMap<&str, usize> = commits.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let mut found: Vec<(usize, HistoryEntry)> = Vec::new();
        let mut malformed = Vec::new();
        let texts = match self {
            Store::Notes { repo } => {
                read_notes(repo, &order).with_context(|| format!("read the {}", self.describe()))?
            }
            Store::File { path } => {
                vec![(None, read_locked(path).with_context(|| format!("read the {}", self.describe()))?)]
            }
        };
        for (note_commit, text) in &texts {
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let place = match note_commit {
                    Some(c) => format!("note on commit {c} line {}", n + 1),
                    None => format!("{} line {}", self.describe(), n + 1),
                };
                match parse_entry(line, note_commit.as_deref()) {
                    Ok(e) => {
                        if let Some(&i) = order.get(e.commit.as_str()) {
                            found.push((i, e));
                        }
                    }
                    Err(why) => malformed.push(format!("{place}: {why}")),
                }
            }
        }
        // Stable: a commit's entries keep their recording order.
        found.sort_by_key(|(i, _)| *i);
        Ok(Loaded { entries: found.into_iter().map(|(_, e)| e).collect(), malformed })
    }
}

/// One history line; a note's line must name the commit the note is on.
fn parse_entry(line: &str, note_commit: Option<&str>) -> Result<HistoryEntry, String> {
    let e: HistoryEntry = serde_json::from_str(line).map_err(|e| format!("not a history entry: {e}"))?;
    if e.schema != HISTORY_SCHEMA {
        return Err(format!("schema `{}`, expected `{HISTORY_SCHEMA}`", e.schema));
    }
    if let Some(c) = note_commit.filter(|c| *c != e.commit) {
        return Err(format!("records commit {} but is attached to {c} (copied by a rewrite?)", e.commit));
    }
    Ok(e)
}

/// `git` in `repo` (and no other repository: `GIT_DIR` and `GIT_WORK_TREE` are not inherited).
fn git(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(repo).env_remove("GIT_DIR").env_remove("GIT_WORK_TREE");
    cmd
}

/// Runs `cmd` and returns its stdout; an error with its stderr when it fails.
fn stdout_of(mut cmd: Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("run {what}"))?;
    ensure_success(&out, what)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An error naming `what` and its stderr when `out` is a failure.
fn ensure_success(out: &Output, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Appends `line` to the note of `commit`, from stdin (no argument length limit).
///
/// `git notes append` reads the notes tree, writes a new notes commit and moves the ref
/// without checking that it still points where it was read: two appends at once keep only
/// one line. Writers through this function therefore take an exclusive lock on
/// `ironforge-history.lock` in the repository's common git folder first; a writer outside it
/// (a hand-run `git notes`) holding the ref's own lock is waited out by retrying. A repository
/// without a committer identity gets `ironforge xtask` as the notes commit's author.
fn append_note(repo: &Path, commit: &str, line: &str) -> anyhow::Result<()> {
    let mut common = git(repo);
    common.args(["rev-parse", "--git-common-dir"]);
    let common = repo.join(stdout_of(common, "git rev-parse --git-common-dir")?.trim());
    let lock_path = common.join("ironforge-history.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("open {}", lock_path.display()))?;
    lock.lock().with_context(|| format!("lock {}", lock_path.display()))?;
    let mut ident = git(repo);
    ident.args(["var", "GIT_COMMITTER_IDENT"]).stdout(Stdio::null()).stderr(Stdio::null());
    let has_ident = ident.status().context("run git var")?.success();
    for attempt in 1..=5u64 {
        let mut cmd = git(repo);
        if !has_ident {
            cmd.args(["-c", "user.name=ironforge xtask", "-c", "user.email=xtask@ironforge.invalid"]);
        }
        cmd.args(["notes", "--ref", NOTES_REF, "append", "-F", "-", commit]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("run git notes append")?;
        let mut stdin = child.stdin.take().context("git notes append has no stdin")?;
        stdin.write_all(line.as_bytes()).context("write to git notes append")?;
        drop(stdin);
        let out = child.wait_with_output().context("wait for git notes append")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && stderr.contains(".lock") && attempt < 5 {
            std::thread::sleep(std::time::Duration::from_millis(100 * attempt));
            continue;
        }
        return ensure_success(&out, "git notes append");
    }
    unreachable!("the last attempt returns")
}

/// The note texts of the commits in `wanted`, with their commits: `git notes list` finds the
/// notes, one `git cat-file --batch` reads them.
fn read_notes(repo: &Path, wanted: &HashMap<&str, usize>) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let mut list = git(repo);
    list.args(["notes", "--ref", NOTES_REF, "list"]);
    let listed = stdout_of(list, "git notes list")?;
    let notes: Vec<(String, String)> = listed
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, commit)| wanted.contains_key(commit))
        .map(|(blob, commit)| (blob.to_string(), commit.to_string()))
        .collect();
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("run git cat-file --batch")?;
    let mut stdin = child.stdin.take().context("git cat-file has no stdin")?;
    let input: String = notes.iter().map(|(blob, _)| format!("{blob}\n")).collect();
    // Written from another thread: git answers while it reads, and a full pipe each way would
    // block both sides.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().context("wait for git cat-file --batch")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer to git cat-file panicked"))?
        .context("write to git cat-file")?;
    ensure_success(&out, "git cat-file --batch")?;
    let mut rest = out.stdout.as_slice();
    let mut texts = Vec::with_capacity(notes.len());
    for (blob, commit) in notes {
        let end = rest.iter().position(|&b| b == b'\n').context("git cat-file: output cut short")?;
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let size: usize = match header.split(' ').collect::<Vec<_>>()[..] {
            [oid, "blob", size] if oid == blob => size.parse().with_context(|| format!("git cat-file: `{header}`"))?,
            _ => anyhow::bail!("git cat-file: expected blob {blob}, got `{header}`"),
        };
        let body = rest.get(end + 1..end + 1 + size).context("git cat-file: output cut short")?;
        texts.push((Some(commit), String::from_utf8_lossy(body).into_owned()));
        rest = rest.get(end + 2 + size..).unwrap_or_default();
    }
    Ok(texts)
}

/// Appends `line` and a newline to `path` in one write, under an exclusive lock, on a file
/// opened for appending; a last line left without its newline by a crash is ended first, so
/// it cannot swallow this one.
fn append_line(path: &Path, line: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create folder {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    f.lock().with_context(|| format!("lock {}", path.display()))?;
    let mut bytes = Vec::with_capacity(line.len() + 2);
    if f.metadata().with_context(|| format!("stat {}", path.display()))?.len() > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::End(-1))
            .and_then(|_| f.read_exact(&mut last))
            .with_context(|| format!("read {}", path.display()))?;
        if last[0] != b'\n' {
            bytes.push(b'\n');
        }
    }
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    f.write_all(&bytes).with_context(|| format!("append to {}", path.display()))?;
    f.sync_data().with_context(|| format!("sync {}", path.display()))?;
    // Closing the file releases the lock.
    Ok(())
}

/// The text of `path` read under a shared lock (empty when the file does not exist).
fn read_locked(path: &Path) -> anyhow::Result<String> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    f.lock_shared().with_context(|| format!("lock {}", path.display()))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).with_context(|| format!("read {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The last `limit` first-parent commits of HEAD in `repo`, oldest first.
pub fn first_parent_commits(repo: &Path, limit: u32) -> anyhow::Result<Vec<String>> {
    let mut cmd = git(repo);
    cmd.args(["rev-list", "--first-parent", "--max-count", &limit.to_string(), "HEAD"]);
    let out = cmd.output().context("run git rev-list (is git installed?)")?;
    anyhow::ensure!(
        out.status.success(),
        "{} is not a git repository with commits (git rev-list HEAD: {}); the history is kept per commit",
        repo.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let mut commits: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    commits.reverse();
    Ok(commits)
}

/// One commit's value of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The commit.
    pub commit: String,
    /// The median of its entries' values.
    pub value: f64,
    /// The medians of its entries' interval ends, when they have intervals.
    pub interval: Option<[f64; 2]>,
    /// How many entries were combined.
    pub entries: usize,
    /// Whether one of them was of a dirty tree.
    pub dirty: bool,
}

/// A detected step change of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Index in the series of the first point of the new level.
    pub index: usize,
    /// Its commit.
    pub commit: String,
    /// Mean of the level before (back to the previous step or the start).
    pub mean_before: f64,
    /// Mean of the new level (up to the next step or the end).
    pub mean_after: f64,
    /// `(after − before) / |before|`; `None` when the level before is 0.
    pub relative_change: Option<f64>,
    /// `improvement` or `regression` (from the metric's better direction), else `change`.
    pub direction: String,
    /// The permutation test's p-value.
    pub p_value: f64,
    /// The e-divisive statistic of the split.
    pub q: f64,
}

/// One metric over the commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricHistory {
    /// Record name.
    pub name: String,
    /// Unit (of the newest entry; points in another unit are left out).
    pub unit: String,
    /// `higher` or `lower`.
    pub better: Option<String>,
    /// Whether it is a timed gate (and has a plot).
    pub timed: bool,
    /// Its value at each commit that measured it, oldest first.
    pub series: Vec<SeriesPoint>,
    /// Points left out because they were measured in another unit.
    pub other_unit_points: usize,
    /// Step changes, oldest first.
    pub steps: Vec<Step>,
    /// The plot's file name in the output folder, for timed metrics.
    pub svg: Option<String>,
}

/// How many of the used entries came from one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineCount {
    /// The machine's fingerprint (empty when not recorded).
    pub fingerprint: String,
    /// Its CPU model.
    pub cpu_model: String,
    /// Entries.
    pub entries: usize,
}

/// `history.json`: what was read, what was kept, and every metric's series and steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryReport {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// Where the entries came from.
    pub store: String,
    /// First-parent commits of HEAD looked at, oldest first.
    pub commits: Vec<String>,
    /// Entries of those commits in the store.
    pub entries_found: usize,
    /// Lines that could not be read (skipped).
    pub malformed: Vec<String>,
    /// Entries of dirty trees skipped (none with `--include-dirty`).
    pub skipped_dirty: usize,
    /// Entries of other machines skipped (none with `--cross-machine`).
    pub skipped_other_machines: usize,
    /// Entries of another tier than the newest entry's, skipped.
    pub skipped_other_tier: usize,
    /// Entries used.
    pub entries_used: usize,
    /// Whether entries of several machines may be mixed.
    pub cross_machine: bool,
    /// The machines of the entries used.
    pub machines: Vec<MachineCount>,
    /// The tier of the entries used.
    pub tier: String,
    /// Commits whose several entries were combined into medians, with their counts.
    pub combined: Vec<(String, usize)>,
    /// The change-point method's parameters.
    pub method: Params,
    /// The metrics, by name.
    pub metrics: Vec<MetricHistory>,
}

/// The median of non-empty `v`.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Keeps the entries to compare and builds every metric's history (all metrics when
/// `wanted` is empty); errors when nothing is left or a wanted metric is unknown.
pub fn analyze(
    commits: &[String],
    loaded: Loaded,
    store: &str,
    wanted: &[String],
    cross_machine: bool,
    include_dirty: bool,
) -> anyhow::Result<HistoryReport> {
    let found = loaded.entries.len();
    anyhow::ensure!(
        found > 0,
        "no history entries for the last {} first-parent commits of HEAD in the {store}{}; record one with \
         `cargo xtask release-check` (it adds each audit's summary), or fetch shared notes with \
         `git fetch origin {NOTES_REF}:{NOTES_REF}`",
        commits.len(),
        if loaded.malformed.is_empty() { String::new() } else { format!(" ({} unreadable)", loaded.malformed.len()) }
    );
    let (clean, dirty): (Vec<HistoryEntry>, Vec<HistoryEntry>) =
        loaded.entries.into_iter().partition(|e| include_dirty || !e.dirty);
    anyhow::ensure!(
        !clean.is_empty(),
        "all {} history entries of these commits were measured on dirty trees; pass --include-dirty to use them",
        dirty.len()
    );
    let newest = clean.last().expect("not empty").clone();
    let (same_machine, other_machines): (Vec<HistoryEntry>, Vec<HistoryEntry>) = clean
        .into_iter()
        .partition(|e| cross_machine || crate::machine::differences(&newest.machine, &e.machine).is_empty());
    anyhow::ensure!(
        !same_machine.is_empty(),
        "the newest history entry (commit {}) has no machine fingerprint, so no entry can be compared with it; \
         pass --cross-machine to mix machines",
        newest.commit
    );
    let (used, other_tier): (Vec<HistoryEntry>, Vec<HistoryEntry>) =
        same_machine.into_iter().partition(|e| e.tier == newest.tier);
    let mut machines: Vec<MachineCount> = Vec::new();
    for e in &used {
        match machines.iter_mut().find(|m| m.fingerprint == e.machine.fingerprint) {
            Some(m) => m.entries += 1,
            None => machines.push(MachineCount {
                fingerprint: e.machine.fingerprint.clone(),
                cpu_model: e.machine.cpu_model.clone(),
                entries: 1,
            }),
        }
    }
    // Per commit (in order): each metric's entries.
    let mut by_commit: BTreeMap<usize, Vec<&HistoryEntry>> = BTreeMap::new();
    let index: HashMap<&str, usize> = commits.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    for e in &used {
        if let Some(&i) = index.get(e.commit.as_str()) {
            by_commit.entry(i).or_default().push(e);
        }
    }
    let combined: Vec<(String, usize)> =
        by_commit.iter().filter(|(_, es)| es.len() > 1).map(|(&i, es)| (commits[i].clone(), es.len())).collect();
    // The newest description of each metric names its unit, direction and kind.
    let mut described: BTreeMap<String, HistoryMetric> = BTreeMap::new();
    for e in &used {
        for m in &e.metrics {
            described.insert(m.name.clone(), m.clone());
        }
    }
    let unknown: Vec<&String> = wanted.iter().filter(|w| !described.contains_key(*w)).collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "unknown metric {}; the entries used know: {}",
        unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
        described.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    let metrics = described
        .values()
        .filter(|d| wanted.is_empty() || wanted.contains(&d.name))
        .map(|d| metric_history(d, commits, &by_commit))
        .collect();
    Ok(HistoryReport {
        schema: REPORT_SCHEMA.to_string(),
        store: store.to_string(),
        commits: commits.to_vec(),
        entries_found: found,
        malformed: loaded.malformed,
        skipped_dirty: dirty.len(),
        skipped_other_machines: other_machines.len(),
        skipped_other_tier: other_tier.len(),
        entries_used: used.len(),
        cross_machine,
        machines,
        tier: newest.tier,
        combined,
        method: PARAMS,
        metrics,
    })
}

/// The series of the metric `d` over the commits and its steps.
fn metric_history(
    d: &HistoryMetric,
    commits: &[String],
    by_commit: &BTreeMap<usize, Vec<&HistoryEntry>>,
) -> MetricHistory {
    let mut series = Vec::new();
    let mut other_unit_points = 0;
    for (&i, entries) in by_commit {
        let rows: Vec<(&HistoryEntry, &HistoryMetric)> =
            entries.iter().flat_map(|e| e.metrics.iter().filter(|m| m.name == d.name).map(move |m| (*e, m))).collect();
        let (same, other): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, m)| m.unit == d.unit);
        other_unit_points += usize::from(same.is_empty() && !other.is_empty());
        if same.is_empty() {
            continue;
        }
        let intervals: Vec<[f64; 2]> = same.iter().filter_map(|(_, m)| m.interval).collect();
        series.push(SeriesPoint {
            commit: commits[i].clone(),
            value: median(same.iter().map(|(_, m)| m.value).collect()),
            interval: (!intervals.is_empty()).then(|| {
                [median(intervals.iter().map(|i| i[0]).collect()), median(intervals.iter().map(|i| i[1]).collect())]
            }),
            entries: same.len(),
            dirty: same.iter().any(|(e, _)| e.dirty),
        });
    }
    let values: Vec<f64> = series.iter().map(|p| p.value).collect();
    let found = e_divisive(&values, &PARAMS);
    let mut bounds: Vec<usize> = found.iter().map(|c| c.index).collect();
    bounds.insert(0, 0);
    bounds.push(values.len());
    let mean = |a: usize, b: usize| values[a..b].iter().sum::<f64>() / (b - a) as f64;
    let steps = found
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let (before, after) = (mean(bounds[k], c.index), mean(c.index, bounds[k + 2]));
            let direction = match d.better.as_deref() {
                Some("higher") if after > before => "improvement",
                Some("lower") if after < before => "improvement",
                Some("higher" | "lower") => "regression",
                _ => "change",
            };
            Step {
                index: c.index,
                commit: series[c.index].commit.clone(),
                mean_before: before,
                mean_after: after,
                relative_change: (before != 0.0).then(|| (after - before) / before.abs()),
                direction: direction.to_string(),
                p_value: c.p_value,
                q: c.q,
            }
        })
        .collect();
    MetricHistory {
        name: d.name.clone(),
        unit: d.unit.clone(),
        better: d.better.clone(),
        timed: d.timed,
        series,
        other_unit_points,
        steps,
        svg: d.timed.then(|| format!("{}.svg", file_stem(&d.name))),
    }
}

/// `name` with every character but ASCII letters, digits, `.`, `_` and `-` replaced by `_`.
fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

/// The first 10 characters of a commit.
fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

/// `1 entry`, `n entries`.
fn entries(n: usize) -> String {
    format!("{n} {}", if n == 1 { "entry" } else { "entries" })
}

/// A relative change as a signed percentage.
fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |r| format!("{:+.1}%", 100.0 * r))
}

/// The method in words.
fn method_line(p: &Params) -> String {
    format!(
        "e-divisive means, α = {}, {} seeded permutations, p < {}, levels of at least {} commits",
        p.alpha, p.permutations, p.significance, p.min_segment
    )
}

/// The printed report: what was used, each metric's trend table, then the step changes.
pub fn render_text(r: &HistoryReport) -> String {
    let mut s = format!("history of {} first-parent commits of HEAD from the {}\n", r.commits.len(), r.store);
    s.push_str(&format!(
        "{} of {} entries used (tier {}); skipped: {} dirty{}, {} of other machines{}, {} of another tier, \
         {} unreadable\n",
        r.entries_used,
        r.entries_found,
        r.tier,
        r.skipped_dirty,
        if r.skipped_dirty > 0 { " (--include-dirty uses them)" } else { "" },
        r.skipped_other_machines,
        if r.skipped_other_machines > 0 { " (--cross-machine mixes them)" } else { "" },
        r.skipped_other_tier,
        r.malformed.len()
    ));
    let machines = r.machines.iter().map(|m| {
        let fp = if m.fingerprint.is_empty() { "no fingerprint recorded" } else { &m.fingerprint };
        format!("{fp} ({}, {})", m.cpu_model, entries(m.entries))
    });
    if r.machines.len() > 1 {
        s.push_str(&format!(
            "entries from several machines are mixed (--cross-machine): {}\n",
            machines.collect::<Vec<_>>().join(", ")
        ));
    } else {
        s.push_str(&format!("machine: {}\n", machines.collect::<Vec<_>>().join(", ")));
    }
    if !r.combined.is_empty() {
        let list: Vec<String> = r.combined.iter().map(|(c, n)| format!("{} ({})", short(c), entries(*n))).collect();
        s.push_str(&format!("commits measured more than once use the median of their values: {}\n", list.join(", ")));
    }
    for m in &r.metrics {
        let better = m.better.as_deref().map(|b| format!(", {b} is better")).unwrap_or_default();
        s.push_str(&format!("\n{} ({}{better}{})\n", m.name, m.unit, if m.timed { ", timed" } else { "" }));
        if m.other_unit_points > 0 {
            s.push_str(&format!("  ({} commits measured it in another unit; left out)\n", m.other_unit_points));
        }
        s.push_str(&format!("  {:<12} {:>12}  {:<26} step\n", "commit", "value", "interval"));
        for (i, p) in m.series.iter().enumerate() {
            let marker = match m.steps.iter().find(|st| st.index == i) {
                Some(st) => format!("<- {} {} (p = {:.3})", percent(st.relative_change), st.direction, st.p_value),
                None => String::new(),
            };
            let commit = format!("{}{}", short(&p.commit), if p.dirty { "+" } else { "" });
            let value = if p.entries > 1 { format!("{} ×{}", num(p.value), p.entries) } else { num(p.value) };
            let line = format!("  {commit:<12} {value:>12}  {:<26} {marker}", show_interval(p.interval));
            s.push_str(line.trim_end());
            s.push('\n');
        }
    }
    s.push_str(&format!("\nstep changes ({}):\n", method_line(&r.method)));
    let steps: Vec<String> = r
        .metrics
        .iter()
        .flat_map(|m| {
            m.steps.iter().map(move |st| {
                format!(
                    "  {}: from {}, {} -> {} {} ({}, {}), p = {:.3}\n",
                    m.name,
                    short(&st.commit),
                    num(st.mean_before),
                    num(st.mean_after),
                    m.unit,
                    percent(st.relative_change),
                    st.direction,
                    st.p_value
                )
            })
        })
        .collect();
    if steps.is_empty() {
        s.push_str("  none\n");
    } else {
        s.extend(steps);
    }
    s
}

/// The plot of one metric: value with interval bars over commits, each level's mean in grey,
/// each step as a red vertical line before its first commit.
pub fn plot(m: &MetricHistory) -> anyhow::Result<String> {
    let n = m.series.len();
    let lows = m.series.iter().map(|p| p.interval.map_or(p.value, |i| i[0]));
    let highs = m.series.iter().map(|p| p.interval.map_or(p.value, |i| i[1]));
    let (ymin, ymax) = (lows.fold(f64::INFINITY, f64::min), highs.fold(f64::NEG_INFINITY, f64::max));
    let pad = if ymax > ymin { (ymax - ymin) * 0.1 } else { ymax.abs().max(1.0) * 0.1 };
    let (ymin, ymax) = (ymin - pad, ymax + pad);
    let (xmin, xmax) = (-0.5, n as f64 - 0.5);
    let labels: Vec<String> = m.series.iter().map(|p| p.commit[..p.commit.len().min(7)].to_string()).collect();
    let line = RGBColor(31, 119, 180);
    svg_of((900, 520), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{} ({}) over commits", m.name, m.unit), ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(xmin..xmax, ymin..ymax)
            .map_err(plot_err)?;
        let label_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc("commit (oldest first)")
            .y_desc(m.unit.as_str())
            .x_labels(n.clamp(2, 12))
            .x_label_formatter(&label_of)
            .draw()
            .map_err(plot_err)?;
        let mut bounds: Vec<usize> = m.steps.iter().map(|s| s.index).collect();
        bounds.insert(0, 0);
        bounds.push(n);
        for w in bounds.windows(2).filter(|w| w[1] > w[0]) {
            let mean = m.series[w[0]..w[1]].iter().map(|p| p.value).sum::<f64>() / (w[1] - w[0]) as f64;
            chart
                .draw_series(LineSeries::new([(w[0] as f64 - 0.4, mean), (w[1] as f64 - 0.6, mean)], BLACK.mix(0.35)))
                .map_err(plot_err)?;
        }
        let red = RGBColor(214, 39, 40);
        for (k, st) in m.steps.iter().enumerate() {
            let x = st.index as f64 - 0.5;
            let series =
                chart.draw_series(LineSeries::new([(x, ymin), (x, ymax)], red.stroke_width(2))).map_err(plot_err)?;
            if k == 0 {
                series
                    .label("step change")
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red.stroke_width(2)));
            }
        }
        chart
            .draw_series(LineSeries::new(
                m.series.iter().enumerate().map(|(i, p)| (i as f64, p.value)),
                line.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(format!("{} (95% interval bars)", m.name))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], line.stroke_width(2)));
        chart
            .draw_series(m.series.iter().enumerate().filter_map(|(i, p)| {
                p.interval.map(|[lo, hi]| ErrorBar::new_vertical(i as f64, lo, p.value, hi, line.filled(), 8))
            }))
            .map_err(plot_err)?;
        // Points without an interval get a dot (an error bar marks its own value).
        let bare = m.series.iter().enumerate().filter(|(_, p)| p.interval.is_none());
        chart.draw_series(bare.map(|(i, p)| Circle::new((i as f64, p.value), 3, line.filled()))).map_err(plot_err)?;
        legend(&mut chart)
    })
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
    use super::*;
    use crate::testdata;

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
