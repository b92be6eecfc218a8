//! Participants: the people who took part, their role and their perspective.
//!
//! Their perspective (what they knew, saw and tried at the time) is the second story. For
//! publishing, a participant can be shown by an alias ("Engineer A"), consistently everywhere.

use serde::{Deserialize, Serialize};

use crate::error::{Validated, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub name: String,
    /// Role during the incident: incident commander, on-call SRE, DBA, …
    pub role: String,
    /// Shown instead of the name when a review is published with names replaced by roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Interview notes: what they knew, saw and tried at the time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub perspective: String,
}

impl Participant {
    pub fn validate(&self) -> Validated<()> {
        if self.name.trim().is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        if self.role.trim().is_empty() {
            return Err(ValidationError::new("role", "must not be empty"));
        }
        Ok(())
    }

    /// The name to show: the alias when names are hidden, else the name.
    pub fn shown_name(&self, hide_names: bool) -> &str {
        match (&self.alias, hide_names) {
            (Some(alias), true) => alias,
            _ => &self.name,
        }
    }
}
