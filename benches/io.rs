//! Write and read throughput of the multi-session layout (and the shard layout) for ZSTD levels
//! 1, 3, 9, uncompressed, and two row-group sizes; pyarrow reading the same files when available.
//!
//! Run: `cargo bench --bench io` (optional arg: number of rounds, default 5). Configurations are
//! interleaved round by round; medians are reported. Speed is never asserted.

use ironforge::gate::stats::median;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ironforge::io::{read_multi, read_sessions, write_multi, write_shard, WriterSettings};
use ironforge::session::Session;
use ironforge::synth::{canary_specs, generate};

struct Config {
    name: String,
    settings: WriterSettings,
    path: PathBuf,
    write_s: Vec<f64>,
    read_s: Vec<f64>,
    pyarrow_s: Vec<f64>,
    bytes: u64,
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        total += if p.is_dir() { dir_bytes(&p) } else { std::fs::metadata(&p).unwrap().len() };
    }
    total
}

const PYARROW_TIMER: &str = r#"
import sys, time, pyarrow.parquet as pq
path, reps = sys.argv[1], int(sys.argv[2])
best = []
for _ in range(reps):
    t0 = time.perf_counter(); tbl = pq.read_table(path); best.append(time.perf_counter() - t0)
best.sort(); print(best[len(best) // 2], tbl.num_rows)
"#;

fn pyarrow_read_s(path: &Path) -> Option<f64> {
    let out = Command::new("python3").arg("-c").arg(PYARROW_TIMER).arg(path).arg("3").output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()?.split_whitespace().next()?.parse().ok()
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let sessions: Vec<Session> = canary_specs().iter().map(generate).collect();
    let events: usize = sessions.iter().map(Session::len).sum();
    let edges: usize = sessions.iter().map(|s| s.edges().len()).sum();
    let tmp = std::env::temp_dir().join(format!("ironforge_bench_io_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let pyarrow = Command::new("python3").args(["-c", "import pyarrow"]).status().is_ok_and(|s| s.success());

    let mut configs = Vec::new();
    for rows in [10_000usize, 100_000] {
        let mut add = |name: String, settings: WriterSettings| {
            let path = tmp.join(format!("{}.parquet", name.replace([' ', ','], "_")));
            configs.push(Config { name, settings, path, write_s: vec![], read_s: vec![], pyarrow_s: vec![], bytes: 0 });
        };
        add(format!("none, rg {rows}"), WriterSettings { compress: false, row_group_rows: rows, ..Default::default() });
        for level in [1, 3, 9] {
            add(
                format!("zstd {level}, rg {rows}"),
                WriterSettings { zstd_level: level, row_group_rows: rows, ..Default::default() },
            );
        }
    }
    let shard_root = tmp.join("shards");
    let (mut shard_write, mut shard_read) = (Vec::new(), Vec::new());

    for _ in 0..rounds {
        for c in &mut configs {
            let t0 = Instant::now();
            write_multi(&c.path, &sessions, &c.settings).unwrap();
            c.write_s.push(t0.elapsed().as_secs_f64());
            c.bytes = std::fs::metadata(&c.path).unwrap().len();
            let t0 = Instant::now();
            let back = read_multi(&c.path).unwrap();
            c.read_s.push(t0.elapsed().as_secs_f64());
            assert_eq!(back.len(), sessions.len());
            if pyarrow {
                if let Some(s) = pyarrow_read_s(&c.path) {
                    c.pyarrow_s.push(s);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&shard_root);
        let t0 = Instant::now();
        for s in &sessions {
            write_shard(s, &shard_root.join(s.id()), &WriterSettings::default()).unwrap();
        }
        shard_write.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        assert_eq!(read_sessions(&shard_root).unwrap().len(), sessions.len());
        shard_read.push(t0.elapsed().as_secs_f64());
    }

    println!(
        "{} sessions ({} events, {} edges = {} rows), {} rounds, medians",
        sessions.len(),
        events,
        edges,
        events + edges,
        rounds
    );
    println!("MB/s = file MB / time; data MB/s = uncompressed-file MB (same row groups) / time");
    println!("| layout / codec, row group | file MB | write sess/s | write MB/s | write data MB/s | read sess/s | read MB/s | read data MB/s | pyarrow read ms | ironforge read ms | pyarrow / ironforge |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let n = sessions.len() as f64;
    for (i, c) in configs.iter().enumerate() {
        let mb = c.bytes as f64 / 1e6;
        let data_mb = configs[i / 4 * 4].bytes as f64 / 1e6;
        let (w, r) = (median(&c.write_s), median(&c.read_s));
        let py = median(&c.pyarrow_s);
        println!(
            "| multi {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} |",
            c.name,
            mb,
            n / w,
            mb / w,
            data_mb / w,
            n / r,
            mb / r,
            data_mb / r,
            py * 1e3,
            r * 1e3,
            py / r
        );
    }
    let mb = dir_bytes(&shard_root) as f64 / 1e6;
    let (w, r) = (median(&shard_write), median(&shard_read));
    println!(
        "| shards zstd 3 (4 files/session) | {mb:.2} | {:.0} | {:.1} | – | {:.0} | {:.1} | – | – | {:.1} | – |",
        n / w,
        mb / w,
        n / r,
        mb / r,
        r * 1e3
    );
    for (i, c) in configs.iter().enumerate() {
        let base = &configs[i / 4 * 4];
        println!(
            "{}: read {:.2}x, write {:.2}x the speed of uncompressed with the same row groups",
            c.name,
            median(&base.read_s) / median(&c.read_s),
            median(&base.write_s) / median(&c.write_s)
        );
    }
    std::fs::remove_dir_all(&tmp).ok();
}
