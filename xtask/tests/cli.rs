//! The `cargo xtask` binary end to end: audit a measurements file, render, check, tamper.

use ironforge::gate::record::{
    Manifest, ManifestEntry, Measurements, Record, RecordKind, Tier, Verdict, MEASUREMENTS_SCHEMA,
};
use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("run xtask")
}

fn gate(name: &str, value: f64, verdict: Verdict) -> Record {
    Record {
        name: name.into(),
        kind: RecordKind::Gate,
        family: "pipeline".into(),
        tier: Tier::Release,
        metric: "peak_memory".into(),
        comparator: "<=".into(),
        threshold: 70.0,
        unit: "%".into(),
        value,
        interval: None,
        bound: value,
        margin: 70.0 - value,
        verdict,
        samples: vec![],
        duration_s: 0.1,
        doc: "peak memory".into(),
        proof: None,
        details: Default::default(),
    }
}

fn write_measurements(path: &Path, records: Vec<Record>) {
    let declarations = records
        .iter()
        .map(|r| ManifestEntry {
            name: r.name.clone(),
            kind: r.kind,
            family: r.family.clone(),
            tiers: vec![Tier::Quick, Tier::Release],
        })
        .collect();
    let m = Measurements { schema: MEASUREMENTS_SCHEMA.into(), manifest: Some(Manifest { declarations }), records };
    std::fs::write(path, serde_json::to_vec(&m).unwrap()).unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn audit_render_check_and_tamper() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    write_measurements(&m, vec![gate("peak_memory", 1.5, Verdict::Pass)]);
    let out = dir.path().join("out");
    let (m_s, out_s) = (m.to_str().unwrap(), out.to_str().unwrap());
    let o = xtask(&["release-check", "--from-measurements", m_s, "--out", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("overall: PASS"));
    let audit = out.join("audit_run.json");
    let audit_s = audit.to_str().unwrap();
    let o = xtask(&["render", audit_s, "--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Re-rendering gives the same bytes.
    let before = std::fs::read(out.join("release_gate_verification.md")).unwrap();
    let o = xtask(&["render", audit_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, std::fs::read(out.join("release_gate_verification.md")).unwrap());
    // A hand edit is caught.
    let edited = String::from_utf8(before).unwrap().replace("| 1.5 % |", "| 0.5 % |");
    std::fs::write(out.join("release_gate_verification.md"), edited).unwrap();
    let o = xtask(&["render", audit_s, "--check"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("release_gate_verification.md differs"), "{}", stderr(&o));
    // So is an audit edited to claim a pass over a failing row.
    let text = std::fs::read_to_string(&audit).unwrap();
    let tampered = text.replacen("\"verdict\": \"pass\"", "\"verdict\": \"fail\"", 1);
    assert_ne!(text, tampered);
    std::fs::write(&audit, tampered).unwrap();
    let o = xtask(&["render", audit_s]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("verdict"), "{}", stderr(&o));
}

#[test]
fn failing_gate_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    write_measurements(&m, vec![gate("peak_memory", 90.0, Verdict::Fail)]);
    let out = dir.path().join("out");
    let o = xtask(&["release-check", "--from-measurements", m.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("overall: FAIL"));
    assert!(out.join("audit_run.json").exists(), "a failing run still leaves its audit");
    let md = std::fs::read_to_string(out.join("release_gate_verification.md")).unwrap();
    assert!(md.contains("**Overall: FAIL**"), "{md}");
}
