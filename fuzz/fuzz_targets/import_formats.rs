//! Fuzzes every file importer but Slack's (which has its own target): the first input byte picks
//! the format, the rest is the file. Any bytes must give events, skip records or errors, never a
//! panic. The importers read files (they stream), so each input goes to a per-process temp file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secondstory_import::{Format, ImportOptions, read_events};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else { return };
    let formats: Vec<Format> = Format::ALL.into_iter().filter(|f| *f != Format::SlackExport).collect();
    let format = formats[usize::from(selector) % formats.len()];
    let path = std::env::temp_dir().join(format!("secondstory-fuzz-{}-{}", format.name(), std::process::id()));
    if std::fs::write(&path, file).is_err() {
        return;
    }
    let options = ImportOptions {
        tz: jiff::tz::TimeZone::get("Europe/Berlin").ok(),
        date: "2024-03-30".parse().ok(),
        skip_invalid: true,
        ..ImportOptions::default()
    };
    if let Ok(stream) = read_events(&path, format, &options) {
        stream.take(100_000).for_each(drop);
    }
    let _ = secondstory_import::detect_format(&path);
});
