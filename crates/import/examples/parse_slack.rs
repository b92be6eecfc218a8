//! Parses a Slack export (directory or ZIP) and prints how many messages per second the importer
//! reads: the figure `bench/import.sh` records. Peak memory is measured around it with
//! `/usr/bin/time -v`.
//!
//! Usage: `cargo run --release -p secondstory-import --example parse_slack -- <export>`

use std::path::PathBuf;
use std::time::Instant;

use secondstory_import::{ImportOptions, import_slack_export};

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: parse_slack <slack export directory or zip>");
        return std::process::ExitCode::from(2);
    };
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let stream = match import_slack_export(&path, &options) {
        Ok(stream) => stream,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let summary = stream.summary();
    let (mut events, mut errors, mut text_bytes) = (0u64, 0u64, 0u64);
    for item in stream {
        match item {
            Ok(event) => {
                events += 1;
                text_bytes += event.text.len() as u64;
            }
            Err(_) => errors += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} channels, {} day files: {events} events, {errors} bad records, {text_bytes} text bytes in {seconds:.2} s = {:.0} messages/s",
        summary.channels.len(),
        summary.day_files,
        (events + errors) as f64 / seconds
    );
    std::process::ExitCode::SUCCESS
}
