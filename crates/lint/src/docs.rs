//! Renders the rule book (rules.rs) as docs/RULES.md: one section per rule with its rationale,
//! examples that fire and that do not, the reframe and the sources. A test keeps the checked-in
//! file in sync; the CLI prints the same text with `secondstory lint --rules-doc`.

use std::fmt::Write as _;

use crate::rules::{Category, rule_book};

/// The rule reference, generated from the compiled-in rule data.
pub fn rules_markdown() -> String {
    let book = rule_book();
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "# Blameless-language rules\n");
    let _ = writeln!(
        out,
        "<!-- Generated from crates/lint/src/rules.toml by `rules_markdown()`. Do not edit by hand: \
         run `UPDATE_RULES_DOC=1 cargo test -p secondstory-lint` to regenerate. -->\n"
    );
    let _ = writeln!(
        out,
        "The coach flags wording that turns an incident review into a search for someone to blame. \
         Each rule says why the wording harms learning and offers a reframe. Words inside code, \
         front matter, link URLs and HTML comments are never checked; quoted speech and \
         blockquotes are someone else's words and are reported one severity lower by default \
         (`quoted = \"off\"` or `\"normal\"` in `[lint]` changes that).\n"
    );
    let _ = writeln!(out, "## Configuration\n");
    let _ = writeln!(
        out,
        "```toml\n# .secondstory.toml (found upward from each linted file)\n[lint]\n\
         disabled = [\"minimising-simply\"]      # rule or category ids\n\
         min_severity = \"info\"                  # info | warning | error\n\
         quoted = \"lower\"                       # lower | off | normal\n\
         participants = [\"Priya Raman\"]         # plus names in the document's front matter\n\
         allowed = [\"just\"]                     # never flag matches containing these\n\
         [lint.severity]\n\"root-cause\" = \"info\"                # per rule or category\n\
         [lint.extra_terms]\njudgmental = [\"boneheaded\"]         # reported as custom-judgmental\n```\n"
    );
    let _ = writeln!(
        out,
        "Inline suppression: `<!-- secondstory-disable rule-id -->` … \
         `<!-- secondstory-enable -->` (no id means every rule), and \
         `<!-- secondstory-disable-next-line rule-id -->`.\n"
    );
    let _ = writeln!(out, "## Index\n");
    let _ = writeln!(
        out,
        "| Rule | Category | Severity | Summary |\n|---|---|---|---|"
    );
    for rule in &book.rules {
        let _ = writeln!(
            out,
            "| [`{id}`](#{id}) | {category} | {severity} | {summary} |",
            id = rule.id,
            category = rule.category,
            severity = rule.severity,
            summary = rule.summary.replace('|', "\\|"),
        );
    }
    out.push('\n');
    for category in Category::ALL {
        let Some(info) = book.category(category) else {
            continue;
        };
        let _ = writeln!(out, "## {} (`{}`)\n", info.title, category);
        let _ = writeln!(out, "{}\n", info.description);
        for rule in book.rules.iter().filter(|rule| rule.category == category) {
            let _ = writeln!(out, "### {}\n", rule.id);
            let _ = writeln!(out, "**{}** · severity `{}`\n", rule.summary, rule.severity);
            let _ = writeln!(out, "{}\n", rule.rationale);
            let _ = writeln!(out, "- Message: {}", rule.message);
            if let Some(gentle) = &rule.self_message {
                let _ = writeln!(out, "- Message for self-blame: {gentle}");
            }
            let _ = writeln!(out, "- Reframe: {}", rule.reframe);
            if let Some(replacement) = &rule.replacement {
                let _ = writeln!(out, "- Suggested replacement: \"{replacement}\"");
            }
            if rule.fix.is_some() {
                let _ = writeln!(out, "- Suggested fix: delete the word");
            }
            if category == crate::rules::Category::Punitive {
                let _ = writeln!(
                    out,
                    "- Reported as an error inside an \"Action items\" section."
                );
            }
            let _ = writeln!(out, "\nFires on:\n");
            for example in &rule.fires {
                let _ = writeln!(out, "- {example}");
            }
            let _ = writeln!(out, "\nDoes not fire on:\n");
            for example in &rule.passes {
                let _ = writeln!(out, "- {example}");
            }
            let _ = writeln!(out, "\nSources:\n");
            for key in &rule.sources {
                if let Some(source) = book.source(key) {
                    match &source.url {
                        Some(url) => {
                            let _ = writeln!(out, "- {} <{url}>", source.title);
                        }
                        None => {
                            let _ = writeln!(out, "- {}", source.title);
                        }
                    }
                }
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "## Custom terms\n");
    let _ = writeln!(
        out,
        "Terms added under `[lint.extra_terms]` are reported as `custom-<category>` (for example \
         `custom-judgmental`) with the category's message and reframe:\n"
    );
    for info in &book.categories {
        let _ = writeln!(
            out,
            "- `custom-{}`: {} Reframe: {}",
            info.id, info.message, info.reframe
        );
    }
    out
}
