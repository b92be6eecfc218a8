//! Options tune the coach without code: read from `.secondstory.toml`, validated up front.

use secondstory_lint::{Category, ConfigError, LintOptions, Linter, QuotedPolicy, Severity};

#[test]
fn the_lint_table_of_a_secondstory_toml_is_read_and_other_tables_ignored() {
    let options = LintOptions::from_toml_str(
        "[review]\nanything = 1\n\n[lint]\ndisabled = [\"minimising-simply\"]\nquoted = \"off\"\n\
         min_severity = \"warning\"\nparticipants = [\"Priya\"]\nallowed = [\"obviously\"]\n\
         [lint.severity]\n\"root-cause\" = \"info\"\n[lint.extra_terms]\njudgmental = [\"boneheaded move\"]\n",
    )
    .expect("valid");
    assert_eq!(options.disabled, vec!["minimising-simply"]);
    assert_eq!(options.quoted, QuotedPolicy::Off);
    assert_eq!(options.min_severity, Severity::Warning);
    assert_eq!(options.severity.get("root-cause"), Some(&Severity::Info));
    assert_eq!(
        options.extra_terms[&Category::Judgmental],
        vec!["boneheaded move"]
    );
}

#[test]
fn a_file_without_a_lint_table_gives_the_defaults() {
    assert_eq!(
        LintOptions::from_toml_str("[other]\nx = 1\n").expect("ok"),
        LintOptions::default()
    );
}

#[test]
fn unknown_keys_and_unknown_rule_ids_are_reported() {
    assert!(LintOptions::from_toml_str("[lint]\ndisabeld = []\n").is_err());
    let options = LintOptions {
        disabled: vec!["no-such-rule".into()],
        ..Default::default()
    };
    assert!(
        matches!(Linter::new(options), Err(ConfigError::UnknownRule(id)) if id == "no-such-rule")
    );
}

#[test]
fn rules_and_categories_can_be_disabled_and_reweighted() {
    let text = "Obviously, the root cause was a full disk. Simply put.";
    let linter = Linter::new(LintOptions {
        disabled: vec!["root-cause".into(), "minimising-simply".into()],
        severity: [("judgmental-obviously".to_owned(), Severity::Error)].into(),
        ..Default::default()
    })
    .expect("options");
    let findings = linter.lint(text);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Error);
}

#[test]
fn min_severity_drops_lower_findings() {
    let linter = Linter::new(LintOptions {
        min_severity: Severity::Error,
        ..Default::default()
    })
    .expect("options");
    assert!(linter.lint("Obviously wrong.").is_empty());
}

#[test]
fn extra_terms_are_flagged_as_whole_words_and_allowed_terms_never() {
    let linter = Linter::new(LintOptions {
        extra_terms: [(Category::Judgmental, vec!["cowboy".to_owned()])].into(),
        allowed: vec!["simply".into()],
        ..Default::default()
    })
    .expect("options");
    let findings = linter.lint("A Cowboy change. Not cowboys. Simply done.");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule_id, "custom-judgmental");
    assert_eq!(findings[0].matched, "Cowboy");
}
