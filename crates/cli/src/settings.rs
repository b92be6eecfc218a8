//! Configuration: the `[incidents]` table of `.secondstory.toml` (found upward from the current
//! directory, or given with `--config`). Other tables (such as `[lint]`) belong to other parts.

use std::path::{Path, PathBuf};

use secondstory_domain::{FactorTaxonomy, SeverityLevel, SeverityScale};
use serde::Deserialize;

use crate::app::CliError;

pub const CONFIG_FILE: &str = ".secondstory.toml";

#[derive(Debug, Clone)]
pub struct Settings {
    pub id_prefix: String,
    pub severities: SeverityScale,
    pub taxonomy: FactorTaxonomy,
    /// How webhook alerts find their incident (`[[hooks.rules]]`); empty means the server default.
    pub hook_rules: Vec<secondstory_server::HookRule>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    incidents: Incidents,
    #[serde(default)]
    hooks: Hooks,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hooks {
    #[serde(default)]
    rules: Vec<HookRuleEntry>,
}

/// `[[hooks.rules]] label = "service", value = "orders-api", severity = "SEV2"`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HookRuleEntry {
    label: String,
    value: Option<String>,
    severity: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incidents {
    id_prefix: Option<String>,
    severities: Option<Vec<SeverityLevel>>,
    factor_categories: Option<Vec<String>>,
}

impl Settings {
    pub fn load(explicit: Option<&Path>) -> Result<Self, CliError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => find_upward(CONFIG_FILE),
        };
        let file = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CliError::invalid(format!("{}: cannot read: {e}", path.display()))
                })?;
                toml::from_str::<File>(&text)
                    .map_err(|e| CliError::invalid(format!("{}: {e}", path.display())))?
            }
            None => File::default(),
        };
        let prefix = file.incidents.id_prefix.unwrap_or_else(|| "INC".to_owned());
        secondstory_domain::IncidentId::numbered(&prefix, 2026, 1).map_err(|_| {
            CliError::invalid(format!(
                "{}: incidents.id_prefix `{prefix}` must be upper-case letters and digits",
                path.as_deref()
                    .map_or_else(|| CONFIG_FILE.into(), |p| p.display().to_string())
            ))
        })?;
        let location = path
            .as_deref()
            .map_or_else(|| CONFIG_FILE.into(), |p| p.display().to_string());
        let severities = file
            .incidents
            .severities
            .filter(|levels| !levels.is_empty())
            .map(|levels| SeverityScale { levels })
            .unwrap_or_default();
        let mut hook_rules = Vec::new();
        for (n, rule) in file.hooks.rules.into_iter().enumerate() {
            let severity = severities.severity(&rule.severity).map_err(|e| {
                CliError::invalid(format!(
                    "{location}: hooks.rules[{n}].severity: {}",
                    e.message
                ))
            })?;
            hook_rules.push(secondstory_server::HookRule {
                label: rule.label,
                value: rule.value,
                severity: severity.to_string(),
            });
        }
        Ok(Settings {
            hook_rules,
            id_prefix: prefix,
            severities,
            taxonomy: file
                .incidents
                .factor_categories
                .filter(|c| !c.is_empty())
                .map(|categories| FactorTaxonomy { categories })
                .unwrap_or_default(),
        })
    }

    pub fn parse_context(&self, now: jiff::Timestamp) -> secondstory_review::ParseContext<'_> {
        secondstory_review::ParseContext {
            severities: &self.severities,
            taxonomy: &self.taxonomy,
            now,
        }
    }
}

fn find_upward(name: &str) -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
        if !dir.pop() {
            return None;
        }
    }
}
