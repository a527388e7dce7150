//! Outputs are written whole or not at all: `convert`, `embed`, `attend` and `motifs --table`,
//! run as the built binary, on bad input, onto their own input, on a full disk (simulated with
//! `ulimit -f`) and under Ctrl-C. A failure must leave no output (no stub), an earlier output
//! byte for byte, and no temporary file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ironforge::io::{read_sessions, write_multi, write_shard, WriterSettings};
use ironforge::synth::{generate, SessionSpec};

const BIN: &str = env!("CARGO_BIN_EXE_ironforge");

fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs the binary with a file-size limit of one block (`ulimit -f 1`): every write past it
/// fails with `EFBIG`, as on a full disk.
fn run_on_full_disk<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new("sh").arg("-c").arg(r#"ulimit -f 1 && exec "$0" "$@""#).arg(BIN).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts an error exit (1, not a panic's 101 nor a signal) and returns stderr.
fn assert_error_exit(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    err
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden").join(name)
}

/// The names in `dir`, sorted (a temporary file left behind would show here).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Every file under `root` with its bytes, by relative path.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A folder of three shard folders `a`, `b`, `c`; `b`'s edges file is corrupt when `bad_middle`.
fn three_shards(root: &Path, bad_middle: bool) -> PathBuf {
    let input = root.join("in");
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        write_shard(&generate(&SessionSpec::new(*id, i as u64, 30)), &input.join(id), &WriterSettings::default())
            .unwrap();
    }
    if bad_middle {
        std::fs::write(input.join("b").join("edges.parquet"), b"PAR1 not really").unwrap();
    }
    input
}

// ---- convert ----

#[test]
fn convert_of_a_bad_input_leaves_no_output_and_no_stub() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.parquet");
    std::fs::write(&bad, b"PAR1 truncated").unwrap();
    for out in ["out.parquet", "out"] {
        let err = assert_error_exit(&run(&[OsStr::new("convert"), bad.as_os_str(), tmp.path().join(out).as_os_str()]));
        assert!(err.contains("bad.parquet"), "{err}");
        assert_eq!(names(tmp.path()), ["bad.parquet"], "convert to {out} left something");
    }
}

#[test]
fn convert_failure_keeps_an_existing_output_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let input = three_shards(tmp.path(), true);
    let out = tmp.path().join("out.parquet");
    std::fs::write(&out, b"previous output").unwrap();
    let err = assert_error_exit(&run(&[OsStr::new("convert"), input.as_os_str(), out.as_os_str()]));
    assert!(err.contains("edges.parquet"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous output");
    assert_eq!(names(tmp.path()), ["in", "out.parquet"]);
}

#[test]
fn convert_onto_its_own_input_is_refused_and_the_input_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.parquet");
    write_multi(&m, [&generate(&SessionSpec::new("s", 1, 40))], &WriterSettings::default()).unwrap();
    let before = std::fs::read(&m).unwrap();
    let err = assert_error_exit(&run(&[OsStr::new("convert"), m.as_os_str(), m.as_os_str()]));
    assert!(err.contains("is the input"), "{err}");
    assert_eq!(std::fs::read(&m).unwrap(), before);

    // The same file under another spelling, and an output inside an input folder.
    let dotted = tmp.path().join(".").join("m.parquet");
    assert!(
        assert_error_exit(&run(&[OsStr::new("convert"), m.as_os_str(), dotted.as_os_str()])).contains("is the input")
    );
    let input = three_shards(tmp.path(), false);
    let inside = input.join("all.parquet");
    let err = assert_error_exit(&run(&[OsStr::new("convert"), input.as_os_str(), inside.as_os_str()]));
    assert!(err.contains("inside the input folder"), "{err}");
    assert!(!inside.exists());
    // A folder output holding the input would replace it.
    let err = assert_error_exit(&run(&[OsStr::new("convert"), input.join("a").as_os_str(), input.as_os_str()]));
    assert!(err.contains("holds the input"), "{err}");
    assert_eq!(names(&input), ["a", "b", "c"]);
    assert_eq!(std::fs::read(&m).unwrap(), before);
}

#[test]
fn convert_to_a_folder_with_a_bad_session_in_the_middle_writes_no_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let input = three_shards(tmp.path(), true);
    let out = tmp.path().join("out");
    let err = assert_error_exit(&run(&[OsStr::new("convert"), input.as_os_str(), out.as_os_str()]));
    assert!(err.contains("edges.parquet"), "{err}");
    assert_eq!(names(tmp.path()), ["in"], "no output folder, no staged folder");

    // An earlier output is kept as it was.
    let good = three_shards(&tmp.path().join("good"), false);
    assert!(run(&[OsStr::new("convert"), good.as_os_str(), out.as_os_str()]).status.success());
    let before = tree(&out);
    assert_eq!(names(&out), ["a", "b", "c"]);
    assert_error_exit(&run(&[OsStr::new("convert"), input.as_os_str(), out.as_os_str()]));
    assert_eq!(tree(&out), before);
    assert_eq!(names(tmp.path()), ["good", "in", "out"]);
}

#[test]
fn convert_replaces_its_own_earlier_output_but_not_a_folder_of_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let input = three_shards(tmp.path(), false);
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let err = assert_error_exit(&run(&[OsStr::new("convert"), input.as_os_str(), out.as_os_str()]));
    assert!(err.contains("notes.txt") && err.contains("not replacing"), "{err}");
    assert_eq!(names(&out), ["notes.txt"]);

    std::fs::remove_file(out.join("notes.txt")).unwrap();
    let one = tmp.path().join("one");
    write_shard(&generate(&SessionSpec::new("z", 9, 20)), &one.join("z"), &WriterSettings::default()).unwrap();
    assert!(run(&[OsStr::new("convert"), one.as_os_str(), out.as_os_str()]).status.success());
    assert_eq!(names(&out), ["z"]);
    assert!(run(&[OsStr::new("convert"), input.as_os_str(), out.as_os_str()]).status.success());
    assert_eq!(names(&out), ["a", "b", "c"], "the earlier output is replaced whole");
    assert_eq!(read_sessions(&out).unwrap(), read_sessions(&input).unwrap());
    assert_eq!(names(tmp.path()), ["in", "one", "out"]);
}

#[test]
fn duplicate_session_ids_across_shard_folders_are_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let s = generate(&SessionSpec::new("dup", 3, 25));
    write_shard(&s, &input.join("first"), &WriterSettings::default()).unwrap();
    write_shard(&s, &input.join("second"), &WriterSettings::default()).unwrap();
    for out in ["out", "out.parquet"] {
        let err =
            assert_error_exit(&run(&[OsStr::new("convert"), input.as_os_str(), tmp.path().join(out).as_os_str()]));
        assert!(err.contains("\"dup\""), "{err}");
        assert!(err.contains(&*input.join("first").to_string_lossy()), "{err}");
        assert!(err.contains(&*input.join("second").to_string_lossy()), "{err}");
        assert_eq!(names(tmp.path()), ["in"]);
    }
    let err = assert_error_exit(&run(&[OsStr::new("inspect"), input.as_os_str()]));
    assert!(err.contains("first") && err.contains("second"), "{err}");
    let err = read_sessions(&input).unwrap_err().to_string();
    assert!(err.contains("first") && err.contains("second"), "{err}");
}

#[test]
fn a_session_id_in_two_runs_of_a_multi_session_file_is_refused_naming_both_rows() {
    use arrow_array::{Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.parquet");
    let sessions: Vec<_> =
        ["a", "b", "c"].iter().enumerate().map(|(i, id)| generate(&SessionSpec::new(*id, i as u64, 20))).collect();
    write_multi(&file, &sessions, &WriterSettings::default()).unwrap();
    // Rename session "c" to "a": the file then holds "a" in two separate runs.
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .with_batch_size(1 << 16)
            .build()
            .unwrap();
    let batch: RecordBatch = reader.map(Result::unwrap).next().unwrap();
    let (idx, _) = batch.schema().column_with_name("session_id").unwrap();
    let ids = batch.column(idx).as_any().downcast_ref::<StringArray>().unwrap();
    let renamed: StringArray = ids.iter().map(|v| v.map(|v| if v == "c" { "a" } else { v })).collect();
    let mut columns = batch.columns().to_vec();
    columns[idx] = Arc::new(renamed);
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let second = sessions[..2].iter().map(|s| s.len() + s.edges().len()).sum::<usize>();
    let out = tmp.path().join("out.parquet");
    let err = assert_error_exit(&run(&[OsStr::new("convert"), file.as_os_str(), out.as_os_str()]));
    assert!(err.contains("\"a\"") && err.contains("rows from 0") && err.contains(&format!("row {second}")), "{err}");
    assert_eq!(names(tmp.path()), ["m.parquet"]);
    let err = read_sessions(&file).unwrap_err().to_string();
    assert!(err.contains(&format!("row {second}")), "{err}");
}

#[test]
fn convert_on_a_full_disk_says_write_names_the_output_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = golden("golden_00_117");
    let file = tmp.path().join("out.parquet");
    let err = assert_error_exit(&run_on_full_disk(&[OsStr::new("convert"), input.as_os_str(), file.as_os_str()]));
    assert!(err.contains(&*file.to_string_lossy()) && err.contains("cannot write"), "{err}");
    assert!(!err.contains("not a readable"), "a write error is worded as a write error: {err}");
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));

    std::fs::write(&file, b"previous").unwrap();
    assert_error_exit(&run_on_full_disk(&[OsStr::new("convert"), input.as_os_str(), file.as_os_str()]));
    assert_eq!(std::fs::read(&file).unwrap(), b"previous");

    let folder = tmp.path().join("shards");
    let err = assert_error_exit(&run_on_full_disk(&[OsStr::new("convert"), input.as_os_str(), folder.as_os_str()]));
    assert!(err.contains(&*folder.to_string_lossy()) && err.contains("cannot write"), "{err}");
    assert_eq!(names(tmp.path()), ["out.parquet"]);
}

// ---- embed ----

#[test]
fn embed_failure_keeps_the_previous_out() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("emb.parquet");
    std::fs::write(&out, b"previous embeddings").unwrap();
    let weights = tmp.path().join("weights.npz");
    std::fs::write(&weights, b"not a zip archive").unwrap();
    let session = golden("golden_05_16");
    let args = |extra: &[&OsStr]| {
        let mut a: Vec<&OsStr> = vec![OsStr::new("embed"), session.as_os_str(), OsStr::new("--out"), out.as_os_str()];
        a.extend_from_slice(extra);
        run(&a)
    };
    let err = assert_error_exit(&args(&[OsStr::new("--weights"), weights.as_os_str()]));
    assert!(err.contains("weights.npz"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous embeddings");

    let bad = tmp.path().join("bad.parquet");
    std::fs::write(&bad, b"PAR1 truncated").unwrap();
    let err = assert_error_exit(&run(&[OsStr::new("embed"), bad.as_os_str(), OsStr::new("--out"), out.as_os_str()]));
    assert!(err.contains("bad.parquet"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous embeddings");
    assert_eq!(names(tmp.path()), ["bad.parquet", "emb.parquet", "weights.npz"]);

    let err = assert_error_exit(&run(&[OsStr::new("embed"), out.as_os_str(), OsStr::new("--out"), out.as_os_str()]));
    assert!(err.contains("is the input"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous embeddings");
}

#[test]
fn embed_on_a_full_disk_keeps_the_previous_out() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("emb.parquet");
    std::fs::write(&out, b"previous embeddings").unwrap();
    let session = golden("golden_00_117");
    let out_arg = out.as_os_str();
    let err = assert_error_exit(&run_on_full_disk(&[
        OsStr::new("embed"),
        session.as_os_str(),
        OsStr::new("--kernel"),
        OsStr::new("math"),
        OsStr::new("--out"),
        out_arg,
    ]));
    assert!(err.contains(&*out.to_string_lossy()) && err.contains("cannot write"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous embeddings");
    assert_eq!(names(tmp.path()), ["emb.parquet"]);
}

// ---- attend ----

/// An attention case `[H, L, D]` large enough to pass the one-block file-size limit.
fn write_case(path: &Path) {
    let a = ndarray::Array3::<f32>::from_shape_fn((2, 64, 16), |(h, l, d)| ((h * 31 + l * 7 + d) % 13) as f32 / 13.0);
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(path).unwrap());
    for name in ["q", "k", "v"] {
        npz.add_array(name, &a).unwrap();
    }
    npz.finish().unwrap();
}

#[test]
fn attend_failures_keep_the_previous_output() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case.npz");
    write_case(&case);
    let out = tmp.path().join("out.npy");
    std::fs::write(&out, b"previous").unwrap();
    let attend = |input: &Path| -> Vec<std::ffi::OsString> {
        ["attend".as_ref(), "--input".as_ref(), input.as_os_str(), "--output".as_ref(), out.as_os_str()]
            .iter()
            .map(|s: &&OsStr| s.to_os_string())
            .collect()
    };

    let bad = tmp.path().join("bad.npz");
    std::fs::write(&bad, b"not an archive").unwrap();
    let err = assert_error_exit(&run(&attend(&bad)));
    assert!(err.contains("bad.npz"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");

    let err = assert_error_exit(&run_on_full_disk(&attend(&case)));
    assert!(err.contains(&*out.to_string_lossy()) && err.contains("cannot write"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    assert_eq!(names(tmp.path()), ["bad.npz", "case.npz", "out.npy"]);

    let ok = run(&attend(&case));
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(std::fs::read(&out).unwrap().get(..6), Some(&b"\x93NUMPY"[..]));

    let err = assert_error_exit(&run(&[
        OsStr::new("attend"),
        OsStr::new("--input"),
        case.as_os_str(),
        OsStr::new("--output"),
        case.as_os_str(),
    ]));
    assert!(err.contains("is the input"), "{err}");
}

// ---- motifs --table ----

fn motifs_args<'a>(sessions: &'a Path, table: &'a Path, iterations: &'a str) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("motifs"),
        sessions.as_os_str(),
        OsStr::new("--iterations"),
        OsStr::new(iterations),
        OsStr::new("--bootstrap"),
        OsStr::new("20"),
        OsStr::new("--table"),
        table.as_os_str(),
    ]
}

#[test]
fn motifs_table_on_a_full_disk_or_bad_input_keeps_the_previous_table() {
    let tmp = tempfile::tempdir().unwrap();
    let table = tmp.path().join("motifs.parquet");
    std::fs::write(&table, b"previous table").unwrap();
    let session = golden("golden_05_16");
    let err = assert_error_exit(&run_on_full_disk(&motifs_args(&session, &table, "5")));
    assert!(err.contains(&*table.to_string_lossy()) && err.contains("cannot write"), "{err}");
    assert_eq!(std::fs::read(&table).unwrap(), b"previous table");
    assert_eq!(names(tmp.path()), ["motifs.parquet"]);

    let bad = tmp.path().join("bad.parquet");
    std::fs::write(&bad, b"PAR1 truncated").unwrap();
    assert_error_exit(&run(&motifs_args(&bad, &table, "5")));
    assert_eq!(std::fs::read(&table).unwrap(), b"previous table");

    let ok = run(&motifs_args(&session, &table, "5"));
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(std::fs::read(&table).unwrap().get(..4), Some(&b"PAR1"[..]));
    assert_eq!(names(tmp.path()), ["bad.parquet", "motifs.parquet"]);
}

// ---- Ctrl-C ----

/// Whether process `pid` catches SIGINT (its `SigCgt` mask in `/proc/<pid>/status`).
#[cfg(target_os = "linux")]
fn catches_sigint(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:")).map(str::trim);
    mask.and_then(|m| u64::from_str_radix(m, 16).ok()).is_some_and(|m| m & (1 << (libc::SIGINT - 1)) != 0)
}

/// A child process killed when the test ends, failed assertions included, so that a failing
/// test leaves no run behind.
#[cfg(target_os = "linux")]
struct KillOnDrop(std::process::Child);

#[cfg(target_os = "linux")]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The exited child's status and output (its pipes read to the end).
#[cfg(target_os = "linux")]
fn wait_with_output(child: &mut std::process::Child) -> Output {
    use std::io::Read;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child.stdout.take().map(|mut p| p.read_to_end(&mut stdout));
    child.stderr.take().map(|mut p| p.read_to_end(&mut stderr));
    Output { status: child.wait().unwrap(), stdout, stderr }
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_stops_motifs_promptly_and_writes_no_table() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let table = tmp.path().join("motifs.parquet");
    let sessions = golden("");
    let mut command = Command::new(BIN);
    command.args(motifs_args(&sessions, &table, "100000"));
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    // The child starts with SIGINT at its default action even when this test runs with SIGINT
    // ignored (under `nohup`, or as a background job of a non-interactive shell), where the
    // binary rightly keeps it ignored and there would be no handler to test.
    // SAFETY: the closure runs in the forked child before `exec` and calls only `signal`,
    // which is async-signal-safe; it touches no memory shared with the parent.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut guard = KillOnDrop(command.spawn().unwrap());
    let child = &mut guard.0;
    // Wait until the child has installed its SIGINT handler (else the signal would kill it
    // outright), then give it a moment to reach the null-model loop.
    let started = Instant::now();
    while !catches_sigint(child.id()) {
        if child.try_wait().unwrap().is_some() {
            let out = wait_with_output(child);
            panic!("the child ended before Ctrl-C ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no SIGINT handler after 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: `kill` sends a signal to the child spawned above (not yet waited for, so its pid
    // cannot have been reused); it touches no memory of ours.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let sent = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(sent.elapsed() < Duration::from_secs(20), "still running 20 s after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = wait_with_output(child);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "stderr: {err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(out.stdout.is_empty(), "no result printed");
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
}
