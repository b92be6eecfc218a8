//! Whatever a file holds, reading it never panics: it parses or it says what is wrong.

use proptest::prelude::*;
use secondstory_domain::{FactorTaxonomy, SeverityScale};
use secondstory_review::{ParseContext, parse_json, parse_markdown, plain_text, render_html};

fn context<'a>(s: &'a SeverityScale, t: &'a FactorTaxonomy) -> ParseContext<'a> {
    ParseContext {
        severities: s,
        taxonomy: t,
        now: "2026-11-25T12:00:00Z".parse().expect("fixed time"),
    }
}

/// Front matter keys and values of the right shape, shuffled into wrong combinations.
fn front_matter_like() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "id",
        "title",
        "severity",
        "status",
        "review",
        "created",
        "times",
        "impact_started",
        "resolved",
        "timeline",
        "at",
        "ref",
        "actions",
        "number",
        "due",
        "factors",
        "  - ",
    ]);
    let value = prop::sample::select(vec![
        "INC-1",
        "SEV2",
        "active",
        "2024-03-31T00:00:00Z",
        "2024-03-31",
        "[",
        "{",
        "- x",
        "\"",
        "null",
        "~",
        "|",
        "99999999999999999999",
        "2024-02-30T25:61:00+99:00",
    ]);
    prop::collection::vec((key, value, 0usize..4), 0..30).prop_map(|lines| {
        let mut text = String::from("---\n");
        for (k, v, indent) in lines {
            text.push_str(&" ".repeat(indent * 2));
            text.push_str(&format!("{k}: {v}\n"));
        }
        text.push_str("---\nbody\n");
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        let _ = parse_markdown(&text, &context(&s, &t));
        let _ = parse_markdown(&format!("---\n{text}\n---\n"), &context(&s, &t));
        let _ = parse_json(&text, &context(&s, &t));
        let _ = render_html(&text);
        let _ = plain_text(&text);
    }

    #[test]
    fn front_matter_shaped_input_never_panics(text in front_matter_like()) {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        if let Err(e) = parse_markdown(&text, &context(&s, &t)) {
            prop_assert!(!e.message.is_empty());
        }
    }
}
