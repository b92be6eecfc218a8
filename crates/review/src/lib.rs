//! Review documents as files: Markdown with YAML front matter, and rendering for people.
//!
//! "Postmortems as code": [`write_markdown`] turns an [`IncidentRecord`] into one Markdown file
//! whose front matter holds every structured field (times with offsets, severity, services, tags,
//! factors, action items, participants, the timeline) and whose body is the review; [`parse_markdown`]
//! reads it back. Writing what was read gives the same bytes, so a team can keep reviews in git
//! and still use the server. [`render_html`] and [`plain_text`] serve the UI and search.
//!
//! Neighbours: `secondstory-domain` defines the types and their validation; the CLI reads and
//! writes the files; the store never sees YAML.

mod front_matter;
mod locate;
mod render;

pub use front_matter::{
    DocumentError, ParseContext, parse_json, parse_markdown, write_json, write_markdown,
};
pub use render::{diff_unified, plain_text, render_html};
