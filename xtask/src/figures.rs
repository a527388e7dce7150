//! `cargo xtask figures`: the measured tables of the docs, rendered from data.
//!
//! - `cargo xtask figures record --label LABEL [--env K=V]… -- COMMAND…` runs a benchmark
//!   (`cargo bench --bench pipeline -- --rounds 5`) with [`FIGURE_JSON_VAR`] naming a
//!   temporary file, and stores the [`Figure`] it wrote together with the machine, the command,
//!   the time and the commit as `docs/figures/data/<figure>--<label>.json` ([`Recorded`]), its
//!   Bencher Metric Format included; then renders.
//! - `cargo xtask figures` renders every recorded figure into `docs/figures/<stem>.md` and the
//!   index `docs/figures/README.md`; `--check` renders in memory and fails when a committed
//!   table differs from its data, a table has no data or a data file no table.
//!
//! The label says which CPU (and ceiling) the figure is of: `amd-epyc-avx512`,
//! `amd-epyc-max-isa-avx2`. Recording again under the same label replaces the figure.

use crate::machine::{probe_git_excluding, probe_machine, RELEVANT_CPU_FLAGS};
use anyhow::Context;
use ironforge::gate::audit::{GitState, Machine};
use ironforge::gate::figure::{Bmf, Figure, FIGURE_JSON_VAR};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Version of the [`Recorded`] layout.
pub const RECORDED_SCHEMA: u32 = 1;

/// Arguments of this task.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Render in memory and fail if any file under docs/figures differs, instead of writing.
    #[arg(long)]
    pub check: bool,
}

/// What to do besides rendering.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Run a benchmark and store the figure it writes, then render.
    Record(RecordArgs),
}

/// Arguments of `figures record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Which machine (and ceiling) the figure is of: letters, digits and `-`.
    #[arg(long)]
    pub label: String,
    /// `NAME=VALUE` set for the command (repeatable), and written into the recorded command.
    #[arg(long = "env")]
    pub env: Vec<String>,
    /// The benchmark command, after `--`.
    #[arg(trailing_var_arg = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// A figure as committed: the tables and how, where and when they were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// [`RECORDED_SCHEMA`].
    pub schema: u32,
    /// Which machine (and ceiling) it is of.
    pub label: String,
    /// The command as a shell line, environment first.
    pub command: String,
    /// When it finished, UTC (`2026-12-07T06:10:00Z`).
    pub recorded_at: String,
    /// The source tree measured.
    pub git: GitState,
    /// The machine.
    pub machine: Machine,
    /// The tables.
    pub figure: Figure,
    /// The tables' numbers in Bencher Metric Format ([`Figure::bmf`]).
    pub bmf: Bmf,
}

/// Runs this task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let root = crate::release_check::workspace_root();
    let dir = root.join("docs/figures");
    if let Some(Action::Record(r)) = &args.action {
        anyhow::ensure!(!args.check, "--check renders only; record without it");
        let path = record(&root, &dir.join("data"), r)?;
        eprintln!("recorded {}", path.display());
    }
    let rendered = render_all(&dir)?;
    if args.check {
        let stale = stale_files(&dir, &rendered)?;
        anyhow::ensure!(
            stale.is_empty(),
            "docs/figures is not rendered from its data ({}); run `cargo xtask figures`",
            stale.join(", ")
        );
        eprintln!("docs/figures: {} files match their data", rendered.len());
        return Ok(());
    }
    for (name, text) in &rendered {
        crate::atomic::write_atomic(&dir.join(name), text.as_bytes())?;
    }
    for stale in stale_files(&dir, &rendered)? {
        std::fs::remove_file(dir.join(&stale)).with_context(|| format!("removing docs/figures/{stale}"))?;
        eprintln!("removed docs/figures/{stale} (no data)");
    }
    eprintln!("rendered {} files into {}", rendered.len(), dir.display());
    Ok(())
}

/// Runs `r.command` with the figure file set, reads the figure and writes it to `data`.
fn record(root: &Path, data: &Path, r: &RecordArgs) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        !r.label.is_empty() && r.label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "--label {:?}: use letters, digits and `-`",
        r.label
    );
    let env = r
        .env
        .iter()
        .map(|kv| kv.split_once('=').with_context(|| format!("--env {kv:?}: expected NAME=VALUE")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let out = data.join(format!(".recording-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new(&r.command[0]);
    cmd.args(&r.command[1..]).current_dir(root).env(FIGURE_JSON_VAR, &out);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let status = cmd.status().with_context(|| format!("running {}", r.command[0]))?;
    let read = std::fs::read_to_string(&out);
    let _ = std::fs::remove_file(&out);
    anyhow::ensure!(status.success(), "`{}` failed ({status}); nothing recorded", r.command.join(" "));
    let text = read.with_context(|| format!("the command wrote no figure ({FIGURE_JSON_VAR}); nothing recorded"))?;
    let figure: Figure = serde_json::from_str(&text).context("the command's figure is not valid JSON")?;
    anyhow::ensure!(!figure.tables.is_empty(), "the figure {} has no table; nothing recorded", figure.name);
    let command =
        env.iter().map(|(k, v)| format!("{k}={v} ")).chain(std::iter::once(r.command.join(" "))).collect::<String>();
    let recorded = Recorded {
        schema: RECORDED_SCHEMA,
        label: r.label.clone(),
        command,
        recorded_at: utc_timestamp(std::time::SystemTime::now()),
        // The figures themselves change with every recording: they do not make the tree dirty.
        git: probe_git_excluding(root, &["docs/figures"]),
        machine: probe_machine(root, "bench"),
        bmf: figure.bmf(),
        figure,
    };
    let path = data.join(format!("{}--{}.json", recorded.figure.name, recorded.label));
    crate::atomic::write_atomic(&path, (serde_json::to_string_pretty(&recorded)? + "\n").as_bytes())?;
    Ok(path)
}

/// Every file `docs/figures` should hold (name → text): one table file per data file and the
/// index.
pub fn render_all(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut recorded = Vec::new();
    let data = dir.join("data");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&data) {
        Ok(entries) => entries.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", data.display())),
    };
    paths.retain(|p| p.extension().is_some_and(|x| x == "json") && !is_hidden(p));
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let r: Recorded =
            serde_json::from_str(&text).with_context(|| format!("{}: not a recorded figure", p.display()))?;
        anyhow::ensure!(
            r.schema == RECORDED_SCHEMA,
            "{}: schema {} (expected {RECORDED_SCHEMA})",
            p.display(),
            r.schema
        );
        anyhow::ensure!(
            r.bmf == r.figure.bmf(),
            "{}: its bmf does not match its tables (edited by hand?); record it again",
            p.display()
        );
        let stem = p.file_stem().and_then(|s| s.to_str()).context("a data file name is not UTF-8")?.to_string();
        recorded.push((stem, r));
    }
    let mut out = BTreeMap::new();
    out.insert("README.md".to_string(), index(&recorded));
    for (stem, r) in &recorded {
        out.insert(format!("{stem}.md"), page(stem, r));
    }
    Ok(out)
}

fn is_hidden(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

/// Files that differ from `rendered`, are missing, or are Markdown files under `dir` that
/// nothing renders.
fn stale_files(dir: &Path, rendered: &BTreeMap<String, String>) -> anyhow::Result<Vec<String>> {
    let mut stale: Vec<String> = rendered
        .iter()
        .filter(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let name = e?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") && !rendered.contains_key(&name) {
                stale.push(name);
            }
        }
    }
    Ok(stale)
}

const GENERATED: &str = "<!-- generated by `cargo xtask figures` from data/: do not edit -->";

fn index(recorded: &[(String, Recorded)]) -> String {
    let mut s = format!(
        "{GENERATED}\n# Measured figures\n\nEvery table below was measured by the command shown in its file \
         and rendered from the JSON in `data/` (`cargo xtask figures --check` verifies). Record one with \
         `cargo xtask figures record --label LABEL -- cargo bench …`.\n\n\
         | figure | machine | instruction sets | recorded | commit |\n|---|---|---|---|---|\n"
    );
    for (stem, r) in recorded {
        s.push_str(&format!(
            "| [{}]({stem}.md) | {} | {} | {} | {} |\n",
            r.figure.name,
            r.label,
            isa_summary(&r.machine),
            r.recorded_at,
            commit(&r.git)
        ));
    }
    s
}

fn page(stem: &str, r: &Recorded) -> String {
    let m = &r.machine;
    format!(
        "{GENERATED}\n# {} — {}\n\nMeasured by\n\n```sh\n{}\n```\n\nat {} on commit {}: {}, {} logical cores, \
         {} GiB; instruction sets {}; rustc {}; fingerprint `{}`. Data: [`data/{stem}.json`](data/{stem}.json).\n\n{}",
        r.figure.name,
        r.label,
        r.command,
        r.recorded_at,
        commit(&r.git),
        m.cpu_model,
        m.logical_cores,
        crate::machine::ram_gib(m.ram_bytes),
        isa_summary(m),
        m.rustc.trim_start_matches("rustc "),
        m.fingerprint,
        r.figure.markdown()
    )
}

/// The kernels' CPU features present, as `/proc/cpuinfo` spells them.
fn isa_summary(m: &Machine) -> String {
    let present: Vec<&str> =
        RELEVANT_CPU_FLAGS.iter().copied().filter(|f| m.cpu_flags.get(*f) == Some(&true)).collect();
    if present.is_empty() {
        "none of the kernels'".into()
    } else {
        present.join(" ")
    }
}

fn commit(g: &GitState) -> String {
    let c = g.commit.as_deref().map_or("unknown", |c| &c[..c.len().min(12)]).to_string();
    if g.dirty == Some(true) {
        format!("`{c}` + uncommitted changes")
    } else {
        format!("`{c}`")
    }
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_timestamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = ironforge::io::date::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironforge::gate::figure::{Cell, Table};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_796_617_845)), "2026-12-07T04:30:45Z");
    }

    fn recorded() -> Recorded {
        let mut t = Table::new("Sessions per second", ["pipeline", "sessions/s"]);
        t.row([Cell::text("optimized"), Cell::number(10_412.0, 0)]);
        let figure = Figure::new("pipeline", vec![t]);
        let mut machine = crate::testdata::machine();
        machine.cpu_flags = [("avx2".to_string(), true), ("avx512f".to_string(), false)].into();
        Recorded {
            schema: RECORDED_SCHEMA,
            label: "test-box".into(),
            command: "cargo bench --bench pipeline".into(),
            recorded_at: "2026-12-07T06:00:00Z".into(),
            git: GitState { commit: Some("0123456789abcdef".into()), dirty: Some(false), dirty_paths: vec![] },
            machine,
            bmf: figure.bmf(),
            figure,
        }
    }

    fn write(dir: &Path, name: &str, r: &Recorded) {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("data").join(name), serde_json::to_string_pretty(r).unwrap()).unwrap();
    }

    #[test]
    fn renders_a_page_per_figure_and_an_index_and_check_sees_every_difference() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write(dir, "pipeline--test-box.json", &recorded());
        let rendered = render_all(dir).unwrap();
        let page = &rendered["pipeline--test-box.md"];
        assert!(page.contains("| optimized | 10412 |") && page.contains("instruction sets avx2;"), "{page}");
        assert!(page.contains("cargo bench --bench pipeline") && page.contains("`0123456789ab`"), "{page}");
        assert!(rendered["README.md"].contains("[pipeline](pipeline--test-box.md) | test-box | avx2 |"));
        assert_eq!(stale_files(dir, &rendered).unwrap(), ["README.md", "pipeline--test-box.md"], "nothing written yet");
        for (name, text) in &rendered {
            std::fs::write(dir.join(name), text).unwrap();
        }
        assert!(stale_files(dir, &rendered).unwrap().is_empty());
        std::fs::write(dir.join("pipeline--test-box.md"), page.replace("10412", "12412")).unwrap();
        std::fs::write(dir.join("old.md"), "a table without data").unwrap();
        assert_eq!(stale_files(dir, &rendered).unwrap(), ["pipeline--test-box.md", "old.md"]);
    }

    #[test]
    fn a_data_file_edited_by_hand_or_of_another_schema_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let mut r = recorded();
        r.figure.tables[0].rows[0][1] = Cell::number(99.0, 0);
        write(tmp.path(), "pipeline--hand.json", &r);
        let err = format!("{:#}", render_all(tmp.path()).unwrap_err());
        assert!(err.contains("pipeline--hand.json") && err.contains("bmf does not match"), "{err}");
        let mut r = recorded();
        r.schema = 99;
        std::fs::remove_file(tmp.path().join("data/pipeline--hand.json")).unwrap();
        write(tmp.path(), "pipeline--new.json", &r);
        let err = format!("{:#}", render_all(tmp.path()).unwrap_err());
        assert!(err.contains("pipeline--new.json") && err.contains("schema 99"), "{err}");
        std::fs::write(tmp.path().join("data/pipeline--new.json"), "{").unwrap();
        let err = format!("{:#}", render_all(tmp.path()).unwrap_err());
        assert!(err.contains("pipeline--new.json") && err.contains("not a recorded figure"), "{err}");
    }

    #[test]
    fn record_runs_the_command_and_refuses_a_failed_or_silent_one() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let json = serde_json::to_string(&recorded().figure).unwrap().replace('\'', "");
        let args = |label: &str, script: String| RecordArgs {
            label: label.into(),
            env: vec!["IRONFORGE_MAX_ISA=avx2".into()],
            command: vec!["sh".into(), "-c".into(), script],
        };
        let ok =
            args("box", format!("test \"$IRONFORGE_MAX_ISA\" = avx2 && printf '%s' '{json}' > \"${FIGURE_JSON_VAR}\""));
        let path = record(tmp.path(), &data, &ok).unwrap();
        assert!(path.ends_with("pipeline--box.json"));
        let r: Recorded = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(r.command.starts_with("IRONFORGE_MAX_ISA=avx2 sh -c"), "{}", r.command);
        assert_eq!(r.bmf, r.figure.bmf());
        let silent = record(tmp.path(), &data, &args("box", "true".into())).unwrap_err();
        assert!(format!("{silent:#}").contains("wrote no figure"), "{silent:#}");
        let failed = record(tmp.path(), &data, &args("box", "exit 3".into())).unwrap_err();
        assert!(format!("{failed:#}").contains("failed"), "{failed:#}");
        assert!(record(tmp.path(), &data, &args("a/b", "true".into())).is_err(), "a label is a file name part");
        let leftovers: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, [std::ffi::OsString::from("pipeline--box.json")], "no temporary file left");
    }
}
