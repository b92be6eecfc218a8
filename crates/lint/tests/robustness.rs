//! The coach never panics, whatever it is given, and its spans always slice the input.

use proptest::prelude::*;
use secondstory_lint::lint;

fn check(text: &str) {
    for finding in lint(text) {
        assert!(finding.span.start < finding.span.end && finding.span.end <= text.len());
        assert!(
            text.is_char_boundary(finding.span.start) && text.is_char_boundary(finding.span.end)
        );
        assert_eq!(finding.matched, text[finding.span.range()]);
        assert!(finding.start.line >= 1 && finding.start.column >= 1);
        if let Some(fix) = &finding.fix {
            assert!(fix.span.end <= text.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_read_as_lossy_utf8_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn markdown_shaped_noise_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("---\n"), Just("```\n"), Just("> "), Just("- "), Just("# "), Just("`"), Just("\""),
        Just("“"), Just("”"), Just("<!-- secondstory-disable -->"), Just("<!--"), Just("-->"),
        Just("\n"), Just("\n\n"), Just("    "), Just("|a|b|\n|-|-|\n"), Just("[x](http://y)"),
        Just("&amp;"), Just("\\*"), Just("**"), Just("😀"), Just("é"), Just("\r\n"),
        Just("The engineer forgot "), Just("should have been "), Just("obviously "), Just("Root cause: "),
        Just("just restart "), Just("participants: [Ana]\n"), Just("<div>"), Just("\t"),
    ], 0..60)) {
        check(&parts.concat());
    }
}

#[test]
fn pathological_inputs_do_not_panic() {
    let cases = [
        String::new(),
        "\u{0}".repeat(100),
        "`".repeat(5000),
        "> ".repeat(2000),
        "[".repeat(3000) + &"]".repeat(3000),
        "---\n".repeat(100),
        "\"".repeat(999) + "obviously",
        "*".repeat(4000) + "simply" + &"_".repeat(4000),
        "should have ".repeat(2000),
    ];
    for case in &cases {
        check(case);
    }
}
