//! Fuzzes the slack importer(s): any bytes must give events, skip records or errors, never a panic.
//! The importers read files (they stream), so each input is written to a per-process temp file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secondstory_import::{Format, ImportOptions, read_events};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("secondstory-fuzz-slack-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let options = ImportOptions {
        tz: jiff::tz::TimeZone::get("Europe/Berlin").ok(),
        date: "2024-03-30".parse().ok(),
        skip_invalid: true,
        ..ImportOptions::default()
    };
    for format in [Format::SlackExport] {
        if let Ok(stream) = read_events(&path, format, &options) {
            stream.take(100_000).for_each(drop);
        }
    }
    let _ = secondstory_import::detect_format(&path);
});
