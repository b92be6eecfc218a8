//! Turns a Markdown document into the prose the rules may look at.
//!
//! pulldown-cmark's offset iterator tells us where each piece of text came from. We keep only the
//! author's prose: code (fenced, indented, inline), front matter, link URLs, autolinks, bare URLs,
//! HTML blocks and comments never reach the rules. Each paragraph, heading, list item or table cell
//! becomes one [`ProseBlock`]: its text with inline code replaced by a neutral word, plus a map back
//! to source byte offsets. The engine (engine.rs) runs the rules per block; suppression comments and
//! front-matter participants found on the way are collected here as well.

use std::cell::OnceCell;
use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

/// Stands in for inline code so that sentences keep their shape ("`deploy.sh` failed to start"
/// becomes "code failed to start", a system subject) without exposing the code to the rules.
const CODE_PLACEHOLDER: &str = "code";

/// Maps a run of block text back to the source.
#[derive(Debug, Clone, Copy)]
struct Segment {
    text_start: usize,
    text_len: usize,
    source_start: usize,
    source_len: usize,
}

/// One unit of prose handed to the rules.
#[derive(Debug, Default)]
pub(crate) struct ProseBlock {
    pub(crate) text: String,
    segments: Vec<Segment>,
    /// Inside a blockquote: someone else's words.
    pub(crate) in_blockquote: bool,
    /// Under an "Action items" (or follow-up/remediation) heading.
    pub(crate) in_action_items: bool,
    /// Quotations and bare URLs, found on first use: most blocks never produce a candidate, so
    /// most blocks never pay for the extra pass.
    marks: OnceCell<Marks>,
}

/// Ranges of a block's text that change how a finding there is treated.
#[derive(Debug, Default)]
struct Marks {
    /// Bare URLs inside the text: never reported.
    masked: Vec<Range<usize>>,
    /// Ranges inside "…" or “…”.
    quoted: Vec<Range<usize>>,
}

/// Appends `text` with every non-ASCII space (no-break, em, ideographic, line separator …)
/// replaced by as many ASCII spaces as it has bytes: offsets stay those of the source, and the
/// rule patterns can use ASCII `\s`, which costs far less to compile than Unicode's.
fn push_with_ascii_spaces(out: &mut String, text: &str) {
    if text.is_ascii() {
        out.push_str(text);
        return;
    }
    for character in text.chars() {
        if character.is_whitespace() && !character.is_ascii() {
            out.extend(std::iter::repeat_n(' ', character.len_utf8()));
        } else {
            out.push(character);
        }
    }
}

impl ProseBlock {
    fn clear(&mut self) {
        self.text.clear();
        self.segments.clear();
        self.marks.take();
    }

    fn push(&mut self, text: &str, source: Range<usize>) {
        if text.is_empty() {
            return;
        }
        self.segments.push(Segment {
            text_start: self.text.len(),
            text_len: text.len(),
            source_start: source.start,
            source_len: source.end.saturating_sub(source.start),
        });
        push_with_ascii_spaces(&mut self.text, text);
    }

    /// Source offset of a block-text offset used as the start of a span.
    pub(crate) fn source_start(&self, offset: usize) -> usize {
        let index = self
            .segments
            .partition_point(|s| s.text_start <= offset)
            .saturating_sub(1);
        match self.segments.get(index) {
            Some(segment) => segment.map(offset, false),
            None => 0,
        }
    }

    /// Source offset of a block-text offset used as the (exclusive) end of a span.
    pub(crate) fn source_end(&self, offset: usize) -> usize {
        let index = self
            .segments
            .partition_point(|s| s.text_start < offset)
            .saturating_sub(1);
        match self.segments.get(index) {
            Some(segment) => segment.map(offset, true),
            None => 0,
        }
    }

    fn marks(&self) -> &Marks {
        self.marks.get_or_init(|| Marks::find(&self.text))
    }
    /// Whether a block-text offset lies inside quotation marks.
    pub(crate) fn is_quoted(&self, offset: usize) -> bool {
        self.marks()
            .quoted
            .iter()
            .any(|range| range.contains(&offset))
    }

    /// Whether a span touches a bare URL.
    pub(crate) fn is_masked(&self, span: &Range<usize>) -> bool {
        self.marks()
            .masked
            .iter()
            .any(|range| range.start < span.end && span.start < range.end)
    }
}

impl Marks {
    fn find(text: &str) -> Marks {
        let mut marks = Marks::default();
        // Straight quotes pair up in order; curly quotes open and close explicitly. An unpaired
        // quote (12" screen, a stray mark) quotes nothing rather than the rest of the block.
        let mut straight_open: Option<usize> = None;
        let mut curly_open: Option<usize> = None;
        // Single quotes double as apostrophes ("don't", "engineers' laptops"), so one opens only
        // before a letter after a space and closes only after a word before a non-letter, within
        // a short span: a quoted term ('operator error') or a short quoted remark.
        let mut single_open: Option<usize> = None;
        for (index, character) in text.char_indices() {
            if matches!(character, '\'' | '‘' | '’') {
                let before = text[..index].chars().next_back();
                let after = text[index + character.len_utf8()..].chars().next();
                let opens = character != '’'
                    && before.is_none_or(|c| c.is_whitespace() || c == '(' || c == '[')
                    && after.is_some_and(char::is_alphanumeric);
                let closes = character != '‘'
                    && before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '!' | '?'))
                    && after.is_none_or(|c| !c.is_alphanumeric());
                match single_open {
                    Some(start) if closes && index - start <= MAX_SINGLE_QUOTED => {
                        marks.quoted.push(start..index + character.len_utf8());
                        single_open = None;
                    }
                    Some(start) if index - start > MAX_SINGLE_QUOTED => {
                        single_open = opens.then_some(index);
                    }
                    None if opens => single_open = Some(index),
                    _ => {}
                }
                continue;
            }
            match character {
                '"' => match straight_open.take() {
                    Some(start) => marks.quoted.push(start..index + 1),
                    None => straight_open = Some(index),
                },
                '“' => curly_open = Some(index),
                '”' => {
                    if let Some(start) = curly_open.take() {
                        marks.quoted.push(start..index + character.len_utf8());
                    }
                }
                _ => {}
            }
        }
        for marker in ["http://", "https://", "www."] {
            let mut from = 0;
            while let Some(found) = text[from..].find(marker) {
                let start = from + found;
                let end = text[start..]
                    .find(|c: char| c.is_whitespace() || c == '>' || c == ')')
                    .map_or(text.len(), |length| start + length);
                marks.masked.push(start..end);
                from = end.max(start + marker.len());
            }
        }
        marks
    }
}

/// The longest run, in bytes, that a pair of single quotes may enclose.
const MAX_SINGLE_QUOTED: usize = 120;

impl Segment {
    fn map(&self, offset: usize, is_end: bool) -> usize {
        let within = offset.saturating_sub(self.text_start);
        if self.text_len == self.source_len {
            self.source_start + within.min(self.source_len)
        } else if is_end {
            // Escapes and entities make text and source lengths differ: widen to the whole run.
            self.source_start + self.source_len
        } else {
            self.source_start
        }
    }
}

/// A suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirectiveKind {
    Disable,
    Enable,
    DisableNextLine,
}

/// `<!-- secondstory-disable rule-a rule-b -->` and friends, with where they were written.
#[derive(Debug, Clone)]
pub(crate) struct Directive {
    pub(crate) kind: DirectiveKind,
    /// Rule or category ids; empty means every rule.
    pub(crate) rules: Vec<String>,
    /// Source offset where the comment starts.
    pub(crate) start: usize,
    /// Source offset where the comment ends.
    pub(crate) end: usize,
}

/// What the scan learned about the document besides its prose.
#[derive(Debug, Default)]
pub(crate) struct DocumentFacts {
    pub(crate) directives: Vec<Directive>,
}

fn is_action_items_heading(heading: &str) -> bool {
    let lower = heading.to_lowercase();
    [
        "action item",
        "follow-up",
        "follow up",
        "followup",
        "remediation",
        "next step",
        "corrective",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Walks the document, calling `on_block` for every prose block. `on_front_matter` receives the
/// front matter text (YAML or TOML) before any block, so names found there can inform the rules.
pub(crate) fn scan(
    source: &str,
    mut on_front_matter: impl FnMut(&str),
    mut on_block: impl FnMut(&ProseBlock),
) -> DocumentFacts {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut facts = DocumentFacts::default();
    let mut block = ProseBlock::default();
    let mut skip_depth = 0usize; // inside code blocks, metadata, autolinks: text is not prose
    let mut blockquote_depth = 0usize;
    let mut autolink_stack: Vec<bool> = Vec::new();
    let mut action_items_level: Option<usize> = None;
    let mut in_metadata = false;
    let mut html_block: Option<(usize, String)> = None;

    let mut flush = |block: &mut ProseBlock, blockquote_depth: usize, in_action: bool| {
        if !block.text.trim().is_empty() {
            block.in_blockquote = blockquote_depth > 0;
            block.in_action_items = in_action;
            on_block(block);
        }
        block.clear();
    };

    for (event, range) in Parser::new_ext(source, options).into_offset_iter() {
        match event {
            Event::Start(tag) => match tag {
                Tag::Emphasis
                | Tag::Strong
                | Tag::Strikethrough
                | Tag::Superscript
                | Tag::Subscript
                | Tag::Image { .. } => {}
                Tag::Link { link_type, .. } => {
                    let is_autolink = matches!(link_type, LinkType::Autolink | LinkType::Email);
                    if is_autolink {
                        skip_depth += 1;
                    }
                    autolink_stack.push(is_autolink);
                }
                other => {
                    flush(&mut block, blockquote_depth, action_items_level.is_some());
                    match other {
                        Tag::CodeBlock(_) => skip_depth += 1,
                        Tag::MetadataBlock(_) => {
                            skip_depth += 1;
                            in_metadata = true;
                        }
                        Tag::HtmlBlock => html_block = Some((range.start, String::new())),
                        Tag::BlockQuote(_) => blockquote_depth += 1,
                        _ => {}
                    }
                }
            },
            Event::End(tag_end) => match tag_end {
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Superscript
                | TagEnd::Subscript
                | TagEnd::Image => {}
                TagEnd::Link => {
                    // Autolinks show their URL as text, so they opened a skip; other links did not.
                    if autolink_stack.pop() == Some(true) {
                        skip_depth = skip_depth.saturating_sub(1);
                    }
                }
                other => {
                    if let TagEnd::Heading(level) = other {
                        let level = level as usize;
                        if action_items_level.is_some_and(|open| level <= open) {
                            action_items_level = None;
                        }
                        if is_action_items_heading(&block.text) {
                            action_items_level = Some(level);
                        }
                        // The heading itself belongs to its own section.
                        flush(&mut block, blockquote_depth, action_items_level.is_some());
                        continue;
                    }
                    flush(&mut block, blockquote_depth, action_items_level.is_some());
                    match other {
                        TagEnd::CodeBlock => skip_depth = skip_depth.saturating_sub(1),
                        TagEnd::MetadataBlock(_) => {
                            skip_depth = skip_depth.saturating_sub(1);
                            in_metadata = false;
                        }
                        TagEnd::HtmlBlock => {
                            if let Some((start, html)) = html_block.take() {
                                parse_directives(&html, start, &mut facts.directives);
                            }
                        }
                        TagEnd::BlockQuote(_) => {
                            blockquote_depth = blockquote_depth.saturating_sub(1)
                        }
                        _ => {}
                    }
                }
            },
            Event::Text(text) => {
                if in_metadata {
                    on_front_matter(&text);
                } else if skip_depth == 0 {
                    block.push(&text, range);
                }
            }
            Event::Code(_) => {
                if skip_depth == 0 {
                    block.push(CODE_PLACEHOLDER, range);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if skip_depth == 0 {
                    block.push(" ", range);
                }
            }
            Event::Html(html) => {
                if let Some((_, collected)) = html_block.as_mut() {
                    collected.push_str(&html);
                } else {
                    parse_directives(&html, range.start, &mut facts.directives);
                }
            }
            Event::InlineHtml(html) => {
                parse_directives(&html, range.start, &mut facts.directives);
                // An inline tag separates words the way a space would.
                if skip_depth == 0 {
                    block.push(" ", range.start..range.start);
                }
            }
            Event::FootnoteReference(_) | Event::TaskListMarker(_) | Event::Rule => {}
            Event::InlineMath(_) | Event::DisplayMath(_) => {}
        }
    }
    flush(&mut block, blockquote_depth, action_items_level.is_some());
    if let Some((start, html)) = html_block.take() {
        parse_directives(&html, start, &mut facts.directives);
    }
    facts
}

/// Finds `secondstory-…` comments in a piece of HTML that starts at `base` in the source.
fn parse_directives(html: &str, base: usize, directives: &mut Vec<Directive>) {
    let mut from = 0;
    while let Some(found) = html[from..].find("<!--") {
        let start = from + found;
        let body_start = start + 4;
        let Some(close) = html[body_start..].find("-->") else {
            break;
        };
        let body = html[body_start..body_start + close].trim();
        let end = body_start + close + 3;
        from = end;
        let mut words = body.split_whitespace();
        let kind = match words.next() {
            Some("secondstory-disable") => DirectiveKind::Disable,
            Some("secondstory-enable") => DirectiveKind::Enable,
            Some("secondstory-disable-next-line") => DirectiveKind::DisableNextLine,
            _ => continue,
        };
        let rules = words
            .flat_map(|word| word.split(','))
            .map(str::trim)
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect();
        directives.push(Directive {
            kind,
            rules,
            start: base + start,
            end: base + end,
        });
    }
}

/// Names listed under `participants:`, `authors:` or `responders:` in YAML (or TOML) front matter:
/// inline lists (`[A, B]`), block lists (`- A`, `- name: A`, `- {name: A, role: IC}`) and arrays.
pub(crate) fn front_matter_names(front_matter: &str) -> Vec<String> {
    const KEYS: [&str; 3] = ["participants", "authors", "responders"];
    let mut names = Vec::new();
    let mut in_list = false;
    for line in front_matter.lines() {
        let trimmed = line.trim();
        let is_indented_item = trimmed.starts_with('-') && (line.starts_with(' ') || in_list);
        if in_list && is_indented_item {
            push_name(trimmed.trim_start_matches('-'), &mut names);
            continue;
        }
        if in_list && (line.starts_with(' ') || line.starts_with('\t')) && !trimmed.is_empty() {
            // Continuation of a mapping item (`  role: IC`): not a name.
            if let Some(value) = trimmed.strip_prefix("name:") {
                push_name(value, &mut names);
            }
            continue;
        }
        in_list = false;
        let Some((key, value)) = trimmed.split_once([':', '=']) else {
            continue;
        };
        if !KEYS.contains(&key.trim().trim_matches('"')) {
            continue;
        }
        let value = value.trim();
        if value.is_empty() {
            in_list = true;
        } else {
            let inner = value.trim_start_matches('[').trim_end_matches(']');
            for item in inner.split(',') {
                push_name(item, &mut names);
            }
        }
    }
    names
}

fn push_name(item: &str, names: &mut Vec<String>) {
    let mut item = item
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    if let Some((_, value)) = item.split_once("name:") {
        item = value.split(',').next().unwrap_or("").trim();
    }
    let item = item
        .split('(')
        .next()
        .unwrap_or("")
        .split('<')
        .next()
        .unwrap_or("");
    let name = item
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '@')
        .trim();
    if !name.is_empty() && name.chars().any(char::is_alphabetic) && !name.contains(':') {
        names.push(name.to_owned());
    }
}
