//! Second Story's blameless-language coach: a fast, Markdown-aware linter for blame language in
//! incident reviews.
//!
//! Pure library: text and [`LintOptions`] in, [`Finding`]s out; no file I/O. The pieces:
//! - `rules` — the rule data (`rules.toml`, compiled in and parsed once) and its vocabulary;
//! - `literals` — which triggers can start each pattern (generated into `pattern_triggers.rs`);
//! - `markdown` — which parts of a document are the author's prose;
//! - `engine` — matching with context checks, options and suppression comments ([`Linter`]);
//! - `options` — [`LintOptions`], read from the `[lint]` table of `.secondstory.toml`;
//! - `report` — printers: human, JSON, SARIF 2.1.0, GitHub Actions annotations;
//! - `docs` — [`rules_markdown`], the generator of docs/RULES.md.
//!
//! The CLI (`secondstory lint`) and an editor server build one [`Linter`] per configuration and
//! call [`Linter::lint`] per document.

mod docs;
mod engine;
mod literals;
mod markdown;
mod options;
#[rustfmt::skip] // generated (see literals.rs)
mod pattern_triggers;
pub mod report;
mod rules;

pub use docs::rules_markdown;
pub use engine::{Finding, Fix, Linter, Position, Span};
pub use literals::pattern_trigger_table;
pub use options::{ConfigError, LintOptions, QuotedPolicy};
pub use rules::{
    Category, CategoryInfo, RULES_TOML, Rule, RuleBook, RuleDataError, Severity, Source, doc_url,
    rule_book,
};

/// Lints a Markdown document with the default options.
pub fn lint(source: &str) -> Vec<Finding> {
    static DEFAULT: std::sync::LazyLock<Linter> = std::sync::LazyLock::new(Linter::default);
    DEFAULT.lint(source)
}
