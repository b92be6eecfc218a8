//! Side-by-side line diffs for review history and the merge view.

use similar::{DiffOp, TextDiff};

/// One row of a side-by-side diff: the old line on the left, the new one on the right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    /// equal, delete, insert or change.
    pub class: &'static str,
    pub old_no: String,
    pub old: String,
    pub new_no: String,
    pub new: String,
}

/// Rows for two texts, every line of both kept (a merge must never hide either side).
pub fn side_by_side(old: &str, new: &str) -> Vec<DiffRow> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let line = |lines: &[&str], i: usize| {
        lines
            .get(i)
            .map(|l| l.trim_end_matches(['\n', '\r']).to_owned())
            .unwrap_or_default()
    };
    let diff = TextDiff::from_lines(old, new);
    let mut rows = Vec::new();
    for op in diff.ops() {
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for k in 0..len {
                    rows.push(DiffRow {
                        class: "equal",
                        old_no: (old_index + k + 1).to_string(),
                        old: line(&old_lines, old_index + k),
                        new_no: (new_index + k + 1).to_string(),
                        new: line(&new_lines, new_index + k),
                    });
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for k in 0..old_len {
                    rows.push(DiffRow {
                        class: "delete",
                        old_no: (old_index + k + 1).to_string(),
                        old: line(&old_lines, old_index + k),
                        new_no: String::new(),
                        new: String::new(),
                    });
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for k in 0..new_len {
                    rows.push(DiffRow {
                        class: "insert",
                        old_no: String::new(),
                        old: String::new(),
                        new_no: (new_index + k + 1).to_string(),
                        new: line(&new_lines, new_index + k),
                    });
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for k in 0..old_len.max(new_len) {
                    rows.push(DiffRow {
                        class: "change",
                        old_no: if k < old_len {
                            (old_index + k + 1).to_string()
                        } else {
                            String::new()
                        },
                        old: if k < old_len {
                            line(&old_lines, old_index + k)
                        } else {
                            String::new()
                        },
                        new_no: if k < new_len {
                            (new_index + k + 1).to_string()
                        } else {
                            String::new()
                        },
                        new: if k < new_len {
                            line(&new_lines, new_index + k)
                        } else {
                            String::new()
                        },
                    });
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_both_sides_appears_once() {
        let rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n");
        let old: Vec<&str> = rows
            .iter()
            .filter(|r| !r.old_no.is_empty())
            .map(|r| r.old.as_str())
            .collect();
        let new: Vec<&str> = rows
            .iter()
            .filter(|r| !r.new_no.is_empty())
            .map(|r| r.new.as_str())
            .collect();
        assert_eq!(old, ["a", "b", "c"]);
        assert_eq!(new, ["a", "B", "c", "d"]);
        assert!(rows.iter().any(|r| r.class == "change"));
        assert!(rows.iter().any(|r| r.class == "insert"));
    }
}
