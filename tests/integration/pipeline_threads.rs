//! The pipeline over many sessions (`Pipeline::process_all`) gives every session the output
//! `Pipeline::process` gives it alone, bit for bit, on 1, 2 or 3 threads.

use std::path::Path;

use ironforge::pipeline::{Pipeline, PipelineConfig, SessionOutput};
use ironforge::session::Session;
use ironforge::synth::{generate, golden_specs};

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

/// Every field with floats printed exactly (`{:?}` of an f32 round-trips and tells -0 from 0).
fn exact(outputs: &[SessionOutput]) -> Vec<String> {
    outputs.iter().map(|o| format!("{o:?}")).collect()
}

fn check(sessions: &[Session]) {
    for config in [PipelineConfig::optimized(Default::default()), PipelineConfig::baseline()] {
        let name = config.name;
        let p = Pipeline::new(7, config);
        let alone: Vec<SessionOutput> = sessions.iter().map(|s| p.process(s).unwrap()).collect();
        for threads in [1, 2, 3] {
            let batch = in_pool(threads, || p.process_all(sessions)).unwrap();
            assert_eq!(exact(&batch), exact(&alone), "{name} pipeline on {threads} threads");
        }
    }
}

#[test]
fn golden_sessions_give_the_same_outputs_on_any_thread_count() {
    let sessions: Vec<Session> = golden_specs().iter().map(generate).collect();
    check(&sessions);
}

#[test]
fn real_sessions_give_the_same_outputs_on_any_thread_count() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nq-m5");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let mut sessions = ironforge::io::read_sessions(&dir).unwrap();
    sessions.truncate(12);
    check(&sessions);
}
