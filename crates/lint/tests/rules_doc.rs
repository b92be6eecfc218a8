//! docs/RULES.md is generated from the rule data and must not go stale.

use secondstory_lint::{rule_book, rules_markdown};

const RULES_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/RULES.md");

#[test]
fn docs_rules_md_matches_the_rule_data() {
    let generated = rules_markdown();
    if std::env::var_os("UPDATE_RULES_DOC").is_some() {
        std::fs::write(RULES_DOC, &generated).expect("writing docs/RULES.md");
        return;
    }
    let on_disk = std::fs::read_to_string(RULES_DOC).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/RULES.md is stale: run `UPDATE_RULES_DOC=1 cargo test -p secondstory-lint` to \
         regenerate it from crates/lint/src/rules.toml"
    );
}

#[test]
fn the_rules_doc_has_an_anchor_examples_and_sources_for_every_rule() {
    let doc = rules_markdown();
    for rule in &rule_book().rules {
        assert!(
            doc.contains(&format!("### {}\n", rule.id)),
            "{} has no section",
            rule.id
        );
        for example in &rule.fires {
            assert!(doc.contains(example.as_str()));
        }
    }
    for key in ["Dekker", "SRE book", "PagerDuty", "Etsy", "Allspaw", "Cook"] {
        assert!(doc.contains(key), "sources mention {key}");
    }
}
