//! `runway`: a thin command line over runway-components. Arguments are parsed here,
//! layers are assembled in `cmd::layers`, and every verb returns its output as text so
//! that nothing reaches standard output before the whole render has succeeded.

mod args;
mod cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let matches = args::Cli::command().get_matches();
    let cli = match args::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cmd::run(cli, &matches) {
        Ok(out) => write_stdout(out.stdout.as_bytes(), out.code),
        Err(f) => {
            let _ = std::io::stderr().write_all(f.message.as_bytes());
            ExitCode::from(f.code)
        }
    }
}

/// Writes the output and exits with `code` (`runway diff` exits 1 when it shows changes);
/// a closed pipe (`runway render | head`) is not an error.
fn write_stdout(bytes: &[u8], code: u8) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(code),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write output: {e}");
            ExitCode::FAILURE
        }
    }
}

// A short-lived process that builds ~1 MB of JSON trees: mimalloc's page reuse and cheaper
// small allocations take about a quarter off a full render (README, "Performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
