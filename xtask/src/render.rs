//! `cargo xtask render <audit_run.json|repeat_summary.json> [--out DIR] [--check]`: the human
//! reports, rendered from the JSON alone, byte-identical for the same JSON.

use crate::atomic::{sha256_hex, write_atomic};
use crate::format::{header, interval, num, row};
use crate::{against_report, ci_formats, html_report, plots, stability};
use anyhow::Context;
use ironforge::attention::breaker::{FallbackRow, FALLBACK_TABLE};
use ironforge::attention::kernels::bench::{BenchRow, KERNEL_TABLE};
use ironforge::gate::audit::{AuditRun, ChangeStatus, GateRow, ProofStatus, AUDIT_SCHEMA};
use ironforge::gate::record::{RecordKind, Verdict};
use ironforge::gate::table::TableEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Gate verification report.
pub const GATES_MD: &str = "release_gate_verification.md";
/// Parity report.
pub const PARITY_MD: &str = "parity_report.md";
/// Kernel × L-bucket table.
pub const BENCH_MD: &str = "canary_bench.md";
/// Speed-up plot.
pub const SPEEDUP_SVG: &str = "speedup_by_l.svg";
/// Parity plot.
pub const PARITY_SVG: &str = "parity_vs_size.svg";

/// Every report an audit can render to. Writing an audit's reports removes those it does not
/// render (an `against_base.svg` left by an earlier `--against` run), and `--check` refuses
/// them, so a folder holds the reports of one audit only.
pub const AUDIT_REPORTS: [&str; 9] = [
    GATES_MD,
    PARITY_MD,
    BENCH_MD,
    SPEEDUP_SVG,
    PARITY_SVG,
    against_report::AGAINST_SVG,
    html_report::HTML,
    ci_formats::BMF_JSON,
    ci_formats::SUMMARY_MD,
];

/// Arguments of `cargo xtask render`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit (`audit_run.json`) or repeat summary (`repeat_summary.json`) to render.
    pub input: PathBuf,
    /// Folder of the reports (default: the input's folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write nothing; fail if a report on disk differs from what the JSON renders to.
    #[arg(long)]
    pub check: bool,
}

/// One rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// File name inside the report folder.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// Renders (or checks) the reports of one JSON file.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.input).with_context(|| format!("read {}", args.input.display()))?;
    let source = args.input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let files = render_json(&bytes, &source).with_context(|| format!("render {}", args.input.display()))?;
    let out = args.out.clone().unwrap_or_else(|| args.input.parent().unwrap_or(Path::new(".")).to_path_buf());
    if args.check {
        check(&out, &files).map_err(|e| {
            anyhow::anyhow!(
                "{e:#}\nrun `cargo xtask render {}` and do not edit the reports by hand",
                args.input.display()
            )
        })
    } else {
        write_all(&out, &files)
    }
}

/// Writes every file atomically into `out`; for an audit's reports, removes the
/// [`AUDIT_REPORTS`] it did not render.
pub fn write_all(out: &Path, files: &[RenderedFile]) -> anyhow::Result<()> {
    for f in files {
        write_atomic(&out.join(&f.name), &f.bytes)?;
    }
    for name in not_rendered(files) {
        let path = out.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("remove the stale report {}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The [`AUDIT_REPORTS`] missing from `files` when they are an audit's reports (none for a
/// repeat summary's).
fn not_rendered(files: &[RenderedFile]) -> Vec<&'static str> {
    if !files.iter().any(|f| f.name == GATES_MD) {
        return Vec::new();
    }
    AUDIT_REPORTS.into_iter().filter(|name| !files.iter().any(|f| f.name == *name)).collect()
}

/// Fails naming every file in `out` that is missing or differs from its rendering, and every
/// audit report there that the audit does not render.
pub fn check(out: &Path, files: &[RenderedFile]) -> anyhow::Result<()> {
    let mut stale: Vec<String> = files
        .iter()
        .filter_map(|f| match std::fs::read(out.join(&f.name)) {
            Ok(disk) if disk == f.bytes => None,
            Ok(_) => Some(format!("{} differs", f.name)),
            Err(_) => Some(format!("{} is missing", f.name)),
        })
        .collect();
    stale.extend(
        not_rendered(files)
            .into_iter()
            .filter(|name| out.join(name).exists())
            .map(|name| format!("{name} is not rendered from this audit")),
    );
    anyhow::ensure!(stale.is_empty(), "reports in {} disagree with the JSON: {}", out.display(), stale.join(", "));
    Ok(())
}

/// Renders an audit or a repeat summary, told apart by their `schema` field.
pub fn render_json(bytes: &[u8], source: &str) -> anyhow::Result<Vec<RenderedFile>> {
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: String,
    }
    let s: Schema = serde_json::from_slice(bytes).context("no `schema` field")?;
    let sha = sha256_hex(bytes);
    match s.schema.as_str() {
        AUDIT_SCHEMA => {
            let audit: AuditRun = serde_json::from_slice(bytes).context("not an audit")?;
            render_audit(&audit, source, &sha)
        }
        stability::REPEAT_SCHEMA => {
            let summary: stability::RepeatSummary = serde_json::from_slice(bytes).context("not a repeat summary")?;
            Ok(vec![RenderedFile {
                name: stability::STABILITY_MD.into(),
                bytes: stability::render(&summary, &md_header(source, &sha)).into_bytes(),
            }])
        }
        other => {
            anyhow::bail!("unknown schema `{other}` (expected `{AUDIT_SCHEMA}` or `{}`)", stability::REPEAT_SCHEMA)
        }
    }
}

/// The "do not edit" line every Markdown report starts with.
pub fn md_header(source: &str, sha: &str) -> String {
    format!("<!-- generated from {source} (sha256 {sha}) by `cargo xtask render` — do not edit -->\n\n")
}

/// Every report of an audit; refuses an audit whose verdicts contradict its rows.
pub fn render_audit(audit: &AuditRun, source: &str, sha: &str) -> anyhow::Result<Vec<RenderedFile>> {
    audit.validate()?;
    let head = md_header(source, sha);
    let svg_head = format!("<!-- generated from {source} (sha256 {sha}) by `cargo xtask render` — do not edit -->\n");
    let md = |name: &str, body: String| RenderedFile { name: name.into(), bytes: format!("{head}{body}").into_bytes() };
    let svg =
        |name: &str, body: String| RenderedFile { name: name.into(), bytes: format!("{svg_head}{body}").into_bytes() };
    let banner = partial_banner(audit);
    let kernels = kernel_table(audit)?;
    let mut plot_bodies =
        vec![(SPEEDUP_SVG, plots::speedup_by_l(&kernels)?), (PARITY_SVG, plots::parity_vs_size(&audit.parity)?)];
    if let Some(c) = &audit.comparison {
        plot_bodies.push((against_report::AGAINST_SVG, against_report::svg(c)?));
    }
    let mut files = vec![
        md(GATES_MD, gates_md(audit, &fallbacks(audit)?)),
        md(PARITY_MD, format!("{banner}{}", parity_md(audit))),
        md(BENCH_MD, format!("{banner}{}", bench_md(&kernels))),
    ];
    files.extend(plot_bodies.iter().map(|(name, body)| svg(name, body.clone())));
    let inline: Vec<(&str, &str)> = plot_bodies.iter().map(|(name, body)| (*name, body.as_str())).collect();
    files.push(RenderedFile {
        name: html_report::HTML.into(),
        bytes: html_report::page(audit, &svg_head, &inline).into_bytes(),
    });
    // For CI: JSON carries no comment, so the BMF file is the data alone.
    files.push(RenderedFile { name: ci_formats::BMF_JSON.into(), bytes: ci_formats::bmf(audit)?.into_bytes() });
    files.push(md(ci_formats::SUMMARY_MD, ci_formats::summary_md(audit)));
    Ok(files)
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    }
}

/// A partial run's warning, first in every Markdown report (empty for a complete run).
fn partial_banner(audit: &AuditRun) -> String {
    match audit.partial_line() {
        None => String::new(),
        Some(line) => {
            let accepted = if audit.config.allow_partial {
                "accepted with `--partial`: the overall verdict covers only the rows below"
            } else {
                "not accepted: run without trial-name filters, or pass `--partial`"
            };
            format!("> **{line}** — {accepted}.\n\n")
        }
    }
}

/// A proof status in words.
pub fn proof_cell(s: ProofStatus) -> &'static str {
    match s {
        ProofStatus::NotRequested => "—",
        ProofStatus::Holds => "fails under fault ✓",
        ProofStatus::DidNotFail => "DID NOT FAIL",
        ProofStatus::Missing => "MISSING",
    }
}

fn context_lines(audit: &AuditRun) -> String {
    let m = &audit.machine;
    let c = &audit.config;
    let flags: Vec<String> =
        m.cpu_flags.iter().map(|(f, on)| format!("{f} {}", if *on { "yes" } else { "no" })).collect();
    let dirty = match audit.git.dirty {
        Some(true) => format!("dirty ({} paths)", audit.git.dirty_paths.len()),
        Some(false) => "clean".into(),
        None => "state unknown".into(),
    };
    let harness = match c.harness_exit_code {
        Some(code) => format!("exited {code} after {} s", num(c.harness_duration_s)),
        None => "not run (measurements read from a file)".into(),
    };
    let env: Vec<String> = c.env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    format!(
        "- commit: `{}` ({dirty})\n- machine: {}, {} logical cores, {} GiB RAM, {}; {}\n\
         - tier `{}`, sessions `{}`, seed {}, prove {}, partial allowed {}, repeat index {}\n\
         - harness: `{}` — {harness}\n- env: {}\n",
        audit.git.commit.as_deref().unwrap_or("unknown"),
        m.cpu_model,
        m.logical_cores,
        num(m.ram_bytes as f64 / (1u64 << 30) as f64),
        flags.join(", "),
        m.os,
        c.tier,
        c.sessions,
        c.seed,
        if c.prove { "yes" } else { "no" },
        if c.allow_partial { "yes" } else { "no" },
        c.repeat_index,
        c.harness.join(" "),
        if env.is_empty() { "none".to_string() } else { env.join(" ") },
    ) + &merged_line(audit)
}

/// For a merged audit, the shards and whether their machines differ (empty otherwise).
pub fn merged_line(audit: &AuditRun) -> String {
    let Some(m) = &audit.merged else { return String::new() };
    let shards: Vec<String> = m
        .shards
        .iter()
        .map(|s| {
            let partition = s.partition.map(|p| format!("partition {p}, ")).unwrap_or_default();
            format!("`{}` ({partition}{} trials)", s.file, s.trials.len())
        })
        .collect();
    let machines = if m.mixed_machines {
        "**MIXED MACHINES**: the shards' timed values were not measured on one machine"
    } else {
        "one machine fingerprint"
    };
    format!("- merged from {} shards: {}; {machines}\n", m.shards.len(), shards.join(", "))
}

fn gate_table(rows: &[&GateRow]) -> String {
    let mut s = header(&[
        "name",
        "family",
        "metric",
        "target",
        "actual",
        "95% interval",
        "bound",
        "margin",
        "proof",
        "verdict",
        "time (s)",
    ]);
    for g in rows {
        let r = &g.record;
        s.push_str(&row(&[
            format!("`{}`", r.name),
            r.family.clone(),
            r.metric.clone(),
            format!("{} {} {}", r.comparator, num(r.threshold), r.unit),
            format!("{} {}", num(r.value), r.unit),
            interval(r.interval),
            num(r.bound),
            num(r.margin),
            proof_cell(g.proof_status).to_string(),
            format!("**{}**", verdict(g.release_verdict)),
            num(r.duration_s),
        ]));
    }
    s
}

/// The kernel × L-bucket table, sorted by candidate, reference, mask, threads, bucket, gate.
fn kernel_table(audit: &AuditRun) -> anyhow::Result<Vec<TableEntry<BenchRow>>> {
    let mut rows = audit.table::<BenchRow>(KERNEL_TABLE)?;
    fn key(e: &TableEntry<BenchRow>) -> (&str, &str, &str, usize, usize, &str) {
        let r = &e.row;
        (&r.candidate, &r.reference, &r.mask, r.threads, r.l_bucket, &e.gate)
    }
    rows.sort_by(|a, b| key(a).cmp(&key(b)));
    Ok(rows)
}

/// The circuit breaker's fallback counts, sorted by gate and kernel.
fn fallbacks(audit: &AuditRun) -> anyhow::Result<Vec<TableEntry<FallbackRow>>> {
    let mut rows = audit.table::<FallbackRow>(FALLBACK_TABLE)?;
    rows.sort_by(|a, b| (&a.gate, &a.row.kernel).cmp(&(&b.gate, &b.row.kernel)));
    Ok(rows)
}

fn gates_md(audit: &AuditRun, fallbacks: &[TableEntry<FallbackRow>]) -> String {
    let overall = audit.compute_overall();
    let gates: Vec<&GateRow> = audit.gates.iter().filter(|g| g.record.kind == RecordKind::Gate).collect();
    let scenarios: Vec<&GateRow> = audit.gates.iter().filter(|g| g.record.kind == RecordKind::Scenario).collect();
    let passed = audit.gates.iter().filter(|g| g.release_verdict == Verdict::Pass).count();
    let mut s = String::from("# Release gate verification\n\n");
    s.push_str(&partial_banner(audit));
    s.push_str(&format!(
        "**Overall: {}{}** — {passed} of {} rows pass ({} gates, {} scenarios).\n\n",
        verdict(overall.verdict),
        if audit.partial { " (PARTIAL)" } else { "" },
        audit.gates.len(),
        gates.len(),
        scenarios.len()
    ));
    for reason in &overall.reasons {
        s.push_str(&format!("- {reason}\n"));
    }
    if !overall.reasons.is_empty() {
        s.push('\n');
    }
    s.push_str(&context_lines(audit));
    s.push_str("\n## Gates\n\n");
    s.push_str(&gate_table(&gates));
    if !scenarios.is_empty() {
        s.push_str("\n## Scenarios\n\n");
        s.push_str(&gate_table(&scenarios));
    }
    let proofs: Vec<&GateRow> = audit.gates.iter().filter(|g| g.proof_status != ProofStatus::NotRequested).collect();
    if !proofs.is_empty() {
        s.push_str("\n## Proofs (each gate run under its injected fault)\n\n");
        s.push_str(&header(&["name", "fault", "value under fault", "verdict under fault", "proof"]));
        for g in proofs {
            let p = g.record.proof.as_ref();
            s.push_str(&row(&[
                format!("`{}`", g.record.name),
                p.map_or("—".into(), |p| p.fault.clone()),
                p.map_or("—".into(), |p| format!("{} {}", num(p.value), g.record.unit)),
                p.map_or("—", |p| verdict(p.verdict)).to_string(),
                proof_cell(g.proof_status).to_string(),
            ]));
        }
    }
    s.push_str("\n## Circuit-breaker fallbacks\n\n");
    if fallbacks.is_empty() {
        s.push_str("No record reported fallback counts.\n");
    } else {
        let mut total: BTreeMap<&str, u64> = BTreeMap::new();
        s.push_str(&header(&["record", "kernel", "fallbacks"]));
        for f in fallbacks {
            *total.entry(f.row.kernel.as_str()).or_default() += f.row.count;
            s.push_str(&row(&[format!("`{}`", f.gate), f.row.kernel.clone(), f.row.count.to_string()]));
        }
        let total: Vec<String> = total.iter().map(|(k, n)| format!("{k} {n}")).collect();
        s.push_str(&format!("\nTotal by kernel: {}.\n", total.join(", ")));
    }
    if let Some(b) = &audit.baseline {
        s.push_str(&format!(
            "\n## Against baseline `{}` (sha256 {}, commit `{}`)\n\nRule: {}.\n\n",
            b.path,
            b.sha256,
            b.commit.as_deref().unwrap_or("unknown"),
            b.rule
        ));
        let unchanged = b.changes.iter().filter(|c| c.status == ChangeStatus::Unchanged).count();
        s.push_str(&format!(
            "{} metrics compared: {unchanged} unchanged, {} regressed.\n\n",
            b.changes.len(),
            b.regressions()
        ));
        let moved: Vec<_> = b.changes.iter().filter(|c| c.status != ChangeStatus::Unchanged).collect();
        if !moved.is_empty() {
            s.push_str(&header(&["metric", "baseline", "baseline band", "current", "current band", "change"]));
            for c in moved {
                let v = |x: Option<f64>| x.map_or("—".into(), |x| format!("{} {}", num(x), c.unit));
                s.push_str(&row(&[
                    format!("`{}`", c.metric),
                    v(c.baseline),
                    interval(c.baseline_band),
                    v(c.current),
                    interval(c.current_band),
                    format!("{:?}", c.status).to_lowercase(),
                ]));
            }
        }
    }
    if let Some(c) = &audit.comparison {
        s.push_str(&against_report::markdown(c));
    }
    s
}

fn parity_md(audit: &AuditRun) -> String {
    let mut s = String::from("# Parity report\n\n");
    s.push_str(&paths_md(audit));
    if audit.parity.is_empty() {
        s.push_str("No parity rows were recorded in this run.\n");
        return s;
    }
    let candidates: BTreeSet<&str> = audit.parity.iter().map(|p| p.row.candidate.as_str()).collect();
    let sizes: BTreeSet<usize> = audit.parity.iter().map(|p| p.row.size).collect();
    let scenarios: BTreeSet<&str> = audit.parity.iter().map(|p| p.scenario.as_str()).collect();
    s.push_str(&format!(
        "{} rows from {} scenarios, {} candidates, session sizes L = {}..{} events. Error: max abs difference \
         from the reference (0/1 for exact comparisons).\n\n## Worst case per candidate\n\n",
        audit.parity.len(),
        scenarios.len(),
        candidates.len(),
        sizes.first().copied().unwrap_or(0),
        sizes.last().copied().unwrap_or(0)
    ));
    s.push_str(&header(&["candidate", "worst error", "tolerance", "session", "L", "scenario", "rows over tolerance"]));
    for cand in &candidates {
        let rows: Vec<_> = audit.parity.iter().filter(|p| p.row.candidate == *cand).collect();
        let worst = rows.iter().copied().fold(rows[0], |w, p| if p.row.error > w.row.error { p } else { w });
        let over = rows.iter().filter(|p| p.row.error > p.row.tolerance).count();
        s.push_str(&row(&[
            cand.to_string(),
            num(worst.row.error),
            num(worst.row.tolerance),
            worst.row.case.clone(),
            worst.row.size.to_string(),
            format!("`{}`", worst.scenario),
            format!("{over} of {}", rows.len()),
        ]));
    }
    s.push_str("\n## Error by session size (max over the sessions of that size)\n\n");
    let mut cols = vec!["L (events)", "sessions"];
    cols.extend(candidates.iter().copied());
    s.push_str(&header(&cols));
    for size in &sizes {
        let at: Vec<_> = audit.parity.iter().filter(|p| p.row.size == *size).collect();
        let sessions: BTreeSet<&str> = at.iter().map(|p| p.row.case.as_str()).collect();
        let mut cells = vec![size.to_string(), sessions.len().to_string()];
        for cand in &candidates {
            let max = at
                .iter()
                .filter(|p| p.row.candidate == *cand)
                .map(|p| p.row.error)
                .fold(None, |m: Option<f64>, e| Some(m.map_or(e, |m| m.max(e))));
            cells.push(max.map_or("—".into(), num));
        }
        s.push_str(&row(&cells));
    }
    s.push_str(&format!(
        "\nPlot: [{PARITY_SVG}]({PARITY_SVG}) (errors below {} drawn at it).\n",
        num(plots::ERROR_FLOOR)
    ));
    s
}

/// Rows computed and worst error over allowance per candidate and code path (a path with 0
/// rows was not exercised).
fn paths_md(audit: &AuditRun) -> String {
    if audit.paths.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "## Code paths\n\nRows each candidate computed on each code path, and its worst error against the allowance of \
         that path's reference (≤ 1 passes).\n\n",
    );
    s.push_str(&header(&[
        "candidate",
        "path",
        "isa",
        "rows",
        "worst error / allowance",
        "worst error",
        "case",
        "gate",
    ]));
    for p in &audit.paths {
        s.push_str(&row(&[
            p.row.variant.clone(),
            p.row.path.clone(),
            p.row.isa.clone(),
            p.row.rows.to_string(),
            format!("{:.3}", p.row.worst_ratio),
            num(p.row.worst_error),
            p.row.worst_case.clone(),
            format!("`{}`", p.gate),
        ]));
    }
    s.push('\n');
    s
}

fn bench_md(kernels: &[TableEntry<BenchRow>]) -> String {
    let mut s = String::from("# Canary kernel bench\n\n");
    if kernels.is_empty() {
        s.push_str("No kernel timings were recorded in this run.\n");
        return s;
    }
    s.push_str(
        "Median of interleaved pairwise ratios reference time / candidate time (> 1 = candidate faster), \
         with the 95% bootstrap interval, per L bucket (upper end, events).\n\n",
    );
    let buckets: BTreeSet<usize> = kernels.iter().map(|c| c.row.l_bucket).collect();
    type Key<'a> = (&'a str, &'a str, &'a str, usize, &'a str);
    let mut lines: BTreeMap<Key, BTreeMap<usize, &BenchRow>> = BTreeMap::new();
    for c in kernels {
        let r = &c.row;
        let key = (r.candidate.as_str(), r.reference.as_str(), r.mask.as_str(), r.threads, c.gate.as_str());
        lines.entry(key).or_default().insert(r.l_bucket, r);
    }
    let bucket_names: Vec<String> = buckets.iter().map(|b| format!("L ≤ {b}")).collect();
    let mut cols = vec!["kernel", "vs", "mask", "threads"];
    cols.extend(bucket_names.iter().map(String::as_str));
    for (title, cell) in [
        (
            "## Speed-up",
            (|r: &BenchRow| format!("{}x {}", num(r.ratio), interval(Some(r.interval)))) as fn(&_) -> String,
        ),
        ("## Median times (candidate ms / reference ms)", |r| {
            format!("{} / {}", num(r.candidate_ms), num(r.reference_ms))
        }),
    ] {
        s.push_str(&format!("{title}\n\n"));
        s.push_str(&header(&cols));
        for ((cand, reference, mask, threads, _), by_bucket) in &lines {
            let mut cells = vec![cand.to_string(), reference.to_string(), mask.to_string(), threads.to_string()];
            cells.extend(buckets.iter().map(|b| by_bucket.get(b).map_or("—".into(), |r| cell(r))));
            s.push_str(&row(&cells));
        }
        s.push('\n');
    }
    s.push_str(&format!("Plot: [{SPEEDUP_SVG}]({SPEEDUP_SVG}).\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn render(audit: &AuditRun) -> Vec<RenderedFile> {
        let bytes = serde_json::to_vec_pretty(audit).unwrap();
        render_json(&bytes, "audit_run.json").unwrap()
    }

    fn text(files: &[RenderedFile], name: &str) -> String {
        String::from_utf8(files.iter().find(|f| f.name == name).unwrap().bytes.clone()).unwrap()
    }

    #[test]
    fn rendering_is_deterministic_and_headed() {
        let a = testdata::audit(true);
        let first = render(&a);
        assert_eq!(first, render(&a));
        assert_eq!(first.len(), 8);
        let sha = sha256_hex(&serde_json::to_vec_pretty(&a).unwrap());
        for f in first.iter().filter(|f| f.name != ci_formats::BMF_JSON) {
            let t = String::from_utf8(f.bytes.clone()).unwrap();
            assert!(t.starts_with("<!-- generated from audit_run.json (sha256 "), "{}", f.name);
            assert!(t.contains(&sha), "{}", f.name);
        }
        assert!(text(&first, SPEEDUP_SVG).contains("<svg"));
        assert!(text(&first, PARITY_SVG).contains("<svg"));
    }

    #[test]
    fn an_audits_reports_replace_the_reports_it_does_not_render() {
        let dir = tempfile::tempdir().unwrap();
        let files = render(&testdata::audit(false));
        assert!(files.iter().all(|f| AUDIT_REPORTS.contains(&f.name.as_str())), "AUDIT_REPORTS lists every report");
        let stale = dir.path().join(against_report::AGAINST_SVG);
        std::fs::write(&stale, "<svg/>").unwrap();
        let err = check(dir.path(), &files).unwrap_err().to_string();
        assert!(err.contains("against_base.svg is not rendered from this audit"), "{err}");
        write_all(dir.path(), &files).unwrap();
        assert!(!stale.exists(), "the earlier run's plot is gone");
        check(dir.path(), &files).unwrap();
    }

    #[test]
    fn gate_report_shows_every_row_and_an_overall_that_follows_them() {
        let a = testdata::audit(true);
        let md = text(&render(&a), GATES_MD);
        assert!(md.contains("**Overall: PASS** — 5 of 5 rows pass (4 gates, 1 scenarios)"), "{md}");
        for g in &a.gates {
            assert!(md.contains(&format!("`{}`", g.record.name)));
        }
        assert!(md.contains("fails under fault ✓"));
        assert!(md.contains("Total by kernel: sparse 0, tiled 3."));
        let mut failing = testdata::measurements(true);
        let r = failing.records.iter_mut().find(|r| r.name == "peak_memory").unwrap();
        (r.value, r.bound, r.margin, r.verdict) = (90.0, 90.0, -20.0, Verdict::Fail);
        let a = AuditRun::from_measurements(&failing, testdata::machine(), a.git.clone(), a.config.clone()).unwrap();
        let md = text(&render(&a), GATES_MD);
        assert!(md.contains("**Overall: FAIL** — 4 of 5 rows pass"), "{md}");
        assert!(md.contains("- `peak_memory` failed"), "{md}");
    }

    #[test]
    fn contradictory_audit_is_not_rendered() {
        let render_err =
            |a: &AuditRun| format!("{:#}", render_json(&serde_json::to_vec(a).unwrap(), "a.json").unwrap_err());
        let mut a = testdata::audit(false);
        a.gates[0].record.verdict = Verdict::Fail;
        assert!(render_err(&a).contains("verdict stored as Fail"), "{}", render_err(&a));
        let mut a = testdata::audit(false);
        a.gates[0].release_verdict = Verdict::Fail;
        assert!(render_err(&a).contains("release verdict"), "{}", render_err(&a));
        let mut a = testdata::audit(false);
        a.gates[0].record.threshold *= 0.5;
        assert!(render_err(&a).contains("margin stored as"), "{}", render_err(&a));
        let mut a = testdata::audit(false);
        a.partial = true;
        assert!(render_err(&a).contains("partial"), "{}", render_err(&a));
    }

    #[test]
    fn a_partial_audit_says_so_first_in_every_report() {
        let complete = render(&testdata::audit(false));
        assert!(!text(&complete, GATES_MD).contains("PARTIAL"));
        let mut m = testdata::measurements(false);
        m.records.retain(|r| r.name != "regime_variance");
        let a = testdata::audit(false);
        let config = ironforge::gate::audit::RunConfig { allow_partial: true, ..a.config.clone() };
        let a = AuditRun::from_measurements(&m, testdata::machine(), a.git.clone(), config).unwrap();
        let files = render(&a);
        let md = text(&files, GATES_MD);
        assert!(
            md.contains(
                "# Release gate verification\n\n> **PARTIAL: 4 of 5 declarations ran (not run: `regime_variance`)** — \
                 accepted with `--partial`"
            ),
            "{md}"
        );
        assert!(md.contains("**Overall: PASS (PARTIAL)** — 4 of 4 rows pass"), "{md}");
        assert!(md.contains("partial allowed yes"), "{md}");
        for name in [PARITY_MD, BENCH_MD] {
            assert!(text(&files, name).contains("> **PARTIAL: 4 of 5 declarations ran"), "{name}");
        }
    }

    #[test]
    fn parity_and_bench_tables_have_their_shape() {
        let files = render(&testdata::audit(false));
        let parity = text(&files, PARITY_MD);
        assert!(
            parity.contains("| sparse | 5.000e-7 | 1.000e-4 | golden-04 | 268 | `attention_parity` | 0 of 5 |"),
            "{parity}"
        );
        assert!(parity.contains("| 117 | 1 | 1.000e-7 | 2.000e-8 |"), "{parity}");
        let bench = text(&files, BENCH_MD);
        assert!(bench.contains("| kernel | vs | mask | threads | L ≤ 128 | L ≤ 256 | L ≤ 512 | L ≤ 1024 |"), "{bench}");
        assert!(
            bench.contains(
                "| sparse | dense | dag | 1 | 1x [0.9, 1.1] | 3x [2.7, 3.3] | 5x [4.5, 5.5] | 7x [6.3, 7.7] |"
            ),
            "{bench}"
        );
    }

    #[test]
    fn run_writes_then_check_passes_and_tampering_fails() {
        let dir = tempfile::tempdir().unwrap();
        let audit_path = dir.path().join("audit_run.json");
        std::fs::write(&audit_path, serde_json::to_vec_pretty(&testdata::audit(false)).unwrap()).unwrap();
        let args = |check| Args { input: audit_path.clone(), out: None, check };
        assert!(run(args(true)).is_err(), "check before rendering must fail: reports are missing");
        run(args(false)).unwrap();
        run(args(true)).unwrap();
        let report = dir.path().join(BENCH_MD);
        let mut t = std::fs::read_to_string(&report).unwrap();
        t = t.replace("7x", "9x");
        std::fs::write(&report, t).unwrap();
        let err = run(args(true)).unwrap_err();
        assert!(format!("{err:#}").contains("canary_bench.md differs"), "{err:#}");
    }
}
