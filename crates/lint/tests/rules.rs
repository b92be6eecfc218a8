//! Every rule behaves as its own documentation says, and the rule data is sound.

use secondstory_lint::{Linter, RULES_TOML, RuleBook, lint, pattern_trigger_table, rule_book};

#[test]
fn the_compiled_in_rule_data_loads() {
    RuleBook::from_toml(RULES_TOML).expect("rules.toml loads");
    assert!(rule_book().rules.len() >= 20);
}

#[test]
fn every_rule_fires_on_each_of_its_fires_examples() {
    for rule in &rule_book().rules {
        assert!(!rule.fires.is_empty(), "{} has no firing example", rule.id);
        for example in &rule.fires {
            let findings = lint(example);
            assert!(
                findings.iter().any(|f| f.rule_id == rule.id),
                "{} should fire on {example:?}, got {:?}",
                rule.id,
                findings.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn no_rule_fires_on_its_passes_examples() {
    for rule in &rule_book().rules {
        assert!(
            !rule.passes.is_empty(),
            "{} has no passing example",
            rule.id
        );
        for example in &rule.passes {
            let findings = lint(example);
            assert!(
                !findings.iter().any(|f| f.rule_id == rule.id),
                "{} should not fire on {example:?}",
                rule.id
            );
        }
    }
}

#[test]
fn every_rule_has_a_message_reframe_rationale_and_sources() {
    for rule in &rule_book().rules {
        assert!(
            rule.message.ends_with('.'),
            "{}: message is one sentence",
            rule.id
        );
        assert!(
            !rule.reframe.is_empty() && !rule.rationale.is_empty(),
            "{}",
            rule.id
        );
        assert!(!rule.sources.is_empty(), "{} cites no source", rule.id);
        assert!(rule.doc_url().ends_with(&format!("#{}", rule.id)));
    }
}

#[test]
fn the_trigger_prefilter_never_hides_a_match() {
    let linter = Linter::default();
    let sentences = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/accuracy/sentences.tsv"
    ))
    .expect("accuracy set");
    let examples = rule_book()
        .rules
        .iter()
        .flat_map(|r| r.fires.iter().chain(&r.passes));
    let texts = sentences
        .lines()
        .filter_map(|line| line.splitn(3, '\t').nth(2))
        .map(str::to_owned)
        .chain(examples.cloned());
    for text in texts {
        assert_eq!(
            linter.lint_with(&text, true),
            linter.lint_with(&text, false),
            "prefilter changed the result for {text:?}"
        );
    }
}

#[test]
fn every_compiled_in_pattern_compiles() {
    // Patterns compile lazily at first use; this is where a bad one is caught.
    rule_book()
        .compile_all()
        .expect("every rule pattern compiles");
}

#[test]
fn the_generated_pattern_trigger_table_matches_the_rules() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/pattern_triggers.rs");
    let expected = pattern_trigger_table(rule_book());
    if std::env::var_os("UPDATE_PATTERN_TRIGGERS").is_some() {
        std::fs::write(path, &expected).expect("write src/pattern_triggers.rs");
        return;
    }
    let actual = std::fs::read_to_string(path).expect("src/pattern_triggers.rs");
    assert!(
        actual == expected,
        "src/pattern_triggers.rs is stale: run `UPDATE_PATTERN_TRIGGERS=1 cargo test -p secondstory-lint --test rules`"
    );
}
