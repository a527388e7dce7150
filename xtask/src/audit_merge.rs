//! `cargo xtask audit-merge --out DIR SHARD…`: the audits of shards (runs of disjoint parts of
//! the harness at one commit and tier) merged into one `audit_run.json` and its reports, as one
//! run of the whole would have written them — or an error naming the shard and the trial, with
//! nothing written.

use crate::release_check::write_audit;
use anyhow::Context;
use ironforge::gate::audit::merge::{merge, Shard};
use ironforge::gate::audit::{AuditRun, AUDIT_SCHEMA};
use std::path::PathBuf;

/// Arguments of `cargo xtask audit-merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of the merged audit and its reports (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The shards' `audit_run.json` files.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

/// Reads one shard's audit, refusing another schema with the file's name.
fn read_shard(path: &PathBuf) -> anyhow::Result<Shard> {
    let bytes = std::fs::read(path).with_context(|| format!("read shard {}", path.display()))?;
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: String,
    }
    let schema: Schema = serde_json::from_slice(&bytes)
        .with_context(|| format!("shard {}: not an audit (no `schema`)", path.display()))?;
    anyhow::ensure!(
        schema.schema == AUDIT_SCHEMA,
        "shard {}: schema is `{}`, expected `{AUDIT_SCHEMA}`",
        path.display(),
        schema.schema
    );
    let audit: AuditRun =
        serde_json::from_slice(&bytes).with_context(|| format!("shard {}: not a readable audit", path.display()))?;
    Ok(Shard { file: path.display().to_string(), audit })
}

/// Merges, then writes the audit and its reports; exits non-zero when the merged run fails.
pub fn run(args: Args) -> anyhow::Result<()> {
    let shards = args.shards.iter().map(read_shard).collect::<anyhow::Result<Vec<_>>>()?;
    let n = shards.len();
    let audit = merge(shards)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    write_audit(&args.out, &audit)?;
    let mixed = audit.merged.as_ref().is_some_and(|m| m.mixed_machines);
    println!(
        "merged {n} shards, {} rows{}: overall {}",
        audit.gates.len(),
        if mixed { " (mixed machines)" } else { "" },
        if audit.overall.passed() { "PASS" } else { "FAIL" }
    );
    println!("audit and reports in {}", args.out.display());
    anyhow::ensure!(audit.overall.passed(), "the merged release check failed: {}", audit.overall.reasons.join("; "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_check::AUDIT_JSON;
    use crate::{render, testdata};

    /// Two shards of the test run, written to files.
    fn shards(dir: &std::path::Path) -> Vec<PathBuf> {
        let whole = testdata::measurements(false);
        let (a, b): (Vec<_>, Vec<_>) = whole.records.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 0);
        let base = testdata::audit(false);
        [a, b]
            .into_iter()
            .enumerate()
            .map(|(i, records)| {
                let mut m = whole.clone();
                m.records = records.into_iter().map(|(_, r)| r).collect();
                let mut config = base.config.clone();
                config.allow_partial = true;
                let audit = AuditRun::from_measurements(&m, testdata::machine(), base.git.clone(), config).unwrap();
                let path = dir.join(format!("shard{i}.json"));
                std::fs::write(&path, serde_json::to_vec_pretty(&audit).unwrap()).unwrap();
                path
            })
            .collect()
    }

    #[test]
    fn shards_merge_to_the_whole_runs_rows_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("merged");
        run(Args { out: out.clone(), shards: shards(dir.path()) }).unwrap();
        let merged: AuditRun = serde_json::from_slice(&std::fs::read(out.join(AUDIT_JSON)).unwrap()).unwrap();
        assert_eq!(merged.gates, testdata::audit(false).gates);
        assert_eq!(merged.merged.as_ref().unwrap().shards.len(), 2);
        let bytes = std::fs::read(out.join(AUDIT_JSON)).unwrap();
        render::check(&out, &render::render_json(&bytes, AUDIT_JSON).unwrap()).unwrap();
        let report = std::fs::read_to_string(out.join(render::GATES_MD)).unwrap();
        assert!(report.contains("- merged from 2 shards: ") && report.contains("one machine fingerprint"), "{report}");
    }

    #[test]
    fn a_missing_shard_or_a_bad_file_writes_nothing_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("merged");
        let paths = shards(dir.path());
        let err = run(Args { out: out.clone(), shards: paths[..1].to_vec() }).unwrap_err().to_string();
        assert!(err.contains("no shard ran"), "{err}");
        let truncated = dir.path().join("truncated.json");
        let bytes = std::fs::read(&paths[1]).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let err =
            format!("{:#}", run(Args { out: out.clone(), shards: vec![paths[0].clone(), truncated] }).unwrap_err());
        assert!(err.contains("truncated.json"), "{err}");
        let other = dir.path().join("other.json");
        std::fs::write(&other, String::from_utf8(bytes).unwrap().replacen(AUDIT_SCHEMA, "ironforge.audit/2", 1))
            .unwrap();
        let err = run(Args { out: out.clone(), shards: vec![paths[0].clone(), other] }).unwrap_err().to_string();
        assert!(err.contains("other.json: schema is `ironforge.audit/2`"), "{err}");
        assert!(!out.exists(), "nothing written");
    }
}
