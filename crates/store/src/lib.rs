//! The storage boundary: what Second Story needs from a database, and nothing about SQL.
//!
//! The CLI and server talk to a [`Store`]; `secondstory-store-sql` implements it for SQLite (the
//! embedded default) and PostgreSQL. Both must pass the same [`conformance`] suite, so behaviour
//! (optimistic concurrency, re-import safety, all-or-nothing imports) is the same on a laptop and
//! in a multi-instance deployment.
//!
//! Every write is one transaction. Incidents, reviews and action items carry a version: a write
//! based on a stale version is refused with [`StoreError::Conflict`], never applied.

pub mod access;
pub mod conformance;

pub use access::{
    AccessStore, ApiToken, AuditEntry, HookToken, NewUser, Role, Session, TokenScope, User,
};

use async_trait::async_trait;
use jiff::Timestamp;
use secondstory_domain::{
    ActionItem, ContributingFactor, Incident, IncidentId, IncidentRecord, IncidentStatus,
    Participant, Revision, RevisionSummary, TimelineEvent, ValidationError,
};

/// Why a store call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} `{key}` not found")]
    NotFound { what: &'static str, key: String },
    #[error("{what} `{key}` already exists")]
    Duplicate { what: &'static str, key: String },
    /// Someone else saved first: the caller's version is stale. Nothing was written.
    #[error(
        "{what} `{key}` was changed by someone else (you had version {expected}, it is now \
         {actual}); reload and apply your change again"
    )]
    Conflict {
        what: &'static str,
        key: String,
        expected: i64,
        actual: i64,
    },
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// The caller's event feed failed; the transaction was rolled back.
    #[error("{0}; nothing was imported")]
    FeedFailed(String),
    /// The database itself failed; the message carries the operation for context.
    #[error("database error while {context}: {message}")]
    Backend { context: String, message: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The current review document of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDocument {
    pub body: String,
    /// Optimistic-concurrency version; 0 before the first save.
    pub version: i64,
    pub revisions: i64,
}

/// What a batch of timeline events did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddedEvents {
    pub inserted: usize,
    /// Events whose `source_ref` the incident already had: re-imports add nothing.
    pub already_present: usize,
}

/// A source of timeline events in batches, for [`Store::add_events_from`].
pub trait EventFeed {
    /// The next batch, `Ok(None)` when done, or an error that aborts the whole import.
    fn next_batch(&mut self) -> Result<Option<Vec<TimelineEvent>>, String>;

    /// How many events of the batch just returned were new to the incident.
    fn inserted(&mut self, count: usize) {
        let _ = count;
    }
}

/// Whose eyes a query is for. Restricted incidents are visible only to their groups and admins;
/// every list, count and search takes an audience so none of them can leak one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Audience {
    /// Everything: admins, and the local CLI (whoever can open the database file sees it all).
    #[default]
    All,
    /// Incidents open to everyone, plus those restricted to any of these groups.
    Groups(Vec<String>),
}

impl Audience {
    pub fn can_see(&self, incident: &Incident) -> bool {
        match (self, &incident.visibility) {
            (Audience::All, _) | (_, secondstory_domain::Visibility::Everyone) => true,
            (Audience::Groups(mine), secondstory_domain::Visibility::Restricted(theirs)) => {
                theirs.iter().any(|g| mine.contains(g))
            }
        }
    }
}

/// The order of an incident list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncidentOrder {
    /// Newest record first (the default).
    #[default]
    Newest,
    Oldest,
    /// When impact started, latest first.
    ImpactStarted,
    /// Most severe first (by severity name: SEV1 before SEV2).
    Severity,
    Title,
}

/// How a list of incidents is narrowed and ordered.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub audience: Audience,
    pub status: Option<IncidentStatus>,
    pub severity: Option<String>,
    pub service: Option<String>,
    pub tag: Option<String>,
    /// Review state name: draft, in-review, published, not-required.
    pub review: Option<String>,
    pub kind: Option<secondstory_domain::IncidentKind>,
    /// Case-insensitive substring of the title.
    pub text: Option<String>,
    /// Impact started (or, without one, the record was created) at or after this instant.
    pub since: Option<Timestamp>,
    /// … and before this one.
    pub until: Option<Timestamp>,
    /// Archived incidents instead of live ones.
    pub archived: bool,
    pub order: IncidentOrder,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// One search result: the incident and a fragment of matching text, with matches between
/// [`SEARCH_MATCH_START`] and [`SEARCH_MATCH_END`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub incident: Incident,
    pub snippet: String,
}

pub const SEARCH_MATCH_START: char = '\u{27e6}';
pub const SEARCH_MATCH_END: char = '\u{27e7}';

/// Which action items a board shows.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub audience: Audience,
    pub status: Option<String>,
    pub owner: Option<String>,
    /// Due before this date and still open.
    pub overdue_on: Option<jiff::civil::Date>,
    pub archived: bool,
}

/// A change to a timeline event the store already has (found by `source_ref`).
#[derive(Debug, Clone, Default)]
pub struct EventChange {
    pub key_moment: Option<bool>,
    pub hidden: Option<bool>,
    pub kind: Option<secondstory_domain::EventKind>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Reserve the next `PREFIX-YEAR-NNNN` id; ids are never reused, even if creation then fails.
    async fn next_incident_id(&self, prefix: &str, year: i16) -> StoreResult<IncidentId>;

    /// Store a new incident (version 1) with an empty review. Refuses a duplicate id.
    async fn create_incident(&self, incident: &Incident) -> StoreResult<Incident>;

    async fn incident(&self, id: &IncidentId) -> StoreResult<Incident>;

    async fn list_incidents(&self, filter: &IncidentFilter) -> StoreResult<Vec<Incident>>;

    /// How many incidents the filter matches, ignoring its limit and offset.
    async fn count_incidents(&self, filter: &IncidentFilter) -> StoreResult<i64>;

    /// Full-text search over titles, summaries, reviews, factors and action items, best first.
    async fn search(
        &self,
        query: &str,
        audience: &Audience,
        limit: i64,
    ) -> StoreResult<Vec<SearchHit>>;

    /// Archive (the API's delete) or restore an incident; nothing is ever hard-deleted.
    async fn set_incident_archived(
        &self,
        id: &IncidentId,
        archived_at: Option<Timestamp>,
    ) -> StoreResult<()>;

    /// Action items across incidents, for the follow-up board: by incident, then number.
    async fn action_board(
        &self,
        filter: &ActionFilter,
    ) -> StoreResult<Vec<(IncidentId, ActionItem)>>;

    /// Archive or restore an action item.
    async fn set_action_archived(
        &self,
        id: &IncidentId,
        number: i64,
        archived_at: Option<Timestamp>,
    ) -> StoreResult<()>;

    /// Save changed fields. `incident.version` is the version the change was based on; the
    /// returned incident carries the new one.
    async fn update_incident(&self, incident: &Incident) -> StoreResult<Incident>;

    /// Add events, skipping those whose `source_ref` the incident already has. All or nothing.
    async fn add_events(
        &self,
        id: &IncidentId,
        events: &[TimelineEvent],
    ) -> StoreResult<AddedEvents>;

    /// Add events as a feed produces them, all in one transaction: memory stays flat however
    /// large the import, and a feed that fails (a bad record) leaves nothing written.
    async fn add_events_from(
        &self,
        id: &IncidentId,
        feed: &mut (dyn EventFeed + Send),
    ) -> StoreResult<AddedEvents>;

    /// The timeline in merge order: time, then source, then insertion order.
    async fn events(&self, id: &IncidentId) -> StoreResult<Vec<TimelineEvent>>;

    async fn change_event(
        &self,
        id: &IncidentId,
        source_ref: &str,
        change: &EventChange,
    ) -> StoreResult<TimelineEvent>;

    async fn review(&self, id: &IncidentId) -> StoreResult<ReviewDocument>;

    /// Save a new revision if `expected_version` is current; refuses with a conflict otherwise.
    async fn save_review(
        &self,
        id: &IncidentId,
        expected_version: i64,
        body: &str,
        author: &str,
        at: Timestamp,
    ) -> StoreResult<ReviewDocument>;

    async fn revisions(&self, id: &IncidentId) -> StoreResult<Vec<RevisionSummary>>;

    async fn revision(&self, id: &IncidentId, number: i64) -> StoreResult<Revision>;

    async fn add_factor(&self, id: &IncidentId, factor: &ContributingFactor) -> StoreResult<()>;

    async fn factors(&self, id: &IncidentId) -> StoreResult<Vec<ContributingFactor>>;

    /// Store a new action item; the store assigns its number (1, 2, … per incident) and version.
    async fn add_action(&self, id: &IncidentId, action: &ActionItem) -> StoreResult<ActionItem>;

    async fn actions(&self, id: &IncidentId) -> StoreResult<Vec<ActionItem>>;

    /// Save a changed action item; `action.version` is the version the change was based on.
    async fn update_action(&self, id: &IncidentId, action: &ActionItem) -> StoreResult<ActionItem>;

    async fn add_participant(&self, id: &IncidentId, participant: &Participant) -> StoreResult<()>;

    async fn participants(&self, id: &IncidentId) -> StoreResult<Vec<Participant>>;

    /// Everything about one incident, for export.
    async fn record(&self, id: &IncidentId) -> StoreResult<IncidentRecord> {
        let incident = self.incident(id).await?;
        Ok(IncidentRecord {
            participants: self.participants(id).await?,
            events: self.events(id).await?,
            factors: self.factors(id).await?,
            actions: self.actions(id).await?,
            review: self.review(id).await?.body,
            incident,
        })
    }

    /// Write whole records in one transaction: new incidents are created, existing ones are
    /// replaced field by field (events merged by `source_ref`, a review revision saved when the
    /// text changed). Nothing is written if any record fails.
    async fn import_records(
        &self,
        records: &[IncidentRecord],
        author: &str,
        at: Timestamp,
    ) -> StoreResult<ImportSummary>;
}

/// Everything a server needs from storage: incidents and people.
pub trait AppStore: Store + AccessStore {}

impl<T: Store + AccessStore> AppStore for T {}

/// What an import of records did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub events_added: usize,
}
