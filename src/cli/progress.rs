//! Progress bars and Ctrl-C for the long subcommands (`motifs`, `embed`, `convert`).
//!
//! [`Bar`] draws an `indicatif` bar on stderr when stderr is a terminal and draws nothing
//! otherwise (stdout, which may carry JSON, is never touched). It is cancelled once Ctrl-C was
//! pressed: the binary's SIGINT handler calls [`request_interrupt`], long loops see
//! [`Progress::cancelled`] and return an "interrupted" error, so every output still being
//! written is dropped with its temporary file ([`crate::atomic`]) and the binary exits 130.
//!
//! ```
//! use ironforge::cli::progress::Bar;
//! use ironforge::progress::Progress;
//! let bar = Bar::new();
//! bar.stage("null model", 10);
//! bar.advance(10);
//! assert!(!bar.cancelled());
//! ```

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Interrupted, Progress};

/// Set by the SIGINT handler.
static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Records that the user asked to stop. Async-signal-safe (one lock-free atomic store), so a
/// signal handler may call it.
///
/// ```no_run
/// ironforge::cli::progress::request_interrupt();
/// assert!(ironforge::cli::progress::interrupted());
/// ```
pub fn request_interrupt() {
    INTERRUPT.store(true, Ordering::SeqCst);
}

/// Whether [`request_interrupt`] was called.
///
/// ```
/// # let _ =
/// ironforge::cli::progress::interrupted();
/// ```
pub fn interrupted() -> bool {
    INTERRUPT.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once Ctrl-C was pressed: called before an output is committed, so that a
/// run interrupted after its last loop still writes nothing.
///
/// ```
/// # if !ironforge::cli::progress::interrupted() {
/// assert!(ironforge::cli::progress::check_interrupt().is_ok());
/// # }
/// ```
pub fn check_interrupt() -> Result<(), Interrupted> {
    if interrupted() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// A progress bar on stderr (hidden unless stderr is a terminal), cancelled by Ctrl-C.
///
/// ```
/// use ironforge::progress::Progress;
/// let bar = ironforge::cli::progress::Bar::new();
/// bar.stage("sessions", 0); // unknown total: a counter
/// bar.advance(3);
/// ```
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar drawn on stderr when it is a terminal, else hidden.
    ///
    /// ```
    /// let _bar = ironforge::cli::progress::Bar::new();
    /// ```
    pub fn new() -> Self {
        let target =
            if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Self { bar: ProgressBar::with_draw_target(None, target) }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        let template = if total == 0 {
            "{msg}: {pos} done [{elapsed_precise}]"
        } else {
            "{msg}: [{bar:30}] {pos}/{len} [{elapsed_precise}, {eta} left]"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_message(name.to_string());
        self.bar.reset_elapsed();
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn cancelled(&self) -> bool {
        interrupted()
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
