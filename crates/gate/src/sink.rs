//! Writing records to the measurements file: merged, atomic ([`crate::atomic`]), safe for
//! trials running concurrently in threads (a mutex) or processes (a lock file); or one file per
//! trial in a folder ([`write_trial_file`]), gathered afterwards ([`collect_trials`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::error::GateError;
use super::record::{Manifest, Measurements, Record, MEASUREMENTS_SCHEMA};

static IN_PROCESS: Mutex<()> = Mutex::new(());

/// A lock file older than this is taken to be left by a crashed writer and removed.
const STALE_LOCK: Duration = Duration::from_secs(30);
/// Give up waiting for the lock after this long.
const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Merges `record` into the measurements file at `path`: records with the same name are
/// replaced, the rest kept, all sorted by name; the manifest is kept. Creates the file when
/// missing; refuses to overwrite a file that is not a measurements file.
///
/// ```
/// # use ironforge_gate::{sink::merge_record, record::*};
/// # let dir = tempfile::tempdir().unwrap();
/// # let record = |name: &str| Record { name: name.into(), kind: RecordKind::Gate, family: "demo".into(),
/// #     tier: Tier::Quick, metric: "m".into(), comparator: "<=".into(), threshold: 1.0, unit: "abs".into(),
/// #     value: 0.5, interval: None, bound: 0.5, margin: 0.5, verdict: Verdict::Pass, samples: vec![],
/// #     duration_s: 0.0, doc: "d".into(), proof: None, details: Default::default() };
/// let path = dir.path().join("m.json");
/// merge_record(&path, record("b")).unwrap();
/// merge_record(&path, record("a")).unwrap();
/// let m: Measurements = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
/// assert_eq!(m.records.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
/// ```
pub fn merge_record(path: &Path, record: Record) -> Result<(), GateError> {
    merge(path, None, Some(record))
}

/// Merges into the measurements file at `path`: `manifest`, when given, replaces the stored
/// one (every harness process of one binary writes the same); `record`, when given, is merged
/// as by [`merge_record`]. Atomic, and safe for concurrent threads and processes.
///
/// ```
/// # use ironforge_gate::{sink::{merge, read_measurements}, record::*};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("m.json");
/// let manifest = Manifest { declarations: vec![ManifestEntry {
///     name: "a".into(), kind: RecordKind::Gate, family: "demo".into(), tiers: vec![Tier::Quick],
/// }] };
/// merge(&path, Some(&manifest), None).unwrap();
/// let m = read_measurements(&path).unwrap().unwrap();
/// assert_eq!(m.manifest, Some(manifest));
/// assert!(m.records.is_empty());
/// ```
pub fn merge(path: &Path, manifest: Option<&Manifest>, record: Option<Record>) -> Result<(), GateError> {
    let _guard = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
    let lock = LockFile::acquire(path)?;
    let mut all = read_measurements(path)?.unwrap_or_else(Measurements::empty);
    if let Some(manifest) = manifest {
        all.manifest = Some(manifest.clone());
    }
    if let Some(record) = record {
        all.records.retain(|r| r.name != record.name);
        all.records.push(record);
        all.records.sort_by(|a, b| a.name.cmp(&b.name));
    }
    write_atomic(path, &all)?;
    drop(lock);
    Ok(())
}

/// Writes `record` (with the `manifest`) as its own measurements file, `<dir>/<name>.json`,
/// creating `dir`: the file of one trial, which no other trial or process touches.
pub fn write_trial_file(dir: &Path, manifest: &Manifest, record: &Record) -> Result<PathBuf, GateError> {
    let path = dir.join(format!("{}.json", record.name));
    fs::create_dir_all(dir)
        .map_err(|e| GateError::Sink { path: path.clone(), problem: format!("cannot create its folder: {e}") })?;
    merge(&path, Some(manifest), Some(record.clone()))?;
    Ok(path)
}

/// Gathers the trial files of `dir` ([`write_trial_file`]) into one [`Measurements`]: every
/// `*.json` must be a measurements file holding exactly the record its name says, and every
/// file must carry the same manifest. Names the file at fault; other files (locks, temporary
/// files of an atomic write) are skipped.
///
/// ```
/// # use ironforge_gate::{sink::{collect_trials, write_trial_file}, record::*};
/// # let dir = tempfile::tempdir().unwrap();
/// # let record = |name: &str| Record { name: name.into(), kind: RecordKind::Gate, family: "demo".into(),
/// #     tier: Tier::Quick, metric: "m".into(), comparator: "<=".into(), threshold: 1.0, unit: "abs".into(),
/// #     value: 0.5, interval: None, bound: 0.5, margin: 0.5, verdict: Verdict::Pass, samples: vec![],
/// #     duration_s: 0.0, doc: "d".into(), proof: None, details: Default::default() };
/// let manifest = Manifest::default();
/// write_trial_file(dir.path(), &manifest, &record("b")).unwrap();
/// write_trial_file(dir.path(), &manifest, &record("a")).unwrap();
/// let m = collect_trials(dir.path()).unwrap();
/// assert_eq!(m.records.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
/// std::fs::write(dir.path().join("c.json"), "{").unwrap();
/// assert!(collect_trials(dir.path()).unwrap_err().to_string().contains("c.json"));
/// ```
pub fn collect_trials(dir: &Path) -> Result<Measurements, GateError> {
    let err = |path: &Path, problem: String| GateError::Sink { path: path.to_path_buf(), problem };
    let entries = fs::read_dir(dir).map_err(|e| err(dir, format!("cannot read the trial folder: {e}")))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| err(dir, format!("cannot read the trial folder: {e}")))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".json") && !name.starts_with('.') {
            files.push(path);
        }
    }
    files.sort();
    let mut all = Measurements::empty();
    let mut manifest_from: Option<PathBuf> = None;
    for path in files {
        let m = read_measurements(&path)?.ok_or_else(|| err(&path, "vanished while being read".into()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        match m.records.as_slice() {
            [r] if r.name == stem => {}
            records => {
                let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
                return Err(err(&path, format!("a trial file holds its own trial `{stem}` only, not {names:?}")));
            }
        }
        match (&all.manifest, &manifest_from) {
            (None, _) => (all.manifest, manifest_from) = (m.manifest.clone(), Some(path.clone())),
            (Some(first), Some(from)) if m.manifest.as_ref() != Some(first) => {
                return Err(err(&path, format!("its manifest differs from that of {}", from.display())))
            }
            _ => {}
        }
        all.records.extend(m.records);
    }
    if all.records.is_empty() {
        return Err(err(dir, "no trial wrote a file here".into()));
    }
    Ok(all)
}

/// Reads a measurements file; `Ok(None)` when it does not exist.
pub fn read_measurements(path: &Path) -> Result<Option<Measurements>, GateError> {
    let err = |problem: String| GateError::Sink { path: path.to_path_buf(), problem };
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(format!("unreadable: {e}"))),
    };
    let m: Measurements = serde_json::from_str(&text).map_err(|e| err(format!("not a measurements file: {e}")))?;
    if m.schema != MEASUREMENTS_SCHEMA {
        return Err(err(format!("schema is {:?}, expected {MEASUREMENTS_SCHEMA:?}", m.schema)));
    }
    Ok(Some(m))
}

fn write_atomic(path: &Path, m: &Measurements) -> Result<(), GateError> {
    let err = |problem: String| GateError::Sink { path: path.to_path_buf(), problem };
    let json = serde_json::to_vec_pretty(m).map_err(|e| err(format!("cannot serialise: {e}")))?;
    crate::atomic::write_atomic(path, &json).map_err(|e| err(format!("cannot write: {e}")))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// An exclusive lock file next to the measurements file (`<file>.lock`), removed on drop.
struct LockFile(PathBuf);

impl LockFile {
    fn acquire(path: &Path) -> Result<Self, GateError> {
        let lock = sibling(path, ".lock");
        let start = Instant::now();
        loop {
            match fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(_) => return Ok(LockFile(lock)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a > STALE_LOCK) {
                        let _ = fs::remove_file(&lock);
                        continue;
                    }
                    if start.elapsed() > LOCK_TIMEOUT {
                        return Err(GateError::Sink {
                            path: path.to_path_buf(),
                            problem: format!("lock {} held for over {LOCK_TIMEOUT:?}", lock.display()),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(GateError::Sink {
                        path: path.to_path_buf(),
                        problem: format!("cannot create lock {}: {e}", lock.display()),
                    })
                }
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests::manifest;
    use crate::record::Verdict;

    fn record(name: &str) -> Record {
        crate::audit::tests::record(name, Verdict::Pass, None)
    }

    fn problem(dir: &Path) -> String {
        collect_trials(dir).unwrap_err().to_string()
    }

    #[test]
    fn trial_files_gather_into_one_measurements_with_their_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(&["a", "b"]);
        for name in ["b", "a"] {
            write_trial_file(dir.path(), &m, &record(name)).unwrap();
        }
        fs::write(dir.path().join(".a.json.tmp-1-2"), "partial").unwrap();
        let all = collect_trials(dir.path()).unwrap();
        assert_eq!(all.manifest, Some(m));
        assert_eq!(all.records, vec![record("a"), record("b")]);
    }

    #[test]
    fn an_empty_or_missing_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(problem(dir.path()).contains("no trial wrote a file"));
        assert!(problem(&dir.path().join("absent")).contains("cannot read the trial folder"));
    }

    #[test]
    fn a_file_holding_another_trial_or_a_different_manifest_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_trial_file(dir.path(), &manifest(&["a"]), &record("a")).unwrap();
        fs::rename(&path, dir.path().join("b.json")).unwrap();
        let p = problem(dir.path());
        assert!(p.contains("b.json") && p.contains("`b` only"), "{p}");

        let dir = tempfile::tempdir().unwrap();
        write_trial_file(dir.path(), &manifest(&["a", "b"]), &record("a")).unwrap();
        write_trial_file(dir.path(), &manifest(&["a", "b", "c"]), &record("b")).unwrap();
        let p = problem(dir.path());
        assert!(p.contains("b.json") && p.contains("manifest differs") && p.contains("a.json"), "{p}");
    }
}
