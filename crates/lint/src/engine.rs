//! The matching engine: runs the rule book (rules.rs) over the prose blocks that markdown.rs
//! extracts, judges context (who is the subject, is it quoted, is it an action item), applies the
//! options (options.rs) and suppression comments, and returns findings with positions ready for
//! editors (UTF-8 and UTF-16 columns). Printers live in report.rs.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::Input;
use regex_automata::util::captures::Captures;
use serde::{Deserialize, Serialize};

use crate::markdown::{self, Directive, DirectiveKind, ProseBlock};
use crate::options::{ConfigError, LintOptions, QuotedPolicy};
use crate::rules::{Category, FixKind, Rule, RuleBook, Severity, doc_url, rule_book};

/// A byte range in the linted text (`start..end`, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The span as a `Range`, for slicing the linted text.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// A place in the text. Lines and columns are 1-based; `column` counts UTF-8 bytes and
/// `column_utf16` counts UTF-16 code units (what LSP and SARIF expect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub column_utf16: usize,
}

/// A mechanical edit that is safe to apply ("apply suggestion" in an editor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What to replace (may be wider than the finding, e.g. the space after a deleted word).
    pub span: Span,
    pub replacement: String,
}

/// One piece of wording that harms learning, with a kinder way to say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub category: Category,
    pub severity: Severity,
    pub span: Span,
    pub start: Position,
    /// Position just after the last character (exclusive), as LSP and SARIF use it.
    pub end: Position,
    /// The text the span covers in the linted document.
    pub matched: String,
    /// One sentence saying why this wording harms learning.
    pub message: String,
    /// A suggested reframe.
    pub reframe: String,
    pub fix: Option<Fix>,
    /// `docs/RULES.md#<rule-id>`.
    pub doc_url: String,
    /// The words are someone else's (quotation marks or a blockquote).
    pub quoted: bool,
}

/// Extra terms from the options, matched as whole words.
#[derive(Debug)]
struct CustomTerms {
    automaton: AhoCorasick,
    categories: Vec<Category>,
}

/// A linter configured with one set of options. Cheap to share across threads (`Sync`).
#[derive(Debug)]
pub struct Linter {
    book: &'static RuleBook,
    enabled: Vec<bool>,
    severities: Vec<Severity>,
    custom: Option<CustomTerms>,
    custom_enabled: Vec<bool>,
    custom_severities: Vec<Severity>,
    allowed: Vec<String>,
    participants: Vec<String>,
    quoted: QuotedPolicy,
    min_severity: Severity,
    /// Set once the first document has compiled the rules it needs (see [`Linter::warm_up`]).
    warmed: AtomicBool,
}

impl Default for Linter {
    fn default() -> Linter {
        Linter::new(LintOptions::default()).expect("default options are valid")
    }
}

/// A finding before positions are computed.
struct Candidate {
    rule_id: String,
    category: Category,
    severity: Severity,
    span: Span,
    message: String,
    reframe: String,
    fix: Option<Fix>,
    quoted: bool,
    /// Rule order, used to pick one of two overlapping findings of a category.
    priority: usize,
}

impl Linter {
    /// Validates the options against the rule book and compiles the extra terms.
    pub fn new(options: LintOptions) -> Result<Linter, ConfigError> {
        let book = rule_book();
        let known = |id: &str| {
            book.rule(id).is_some()
                || Category::parse(id).is_some()
                || Category::ALL
                    .iter()
                    .any(|category| category.custom_rule_id() == id)
        };
        for id in options.disabled.iter().chain(options.severity.keys()) {
            if !known(id) {
                return Err(ConfigError::UnknownRule(id.clone()));
            }
        }
        let is_disabled = |rule_id: &str, category: Category| {
            options
                .disabled
                .iter()
                .any(|id| id == rule_id || id == category.as_str())
        };
        let severity_of = |rule_id: &str, category: Category, default: Severity| {
            options
                .severity
                .get(rule_id)
                .or_else(|| options.severity.get(category.as_str()))
                .copied()
                .unwrap_or(default)
        };
        let enabled = book
            .rules
            .iter()
            .map(|rule| !is_disabled(&rule.id, rule.category))
            .collect();
        let severities = book
            .rules
            .iter()
            .map(|rule| severity_of(&rule.id, rule.category, rule.severity))
            .collect();
        let custom_enabled = Category::ALL
            .iter()
            .map(|category| !is_disabled(&category.custom_rule_id(), *category))
            .collect();
        let custom_severities = Category::ALL
            .iter()
            .map(|category| severity_of(&category.custom_rule_id(), *category, Severity::Warning))
            .collect();

        let mut terms = Vec::new();
        let mut categories = Vec::new();
        for (category, list) in &options.extra_terms {
            for term in list {
                if term.trim().is_empty() {
                    return Err(ConfigError::EmptyTerm("extra_terms"));
                }
                terms.push(term.trim().to_owned());
                categories.push(*category);
            }
        }
        let custom = if terms.is_empty() {
            None
        } else {
            let automaton = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&terms)?;
            Some(CustomTerms {
                automaton,
                categories,
            })
        };
        if options.allowed.iter().any(|term| term.trim().is_empty()) {
            return Err(ConfigError::EmptyTerm("allowed"));
        }
        Ok(Linter {
            book,
            enabled,
            severities,
            custom,
            custom_enabled,
            custom_severities,
            allowed: options
                .allowed
                .iter()
                .map(|term| term.trim().to_lowercase())
                .collect(),
            participants: options.participants.clone(),
            quoted: options.quoted,
            min_severity: options.min_severity,
            warmed: AtomicBool::new(false),
        })
    }

    /// Lints one Markdown document. Findings are sorted by position.
    pub fn lint(&self, source: &str) -> Vec<Finding> {
        self.lint_with(source, true)
    }

    /// Like [`Linter::lint`], with the Aho-Corasick prefilter switchable so tests can prove the
    /// triggers never hide a match.
    #[doc(hidden)]
    pub fn lint_with(&self, source: &str, use_prefilter: bool) -> Vec<Finding> {
        if !self.warmed.swap(true, AtomicOrdering::Relaxed) {
            self.warm_up(source);
        }
        // Front matter arrives before the first block; both callbacks see the same list.
        let people = std::cell::RefCell::new(self.participants.clone());
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut scratch = Scratch::default();
        let facts = markdown::scan(
            source,
            |front_matter| {
                people
                    .borrow_mut()
                    .extend(markdown::front_matter_names(front_matter))
            },
            |block| {
                let people = people.borrow();
                let known_people = Known::new(&people);
                self.lint_block(
                    block,
                    &known_people,
                    use_prefilter,
                    &mut scratch,
                    &mut candidates,
                )
            },
        );
        candidates.sort_by_key(|candidate| (candidate.span.start, candidate.priority));
        let lines = LineIndex::new(source);
        let mut findings = Vec::with_capacity(candidates.len());
        let mut utf16 = Utf16Cursor::default();
        for candidate in candidates {
            if self.is_suppressed(&candidate, &facts.directives, &lines) {
                continue;
            }
            let start = lines.position(source, candidate.span.start, &mut utf16);
            let end = lines.position(source, candidate.span.end, &mut Utf16Cursor::default());
            findings.push(Finding {
                matched: source
                    .get(candidate.span.range())
                    .unwrap_or_default()
                    .to_owned(),
                doc_url: doc_url(&candidate.rule_id),
                rule_id: candidate.rule_id,
                category: candidate.category,
                severity: candidate.severity,
                span: candidate.span,
                start,
                end,
                message: candidate.message,
                reframe: candidate.reframe,
                fix: candidate.fix,
                quoted: candidate.quoted,
            });
        }
        findings
    }

    /// Compiles, on every available core, the rules whose triggers occur in the first document.
    /// Compiling rule patterns is most of the time of a whole-process run on one file; the rules
    /// compile lazily anyway (this only starts them together), so a guess that misses a rule or
    /// takes one too many changes no finding.
    fn warm_up(&self, source: &str) {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        if threads < 2 {
            return;
        }
        let mut wanted: BTreeSet<(usize, usize)> = BTreeSet::new();
        for hit in self.book.triggers.find_overlapping_iter(source) {
            for &(rule_index, pattern) in &self.book.trigger_targets[hit.pattern().as_usize()] {
                if self.enabled[rule_index]
                    && !self.book.rules[rule_index]
                        .matchers
                        .pattern_compiled(pattern)
                {
                    wanted.insert((rule_index, pattern));
                }
            }
        }
        let patterns: Vec<(&Rule, usize)> = wanted
            .into_iter()
            .map(|(rule_index, pattern)| (&self.book.rules[rule_index], pattern))
            .collect();
        let threads = threads.min(patterns.len());
        if threads < 2 {
            return;
        }
        let next = AtomicUsize::new(0);
        let work = || {
            while let Some((rule, pattern)) =
                patterns.get(next.fetch_add(1, AtomicOrdering::Relaxed))
            {
                rule.matchers.pattern(*pattern);
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..threads {
                // A thread that cannot start leaves its share to the others (and to first use).
                let _ = std::thread::Builder::new().spawn_scoped(scope, work);
            }
            work();
        });
    }

    fn lint_block(
        &self,
        block: &ProseBlock,
        people: &Known<'_>,
        use_prefilter: bool,
        scratch: &mut Scratch,
        out: &mut Vec<Candidate>,
    ) {
        let text = block.text.as_str();
        let bytes = text.as_bytes();
        let first_new = out.len();
        // Rules run per sentence, and only on sentences holding one of their triggers: most
        // sentences hold none, so the regexes see a fraction of the text.
        let Scratch {
            sentences,
            work,
            hits,
        } = scratch;
        work.clear();
        hits.clear();
        if use_prefilter {
            for hit in self.book.triggers.find_overlapping_iter(text) {
                let trigger = hit.pattern().as_usize();
                if self.book.trigger_word_start[trigger]
                    && hit.start() > 0
                    && is_ascii_word_byte(bytes[hit.start() - 1])
                {
                    continue;
                }
                hits.push((trigger, hit.start(), hit.end()));
            }
        }
        if !use_prefilter || !hits.is_empty() {
            sentence_ranges(text, sentences);
        }
        if use_prefilter {
            let mut sentence = 0;
            for &(trigger, start, end) in hits.iter() {
                while sentences[sentence].end <= start && sentence + 1 < sentences.len() {
                    sentence += 1;
                }
                for &(rule_index, pattern) in &self.book.trigger_targets[trigger] {
                    if !self.enabled[rule_index] {
                        continue;
                    }
                    // A trigger can straddle a sentence break; give both sentences the pattern.
                    work.push((rule_index, pattern, sentence));
                    if end > sentences[sentence].end && sentence + 1 < sentences.len() {
                        work.push((rule_index, pattern, sentence + 1));
                    }
                }
            }
            work.sort_unstable();
            work.dedup();
        } else {
            for (rule_index, rule) in self.book.rules.iter().enumerate() {
                for pattern in 0..rule.matchers.pattern_count() {
                    work.extend(
                        (0..sentences.len()).map(|sentence| (rule_index, pattern, sentence)),
                    );
                }
            }
        }
        // Sorted by rule, then pattern, then sentence: the order findings are judged in below.
        for &(rule_index, pattern, sentence) in work.iter() {
            let rule = &self.book.rules[rule_index];
            if !self.enabled[rule_index] {
                continue;
            }
            let range = sentences[sentence].clone();
            let haystack = &text[range.clone()];
            let pattern = rule.matchers.pattern(pattern);
            // Most sentences a trigger points at hold no match: a plain search is cheaper than
            // setting up capture groups.
            if !pattern.is_match(haystack) {
                continue;
            }
            // A match the context checks refuse (not a person, a veto) may overlap a good one
            // that starts inside it ("My understanding is that Ahmed … did not act"): search
            // again from the next character rather than after the refused match.
            let mut captures = pattern.create_captures();
            let mut from = 0;
            while from <= haystack.len() {
                pattern.search_captures(&Input::new(haystack).range(from..), &mut captures);
                let Some(whole) = captures.get_match() else {
                    break;
                };
                let found = Found {
                    captures: &captures,
                    base: range.start,
                };
                from = if self.consider_match(block, people, rule_index, rule, found, out) {
                    whole.end().max(whole.start() + 1)
                } else {
                    whole.start() + 1
                };
                while from < haystack.len() && !haystack.is_char_boundary(from) {
                    from += 1;
                }
            }
        }
        if let Some(custom) = &self.custom {
            for hit in custom.automaton.find_iter(text) {
                let category = custom.categories[hit.pattern().as_usize()];
                let category_index = Category::ALL
                    .iter()
                    .position(|c| *c == category)
                    .unwrap_or(0);
                let span = hit.start()..hit.end();
                if !self.custom_enabled[category_index] || !is_whole_word(text, &span) {
                    continue;
                }
                let info = self.book.category(category);
                let candidate = self.candidate(
                    block,
                    span,
                    None,
                    category.custom_rule_id(),
                    category,
                    self.custom_severities[category_index],
                    info.map(|i| i.message.clone()).unwrap_or_default(),
                    info.map(|i| i.reframe.clone()).unwrap_or_default(),
                    None,
                    self.book.rules.len() + category_index,
                );
                if let Some(candidate) = candidate {
                    out.push(candidate);
                }
            }
        }
        // Two rules of one category on overlapping words are one problem: keep the earlier rule.
        let new = out.split_off(first_new);
        let mut kept: Vec<Candidate> = Vec::with_capacity(new.len());
        let mut ordered = new;
        ordered.sort_by_key(|c| (c.priority, c.span.start));
        for candidate in ordered {
            let overlaps = kept.iter().any(|other| {
                other.category == candidate.category
                    && other.span.start < candidate.span.end
                    && candidate.span.start < other.span.end
            });
            if !overlaps {
                kept.push(candidate);
            }
        }
        out.extend(kept);
    }

    fn consider_match(
        &self,
        block: &ProseBlock,
        people: &Known<'_>,
        rule_index: usize,
        rule: &Rule,
        found: Found<'_>,
        out: &mut Vec<Candidate>,
    ) -> bool {
        let Found { captures, base } = found;
        let Some(whole) = captures.get_match() else {
            return false;
        };
        let text = block.text.as_str();
        let whole_range = whole.start() + base..whole.end() + base;
        let span = captures
            .get_group_by_name("m")
            .map_or(whole_range.clone(), |m| m.start + base..m.end + base);
        if span.is_empty() {
            return false;
        }
        // Who is the subject? Every `who…` group that took part must be a person.
        let names = captures.group_info().pattern_names(whole.pattern());
        for (index, name) in names.enumerate() {
            let (Some(name), Some(group)) = (name, captures.get_group(index)) else {
                continue;
            };
            let group = group.start + base..group.end + base;
            if name.starts_with("who")
                && !self.is_person(&text[group.clone()], rule, &text[group.end..], people)
            {
                return false;
            }
            if name.starts_with("rel") && !is_one_clause(&text[group.clone()]) {
                return false;
            }
            if name.starts_with("gap") && !is_plain_gap(&text[group]) {
                return false;
            }
        }
        if rule
            .matchers
            .not_before()
            .is_some_and(|veto| veto.is_match(&text[span.end..]))
        {
            return false;
        }
        let window_start = floor_char_boundary(text, span.start.saturating_sub(96));
        if rule
            .matchers
            .not_after()
            .is_some_and(|veto| veto.is_match(&text[window_start..span.start]))
        {
            return false;
        }
        // "I should have known": the subject often sits just before the match.
        let word_before = text[..whole_range.start]
            .split_whitespace()
            .next_back()
            .unwrap_or("");
        let is_self = mentions_self(&text[whole_range.clone()]) || mentions_self(word_before);
        let message = match (&rule.self_message, is_self) {
            (Some(gentle), true) => gentle.clone(),
            _ => rule.message.clone(),
        };
        let mut severity = self.severities[rule_index];
        if rule.category == Category::Punitive && block.in_action_items {
            severity = severity.max(Severity::Error);
        }
        let candidate = self.candidate(
            block,
            span,
            Some(rule_index),
            rule.id.clone(),
            rule.category,
            severity,
            message,
            rule.reframe.clone(),
            None,
            rule_index,
        );
        let Some(candidate) = candidate else {
            return false;
        };
        out.push(candidate);
        true
    }

    #[allow(clippy::too_many_arguments)] // one constructor shared by rules and custom terms
    fn candidate(
        &self,
        block: &ProseBlock,
        span: Range<usize>,
        rule_index: Option<usize>,
        rule_id: String,
        category: Category,
        mut severity: Severity,
        message: String,
        reframe: String,
        fix: Option<Fix>,
        priority: usize,
    ) -> Option<Candidate> {
        if block.is_masked(&span) {
            return None;
        }
        let matched_lower = block.text[span.clone()].to_lowercase();
        if self
            .allowed
            .iter()
            .any(|term| matched_lower.contains(term.as_str()))
        {
            return None;
        }
        let quoted = block.in_blockquote || block.is_quoted(span.start);
        if quoted {
            match self.quoted {
                QuotedPolicy::Off => return None,
                QuotedPolicy::Lower => severity = severity.lowered(),
                QuotedPolicy::Normal => {}
            }
        }
        if severity < self.min_severity {
            return None;
        }
        let source_span = Span {
            start: block.source_start(span.start),
            end: block.source_end(span.end),
        };
        if source_span.end <= source_span.start {
            return None;
        }
        let fix = fix.or_else(|| {
            let rule = self.book.rules.get(rule_index?)?;
            let word = &block.text[span.clone()];
            fix_for(rule, word, source_span)
        });
        Some(Candidate {
            rule_id,
            category,
            severity,
            span: source_span,
            message,
            reframe,
            fix,
            quoted,
            priority,
        })
    }

    fn is_person(&self, subject: &str, rule: &Rule, after: &str, people: &Known<'_>) -> bool {
        let subject = subject.trim();
        let lower = subject.to_lowercase();
        if self.book.pronouns.contains(&lower) {
            return true;
        }
        let last_word = lower.split_whitespace().last().unwrap_or("");
        let singular = |word: &str| -> Vec<String> {
            let mut forms = vec![word.to_owned()];
            if let Some(stem) = word.strip_suffix("es") {
                forms.push(stem.to_owned());
            }
            if let Some(stem) = word.strip_suffix('s') {
                forms.push(stem.to_owned());
            }
            forms
        };
        let is_role = singular(last_word)
            .iter()
            .any(|form| self.book.roles.contains(form))
            && !is_software_agent(&lower);
        let starts_with_capital = subject.chars().next().is_some_and(char::is_uppercase);
        let is_single_word = !subject.contains(char::is_whitespace);
        if is_role && !(is_single_word && starts_with_capital && !self.book.roles.contains(&lower))
        {
            return true;
        }
        if !is_single_word || !is_name_shaped(subject) {
            return false;
        }
        // A capitalised word: a known participant or common given name, or any name when the verb
        // is one only people do ("forgot", "neglected").
        if people.contains(&lower) || self.book.given_names.contains(&lower) {
            return true;
        }
        if self.book.not_names.contains(subject) {
            return false;
        }
        let following: Vec<String> = after
            .split_whitespace()
            .take(4)
            .map(str::to_lowercase)
            .collect();
        following.iter().any(|word| {
            rule.any_capitalised_name_for
                .iter()
                .any(|verb| word.starts_with(verb.as_str()))
        })
    }

    fn is_suppressed(
        &self,
        candidate: &Candidate,
        directives: &[Directive],
        lines: &LineIndex,
    ) -> bool {
        let applies = |directive: &Directive| {
            directive.rules.is_empty()
                || directive
                    .rules
                    .iter()
                    .any(|id| *id == candidate.rule_id || id == candidate.category.as_str())
        };
        let mut disabled_all = false;
        let mut disabled: BTreeSet<&str> = BTreeSet::new();
        let finding_line = lines.line_of(candidate.span.start);
        for directive in directives {
            match directive.kind {
                DirectiveKind::DisableNextLine => {
                    if lines.line_of(directive.end) + 1 == finding_line && applies(directive) {
                        return true;
                    }
                }
                DirectiveKind::Disable if directive.start <= candidate.span.start => {
                    if directive.rules.is_empty() {
                        disabled_all = true;
                    } else {
                        disabled.extend(directive.rules.iter().map(String::as_str));
                    }
                }
                DirectiveKind::Enable if directive.start <= candidate.span.start => {
                    if directive.rules.is_empty() {
                        disabled_all = false;
                        disabled.clear();
                    } else {
                        for id in &directive.rules {
                            disabled.remove(id.as_str());
                        }
                    }
                }
                DirectiveKind::Disable | DirectiveKind::Enable => {}
            }
        }
        disabled_all
            || disabled.contains(candidate.rule_id.as_str())
            || disabled.contains(candidate.category.as_str())
    }
}

/// A regex match inside one sentence that starts at `base` in the block text.
struct Found<'c> {
    captures: &'c Captures,
    base: usize,
}

/// Buffers reused from block to block within one document.
#[derive(Default)]
struct Scratch {
    sentences: Vec<Range<usize>>,
    /// (rule, pattern, sentence) triples to run.
    work: Vec<(usize, usize, usize)>,
    /// (trigger, start, end) of the trigger hits in the block.
    hits: Vec<(usize, usize, usize)>,
}

/// What `(?-u:\b)` counts as a word character.
fn is_ascii_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Splits block text into sentences: after `.`, `!` or `?` (and closing quotes or brackets)
/// followed by whitespace. Abbreviations may split early; a rule then sees a shorter sentence.
fn sentence_ranges(text: &str, ranges: &mut Vec<Range<usize>>) {
    ranges.clear();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        if matches!(bytes[index], b'.' | b'!' | b'?' | b';') {
            let mut end = index + 1;
            while end < bytes.len()
                && matches!(bytes[end], b'"' | b')' | b'\'' | b'.' | b'!' | b'?')
            {
                end += 1;
            }
            if end < bytes.len() && bytes[end].is_ascii_whitespace() {
                ranges.push(start..end);
                start = end;
                index = end;
                continue;
            }
        }
        index += 1;
    }
    if start < bytes.len() || ranges.is_empty() {
        ranges.push(start..bytes.len());
    }
}

/// Participant names, lower-cased, with first names of multi-word names as well.
struct Known<'a> {
    names: &'a [String],
}

impl<'a> Known<'a> {
    fn new(names: &'a [String]) -> Known<'a> {
        Known { names }
    }

    fn contains(&self, lower_word: &str) -> bool {
        self.names.iter().any(|name| {
            name.to_lowercase() == lower_word
                || name
                    .split_whitespace()
                    .next()
                    .is_some_and(|first| first.to_lowercase() == lower_word)
        })
    }
}

/// Whether the words are the writer speaking about themselves ("I forgot", "my fault").
fn mentions_self(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|word| word == "I" || matches!(word.to_lowercase().as_str(), "my" | "me" | "myself"))
}

fn is_whole_word(text: &str, span: &Range<usize>) -> bool {
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// The safe mechanical edit for a finding, if the rule offers one.
fn fix_for(rule: &Rule, word: &str, span: Span) -> Option<Fix> {
    if let Some(replacement) = &rule.replacement {
        let replacement = if word.chars().next().is_some_and(char::is_uppercase) {
            capitalise(replacement)
        } else {
            replacement.clone()
        };
        return Some(Fix { span, replacement });
    }
    match rule.fix? {
        FixKind::DeleteWord => Some(Fix {
            span,
            replacement: String::new(),
        }),
    }
}

fn capitalise(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// Line starts of a document, for turning byte offsets into positions.
struct LineIndex {
    starts: Vec<usize>,
}

/// Remembers the last UTF-16 column computed on a line, so sorted findings cost O(text).
#[derive(Default)]
struct Utf16Cursor {
    offset: usize,
    column_utf16: usize,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }

    fn position(&self, text: &str, offset: usize, cursor: &mut Utf16Cursor) -> Position {
        let line = self.line_of(offset);
        let line_start = self.starts[line - 1];
        let offset = floor_char_boundary(text, offset);
        let (from, mut units) = if cursor.offset >= line_start && cursor.offset <= offset {
            (cursor.offset, cursor.column_utf16)
        } else {
            (line_start, 0)
        };
        units += text[from..offset]
            .chars()
            .map(char::len_utf16)
            .sum::<usize>();
        cursor.offset = offset;
        cursor.column_utf16 = units;
        Position {
            line,
            column: offset - line_start + 1,
            column_utf16: units + 1,
        }
    }
}

/// "Agent" names a person only in a service role ("a support agent"); in incident reports it is
/// far more often software ("the monitoring agent missed two heartbeats").
fn is_software_agent(subject: &str) -> bool {
    const PEOPLE_AGENTS: [&str; 12] = [
        "support", "customer", "service", "help", "helpdesk", "desk", "call", "contact", "human",
        "sales", "field", "booking",
    ];
    let mut words = subject.split_whitespace().rev();
    let last = words.next().unwrap_or_default();
    if !matches!(last, "agent" | "agents") {
        return false;
    }
    !words
        .next()
        .is_some_and(|word| PEOPLE_AGENTS.contains(&word))
}

/// Words that start a new clause: after one, a verb belongs to another subject.
const CLAUSE_BREAKS: [&str; 17] = [
    "that", "which", "who", "whom", "whose", "when", "where", "while", "and", "but", "because",
    "so", "then", "after", "before", "until", "if",
];

/// The words of a phrase, lower-cased, without the punctuation around them.
fn phrase_words(phrase: &str) -> impl Iterator<Item = String> + '_ {
    phrase
        .split_whitespace()
        .map(|word| {
            word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '-'))
                .to_lowercase()
        })
        .filter(|word| !word.is_empty())
}

/// Whether what follows a subject ("at the trust", "who merged the PR", "a recent hire", "on
/// shift, who") stays one phrase: one relative word may open it, but a second one or a
/// conjunction means the verb after it belongs to something else ("the engineer who deployed the
/// service that failed to start").
fn is_one_clause(phrase: &str) -> bool {
    /// Longer than this, a "phrase" between commas is more likely a clause of its own.
    const LONGEST: usize = 100;
    if phrase.len() > LONGEST {
        return false;
    }
    let mut relative_seen = false;
    phrase_words(phrase).all(|word| {
        if !relative_seen && matches!(word.as_str(), "who" | "that") {
            relative_seen = true;
            return true;
        }
        !CLAUSE_BREAKS.contains(&word.as_str())
    })
}

/// Whether a person's verb and the words up to what made the action wrong ("ran the drain
/// command with *the wrong* …", "applied a change *intended for a different* region") stay one
/// action: a new clause, or a verb of finding out or fixing ("corrected the incorrect value",
/// "… and found the wrong certificate"), means the wrongness is not in what the person did.
fn is_plain_gap(gap: &str) -> bool {
    const FINDING_OUT: [&str; 23] = [
        "found",
        "saw",
        "noticed",
        "discovered",
        "realised",
        "realized",
        "identified",
        "spotted",
        "detected",
        "flagged",
        "replaced",
        "fixed",
        "corrected",
        "reverted",
        "removed",
        "confirmed",
        "caught",
        "reported",
        "investigated",
        "explained",
        "diagnosed",
        "traced",
        "undid",
    ];
    phrase_words(gap).all(|word| {
        !CLAUSE_BREAKS.contains(&word.as_str()) && !FINDING_OUT.contains(&word.as_str())
    })
}

/// A capital letter followed by lower-case letters only ("Priya", "Łukasz"): the shape of a name
/// in subject position. The patterns accept a wider set of characters there (see `NAME_START` in
/// rules.rs), so the exact check is made here.
fn is_name_shaped(word: &str) -> bool {
    let mut letters = word.chars();
    letters.next().is_some_and(char::is_uppercase)
        && letters.as_str().chars().next().is_some()
        && letters.all(char::is_lowercase)
}
