//! Outputs written whole or not at all.
//!
//! Every file or folder ironforge writes — the subcommands' outputs, the gate framework's
//! measurement and probe files, the xtask's reports — goes through this module:
//!
//! - [`AtomicFile`]: a file is written to a temporary sibling `.<name>.tmp-<pid>-<n>` in the
//!   target's folder; [`AtomicFile::commit`] flushes, syncs and renames it over the target (then
//!   syncs the folder, best effort). Dropped without `commit` — an error, a `?`, an interrupt
//!   that unwinds the call stack — it removes the temporary file. A reader sees the old file or
//!   the new one, never a part of one; a process killed outright leaves at most the temporary
//!   file, never a truncated target.
//! - [`AtomicDir`]: a folder is staged under `.<name>.tmp-<pid>-<n>` beside the target and
//!   renamed whole on [`AtomicDir::commit`]. An existing target folder is **replaced**: it is
//!   renamed aside, the staged folder renamed in, then the old one removed (Linux cannot rename
//!   over a non-empty folder). Whether a given existing folder may be replaced is the caller's
//!   decision, taken before any work (ironforge replaces only its own earlier outputs).
//! - [`write_atomic`] and [`copy_atomic`]: one-call forms of [`AtomicFile`].
//! - [`refuse_same_file`]: an output that is its input, lies inside its input folder, or holds
//!   its input, is refused before anything is read or written.
//!
//! Engine-free: std and `thiserror` only. It lives in the gate framework's crate, which writes
//! through it; ironforge's engines, CLI and xtask reach it as `ironforge::atomic`.
//!
//! ```
//! use std::io::Write;
//! use ironforge_gate::atomic::AtomicFile;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("out.txt");
//! std::fs::write(&path, "old")?;
//! let mut f = AtomicFile::create(&path)?;
//! f.write_all(b"new")?;
//! assert_eq!(std::fs::read_to_string(&path)?, "old"); // nothing visible before commit
//! f.commit()?;
//! assert_eq!(std::fs::read_to_string(&path)?, "new");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary names made by this process so far (the `<n>` of `.<name>.tmp-<pid>-<n>`).
static TEMP_NAMES: AtomicU64 = AtomicU64::new(0);

/// The folder holding `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A fresh sibling name `.<name>.<tag>-<pid>-<n>` of `target`, in the same folder (so that a
/// rename between the two never crosses file systems).
fn sibling(target: &Path, tag: &str) -> io::Result<PathBuf> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{} has no file name", target.display())))?;
    let n = TEMP_NAMES.fetch_add(1, Ordering::Relaxed);
    Ok(parent_of(target).join(format!(".{}.{tag}-{}-{n}", name.to_string_lossy(), std::process::id())))
}

/// The path a write to `path` should replace: the file a symbolic link points to (so that the
/// link survives), else `path` itself.
fn resolve(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// `e` with `what` in front, keeping its kind.
fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Syncs a folder so that a rename in it survives a crash (best effort: not every platform or
/// file system lets a folder be opened or synced).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A file written under a temporary name and renamed over its target on [`commit`](Self::commit).
///
/// Writes are buffered. Dropped without `commit`, the temporary file is removed and the target
/// is untouched. The new file gets default permissions (as [`File::create`] would), not the
/// replaced file's.
///
/// ```
/// use std::io::Write;
/// use ironforge_gate::atomic::AtomicFile;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out.bin");
/// let mut f = AtomicFile::create(&path)?;
/// f.write_all(b"half")?;
/// drop(f); // no commit: as if the run failed
/// assert!(!path.exists());
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0, "no temporary file left");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    /// `None` once committed.
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts a file that will replace `path` (through a symbolic link, the file it points to).
    /// The folder must exist. Nothing under `path` changes until [`commit`](Self::commit).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = ironforge_gate::atomic::AtomicFile::create(&dir.path().join("a.txt"))?;
    /// assert!(f.temp_path().file_name().unwrap().to_string_lossy().starts_with(".a.txt.tmp-"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create(path: &Path) -> io::Result<Self> {
        let target = resolve(path);
        let temp = sibling(&target, "tmp")?;
        let file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        Ok(Self { target, temp, out: Some(BufWriter::new(file)) })
    }

    /// The path the file will have once committed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.txt");
    /// assert_eq!(ironforge_gate::atomic::AtomicFile::create(&path)?.target(), path);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file being written.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = ironforge_gate::atomic::AtomicFile::create(&dir.path().join("a.txt"))?;
    /// assert!(f.temp_path().exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The open temporary file (e.g. to set its permissions); its buffer is not flushed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let f = ironforge_gate::atomic::AtomicFile::create(&dir.path().join("a.txt"))?;
    /// assert_eq!(f.file().metadata()?.len(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file(&self) -> &File {
        self.out.as_ref().expect("only `commit` takes the writer, and it consumes self").get_ref()
    }

    /// Flushes, syncs and renames the file over its target, then syncs the folder (best
    /// effort). On an error the temporary file is removed and the target is untouched.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.txt");
    /// let mut f = ironforge_gate::atomic::AtomicFile::create(&path)?;
    /// writeln!(f, "done")?;
    /// f.commit()?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "done\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn commit(mut self) -> io::Result<()> {
        let out = self.out.take().expect("only `commit` takes the writer, and it consumes self");
        let file = out.into_inner().map_err(|e| context(e.into_error(), "flush"))?;
        file.sync_all().map_err(|e| context(e, "sync"))?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(|e| context(e, "rename into place"))?;
        // Renamed: nothing left for `Drop` to remove.
        self.temp = PathBuf::new();
        sync_dir(parent_of(&self.target));
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("only `commit` takes the writer, and it consumes self").write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.as_mut().expect("only `commit` takes the writer, and it consumes self").write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("only `commit` takes the writer, and it consumes self").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(out) = self.out.take() {
            // `into_parts` drops the buffer without writing it: the file is going away.
            drop(out.into_parts());
        }
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` whole or not at all (an [`AtomicFile`] committed at once).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.json");
/// ironforge_gate::atomic::write_atomic(&path, b"{}")?;
/// assert_eq!(std::fs::read(&path)?, b"{}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| context(e, "write"))?;
    f.commit()
}

/// Copies `from` to `to` whole or not at all, with `from`'s permissions (an executable stays
/// executable); returns the bytes copied.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("a"), dir.path().join("b"));
/// std::fs::write(&a, b"abc")?;
/// assert_eq!(ironforge_gate::atomic::copy_atomic(&a, &b)?, 3);
/// assert_eq!(std::fs::read(&b)?, b"abc");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<u64> {
    let mut src = File::open(from)?;
    let permissions = src.metadata()?.permissions();
    let mut f = AtomicFile::create(to)?;
    let n = io::copy(&mut src, &mut f).map_err(|e| context(e, "copy"))?;
    f.file().set_permissions(permissions)?;
    f.commit()?;
    Ok(n)
}

/// A folder filled under a temporary name and renamed whole over its target on
/// [`commit`](Self::commit).
///
/// Fill the folder at [`path`](Self::path). Dropped without `commit`, the staged folder and
/// everything in it are removed and the target is untouched.
///
/// ```
/// use ironforge_gate::atomic::AtomicDir;
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("out");
/// let stage = AtomicDir::create(&out)?;
/// std::fs::write(stage.path().join("a.txt"), "a")?;
/// assert!(!out.exists());
/// stage.commit()?;
/// assert_eq!(std::fs::read_to_string(out.join("a.txt"))?, "a");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicDir {
    target: PathBuf,
    /// Empty once committed.
    stage: PathBuf,
}

impl AtomicDir {
    /// Creates an empty staged folder beside `path` (whose parent folder must exist).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let stage = ironforge_gate::atomic::AtomicDir::create(&dir.path().join("out"))?;
    /// assert!(stage.path().is_dir());
    /// drop(stage);
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0, "the staged folder is removed");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create(path: &Path) -> io::Result<Self> {
        let stage = sibling(path, "tmp")?;
        fs::create_dir(&stage)?;
        Ok(Self { target: path.to_path_buf(), stage })
    }

    /// The staged folder, to be filled.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let stage = ironforge_gate::atomic::AtomicDir::create(&dir.path().join("out"))?;
    /// assert_eq!(stage.path().parent(), Some(dir.path()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.stage
    }

    /// The path the folder will have once committed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let out = dir.path().join("out");
    /// assert_eq!(ironforge_gate::atomic::AtomicDir::create(&out)?.target(), out);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the staged folder to the target. An existing target folder is replaced: renamed
    /// aside, the staged folder renamed in, the old one removed (if the second rename fails, the
    /// old folder is renamed back). A target that exists and is not a folder is refused.
    ///
    /// ```
    /// use ironforge_gate::atomic::AtomicDir;
    /// let dir = tempfile::tempdir()?;
    /// let out = dir.path().join("out");
    /// std::fs::create_dir(&out)?;
    /// std::fs::write(out.join("old.txt"), "old")?;
    /// let stage = AtomicDir::create(&out)?;
    /// std::fs::write(stage.path().join("new.txt"), "new")?;
    /// stage.commit()?;
    /// assert!(out.join("new.txt").exists() && !out.join("old.txt").exists());
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1, "nothing else left beside it");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn commit(mut self) -> io::Result<()> {
        sync_dir(&self.stage);
        match fs::symlink_metadata(&self.target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::rename(&self.stage, &self.target).map_err(|e| context(e, "rename into place"))?;
            }
            Err(e) => return Err(e),
            Ok(m) if !m.is_dir() => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists and is not a folder"));
            }
            Ok(_) => {
                let aside = sibling(&self.target, "old")?;
                fs::rename(&self.target, &aside).map_err(|e| context(e, "move the old folder aside"))?;
                if let Err(e) = fs::rename(&self.stage, &self.target) {
                    let _ = fs::rename(&aside, &self.target);
                    return Err(context(e, "rename into place"));
                }
                let _ = fs::remove_dir_all(&aside);
            }
        }
        self.stage = PathBuf::new();
        sync_dir(parent_of(&self.target));
        Ok(())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.stage.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.stage);
        }
    }
}

/// An output that would overwrite its own input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamePathError {
    /// The output is the input (the same path, a link to it, or a hard link).
    #[error("{output}: the output is the input {input}; refusing to write over it")]
    SameFile {
        /// The input.
        input: PathBuf,
        /// The output.
        output: PathBuf,
    },
    /// The output lies inside the input folder.
    #[error("{output}: the output lies inside the input folder {input}; write it outside")]
    OutputInsideInput {
        /// The input folder.
        input: PathBuf,
        /// The output.
        output: PathBuf,
    },
    /// The input lies inside the output folder, which the output would replace.
    #[error("{output}: the output folder holds the input {input}; writing it would replace the input")]
    InputInsideOutput {
        /// The input.
        input: PathBuf,
        /// The output folder.
        output: PathBuf,
    },
}

/// Where `output` is or would be, with every link resolved: `None` when neither it nor its
/// folder exists (it cannot then overlap an existing input).
fn canonical_output(output: &Path) -> Option<PathBuf> {
    if let Ok(p) = fs::canonicalize(output) {
        return Some(p);
    }
    let parent = fs::canonicalize(parent_of(output)).ok()?;
    Some(parent.join(output.file_name()?))
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Refuses an `output` that is `input` (same path, a symbolic or hard link to it), lies inside
/// the `input` folder, or is a folder holding `input`. An input that does not exist is not
/// checked (reading it will fail with its own error).
///
/// ```
/// use ironforge_gate::atomic::refuse_same_file;
/// let dir = tempfile::tempdir()?;
/// let input = dir.path().join("m.parquet");
/// std::fs::write(&input, b"PAR1")?;
/// assert!(refuse_same_file(&input, &input).is_err());
/// assert!(refuse_same_file(&input, &dir.path().join("other.parquet")).is_ok());
/// assert!(refuse_same_file(dir.path(), &dir.path().join("out")).is_err()); // inside the input folder
/// assert!(refuse_same_file(&input, dir.path()).is_err()); // the output folder holds the input
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn refuse_same_file(input: &Path, output: &Path) -> Result<(), SamePathError> {
    let Ok(input_c) = fs::canonicalize(input) else { return Ok(()) };
    let Some(output_c) = canonical_output(output) else { return Ok(()) };
    let (i, o) = (input.to_path_buf(), output.to_path_buf());
    if input_c == output_c || same_inode(input, output) {
        return Err(SamePathError::SameFile { input: i, output: o });
    }
    if output_c.starts_with(&input_c) {
        return Err(SamePathError::OutputInsideInput { input: i, output: o });
    }
    if input_c.starts_with(&output_c) {
        return Err(SamePathError::InputInsideOutput { input: i, output: o });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn drop_without_commit_removes_the_temporary_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        fs::write(&path, b"old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(&[7u8; 100_000]).unwrap(); // past the buffer: bytes reach the temporary file
        assert!(f.temp_path().metadata().unwrap().len() > 0);
        drop(f);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.bin"]);
    }

    #[test]
    fn commit_replaces_the_target_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(names(dir.path()), ["a.bin"]);
    }

    #[test]
    fn a_failed_commit_leaves_the_old_content_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder in the way: the rename fails.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        let err = write_atomic(&blocked, b"new").unwrap_err();
        assert!(err.to_string().contains("rename into place"), "{err}");
        assert_eq!(fs::read(blocked.join("x")).unwrap(), b"x");
        assert_eq!(names(dir.path()), ["blocked"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_kept_and_its_file_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn copy_keeps_the_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o750)).unwrap();
        copy_atomic(&a, &b).unwrap();
        assert_eq!(fs::metadata(&b).unwrap().permissions().mode() & 0o777, 0o750);
    }

    #[test]
    fn a_staged_folder_is_removed_on_drop_and_replaces_the_old_one_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("old"), b"old").unwrap();
        let stage = AtomicDir::create(&out).unwrap();
        fs::write(stage.path().join("new"), b"new").unwrap();
        drop(stage);
        assert_eq!(names(dir.path()), ["out"]);
        assert_eq!(names(&out), ["old"]);
        let stage = AtomicDir::create(&out).unwrap();
        fs::create_dir(stage.path().join("sub")).unwrap();
        fs::write(stage.path().join("sub").join("new"), b"new").unwrap();
        stage.commit().unwrap();
        assert_eq!(names(dir.path()), ["out"]);
        assert_eq!(names(&out), ["sub"]);
    }

    #[test]
    fn a_staged_folder_does_not_replace_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::write(&out, b"a file").unwrap();
        let stage = AtomicDir::create(&out).unwrap();
        assert!(stage.commit().is_err());
        assert_eq!(fs::read(&out).unwrap(), b"a file");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn same_file_checks_see_through_links_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::create_dir(&input).unwrap();
        let dotted = dir.path().join("in").join("..").join("in");
        assert!(matches!(refuse_same_file(&input, &dotted), Err(SamePathError::SameFile { .. })));
        assert!(matches!(
            refuse_same_file(&input, &input.join("new.parquet")),
            Err(SamePathError::OutputInsideInput { .. })
        ));
        assert!(matches!(refuse_same_file(&input.join("x"), dir.path()), Ok(())), "missing input: not checked");
        fs::write(input.join("x"), b"x").unwrap();
        assert!(matches!(refuse_same_file(&input.join("x"), dir.path()), Err(SamePathError::InputInsideOutput { .. })));
        assert!(refuse_same_file(&input, &dir.path().join("sibling")).is_ok());
        #[cfg(unix)]
        {
            let hard = dir.path().join("hard");
            fs::hard_link(input.join("x"), &hard).unwrap();
            assert!(matches!(refuse_same_file(&input.join("x"), &hard), Err(SamePathError::SameFile { .. })));
        }
    }
}
