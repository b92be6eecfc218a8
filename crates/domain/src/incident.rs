//! Incidents: identity, severity, lifecycle, visibility and the times that matter.
//!
//! The five times are kept apart because they measure different things (time to detect, to
//! respond, to mitigate, to resolve). Validation refuses orders that cannot happen (resolved before
//! impact started, a time in the future) and allows orders that do (detected before impact, as in a
//! near miss). Status changes follow the lifecycle `active → mitigated → resolved`, then the review
//! `draft → in review → published` (or `not required`, with a reason).

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Validated, ValidationError};
use crate::time::RecordedTime;

/// How far in the future a time may be before it is refused: clocks of laptops and servers drift.
pub const CLOCK_SKEW_ALLOWANCE: SignedDuration = SignedDuration::from_mins(5);

/// An id people can say: `INC-2026-0042` (prefix configurable), or an imported one like `INC-4711`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

impl IncidentId {
    pub fn parse(text: &str) -> Validated<Self> {
        let text = text.trim();
        let mut parts = text.split('-');
        let prefix_ok = parts.next().is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
        let rest: Vec<&str> = parts.collect();
        let rest_ok = !rest.is_empty()
            && rest
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if prefix_ok && rest_ok && text.len() <= 40 {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::new(
                "id",
                format!(
                    "`{text}` is not an incident id (expected an upper-case prefix and numbers \
                     joined by '-', like INC-2026-0042)"
                ),
            ))
        }
    }

    /// The next id in a year's sequence: `INC-2026-0042`.
    pub fn numbered(prefix: &str, year: i16, number: i64) -> Validated<Self> {
        Self::parse(&format!("{prefix}-{year}-{number:04}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IncidentId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).map_err(|e| e.message)
    }
}

impl From<IncidentId> for String {
    fn from(value: IncidentId) -> Self {
        value.0
    }
}

/// One configured severity level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityLevel {
    pub name: String,
    pub description: String,
}

/// The organisation's severity levels, most severe first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScale {
    pub levels: Vec<SeverityLevel>,
}

impl Default for SeverityScale {
    fn default() -> Self {
        let level = |name: &str, description: &str| SeverityLevel {
            name: name.to_owned(),
            description: description.to_owned(),
        };
        Self {
            levels: vec![
                level(
                    "SEV1",
                    "Critical: a core service is down or data is lost for many customers",
                ),
                level(
                    "SEV2",
                    "Major: a core function is degraded for many customers",
                ),
                level("SEV3", "Minor: limited impact, a workaround exists"),
                level(
                    "SEV4",
                    "Low: little or no customer impact; near misses and internal issues",
                ),
            ],
        }
    }
}

impl SeverityScale {
    /// A severity this scale knows; the error lists the configured ones.
    pub fn severity(&self, name: &str) -> Validated<Severity> {
        let name = name.trim();
        self.levels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
            .map(|l| Severity(l.name.clone()))
            .ok_or_else(|| {
                ValidationError::new(
                    "severity",
                    format!(
                        "`{name}` is not a configured severity (configured: {})",
                        self.levels
                            .iter()
                            .map(|l| l.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    /// Position in the scale, 0 = most severe; for sorting.
    pub fn rank(&self, severity: &Severity) -> usize {
        self.levels
            .iter()
            .position(|l| l.name == severity.0)
            .unwrap_or(usize::MAX)
    }
}

/// A severity that was checked against a [`SeverityScale`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Severity(String);

impl Severity {
    /// A severity read back from storage or an export. It was checked when it was written; the
    /// configured scale may have changed since, and stored incidents must still load.
    pub fn stored(name: impl Into<String>) -> Self {
        Severity(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().replace('_', "-").to_ascii_lowercase();
                $name::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    ValidationError::new(
                        $field,
                        format!(
                            "`{s}` is not valid (expected one of: {})",
                            $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// An incident, or a near miss (no impact, often the cheapest lesson).
    IncidentKind, "kind" { Incident => "incident", NearMiss => "near-miss" }
);

string_enum!(
    /// Where the response stands.
    IncidentStatus, "status" { Active => "active", Mitigated => "mitigated", Resolved => "resolved" }
);

impl IncidentStatus {
    /// Forward along `active → mitigated → resolved`, or back to active when mitigation did not hold
    /// or the incident recurred. Staying put or stepping back to mitigated is not a change.
    pub fn can_become(self, next: IncidentStatus) -> bool {
        use IncidentStatus::*;
        matches!(
            (self, next),
            (Active, Mitigated)
                | (Active, Resolved)
                | (Mitigated, Resolved)
                | (Mitigated, Active)
                | (Resolved, Active)
        )
    }
}

/// The post-incident review's workflow state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ReviewStatus {
    Draft,
    InReview,
    Published,
    NotRequired { reason: String },
}

impl ReviewStatus {
    pub fn name(&self) -> &'static str {
        match self {
            ReviewStatus::Draft => "draft",
            ReviewStatus::InReview => "in-review",
            ReviewStatus::Published => "published",
            ReviewStatus::NotRequired { .. } => "not-required",
        }
    }

    /// Parse a state name; `not-required` needs a reason.
    pub fn parse(name: &str, reason: Option<&str>) -> Validated<Self> {
        match name.trim().replace('_', "-").to_ascii_lowercase().as_str() {
            "draft" => Ok(ReviewStatus::Draft),
            "in-review" => Ok(ReviewStatus::InReview),
            "published" => Ok(ReviewStatus::Published),
            "not-required" => match reason.map(str::trim) {
                Some(reason) if !reason.is_empty() => Ok(ReviewStatus::NotRequired {
                    reason: reason.to_owned(),
                }),
                _ => Err(ValidationError::new(
                    "review_reason",
                    "a review marked not-required needs a reason (say why there is nothing to learn)",
                )),
            },
            other => Err(ValidationError::new(
                "review",
                format!(
                    "`{other}` is not a review state (expected draft, in-review, published or \
                     not-required)"
                ),
            )),
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            ReviewStatus::NotRequired { reason } => Some(reason),
            _ => None,
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who may see an incident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    #[default]
    Everyone,
    /// Only members of these groups (and admins).
    Restricted(Vec<String>),
}

impl Visibility {
    pub fn restricted(groups: Vec<String>) -> Validated<Self> {
        let mut groups: Vec<String> = groups
            .into_iter()
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty())
            .collect();
        groups.sort();
        groups.dedup();
        if groups.is_empty() {
            return Err(ValidationError::new(
                "visibility",
                "a restricted incident needs at least one group that may see it",
            ));
        }
        Ok(Visibility::Restricted(groups))
    }
}

/// The times that matter, each optional until known.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentTimes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_started: Option<RecordedTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<RecordedTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded: Option<RecordedTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated: Option<RecordedTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<RecordedTime>,
}

impl IncidentTimes {
    /// Refuses what cannot happen; allows what does (detection before impact in a near miss,
    /// a response that starts before formal detection).
    pub fn validate(&self, now: Timestamp) -> Validated<()> {
        let latest_allowed = now.saturating_add(CLOCK_SKEW_ALLOWANCE).unwrap_or(now);
        for (field, time) in self.named() {
            if let Some(time) = time
                && time.instant() > latest_allowed
            {
                return Err(ValidationError::new(
                    field,
                    format!("{time} is in the future (now is {now})"),
                ));
            }
        }
        let ordered = [
            (
                "impact_started",
                &self.impact_started,
                "mitigated",
                &self.mitigated,
            ),
            (
                "impact_started",
                &self.impact_started,
                "resolved",
                &self.resolved,
            ),
            ("mitigated", &self.mitigated, "resolved", &self.resolved),
            ("responded", &self.responded, "resolved", &self.resolved),
        ];
        for (earlier_name, earlier, later_name, later) in ordered {
            if let (Some(earlier), Some(later)) = (earlier, later)
                && later.instant() < earlier.instant()
            {
                return Err(ValidationError::new(
                    later_name,
                    format!(
                        "{later} is before {earlier_name} ({earlier}); {later_name} cannot come \
                         first"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn named(&self) -> [(&'static str, &Option<RecordedTime>); 5] {
        [
            ("impact_started", &self.impact_started),
            ("detected", &self.detected),
            ("responded", &self.responded),
            ("mitigated", &self.mitigated),
            ("resolved", &self.resolved),
        ]
    }

    /// Time from impact to detection: how long people could not yet know.
    pub fn time_to_detect(&self) -> Option<SignedDuration> {
        between(&self.impact_started, &self.detected)
    }

    pub fn time_to_respond(&self) -> Option<SignedDuration> {
        between(&self.detected, &self.responded)
    }

    pub fn time_to_mitigate(&self) -> Option<SignedDuration> {
        between(&self.impact_started, &self.mitigated)
    }

    pub fn time_to_resolve(&self) -> Option<SignedDuration> {
        between(&self.impact_started, &self.resolved)
    }
}

fn between(start: &Option<RecordedTime>, end: &Option<RecordedTime>) -> Option<SignedDuration> {
    let (start, end) = (start.as_ref()?, end.as_ref()?);
    Some(end.instant().duration_since(start.instant()))
}

/// An incident record. Build with [`Incident::new`]; change status through the transition methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    pub kind: IncidentKind,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub review: ReviewStatus,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    pub times: IncidentTimes,
    /// A short description of impact for lists; the review holds the full story.
    pub summary: String,
    pub created_at: RecordedTime,
    /// Optimistic-concurrency version, set by the store; 0 before it is first stored.
    pub version: i64,
}

/// What a person supplies to open an incident.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub id: IncidentId,
    pub title: String,
    pub kind: IncidentKind,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    pub times: IncidentTimes,
    pub summary: String,
}

impl Incident {
    pub fn new(new: NewIncident, now: Timestamp) -> Validated<Self> {
        let incident = Incident {
            id: new.id,
            title: new.title.trim().to_owned(),
            kind: new.kind,
            severity: new.severity,
            status: new.status,
            review: ReviewStatus::Draft,
            services: normalise_names(new.services),
            tags: normalise_names(new.tags),
            visibility: new.visibility,
            times: new.times,
            summary: new.summary.trim().to_owned(),
            created_at: RecordedTime::utc(now),
            version: 0,
        };
        incident.validate(now)?;
        Ok(incident)
    }

    /// Checks every invariant; used after edits and on import.
    pub fn validate(&self, now: Timestamp) -> Validated<()> {
        if self.title.is_empty() {
            return Err(ValidationError::new("title", "must not be empty"));
        }
        if self.title.chars().count() > 200 {
            return Err(ValidationError::new(
                "title",
                "is longer than 200 characters",
            ));
        }
        for (field, names) in [("services", &self.services), ("tags", &self.tags)] {
            if let Some(bad) = names
                .iter()
                .find(|n| n.is_empty() || n.contains(char::is_whitespace))
            {
                return Err(ValidationError::new(
                    field,
                    format!("`{bad}` is not a name (no spaces; use-dashes-instead)"),
                ));
            }
        }
        self.times.validate(now)?;
        if self.status == IncidentStatus::Resolved && self.times.resolved.is_none() {
            return Err(ValidationError::new(
                "resolved",
                "a resolved incident needs the time it was resolved",
            ));
        }
        if self.status == IncidentStatus::Active && self.times.resolved.is_some() {
            return Err(ValidationError::new(
                "status",
                "an active incident cannot have a resolved time; set the status to resolved",
            ));
        }
        if matches!(
            self.review,
            ReviewStatus::InReview | ReviewStatus::Published
        ) && self.status != IncidentStatus::Resolved
        {
            return Err(ValidationError::new(
                "review",
                format!(
                    "the review can be {} only once the incident is resolved (status is {})",
                    self.review, self.status
                ),
            ));
        }
        Ok(())
    }

    /// Move along the response lifecycle, recording the time of the change when it is not known
    /// yet. Refuses changes outside the lifecycle with both states named.
    pub fn change_status(
        &mut self,
        next: IncidentStatus,
        at: RecordedTime,
        now: Timestamp,
    ) -> Validated<()> {
        if !self.status.can_become(next) {
            return Err(ValidationError::new(
                "status",
                format!(
                    "cannot change status from {} to {} (the lifecycle is active → mitigated → \
                     resolved; a mitigated or resolved incident can be reopened as active)",
                    self.status, next
                ),
            ));
        }
        match next {
            IncidentStatus::Mitigated => {
                self.times.mitigated.get_or_insert(at);
            }
            IncidentStatus::Resolved => {
                self.times.resolved = Some(at);
            }
            IncidentStatus::Active => {
                self.times.resolved = None;
                if matches!(
                    self.review,
                    ReviewStatus::InReview | ReviewStatus::Published
                ) {
                    self.review = ReviewStatus::Draft;
                }
            }
        }
        self.status = next;
        self.validate(now)
    }

    /// Move the review along `draft → in review → published`, back to draft for changes, or mark it
    /// not required (with a reason).
    pub fn change_review(&mut self, next: ReviewStatus, now: Timestamp) -> Validated<()> {
        use ReviewStatus::*;
        let allowed = matches!(
            (&self.review, &next),
            (Draft, InReview)
                | (InReview, Published)
                | (InReview, Draft)
                | (Published, Draft)
                | (Draft, NotRequired { .. })
                | (NotRequired { .. }, Draft)
        );
        if !allowed {
            return Err(ValidationError::new(
                "review",
                format!(
                    "cannot change the review from {} to {} (the workflow is draft → in-review → \
                     published; draft ↔ not-required)",
                    self.review, next
                ),
            ));
        }
        let previous = std::mem::replace(&mut self.review, next);
        if let Err(e) = self.validate(now) {
            self.review = previous;
            return Err(e);
        }
        Ok(())
    }

    pub fn is_restricted(&self) -> bool {
        matches!(self.visibility, Visibility::Restricted(_))
    }
}

fn normalise_names(names: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().map(|n| n.trim().to_owned()).collect();
    names.retain(|n| !n.is_empty());
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    fn t(s: &str) -> Option<RecordedTime> {
        Some(RecordedTime::parse("t", s).unwrap())
    }

    fn new_incident(times: IncidentTimes, status: IncidentStatus) -> Validated<Incident> {
        Incident::new(
            NewIncident {
                id: IncidentId::parse("INC-2026-0001").unwrap(),
                title: "Orders API write errors".into(),
                kind: IncidentKind::Incident,
                severity: SeverityScale::default().severity("SEV2").unwrap(),
                status,
                services: vec!["orders-api".into()],
                tags: vec![],
                visibility: Visibility::Everyone,
                times,
                summary: String::new(),
            },
            now(),
        )
    }

    #[test]
    fn resolved_before_impact_started_is_refused_naming_both_times() {
        let times = IncidentTimes {
            impact_started: t("2024-03-30T23:41:58Z"),
            resolved: t("2024-03-30T23:00:00Z"),
            ..Default::default()
        };
        let err = new_incident(times, IncidentStatus::Resolved).unwrap_err();
        assert_eq!(err.field, "resolved");
        assert!(
            err.message.contains("before impact_started"),
            "{}",
            err.message
        );
    }

    #[test]
    fn detection_before_impact_is_allowed_as_in_a_near_miss() {
        let times = IncidentTimes {
            impact_started: t("2024-03-30T23:41:58Z"),
            detected: t("2024-03-30T23:30:00Z"),
            ..Default::default()
        };
        assert!(new_incident(times, IncidentStatus::Active).is_ok());
    }

    #[test]
    fn a_time_in_the_future_is_refused() {
        let times = IncidentTimes {
            detected: t("2027-01-01T00:00:00Z"),
            ..Default::default()
        };
        let err = new_incident(times, IncidentStatus::Active).unwrap_err();
        assert_eq!(err.field, "detected");
        assert!(err.message.contains("future"));
    }

    #[test]
    fn an_unknown_severity_lists_the_configured_levels() {
        let err = SeverityScale::default().severity("P0").unwrap_err();
        assert_eq!(err.field, "severity");
        assert!(
            err.message.contains("SEV1, SEV2, SEV3, SEV4"),
            "{}",
            err.message
        );
    }

    #[test]
    fn status_follows_the_lifecycle_and_records_times() {
        let mut incident = new_incident(
            IncidentTimes {
                impact_started: t("2024-03-30T23:41:58Z"),
                ..Default::default()
            },
            IncidentStatus::Active,
        )
        .unwrap();
        let at = RecordedTime::parse("at", "2024-03-31T00:15:19Z").unwrap();
        incident
            .change_status(IncidentStatus::Mitigated, at.clone(), now())
            .unwrap();
        assert_eq!(incident.times.mitigated, Some(at.clone()));
        let err = incident
            .change_status(IncidentStatus::Mitigated, at.clone(), now())
            .unwrap_err();
        assert!(
            err.message.contains("from mitigated to mitigated"),
            "{}",
            err.message
        );
        incident
            .change_status(IncidentStatus::Resolved, at, now())
            .unwrap();
        assert_eq!(incident.status, IncidentStatus::Resolved);
    }

    #[test]
    fn resolved_cannot_step_back_to_mitigated() {
        assert!(!IncidentStatus::Resolved.can_become(IncidentStatus::Mitigated));
        assert!(IncidentStatus::Resolved.can_become(IncidentStatus::Active));
    }

    #[test]
    fn a_review_is_published_only_after_resolution_and_through_review() {
        let mut incident = new_incident(IncidentTimes::default(), IncidentStatus::Active).unwrap();
        let err = incident
            .change_review(ReviewStatus::InReview, now())
            .unwrap_err();
        assert!(err.message.contains("only once the incident is resolved"));
        assert_eq!(incident.review, ReviewStatus::Draft);
        let err = incident
            .change_review(ReviewStatus::Published, now())
            .unwrap_err();
        assert!(err.message.contains("from draft to published"));
    }

    #[test]
    fn not_required_needs_a_reason() {
        assert_eq!(
            ReviewStatus::parse("not-required", None).unwrap_err().field,
            "review_reason"
        );
        assert!(ReviewStatus::parse("not_required", Some("duplicate of INC-1")).is_ok());
    }

    #[test]
    fn ids_are_sayable() {
        assert!(IncidentId::parse("INC-2026-0042").is_ok());
        assert!(IncidentId::parse("INC-4711").is_ok());
        assert!(IncidentId::parse("inc 42").is_err());
        assert_eq!(
            IncidentId::numbered("INC", 2026, 7).unwrap().as_str(),
            "INC-2026-0007"
        );
    }

    #[test]
    fn durations_are_derived_from_the_times() {
        let times = IncidentTimes {
            impact_started: t("2024-03-30T23:41:58Z"),
            detected: t("2024-03-30T23:43:19Z"),
            resolved: t("2024-03-31T01:25:03Z"),
            ..Default::default()
        };
        assert_eq!(times.time_to_detect(), Some(SignedDuration::from_secs(81)));
        assert_eq!(times.time_to_mitigate(), None);
    }
}
