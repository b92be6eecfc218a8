//! The rule book: the compiled-in `rules.toml` parsed once, its pattern macros expanded and its
//! regexes and Aho-Corasick trigger automaton compiled once (lazily, on first use).
//!
//! The engine (`engine.rs`) runs these compiled rules over prose blocks; `docs.rs` renders them into
//! docs/RULES.md; the printers (`report.rs`) use their ids, summaries and categories.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use serde::{Deserialize, Serialize};

use crate::pattern_triggers::PATTERN_TRIGGERS;

/// The rule data, compiled into the binary.
pub const RULES_TOML: &str = include_str!("rules.toml");

/// What kind of harm a finding's wording does to learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Blame,
    Counterfactual,
    Judgmental,
    Minimising,
    RootCause,
    Punitive,
}

impl Category {
    /// Every category, in documentation order.
    pub const ALL: [Category; 6] = [
        Category::Blame,
        Category::Counterfactual,
        Category::Judgmental,
        Category::Minimising,
        Category::RootCause,
        Category::Punitive,
    ];

    /// The identifier used in configuration, JSON and SARIF (`root-cause`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Blame => "blame",
            Category::Counterfactual => "counterfactual",
            Category::Judgmental => "judgmental",
            Category::Minimising => "minimising",
            Category::RootCause => "root-cause",
            Category::Punitive => "punitive",
        }
    }

    /// Parses a category identifier as written by [`Category::as_str`].
    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|category| category.as_str() == text)
    }

    /// Rule id used for terms added through the options' `extra_terms`.
    pub fn custom_rule_id(self) -> String {
        format!("custom-{}", self.as_str())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// How strongly a finding is reported. Ordered: `Info < Warning < Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Error,
}

impl Severity {
    /// Lower-case name (`info`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// One step less severe (`Info` stays `Info`): used for someone else's quoted words.
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Error => Severity::Warning,
            Severity::Warning | Severity::Info => Severity::Info,
        }
    }

    /// Parses `info`, `warning` or `error` (case-insensitive; `warn` and `note` accepted).
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "info" | "note" | "notice" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A mechanical edit a rule may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixKind {
    /// Remove the word (and the space after it), keeping the sentence's capitalisation.
    DeleteWord,
}

/// Why the compiled-in rule data could not be loaded (a bug in rules.toml, caught by tests).
#[derive(Debug, thiserror::Error)]
pub enum RuleDataError {
    #[error("rules.toml is not valid TOML for the rule schema: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rule {rule}: pattern does not compile: {source}")]
    Pattern {
        rule: String,
        #[source]
        source: Box<meta::BuildError>,
    },
    #[error("rule {rule}: {problem}")]
    Invalid { rule: String, problem: String },
    #[error("trigger automaton: {0}")]
    Triggers(#[from] aho_corasick::BuildError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    vocabulary: Vocabulary,
    category: Vec<CategoryInfo>,
    source: Vec<Source>,
    rule: Vec<RuleData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vocabulary {
    pronouns: Vec<String>,
    roles: Vec<String>,
    not_names: Vec<String>,
    irregular_participles: Vec<String>,
    action_verbs: Vec<String>,
    given_names: Vec<String>,
}

/// Documentation for one category, with the message used for custom terms in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInfo {
    pub id: Category,
    pub title: String,
    pub description: String,
    pub message: String,
    pub reframe: String,
}

/// A published source a rule's rationale rests on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub key: String,
    pub title: String,
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleData {
    id: String,
    category: Category,
    severity: Severity,
    summary: String,
    message: String,
    self_message: Option<String>,
    reframe: String,
    rationale: String,
    triggers: Vec<String>,
    patterns: Vec<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    fix: Option<FixKind>,
    replacement: Option<String>,
    #[serde(default)]
    any_capitalised_name_for: Vec<String>,
    sources: Vec<String>,
    fires: Vec<String>,
    passes: Vec<String>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    /// One line, used as SARIF `shortDescription` and in the rule index.
    pub summary: String,
    /// One kind sentence saying why the wording harms learning.
    pub message: String,
    /// The gentler message for self-blame ("I should have known").
    pub self_message: Option<String>,
    pub reframe: String,
    pub rationale: String,
    /// Keys into [`RuleBook::sources`].
    pub sources: Vec<String>,
    /// Example sentences that fire this rule.
    pub fires: Vec<String>,
    /// Example sentences that do not.
    pub passes: Vec<String>,
    /// The rule's regular expressions (macros expanded), compiled on first use: most runs touch
    /// few rules, and compiling all of them up front dominated a whole-process lint of one file.
    pub(crate) matchers: LazyMatchers,
    /// The rule's triggers as written in rules.toml (`\\b` marks a word start).
    pub(crate) triggers: Vec<String>,
    pub(crate) fix: Option<FixKind>,
    pub(crate) replacement: Option<String>,
    /// Verbs after which any capitalised word counts as a person (nobody says "Kubernetes forgot").
    pub(crate) any_capitalised_name_for: Vec<String>,
}

/// Pattern sources checked when the rule book is built, each compiled when it first runs. The
/// vetoes compile separately, only once one of the rule's patterns matches: most patterns the
/// document's triggers wake never match, and compiling is most of a short run's time.
#[derive(Debug)]
pub(crate) struct LazyMatchers {
    rule: String,
    patterns: Vec<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    compiled_patterns: Vec<OnceLock<Regex>>,
    compiled_not_before: OnceLock<Option<Regex>>,
    compiled_not_after: OnceLock<Option<Regex>>,
}

impl LazyMatchers {
    fn new(
        rule: String,
        patterns: Vec<String>,
        not_before: Option<String>,
        not_after: Option<String>,
    ) -> LazyMatchers {
        LazyMatchers {
            rule,
            compiled_patterns: patterns.iter().map(|_| OnceLock::new()).collect(),
            patterns,
            not_before,
            not_after,
            compiled_not_before: OnceLock::new(),
            compiled_not_after: OnceLock::new(),
        }
    }

    /// Every source this rule compiles: patterns first, then `not_before`, then `not_after`.
    fn sources(&self) -> impl Iterator<Item = &String> {
        self.patterns
            .iter()
            .chain(&self.not_before)
            .chain(&self.not_after)
    }

    /// The patterns' sources, macros expanded.
    pub(crate) fn pattern_sources(&self) -> &[String] {
        &self.patterns
    }

    /// Compiles every pattern and veto now, without keeping them (tests call this).
    fn check(&self) -> Result<(), RuleDataError> {
        for source in self.sources() {
            compile_pattern(&self.rule, source)?;
        }
        Ok(())
    }

    fn compile_or_panic(&self, source: &str) -> Regex {
        // Every compiled-in pattern is compiled by the tests (`RuleBook::compile_all`), so this
        // cannot fail at run time for the rules we ship.
        compile_pattern(&self.rule, source)
            .expect("rule patterns compile (checked by RuleBook::compile_all)")
    }

    /// How many patterns the rule has.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Pattern `index`, compiled on first use.
    pub fn pattern(&self, index: usize) -> &Regex {
        self.compiled_patterns[index].get_or_init(|| self.compile_or_panic(&self.patterns[index]))
    }

    /// Whether pattern `index` has compiled already.
    pub fn pattern_compiled(&self, index: usize) -> bool {
        self.compiled_patterns[index].get().is_some()
    }

    /// The veto on the text after a match (anchored at its start), compiled on first use.
    pub fn not_before(&self) -> Option<&Regex> {
        self.compiled_not_before
            .get_or_init(|| self.not_before.as_deref().map(|s| self.compile_or_panic(s)))
            .as_ref()
    }

    /// The veto on the text before a match (anchored at its end), compiled on first use.
    pub fn not_after(&self) -> Option<&Regex> {
        self.compiled_not_after
            .get_or_init(|| self.not_after.as_deref().map(|s| self.compile_or_panic(s)))
            .as_ref()
    }
}

impl Rule {
    /// The documentation anchor, relative to the repository root.
    pub fn doc_url(&self) -> String {
        doc_url(&self.id)
    }
}

/// Documentation anchor for a rule id.
pub fn doc_url(rule_id: &str) -> String {
    format!("docs/RULES.md#{rule_id}")
}

/// All rules plus the vocabulary the engine needs to judge context.
#[derive(Debug)]
pub struct RuleBook {
    pub categories: Vec<CategoryInfo>,
    pub sources: Vec<Source>,
    pub rules: Vec<Rule>,
    pub(crate) triggers: AhoCorasick,
    /// For each trigger pattern id, the (rule, pattern) pairs it can start.
    pub(crate) trigger_targets: Vec<Vec<(usize, usize)>>,
    /// For each trigger pattern id, whether it counts only at the start of a word (written
    /// `\b…` in rules.toml): the byte before it must not be an ASCII word character.
    pub(crate) trigger_word_start: Vec<bool>,
    pub(crate) pronouns: BTreeSet<String>,
    pub(crate) roles: BTreeSet<String>,
    pub(crate) not_names: BTreeSet<String>,
    pub(crate) given_names: BTreeSet<String>,
}

impl RuleBook {
    /// Parses and compiles rule data in the `rules.toml` schema, checking every pattern's syntax.
    pub fn from_toml(text: &str) -> Result<RuleBook, RuleDataError> {
        RuleBook::parse(text, SyntaxCheck::Now, &[])
    }

    /// `check`: whether to parse every pattern now. The compiled-in rules skip it (the tests
    /// compile every one of them), because it is a noticeable part of a short run.
    /// `pattern_triggers`: the generated per-pattern trigger table (see literals.rs); a rule it does
    /// not describe exactly has each pattern woken by all of its triggers.
    fn parse(
        text: &str,
        check: SyntaxCheck,
        pattern_triggers: &[(&str, &[&[&str]])],
    ) -> Result<RuleBook, RuleDataError> {
        let file: RuleFile = toml::from_str(text)?;
        let macros = Macros::new(&file.vocabulary);
        let mut rules = Vec::with_capacity(file.rule.len());
        let mut all_triggers: Vec<Vec<String>> = Vec::with_capacity(file.rule.len());
        let mut seen_ids = BTreeSet::new();
        for data in file.rule {
            if !seen_ids.insert(data.id.clone()) {
                return Err(RuleDataError::Invalid {
                    rule: data.id,
                    problem: "duplicate id".into(),
                });
            }
            if data.triggers.is_empty() || data.patterns.is_empty() {
                return Err(RuleDataError::Invalid {
                    rule: data.id,
                    problem: "a rule needs at least one trigger and one pattern".into(),
                });
            }
            for key in &data.sources {
                if !file.source.iter().any(|source| &source.key == key) {
                    return Err(RuleDataError::Invalid {
                        rule: data.id.clone(),
                        problem: format!("unknown source {key}"),
                    });
                }
            }
            all_triggers.push(data.triggers.clone());
            let matchers = LazyMatchers::new(
                data.id.clone(),
                data.patterns.iter().map(|p| macros.expand(p)).collect(),
                data.not_before
                    .as_ref()
                    .map(|p| macros.expand(&format!("^(?:{p})"))),
                data.not_after
                    .as_ref()
                    .map(|p| macros.expand(&format!("(?:{p})$"))),
            );
            // Syntax is checked now (the AST only: no Unicode tables); translating and building the
            // automata waits for first use, and the tests compile every pattern (`compile_all`).
            if check == SyntaxCheck::Now {
                for pattern in matchers.sources() {
                    regex_syntax::ast::parse::Parser::new()
                        .parse(pattern)
                        .map_err(|e| RuleDataError::Invalid {
                            rule: data.id.clone(),
                            problem: format!("pattern does not parse: {e}"),
                        })?;
                }
            }
            rules.push(Rule {
                id: data.id,
                category: data.category,
                severity: data.severity,
                summary: data.summary,
                message: data.message,
                self_message: data.self_message,
                reframe: data.reframe,
                rationale: data.rationale,
                sources: data.sources,
                fires: data.fires,
                passes: data.passes,
                matchers,
                triggers: data.triggers,
                fix: data.fix,
                replacement: data.replacement,
                any_capitalised_name_for: data
                    .any_capitalised_name_for
                    .iter()
                    .map(|verb| verb.to_lowercase())
                    .collect(),
            });
        }

        // One automaton for every rule's triggers; a trigger shared by rules maps to all of them,
        // and within a rule to the patterns it can start.
        let mut trigger_texts: Vec<String> = Vec::new();
        let mut trigger_targets: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut trigger_word_start: Vec<bool> = Vec::new();
        for (rule_index, rule_triggers) in all_triggers.iter().enumerate() {
            let rule = &rules[rule_index];
            let table = pattern_triggers
                .iter()
                .find(|(id, _)| *id == rule.id)
                .map(|(_, per_pattern)| *per_pattern)
                .filter(|per_pattern| {
                    per_pattern.len() == rule.matchers.pattern_count()
                        && per_pattern
                            .iter()
                            .flat_map(|triggers| triggers.iter())
                            .all(|trigger| rule_triggers.iter().any(|t| t == trigger))
                });
            for trigger in rule_triggers {
                let targets: Vec<(usize, usize)> = (0..rule.matchers.pattern_count())
                    .filter(|&pattern| {
                        table.is_none_or(|per_pattern| {
                            per_pattern[pattern].contains(&trigger.as_str())
                        })
                    })
                    .map(|pattern| (rule_index, pattern))
                    .collect();
                let (word_start, literal) = match trigger.strip_prefix(r"\b") {
                    Some(rest) => (true, rest),
                    None => (false, trigger.as_str()),
                };
                if literal.is_empty() || literal.contains('\\') {
                    return Err(RuleDataError::Invalid {
                        rule: rules[rule_index].id.clone(),
                        problem: format!("trigger {trigger:?} is not a literal"),
                    });
                }
                let literal = literal.to_ascii_lowercase();
                let known = (0..trigger_texts.len())
                    .find(|&i| trigger_texts[i] == literal && trigger_word_start[i] == word_start);
                match known {
                    Some(position) => trigger_targets[position].extend(targets),
                    None => {
                        trigger_texts.push(literal);
                        trigger_targets.push(targets);
                        trigger_word_start.push(word_start);
                    }
                }
            }
        }
        let triggers = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .prefilter(false)
            .build(&trigger_texts)?;

        let lower_set = |words: &[String]| words.iter().map(|w| w.to_lowercase()).collect();
        Ok(RuleBook {
            categories: file.category,
            sources: file.source,
            rules,
            triggers,
            trigger_targets,
            trigger_word_start,
            pronouns: lower_set(&file.vocabulary.pronouns),
            roles: lower_set(&file.vocabulary.roles),
            not_names: file.vocabulary.not_names.iter().cloned().collect(),
            given_names: lower_set(&file.vocabulary.given_names),
        })
    }

    /// Compiles every rule's patterns now, reporting the first that fails (tests call this).
    pub fn compile_all(&self) -> Result<(), RuleDataError> {
        for rule in &self.rules {
            rule.matchers.check()?;
        }
        Ok(())
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// The documentation entry for a category.
    pub fn category(&self, category: Category) -> Option<&CategoryInfo> {
        self.categories.iter().find(|info| info.id == category)
    }

    /// The source with this key.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources.iter().find(|source| source.key == key)
    }
}

/// The compiled-in rule book, parsed and compiled on first use.
pub fn rule_book() -> &'static RuleBook {
    static BOOK: LazyLock<RuleBook> = LazyLock::new(|| {
        RuleBook::parse(RULES_TOML, SyntaxCheck::Later, PATTERN_TRIGGERS)
            .expect("the compiled-in rules.toml is valid (tested)")
    });
    &BOOK
}

fn compile_pattern(rule: &str, pattern: &str) -> Result<Regex, RuleDataError> {
    let pattern = ascii_classes(pattern).map_err(|problem| RuleDataError::Invalid {
        rule: rule.to_owned(),
        problem,
    })?;
    // Why these settings: compiling is most of a short run's time, and most of compiling was
    // Unicode (case folding every letter, `\w` as a Unicode class) and the literal prefilter
    // (case-insensitive literals expand into hundreds of variants). Rules run only on sentences
    // their Aho-Corasick triggers point at, so a prefilter saves nothing there.
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .auto_prefilter(false)
                // A full DFA per pattern costs more to build than the lazy one saves on sentences.
                .dfa(false)
                .nfa_size_limit(Some(64 << 20))
                .hybrid_cache_capacity(16 << 20),
        )
        .syntax(syntax::Config::new().case_insensitive(true).unicode(false))
        .build(&pattern)
        .map_err(|source| RuleDataError::Pattern {
            rule: rule.to_owned(),
            source: Box::new(source),
        })
}

/// Rewrites a rule pattern for matching with ASCII classes: `\w`, `\d`, `\b` and case folding
/// are ASCII, while `\s` (a no-break space between words is still a space), `\p{…}` (names such as
/// "Łukasz") and non-ASCII literals such as `’` keep their Unicode meaning through `(?u:…)`
/// islands. A character class holding non-ASCII characters becomes an alternation of its ASCII
/// part and those characters, because an ASCII-mode class cannot hold them.
pub(crate) fn ascii_classes(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    return Err("pattern ends in a lone backslash".into());
                };
                match escaped {
                    // The engine matches text whose non-ASCII spaces became ASCII spaces
                    // (`markdown::push_with_ascii_spaces`), so ASCII `\s` sees every space.
                    's' => out.push_str(r"\s"),
                    'S' => out.push_str(r"(?u:\S)"),
                    'p' | 'P' => {
                        out.push_str("(?u:\\");
                        out.push(escaped);
                        if chars.peek() == Some(&'{') {
                            for inner in chars.by_ref() {
                                out.push(inner);
                                if inner == '}' {
                                    break;
                                }
                            }
                        } else if let Some(letter) = chars.next() {
                            out.push(letter);
                        }
                        out.push(')');
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                let mut ascii = String::from("[");
                let mut others = Vec::new();
                let mut first = true;
                loop {
                    let Some(member) = chars.next() else {
                        return Err("unclosed character class".into());
                    };
                    match member {
                        ']' if !first => break,
                        '^' if first => {
                            ascii.push('^');
                            continue;
                        }
                        '[' => return Err("nested character classes are not supported".into()),
                        '\\' => {
                            ascii.push('\\');
                            let Some(escaped) = chars.next() else {
                                return Err("unclosed character class".into());
                            };
                            ascii.push(escaped);
                        }
                        c if c.is_ascii() => ascii.push(c),
                        c => others.push(c),
                    }
                    first = false;
                }
                ascii.push(']');
                if others.is_empty() {
                    out.push_str(&ascii);
                    continue;
                }
                if ascii.starts_with("[^") || ascii.contains(|c: char| !c.is_ascii()) {
                    return Err("a negated class cannot hold non-ASCII characters".into());
                }
                out.push_str("(?:");
                if ascii != "[]" {
                    out.push_str(&ascii);
                    out.push('|');
                }
                let alternatives: Vec<String> =
                    others.iter().map(|c| format!("(?u:{c})")).collect();
                out.push_str(&alternatives.join("|"));
                out.push(')');
            }
            c if c.is_ascii() => out.push(c),
            c => {
                out.push_str("(?u:");
                out.push(c);
                out.push(')');
            }
        }
    }
    Ok(out)
}

/// Whether [`RuleBook::parse`] checks pattern syntax up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyntaxCheck {
    Now,
    Later,
}

/// Letters that can start a capitalised name: ASCII capitals or any non-ASCII character but
/// Latin-1 punctuation and symbols, general punctuation (’ “ – …) and CJK punctuation. Unicode's
/// `\p{Lu}` and `\p{Ll}` would be exact, but their UTF-8 automata made every pattern naming a
/// person several times larger to compile; the engine checks a captured name's letters instead
/// (`is_name_shaped` in engine.rs).
const NAME_START: &str =
    r"(?:[A-Z]|(?u:[^\x00-\x7F\u0080-\u00BF\u00D7\u00F7\u2000-\u206F\u3000-\u303F]))";
/// Letters that can continue a name (see [`NAME_START`]).
const NAME_REST: &str =
    r"(?:[a-z]|(?u:[^\x00-\x7F\u0080-\u00BF\u00D7\u00F7\u2000-\u206F\u3000-\u303F]))";

/// Expansions for the `{PERSON}`, `{WE}`, `{NAME}`, `{PP}`, `{ACTION}` and `{ADV}` macros.
struct Macros {
    person_body: String,
    participle: String,
    action: String,
}

impl Macros {
    fn new(vocabulary: &Vocabulary) -> Macros {
        let alternation = |words: &[String]| {
            let mut sorted: Vec<&String> = words.iter().collect();
            // Longest first, so "on-caller" wins over "on-call" in the leftmost-first alternation.
            sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            sorted
                .iter()
                .map(|word| regex_syntax::escape(word).replace(' ', r"\s+"))
                .collect::<Vec<_>>()
                .join("|")
        };
        let roles = alternation(&vocabulary.roles);
        let pronouns = alternation(&vocabulary.pronouns);
        let person_body = format!(
            r"(?:(?:(?:the|a|an|our|my|your|their|his|her|one|another|that|this|each|every|some|two|both|several|all|any)\s+(?:[A-Za-z'’-]+\s+){{0,2}}?|(?:on[- ]?call\s+)?)(?:{roles})(?:s|es)?|(?:{pronouns})|(?-i:{NAME_START}{NAME_REST}+))"
        );
        let participle = format!(
            // "double-checked", "re-run": a hyphenated prefix before the participle.
            r"(?:[a-z]+-)?(?:[a-z]{{2,}}ed|{})",
            alternation(&vocabulary.irregular_participles)
        );
        let action = alternation(&vocabulary.action_verbs);
        Macros {
            person_body,
            participle,
            action,
        }
    }

    fn expand(&self, pattern: &str) -> String {
        let mut expanded = pattern
            .replace("{PP}", &self.participle)
            .replace("{ACTION}", &self.action)
            .replace("{NAME}", &format!("{NAME_START}{NAME_REST}+"))
            .replace(
                "{ADV}",
                r"(?:(?:\w+ly|also|then|still|never|just|again|even|already|first|simply)\s+)?",
            );
        // A name may start with a non-ASCII letter ("Łukasz"), where an ASCII word boundary
        // never holds; a Unicode one before the subject costs little to compile (it is one
        // assertion, not a class).
        expanded = expanded.replace(r"\b{PERSON}\s+", r"(?u:\b){PERSON}{POSTMODIFIER}?\s+");
        expanded = expanded.replace(r"\b{PERSON}", r"(?u:\b){PERSON}");
        // A subject may carry a label ("team member 1", "engineer B"), where they work, then a
        // relative clause, a participle or an apposition ("the developer who wrote the retry
        // logic did not …", "the contractor doing the migration skipped …", "an SRE on the
        // storage team typed …", "our engineer, a recent hire, pushed …"). It is captured as
        // `rel…` so the engine can refuse one that runs into a new clause ("… who deployed the
        // service that failed to start") or runs long (`is_one_clause`); its repetitions are
        // unbounded because a bounded one compiles once per repeat.
        const POSTMODIFIER: &str = r"(?:\s+(?:\d{1,2}|(?-i:[A-Z]))\b)?(?:\s+(?:on|from|in|of|at|with)\s+(?:the|our|an?|their|its)\s+[\w-]+(?:\s+[\w-]+){0,2}?)?(?:\s+(?:who|that)\s+[a-z]+(?:\s+[\w'’.-]+)*?|\s*,\s+who|\s+who|\s+[a-z]{2,}ing(?:\s+[\w'’.-]+)*?|\s+on\s+(?:shift|call|duty)(?:\s*,\s+who)?|\s+(?:responsible|in\s+charge)\s+(?:for|of)\s+[a-z]+(?:\s+[\w'’.-]+)*?|\s*,(?u:[^,.;])+?,)?";
        let we = format!(
            r"we|(?:the|our|their|a|an|that|this)\s+(?:[\w-]+\s+){{0,2}}?(?:team|group|squad|crew|department|desk|centre|center|board|committee|noc|soc)|(?-i:{NAME_START}\w*)\s+team"
        );
        // Each macro occurrence gets its own capture name: a pattern may name several people.
        let mut counter = 0;
        for (token, prefix, body) in [
            ("{PERSON}", "who", self.person_body.as_str()),
            ("{POSTMODIFIER}", "rel", POSTMODIFIER),
            ("{WE}", "we", we.as_str()),
        ] {
            while let Some(position) = expanded.find(token) {
                counter += 1;
                let group = format!("(?P<{prefix}{counter}>{body})");
                expanded.replace_range(position..position + token.len(), &group);
            }
        }
        expanded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(pattern: &str) -> Regex {
        compile_pattern("test", pattern).expect("compiles")
    }

    #[test]
    fn a_class_holding_a_curly_apostrophe_matches_both_apostrophes() {
        let regex = compiled(r"\bdidn['’]t\b");
        assert!(regex.is_match("we didn't"));
        assert!(regex.is_match("we didn’t"));
        assert!(!regex.is_match("we didnxt"));
    }

    #[test]
    fn letters_fold_case_and_word_classes_stay_ascii() {
        let regex = compiled(r"\bshould\s+have\s+\w+ed\b");
        assert!(regex.is_match("They SHOULD Have checked"));
        // `\s` is ASCII: the engine turns other spaces into ASCII ones before matching.
        assert!(regex.is_match("should \thave\nchecked"));
        assert!(!regex.is_match("should\u{a0}have checked"));
    }

    #[test]
    fn the_name_macro_takes_capitalised_words_in_any_script() {
        let macros = Macros::new(&Vocabulary::default());
        let regex = compiled(&macros.expand(r"(?-i:{NAME})\s+broke"));
        assert!(regex.is_match("Łukasz broke it"));
        assert!(regex.is_match("Priya broke it"));
        assert!(!regex.is_match("priya broke it"));
        // Punctuation is not a letter: the name stops before a curly apostrophe.
        let possessive = compiled(&macros.expand(r"(?-i:{NAME})’s\s+change"));
        assert!(possessive.is_match("Søren’s change"));
    }

    #[test]
    fn unicode_property_classes_keep_their_meaning_for_names() {
        let regex = compiled(r"(?-i:\p{Lu}\p{Ll}+)\s+broke");
        assert!(regex.is_match("Łukasz broke it"));
        assert!(!regex.is_match("łukasz broke it"));
    }

    #[test]
    fn a_negated_class_with_non_ascii_members_is_refused_with_the_rule_named() {
        let error = compile_pattern("some-rule", "[^’]").expect_err("refused");
        assert!(error.to_string().contains("some-rule"), "{error}");
        assert!(error.to_string().contains("negated"), "{error}");
    }

    #[test]
    fn rewriting_leaves_ascii_patterns_alone_apart_from_unicode_islands() {
        assert_eq!(ascii_classes(r"[a-z]+\b").as_deref(), Ok(r"[a-z]+\b"));
        assert_eq!(ascii_classes(r"a\sb").as_deref(), Ok(r"a\sb"));
        assert_eq!(ascii_classes(r"a\Sb").as_deref(), Ok(r"a(?u:\S)b"));
        assert_eq!(
            ascii_classes(r#"["“(]"#).as_deref(),
            Ok(r#"(?:["(]|(?u:“))"#)
        );
        assert_eq!(ascii_classes("x’s").as_deref(), Ok("x(?u:’)s"));
    }
}
