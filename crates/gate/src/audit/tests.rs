use super::*;
use crate::record::Proof;
use crate::spec::Comparator;

/// A speed-up row judged as the runner judges: threshold 1.4 to pass, 2.0 to fail.
pub(crate) fn record(name: &str, verdict: Verdict, proof: Option<Verdict>) -> Record {
    let threshold = if verdict == Verdict::Pass { 1.4 } else { 2.0 };
    Record {
        name: name.into(),
        kind: RecordKind::Gate,
        family: "attention".into(),
        tier: Tier::Release,
        metric: "speedup".into(),
        comparator: ">=".into(),
        threshold,
        unit: "x".into(),
        value: 2.0,
        interval: Some([1.8, 2.2]),
        bound: 1.8,
        margin: Comparator::Ge.margin(1.8, threshold),
        verdict,
        samples: vec![1.9, 2.0, 2.1],
        duration_s: 0.5,
        doc: "doc".into(),
        proof: proof.map(|verdict| Proof { fault: "slowed 2x".into(), value: 0.9, verdict }),
        details: BTreeMap::new(),
    }
}

/// A manifest of `names`, each in both tiers.
pub(crate) fn manifest(names: &[&str]) -> Manifest {
    Manifest {
        declarations: names
            .iter()
            .map(|n| crate::record::ManifestEntry {
                name: n.to_string(),
                kind: RecordKind::Gate,
                family: "attention".into(),
                tiers: vec![Tier::Quick, Tier::Release],
            })
            .collect(),
    }
}

fn measurements(records: Vec<Record>) -> Measurements {
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    Measurements { schema: MEASUREMENTS_SCHEMA.into(), manifest: Some(manifest(&names)), records }
}

fn config(prove: bool) -> RunConfig {
    RunConfig { tier: "release".into(), prove, ..RunConfig::default() }
}

fn audit(records: Vec<Record>, prove: bool) -> Result<AuditRun, AuditError> {
    AuditRun::from_measurements(&measurements(records), Machine::default(), GitState::default(), config(prove))
}

#[test]
fn passing_rows_pass_and_one_failing_row_fails_overall() {
    let a = audit(vec![record("a", Verdict::Pass, None), record("b", Verdict::Pass, None)], false).unwrap();
    assert!(a.overall.passed(), "{:?}", a.overall);
    let a = audit(vec![record("a", Verdict::Pass, None), record("b", Verdict::Fail, None)], false).unwrap();
    assert!(!a.overall.passed());
    assert_eq!(a.overall.reasons.len(), 1);
    assert!(a.overall.reasons[0].contains("`b`"));
}

#[test]
fn prove_requires_a_failing_proof_for_every_gate() {
    let holds = audit(vec![record("a", Verdict::Pass, Some(Verdict::Fail))], true).unwrap();
    assert!(holds.overall.passed());
    assert_eq!(holds.gates[0].proof_status, ProofStatus::Holds);
    let did_not_fail = audit(vec![record("a", Verdict::Pass, Some(Verdict::Pass))], true).unwrap();
    assert!(!did_not_fail.overall.passed());
    assert_eq!(did_not_fail.gates[0].proof_status, ProofStatus::DidNotFail);
    let missing = audit(vec![record("a", Verdict::Pass, None)], true).unwrap();
    assert_eq!(missing.gates[0].proof_status, ProofStatus::Missing);
    assert!(!missing.overall.passed());
}

#[test]
fn tampered_overall_or_row_is_refused() {
    let mut a = audit(vec![record("a", Verdict::Fail, None)], false).unwrap();
    a.validate().unwrap();
    a.overall.verdict = Verdict::Pass;
    assert!(matches!(a.validate(), Err(AuditError::ContradictoryOverall { .. })));
    let mut a = audit(vec![record("a", Verdict::Fail, None)], false).unwrap();
    a.gates[0].release_verdict = Verdict::Pass;
    assert!(matches!(a.validate(), Err(AuditError::ContradictoryRow { .. })));
}

#[test]
fn harness_failure_fails_overall_and_duplicates_and_bad_details_are_errors() {
    let m = measurements(vec![record("a", Verdict::Pass, None)]);
    let config = RunConfig { harness_exit_code: Some(101), ..config(false) };
    let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config).unwrap();
    assert!(!a.overall.passed());
    let dup = audit(vec![record("a", Verdict::Pass, None), record("a", Verdict::Pass, None)], false);
    assert!(matches!(dup, Err(AuditError::DuplicateRecord { .. })));
    let mut bad = record("a", Verdict::Pass, None);
    bad.details.insert(DETAIL_PARITY_ROWS.into(), serde_json::json!([{"candidate": 3}]));
    let err = audit(vec![bad.clone()], false).unwrap_err();
    assert!(err.to_string().contains("parity_rows"), "{err}");
    bad.details.clear();
    bad.details.insert(DETAIL_TABLES.into(), serde_json::json!({"t": [3]}));
    let err = audit(vec![bad], false).unwrap_err();
    assert!(err.to_string().contains("`tables`"), "{err}");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Timing {
    n: usize,
    ms: f64,
}

#[test]
fn attached_tables_move_into_the_audit_by_record_name_and_read_back_typed() {
    let mut z = record("z", Verdict::Pass, None);
    crate::table::attach(&mut z.details, "timings", [Timing { n: 1, ms: 0.1 + 0.2 }]).unwrap();
    let mut k = record("k", Verdict::Pass, None);
    crate::table::attach(&mut k.details, "timings", [Timing { n: 8, ms: 3.0 }, Timing { n: 2, ms: 1.0 }]).unwrap();
    crate::table::attach(&mut k.details, "counts", [serde_json::json!({"kernel": "sparse", "count": 2})]).unwrap();
    let a = audit(vec![z, k], false).unwrap();
    assert!(a.gates.iter().all(|g| g.record.details.is_empty()));
    let timings = a.table::<Timing>("timings").unwrap();
    let got: Vec<(&str, usize)> = timings.iter().map(|e| (e.gate.as_str(), e.row.n)).collect();
    // Records by name, each record's rows as attached; numbers exact.
    assert_eq!(got, [("k", 8), ("k", 2), ("z", 1)]);
    assert_eq!(timings[2].row.ms.to_bits(), (0.1f64 + 0.2).to_bits());
    assert_eq!(a.tables["counts"][0].row["count"], 2);
    // A reader whose type does not fit is told which table and which gate.
    let err = a.table::<Timing>("counts").unwrap_err();
    assert!(
        matches!(&err, AuditError::MalformedTable { table, gate, .. } if table == "counts" && gate == "k"),
        "{err}"
    );
    let json = serde_json::to_string(&a).unwrap();
    let back: AuditRun = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    a.validate().unwrap();
}

#[test]
fn every_row_is_rejudged_and_a_tampered_number_is_refused_by_name() {
    let a = audit(vec![record("a", Verdict::Pass, None), record("b", Verdict::Fail, None)], false).unwrap();
    a.validate().unwrap();
    let tamper = |f: &dyn Fn(&mut Record)| {
        let mut t = a.clone();
        f(&mut t.gates[1].record);
        t.validate().unwrap_err()
    };
    // A lower threshold would make `b` pass: its verdict and margin no longer follow.
    let err = tamper(&|r| r.threshold = 1.0);
    assert!(matches!(&err, AuditError::ContradictoryVerdict { name, .. } if name == "b"), "{err}");
    // A threshold moved without changing the verdict: the margin gives it away.
    let err = tamper(&|r| r.threshold = 2.5);
    assert!(matches!(&err, AuditError::ContradictoryJudgement { name, field: "margin", .. } if name == "b"), "{err}");
    // A bound that is not the interval's lower end (the value, for a `>=` gate).
    let err = tamper(&|r| r.bound = 2.0);
    assert!(matches!(&err, AuditError::ContradictoryJudgement { field: "bound", .. }), "{err}");
    assert!(err.to_string().contains("row `b`: bound stored as 2"), "{err}");
    // A verdict flipped alone (with its release verdict and overall, so only the row tells).
    let mut t = a.clone();
    t.gates[1].record.verdict = Verdict::Pass;
    t.gates[1].release_verdict = Verdict::Pass;
    t.overall = t.compute_overall();
    let err = t.validate().unwrap_err();
    assert!(matches!(&err, AuditError::ContradictoryVerdict { stored: Verdict::Pass, computed: Verdict::Fail, .. }));
    assert_eq!(err.to_string(), "row `b`: verdict stored as Pass but `1.8 >= 2` gives Fail");
    let err = tamper(&|r| r.margin = 0.5);
    assert!(matches!(&err, AuditError::ContradictoryJudgement { field: "margin", .. }), "{err}");
    let err = tamper(&|r| r.comparator = "==".into());
    assert!(matches!(&err, AuditError::UnknownComparator { name, comparator } if name == "b" && comparator == "=="));
}

#[test]
fn nan_is_judged_explicitly() {
    let mut r = record("nan", Verdict::Fail, None);
    r.interval = None;
    r.value = f64::NAN;
    r.bound = f64::NAN;
    r.margin = f64::NAN;
    let a = audit(vec![r.clone()], false).unwrap();
    a.validate().unwrap();
    assert!(!a.overall.passed());
    let mut passing = a.clone();
    passing.gates[0].record.verdict = Verdict::Pass;
    assert!(matches!(passing.validate(), Err(AuditError::ContradictoryVerdict { .. })));
    let mut finite = a;
    finite.gates[0].record.bound = 1.0;
    assert!(matches!(finite.validate(), Err(AuditError::ContradictoryJudgement { field: "bound", .. })));
}

fn partial_measurements() -> Measurements {
    let mut m = measurements(vec![record("a", Verdict::Pass, None)]);
    m.manifest = Some(manifest(&["a", "b", "c"]));
    m
}

#[test]
fn a_partial_run_fails_unless_allowed_and_is_flagged_either_way() {
    let m = partial_measurements();
    let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config(false)).unwrap();
    assert!(a.partial);
    assert_eq!(a.missing, ["b", "c"]);
    assert!(!a.overall.passed());
    assert_eq!(
        a.overall.reasons,
        ["PARTIAL: 1 of 3 declarations ran (not run: `b`, `c`); a partial run passes only with `--partial`"]
    );
    a.validate().unwrap();
    let allowed = RunConfig { allow_partial: true, ..config(false) };
    let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), allowed).unwrap();
    assert!(a.overall.passed(), "{:?}", a.overall);
    assert!(a.partial);
    assert_eq!(a.partial_line().unwrap(), "PARTIAL: 1 of 3 declarations ran (not run: `b`, `c`)");
    a.validate().unwrap();
    // Long lists are cut in the line (the audit keeps them all).
    let names: Vec<String> = (0..12).map(|i| format!("g{i:02}")).collect();
    let mut many = measurements(vec![record("g00", Verdict::Pass, None)]);
    many.manifest = Some(manifest(&names.iter().map(String::as_str).collect::<Vec<_>>()));
    let a = AuditRun::from_measurements(&many, Machine::default(), GitState::default(), config(false)).unwrap();
    assert_eq!(a.missing.len(), 11);
    assert!(a.partial_line().unwrap().ends_with("`g08`, and 3 more)"), "{:?}", a.partial_line());
    // A complete run is not partial, and says nothing about it.
    let full = audit(vec![record("a", Verdict::Pass, None)], false).unwrap();
    assert!(!full.partial && full.missing.is_empty() && full.partial_line().is_none());
    assert!(full.overall.passed());
}

#[test]
fn the_tier_decides_what_is_expected() {
    let mut m = partial_measurements();
    if let Some(manifest) = m.manifest.as_mut() {
        for e in manifest.declarations.iter_mut().filter(|e| e.name != "a") {
            e.tiers = vec![Tier::Quick];
        }
    }
    let release = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config(false)).unwrap();
    assert!(!release.partial && release.overall.passed(), "{:?}", release.overall);
    let quick = RunConfig { tier: "quick".into(), ..config(false) };
    let quick = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), quick).unwrap();
    assert_eq!(quick.missing, ["b", "c"]);
}

#[test]
fn no_manifest_is_partial() {
    let mut m = measurements(vec![record("a", Verdict::Pass, None)]);
    m.manifest = None;
    let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config(false)).unwrap();
    assert!(a.partial);
    assert!(a.missing.is_empty());
    assert!(!a.overall.passed());
    assert!(a.overall.reasons[0].starts_with("PARTIAL: no manifest"), "{:?}", a.overall);
    a.validate().unwrap();
    let allowed = RunConfig { allow_partial: true, ..config(false) };
    assert!(AuditRun::from_measurements(&m, Machine::default(), GitState::default(), allowed)
        .unwrap()
        .overall
        .passed());
}

#[test]
fn a_partial_flag_or_missing_list_that_contradicts_the_manifest_is_refused() {
    let allowed = RunConfig { allow_partial: true, ..config(false) };
    let a =
        AuditRun::from_measurements(&partial_measurements(), Machine::default(), GitState::default(), allowed).unwrap();
    let mut hidden = a.clone();
    hidden.partial = false;
    hidden.missing.clear();
    assert!(matches!(hidden.validate(), Err(AuditError::ContradictoryPartial { stored: false, computed: true, .. })));
    let mut shortened = a.clone();
    shortened.missing.pop();
    assert!(matches!(shortened.validate(), Err(AuditError::ContradictoryPartial { .. })));
    // Dropping the manifest does not make a run complete.
    let mut no_manifest = a;
    no_manifest.manifest = None;
    no_manifest.missing.clear();
    no_manifest.validate().unwrap();
    assert!(no_manifest.partial);
    no_manifest.partial = false;
    assert!(matches!(no_manifest.validate(), Err(AuditError::ContradictoryPartial { .. })));
}

/// Shard `file` of a run of `all` declarations that ran `ran`, at `commit`.
fn shard(file: &str, all: &[&str], ran: &[&str], commit: &str) -> merge::Shard {
    let m = Measurements {
        schema: MEASUREMENTS_SCHEMA.into(),
        manifest: Some(manifest(all)),
        records: ran.iter().map(|n| record(n, Verdict::Pass, None)).collect(),
    };
    let git = GitState { commit: Some(commit.into()), ..GitState::default() };
    let config =
        RunConfig { harness_exit_code: Some(0), harness_duration_s: 1.0, allow_partial: true, ..config(false) };
    let audit = AuditRun::from_measurements(&m, Machine::default(), git, config).unwrap();
    merge::Shard { file: file.into(), audit }
}

#[test]
fn shards_merge_into_the_audit_of_one_whole_run() {
    let all = ["a", "b", "c"];
    let merged =
        merge::merge(vec![shard("s1.json", &all, &["c", "a"], "abc"), shard("s2.json", &all, &["b"], "abc")]).unwrap();
    let whole = AuditRun::from_measurements(
        &measurements(all.iter().map(|n| record(n, Verdict::Pass, None)).collect()),
        Machine::default(),
        GitState { commit: Some("abc".into()), ..GitState::default() },
        RunConfig { harness_exit_code: Some(0), ..config(false) },
    )
    .unwrap();
    assert_eq!(merged.gates, whole.gates);
    assert!(!merged.partial && merged.missing.is_empty());
    assert!(merged.overall.passed(), "{:?}", merged.overall);
    assert_eq!(merged.config.harness_duration_s, 2.0);
    let info = merged.merged.as_ref().unwrap();
    assert_eq!(info.shards.iter().map(|s| s.trials.clone()).collect::<Vec<_>>(), [vec!["a", "c"], vec!["b"]]);
    assert!(!info.mixed_machines);
    merged.validate().unwrap();
    let back: AuditRun = serde_json::from_str(&serde_json::to_string(&merged).unwrap()).unwrap();
    assert_eq!(back, merged);
}

#[test]
fn a_merge_refuses_a_missing_a_duplicated_and_a_foreign_shard() {
    let all = ["a", "b", "c"];
    let err = merge::merge(vec![shard("s1.json", &all, &["a"], "abc"), shard("s2.json", &all, &["b"], "abc")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no shard ran `c`"), "{err}");
    let err =
        merge::merge(vec![shard("s1.json", &all, &["a", "b"], "abc"), shard("s2.json", &all, &["b", "c"], "abc")])
            .unwrap_err()
            .to_string();
    assert!(err.contains("`b` ran in two shards: s1.json and s2.json"), "{err}");
    let err = merge::merge(vec![shard("s1.json", &all, &["a", "b"], "abc"), shard("s2.json", &all, &["c"], "def")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("shard s2.json: the commit is def, but s1.json has abc"), "{err}");
    let err = merge::merge(vec![
        shard("s1.json", &all, &["a", "b"], "abc"),
        shard("s2.json", &["a", "b", "c", "d"], &["c", "d"], "abc"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("shard s2.json: the manifest"), "{err}");
    assert!(merge::merge(Vec::new()).unwrap_err().to_string().contains("no shard"));
}

#[test]
fn a_merge_marks_mixed_machines_and_refuses_a_tampered_shard() {
    let all = ["a", "b"];
    let mut other = shard("s2.json", &all, &["b"], "abc");
    other.audit.machine.cpu_model = "another CPU".into();
    let merged = merge::merge(vec![shard("s1.json", &all, &["a"], "abc"), other]).unwrap();
    assert!(merged.merged.unwrap().mixed_machines);
    let mut tampered = shard("s2.json", &all, &["b"], "abc");
    tampered.audit.gates[0].record.bound = 0.5;
    let err = merge::merge(vec![shard("s1.json", &all, &["a"], "abc"), tampered]).unwrap_err().to_string();
    assert!(err.starts_with("shard s2.json: "), "{err}");
}

/// `shard` with its partition and the trials the partition selects.
fn partitioned(file: &str, all: &[&str], ran: &[&str], partition: &str, selected: &[&str]) -> merge::Shard {
    let mut s = shard(file, all, ran, "abc");
    let selected = selected.iter().map(|x| x.to_string()).collect();
    s.audit.config.shard = Some(crate::audit::ShardRun { partition: partition.parse().unwrap(), selected, plan: None });
    s
}

#[test]
fn partitioned_shards_merge_when_each_partition_ran_its_own_trials_once() {
    let all = ["a", "b", "c"];
    let merged = merge::merge(vec![
        partitioned("s2.json", &all, &["b"], "hash:2/2", &["b"]),
        partitioned("s1.json", &all, &["a", "c"], "hash:1/2", &["a", "c"]),
    ])
    .unwrap();
    let parts: Vec<String> = merged.merged.unwrap().shards.iter().map(|s| s.partition.unwrap().to_string()).collect();
    assert_eq!(parts, ["hash:2/2", "hash:1/2"]);
}

#[test]
fn a_merge_refuses_partitions_missing_twice_mixed_or_not_followed() {
    let all = ["a", "b", "c"];
    let err = |shards: Vec<merge::Shard>| merge::merge(shards).unwrap_err().to_string();
    let e = err(vec![
        partitioned("s1.json", &all, &["a", "c"], "slice:1/3", &["a", "c"]),
        partitioned("s3.json", &all, &["b"], "slice:3/3", &["b"]),
    ]);
    assert!(e.contains("no shard of partition slice:2/3"), "{e}");
    let e = err(vec![
        partitioned("s1.json", &all, &["a"], "hash:1/2", &["a"]),
        partitioned("s1-again.json", &all, &["b", "c"], "hash:1/2", &["b", "c"]),
    ]);
    assert!(e.contains("s1.json and s1-again.json are both partition hash:1/2"), "{e}");
    let e = err(vec![
        partitioned("s1.json", &all, &["a"], "hash:1/2", &["a"]),
        partitioned("s2.json", &all, &["b", "c"], "slice:2/2", &["b", "c"]),
    ]);
    assert!(e.contains("s2.json") && e.contains("scheme and count"), "{e}");
    let e = err(vec![
        partitioned("s1.json", &all, &["a"], "hash:1/2", &["a"]),
        shard("plain.json", &all, &["b", "c"], "abc"),
    ]);
    assert!(e.contains("plain.json: the partition is none"), "{e}");
    let e = err(vec![
        partitioned("s1.json", &all, &["a", "b"], "hash:1/2", &["a"]),
        partitioned("s2.json", &all, &["c"], "hash:2/2", &["b", "c"]),
    ]);
    assert!(e.contains("s1.json: its trials disagree with its partition hash:1/2") && e.contains("[\"b\"]"), "{e}");
}

#[test]
fn a_partition_round_trips_through_json_and_refuses_nonsense() {
    let run =
        crate::audit::ShardRun { partition: "slice:3/4".parse().unwrap(), selected: vec!["a".into()], plan: None };
    let json = serde_json::to_string(&run).unwrap();
    assert!(json.contains("\"slice:3/4\""), "{json}");
    assert_eq!(serde_json::from_str::<crate::audit::ShardRun>(&json).unwrap(), run);
    for bad in ["hash:0/2", "hash:1/0", "hash:1", "slice:a/2", "hash1/2"] {
        assert!(bad.parse::<crate::audit::Partition>().is_err(), "{bad}");
    }
    assert!(serde_json::from_str::<crate::audit::ShardRun>(r#"{"partition":"hash:3/2","selected":[]}"#).is_err());
}

#[test]
fn a_duration_plan_deals_every_trial_once_and_balances_the_shards() {
    use crate::audit::DurationPlan;
    use std::collections::BTreeMap;
    // One long trial and many short ones, as the release tier has (motif_stability ≈ a third).
    let trials: Vec<String> = (0..24).map(|i| format!("t{i:02}")).collect();
    let mut durations: BTreeMap<String, f64> = trials.iter().map(|t| (t.clone(), 2.0)).collect();
    durations.insert("t07".into(), 40.0);
    durations.insert("t13".into(), 22.0);
    durations.insert("gone".into(), 99.0); // a trial the run no longer has: ignored
    durations.remove("t20"); // a new trial: counts as the median (2 s)
    for count in 1..=5u32 {
        let plan = DurationPlan::new(&trials, &durations, count);
        let mut dealt: Vec<&String> = (1..=count).flat_map(|i| plan.shard(i)).collect();
        dealt.sort();
        assert_eq!(dealt, trials.iter().collect::<Vec<_>>(), "every trial once ({count} shards)");
        let total: f64 = plan.seconds().iter().sum();
        assert_eq!(total, 40.0 + 22.0 + 22.0 * 2.0, "{count} shards");
        let longest = plan.seconds().iter().copied().fold(0.0, f64::max);
        // The longest-processing-time rule: no shard past 4/3 of the best possible.
        let best = (total / f64::from(count)).max(40.0);
        assert!(longest <= best * 4.0 / 3.0, "{count} shards: {:?}", plan.seconds());
        assert!(plan.shard(count + 1).is_empty() && plan.shard(0).is_empty());
    }
    let three = DurationPlan::new(&trials, &durations, 3);
    assert_eq!(three.seconds(), [40.0, 34.0, 32.0]);
    assert!(three.shard(1).contains(&"t07".to_string()) && three.shard(1).len() == 1, "the long trial alone");
    // Same inputs, same plan and digest; other durations or another count, another digest.
    assert_eq!(three, DurationPlan::new(&trials, &durations, 3));
    let mut slower = durations.clone();
    slower.insert("t01".into(), 2.5);
    assert_ne!(three.digest(), DurationPlan::new(&trials, &slower, 3).digest());
    assert_ne!(three.digest(), DurationPlan::new(&trials, &durations, 4).digest());
    // Nothing timed: every trial counts 1 s, dealt by name.
    let plan = DurationPlan::new(&trials, &BTreeMap::new(), 2);
    assert_eq!(plan.seconds(), [12.0, 12.0]);
}

#[test]
fn a_merge_refuses_duration_shards_dealt_from_different_plans() {
    let all = ["a", "b", "c"];
    let with_plan = |file, ran: &[&str], partition, plan: &str| {
        let mut s = partitioned(file, &all, ran, partition, ran);
        s.audit.config.shard.as_mut().unwrap().plan = Some(plan.into());
        s
    };
    let merged = merge::merge(vec![
        with_plan("s1.json", &["a"], "duration:1/2", "00ab"),
        with_plan("s2.json", &["b", "c"], "duration:2/2", "00ab"),
    ]);
    assert!(merged.is_ok(), "{merged:?}");
    let e = merge::merge(vec![
        with_plan("s1.json", &["a"], "duration:1/2", "00ab"),
        with_plan("s2.json", &["b", "c"], "duration:2/2", "99ff"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("s2.json: the duration plan") && e.contains("00ab") && e.contains("99ff"), "{e}");
}
