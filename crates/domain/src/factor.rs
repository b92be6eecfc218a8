//! Contributing factors: several per incident, never one "root cause".
//!
//! Factors are data (a category from a configurable taxonomy, a description, links to the events
//! that show them), so trends across incidents can be queried.

use serde::{Deserialize, Serialize};

use crate::error::{Validated, ValidationError};

/// The configured factor categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorTaxonomy {
    pub categories: Vec<String>,
}

impl Default for FactorTaxonomy {
    fn default() -> Self {
        let categories = [
            "change",
            "configuration",
            "capacity",
            "dependency",
            "detection-and-monitoring",
            "automation",
            "knowledge-and-documentation",
            "communication-and-coordination",
            "process",
            "production-pressure",
        ];
        Self {
            categories: categories.map(str::to_owned).to_vec(),
        }
    }
}

impl FactorTaxonomy {
    pub fn check(&self, category: &str) -> Validated<String> {
        let wanted = category
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '_'], "-");
        self.categories
            .iter()
            .find(|c| **c == wanted)
            .cloned()
            .ok_or_else(|| {
                ValidationError::new(
                    "category",
                    format!(
                        "`{category}` is not a configured factor category (configured: {})",
                        self.categories.join(", ")
                    ),
                )
            })
    }
}

/// One condition that contributed to the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributingFactor {
    pub category: String,
    pub description: String,
    /// `source_ref`s of the timeline events that show this factor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl ContributingFactor {
    pub fn new(
        taxonomy: &FactorTaxonomy,
        category: &str,
        description: &str,
        events: Vec<String>,
    ) -> Validated<Self> {
        let factor = ContributingFactor {
            category: taxonomy.check(category)?,
            description: description.trim().to_owned(),
            events,
        };
        factor.validate(taxonomy)?;
        Ok(factor)
    }

    pub fn validate(&self, taxonomy: &FactorTaxonomy) -> Validated<()> {
        taxonomy.check(&self.category)?;
        if self.description.trim().is_empty() {
            return Err(ValidationError::new("description", "must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_matched_forgivingly_and_unknown_ones_listed() {
        let taxonomy = FactorTaxonomy::default();
        assert_eq!(
            taxonomy.check("Detection and monitoring").unwrap(),
            "detection-and-monitoring"
        );
        let err = taxonomy.check("human error").unwrap_err();
        assert!(
            err.message.contains("configured: change"),
            "{}",
            err.message
        );
    }
}
