//! The `ironforge` command line (see `ironforge --help`).
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ironforge::cli::Cli::parse();
    match ironforge::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ironforge: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
