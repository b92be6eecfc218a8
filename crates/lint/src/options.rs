//! What a user can tune: rules on/off, severities, extra and allowed terms, participant names,
//! how quoted words are treated and the reporting threshold.
//!
//! `LintOptions` is plain data, deserialised from the `[lint]` table of a `.secondstory.toml`
//! (finding that file is I/O and lives in the CLI). `Linter::new` (engine.rs) validates it against
//! the rule book and compiles the extra terms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rules::{Category, Severity};

/// How findings inside quotation marks or blockquotes (someone else's words) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotedPolicy {
    /// Reported one severity step lower (the default): quotes are data, not the author's judgment.
    #[default]
    Lower,
    /// Not reported at all.
    Off,
    /// Reported like the author's own words.
    Normal,
}

/// Options for one lint run. Every field has a sensible default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LintOptions {
    /// Rule ids (`minimising-simply`) or category ids (`root-cause`) to switch off.
    pub disabled: Vec<String>,
    /// Severity per rule id or category id; a rule id wins over its category.
    pub severity: BTreeMap<String, Severity>,
    /// Extra literal terms to flag, per category (reported as rule `custom-<category>`).
    pub extra_terms: BTreeMap<Category, Vec<String>>,
    /// Terms never to flag: a finding whose matched text contains one of them is dropped.
    pub allowed: Vec<String>,
    /// Names of people involved; added to the names read from the document's front matter.
    pub participants: Vec<String>,
    /// Treatment of quoted speech and blockquotes.
    pub quoted: QuotedPolicy,
    /// Findings below this severity are not reported.
    pub min_severity: Severity,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("`[lint]` must be a table")]
    LintNotATable,
    #[error("unknown rule or category `{0}` (see docs/RULES.md for the rule ids)")]
    UnknownRule(String),
    #[error("empty term in `{0}`")]
    EmptyTerm(&'static str),
    #[error("extra terms could not be compiled: {0}")]
    Terms(#[from] aho_corasick::BuildError),
}

impl LintOptions {
    /// Reads the `[lint]` table of a `.secondstory.toml`. Other tables belong to other tools and
    /// are ignored; a file without `[lint]` yields the defaults.
    ///
    /// ```toml
    /// [lint]
    /// disabled = ["minimising-simply"]
    /// quoted = "off"
    /// min_severity = "warning"
    /// participants = ["Priya Raman"]
    /// allowed = ["just"]
    /// [lint.severity]
    /// root-cause = "info"
    /// [lint.extra_terms]
    /// judgmental = ["boneheaded"]
    /// ```
    pub fn from_toml_str(text: &str) -> Result<LintOptions, ConfigError> {
        let mut document: toml::Table = toml::from_str(text)?;
        match document.remove("lint") {
            None => Ok(LintOptions::default()),
            Some(toml::Value::Table(table)) => Ok(table.try_into()?),
            Some(_) => Err(ConfigError::LintNotATable),
        }
    }
}
