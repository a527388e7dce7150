//! Where history entries are kept: git notes on the audited commits, or a JSON-lines file, each
//! appended under a lock; and the commits to show, from git.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::Context;

use super::{HistoryEntry, HISTORY_SCHEMA, NOTES_REF};

/// Where history entries are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Git notes under [`NOTES_REF`] in this repository.
    Notes {
        /// The repository (any folder inside its work tree).
        repo: PathBuf,
    },
    /// A JSON-lines file.
    File {
        /// The file.
        path: PathBuf,
    },
}

/// What [`Store::read`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Entries of the commits asked for, in their order, each commit's in recording order.
    pub entries: Vec<HistoryEntry>,
    /// One line per entry that could not be read (where, and why); skipped.
    pub malformed: Vec<String>,
}

impl Store {
    /// The file store when `history_file` is given, else the notes of `repo`.
    pub fn new(repo: &Path, history_file: Option<&Path>) -> Store {
        match history_file {
            Some(path) => Store::File { path: path.to_path_buf() },
            None => Store::Notes { repo: repo.to_path_buf() },
        }
    }

    /// The store in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::Notes { repo } => format!("git notes {NOTES_REF} of {}", repo.display()),
            Store::File { path } => format!("history file {}", path.display()),
        }
    }

    /// Appends `entry` as one JSON line: to the note of its commit, or to the end of the file.
    pub fn append(&self, entry: &HistoryEntry) -> anyhow::Result<()> {
        let line = serde_json::to_string(entry).context("serialize history entry")?;
        match self {
            Store::Notes { repo } => append_note(repo, &entry.commit, &line),
            Store::File { path } => append_line(path, &line),
        }
        .with_context(|| format!("record commit {} in the {}", entry.commit, self.describe()))
    }

    /// The entries of `commits` and the lines that could not be read.
    pub fn read(&self, commits: &[String]) -> anyhow::Result<Loaded> {
        let order: HashMap<&str, usize> = commits.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let mut found: Vec<(usize, HistoryEntry)> = Vec::new();
        let mut malformed = Vec::new();
        let texts = match self {
            Store::Notes { repo } => {
                read_notes(repo, &order).with_context(|| format!("read the {}", self.describe()))?
            }
            Store::File { path } => {
                vec![(None, read_locked(path).with_context(|| format!("read the {}", self.describe()))?)]
            }
        };
        for (note_commit, text) in &texts {
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let place = match note_commit {
                    Some(c) => format!("note on commit {c} line {}", n + 1),
                    None => format!("{} line {}", self.describe(), n + 1),
                };
                match parse_entry(line, note_commit.as_deref()) {
                    Ok(e) => {
                        if let Some(&i) = order.get(e.commit.as_str()) {
                            found.push((i, e));
                        }
                    }
                    Err(why) => malformed.push(format!("{place}: {why}")),
                }
            }
        }
        // Stable: a commit's entries keep their recording order.
        found.sort_by_key(|(i, _)| *i);
        Ok(Loaded { entries: found.into_iter().map(|(_, e)| e).collect(), malformed })
    }
}

/// One history line; a note's line must name the commit the note is on.
pub(super) fn parse_entry(line: &str, note_commit: Option<&str>) -> Result<HistoryEntry, String> {
    let e: HistoryEntry = serde_json::from_str(line).map_err(|e| format!("not a history entry: {e}"))?;
    if e.schema != HISTORY_SCHEMA {
        return Err(format!("schema `{}`, expected `{HISTORY_SCHEMA}`", e.schema));
    }
    if let Some(c) = note_commit.filter(|c| *c != e.commit) {
        return Err(format!("records commit {} but is attached to {c} (copied by a rewrite?)", e.commit));
    }
    Ok(e)
}

/// `git` in `repo` (and no other repository: `GIT_DIR` and `GIT_WORK_TREE` are not inherited).
pub(super) fn git(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(repo).env_remove("GIT_DIR").env_remove("GIT_WORK_TREE");
    cmd
}

/// Runs `cmd` and returns its stdout; an error with its stderr when it fails.
pub(super) fn stdout_of(mut cmd: Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("run {what}"))?;
    ensure_success(&out, what)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An error naming `what` and its stderr when `out` is a failure.
pub(super) fn ensure_success(out: &Output, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Appends `line` to the note of `commit`, from stdin (no argument length limit).
///
/// `git notes append` reads the notes tree, writes a new notes commit and moves the ref
/// without checking that it still points where it was read: two appends at once keep only
/// one line. Writers through this function therefore take an exclusive lock on
/// `ironforge-history.lock` in the repository's common git folder first; a writer outside it
/// (a hand-run `git notes`) holding the ref's own lock is waited out by retrying. A repository
/// without a committer identity gets `ironforge xtask` as the notes commit's author.
pub(super) fn append_note(repo: &Path, commit: &str, line: &str) -> anyhow::Result<()> {
    let mut common = git(repo);
    common.args(["rev-parse", "--git-common-dir"]);
    let common = repo.join(stdout_of(common, "git rev-parse --git-common-dir")?.trim());
    let lock_path = common.join("ironforge-history.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("open {}", lock_path.display()))?;
    lock.lock().with_context(|| format!("lock {}", lock_path.display()))?;
    let mut ident = git(repo);
    ident.args(["var", "GIT_COMMITTER_IDENT"]).stdout(Stdio::null()).stderr(Stdio::null());
    let has_ident = ident.status().context("run git var")?.success();
    for attempt in 1..=5u64 {
        let mut cmd = git(repo);
        if !has_ident {
            cmd.args(["-c", "user.name=ironforge xtask", "-c", "user.email=xtask@ironforge.invalid"]);
        }
        cmd.args(["notes", "--ref", NOTES_REF, "append", "-F", "-", commit]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("run git notes append")?;
        let mut stdin = child.stdin.take().context("git notes append has no stdin")?;
        stdin.write_all(line.as_bytes()).context("write to git notes append")?;
        drop(stdin);
        let out = child.wait_with_output().context("wait for git notes append")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && stderr.contains(".lock") && attempt < 5 {
            std::thread::sleep(std::time::Duration::from_millis(100 * attempt));
            continue;
        }
        return ensure_success(&out, "git notes append");
    }
    unreachable!("the last attempt returns")
}

/// The note texts of the commits in `wanted`, with their commits: `git notes list` finds the
/// notes, one `git cat-file --batch` reads them.
pub(super) fn read_notes(repo: &Path, wanted: &HashMap<&str, usize>) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let mut list = git(repo);
    list.args(["notes", "--ref", NOTES_REF, "list"]);
    let listed = stdout_of(list, "git notes list")?;
    let notes: Vec<(String, String)> = listed
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, commit)| wanted.contains_key(commit))
        .map(|(blob, commit)| (blob.to_string(), commit.to_string()))
        .collect();
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("run git cat-file --batch")?;
    let mut stdin = child.stdin.take().context("git cat-file has no stdin")?;
    let input: String = notes.iter().map(|(blob, _)| format!("{blob}\n")).collect();
    // Written from another thread: git answers while it reads, and a full pipe each way would
    // block both sides.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().context("wait for git cat-file --batch")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer to git cat-file panicked"))?
        .context("write to git cat-file")?;
    ensure_success(&out, "git cat-file --batch")?;
    let mut rest = out.stdout.as_slice();
    let mut texts = Vec::with_capacity(notes.len());
    for (blob, commit) in notes {
        let end = rest.iter().position(|&b| b == b'\n').context("git cat-file: output cut short")?;
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let size: usize = match header.split(' ').collect::<Vec<_>>()[..] {
            [oid, "blob", size] if oid == blob => size.parse().with_context(|| format!("git cat-file: `{header}`"))?,
            _ => anyhow::bail!("git cat-file: expected blob {blob}, got `{header}`"),
        };
        let body = rest.get(end + 1..end + 1 + size).context("git cat-file: output cut short")?;
        texts.push((Some(commit), String::from_utf8_lossy(body).into_owned()));
        rest = rest.get(end + 2 + size..).unwrap_or_default();
    }
    Ok(texts)
}

/// Appends `line` and a newline to `path` in one write, under an exclusive lock, on a file
/// opened for appending; a last line left without its newline by a crash is ended first, so
/// it cannot swallow this one.
pub(super) fn append_line(path: &Path, line: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create folder {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    f.lock().with_context(|| format!("lock {}", path.display()))?;
    let mut bytes = Vec::with_capacity(line.len() + 2);
    if f.metadata().with_context(|| format!("stat {}", path.display()))?.len() > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::End(-1))
            .and_then(|_| f.read_exact(&mut last))
            .with_context(|| format!("read {}", path.display()))?;
        if last[0] != b'\n' {
            bytes.push(b'\n');
        }
    }
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    f.write_all(&bytes).with_context(|| format!("append to {}", path.display()))?;
    f.sync_data().with_context(|| format!("sync {}", path.display()))?;
    // Closing the file releases the lock.
    Ok(())
}

/// The text of `path` read under a shared lock (empty when the file does not exist).
pub(super) fn read_locked(path: &Path) -> anyhow::Result<String> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    f.lock_shared().with_context(|| format!("lock {}", path.display()))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).with_context(|| format!("read {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The last `limit` first-parent commits of HEAD in `repo`, oldest first.
pub fn first_parent_commits(repo: &Path, limit: u32) -> anyhow::Result<Vec<String>> {
    let mut cmd = git(repo);
    cmd.args(["rev-list", "--first-parent", "--max-count", &limit.to_string(), "HEAD"]);
    let out = cmd.output().context("run git rev-list (is git installed?)")?;
    anyhow::ensure!(
        out.status.success(),
        "{} is not a git repository with commits (git rev-list HEAD: {}); the history is kept per commit",
        repo.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let mut commits: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    commits.reverse();
    Ok(commits)
}
