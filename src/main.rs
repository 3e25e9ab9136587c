//! The relarc command line. Without a subcommand it opens the desktop app (once it exists);
//! every subcommand is a thin layer over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Die quietly when a pipe closes (`relarc schema x.json | head`), as command-line tools do.
    // SAFETY: restoring the default action of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    let result = cli::run(args);
    if std::env::var_os("RELARC_REPORT_PEAK_MEMORY").is_some() {
        // For `relarc bench`, which cannot see a child's own peak from outside (a forked
        // child starts with the parent's memory counted).
        if let Some(peak) = relarc::bench::peak_rss() {
            eprintln!("relarc-peak-memory-bytes: {peak}");
        }
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&*e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(1)
        }
    }
}
