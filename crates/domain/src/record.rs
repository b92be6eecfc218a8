//! The whole record of one incident: what export writes and import reads back.
//!
//! Postmortems as code: a team can keep these in git (as Markdown with front matter, see
//! `secondstory-review`) and still use the server. Validation here is what makes an import
//! all-or-nothing: every record is checked before anything is written.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::action::ActionItem;
use crate::error::{Validated, ValidationError};
use crate::factor::{ContributingFactor, FactorTaxonomy};
use crate::incident::{Incident, SeverityScale};
use crate::participant::Participant;
use crate::timeline::TimelineEvent;

/// Everything recorded about one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub incident: Incident,
    pub participants: Vec<Participant>,
    pub events: Vec<TimelineEvent>,
    pub factors: Vec<ContributingFactor>,
    pub actions: Vec<ActionItem>,
    /// The current review document (Markdown).
    pub review: String,
}

impl IncidentRecord {
    /// Checks every part, naming the failing one by its path (`events[12].source_ref`).
    pub fn validate(
        &self,
        severities: &SeverityScale,
        taxonomy: &FactorTaxonomy,
        now: Timestamp,
    ) -> Validated<()> {
        self.incident.validate(now)?;
        severities.severity(self.incident.severity.as_str())?;
        for (i, p) in self.participants.iter().enumerate() {
            p.validate()
                .map_err(|e| e.within(format!("participants[{i}]")))?;
        }
        let mut refs = BTreeSet::new();
        for (i, e) in self.events.iter().enumerate() {
            e.validate()
                .map_err(|err| err.within(format!("events[{i}]")))?;
            if !refs.insert(e.source_ref.as_str()) {
                return Err(ValidationError::new(
                    format!("events[{i}].source_ref"),
                    format!(
                        "`{}` appears twice; each event needs its own source_ref",
                        e.source_ref
                    ),
                ));
            }
        }
        for (i, f) in self.factors.iter().enumerate() {
            f.validate(taxonomy)
                .map_err(|e| e.within(format!("factors[{i}]")))?;
            if let Some(missing) = f.events.iter().find(|r| !refs.contains(r.as_str())) {
                return Err(ValidationError::new(
                    format!("factors[{i}].events"),
                    format!("`{missing}` is not the source_ref of an event of this incident"),
                ));
            }
        }
        let mut numbers = BTreeSet::new();
        for (i, a) in self.actions.iter().enumerate() {
            a.validate()
                .map_err(|e| e.within(format!("actions[{i}]")))?;
            if a.number < 1 || !numbers.insert(a.number) {
                return Err(ValidationError::new(
                    format!("actions[{i}].number"),
                    format!(
                        "{} is not a new positive number within this incident",
                        a.number
                    ),
                ));
            }
        }
        Ok(())
    }
}
