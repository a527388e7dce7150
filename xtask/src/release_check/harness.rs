//! The gate harness as a cargo command: its release build, its environment, its run with a
//! progress bar (stdout logged to `harness.log`, stderr to `harness.stderr.log`) and the
//! measurements it writes.

use super::Args;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use ironforge::gate::record::Measurements;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(super) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub(super) fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"));
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

pub(super) fn tail(path: &Path, lines: usize) -> String {
    last_lines(&std::fs::read_to_string(path).unwrap_or_default(), lines)
}

/// The last `n` lines of `text`.
pub(super) fn last_lines(text: &str, n: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(n)..].join("\n")
}

/// Extra variables of every cargo command: the PyTorch environment under `--torch`.
pub(super) type ExtraEnv = Vec<(String, String)>;

pub(super) fn torch_env(args: &Args) -> anyhow::Result<ExtraEnv> {
    if !args.torch || args.from_measurements.is_some() {
        return Ok(Vec::new());
    }
    let env = crate::setup_torch::ensure(&crate::setup_torch::Args::default())?;
    Ok(env.vars(std::env::var("PATH").ok().as_deref(), std::env::var("LD_LIBRARY_PATH").ok().as_deref()))
}

/// `cargo test --release [--features torch] --test gates`.
pub(super) fn cargo_test(args: &Args) -> Vec<String> {
    let mut cmd: Vec<String> = ["test", "--release"].map(String::from).into();
    if args.torch {
        cmd.extend(["--features", "torch"].map(String::from));
    }
    cmd.extend(["--test", "gates"].map(String::from));
    cmd
}

/// `cargo <cargo_args>` in `root` with the extra (torch) environment: the one way every
/// harness command is made.
pub(super) fn cargo_command(root: &Path, cargo_args: Vec<String>, extra: &ExtraEnv) -> Command {
    let mut command = Command::new(cargo());
    command.args(cargo_args).envs(extra.iter().cloned()).current_dir(root);
    command
}

/// Builds the harness in release mode (`cargo test --release --test gates --no-run`).
pub(super) fn build_harness(root: &Path, out: &Path, args: &Args, extra: &ExtraEnv) -> anyhow::Result<()> {
    let log_path = out.join("build.log");
    let log = std::fs::File::create(&log_path).with_context(|| format!("create {}", log_path.display()))?;
    let pb = spinner("building the gate harness in release mode");
    let status = cargo_command(root, cargo_test(args), extra)
        .arg("--no-run")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .status()
        .context("spawn cargo")?;
    pb.finish_with_message(format!("built the gate harness ({})", if status.success() { "ok" } else { "FAILED" }));
    anyhow::ensure!(status.success(), "release build of the gate harness failed:\n{}", tail(&log_path, 30));
    Ok(())
}

/// Every `IRONFORGE_*` variable the harness gets: those inherited (except `IRONFORGE_PROVE`,
/// which only `--prove` sets) overlaid with the ones the flags set.
pub(super) fn harness_env(args: &Args, measurements: &Path) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> =
        std::env::vars().filter(|(k, _)| k.starts_with("IRONFORGE_") && k != "IRONFORGE_PROVE").collect();
    env.insert("IRONFORGE_MEASUREMENTS".into(), measurements.display().to_string());
    env.insert("IRONFORGE_TIER".into(), if args.quick { "quick" } else { "release" }.into());
    env.insert("IRONFORGE_SESSIONS".into(), args.sessions.env_value().into());
    env.insert("IRONFORGE_SEED".into(), args.seed.to_string());
    if args.prove {
        env.insert("IRONFORGE_PROVE".into(), "1".into());
    }
    env
}

pub(super) fn harness_command(args: &Args, list: bool) -> Vec<String> {
    let mut cmd = cargo_test(args);
    cmd.extend(["--", "--test-threads", "1"].map(String::from));
    if list {
        cmd.push("--list".into());
    }
    cmd.extend(args.filters.iter().cloned());
    cmd
}

/// Counts the trials the harness would run (for the progress bar), `None` if it cannot tell.
pub(super) fn count_trials(root: &Path, args: &Args, env: &BTreeMap<String, String>, extra: &ExtraEnv) -> Option<u64> {
    let out = cargo_command(root, harness_command(args, true), extra).envs(env).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.ends_with(": test")).count() as u64)
}

/// Outcome of one harness run.
pub(super) struct HarnessRun {
    pub(super) exit_code: Option<i32>,
    pub(super) duration_s: f64,
}

pub(super) fn run_harness(
    root: &Path,
    args: &Args,
    env: &BTreeMap<String, String>,
    extra: &ExtraEnv,
    dir: &Path,
) -> anyhow::Result<HarnessRun> {
    let total = count_trials(root, args, env, extra);
    let pb = match total {
        Some(n) => {
            let pb = ProgressBar::new(n);
            pb.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} gates [{elapsed}] {msg}").expect("valid template"),
            );
            pb.enable_steady_tick(Duration::from_millis(500));
            pb
        }
        None => spinner("running the gates"),
    };
    let log_path = dir.join("harness.log");
    let mut log = std::fs::File::create(&log_path).with_context(|| format!("create {}", log_path.display()))?;
    let err_path = dir.join("harness.stderr.log");
    let err = std::fs::File::create(&err_path).with_context(|| format!("create {}", err_path.display()))?;
    let start = Instant::now();
    let mut child = cargo_command(root, harness_command(args, false), extra)
        .env_remove("IRONFORGE_PROVE")
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err))
        .spawn()
        .context("spawn the gate harness")?;
    let stdout = child.stdout.take().context("harness stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("read harness output")?;
        writeln!(log, "{line}")?;
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, outcome)) = rest.split_once(" ... ") {
                pb.inc(1);
                pb.set_message(format!("{name}: {outcome}"));
            }
        }
    }
    let status = child.wait().context("wait for the gate harness")?;
    pb.finish_and_clear();
    Ok(HarnessRun { exit_code: status.code(), duration_s: start.elapsed().as_secs_f64() })
}

pub(super) fn read_measurements(path: &Path) -> anyhow::Result<Measurements> {
    let bytes = std::fs::read(path).with_context(|| format!("read measurements {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parse measurements {}", path.display()))
}
