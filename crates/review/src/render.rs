//! Review Markdown for people: sanitised HTML, plain text for search, and revision diffs.
//!
//! The HTML allow-list is narrow on purpose (no scripts, styles, iframes, svg or math): reviews
//! are written by many people and shown to many more.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// Markdown to HTML that is safe to put in a page.
pub fn render_html(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(markdown, options()));
    ammonia::Builder::default()
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(&html)
        .to_string()
}

/// The words of a review without markup, for full-text search.
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => text.push('\n'),
            Event::Start(Tag::TableCell) => text.push(' '),
            _ => {}
        }
    }
    text
}

/// A unified diff between two revisions, labelled with their names.
pub fn diff_unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_event_handlers_are_removed() {
        let html = render_html(
            "Hi <script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(1))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn tables_and_code_render() {
        let html = render_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n");
        assert!(
            html.contains("<table>") && html.contains("<code>"),
            "{html}"
        );
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            plain_text("# Title\n\nSome *bold* `code`.\n"),
            "Title\nSome bold code.\n"
        );
    }

    #[test]
    fn diffs_show_changed_lines() {
        let diff = diff_unified("a\nb\n", "a\nc\n", "revision 1", "revision 2");
        assert!(diff.contains("-b\n+c\n"), "{diff}");
        assert!(diff.contains("--- revision 1"), "{diff}");
    }
}
