//! The `ironforge` command line (see `ironforge --help`).
//!
//! Exit codes: 0 success, 1 error, 2 usage error (clap), 130 interrupted by Ctrl-C.
use clap::Parser;

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> std::process::ExitCode {
    install_signal_handlers();
    // A panic arrow-rs raises on a corrupt file is caught and reported as an error; keep it
    // from printing a panic message too.
    ironforge::io::quiet_decoder_panics();
    let cli = ironforge::cli::Cli::parse();
    match ironforge::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ironforge: error: {}", ironforge::cli::errors::render(&e));
            if ironforge::cli::progress::interrupted() {
                eprintln!("ironforge: interrupted by Ctrl-C; no output was written");
                std::process::ExitCode::from(EXIT_INTERRUPTED)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// SIGINT (Ctrl-C) only sets a flag, which the long loops check (the first Ctrl-C stops the run
/// cleanly, dropping its temporary files; a second one kills it at once). SIGXFSZ is ignored,
/// so that a write past the file-size limit (`ulimit -f`, also how the tests simulate a full
/// disk) fails with `EFBIG` as an ordinary write error instead of killing the process mid-file.
#[cfg(target_os = "linux")]
fn install_signal_handlers() {
    extern "C" fn on_sigint(_: libc::c_int) {
        ironforge::cli::progress::request_interrupt();
    }
    // SAFETY: `signal(SIGXFSZ, SIG_IGN)` changes a disposition and touches no memory of ours.
    // The `sigaction` calls get pointers to a zero-initialised `sigaction` struct (a valid
    // value of that C type) and to `old`, both alive for the calls. `on_sigint` is
    // async-signal-safe: it performs one lock-free atomic store. `SA_RESETHAND` restores the
    // default action once it has run, so a second Ctrl-C terminates the process. A SIGINT
    // already ignored (a background job started with `nohup` or `&` by a non-interactive
    // shell) stays ignored.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN {
            return;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

/// Elsewhere SIGINT keeps its default action (the run stops at once; a temporary file may be
/// left beside the output, never a partial output under its name).
#[cfg(not(target_os = "linux"))]
fn install_signal_handlers() {}
