//! Review revisions: every save of a review document is kept, with author and time.
//!
//! Nothing a person writes is ever lost: the store appends a revision on each save and refuses a
//! save based on a stale version. Parsing and rendering the Markdown lives in `secondstory-review`.

use serde::{Deserialize, Serialize};

use crate::time::RecordedTime;

/// One saved state of a review document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// 1 for the first save, then 2, 3, … per incident.
    pub number: i64,
    pub author: String,
    pub saved_at: RecordedTime,
    pub body: String,
}

/// A revision without its body, for history listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionSummary {
    pub number: i64,
    pub author: String,
    pub saved_at: RecordedTime,
    pub bytes: usize,
}

impl From<&Revision> for RevisionSummary {
    fn from(r: &Revision) -> Self {
        RevisionSummary {
            number: r.number,
            author: r.author.clone(),
            saved_at: r.saved_at.clone(),
            bytes: r.body.len(),
        }
    }
}

/// The review template's default sections, each with the one-line prompt shown to the writer.
pub const DEFAULT_SECTIONS: [(&str, &str); 13] = [
    (
        "Summary",
        "What happened, in a few sentences a newcomer can follow.",
    ),
    (
        "Impact",
        "Who and what was affected, for how long, and how we know.",
    ),
    (
        "Lead-up",
        "The conditions and changes in place before the incident, as people saw them then.",
    ),
    (
        "Detection",
        "How the problem became visible, and what made it hard or easy to see.",
    ),
    (
        "Response and recovery",
        "What people knew, saw and tried, and why it made sense at the time.",
    ),
    (
        "Timeline",
        "Key moments, generated from the timeline's key events.",
    ),
    (
        "Contributing factors",
        "The conditions that combined; there is never just one.",
    ),
    (
        "What went well",
        "Expertise, tools and luck-free moves worth keeping.",
    ),
    (
        "What was difficult",
        "Friction, missing information, competing goals, time pressure.",
    ),
    (
        "Where we got lucky",
        "What limited the damage that we cannot count on next time.",
    ),
    (
        "What surprised us",
        "Where the system behaved differently from how we imagined it.",
    ),
    ("Open questions", "What we still do not understand."),
    (
        "Action items",
        "System changes that make the next response easier; each with an owner.",
    ),
];

/// A new review document: every default section with its prompt as a comment the writer replaces.
pub fn template(title: &str) -> String {
    let mut body = format!("# {title}\n");
    for (heading, prompt) in DEFAULT_SECTIONS {
        body.push_str(&format!("\n## {heading}\n\n<!-- {prompt} -->\n"));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_every_section_and_no_root_cause_heading() {
        let body = template("Orders API write errors");
        for (heading, _) in DEFAULT_SECTIONS {
            assert!(
                body.contains(&format!("## {heading}\n")),
                "missing {heading}"
            );
        }
        assert!(!body.to_lowercase().contains("root cause"));
    }
}
