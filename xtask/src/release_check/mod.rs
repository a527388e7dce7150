//! `cargo xtask release-check`: build in release mode, run every gate through the harness
//! (`cargo test --release --test gates`), write `audit_run.json` and render the reports.
//! Exits non-zero when the overall verdict fails (or, with `--fail-on-regression`, when a
//! metric regressed against `--baseline`).

mod harness;
mod nextest;

use harness::{
    build_harness, harness_command, harness_env, read_measurements, run_harness, spinner, tail, torch_env, ExtraEnv,
};

use crate::atomic::{sha256_hex, write_atomic};
use crate::format::num;
use crate::{against, baseline, history, machine, render, stability};
use anyhow::Context;
use ironforge::gate::audit::{AuditRun, Partition, RunConfig};
use ironforge::gate::record::Verdict;
use std::path::{Path, PathBuf};

/// The audit file name.
pub const AUDIT_JSON: &str = "audit_run.json";
/// The measurements file the harness writes in each run folder.
pub const MEASUREMENTS_JSON: &str = "measurements.json";
/// Seed used when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 20_240_607;

/// Which validation sessions the harness runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionSet {
    /// The golden set (20 sessions).
    Golden,
    /// The canary set (120 sessions).
    Canary,
    /// Both.
    All,
}

impl SessionSet {
    /// The value of `IRONFORGE_SESSIONS`.
    pub fn env_value(self) -> &'static str {
        match self {
            SessionSet::Golden => "golden",
            SessionSet::Canary => "canary",
            SessionSet::All => "golden,canary",
        }
    }
}

/// Arguments of `cargo xtask release-check`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Run the quick tier instead of the release tier.
    #[arg(long)]
    pub quick: bool,
    /// Session sets to run on.
    #[arg(long, value_enum, default_value = "all")]
    pub sessions: SessionSet,
    /// Folder of the audit and reports (default `target/release-check/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of every random stream the gates use.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Also run every gate under its injected fault; a gate that does not fail under it fails.
    #[arg(long)]
    pub prove: bool,
    /// An earlier `audit_run.json` to compare every metric with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Exit non-zero when a metric regressed beyond its noise against `--baseline`.
    #[arg(long, requires = "baseline")]
    pub fail_on_regression: bool,
    /// Run the whole check N times and report verdict flips and value spread (`stability.md`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Audit an existing measurements file instead of building and running the harness
    /// (re-audits; the audit records where the numbers came from).
    #[arg(long)]
    pub from_measurements: Option<PathBuf>,
    /// Also build and run the PyTorch gates (`--features torch`: parity with and speed against
    /// torch's SDPA); sets up or reuses the PyTorch venv as `cargo xtask setup-torch` does.
    #[arg(long)]
    pub torch: bool,
    /// Accept a partial run (some declarations of the tier did not run, e.g. with trial-name
    /// filters, or the measurements carry no manifest): the overall verdict may pass, and every
    /// report says PARTIAL. Without it a partial run fails.
    #[arg(long)]
    pub partial: bool,
    /// Compare the candidate (this work tree) with revision REV, both built and run here,
    /// interleaved: paired regression rows for every timed gate, output drift for every
    /// scenario, an A/A control (`docs/release-check.md`).
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
    /// Time budget of the interleaved rounds of `--against`, in seconds (doubled under
    /// `--prove`, whose slowed arms double the processes per round).
    #[arg(long, default_value_t = 240.0, requires = "against")]
    pub budget_s: f64,
    /// Rounds `--against` always runs before it may stop: with fewer, a median's bootstrap
    /// interval is coarse and the MDE estimate itself noisy, so a slowdown the MDE says is
    /// caught slips through more often than it promises.
    #[arg(long, default_value_t = 10, requires = "against", value_parser = clap::value_parser!(u32).range(3..))]
    pub min_rounds: u32,
    /// Rounds `--against` never exceeds.
    #[arg(long, default_value_t = 40, requires = "against")]
    pub max_rounds: u32,
    /// Let a timed gate whose measured MDE exceeds its tolerance pass (it is still reported
    /// as underpowered).
    #[arg(long, requires = "against")]
    pub allow_underpowered: bool,
    /// Compare with a `--baseline` audit from another machine (fingerprint) anyway; the
    /// report says so.
    #[arg(long)]
    pub cross_machine: bool,
    /// Record this run's summary in FILE (JSON lines) instead of the git notes
    /// `refs/notes/ironforge-history`.
    #[arg(long, value_name = "FILE")]
    pub history_file: Option<PathBuf>,
    /// Record nothing in the history.
    #[arg(long, conflicts_with = "history_file")]
    pub no_history: bool,
    /// Run the gate harness through cargo-nextest (profile `release-check` of
    /// `.config/nextest.toml`): one process per trial, each writing its own measurements file;
    /// nextest's JUnit XML beside the audit.
    #[arg(long, conflicts_with_all = ["against", "from_measurements"])]
    pub nextest: bool,
    /// Run one shard, `hash:I/N`, `slice:I/N` or `duration:I/N`, through nextest: the audit
    /// records the partition and the trials it selects (`cargo xtask audit-merge` checks them);
    /// implies `--partial`. `duration` deals the trials by the durations of `--durations`.
    #[arg(long, value_name = "hash:I/N|slice:I/N|duration:I/N", conflicts_with_all = ["against", "from_measurements"])]
    pub partition: Option<Partition>,
    /// For `--partition duration:I/N`: an earlier run's `measurements.json` or
    /// `audit_run.json` (a merged one too), whose trial durations deal the trials so the
    /// shards take about equally long (every shard of a run must be given the same file; the
    /// merge checks it).
    #[arg(long, value_name = "FILE", requires = "partition")]
    pub durations: Option<PathBuf>,
    /// Build the gate harness and write a nextest archive of it with its data to FILE; runs
    /// no gate (run it with `--from-archive` elsewhere).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["against", "from_measurements", "from_archive", "partition", "baseline"])]
    pub archive: Option<PathBuf>,
    /// Run the gates from an archive written by `--archive`, through nextest, without
    /// building; the audit names the archive's commit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["against", "from_measurements", "torch"])]
    pub from_archive: Option<PathBuf>,
    /// Trial-name filters handed to the harness (after `--`).
    #[arg(last = true)]
    pub filters: Vec<String>,
}

impl Args {
    /// Whether the harness runs through nextest.
    pub fn uses_nextest(&self) -> bool {
        self.nextest || self.partition.is_some() || self.archive.is_some() || self.from_archive.is_some()
    }
}

/// The workspace root: the folder above `xtask/` where the xtask was built, or the current
/// folder when that is gone (an xtask binary copied to another machine, as a CI shard job
/// running `--from-archive` does).
pub fn workspace_root() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives inside the workspace");
    if built.join("Cargo.toml").is_file() {
        return built.to_path_buf();
    }
    std::env::current_dir().unwrap_or_else(|_| built.to_path_buf())
}

/// What `--against` needs before the gates run: the base revision resolved, both harnesses
/// built (a base that does not build fails the check before anything is measured).
struct AgainstJob {
    commit: String,
    base: against::Build,
    candidate: against::Build,
    settings: against::Settings,
}

fn features(args: &Args) -> Vec<String> {
    if args.torch {
        vec!["--features".into(), "torch".into()]
    } else {
        Vec::new()
    }
}

fn prepare_against(root: &Path, out: &Path, args: &Args, extra: &ExtraEnv) -> anyhow::Result<Option<AgainstJob>> {
    let Some(rev) = &args.against else { return Ok(None) };
    anyhow::ensure!(
        args.from_measurements.is_none(),
        "--against runs both builds; it cannot audit a measurements file"
    );
    let commit = against::resolve(root, rev)?;
    let target = root.join("target");
    let tree = against::worktree(root, &target, &commit)?;
    let place = against::BuildPlace {
        target_dir: Some(target.join("against").join("target")),
        keep_as: Some(tree.parent().context("worktree has a parent")?.join(if args.torch {
            "gates-torch"
        } else {
            "gates"
        })),
    };
    let kept = place.keep_as.clone().expect("set above");
    let base = if kept.exists() {
        // A commit never changes: the harness kept from an earlier run is this commit's.
        println!("reusing the gate harness of {rev} ({}) kept in {}", &commit[..12], kept.display());
        against::Build { label: "base".into(), tree: tree.clone(), exe: kept }
    } else {
        let pb = spinner(&format!("building the gate harness of {rev} ({})", &commit[..12]));
        let base = against::build("base", &tree, &place, true, &features(args), extra, &out.join("build-base.log"));
        pb.finish_with_message(format!(
            "built the gate harness of {rev} ({})",
            if base.is_ok() { "ok" } else { "FAILED" }
        ));
        base.with_context(|| format!("--against {rev}"))?
    };
    let candidate = against::build(
        "candidate",
        root,
        &against::BuildPlace::default(),
        true,
        &features(args),
        extra,
        &out.join("build-candidate.log"),
    )?;
    let mut env = harness_env(args, Path::new(""));
    env.remove("IRONFORGE_MEASUREMENTS");
    env.remove("IRONFORGE_PROVE");
    let settings = against::Settings {
        against: rev.clone(),
        min_rounds: args.min_rounds as usize,
        max_rounds: (args.max_rounds as usize).max(args.min_rounds as usize),
        // The budget is for the three arms of a plain run; `--prove`'s slowed arms double the
        // processes per round, and so the budget, to keep the same number of rounds.
        budget_s: if args.prove { 2.0 * args.budget_s } else { args.budget_s },
        prove: args.prove,
        allow_underpowered: args.allow_underpowered,
        seed: args.seed,
        env,
        extra_env: extra.clone(),
    };
    Ok(Some(AgainstJob { commit, base, candidate, settings }))
}

/// Takes the output folder's lock for the whole check: a second check on the same folder fails
/// at once, naming it, instead of interleaving its files with this one's.
fn lock_out(out: &Path) -> anyhow::Result<std::fs::File> {
    let path = out.join(".release-check.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another release check is writing to {} (it holds {}); wait for it to finish or pass another --out",
            out.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("lock {}", path.display())),
    }
}

/// One audited run: measure (or read), audit, compare, write, render.
fn one_run(
    root: &Path,
    args: &Args,
    extra: &ExtraEnv,
    job: Option<&AgainstJob>,
    dir: &Path,
    index: usize,
) -> anyhow::Result<(AuditRun, Vec<u8>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let measurements_path = dir.join(MEASUREMENTS_JSON);
    let env = harness_env(args, &measurements_path);
    let mut config = RunConfig {
        tier: env["IRONFORGE_TIER"].clone(),
        sessions: env["IRONFORGE_SESSIONS"].clone(),
        seed: args.seed,
        prove: args.prove,
        env: env.clone(),
        harness: vec![],
        harness_exit_code: None,
        harness_duration_s: 0.0,
        repeat_index: index,
        allow_partial: args.partial || args.partition.is_some(),
        shard: None,
    };
    let mut archive_git = None;
    let measurements = match &args.from_measurements {
        Some(path) => {
            config.env.remove("IRONFORGE_MEASUREMENTS");
            config.harness = vec!["not run: measurements read from".into(), path.display().to_string()];
            read_measurements(path)?
        }
        None if args.uses_nextest() => {
            let run = nextest::run_gates(root, args, &env, extra, dir, &measurements_path)?;
            config.env.remove("IRONFORGE_MEASUREMENTS");
            config.env.insert(
                ironforge::gate::env::ENV_TRIAL_DIR.into(),
                dir.join(nextest::TRIALS_DIR).display().to_string(),
            );
            config.harness = run.command;
            config.harness_exit_code = run.run.exit_code;
            config.harness_duration_s = run.run.duration_s;
            config.shard = run.shard;
            archive_git = run.archive_git;
            read_measurements(&measurements_path)?
        }
        None => {
            // Never audit a file left by an earlier run.
            if measurements_path.exists() {
                std::fs::remove_file(&measurements_path)
                    .with_context(|| format!("remove {}", measurements_path.display()))?;
            }
            let run = run_harness(root, args, &env, extra, dir)?;
            config.harness = std::iter::once("cargo".to_string()).chain(harness_command(args, false)).collect();
            config.harness_exit_code = run.exit_code;
            config.harness_duration_s = run.duration_s;
            read_measurements(&measurements_path).with_context(|| {
                format!(
                    "the gate harness (exit {:?}) wrote no measurements; its output:\n{}\n{}",
                    run.exit_code,
                    tail(&dir.join("harness.log"), 20),
                    tail(&dir.join("harness.stderr.log"), 20)
                )
            })?
        }
    };
    let mut audit = AuditRun::from_measurements(
        &measurements,
        machine::probe_machine(root, "release"),
        archive_git.unwrap_or_else(|| machine::probe_git(root)),
        config,
    )?;
    if let Some(path) = &args.baseline {
        let bytes = std::fs::read(path).with_context(|| format!("read baseline {}", path.display()))?;
        let base: AuditRun =
            serde_json::from_slice(&bytes).with_context(|| format!("parse baseline {}", path.display()))?;
        base.validate().with_context(|| format!("baseline {}", path.display()))?;
        let note = machine::ensure_comparable(
            &audit.machine,
            &base.machine,
            &format!("baseline {}", path.display()),
            args.cross_machine,
        )?;
        let mut comparison = baseline::compare(&audit, &base, &path.display().to_string(), &sha256_hex(&bytes))?;
        if let Some(note) = note {
            comparison.rule = format!("{} ({note})", comparison.rule);
        }
        audit.baseline = Some(comparison);
    }
    if let Some(job) = job {
        let c = against::compare(&job.base, &job.commit, &job.candidate, &job.settings, &dir.join("against"))?;
        print!("{}", against::summary(&c));
        audit.comparison = Some(c);
        audit.overall = audit.compute_overall();
    }
    let bytes = write_audit(dir, &audit)?;
    Ok((audit, bytes))
}

/// Writes `audit` as `dir/audit_run.json` and renders its reports beside it; returns the JSON
/// written.
pub fn write_audit(dir: &Path, audit: &AuditRun) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(audit)?;
    bytes.push(b'\n');
    write_atomic(&dir.join(AUDIT_JSON), &bytes)?;
    let files = render::render_audit(audit, AUDIT_JSON, &sha256_hex(&bytes))?;
    render::write_all(dir, &files)?;
    Ok(bytes)
}

/// Appends the run's summary to the history: the git notes of the audited commit, or
/// `--history-file` (`cargo xtask history` reads either).
fn record_history(root: &Path, args: &Args, audit: &AuditRun) -> anyhow::Result<()> {
    let Some(entry) = history::entry_of(audit, history::now_unix_s()) else {
        println!("history: not recorded (the audit names no commit)");
        return Ok(());
    };
    let store = history::Store::new(root, args.history_file.as_deref());
    store.append(&entry).context("record the run in the history (pass --no-history to skip)")
}

/// The end-of-run table, one line per gate and scenario.
pub fn summary_table(audit: &AuditRun) -> String {
    let mut s = format!(
        "{:<32} {:>12} {:>12} {:>16} {:>12} {:>10} {:>7}\n",
        "gate", "value", "bound", "target", "margin", "proof", "verdict"
    );
    for g in &audit.gates {
        let r = &g.record;
        s.push_str(&format!(
            "{:<32} {:>12} {:>12} {:>16} {:>12} {:>10} {:>7}\n",
            r.name,
            num(r.value),
            num(r.bound),
            format!("{} {} {}", r.comparator, num(r.threshold), r.unit),
            num(r.margin),
            format!("{:?}", g.proof_status).to_lowercase(),
            if g.release_verdict == Verdict::Pass { "PASS" } else { "FAIL" }
        ));
    }
    let overall = &audit.overall;
    if let Some(line) = audit.partial_line() {
        s.push_str(&format!("{line}\n"));
    }
    let partial = if audit.partial { " (PARTIAL)" } else { "" };
    s.push_str(&format!("overall: {}{partial}\n", if overall.passed() { "PASS" } else { "FAIL" }));
    for r in &overall.reasons {
        s.push_str(&format!("  - {r}\n"));
    }
    if let Some(b) = &audit.baseline {
        s.push_str(&format!(
            "against baseline {}: {} metrics, {} regressed\n",
            b.path,
            b.changes.len(),
            b.regressions()
        ));
    }
    s
}

/// Runs the release check.
pub fn run(args: Args) -> anyhow::Result<()> {
    let root = workspace_root();
    let out = args.out.clone().unwrap_or_else(|| root.join("target").join("release-check"));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    // The harness runs in the workspace root: hand it an absolute path.
    let out = std::fs::canonicalize(&out).with_context(|| format!("resolve {}", out.display()))?;
    let _lock = lock_out(&out)?;
    let extra = torch_env(&args)?;
    if let Some(file) = &args.archive {
        return nextest::write_archive(&root, &args, file, &extra);
    }
    if args.from_measurements.is_none() && args.from_archive.is_none() {
        build_harness(&root, &out, &args, &extra)?;
    }
    let job = prepare_against(&root, &out, &args, &extra)?;
    let repeat = args.repeat as usize;
    let mut runs = Vec::with_capacity(repeat);
    for index in 0..repeat {
        let dir = if repeat == 1 { out.clone() } else { out.join(format!("run-{}", index + 1)) };
        let (audit, bytes) = one_run(&root, &args, &extra, job.as_ref(), &dir, index)?;
        if args.from_measurements.is_none() && !args.no_history {
            record_history(&root, &args, &audit)?;
        }
        if repeat > 1 {
            println!("run {} of {repeat}:", index + 1);
        }
        print!("{}", summary_table(&audit));
        let rel = dir.strip_prefix(&out).unwrap_or(&dir).join(AUDIT_JSON);
        runs.push((rel.display().to_string(), sha256_hex(&bytes), audit));
    }
    println!("audit and reports in {}", out.display());
    if repeat > 1 {
        let summary = stability::summarize(&runs);
        let mut bytes = serde_json::to_vec_pretty(&summary)?;
        bytes.push(b'\n');
        write_atomic(&out.join(stability::SUMMARY_JSON), &bytes)?;
        render::write_all(&out, &render::render_json(&bytes, stability::SUMMARY_JSON)?)?;
        println!(
            "{repeat} runs: {} verdict flips (see {})",
            summary.total_flips,
            out.join(stability::STABILITY_MD).display()
        );
    }
    let failed = runs.iter().filter(|r| !r.2.overall.passed()).count();
    anyhow::ensure!(failed == 0, "release check failed in {failed} of {repeat} runs (see the tables above)");
    if args.fail_on_regression {
        let regressed: usize = runs.iter().filter_map(|r| r.2.baseline.as_ref()).map(|b| b.regressions()).sum();
        anyhow::ensure!(regressed == 0, "{regressed} metrics regressed against the baseline beyond their noise");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use ironforge::gate::record::{Measurements, Proof};

    pub(super) fn args(measurements: &Path, out: &Path) -> Args {
        Args {
            quick: false,
            sessions: SessionSet::All,
            out: Some(out.to_path_buf()),
            seed: 7,
            prove: false,
            baseline: None,
            fail_on_regression: false,
            repeat: 1,
            from_measurements: Some(measurements.to_path_buf()),
            torch: false,
            partial: false,
            against: None,
            budget_s: 150.0,
            min_rounds: 6,
            max_rounds: 40,
            allow_underpowered: false,
            cross_machine: false,
            history_file: None,
            no_history: false,
            nextest: false,
            partition: None,
            durations: None,
            archive: None,
            from_archive: None,
            filters: vec![],
        }
    }

    fn write(path: &Path, m: &Measurements) {
        std::fs::write(path, serde_json::to_vec(m).unwrap()).unwrap();
    }

    #[test]
    fn run_audits_renders_and_the_reports_check() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.json");
        write(&m, &testdata::measurements(true));
        let out = dir.path().join("out");
        run(Args { prove: true, ..args(&m, &out) }).unwrap();
        let audit: AuditRun = serde_json::from_slice(&std::fs::read(out.join(AUDIT_JSON)).unwrap()).unwrap();
        audit.validate().unwrap();
        assert!(audit.overall.passed());
        assert_eq!(audit.config.env["IRONFORGE_PROVE"], "1");
        assert_eq!(audit.config.harness_exit_code, None);
        assert!(audit.machine.logical_cores >= 1);
        render::run(render::Args { input: out.join(AUDIT_JSON), out: None, check: true }).unwrap();
    }

    #[test]
    fn failing_gate_or_proof_that_does_not_fail_makes_run_fail() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.json");
        let mut meas = testdata::measurements(true);
        meas.records[0].proof = Some(Proof { fault: "none".into(), value: 2.0, verdict: Verdict::Pass });
        write(&m, &meas);
        let err = run(Args { prove: true, ..args(&m, dir.path()) }).unwrap_err();
        assert!(err.to_string().contains("release check failed"), "{err:#}");
        // Without --prove, the gate still passes on its own.
        let ok = testdata::measurements(false);
        write(&m, &ok);
        run(args(&m, dir.path())).unwrap();
    }

    #[test]
    fn baseline_regression_fails_only_when_asked_and_repeat_summarises() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.json");
        write(&m, &testdata::measurements(false));
        let base_dir = dir.path().join("base");
        run(args(&m, &base_dir)).unwrap();
        let mut slower = testdata::measurements(false);
        let r = slower.records.iter_mut().find(|r| r.name == "attention_speedup").unwrap();
        r.value = 1.5;
        r.interval = Some([1.45, 1.55]);
        r.bound = 1.45;
        r.margin = r.bound - r.threshold;
        write(&m, &slower);
        let with_base = Args { baseline: Some(base_dir.join(AUDIT_JSON)), ..args(&m, &dir.path().join("cur")) };
        run(with_base.clone()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("cur").join(render::GATES_MD)).unwrap();
        assert!(
            md.contains("| `gate:attention_speedup` | 2 x | [1.8, 2.2] | 1.5 x | [1.45, 1.55] | regressed |"),
            "{md}"
        );
        let err = run(Args { fail_on_regression: true, ..with_base }).unwrap_err();
        assert!(err.to_string().contains("regressed"), "{err:#}");
        let rep = dir.path().join("rep");
        run(Args { repeat: 3, ..args(&m, &rep) }).unwrap();
        let summary: stability::RepeatSummary =
            serde_json::from_slice(&std::fs::read(rep.join(stability::SUMMARY_JSON)).unwrap()).unwrap();
        assert_eq!(summary.runs.len(), 3);
        assert_eq!(summary.total_flips, 0);
        render::run(render::Args { input: rep.join(stability::SUMMARY_JSON), out: None, check: true }).unwrap();
        render::run(render::Args { input: rep.join("run-2").join(AUDIT_JSON), out: None, check: true }).unwrap();
    }

    #[test]
    fn harness_env_carries_the_flags() {
        let a = Args { quick: true, sessions: SessionSet::Golden, prove: true, ..args(Path::new("m"), Path::new("o")) };
        let env = harness_env(&a, Path::new("/x/m.json"));
        assert_eq!(env["IRONFORGE_TIER"], "quick");
        assert_eq!(env["IRONFORGE_SESSIONS"], "golden");
        assert_eq!(env["IRONFORGE_SEED"], "7");
        assert_eq!(env["IRONFORGE_PROVE"], "1");
        assert_eq!(env["IRONFORGE_MEASUREMENTS"], "/x/m.json");
        let cmd = harness_command(&Args { filters: vec!["attention".into()], ..a }, true);
        assert_eq!(cmd.join(" "), "test --release --test gates -- --test-threads 1 --list attention");
        let cmd = harness_command(&Args { torch: true, ..args(Path::new("m"), Path::new("o")) }, false);
        assert_eq!(cmd.join(" "), "test --release --features torch --test gates -- --test-threads 1");
    }

    #[test]
    fn a_filtered_run_is_partial_and_fails_unless_partial_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.json");
        // What `release-check -- attention` leaves: the records whose name matches, the whole manifest.
        let mut filtered = testdata::measurements(false);
        filtered.records.retain(|r| r.name.contains("attention"));
        write(&m, &filtered);
        let out = dir.path().join("strict");
        let err = run(args(&m, &out)).unwrap_err();
        assert!(err.to_string().contains("release check failed"), "{err:#}");
        let audit: AuditRun = serde_json::from_slice(&std::fs::read(out.join(AUDIT_JSON)).unwrap()).unwrap();
        assert!(audit.partial && !audit.overall.passed());
        assert_eq!(audit.missing, ["motif_stability", "peak_memory", "regime_variance"]);
        assert!(summary_table(&audit).contains("PARTIAL: 2 of 5 declarations ran"), "{}", summary_table(&audit));
        let md = std::fs::read_to_string(out.join(render::GATES_MD)).unwrap();
        assert!(md.contains("a partial run passes only with `--partial`"), "{md}");
        // With --partial it passes, and says PARTIAL everywhere.
        let out = dir.path().join("partial");
        run(Args { partial: true, ..args(&m, &out) }).unwrap();
        let audit: AuditRun = serde_json::from_slice(&std::fs::read(out.join(AUDIT_JSON)).unwrap()).unwrap();
        audit.validate().unwrap();
        assert!(audit.partial && audit.overall.passed() && audit.config.allow_partial);
        let table = summary_table(&audit);
        assert!(table.contains("overall: PASS (PARTIAL)"), "{table}");
        for report in [render::GATES_MD, render::PARITY_MD, render::BENCH_MD] {
            let md = std::fs::read_to_string(out.join(report)).unwrap();
            assert!(md.contains("PARTIAL: 2 of 5 declarations ran"), "{report}: {md}");
        }
        render::run(render::Args { input: out.join(AUDIT_JSON), out: None, check: true }).unwrap();
        // Measurements with no manifest cannot show a run is complete.
        let mut bare = testdata::measurements(false);
        bare.manifest = None;
        write(&m, &bare);
        let err = run(args(&m, &dir.path().join("bare"))).unwrap_err();
        assert!(err.to_string().contains("release check failed"), "{err:#}");
    }
}
