//! The JSON shapes of the API, with their OpenAPI schemas.
//!
//! Kept apart from the domain types on purpose: the domain stays free of HTTP concerns, and the
//! API can stay stable while the domain evolves. Times are strings (RFC 3339 with offset, or
//! RFC 9557 with a zone); durations are whole seconds.

use secondstory_domain::{
    ActionItem, ContributingFactor, Incident, Participant, RecordedTime, TimelineEvent, Visibility,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Distinguishes "absent" (keep) from `null` (clear) in a PATCH.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn time_text(t: &Option<RecordedTime>) -> Option<String> {
    t.as_ref().map(ToString::to_string)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
pub struct TimesBody {
    /// When impact started (RFC 3339 with offset, e.g. `2024-03-31T00:41:58+01:00`).
    pub impact_started: Option<String>,
    pub detected: Option<String>,
    pub responded: Option<String>,
    pub mitigated: Option<String>,
    pub resolved: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DurationsBody {
    pub time_to_detect_seconds: Option<i64>,
    pub time_to_respond_seconds: Option<i64>,
    pub time_to_mitigate_seconds: Option<i64>,
    pub time_to_resolve_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewStateBody {
    /// draft, in-review, published or not-required.
    pub state: String,
    /// Why no review is needed (with `not-required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentBody {
    pub id: String,
    pub title: String,
    /// incident or near-miss.
    pub kind: String,
    pub severity: String,
    /// active, mitigated or resolved.
    pub status: String,
    pub review: ReviewStateBody,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    /// Groups that may see it; absent when everyone may.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restricted_to: Option<Vec<String>>,
    pub summary: String,
    pub times: TimesBody,
    pub durations: DurationsBody,
    pub created: String,
    /// The version the ETag carries.
    pub version: i64,
}

impl From<&Incident> for IncidentBody {
    fn from(i: &Incident) -> Self {
        let secs = |d: Option<jiff::SignedDuration>| d.map(|d| d.as_secs());
        IncidentBody {
            id: i.id.to_string(),
            title: i.title.clone(),
            kind: i.kind.as_str().into(),
            severity: i.severity.to_string(),
            status: i.status.as_str().into(),
            review: ReviewStateBody {
                state: i.review.name().into(),
                reason: i.review.reason().map(str::to_owned),
            },
            services: i.services.clone(),
            tags: i.tags.clone(),
            restricted_to: match &i.visibility {
                Visibility::Everyone => None,
                Visibility::Restricted(groups) => Some(groups.clone()),
            },
            summary: i.summary.clone(),
            times: TimesBody {
                impact_started: time_text(&i.times.impact_started),
                detected: time_text(&i.times.detected),
                responded: time_text(&i.times.responded),
                mitigated: time_text(&i.times.mitigated),
                resolved: time_text(&i.times.resolved),
            },
            durations: DurationsBody {
                time_to_detect_seconds: secs(i.times.time_to_detect()),
                time_to_respond_seconds: secs(i.times.time_to_respond()),
                time_to_mitigate_seconds: secs(i.times.time_to_mitigate()),
                time_to_resolve_seconds: secs(i.times.time_to_resolve()),
            },
            created: i.created_at.to_string(),
            version: i.version,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentBody {
    /// Explicit id; default: the next PREFIX-YEAR-NNNN.
    #[serde(default)]
    pub id: Option<String>,
    pub title: String,
    pub severity: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub restricted_to: Option<Vec<String>>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub times: TimesBody,
}

/// A status change along the lifecycle, with when it happened (default: now).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeBody {
    pub status: String,
    #[serde(default)]
    pub at: Option<String>,
}

/// Fields to change; absent fields stay as they are, `null` clears a time or a restriction.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatchBody {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub services: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub restricted_to: Option<Option<Vec<String>>>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub times: Option<TimesPatchBody>,
    #[serde(default)]
    pub status: Option<StatusChangeBody>,
    #[serde(default)]
    pub review: Option<ReviewStateBody>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TimesPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub impact_started: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub detected: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub responded: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub mitigated: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub resolved: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentPage {
    pub items: Vec<IncidentBody>,
    /// Incidents matching the filters (you can see), over all pages.
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventBody {
    pub at: String,
    pub source: String,
    pub source_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub key_moment: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_url: Option<String>,
}

impl From<&TimelineEvent> for EventBody {
    fn from(e: &TimelineEvent) -> Self {
        EventBody {
            at: e.at.to_string(),
            source: e.source.to_string(),
            source_ref: e.source_ref.clone(),
            actor: e.actor.clone(),
            kind: e.kind.as_str().into(),
            text: e.text.clone(),
            key_moment: e.key_moment,
            hidden: e.hidden,
            evidence_url: e.evidence_url.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FactorBody {
    /// A configured category (change, configuration, capacity, …).
    pub category: String,
    pub description: String,
    /// `source_ref`s of the timeline events that show it.
    #[serde(default)]
    pub events: Vec<String>,
}

impl From<&ContributingFactor> for FactorBody {
    fn from(f: &ContributingFactor) -> Self {
        FactorBody {
            category: f.category.clone(),
            description: f.description.clone(),
            events: f.events.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionBody {
    pub incident: String,
    pub number: i64,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub owner: String,
    pub priority: String,
    pub due: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub external_url: Option<String>,
    /// Derived from the due date and today: never stored.
    pub overdue: bool,
    pub version: i64,
}

impl ActionBody {
    pub fn new(incident: &str, a: &ActionItem, today: jiff::civil::Date) -> Self {
        ActionBody {
            incident: incident.to_owned(),
            number: a.number,
            title: a.title.clone(),
            description: a.description.clone(),
            kind: a.kind.as_str().into(),
            owner: a.owner.clone(),
            priority: a.priority.as_str().into(),
            due: a.due.map(|d| d.to_string()),
            status: a.status.name().into(),
            status_reason: a.status.reason().map(str::to_owned),
            external_url: a.external_url.clone(),
            overdue: a.is_overdue(today),
            version: a.version,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ParticipantBody {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub perspective: String,
}

impl From<&Participant> for ParticipantBody {
    fn from(p: &Participant) -> Self {
        ParticipantBody {
            name: p.name.clone(),
            role: p.role.clone(),
            alias: p.alias.clone(),
            perspective: p.perspective.clone(),
        }
    }
}
