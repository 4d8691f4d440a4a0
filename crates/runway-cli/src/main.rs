//! `runway`: a thin command line over runway-components. Arguments are parsed here,
//! layers are assembled in `cmd::layers`, and every verb returns its output as text so
//! that nothing reaches standard output before the whole render has succeeded.

mod args;
mod cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// Exit status for bad input: usage errors, invalid layers, failed validation (kubectl's 1).
const EXIT_BAD_INPUT: u8 = 1;
/// Exit status for a bug in runway (a panic): 2, so scripts can tell it from bad input.
/// `runway diff` keeps kubectl diff's contract instead: 1 means "changes", so its usage
/// errors exit 2 as its other failures do.
const EXIT_INTERNAL: u8 = 2;

fn main() -> ExitCode {
    // A panic is a bug: say so once, on stderr, and exit 2 (not Rust's 101).
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error: {info}\n  = note: this is a bug in runway; please report it with the command you ran"
        );
    }));
    let matches = match args::Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(&e),
    };
    let cli = match args::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd::run(cli, &matches))) {
        Ok(Ok(out)) => write_stdout(out.stdout.as_bytes(), out.code),
        Ok(Err(f)) => {
            let _ = std::io::stderr().write_all(f.message.as_bytes());
            ExitCode::from(f.code)
        }
        Err(_) => ExitCode::from(EXIT_INTERNAL),
    }
}

/// Prints a clap error (or `--help`/`--version`, which succeed) and picks the exit code:
/// bad input is 1 as in kubectl, except for `runway diff`, where 1 means "changes".
fn usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if !e.use_stderr() {
        return ExitCode::SUCCESS;
    }
    // The verb is the first argument that is not a flag; clap could not tell us.
    let verb = std::env::args_os().skip(1).find(|a| !a.to_string_lossy().starts_with('-'));
    if verb.is_some_and(|v| v == "diff") {
        ExitCode::from(EXIT_INTERNAL)
    } else {
        ExitCode::from(EXIT_BAD_INPUT)
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
