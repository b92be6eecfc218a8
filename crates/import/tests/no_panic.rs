//! Whatever bytes a file holds, no importer panics: it yields events, skip records or errors.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failing is the test failing"
)]

use jiff::tz::TimeZone;
use proptest::prelude::*;
use secondstory_import::{Format, ImportOptions, detect_format, read_events};

fn options() -> ImportOptions {
    ImportOptions {
        tz: Some(TimeZone::get("Europe/Berlin").expect("bundled tzdb")),
        date: Some("2024-03-30".parse().expect("a date")),
        skip_invalid: true,
        ..ImportOptions::default()
    }
}

/// Bytes biased towards each format's syntax so the parsers get past their first check.
fn inputs() -> impl Strategy<Value = Vec<u8>> {
    let fragments = prop::sample::select(vec![
        "[",
        "]",
        "{",
        "}",
        "\"ts\":",
        "\"1711842185.118230\"",
        "\"user\":\"U1\"",
        ",",
        ":",
        "\"alerts\":",
        "\"version\":\"4\"",
        "\"startsAt\":\"2024-03-30T23:42:04Z\"",
        "\"status\":\"firing\"",
        "\"log_entries\":",
        "\"created_at\":",
        "\"event\":",
        "<@U1>",
        "&amp;",
        "\n",
        "\t",
        "\r\n",
        "23:58 ",
        "<@nick> ",
        "[22:31:40] ",
        "--- Day changed Sun Mar 31 2024",
        "2024-03-31 02:30:00\t",
        "Mar 30 20:25:10 ",
        "*** Joins: ",
        " * ",
        "commit ",
        "\u{1e}",
        "\u{1f}",
        "Date:   Sun Mar 31 09:12:40 2024 +0200",
        "INSERT INTO `postmortems` (`id`) VALUES (",
        "'",
        "\\",
        "\u{feff}",
        "\0",
        "\u{ff}",
        "ü",
        "time,text\n",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        prop::collection::vec(fragments, 0..40).prop_map(|parts| parts.concat().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_importer_panics_on_arbitrary_bytes(bytes in inputs()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2024-03-30.log");
        std::fs::write(&path, &bytes).unwrap();
        let _ = detect_format(&path);
        for format in Format::ALL {
            if let Ok(stream) = read_events(&path, format, &options()) {
                for item in stream.take(10_000) {
                    let _ = item;
                }
            }
        }
    }
}
