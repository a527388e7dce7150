//! `release-check --against REV`: the candidate (the work tree) compared with a base revision,
//! both builds run on this machine at the same time.
//!
//! 1. REV's tree is checked out in a git worktree under `target/against/<commit>/tree` (kept,
//!    so a second run reuses the tree and its build) and its gate harness built there, with its
//!    own target folder shared by every base (`target/against/target`); the candidate's
//!    harness is the one `release-check` builds anyway.
//! 2. Output drift: each harness dumps its scenarios' outputs once (`IRONFORGE_MODE=outputs`)
//!    and the dumps are compared case by case ([`drift`](ironforge::gate::drift)).
//! 3. Interleaved rounds: every round runs one process per arm — `base`, `candidate`,
//!    `control` (the base binary again: the A/A control) and, under `--prove`, the base slowed
//!    down by each calibrated level — forward in even rounds and reversed in odd ones (ABBA),
//!    each process running every probe once (`IRONFORGE_MODE=probe`) on the same sessions and
//!    seed. Rounds continue until every subject's minimum detectable effect, measured on the
//!    control alone, is under its tolerance (the A/B results never decide when to stop), or
//!    the budget or the largest round count is reached.
//! 4. Per subject: paired per-round ratios, median with a bootstrap interval, judged against
//!    the gate's tolerance ([`paired`]).

use crate::format::num;
use anyhow::Context;
use ironforge::gate::comparison::{Comparison, RoundsPlan, StopReason};
use ironforge::gate::drift::compare_dumps;
use ironforge::gate::paired::{self, PairedInput};
use ironforge::gate::probe::{ProbeFile, PROBES_SCHEMA};
use ironforge::gate::Unit;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A trial filter no harness declares: a harness from before the comparison modes runs no
/// trial with it and exits at once (the modes ignore trial filters).
pub const NO_TRIAL: &str = "__ironforge_comparison_mode__";

/// Calibrated slowdowns (percent) of the base's `--prove` arms.
pub const PROVE_SLOWDOWNS: [f64; 3] = [5.0, 10.0, 20.0];

/// How the comparison runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The revision as given.
    pub against: String,
    /// Rounds always run.
    pub min_rounds: usize,
    /// Rounds never exceeded.
    pub max_rounds: usize,
    /// Time budget of the rounds, seconds.
    pub budget_s: f64,
    /// Add the calibrated-slowdown arms.
    pub prove: bool,
    /// Accept underpowered rows.
    pub allow_underpowered: bool,
    /// Seed handed to the harness and to every bootstrap.
    pub seed: u64,
    /// `IRONFORGE_*` variables every process gets (tier, sessions, seed...).
    pub env: BTreeMap<String, String>,
    /// Extra variables of every cargo and harness command (the PyTorch environment).
    pub extra_env: Vec<(String, String)>,
}

/// One built harness.
#[derive(Debug, Clone)]
pub struct Build {
    /// `base` or `candidate`.
    pub label: String,
    /// The source tree it was built from (its working folder when run).
    pub tree: PathBuf,
    /// The harness executable.
    pub exe: PathBuf,
}

fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git").args(args).current_dir(root).output().context("run git")?;
    anyhow::ensure!(
        out.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit id of `rev` in the repository at `root`; an error naming `rev` when git does not
/// know it.
pub fn resolve(root: &Path, rev: &str) -> anyhow::Result<String> {
    let spec = format!("{rev}^{{commit}}");
    git(root, &["rev-parse", "--verify", "--quiet", &spec]).map_err(|_| {
        anyhow::anyhow!("unknown revision `{rev}`: git cannot resolve it to a commit in {}", root.display())
    })
}

/// The base's worktree `target/against/<commit>/tree`, created (detached at `commit`) unless it
/// already holds that commit.
pub fn worktree(root: &Path, target: &Path, commit: &str) -> anyhow::Result<PathBuf> {
    let tree = target.join("against").join(commit).join("tree");
    if tree.join(".git").exists() && git(&tree, &["rev-parse", "HEAD"]).ok().as_deref() == Some(commit) {
        return Ok(tree);
    }
    // A folder left by `cargo clean` or a crash: forget the stale registration, start afresh.
    git(root, &["worktree", "prune"])?;
    if tree.exists() {
        std::fs::remove_dir_all(&tree).with_context(|| format!("remove stale worktree {}", tree.display()))?;
    }
    std::fs::create_dir_all(tree.parent().expect("tree has a parent"))?;
    let path = tree.to_str().context("worktree path is not UTF-8")?;
    git(root, &["worktree", "add", "--detach", "--force", path, commit])
        .with_context(|| format!("check out {commit} in {}", tree.display()))?;
    Ok(tree)
}

/// Where to build a harness and what to keep of it.
#[derive(Debug, Clone, Default)]
pub struct BuildPlace {
    /// Target folder instead of the tree's own.
    pub target_dir: Option<PathBuf>,
    /// Copy the executable here and run the copy: cargo names a package's artifacts by its path
    /// relative to its workspace, so two trees of one repository sharing a target folder write
    /// the same file, and the second build would replace the first's executable.
    pub keep_as: Option<PathBuf>,
}

/// Builds the gate harness of the tree at `tree` and returns its executable (`cargo test
/// [--release] --test gates --no-run`, the artifact read from cargo's JSON messages; the
/// release check always builds in release mode). The build log goes to `log`.
pub fn build(
    label: &str,
    tree: &Path,
    place: &BuildPlace,
    release: bool,
    features: &[String],
    extra_env: &[(String, String)],
    log: &Path,
) -> anyhow::Result<Build> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("test")
        .args(release.then_some("--release"))
        .args(["--test", "gates", "--no-run", "--message-format=json-render-diagnostics"])
        .args(features)
        .envs(extra_env.iter().cloned())
        .current_dir(tree)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?));
    if let Some(dir) = &place.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let out = cmd.output().with_context(|| format!("spawn cargo in {}", tree.display()))?;
    if !out.status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        anyhow::bail!(
            "the {label} harness in {} does not build:\n{}",
            tree.display(),
            lines[lines.len().saturating_sub(25)..].join("\n")
        );
    }
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "gates")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo built no `gates` test executable in {}", tree.display()))?;
    let exe = match &place.keep_as {
        None => exe,
        Some(keep) => {
            ironforge::atomic::copy_atomic(&exe, keep)
                .with_context(|| format!("keep {} as {}", exe.display(), keep.display()))?;
            keep.clone()
        }
    };
    Ok(Build { label: label.to_string(), tree: tree.to_path_buf(), exe })
}

/// Runs `build`'s harness once in a comparison mode with `env`; returns whether it exited 0
/// and its stderr.
///
/// `CARGO_MANIFEST_DIR` is set to the build's tree, as `cargo test` sets it for a harness it
/// runs: a harness finds its data through it, and this process inherited the xtask's own
/// (`xtask/`, from `cargo run`), where no data lies.
fn run_mode(build: &Build, settings: &Settings, env: &[(&str, String)]) -> anyhow::Result<(bool, String)> {
    let out = Command::new(&build.exe)
        .args(["--exact", NO_TRIAL])
        .env_remove("IRONFORGE_PROVE")
        .env_remove("IRONFORGE_MEASUREMENTS")
        .envs(
            settings
                .env
                .iter()
                .filter(|(k, _)| k.as_str() != "IRONFORGE_MEASUREMENTS" && k.as_str() != "IRONFORGE_PROVE"),
        )
        .envs(settings.extra_env.iter().cloned())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("CARGO_MANIFEST_DIR", &build.tree)
        .current_dir(&build.tree)
        .output()
        .with_context(|| format!("run the {} harness {}", build.label, build.exe.display()))?;
    Ok((out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// One probe-mode process of `build` slowed by `slowdown_pct`; `None` when the harness has no
/// probe mode (it exited 0 and wrote nothing).
fn probe_once(build: &Build, settings: &Settings, slowdown_pct: f64, file: &Path) -> anyhow::Result<Option<ProbeFile>> {
    let _ = std::fs::remove_file(file);
    let env = [
        ("IRONFORGE_MODE", "probe".to_string()),
        ("IRONFORGE_PROBES", file.display().to_string()),
        ("IRONFORGE_SLOWDOWN", slowdown_pct.to_string()),
    ];
    let (ok, stderr) = run_mode(build, settings, &env)?;
    if !file.exists() {
        anyhow::ensure!(ok, "the {} harness failed in probe mode:\n{}", build.label, stderr.trim());
        return Ok(None);
    }
    let bytes = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let probes: ProbeFile = serde_json::from_slice(&bytes).with_context(|| format!("parse {}", file.display()))?;
    anyhow::ensure!(
        probes.schema == PROBES_SCHEMA,
        "{}: schema `{}`, expected `{PROBES_SCHEMA}`",
        file.display(),
        probes.schema
    );
    if let Some(r) = probes.records.iter().find(|r| r.error.is_some()) {
        anyhow::bail!(
            "the {} harness's probe of gate `{}` failed: {}",
            build.label,
            r.gate,
            r.error.as_deref().unwrap_or("")
        );
    }
    anyhow::ensure!(ok, "the {} harness failed in probe mode:\n{}", build.label, stderr.trim());
    Ok(Some(probes))
}

/// A timed subject: gate, metric.
type Subject = (String, String);

/// What a subject's samples are judged with.
#[derive(Debug, Clone)]
struct SubjectInfo {
    unit: Unit,
    tolerance_pct: f64,
}

/// Samples per arm and subject, in round order.
#[derive(Debug, Default)]
struct Samples {
    by_arm: BTreeMap<String, BTreeMap<Subject, Vec<f64>>>,
}

impl Samples {
    fn add(&mut self, arm: &str, probes: &ProbeFile) {
        let arm = self.by_arm.entry(arm.to_string()).or_default();
        for r in &probes.records {
            for t in &r.timings {
                arm.entry((r.gate.clone(), t.metric.clone())).or_default().push(t.value);
            }
        }
    }
    fn of(&self, arm: &str, s: &Subject) -> &[f64] {
        self.by_arm.get(arm).and_then(|m| m.get(s)).map_or(&[], Vec::as_slice)
    }
    /// The paired input of `subject`: `arm` as the candidate, against the base and the control.
    fn input<'a>(&'a self, s: &'a Subject, info: &SubjectInfo, arm: &str) -> PairedInput<'a> {
        PairedInput {
            gate: &s.0,
            metric: &s.1,
            unit: info.unit,
            tolerance: info.tolerance_pct / 100.0,
            base: self.of("base", s),
            candidate: self.of(arm, s),
            control: self.of("control", s),
        }
    }
}

fn subjects(probes: &ProbeFile) -> anyhow::Result<BTreeMap<Subject, SubjectInfo>> {
    let mut out = BTreeMap::new();
    for r in &probes.records {
        for t in &r.timings {
            let unit =
                Unit::from_name(&t.unit).with_context(|| format!("gate `{}`: unknown unit `{}`", r.gate, t.unit))?;
            out.insert((r.gate.clone(), t.metric.clone()), SubjectInfo { unit, tolerance_pct: r.tolerance_pct });
        }
    }
    Ok(out)
}

/// The arm names of a round, forward order.
fn arms(prove: bool) -> Vec<String> {
    let mut a: Vec<String> = ["base", "candidate", "control"].map(String::from).into();
    if prove {
        a.extend(PROVE_SLOWDOWNS.iter().map(|p| format!("base+{p}%")));
    }
    a
}

/// Compares `candidate` with `base`: drift, interleaved rounds, paired rows. `work` is a
/// scratch folder for dumps and probe files.
pub fn compare(
    base: &Build,
    base_commit: &str,
    candidate: &Build,
    settings: &Settings,
    work: &Path,
) -> anyhow::Result<Comparison> {
    std::fs::create_dir_all(work).with_context(|| format!("create {}", work.display()))?;
    let mut notes = Vec::new();
    let drift = drift_rows(base, candidate, settings, work, &mut notes)?;

    let arm_names = arms(settings.prove);
    let file = work.join("probe.json");
    // Round 0's candidate and base processes also tell which subjects each build has.
    let start = Instant::now();
    let mut samples = Samples::default();
    let mut rounds = 0;
    let mut both: BTreeMap<Subject, SubjectInfo> = BTreeMap::new();
    let (mut new_in_candidate, mut gone_from_candidate) = (Vec::new(), Vec::new());
    let stop = loop {
        let order: Vec<&String> =
            if rounds % 2 == 0 { arm_names.iter().collect() } else { arm_names.iter().rev().collect() };
        for arm in order {
            let (build, slowdown) = match arm.as_str() {
                "candidate" => (candidate, 0.0),
                "base" | "control" => (base, 0.0),
                other => {
                    let pct = other.trim_start_matches("base+").trim_end_matches('%');
                    (base, pct.parse::<f64>().with_context(|| format!("arm `{other}`"))?)
                }
            };
            match probe_once(build, settings, slowdown, &file)? {
                Some(p) => {
                    if rounds == 0 && (arm == "base" || arm == "candidate") {
                        let s = subjects(&p)?;
                        if arm == "base" {
                            both = s;
                        } else {
                            both = merge_subjects(both, s, &mut new_in_candidate, &mut gone_from_candidate);
                        }
                    }
                    samples.add(arm, &p);
                }
                None => {
                    notes.push(format!(
                        "the base {} has no probe mode (a harness from before `regress`): every timed subject is new",
                        settings.against
                    ));
                    let cand = probe_once(candidate, settings, 0.0, &file)?.map(|p| subjects(&p)).transpose()?;
                    new_in_candidate = cand.unwrap_or_default().keys().map(|(g, m)| format!("{g}/{m}")).collect();
                    both.clear();
                    break;
                }
            }
        }
        if rounds == 0 && both.is_empty() {
            break StopReason::NothingToTime;
        }
        rounds += 1;
        if rounds >= settings.min_rounds && powered(&samples, &both, settings.seed)? {
            break StopReason::Powered;
        }
        if rounds >= settings.max_rounds {
            break StopReason::MaxRounds;
        }
        if start.elapsed().as_secs_f64() >= settings.budget_s && rounds >= 3 {
            break StopReason::Budget;
        }
    };
    let mut rows = Vec::new();
    let mut slowdowns = Vec::new();
    if stop != StopReason::NothingToTime {
        for (s, info) in &both {
            rows.push(paired::compare(&samples.input(s, info, "candidate"), settings.seed)?);
            if settings.prove {
                for pct in PROVE_SLOWDOWNS {
                    slowdowns.push(paired::slowdown_row(
                        &s.0,
                        &s.1,
                        info.unit,
                        info.tolerance_pct / 100.0,
                        pct / 100.0,
                        samples.of("base", s),
                        samples.of(&format!("base+{pct}%"), s),
                        settings.seed,
                    )?);
                }
            }
        }
    }
    Ok(Comparison {
        against: settings.against.clone(),
        base_commit: base_commit.to_string(),
        plan: RoundsPlan {
            arms: arm_names,
            rounds,
            min_rounds: settings.min_rounds,
            max_rounds: settings.max_rounds,
            budget_s: settings.budget_s,
            duration_s: start.elapsed().as_secs_f64(),
            stop,
            seed: settings.seed,
        },
        allow_underpowered: settings.allow_underpowered,
        rows,
        new_in_candidate,
        gone_from_candidate,
        drift,
        slowdowns,
        notes,
    })
}

/// The subjects both builds measure (the candidate's tolerance and unit: it declares them);
/// the others listed as new or gone.
fn merge_subjects(
    base: BTreeMap<Subject, SubjectInfo>,
    candidate: BTreeMap<Subject, SubjectInfo>,
    new: &mut Vec<String>,
    gone: &mut Vec<String>,
) -> BTreeMap<Subject, SubjectInfo> {
    let base_keys: BTreeSet<&Subject> = base.keys().collect();
    let cand_keys: BTreeSet<&Subject> = candidate.keys().collect();
    gone.extend(base_keys.difference(&cand_keys).map(|(g, m)| format!("{g}/{m}")));
    new.extend(cand_keys.difference(&base_keys).map(|(g, m)| format!("{g}/{m}")));
    candidate.into_iter().filter(|(k, _)| base.contains_key(k)).collect()
}

/// Whether every subject's A/A control has an MDE under its tolerance (the candidate's samples
/// play no part: stopping on the A/B result would bias it).
fn powered(samples: &Samples, both: &BTreeMap<Subject, SubjectInfo>, seed: u64) -> anyhow::Result<bool> {
    for (s, info) in both {
        let row = paired::compare(&samples.input(s, info, "control"), seed)?;
        if row.mde > row.tolerance {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Dumps both builds' outputs and compares them; a base without outputs mode gives no rows
/// and a note.
fn drift_rows(
    base: &Build,
    candidate: &Build,
    settings: &Settings,
    work: &Path,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<ironforge::gate::drift::DriftRow>> {
    let mut dumps = Vec::new();
    for b in [base, candidate] {
        let path = work.join(format!("outputs-{}.bin", b.label));
        let _ = std::fs::remove_file(&path);
        let env = [("IRONFORGE_MODE", "outputs".to_string()), ("IRONFORGE_OUTPUTS", path.display().to_string())];
        let (ok, stderr) = run_mode(b, settings, &env)?;
        anyhow::ensure!(ok, "the {} harness failed in outputs mode:\n{}", b.label, stderr.trim());
        dumps.push(path);
    }
    if !dumps[0].exists() {
        notes.push(format!(
            "the base {} has no outputs mode (a harness from before `drift`): no drift compared",
            settings.against
        ));
        return Ok(Vec::new());
    }
    anyhow::ensure!(dumps[1].exists(), "the candidate harness wrote no outputs dump");
    Ok(compare_dumps(&dumps[0], &dumps[1])?)
}

/// One line per row for the terminal.
pub fn summary(c: &Comparison) -> String {
    let mut s = format!(
        "candidate vs {} ({}): {} rounds in {} s, stopped because {}\n",
        c.against,
        &c.base_commit[..c.base_commit.len().min(12)],
        c.plan.rounds,
        num(c.plan.duration_s),
        c.plan.stop.describe()
    );
    for r in &c.rows {
        s.push_str(&format!(
            "  {:<40} {:>8}x [{}, {}]  tolerance {}%  MDE {}%  {:?}\n",
            format!("{}/{}", r.gate, r.metric),
            num(r.ratio),
            num(r.interval[0]),
            num(r.interval[1]),
            num(r.tolerance * 100.0),
            num(r.mde * 100.0),
            r.verdict
        ));
    }
    for d in &c.drift {
        s.push_str(&format!(
            "  drift {:<34} {:?}: {} of {} cases changed\n",
            d.scenario, d.status, d.cases_changed, d.cases
        ));
    }
    for n in c.new_in_candidate.iter() {
        s.push_str(&format!("  new in the candidate: {n}\n"));
    }
    for n in &c.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiny_fixture as tiny;
    use ironforge::gate::drift::DriftStatus;
    use ironforge::gate::paired::RegressionVerdict;

    fn settings(against: &str) -> Settings {
        Settings {
            against: against.into(),
            min_rounds: 6,
            max_rounds: 12,
            budget_s: 60.0,
            prove: true,
            allow_underpowered: false,
            seed: 7,
            env: [("IRONFORGE_TIER".to_string(), "quick".to_string())].into(),
            extra_env: vec![],
        }
    }

    #[test]
    fn a_subject_on_one_side_only_is_new_or_gone_not_judged() {
        let info = || SubjectInfo { unit: Unit::Micros, tolerance_pct: 5.0 };
        let key = |g: &str| (g.to_string(), "m".to_string());
        let base: BTreeMap<Subject, SubjectInfo> = [(key("kept"), info()), (key("dropped"), info())].into();
        let cand: BTreeMap<Subject, SubjectInfo> = [(key("kept"), info()), (key("added"), info())].into();
        let (mut new, mut gone) = (Vec::new(), Vec::new());
        let both = merge_subjects(base, cand, &mut new, &mut gone);
        assert_eq!(both.keys().collect::<Vec<_>>(), [&key("kept")]);
        assert_eq!((new, gone), (vec!["added/m".to_string()], vec!["dropped/m".to_string()]));
    }

    /// The whole flow on the tiny fixture crate: a revision made 50% slower on purpose is
    /// caught, the base against itself passes, a changed output is reported as drift, and bad
    /// revisions get errors naming them.
    #[test]
    fn the_worktree_flow_catches_a_slower_revision_and_a_changed_output() {
        let _alone = tiny::exclusive();
        let ws = crate::release_check::workspace_root();
        let target = ws.join("target").join("tiny-fixture");
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let fast = tiny::init(&repo, &ws);
        let err = resolve(&repo, "no-such-rev").unwrap_err().to_string();
        assert!(err.contains("unknown revision `no-such-rev`"), "{err}");
        assert_eq!(resolve(&repo, "HEAD").unwrap(), fast);
        let trees = dir.path().join("trees");
        let tree = worktree(&repo, &trees, &fast).unwrap();
        assert_eq!(worktree(&repo, &trees, &fast).unwrap(), tree, "a second run reuses the worktree");
        let log = dir.path().join("build.log");
        // Base and candidate share one target folder here (the dependencies build once); the
        // base's executable is kept aside, as the release check keeps each base's.
        let shared = BuildPlace { target_dir: Some(target.clone()), keep_as: None };
        let kept = BuildPlace { keep_as: Some(tree.parent().unwrap().join("gates")), ..shared.clone() };
        let base = build("base", &tree, &kept, false, &[], &[], &log).unwrap();
        // The candidate: the next commit, made 50% slower on purpose.
        tiny::commit(&repo, tiny::FAST_WORK * 3 / 2, 0, "slower on purpose");
        assert_eq!(resolve(&repo, "HEAD~1").unwrap(), fast);
        let slower = build("candidate", &repo, &shared, false, &[], &[], &log).unwrap();

        let c = compare(&base, &fast, &slower, &settings("HEAD~1"), &dir.path().join("w1")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.rows.len(), 1, "{c:?}");
        let r = &c.rows[0];
        assert_eq!((r.gate.as_str(), r.metric.as_str()), ("spin_speed", "spin"));
        assert_eq!(r.verdict, RegressionVerdict::Regressed, "{}", summary(&c));
        assert!(r.ratio < 0.8 && r.interval[1] < 0.95, "{}", summary(&c));
        assert!(c.failures().iter().any(|f| f.contains("spin_speed/spin: regressed")), "{:?}", c.failures());
        assert!(c.plan.rounds >= 6);
        assert_eq!(c.drift.len(), 1);
        assert_eq!(c.drift[0].status, DriftStatus::Unchanged);
        // --prove: the 20% calibrated slowdown of the base is caught.
        assert_eq!(paired::smallest_caught(&c.slowdowns, "spin_speed", "spin").map(|x| x <= 0.2), Some(true));

        // The base against itself: nothing regressed, nothing drifted.
        let same = compare(&base, &fast, &base, &settings("HEAD~1"), &dir.path().join("w2")).unwrap();
        assert_ne!(same.rows[0].verdict, RegressionVerdict::Regressed, "{}", summary(&same));
        assert!(same.drift.iter().all(|d| d.status == DriftStatus::Unchanged));

        // Fast again, but every output shifted by one: drift fails whatever the speed.
        tiny::commit(&repo, tiny::FAST_WORK, 1, "changes an output");
        let changed = build("candidate", &repo, &shared, false, &[], &[], &log).unwrap();
        let c = compare(&base, &fast, &changed, &settings("HEAD~2"), &dir.path().join("w3")).unwrap();
        assert_eq!(c.drift[0].status, DriftStatus::Drifted, "{}", summary(&c));
        assert_eq!(c.drift[0].cases_changed, 4);
        assert!(c.failures().iter().any(|f| f.contains("doubled_outputs")), "{:?}", c.failures());

        // A revision whose harness does not build.
        std::fs::write(repo.join("gates/main.rs"), "fn main() { not rust }\n").unwrap();
        tiny::git(&repo, &["commit", "-qam", "broken"]);
        let broken = resolve(&repo, "HEAD").unwrap();
        let broken_tree = worktree(&repo, &trees, &broken).unwrap();
        let err = build("base", &broken_tree, &shared, false, &[], &[], &log).unwrap_err().to_string();
        assert!(err.contains("the base harness") && err.contains("does not build"), "{err}");
    }
}
