//! Second Story's domain: the words of blameless post-incident learning as types.
//!
//! This crate is pure: no I/O, no async, no clock of its own (every "now" is an argument). The
//! store crates persist these types, the review crate renders them, the CLI and server drive them.
//! Constructors validate and say exactly which field is wrong; derived values (durations, overdue)
//! are computed here and never stored.
//!
//! Blameless by design: there is no field for "who caused it" and no "root cause" field;
//! contributing factors are plural, and owning an action item is not blame.

pub mod action;
pub mod error;
pub mod factor;
pub mod incident;
pub mod participant;
pub mod record;
pub mod review;
pub mod stats;
pub mod time;
pub mod timeline;

pub use action::{ActionItem, ActionKind, ActionStatus, Priority};
pub use error::{Validated, ValidationError};
pub use factor::{ContributingFactor, FactorTaxonomy};
pub use incident::{
    Incident, IncidentId, IncidentKind, IncidentStatus, IncidentTimes, NewIncident, ReviewStatus,
    Severity, SeverityLevel, SeverityScale, Visibility,
};
pub use participant::Participant;
pub use record::IncidentRecord;
pub use review::{Revision, RevisionSummary};
pub use time::RecordedTime;
pub use timeline::{EventKind, EventSource, TimelineEvent};
