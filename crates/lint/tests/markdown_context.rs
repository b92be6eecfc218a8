//! The coach reads only the author's prose, knows whose words they are, and reports positions an
//! editor can use.

use secondstory_lint::{Category, LintOptions, Linter, QuotedPolicy, Severity, lint};

fn rule_ids(text: &str) -> Vec<String> {
    lint(text)
        .into_iter()
        .map(|finding| finding.rule_id)
        .collect()
}

#[test]
fn code_blocks_inline_code_front_matter_and_urls_are_never_reported() {
    let doc = "---\ntitle: The engineer forgot\n---\n\n\
               ```text\nthe root cause was obviously human error\n```\n\n\
               \x20\x20\x20\x20indented: the engineer forgot to check\n\n\
               The step `just restart` and [a link](https://x.test/obviously-simply) and \
               <https://x.test/simply> and https://example.com/the-root-cause-was here.\n\n\
               <div>The engineer forgot.</div>\n\n<!-- obviously a comment -->\n";
    assert_eq!(rule_ids(doc), Vec::<String>::new());
}

#[test]
fn link_text_is_prose_even_though_its_url_is_not() {
    assert_eq!(
        rule_ids("See [obviously wrong](https://x.test/)."),
        vec!["judgmental-obviously"]
    );
}

#[test]
fn blockquotes_and_quoted_speech_are_reported_one_step_lower_by_default() {
    let findings = lint("> The engineer forgot to drain the node.\n\nSam said \"I forgot\" later.");
    assert_eq!(findings.len(), 2);
    assert!(
        findings
            .iter()
            .all(|f| f.quoted && f.severity == Severity::Info)
    );
}

#[test]
fn quoted_words_can_be_switched_off_or_treated_normally() {
    let text = "Sam wrote \"we should have rolled back\" in the channel.";
    let off = Linter::new(LintOptions {
        quoted: QuotedPolicy::Off,
        ..Default::default()
    })
    .expect("options");
    assert!(off.lint(text).is_empty());
    let normal = Linter::new(LintOptions {
        quoted: QuotedPolicy::Normal,
        ..Default::default()
    })
    .expect("options");
    assert_eq!(normal.lint(text)[0].severity, Severity::Warning);
}

#[test]
fn punitive_wording_is_an_error_inside_an_action_items_section_only() {
    let doc = "## Summary\n\nEngineers need to be more careful.\n\n## Action items\n\n\
               - Engineers need to be more careful.\n\n### Owners\n\n- Remind everyone.\n\n\
               ## Appendix\n\nEngineers need to be more careful.\n";
    let severities: Vec<Severity> = lint(doc).iter().map(|f| f.severity).collect();
    assert_eq!(
        severities,
        vec![
            Severity::Warning,
            Severity::Error,
            Severity::Error,
            Severity::Warning
        ]
    );
}

#[test]
fn participants_from_front_matter_count_as_people() {
    let with = "---\nparticipants:\n  - name: Zebulon Quist\n    role: IC\n---\n\nZebulon broke the build.\n";
    assert_eq!(rule_ids(with), vec!["blame-person-caused"]);
    let without = "Zebulon broke the build.";
    assert!(rule_ids(without).is_empty());
    let inline = "---\nparticipants: [Quist, \"Zebulon\"]\n---\nQuist caused the outage.\n";
    assert_eq!(rule_ids(inline), vec!["blame-person-caused"]);
}

#[test]
fn participants_from_options_count_as_people() {
    let linter = Linter::new(LintOptions {
        participants: vec!["Zebulon Quist".into()],
        ..Default::default()
    })
    .expect("options");
    assert_eq!(linter.lint("Zebulon broke the build.").len(), 1);
}

#[test]
fn system_subjects_with_failure_verbs_are_ordinary_vocabulary() {
    for text in [
        "The health check failed.",
        "Kubernetes failed to schedule the pods.",
        "The alert was missed by the filter.",
        "The database failed over to the replica.",
        "We rolled back the change.",
        "The deploy failed.",
    ] {
        assert!(rule_ids(text).is_empty(), "{text}");
    }
}

#[test]
fn any_capitalised_name_with_a_person_only_verb_is_a_person() {
    assert_eq!(
        rule_ids("Thaddeus forgot to renew the domain."),
        vec!["blame-person-omission"]
    );
    assert!(rule_ids("Thaddeus failed to renew the domain.").is_empty());
}

#[test]
fn self_blame_gets_a_gentler_message() {
    let own = lint("I should have known.");
    let other = lint("They should have known.");
    assert_eq!(own[0].rule_id, other[0].rule_id);
    assert_ne!(own[0].message, other[0].message);
}

#[test]
fn positions_are_one_based_with_utf8_and_utf16_columns() {
    let text = "Intro line.\n\n“Naïve” 😀 — obviously so.\n";
    let finding = &lint(text)[0];
    assert_eq!(finding.matched, "obviously");
    assert_eq!(finding.start.line, 3);
    let line_start = text.find('“').expect("line");
    assert_eq!(finding.start.column, finding.span.start - line_start + 1);
    let utf16 = text[line_start..finding.span.start].encode_utf16().count() + 1;
    assert_eq!(finding.start.column_utf16, utf16);
    assert_eq!(finding.end.column_utf16, utf16 + "obviously".len());
    assert_eq!(&text[finding.span.range()], "obviously");
}

#[test]
fn emphasis_inside_a_phrase_does_not_hide_it() {
    let text = "We **should** have *caught* it.";
    let finding = &lint(text)[0];
    assert_eq!(finding.category, Category::Counterfactual);
    assert_eq!(finding.matched, "should** have *caught");
}

#[test]
fn safe_fixes_delete_minimisers_and_reframe_root_cause() {
    let simply = &lint("The fix was simply a restart.")[0];
    let fix = simply.fix.as_ref().expect("fix");
    assert_eq!(fix.replacement, "");
    assert_eq!(fix.span, simply.span);
    let root = lint("The root cause was a full disk.");
    let fix = root[0].fix.as_ref().expect("fix");
    assert_eq!(fix.replacement, "Contributing factors included");
    assert!(lint("The engineer forgot.")[0].fix.is_none());
}

#[test]
fn disable_and_enable_comments_suppress_a_region() {
    let doc = "<!-- secondstory-disable judgmental-obviously -->\n\nObviously wrong. Simply wrong.\n\n\
               <!-- secondstory-enable -->\n\nObviously wrong.\n";
    assert_eq!(
        rule_ids(doc),
        vec!["minimising-simply", "judgmental-obviously"]
    );
    let all = "<!-- secondstory-disable -->\n\nObviously. Simply.\n\n<!-- secondstory-enable -->\n\nSimply.\n";
    assert_eq!(rule_ids(all), vec!["minimising-simply"]);
}

#[test]
fn disable_next_line_suppresses_only_the_next_line() {
    let doc = "<!-- secondstory-disable-next-line -->\nObviously wrong.\nObviously wrong.\n";
    assert_eq!(lint(doc).len(), 1);
    assert_eq!(lint(doc)[0].start.line, 3);
    let inline =
        "Text <!-- secondstory-disable-next-line minimising-simply -->\nSimply. Obviously.\n";
    assert_eq!(rule_ids(inline), vec!["judgmental-obviously"]);
}

#[test]
fn passive_voice_is_not_flagged() {
    assert!(rule_ids("The config was pushed to every region by the pipeline.").is_empty());
}

#[test]
fn words_separated_by_no_break_and_other_unicode_spaces_still_match_with_exact_spans() {
    // A no-break space (2 bytes) and an em space (3 bytes) between the words of a phrase.
    let doc = "Later the engineer\u{a0}forgot to drain the node; Łukasz\u{2003}caused the outage.";
    let findings = lint(doc);
    let matched: Vec<&str> = findings.iter().map(|f| f.matched.as_str()).collect();
    assert!(
        matched
            .iter()
            .any(|m| m.starts_with("the engineer\u{a0}forgot")),
        "{matched:?}"
    );
    assert!(
        matched
            .iter()
            .any(|m| m.starts_with("Łukasz\u{2003}caused")),
        "{matched:?}"
    );
    for finding in &findings {
        assert_eq!(&doc[finding.span.start..finding.span.end], finding.matched);
    }
}

#[test]
fn a_lower_case_or_mixed_case_word_is_not_taken_for_a_name() {
    assert_eq!(rule_ids("łukasz caused the outage."), Vec::<String>::new());
    assert_eq!(rule_ids("ŁUKASZ caused the outage."), Vec::<String>::new());
    assert_eq!(
        rule_ids("Łukasz caused the outage."),
        vec!["blame-person-caused"]
    );
}

#[test]
fn a_term_in_single_quotes_is_someone_elses_words_but_apostrophes_quote_nothing() {
    let findings = lint("The 'operator error' log category is being renamed.");
    assert!(findings.iter().all(|f| f.quoted), "{findings:?}");
    // Possessive and contracted apostrophes do not open a quotation.
    let findings =
        lint("The engineers' laptops were fine, but the engineer forgot to drain the node.");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(!findings[0].quoted);
    let findings = lint("We didn't page anyone; the on-call's mistake took down the API.");
    assert!(findings.iter().any(|f| !f.quoted), "{findings:?}");
}

#[test]
fn a_refused_match_does_not_hide_a_good_one_that_starts_inside_it() {
    // "My …" looks like a name to the pattern and is refused; "Ahmed …" inside it is the subject.
    assert_eq!(
        rule_ids(
            "My understanding is that Ahmed had been told about the disk warning on Friday \
             but did not act on it before going off for the weekend."
        ),
        vec!["blame-person-omission"]
    );
}
