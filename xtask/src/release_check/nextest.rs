//! The gate harness through cargo-nextest (`--nextest`, `--partition`, `--archive`,
//! `--from-archive`): profile `release-check` of `.config/nextest.toml`, one process per trial,
//! each writing its own measurements file (`IRONFORGE_TRIAL_DIR`), gathered into the run's
//! `measurements.json`; nextest's JUnit XML copied beside the audit.
//!
//! A shard (`--partition hash:I/N | slice:I/N`) asks nextest which trials its partition selects
//! before it runs them and records both in the audit ([`ShardRun`]), so `audit-merge` can tell a
//! shard that ran another set from one that ran its own. A `duration:I/N` shard deals every
//! trial nextest lists by the durations of an earlier run (`--durations`, its
//! `measurements.json` or `audit_run.json`; [`DurationPlan`]) and hands nextest its own as a
//! filterset (`-E 'test(=…) | …'`); it records the plan's digest too, so shards dealt from
//! different durations do not merge.
//!
//! An archive (`--archive FILE`) is nextest's, with the harness's data staged under
//! `target/ironforge-archive/` (the profile's `archive.include`): the workspace's fixtures,
//! nextest settings and root manifest, and the commit it was built from; `--from-archive FILE`
//! extracts it, points nextest's workspace at the staged data and runs without building
//! anything.

use super::harness::{cargo, cargo_command, last_lines, spinner, tail, ExtraEnv, HarnessRun};
use super::Args;
use crate::machine::probe_git;
use anyhow::Context;
use ironforge::gate::audit::{DurationPlan, GitState, Scheme, ShardRun};
use ironforge::gate::env::ENV_TRIAL_DIR;
use ironforge::gate::sink::collect_trials;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// The nextest profile the release check runs.
pub const PROFILE: &str = "release-check";
/// The folder of a run where each trial writes its file.
pub const TRIALS_DIR: &str = "trials";
/// nextest's JUnit report, copied into the run folder.
pub const JUNIT_XML: &str = "junit.xml";
/// Where `--archive` stages the harness's data, under the target folder (the profile's
/// `archive.include` names it).
pub const STAGE: &str = "ironforge-archive";
/// The archive's own description, in the staged workspace.
pub const ARCHIVE_META: &str = "archive.json";
/// Schema of [`ArchiveMeta`].
pub const ARCHIVE_SCHEMA: &str = "ironforge.archive/1";

/// What an archive says about itself: the commit it was built from and its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveMeta {
    /// Always [`ARCHIVE_SCHEMA`].
    pub schema: String,
    /// The source tree the harness was built from.
    pub git: GitState,
    /// Cargo features of the build (`torch` or none).
    pub features: Vec<String>,
}

/// Where the harness comes from.
pub enum Source {
    /// This work tree's release build.
    Build,
    /// An archive, extracted into `extract_to`.
    Archive { file: PathBuf, extract_to: PathBuf },
}

/// The target folder cargo builds into: `CARGO_TARGET_DIR` (of the extra environment, else
/// this process's), else `<root>/target`.
fn target_dir(root: &Path, extra: &ExtraEnv) -> PathBuf {
    let given = extra.iter().find(|(k, _)| k == "CARGO_TARGET_DIR").map(|(_, v)| PathBuf::from(v));
    given.or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)).unwrap_or_else(|| root.join("target"))
}

/// The workspace an extracted archive's harness sees (`--workspace-remap`).
fn remapped_workspace(extract_to: &Path) -> PathBuf {
    extract_to.join("target").join(STAGE).join("workspace")
}

/// Fails with how to install nextest when `cargo nextest` does not run.
pub fn ensure_nextest(root: &Path) -> anyhow::Result<()> {
    let ok = std::process::Command::new(cargo())
        .args(["nextest", "--version"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    anyhow::ensure!(
        ok,
        "`cargo nextest` does not run here: --nextest, --partition, --archive and --from-archive need cargo-nextest \
         (`cargo install cargo-nextest --locked`); the plain release check needs only cargo"
    );
    Ok(())
}

/// The nextest arguments that say which harness to run and how.
fn source_args(args: &Args, source: &Source) -> Vec<String> {
    let mut out: Vec<String> = match source {
        Source::Build => {
            let mut v: Vec<String> = ["--release", "--test", "gates"].map(String::from).into();
            if args.torch {
                v.extend(["--features", "torch"].map(String::from));
            }
            v
        }
        Source::Archive { file, extract_to } => vec![
            "--archive-file".into(),
            file.display().to_string(),
            "--extract-to".into(),
            extract_to.display().to_string(),
            "--extract-overwrite".into(),
            "--workspace-remap".into(),
            remapped_workspace(extract_to).display().to_string(),
        ],
    };
    out.extend(["--profile", PROFILE].map(String::from));
    // nextest deals `hash` and `slice` itself; a `duration` shard passes its filterset instead.
    if let Some(p) = args.partition.filter(|p| p.scheme != Scheme::Duration) {
        out.extend(["--partition".to_string(), p.to_string()]);
    }
    out
}

/// `nextest <sub> <source args> <extra args> [-- filters]`.
fn nextest_command(sub: &str, args: &Args, source: &Source, extra_args: &[&str]) -> Vec<String> {
    let mut cmd = vec!["nextest".to_string(), sub.to_string()];
    cmd.extend(source_args(args, source));
    cmd.extend(extra_args.iter().map(|s| s.to_string()));
    if !args.filters.is_empty() {
        cmd.push("--".into());
        cmd.extend(args.filters.iter().cloned());
    }
    cmd
}

/// The trial name of a nextest test name (`[family] name` → `name`).
fn trial_name(test: &str) -> &str {
    test.split_once("] ").map_or(test, |(_, name)| name)
}

/// The trials nextest would run (`list --message-format json`), sorted: those whose filter
/// match is `matches` (not ignored, not outside the filters or the partition).
fn parse_selected(json: &[u8]) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = parse_listed(json)?.iter().map(|t| trial_name(t).to_string()).collect();
    names.sort();
    Ok(names)
}

/// nextest's names (`[family] name`) of the tests [`parse_selected`] keeps.
fn parse_listed(json: &[u8]) -> anyhow::Result<Vec<String>> {
    #[derive(Deserialize)]
    struct List {
        #[serde(rename = "rust-suites")]
        suites: BTreeMap<String, Suite>,
    }
    #[derive(Deserialize)]
    struct Suite {
        testcases: BTreeMap<String, Case>,
    }
    #[derive(Deserialize)]
    struct Case {
        #[serde(rename = "filter-match")]
        filter_match: Match,
    }
    #[derive(Deserialize)]
    struct Match {
        status: String,
    }
    let list: List = serde_json::from_slice(json).context("parse `cargo nextest list --message-format json`")?;
    Ok(list
        .suites
        .values()
        .flat_map(|s| s.testcases.iter())
        .filter(|(_, c)| c.filter_match.status == "matches")
        .map(|(name, _)| name.clone())
        .collect())
}

/// `cargo nextest list --message-format json` of this run (`extra_args` before the format
/// flag); its standard output. This also extracts an archive.
fn list_json(
    root: &Path,
    args: &Args,
    source: &Source,
    env: &BTreeMap<String, String>,
    extra: &ExtraEnv,
    extra_args: &[&str],
) -> anyhow::Result<Vec<u8>> {
    let mut flags = extra_args.to_vec();
    flags.extend(["--message-format", "json"]);
    let cmd = nextest_command("list", args, source, &flags);
    let out = cargo_command(root, cmd.clone(), extra).envs(env).output().context("spawn cargo nextest list")?;
    anyhow::ensure!(
        out.status.success(),
        "`cargo {}` failed:\n{}",
        cmd.join(" "),
        last_lines(&String::from_utf8_lossy(&out.stderr), 20)
    );
    Ok(out.stdout)
}

/// The nextest filterset that selects exactly `tests` (nextest's names): `test(=…)` of each,
/// joined by `|`, with the characters the filterset language reserves escaped.
fn exact_filterset(tests: &[String]) -> String {
    let escape = |t: &str| {
        t.chars().fold(String::new(), |mut s, c| {
            if matches!(c, '\\' | '(' | ')' | ',') {
                s.push('\\');
            }
            s.push(c);
            s
        })
    };
    tests.iter().map(|t| format!("test(={})", escape(t))).collect::<Vec<_>>().join(" | ")
}

/// Each trial's duration as an earlier run recorded it in `file`: its `measurements.json`, or an
/// `audit_run.json` (a whole run's or a merge of shards, whose rows keep each record).
fn recorded_durations(file: &Path) -> anyhow::Result<BTreeMap<String, f64>> {
    let bytes = std::fs::read(file).with_context(|| format!("--durations {}", file.display()))?;
    if let Ok(audit) = serde_json::from_slice::<ironforge::gate::audit::AuditRun>(&bytes) {
        return Ok(audit.gates.iter().map(|g| (g.record.name.clone(), g.record.duration_s)).collect());
    }
    // The bytes already read, parsed as `harness::read_measurements` parses a file.
    let recorded: ironforge::gate::record::Measurements = serde_json::from_slice(&bytes).with_context(|| {
        format!("--durations {}: neither an audit_run.json nor a measurements.json", file.display())
    })?;
    Ok(recorded.records.iter().map(|r| (r.name.clone(), r.duration_s)).collect())
}

/// A `duration:I/N` shard's plan and filterset: every trial the run lists (without a
/// partition), dealt by the durations `--durations` recorded.
fn duration_shard(
    root: &Path,
    args: &Args,
    source: &Source,
    env: &BTreeMap<String, String>,
    extra: &ExtraEnv,
) -> anyhow::Result<(DurationPlan, String)> {
    let partition = args.partition.expect("a duration shard has a partition");
    let file = args.durations.as_ref().with_context(|| {
        format!("--partition {partition} deals the trials by their durations: give an earlier run's audit_run.json or measurements.json with --durations FILE")
    })?;
    let durations = recorded_durations(file)?;
    let whole = Args { partition: None, ..args.clone() };
    let listed = parse_listed(&list_json(root, &whole, source, env, extra, &[])?)?;
    let trials: Vec<String> = listed.iter().map(|t| trial_name(t).to_string()).collect();
    let plan = DurationPlan::new(&trials, &durations, partition.count);
    let mine: Vec<String> =
        listed.into_iter().filter(|t| plan.shard(partition.index).iter().any(|x| x == trial_name(t))).collect();
    anyhow::ensure!(
        !mine.is_empty(),
        "--partition {partition}: the plan deals this shard no trial ({} trials for {} shards)",
        trials.len(),
        partition.count
    );
    Ok((plan, exact_filterset(&mine)))
}

/// What a nextest run gives the audit besides the measurements.
pub struct NextestRun {
    /// The harness process's outcome.
    pub run: HarnessRun,
    /// The command line.
    pub command: Vec<String>,
    /// The partition and what it selects, for a shard.
    pub shard: Option<ShardRun>,
    /// The archive's source tree, when run from an archive.
    pub archive_git: Option<GitState>,
}

/// Runs the gates through nextest into `dir`: `dir/trials/*.json` gathered into
/// `dir/<measurements>`, `dir/junit.xml`, the logs.
pub fn run_gates(
    root: &Path,
    args: &Args,
    env: &BTreeMap<String, String>,
    extra: &ExtraEnv,
    dir: &Path,
    measurements: &Path,
) -> anyhow::Result<NextestRun> {
    if let (Some(file), Some(p)) = (&args.durations, args.partition) {
        anyhow::ensure!(
            p.scheme == Scheme::Duration,
            "--durations {} deals a duration:I/N partition; --partition {p} is dealt by nextest and would ignore it",
            file.display()
        );
    }
    ensure_nextest(root)?;
    let source = match &args.from_archive {
        None => Source::Build,
        Some(file) => {
            let file = std::fs::canonicalize(file).with_context(|| format!("archive {}", file.display()))?;
            let extract_to = dir.join("archive");
            std::fs::create_dir_all(&extract_to).with_context(|| format!("create {}", extract_to.display()))?;
            Source::Archive { file, extract_to }
        }
    };
    let trials = dir.join(TRIALS_DIR);
    if trials.exists() {
        std::fs::remove_dir_all(&trials).with_context(|| format!("remove {}", trials.display()))?;
    }
    let mut env = env.clone();
    env.remove("IRONFORGE_MEASUREMENTS");
    env.insert(ENV_TRIAL_DIR.into(), trials.display().to_string());

    // A duration shard's plan and the filterset that runs its trials (nextest deals the others).
    let dealt = match args.partition {
        Some(p) if p.scheme == Scheme::Duration => Some(duration_shard(root, args, &source, &env, extra)?),
        _ => None,
    };
    let filter: Vec<&str> = dealt.as_ref().map_or(Vec::new(), |(_, expr)| vec!["-E", expr.as_str()]);
    let selection = parse_selected(&list_json(root, args, &source, &env, extra, &filter)?)?;
    if let Some((plan, _)) = &dealt {
        let p = args.partition.expect("a duration shard has a partition");
        anyhow::ensure!(
            selection == plan.shard(p.index),
            "--partition {p}: nextest selects {selection:?}, the plan deals {:?}",
            plan.shard(p.index)
        );
    }
    let archive_git = match &source {
        Source::Build => None,
        Source::Archive { file, extract_to } => Some(read_meta(file, extract_to)?.git),
    };
    // The store is `target/nextest` of the workspace (`[store]` in `.config/nextest.toml`), the
    // remapped one for an archive; a report left by an earlier run is never copied.
    let junit_from = match &source {
        Source::Build => root.to_path_buf(),
        Source::Archive { extract_to, .. } => remapped_workspace(extract_to),
    }
    .join("target/nextest")
    .join(PROFILE)
    .join(JUNIT_XML);
    if junit_from.exists() {
        std::fs::remove_file(&junit_from).with_context(|| format!("remove {}", junit_from.display()))?;
    }
    let mut run_flags = filter.clone();
    run_flags.push("--no-fail-fast");
    let command = nextest_command("run", args, &source, &run_flags);
    let pb = spinner(&format!("running {} gates through nextest", selection.len()));
    let log = |name: &str| -> anyhow::Result<std::fs::File> {
        let path = dir.join(name);
        std::fs::File::create(&path).with_context(|| format!("create {}", path.display()))
    };
    let start = Instant::now();
    let status = cargo_command(root, command.clone(), extra)
        .env_remove("IRONFORGE_PROVE")
        .envs(&env)
        .stdout(Stdio::from(log("harness.log")?))
        .stderr(Stdio::from(log("harness.stderr.log")?))
        .status()
        .context("spawn cargo nextest run")?;
    let run = HarnessRun { exit_code: status.code(), duration_s: start.elapsed().as_secs_f64() };
    pb.finish_with_message(format!("ran the gates through nextest (exit {:?})", run.exit_code));

    let gathered = collect_trials(&trials).with_context(|| {
        format!(
            "nextest (exit {:?}) left no usable trial files; its output:\n{}",
            run.exit_code,
            tail(&dir.join("harness.stderr.log"), 20)
        )
    })?;
    let mut bytes = serde_json::to_vec_pretty(&gathered)?;
    bytes.push(b'\n');
    crate::atomic::write_atomic(measurements, &bytes)?;
    std::fs::copy(&junit_from, dir.join(JUNIT_XML)).with_context(|| format!("copy {}", junit_from.display()))?;
    let plan = dealt.as_ref().map(|(plan, _)| plan.digest().to_string());
    let shard = args.partition.map(|partition| ShardRun { partition, selected: selection, plan });
    Ok(NextestRun { run, command: std::iter::once("cargo".to_string()).chain(command).collect(), shard, archive_git })
}

fn read_meta(file: &Path, extract_to: &Path) -> anyhow::Result<ArchiveMeta> {
    let path = remapped_workspace(extract_to).join(ARCHIVE_META);
    let bytes = std::fs::read(&path).with_context(|| {
        format!("archive {}: no {ARCHIVE_META} (not written by `release-check --archive`?)", file.display())
    })?;
    let meta: ArchiveMeta = serde_json::from_slice(&bytes)
        .with_context(|| format!("archive {}: parse {}", file.display(), path.display()))?;
    anyhow::ensure!(
        meta.schema == ARCHIVE_SCHEMA,
        "archive {}: schema {:?}, expected {ARCHIVE_SCHEMA:?}",
        file.display(),
        meta.schema
    );
    Ok(meta)
}

/// Copies the folder `from` into `to` (files and folders only).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copy {}", src.display()))?;
        }
    }
    Ok(())
}

/// `--archive FILE`: builds the harness and writes nextest's archive of it with the staged
/// data (`fixtures/`, `.config/nextest.toml`, the root `Cargo.toml` nextest looks for,
/// [`ArchiveMeta`], and the real sessions when `../shared/data/nq-m5` exists).
pub fn write_archive(root: &Path, args: &Args, file: &Path, extra: &ExtraEnv) -> anyhow::Result<()> {
    ensure_nextest(root)?;
    let stage = target_dir(root, extra).join(STAGE);
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("remove {}", stage.display()))?;
    }
    let workspace = stage.join("workspace");
    if root.join("fixtures").is_dir() {
        copy_tree(&root.join("fixtures"), &workspace.join("fixtures"))?;
    }
    copy_tree(&root.join(".config"), &workspace.join(".config"))?;
    // nextest checks that the remapped workspace has its root manifest.
    std::fs::copy(root.join("Cargo.toml"), workspace.join("Cargo.toml")).context("stage Cargo.toml")?;
    let real = root.join("../shared/data/nq-m5");
    if real.is_dir() {
        copy_tree(&real, &stage.join("shared").join("data").join("nq-m5"))?;
    }
    let git = probe_git(root);
    let meta = ArchiveMeta {
        schema: ARCHIVE_SCHEMA.into(),
        git: git.clone(),
        features: if args.torch { vec!["torch".into()] } else { vec![] },
    };
    std::fs::write(workspace.join(ARCHIVE_META), serde_json::to_vec_pretty(&meta)?)?;
    let file = std::path::absolute(file).with_context(|| format!("resolve {}", file.display()))?;
    let mut cmd = vec!["nextest".to_string(), "archive".to_string()];
    cmd.extend(source_args(&Args { partition: None, ..args.clone() }, &Source::Build));
    cmd.extend(["--archive-file".to_string(), file.display().to_string()]);
    let pb = spinner("building the gate harness and archiving it");
    let out = cargo_command(root, cmd.clone(), extra).output().context("spawn cargo nextest archive")?;
    pb.finish_and_clear();
    anyhow::ensure!(
        out.status.success(),
        "`cargo {}` failed:\n{}",
        cmd.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let dirty = if git.dirty == Some(false) { "" } else { ", with uncommitted changes" };
    println!(
        "archive of the gate harness at {}{dirty} written to {}",
        git.commit.as_deref().unwrap_or("an unknown commit"),
        file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tiny_fixture as tiny;
    use ironforge::gate::audit::{merge, AuditRun, Machine, RunConfig};

    /// Whether `cargo nextest` runs here (the tests that need it say so and skip otherwise;
    /// `.ci/run` installs it).
    fn nextest_here() -> bool {
        let ok = ensure_nextest(Path::new(".")).is_ok();
        if !ok {
            eprintln!("skipped: cargo-nextest is not installed (`cargo install cargo-nextest --locked`)");
        }
        ok
    }

    /// One shard of the tiny fixture run through nextest into `dir`, audited.
    fn shard(repo: &Path, args: &Args, extra: &ExtraEnv, dir: &Path) -> (NextestRun, AuditRun) {
        std::fs::create_dir_all(dir).unwrap();
        let measurements = dir.join("measurements.json");
        let env = super::super::harness::harness_env(args, &measurements);
        let run = run_gates(repo, args, &env, extra, dir, &measurements).unwrap();
        let m = super::super::harness::read_measurements(&measurements).unwrap();
        let git = run.archive_git.clone().unwrap_or_else(|| probe_git(repo));
        let config = RunConfig {
            tier: "quick".into(),
            harness_exit_code: run.run.exit_code,
            allow_partial: true,
            shard: run.shard.clone(),
            ..RunConfig::default()
        };
        let audit = AuditRun::from_measurements(&m, Machine::default(), git, config).unwrap();
        (run, audit)
    }

    /// The nextest flow on the tiny fixture crate (its two trials, one per shard): each shard
    /// records its partition and selection, writes a file per trial and JUnit with the values,
    /// the shards merge into the whole; an archive runs from another folder with the commit it
    /// was built from.
    #[test]
    fn shards_and_an_archive_of_the_tiny_crate_run_through_nextest_and_merge() {
        if !nextest_here() {
            return;
        }
        let _alone = tiny::exclusive();
        let ws = crate::release_check::workspace_root();
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        tiny::init(&repo, &ws);
        std::fs::create_dir_all(repo.join(".config")).unwrap();
        std::fs::copy(ws.join(".config/nextest.toml"), repo.join(".config/nextest.toml")).unwrap();
        tiny::git(&repo, &["add", "-A"]);
        tiny::git(&repo, &["commit", "-q", "-m", "nextest settings"]);
        let commit = tiny::git(&repo, &["rev-parse", "HEAD"]);
        // The release profile unoptimised: this tests the flow, not the speed (shared folder,
        // so the framework builds once across runs).
        let extra: ExtraEnv = [
            ("CARGO_TARGET_DIR", ws.join("target/tiny-fixture").display().to_string()),
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".into()),
            ("CARGO_PROFILE_RELEASE_LTO", "false".into()),
            ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16".into()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into();
        let base = Args { quick: true, ..super::super::tests::args(Path::new("unused"), dir.path()) };
        let args = |partition: &str| Args {
            from_measurements: None,
            partition: Some(partition.parse().unwrap()),
            ..base.clone()
        };

        let mut shards = Vec::new();
        for (i, p) in ["slice:1/2", "slice:2/2"].into_iter().enumerate() {
            let out = dir.path().join(format!("s{i}"));
            let (run, audit) = shard(&repo, &args(p), &extra, &out);
            let selected = &run.shard.as_ref().unwrap().selected;
            assert_eq!(selected.len(), 1, "{selected:?}");
            assert!(out.join(TRIALS_DIR).join(format!("{}.json", selected[0])).exists());
            let junit = std::fs::read_to_string(out.join(JUNIT_XML)).unwrap();
            assert!(junit.contains(&format!(" {}: ", selected[0])) && junit.contains("bound"), "{junit}");
            shards.push(merge::Shard { file: format!("s{i}"), audit });
        }
        let merged = merge::merge(shards.clone()).unwrap();
        let names: Vec<&str> = merged.gates.iter().map(|g| g.record.name.as_str()).collect();
        assert_eq!(names, ["doubled_outputs", "spin_speed"]);
        let err = merge::merge(vec![shards[0].clone()]).unwrap_err().to_string();
        assert!(err.contains("no shard of partition slice:2/2"), "{err}");

        // Dealt by duration: the two slice shards' records as the earlier run, one trial made
        // the longer, given to one shard as a measurements file and to the other as the merged
        // audit (same durations, same plan); each runs the trial the plan deals it, they merge.
        let mut earlier = super::super::harness::read_measurements(&dir.path().join("s0/measurements.json")).unwrap();
        earlier.records.extend(
            super::super::harness::read_measurements(&dir.path().join("s1/measurements.json")).unwrap().records,
        );
        for r in &mut earlier.records {
            r.duration_s = if r.name == "spin_speed" { 5.0 } else { 1.0 };
        }
        let durations = dir.path().join("earlier.json");
        std::fs::write(&durations, serde_json::to_vec(&earlier).unwrap()).unwrap();
        let mut merged_audit = merged.clone();
        for g in &mut merged_audit.gates {
            g.record.duration_s = if g.record.name == "spin_speed" { 5.0 } else { 1.0 };
        }
        let audit_file = dir.path().join("merged_audit_run.json");
        std::fs::write(&audit_file, serde_json::to_vec(&merged_audit).unwrap()).unwrap();
        let mut dealt = Vec::new();
        for (i, file) in [(1, &durations), (2, &audit_file)] {
            let by_duration = Args { durations: Some(file.clone()), ..args(&format!("duration:{i}/2")) };
            let (run, audit) = shard(&repo, &by_duration, &extra, &dir.path().join(format!("d{i}")));
            let shard_run = run.shard.unwrap();
            assert_eq!(shard_run.selected, [if i == 1 { "spin_speed" } else { "doubled_outputs" }]);
            assert!(run.command.iter().any(|a| a.starts_with("test(=")), "{:?}", run.command);
            assert!(!run.command.iter().any(|a| a == "--partition"), "{:?}", run.command);
            assert!(shard_run.plan.is_some());
            dealt.push(merge::Shard { file: format!("d{i}"), audit });
        }
        assert_eq!(merge::merge(dealt).unwrap().gates.len(), 2);
        let no_file = format!(
            "{:#}",
            run_gates(
                &repo,
                &args("duration:1/2"),
                &Default::default(),
                &extra,
                dir.path(),
                &dir.path().join("m.json")
            )
            .err()
            .unwrap()
        );
        assert!(no_file.contains("--durations FILE"), "{no_file}");

        let archive = dir.path().join("gates.tar.zst");
        write_archive(&repo, &Args { from_measurements: None, ..base.clone() }, &archive, &extra).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        let from = Args { from_archive: Some(archive.clone()), ..args("hash:1/1") };
        let (run, audit) = shard(&repo, &from, &extra, &elsewhere);
        assert_eq!(run.archive_git.unwrap().commit.as_deref(), Some(commit.as_str()));
        assert_eq!(audit.gates.len(), 2);
        assert!(run.command.iter().any(|a| a == "--archive-file"), "{:?}", run.command);

        // A truncated archive: an error naming it, no audit input written.
        let bad = dir.path().join("truncated.tar.zst");
        let bytes = std::fs::read(from.from_archive.as_ref().unwrap()).unwrap();
        std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
        let out = dir.path().join("bad");
        std::fs::create_dir_all(&out).unwrap();
        let measurements = out.join("measurements.json");
        let env = super::super::harness::harness_env(&from, &measurements);
        let bad_args = Args { from_archive: Some(bad.clone()), ..from.clone() };
        let err = format!("{:#}", run_gates(&repo, &bad_args, &env, &extra, &out, &measurements).err().unwrap());
        assert!(err.contains("truncated.tar.zst"), "{err}");
        assert!(!measurements.exists());
    }

    #[test]
    fn durations_with_a_partition_nextest_deals_are_refused_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            partition: Some("hash:1/2".parse().unwrap()),
            durations: Some("earlier.json".into()),
            ..super::super::tests::args(Path::new("m"), dir.path())
        };
        let m = dir.path().join("m.json");
        let err = format!(
            "{:#}",
            run_gates(dir.path(), &args, &Default::default(), &Default::default(), dir.path(), &m).err().unwrap()
        );
        assert!(err.contains("--durations earlier.json") && err.contains("hash:1/2"), "{err}");
        assert!(!m.exists());
    }

    #[test]
    fn durations_from_a_file_of_neither_kind_are_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, b"{}").unwrap();
        let err = format!("{:#}", recorded_durations(&junk).unwrap_err());
        assert!(
            err.contains("junk.json") && err.contains("neither an audit_run.json nor a measurements.json"),
            "{err}"
        );
        let err = format!("{:#}", recorded_durations(&dir.path().join("absent.json")).unwrap_err());
        assert!(err.contains("absent.json"), "{err}");
    }

    #[test]
    fn a_filterset_names_each_test_exactly_with_reserved_characters_escaped() {
        let tests = ["[gate] a_gate".to_string(), "[odd] f(x, y)\\z".to_string()];
        assert_eq!(exact_filterset(&tests), "test(=[gate] a_gate) | test(=[odd] f\\(x\\, y\\)\\\\z)");
    }

    #[test]
    fn the_selection_is_what_nextest_says_it_will_run() {
        let json = br#"{"rust-suites": {"ironforge::gates": {"testcases": {
            "[attention] b_gate": {"filter-match": {"status": "matches"}},
            "[demo] quick_only": {"filter-match": {"status": "mismatch", "reason": "ignored"}},
            "[dag] other_shard": {"filter-match": {"status": "mismatch", "reason": "partition"}},
            "[motif] a_gate": {"filter-match": {"status": "matches"}}}}}}"#;
        assert_eq!(parse_selected(json).unwrap(), ["a_gate", "b_gate"]);
        assert!(parse_selected(b"{").is_err());
    }

    #[test]
    fn an_archive_run_points_nextest_at_the_extracted_workspace() {
        let args = Args {
            partition: Some("slice:2/3".parse().unwrap()),
            ..super::super::tests::args(Path::new("m"), Path::new("o"))
        };
        let source = Source::Archive { file: "/a/gates.tar.zst".into(), extract_to: "/x".into() };
        let cmd = nextest_command("run", &args, &source, &["--no-fail-fast"]).join(" ");
        assert!(cmd.starts_with("nextest run --archive-file /a/gates.tar.zst --extract-to /x"), "{cmd}");
        assert!(cmd.contains("--workspace-remap /x/target/ironforge-archive/workspace"), "{cmd}");
        assert!(cmd.contains("--profile release-check --partition slice:2/3 --no-fail-fast"), "{cmd}");
        let built = nextest_command(
            "list",
            &Args { filters: vec!["--skip".into(), "demo".into()], ..args.clone() },
            &Source::Build,
            &[],
        );
        assert_eq!(
            built.join(" "),
            "nextest list --release --test gates --profile release-check --partition slice:2/3 -- --skip demo"
        );
        // nextest deals hash and slice; a duration shard passes a filterset instead.
        let by_duration = Args { partition: Some("duration:2/3".parse().unwrap()), ..args };
        let cmd = nextest_command("run", &by_duration, &Source::Build, &["-E", "test(=x)"]).join(" ");
        assert_eq!(cmd, "nextest run --release --test gates --profile release-check -E test(=x)");
    }
}
