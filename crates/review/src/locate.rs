//! Finding the line of a field path (`actions[1].due`) in front-matter YAML, for error messages.
//!
//! A best-effort walk over the text: each key is looked for after the previous one, and `[n]`
//! skips to the n-th list item at that level. When the walk gets lost it returns `None` and the
//! error is reported by field alone.

pub(crate) fn line_of_field(yaml: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent_of = |i: usize| lines[i].len() - lines[i].trim_start().len();
    // Index of the line the walk stands on, and the least indentation the next key may have.
    let mut at: Option<usize> = None;
    let mut min_indent = 0usize;
    for segment in path.split('.') {
        let (key, index) = match segment.find('[') {
            Some(open) => {
                let n = segment[open + 1..]
                    .trim_end_matches(']')
                    .parse::<usize>()
                    .ok()?;
                (&segment[..open], Some(n))
            }
            None => (segment, None),
        };
        // The first key of a list item sits on the item's own `- ` line.
        let start = at.map_or(0, |i| {
            if lines[i].trim_start().starts_with("- ") {
                i
            } else {
                i + 1
            }
        });
        let found = (start..lines.len()).find(|&i| {
            let trimmed = lines[i].trim_start().trim_start_matches("- ");
            indent_of(i) >= min_indent && trimmed.starts_with(&format!("{key}:"))
        })?;
        at = Some(found);
        min_indent = indent_of(found) + 1;
        if let Some(n) = index {
            let item = (found + 1..lines.len())
                .filter(|&i| lines[i].trim_start().starts_with("- "))
                .nth(n)?;
            at = Some(item);
            min_indent = indent_of(item);
        }
    }
    at.map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "id: X\nseverity: P0\ntimes:\n  resolved: x\nactions:\n- number: 1\n  due: a\n- number: 2\n  due: b\n";

    #[test]
    fn top_level_and_nested_keys_are_found() {
        assert_eq!(line_of_field(YAML, "severity"), Some(2));
        assert_eq!(line_of_field(YAML, "times.resolved"), Some(4));
    }

    #[test]
    fn list_items_are_counted() {
        assert_eq!(line_of_field(YAML, "actions[1].due"), Some(9));
        assert_eq!(line_of_field(YAML, "actions[0]"), Some(6));
    }

    #[test]
    fn an_unknown_path_gives_none() {
        assert_eq!(line_of_field(YAML, "participants[0].name"), None);
    }
}
