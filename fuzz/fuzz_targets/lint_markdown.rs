//! Fuzz target: the blameless-language coach must never panic, and its spans must slice the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for finding in secondstory_lint::lint(&text) {
        assert!(finding.span.end <= text.len());
        assert!(
            text.is_char_boundary(finding.span.start) && text.is_char_boundary(finding.span.end)
        );
    }
});
