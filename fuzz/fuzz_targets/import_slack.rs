//! Fuzzes the slack importer(s): any bytes must give events, skip records or errors, never a panic.
//! The importers read files (they stream), so each input is written to a per-process temp file.
//! Each input is also read as a day file by the fast reader and by serde alone, which must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secondstory_import::{Format, ImportOptions, read_events};

fuzz_target!(|data: &[u8]| {
    secondstory_import::check_day_file_readers_agree(data, None);
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
