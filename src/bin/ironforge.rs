//! The `ironforge` command line.
fn main() {
    eprintln!("ironforge: no commands yet");
    std::process::exit(2);
}
