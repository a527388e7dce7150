//! Writing records to the measurements file: merged, atomic ([`crate::atomic`]), safe for
//! trials running concurrently in threads (a mutex) or processes (a lock file, as under nextest).

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
