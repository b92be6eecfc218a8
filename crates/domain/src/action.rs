//! Action items: follow-up work with an owner and a due date, tracked to done.
//!
//! An owner is a team or a person; owning a fix is not blame. Overdue is derived from the due date
//! and today's date (passed in), never stored.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{Validated, ValidationError};
use crate::incident::string_enum;

string_enum!(
    /// What the action does for the system.
    ActionKind, "kind" {
        Mitigate => "mitigate",
        Prevent => "prevent",
        Detect => "detect",
        Process => "process",
        Learn => "learn",
    }
);

string_enum!(
    /// How urgent the work is.
    Priority, "priority" { High => "high", Medium => "medium", Low => "low" }
);

/// Where the work stands. `WontDo` carries the reason, so a closed item explains itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ActionStatus {
    Open,
    InProgress,
    Done,
    #[serde(rename = "wont-do")]
    WontDo {
        reason: String,
    },
}

impl ActionStatus {
    pub fn name(&self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::InProgress => "in-progress",
            ActionStatus::Done => "done",
            ActionStatus::WontDo { .. } => "wont-do",
        }
    }

    pub fn parse(name: &str, reason: Option<&str>) -> Validated<Self> {
        let normalised = name
            .trim()
            .to_ascii_lowercase()
            .replace(['_', ' ', '\''], "-");
        match normalised.as_str() {
            "open" => Ok(ActionStatus::Open),
            "in-progress" => Ok(ActionStatus::InProgress),
            "done" => Ok(ActionStatus::Done),
            "wont-do" | "won-t-do" => match reason.map(str::trim) {
                Some(reason) if !reason.is_empty() => Ok(ActionStatus::WontDo {
                    reason: reason.to_owned(),
                }),
                _ => Err(ValidationError::new(
                    "reason",
                    "an action item closed as wont-do needs a reason",
                )),
            },
            _ => Err(ValidationError::new(
                "status",
                format!(
                    "`{name}` is not an action status (expected open, in-progress, done or wont-do)"
                ),
            )),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self, ActionStatus::Done | ActionStatus::WontDo { .. })
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            ActionStatus::WontDo { reason } => Some(reason),
            _ => None,
        }
    }
}

impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One follow-up item of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionItem {
    /// 1, 2, 3, … within the incident, assigned by the store.
    pub number: i64,
    pub title: String,
    pub description: String,
    pub kind: ActionKind,
    pub owner: String,
    pub priority: Priority,
    pub due: Option<Date>,
    pub status: ActionStatus,
    pub external_url: Option<String>,
    /// Optimistic-concurrency version, set by the store.
    pub version: i64,
}

impl ActionItem {
    pub fn validate(&self) -> Validated<()> {
        if self.title.trim().is_empty() {
            return Err(ValidationError::new("title", "must not be empty"));
        }
        if self.owner.trim().is_empty() {
            return Err(ValidationError::new(
                "owner",
                "every action item needs an owner (a team or a person)",
            ));
        }
        if let Some(url) = &self.external_url {
            crate::error::check_web_url("external_url", url)?;
        }
        Ok(())
    }

    /// Overdue: past its due date and still open. Derived from `today`, never stored.
    pub fn is_overdue(&self, today: Date) -> bool {
        !self.status.is_closed() && self.due.is_some_and(|due| due < today)
    }
}

/// Parse a due date as written by people and files: `2024-04-12`.
pub fn parse_due(text: &str) -> Validated<Date> {
    text.trim().parse::<Date>().map_err(|e| {
        ValidationError::new(
            "due",
            format!("`{text}` is not a date like 2024-04-12: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: ActionStatus, due: &str) -> ActionItem {
        ActionItem {
            number: 1,
            title: "Set pgbouncer dns_max_ttl".into(),
            description: String::new(),
            kind: ActionKind::Prevent,
            owner: "team-db".into(),
            priority: Priority::High,
            due: Some(parse_due(due).unwrap()),
            status,
            external_url: None,
            version: 1,
        }
    }

    #[test]
    fn overdue_is_derived_from_today_and_status() {
        let today: Date = "2024-04-13".parse().unwrap();
        assert!(item(ActionStatus::Open, "2024-04-12").is_overdue(today));
        assert!(!item(ActionStatus::Open, "2024-04-13").is_overdue(today));
        assert!(!item(ActionStatus::Done, "2024-04-01").is_overdue(today));
    }

    #[test]
    fn wont_do_needs_a_reason() {
        assert_eq!(
            ActionStatus::parse("won't do", None).unwrap_err().field,
            "reason"
        );
        assert!(ActionStatus::parse("wont-do", Some("superseded by OPS-500")).is_ok());
    }

    #[test]
    fn an_action_without_owner_is_refused() {
        let mut a = item(ActionStatus::Open, "2024-04-12");
        a.owner = " ".into();
        assert_eq!(a.validate().unwrap_err().field, "owner");
    }
}
