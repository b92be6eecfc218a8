//! Accuracy of the default rules on hand-labelled incident-review sentences
//! (`tests/accuracy/sentences.tsv`: label TAB category-or-none TAB sentence).
//!
//! A sentence counts as flagged when it gets at least one finding in the author's own words
//! (quoted speech is someone else's and is not counted). Overall precision and recall treat
//! "flag" vs "ok"; per-category recall asks for a finding of the labelled category.
//! Set `ACCURACY_SET=path.tsv` to score another file in the same format.

use std::collections::BTreeMap;

use secondstory_lint::{Category, Finding, lint};

struct Labelled {
    should_flag: bool,
    category: Option<Category>,
    sentence: String,
}

fn load(path: &str) -> Vec<Labelled> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let label = fields.next().unwrap_or_default().trim();
            let category = fields.next().unwrap_or_default().trim();
            let sentence = fields.next().unwrap_or_default().trim().to_owned();
            assert!(matches!(label, "flag" | "ok"), "bad label in line: {line}");
            let category = if category == "none" {
                None
            } else {
                Some(Category::parse(category).unwrap_or_else(|| panic!("bad category: {line}")))
            };
            Labelled {
                should_flag: label == "flag",
                category,
                sentence,
            }
        })
        .collect()
}

fn own_words(findings: Vec<Finding>) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|finding| !finding.quoted)
        .collect()
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        1.0
    } else {
        numerator as f64 / denominator as f64
    }
}

#[test]
fn default_rules_reach_precision_090_and_recall_085_on_the_labelled_sentences() {
    let default_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/accuracy/sentences.tsv");
    let path = std::env::var("ACCURACY_SET").unwrap_or_else(|_| default_path.to_owned());
    let set = load(&path);
    assert!(
        set.len() >= 450 || path != default_path,
        "the accuracy set needs 450+ sentences"
    );

    let (mut true_pos, mut false_pos, mut false_neg, mut true_neg) = (0, 0, 0, 0);
    let mut per_category: BTreeMap<Category, (usize, usize)> = BTreeMap::new();
    let mut mistakes = Vec::new();
    for item in &set {
        let findings = own_words(lint(&item.sentence));
        let flagged = !findings.is_empty();
        match (item.should_flag, flagged) {
            (true, true) => true_pos += 1,
            (true, false) => {
                false_neg += 1;
                mistakes.push(format!("MISSED  {}", item.sentence));
            }
            (false, true) => {
                false_pos += 1;
                let rules: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
                mistakes.push(format!("FALSE+  {} {:?}", item.sentence, rules));
            }
            (false, false) => true_neg += 1,
        }
        if let Some(category) = item.category {
            let entry = per_category.entry(category).or_default();
            entry.1 += 1;
            if findings.iter().any(|finding| finding.category == category) {
                entry.0 += 1;
            } else if flagged {
                let got: Vec<&str> = findings.iter().map(|f| f.category.as_str()).collect();
                mistakes.push(format!(
                    "CATEGORY {} expected {category}, got {got:?}",
                    item.sentence
                ));
            }
        }
    }
    let precision = ratio(true_pos, true_pos + false_pos);
    let recall = ratio(true_pos, true_pos + false_neg);
    println!("accuracy set: {path}");
    println!(
        "sentences {} (flag {}, ok {}): precision {precision:.3}, recall {recall:.3} \
         (tp {true_pos}, fp {false_pos}, fn {false_neg}, tn {true_neg})",
        set.len(),
        true_pos + false_neg,
        false_pos + true_neg
    );
    for (category, (hit, total)) in &per_category {
        println!(
            "  recall {category:<15} {:.3} ({hit}/{total})",
            ratio(*hit, *total)
        );
    }
    for mistake in &mistakes {
        println!("  {mistake}");
    }
    assert!(precision >= 0.90, "precision {precision:.3} is below 0.90");
    assert!(recall >= 0.85, "recall {recall:.3} is below 0.85");
}
