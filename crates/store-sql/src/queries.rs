//! The [`Store`] implementation: one set of portable queries for both engines.
//!
//! Every write is one transaction. Versioned writes put the version check in the `UPDATE … WHERE
//! version = $n` itself, so the first statement of the transaction takes the lock and two writers
//! with the same version cannot both succeed, on either engine, at any isolation level.

use async_trait::async_trait;
use jiff::Timestamp;
use secondstory_domain::{
    ActionItem, ContributingFactor, Incident, IncidentId, IncidentRecord, Participant,
    RecordedTime, Revision, RevisionSummary, TimelineEvent, Visibility,
};
use secondstory_store::{
    ActionFilter, AddedEvents, Audience, EventChange, EventFeed, ImportSummary, IncidentFilter,
    ReviewDocument, SearchHit, Store, StoreError, StoreResult,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::encode::Encode;
use sqlx::query::Query;
use sqlx::{
    Any, AnyConnection, AssertSqlSafe, Database, Executor, IntoArguments, Row, Sqlite, Type,
};

use crate::rows::{self, TimeColumns, get};
use crate::{Backend, SqlStore, db, filters, is_retryable, search};

pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

/// Rows per multi-row INSERT: 500 × 12 parameters stays far below both engines' limits. (1,000
/// and 2,500 rows per statement were no faster on SQLite, 2,500 slower.)
const EVENT_BATCH: usize = 500;
/// How often a transaction that hit a deadlock or serialization failure is run again.
const RETRIES: usize = 5;

fn not_found(what: &'static str, key: impl ToString) -> StoreError {
    StoreError::NotFound {
        what,
        key: key.to_string(),
    }
}

fn write_error(
    context: &'static str,
    what: &'static str,
    key: &str,
) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate {
            what,
            key: key.to_owned(),
        },
        _ => db(context)(e),
    }
}

fn bind_time<'q>(query: AnyQuery<'q>, time: Option<&RecordedTime>) -> AnyQuery<'q> {
    let columns = TimeColumns::of(time);
    query
        .bind(columns.micros)
        .bind(columns.offset)
        .bind(columns.zone)
}

/// Binds every incident column in `rows::INCIDENT_COLUMNS` order except `version`.
fn bind_incident<'q>(query: AnyQuery<'q>, i: &Incident) -> AnyQuery<'q> {
    let restricted = match &i.visibility {
        Visibility::Everyone => None,
        Visibility::Restricted(groups) => Some(rows::json_list(groups)),
    };
    let query = query
        .bind(i.id.to_string())
        .bind(i.title.clone())
        .bind(i.kind.as_str())
        .bind(i.severity.to_string())
        .bind(i.status.as_str())
        .bind(i.review.name())
        .bind(i.review.reason().map(str::to_owned))
        .bind(rows::json_list(&i.services))
        .bind(rows::json_list(&i.tags))
        .bind(restricted)
        .bind(i.summary.clone());
    let t = &i.times;
    let query = bind_time(query, t.impact_started.as_ref());
    let query = bind_time(query, t.detected.as_ref());
    let query = bind_time(query, t.responded.as_ref());
    let query = bind_time(query, t.mitigated.as_ref());
    let query = bind_time(query, t.resolved.as_ref());
    bind_time(query, Some(&i.created_at))
}

const INSERT_INCIDENT: &str = "INSERT INTO incidents (id, title, kind, severity, status, \
    review_state, review_reason, services, tags, restricted_groups, summary, \
    impact_started_us, impact_started_offset, impact_started_zone, \
    detected_us, detected_offset, detected_zone, responded_us, responded_offset, responded_zone, \
    mitigated_us, mitigated_offset, mitigated_zone, resolved_us, resolved_offset, resolved_zone, \
    created_us, created_offset, created_zone, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, \
    $27, $28, $29, 1)";

const UPDATE_INCIDENT: &str = "UPDATE incidents SET title = $2, kind = $3, severity = $4, \
    status = $5, review_state = $6, review_reason = $7, services = $8, tags = $9, \
    restricted_groups = $10, summary = $11, \
    impact_started_us = $12, impact_started_offset = $13, impact_started_zone = $14, \
    detected_us = $15, detected_offset = $16, detected_zone = $17, \
    responded_us = $18, responded_offset = $19, responded_zone = $20, \
    mitigated_us = $21, mitigated_offset = $22, mitigated_zone = $23, \
    resolved_us = $24, resolved_offset = $25, resolved_zone = $26, \
    created_us = $27, created_offset = $28, created_zone = $29, version = version + 1 \
    WHERE id = $1 AND version = $30";

async fn insert_incident(conn: &mut AnyConnection, incident: &Incident) -> StoreResult<()> {
    let key = incident.id.to_string();
    bind_incident(sqlx::query(INSERT_INCIDENT), incident)
        .execute(&mut *conn)
        .await
        .map_err(write_error("creating an incident", "incident", &key))?;
    sqlx::query("INSERT INTO reviews (incident_id, body, version) VALUES ($1, '', 0)")
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(db("creating the review"))?;
    Ok(())
}

/// Applies a versioned update whose first statement did not match: either the row is gone or
/// someone else moved the version on.
async fn stale_or_missing(
    conn: &mut AnyConnection,
    sql: &'static str,
    what: &'static str,
    key: String,
    bind: impl FnOnce(AnyQuery<'static>) -> AnyQuery<'static>,
    expected: i64,
) -> StoreError {
    match bind(sqlx::query(sql)).fetch_optional(&mut *conn).await {
        Ok(Some(row)) => match row.try_get::<i64, _>(0) {
            Ok(actual) => StoreError::Conflict {
                what,
                key,
                expected,
                actual,
            },
            Err(e) => db("reading the current version")(e),
        },
        Ok(None) => StoreError::NotFound { what, key },
        Err(e) => db("reading the current version")(e),
    }
}

async fn update_incident_row(conn: &mut AnyConnection, incident: &Incident) -> StoreResult<i64> {
    let done = bind_incident(sqlx::query(UPDATE_INCIDENT), incident)
        .bind(incident.version)
        .execute(&mut *conn)
        .await
        .map_err(db("updating an incident"))?;
    if done.rows_affected() == 1 {
        return Ok(incident.version + 1);
    }
    let id = incident.id.to_string();
    Err(stale_or_missing(
        conn,
        "SELECT version FROM incidents WHERE id = $1",
        "incident",
        id.clone(),
        |q| q.bind(id),
        incident.version,
    )
    .await)
}

async fn require_incident(conn: &mut AnyConnection, id: &IncidentId) -> StoreResult<()> {
    let found = sqlx::query("SELECT 1 AS found FROM incidents WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("looking up an incident"))?;
    found.map(|_| ()).ok_or_else(|| not_found("incident", id))
}

pub(crate) async fn fetch_incident(
    conn: &mut AnyConnection,
    id: &IncidentId,
) -> StoreResult<Incident> {
    let sql = format!(
        "SELECT {} FROM incidents WHERE id = $1",
        rows::INCIDENT_COLUMNS
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("reading an incident"))?;
    rows::incident(&row.ok_or_else(|| not_found("incident", id))?)
}

/// Inserts events in multi-row batches, skipping `source_ref`s the incident already has.
async fn insert_events(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &IncidentId,
    events: Vec<TimelineEvent>,
) -> StoreResult<usize> {
    let mut one = OneBatch(Some(events));
    let added = insert_fed::<Any>(conn, backend, id, &mut one).await?;
    Ok(added.inserted)
}

/// A feed of one list of events, for the callers that have them all at hand.
struct OneBatch(Option<Vec<TimelineEvent>>);

impl EventFeed for OneBatch {
    fn next_batch(&mut self) -> Result<Option<Vec<TimelineEvent>>, String> {
        Ok(self.0.take())
    }
}

/// A driver the event inserts run on: the `Any` driver, or SQLite's own for bulk imports.
pub(crate) trait EventDriver: Database {
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl EventDriver for Any {
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl EventDriver for Sqlite {
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Inserts every batch of the feed, skipping `source_ref`s the incident already has, and tells the
/// feed after each batch how many of its events were new.
///
/// The statements form one pipeline across the feed's batches: while SQLite's driver thread runs
/// one statement, this thread takes the next batch from the feed if need be and binds the next
/// statement (the first poll of `execute` hands the statement over), so the database does not wait
/// for the importer, not even between batches.
async fn insert_fed<DB>(
    conn: &mut DB::Connection,
    backend: Backend,
    id: &IncidentId,
    feed: &mut (dyn EventFeed + Send),
) -> StoreResult<AddedEvents>
where
    DB: EventDriver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
{
    let mut supply = Supply::<DB> {
        feed,
        current: Vec::new().into_iter(),
        finished: false,
        offered: 0,
        incident: id.to_string(),
        backend,
        // Every full chunk has the same text, built once (and one prepared statement).
        full_chunk_sql: insert_events_sql(backend, EVENT_BATCH),
        driver: std::marker::PhantomData,
    };
    let mut next = supply.next_chunk().map_err(StoreError::FeedFailed)?;
    let mut inserted = 0;
    let mut in_batch = 0;
    while let Some(chunk) = next.take() {
        let (done, following) = match chunk.query {
            Some(query) => {
                let (done, following) =
                    tokio::join!(query.execute(&mut *conn), async { supply.next_chunk() });
                let done = done.map_err(db("adding timeline events"))?;
                (
                    usize::try_from(DB::rows_affected(&done)).unwrap_or(usize::MAX),
                    following,
                )
            }
            None => (0, supply.next_chunk()),
        };
        in_batch += done;
        if chunk.ends_batch {
            supply.feed.inserted(in_batch);
            inserted += in_batch;
            in_batch = 0;
        }
        next = following.map_err(StoreError::FeedFailed)?;
    }
    Ok(AddedEvents {
        inserted,
        already_present: supply.offered - inserted,
    })
}

/// One multi-row INSERT with its values bound (`None` for an empty batch), and whether it holds
/// the last events of the feed's batch.
struct Chunk<DB: Database> {
    query: Option<Query<'static, DB, DB::Arguments>>,
    ends_batch: bool,
}

/// Takes the feed's batches apart into statements. A statement never spans two batches, so each
/// batch's count of new events is known.
struct Supply<'f, DB> {
    feed: &'f mut (dyn EventFeed + Send),
    current: std::vec::IntoIter<TimelineEvent>,
    finished: bool,
    offered: usize,
    incident: String,
    backend: Backend,
    full_chunk_sql: String,
    driver: std::marker::PhantomData<DB>,
}

impl<DB> Supply<'_, DB>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
{
    /// The next statement, taking the next batch from the feed when the current one is used up;
    /// `None` when the feed is done.
    fn next_chunk(&mut self) -> Result<Option<Chunk<DB>>, String> {
        if self.current.len() == 0 {
            if self.finished {
                return Ok(None);
            }
            match self.feed.next_batch()? {
                Some(batch) => {
                    self.offered += batch.len();
                    self.current = batch.into_iter();
                }
                None => {
                    self.finished = true;
                    return Ok(None);
                }
            }
        }
        let full = EVENT_BATCH;
        let rows = self.current.len().min(full);
        let query = (rows > 0).then(|| {
            let sql = if rows == full {
                self.full_chunk_sql.clone()
            } else {
                insert_events_sql(self.backend, rows)
            };
            bind_events(
                sqlx::query(AssertSqlSafe(sql)),
                self.backend,
                &self.incident,
                self.current.by_ref().take(rows),
            )
        });
        Ok(Some(Chunk {
            query,
            ends_batch: self.current.len() == 0,
        }))
    }
}

/// Binds the values of [`insert_events_sql`]'s statement for the next `rows` events. The events
/// are moved into the arguments, not cloned: bulk imports spend much of their time binding values.
fn bind_events<DB>(
    mut query: Query<'static, DB, DB::Arguments>,
    backend: Backend,
    incident: &str,
    events: impl Iterator<Item = TimelineEvent>,
) -> Query<'static, DB, DB::Arguments>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
{
    let per_row_incident = match backend {
        // The statement takes the incident once, as its first parameter.
        Backend::Sqlite => {
            query = query.bind(incident.to_owned());
            false
        }
        Backend::Postgres => true,
    };
    for e in events {
        if per_row_incident {
            query = query.bind(incident.to_owned());
        }
        let zone = e.at.zone().map(str::to_owned);
        query = query
            .bind(e.at.as_micros())
            .bind(i64::from(e.at.offset_seconds()));
        query = bind_optional_text(query, zone)
            .bind(String::from(e.source))
            .bind(e.source_ref);
        query = bind_optional_text(query, e.actor)
            .bind(e.kind.as_str().to_owned())
            .bind(e.text)
            .bind(i64::from(e.key_moment))
            .bind(i64::from(e.hidden));
        query = bind_optional_text(query, e.evidence_url);
    }
    query
}

/// Binds an optional text by value: the `Any` driver encodes `Some(String)` by cloning it.
fn bind_optional_text<DB>(
    query: Query<'static, DB, DB::Arguments>,
    value: Option<String>,
) -> Query<'static, DB, DB::Arguments>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + Type<DB>,
{
    match value {
        Some(text) => query.bind(text),
        None => query.bind(None::<String>),
    }
}

/// The columns of an event row, in the order [`bind_events`] binds them.
const EVENT_INSERT_COLUMNS: &str = "INSERT INTO events (incident_id, at_us, at_offset, at_zone, \
    source, source_ref, actor, kind, text, key_moment, hidden, evidence_url) ";

/// The multi-row INSERT of `rows` events.
///
/// On SQLite the incident is bound once per statement, not once per row:
/// `INSERT … SELECT ?, column1, … FROM (VALUES (…), …) WHERE true ON CONFLICT … DO NOTHING`
/// (the `WHERE` is required: without it SQLite would read `ON CONFLICT` as a join constraint).
/// SQLite runs the `VALUES` as a co-routine, row by row, as it does for a plain multi-row INSERT.
/// PostgreSQL would infer the `VALUES` columns' types from the parameters alone, so it keeps
/// `VALUES` with 12 parameters per row.
fn insert_events_sql(backend: Backend, rows: usize) -> String {
    let mut sql = String::with_capacity(300 + rows * 80);
    sql.push_str(EVENT_INSERT_COLUMNS);
    let per_row = match backend {
        Backend::Sqlite => {
            sql.push_str(
                "SELECT ?, column1, column2, column3, column4, column5, column6, column7, \
                 column8, column9, column10, column11 FROM (VALUES ",
            );
            11
        }
        Backend::Postgres => {
            sql.push_str("VALUES ");
            12
        }
    };
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 1..=per_row {
            if column > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&backend.positional_parameter(row * per_row + column));
        }
        sql.push(')');
    }
    if backend == Backend::Sqlite {
        sql.push_str(") WHERE true");
    }
    sql.push_str(" ON CONFLICT (incident_id, source_ref) DO NOTHING");
    sql
}

async fn fetch_review(conn: &mut AnyConnection, id: &IncidentId) -> StoreResult<ReviewDocument> {
    let row = sqlx::query(
        "SELECT body, version, (SELECT COUNT(*) FROM revisions WHERE incident_id = $1) AS revisions \
         FROM reviews WHERE incident_id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("reading a review"))?
    .ok_or_else(|| not_found("incident", id))?;
    Ok(ReviewDocument {
        body: get(&row, "reviews", "body")?,
        version: get(&row, "reviews", "version")?,
        revisions: get(&row, "reviews", "revisions")?,
    })
}

async fn save_review_row(
    conn: &mut AnyConnection,
    id: &IncidentId,
    expected_version: i64,
    body: &str,
    author: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let key = id.to_string();
    let done = sqlx::query(
        "UPDATE reviews SET body = $2, version = version + 1 WHERE incident_id = $1 AND version = $3",
    )
    .bind(key.clone())
    .bind(body.to_owned())
    .bind(expected_version)
    .execute(&mut *conn)
    .await
    .map_err(db("saving a review"))?;
    if done.rows_affected() != 1 {
        let k = key.clone();
        return Err(stale_or_missing(
            conn,
            "SELECT version FROM reviews WHERE incident_id = $1",
            "review of incident",
            key,
            |q| q.bind(k),
            expected_version,
        )
        .await);
    }
    let saved = RecordedTime::utc(at);
    let query = sqlx::query(
        "INSERT INTO revisions (incident_id, number, author, saved_us, saved_offset, saved_zone, body) \
         VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM revisions WHERE incident_id = $1), \
         $2, $3, $4, $5, $6)",
    )
    .bind(key)
    .bind(author.to_owned());
    bind_time(query, Some(&saved))
        .bind(body.to_owned())
        .execute(&mut *conn)
        .await
        .map_err(db("recording a review revision"))?;
    Ok(())
}

async fn replace_factors(
    conn: &mut AnyConnection,
    id: &IncidentId,
    factors: &[ContributingFactor],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM factors WHERE incident_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db("replacing contributing factors"))?;
    for factor in factors {
        insert_factor(conn, id, factor).await?;
    }
    Ok(())
}

async fn insert_factor(
    conn: &mut AnyConnection,
    id: &IncidentId,
    factor: &ContributingFactor,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO factors (incident_id, position, category, description, event_refs) VALUES \
         ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM factors WHERE incident_id = $1), $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(factor.category.clone())
    .bind(factor.description.clone())
    .bind(rows::json_list(&factor.events))
    .execute(&mut *conn)
    .await
    .map_err(db("adding a contributing factor"))?;
    Ok(())
}

async fn replace_participants(
    conn: &mut AnyConnection,
    id: &IncidentId,
    participants: &[Participant],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM participants WHERE incident_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db("replacing participants"))?;
    for p in participants {
        insert_participant(conn, id, p).await?;
    }
    Ok(())
}

async fn insert_participant(
    conn: &mut AnyConnection,
    id: &IncidentId,
    p: &Participant,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO participants (incident_id, position, name, role, alias, perspective) VALUES \
         ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM participants WHERE incident_id = $1), \
         $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(p.name.clone())
    .bind(p.role.clone())
    .bind(p.alias.clone())
    .bind(p.perspective.clone())
    .execute(&mut *conn)
    .await
    .map_err(db("adding a participant"))?;
    Ok(())
}

fn bind_action<'q>(query: AnyQuery<'q>, a: &ActionItem) -> AnyQuery<'q> {
    query
        .bind(a.title.clone())
        .bind(a.description.clone())
        .bind(a.kind.as_str())
        .bind(a.owner.clone())
        .bind(a.priority.as_str())
        .bind(a.due.map(|d| d.to_string()))
        .bind(a.status.name())
        .bind(a.status.reason().map(str::to_owned))
        .bind(a.external_url.clone())
}

/// Inserts an action with the given number, or the next free one when `number` is 0.
async fn insert_action(
    conn: &mut AnyConnection,
    id: &IncidentId,
    action: &ActionItem,
) -> StoreResult<i64> {
    let number = if action.number > 0 {
        action.number
    } else {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM actions WHERE incident_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await
        .map_err(db("numbering an action item"))?;
        get(&row, "actions", "next")?
    };
    let query = sqlx::query(
        "INSERT INTO actions (incident_id, number, title, description, kind, owner, priority, due, \
         status, status_reason, external_url, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)",
    )
    .bind(id.to_string())
    .bind(number);
    let key = format!("{id}#{number}");
    bind_action(query, action)
        .execute(&mut *conn)
        .await
        .map_err(write_error("adding an action item", "action item", &key))?;
    Ok(number)
}

async fn update_action_row(
    conn: &mut AnyConnection,
    id: &IncidentId,
    action: &ActionItem,
) -> StoreResult<()> {
    let query = sqlx::query(
        "UPDATE actions SET title = $3, description = $4, kind = $5, owner = $6, priority = $7, \
         due = $8, status = $9, status_reason = $10, external_url = $11, version = version + 1 \
         WHERE incident_id = $1 AND number = $2 AND version = $12",
    )
    .bind(id.to_string())
    .bind(action.number);
    let done = bind_action(query, action)
        .bind(action.version)
        .execute(&mut *conn)
        .await
        .map_err(db("updating an action item"))?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let (key, number) = (id.to_string(), action.number);
    Err(stale_or_missing(
        conn,
        "SELECT version FROM actions WHERE incident_id = $1 AND number = $2",
        "action item",
        format!("{key}#{number}"),
        |q| q.bind(key).bind(number),
        action.version,
    )
    .await)
}

async fn fetch_all<T>(
    conn: &mut AnyConnection,
    sql: String,
    id: &IncidentId,
    context: &'static str,
    decode: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(db(context))?;
    rows.iter().map(decode).collect()
}

async fn fetch_events(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &IncidentId,
) -> StoreResult<Vec<TimelineEvent>> {
    let row = sqlx::query(backend.timeline_as_json())
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await
        .map_err(db("reading the timeline"))?;
    let json: Option<String> = get(&row, "events", "timeline")?;
    rows::events_from_json(json.as_deref().unwrap_or("[]"))
}

async fn fetch_actions(conn: &mut AnyConnection, id: &IncidentId) -> StoreResult<Vec<ActionItem>> {
    let sql = format!(
        "SELECT {} FROM actions WHERE incident_id = $1 AND archived_us IS NULL ORDER BY number",
        rows::ACTION_COLUMNS
    );
    fetch_all(conn, sql, id, "reading action items", rows::action).await
}

impl SqlStore {
    async fn connection(&self) -> StoreResult<sqlx::pool::PoolConnection<Any>> {
        self.pool
            .acquire()
            .await
            .map_err(db("connecting to the database"))
    }

    async fn import_once(
        &self,
        records: &[IncidentRecord],
        author: &str,
        at: Timestamp,
    ) -> Result<ImportSummary, (StoreError, bool)> {
        let retryable = |e: sqlx::Error| {
            let again = is_retryable(&e);
            (db("importing incidents")(e), again)
        };
        let mut tx = self
            .pool
            .begin_with(self.backend.begin_statement())
            .await
            .map_err(retryable)?;
        let mut summary = ImportSummary::default();
        for record in records {
            let id = &record.incident.id;
            let existing = match fetch_incident(&mut tx, id).await {
                Ok(existing) => Some(existing),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err((e, false)),
            };
            let result = match existing {
                None => self.create_from_record(&mut tx, record, author, at).await,
                Some(existing) => {
                    self.update_from_record(&mut tx, existing, record, author, at)
                        .await
                }
            };
            let (created, events_added) = result.map_err(|e| (e, false))?;
            search::refresh_incident(&mut tx, self.backend, id)
                .await
                .map_err(|e| (e, false))?;
            if created {
                summary.created += 1;
            } else {
                summary.updated += 1;
            }
            summary.events_added += events_added;
        }
        tx.commit().await.map_err(retryable)?;
        Ok(summary)
    }

    /// Returns (created, events added).
    async fn create_from_record(
        &self,
        conn: &mut AnyConnection,
        record: &IncidentRecord,
        author: &str,
        at: Timestamp,
    ) -> StoreResult<(bool, usize)> {
        let id = &record.incident.id;
        insert_incident(conn, &record.incident).await?;
        let added = insert_events(conn, self.backend, id, record.events.clone()).await?;
        for factor in &record.factors {
            insert_factor(conn, id, factor).await?;
        }
        for p in &record.participants {
            insert_participant(conn, id, p).await?;
        }
        for action in &record.actions {
            insert_action(conn, id, action).await?;
        }
        if !record.review.is_empty() {
            save_review_row(conn, id, 0, &record.review, author, at).await?;
        }
        Ok((true, added))
    }

    async fn update_from_record(
        &self,
        conn: &mut AnyConnection,
        existing: Incident,
        record: &IncidentRecord,
        author: &str,
        at: Timestamp,
    ) -> StoreResult<(bool, usize)> {
        let id = &record.incident.id;
        let mut incident = record.incident.clone();
        incident.version = existing.version;
        if incident != existing {
            update_incident_row(conn, &incident).await?;
        }
        let added = insert_events(conn, self.backend, id, record.events.clone()).await?;
        for event in &record.events {
            sqlx::query(
                "UPDATE events SET key_moment = $3, hidden = $4, kind = $5 \
                 WHERE incident_id = $1 AND source_ref = $2",
            )
            .bind(id.to_string())
            .bind(event.source_ref.clone())
            .bind(i64::from(event.key_moment))
            .bind(i64::from(event.hidden))
            .bind(event.kind.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db("updating imported events"))?;
        }
        replace_factors(conn, id, &record.factors).await?;
        replace_participants(conn, id, &record.participants).await?;
        let current = fetch_actions(conn, id).await?;
        for action in &record.actions {
            match current.iter().find(|a| a.number == action.number) {
                Some(stored) => {
                    let mut changed = action.clone();
                    changed.version = stored.version;
                    if &changed != stored {
                        update_action_row(conn, id, &changed).await?;
                    }
                }
                None => {
                    insert_action(conn, id, action).await?;
                }
            }
        }
        let review = fetch_review(conn, id).await?;
        if review.body != record.review {
            save_review_row(conn, id, review.version, &record.review, author, at).await?;
        }
        Ok((false, added))
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn next_incident_id(&self, prefix: &str, year: i16) -> StoreResult<IncidentId> {
        // Validate the shape before touching the counter.
        IncidentId::numbered(prefix, year, 1)?;
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO id_counters (prefix, year, last) VALUES ($1, $2, 1) \
             ON CONFLICT (prefix, year) DO UPDATE SET last = id_counters.last + 1 RETURNING last",
        )
        .bind(prefix.to_owned())
        .bind(i64::from(year))
        .fetch_one(&mut *tx)
        .await
        .map_err(db("allocating an incident id"))?;
        let number: i64 = get(&row, "id_counters", "last")?;
        tx.commit().await.map_err(db("allocating an incident id"))?;
        Ok(IncidentId::numbered(prefix, year, number)?)
    }

    async fn create_incident(&self, incident: &Incident) -> StoreResult<Incident> {
        let mut tx = self.begin().await?;
        insert_incident(&mut tx, incident).await?;
        search::refresh_incident(&mut tx, self.backend, &incident.id).await?;
        tx.commit().await.map_err(db("creating an incident"))?;
        Ok(Incident {
            version: 1,
            ..incident.clone()
        })
    }

    async fn incident(&self, id: &IncidentId) -> StoreResult<Incident> {
        fetch_incident(&mut *self.connection().await?, id).await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        let conditions = filters::incident_conditions(filter);
        let columns = rows::INCIDENT_COLUMNS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "SELECT {columns} FROM incidents i WHERE {} ORDER BY {}",
            conditions.sql(),
            filters::incident_order(filter.order)
        );
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(
                " LIMIT {} OFFSET {}",
                limit.max(0),
                filter.offset.max(0)
            ));
        }
        let rows = conditions
            .bind(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db("listing incidents"))?;
        rows.iter().map(rows::incident).collect()
    }

    async fn count_incidents(&self, filter: &IncidentFilter) -> StoreResult<i64> {
        let conditions = filters::incident_conditions(filter);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM incidents i WHERE {}",
            conditions.sql()
        );
        let row = conditions
            .bind(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(db("counting incidents"))?;
        get(&row, "incidents", "n")
    }

    async fn search(
        &self,
        query: &str,
        audience: &Audience,
        limit: i64,
    ) -> StoreResult<Vec<SearchHit>> {
        let mut conn = self.connection().await?;
        search::search(&mut conn, self.backend, query, audience, limit).await
    }

    async fn set_incident_archived(
        &self,
        id: &IncidentId,
        archived_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE incidents SET archived_us = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(archived_at.map(|t| t.as_microsecond()))
            .execute(&mut *tx)
            .await
            .map_err(db("archiving an incident"))?;
        if done.rows_affected() == 0 {
            return Err(not_found("incident", id));
        }
        tx.commit().await.map_err(db("archiving an incident"))
    }

    async fn action_board(
        &self,
        filter: &ActionFilter,
    ) -> StoreResult<Vec<(IncidentId, ActionItem)>> {
        let conditions = filters::action_conditions(filter);
        let columns = rows::ACTION_COLUMNS
            .split(", ")
            .map(|c| format!("a.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT a.incident_id AS incident_id, {columns} FROM actions a JOIN incidents i \
             ON i.id = a.incident_id WHERE {} ORDER BY a.due IS NULL, a.due, a.incident_id, a.number",
            conditions.sql()
        );
        let rows = conditions
            .bind(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading the action board"))?;
        rows.iter()
            .map(|row| {
                let id: String = get(row, "actions", "incident_id")?;
                let id = IncidentId::parse(&id)
                    .map_err(|e| rows::corrupt("actions", "incident_id", e))?;
                Ok((id, rows::action(row)?))
            })
            .collect()
    }

    async fn set_action_archived(
        &self,
        id: &IncidentId,
        number: i64,
        archived_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE actions SET archived_us = $3 WHERE incident_id = $1 AND number = $2",
        )
        .bind(id.to_string())
        .bind(number)
        .bind(archived_at.map(|t| t.as_microsecond()))
        .execute(&mut *tx)
        .await
        .map_err(db("archiving an action item"))?;
        if done.rows_affected() == 0 {
            return Err(not_found("action item", format!("{id}#{number}")));
        }
        search::refresh_incident(&mut tx, self.backend, id).await?;
        tx.commit().await.map_err(db("archiving an action item"))
    }

    async fn update_incident(&self, incident: &Incident) -> StoreResult<Incident> {
        let mut tx = self.begin().await?;
        let version = update_incident_row(&mut tx, incident).await?;
        search::refresh_incident(&mut tx, self.backend, &incident.id).await?;
        tx.commit().await.map_err(db("updating an incident"))?;
        Ok(Incident {
            version,
            ..incident.clone()
        })
    }

    async fn add_events(
        &self,
        id: &IncidentId,
        events: &[TimelineEvent],
    ) -> StoreResult<AddedEvents> {
        for attempt in 0..RETRIES {
            let mut tx = self.begin().await?;
            require_incident(&mut tx, id).await?;
            let inserted = insert_events(&mut tx, self.backend, id, events.to_vec()).await?;
            match tx.commit().await {
                Ok(()) => {
                    return Ok(AddedEvents {
                        inserted,
                        already_present: events.len() - inserted,
                    });
                }
                Err(e) if is_retryable(&e) && attempt + 1 < RETRIES => continue,
                Err(e) => return Err(db("adding timeline events")(e)),
            }
        }
        Err(StoreError::Backend {
            context: "adding timeline events".into(),
            message: "gave up after repeated deadlocks".into(),
        })
    }

    async fn add_events_from(
        &self,
        id: &IncidentId,
        feed: &mut (dyn EventFeed + Send),
    ) -> StoreResult<AddedEvents> {
        // Dropping the transaction on any error rolls it back.
        if let Some(bulk) = &self.bulk {
            let mut tx = bulk
                .begin_with(self.backend.begin_statement())
                .await
                .map_err(db("starting a transaction"))?;
            let found = sqlx::query("SELECT 1 AS found FROM incidents WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("looking up an incident"))?;
            found.ok_or_else(|| not_found("incident", id))?;
            let added = insert_fed::<Sqlite>(&mut tx, self.backend, id, feed).await?;
            tx.commit().await.map_err(db("adding timeline events"))?;
            return Ok(added);
        }
        let mut tx = self.begin().await?;
        require_incident(&mut tx, id).await?;
        let added = insert_fed::<Any>(&mut tx, self.backend, id, feed).await?;
        tx.commit().await.map_err(db("adding timeline events"))?;
        Ok(added)
    }

    async fn events(&self, id: &IncidentId) -> StoreResult<Vec<TimelineEvent>> {
        let mut conn = self.connection().await?;
        require_incident(&mut conn, id).await?;
        fetch_events(&mut conn, self.backend, id).await
    }

    async fn change_event(
        &self,
        id: &IncidentId,
        source_ref: &str,
        change: &EventChange,
    ) -> StoreResult<TimelineEvent> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE events SET key_moment = COALESCE($3, key_moment), hidden = COALESCE($4, hidden), \
             kind = COALESCE($5, kind) WHERE incident_id = $1 AND source_ref = $2",
        )
        .bind(id.to_string())
        .bind(source_ref.to_owned())
        .bind(change.key_moment.map(i64::from))
        .bind(change.hidden.map(i64::from))
        .bind(change.kind.map(|k| k.as_str()))
        .execute(&mut *tx)
        .await
        .map_err(db("changing a timeline event"))?;
        if done.rows_affected() == 0 {
            require_incident(&mut tx, id).await?;
            return Err(not_found("timeline event", source_ref));
        }
        let sql = format!(
            "SELECT {} FROM events WHERE incident_id = $1 AND source_ref = $2",
            rows::EVENT_COLUMNS
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .bind(source_ref.to_owned())
            .fetch_one(&mut *tx)
            .await
            .map_err(db("reading a timeline event"))?;
        let event = rows::event(&row)?;
        tx.commit().await.map_err(db("changing a timeline event"))?;
        Ok(event)
    }

    async fn review(&self, id: &IncidentId) -> StoreResult<ReviewDocument> {
        fetch_review(&mut *self.connection().await?, id).await
    }

    async fn save_review(
        &self,
        id: &IncidentId,
        expected_version: i64,
        body: &str,
        author: &str,
        at: Timestamp,
    ) -> StoreResult<ReviewDocument> {
        let mut tx = self.begin().await?;
        save_review_row(&mut tx, id, expected_version, body, author, at).await?;
        search::refresh_incident(&mut tx, self.backend, id).await?;
        let review = fetch_review(&mut tx, id).await?;
        tx.commit().await.map_err(db("saving a review"))?;
        Ok(review)
    }

    async fn revisions(&self, id: &IncidentId) -> StoreResult<Vec<RevisionSummary>> {
        let mut conn = self.connection().await?;
        require_incident(&mut conn, id).await?;
        let sql = "SELECT number, author, saved_us, saved_offset, saved_zone, body FROM revisions \
                   WHERE incident_id = $1 ORDER BY number"
            .to_owned();
        let revisions = fetch_all(&mut conn, sql, id, "reading review history", revision).await?;
        Ok(revisions.iter().map(RevisionSummary::from).collect())
    }

    async fn revision(&self, id: &IncidentId, number: i64) -> StoreResult<Revision> {
        let mut conn = self.connection().await?;
        require_incident(&mut conn, id).await?;
        let row = sqlx::query(
            "SELECT number, author, saved_us, saved_offset, saved_zone, body FROM revisions \
             WHERE incident_id = $1 AND number = $2",
        )
        .bind(id.to_string())
        .bind(number)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("reading a review revision"))?;
        revision(&row.ok_or_else(|| not_found("revision", format!("{id}@{number}")))?)
    }

    async fn add_factor(&self, id: &IncidentId, factor: &ContributingFactor) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        require_incident(&mut tx, id).await?;
        insert_factor(&mut tx, id, factor).await?;
        search::refresh_incident(&mut tx, self.backend, id).await?;
        tx.commit()
            .await
            .map_err(db("adding a contributing factor"))
    }

    async fn factors(&self, id: &IncidentId) -> StoreResult<Vec<ContributingFactor>> {
        let mut conn = self.connection().await?;
        require_incident(&mut conn, id).await?;
        let sql = "SELECT category, description, event_refs FROM factors WHERE incident_id = $1 \
                   ORDER BY position"
            .to_owned();
        fetch_all(
            &mut conn,
            sql,
            id,
            "reading contributing factors",
            rows::factor,
        )
        .await
    }

    async fn add_action(&self, id: &IncidentId, action: &ActionItem) -> StoreResult<ActionItem> {
        let mut tx = self.begin().await?;
        require_incident(&mut tx, id).await?;
        let unnumbered = ActionItem {
            number: 0,
            ..action.clone()
        };
        let number = insert_action(&mut tx, id, &unnumbered).await?;
        search::refresh_incident(&mut tx, self.backend, id).await?;
        tx.commit().await.map_err(db("adding an action item"))?;
        Ok(ActionItem {
            number,
            version: 1,
            ..action.clone()
        })
    }

    async fn actions(&self, id: &IncidentId) -> StoreResult<Vec<ActionItem>> {
        let mut conn = self.connection().await?;
        require_incident(&mut conn, id).await?;
        fetch_actions(&mut conn, id).await
    }

    async fn update_action(&self, id: &IncidentId, action: &ActionItem) -> StoreResult<ActionItem> {
        let mut tx = self.begin().await?;
        update_action_row(&mut tx, id, action).await?;
        search::refresh_incident(&mut tx, self.backend, id).await?;
        tx.commit().await.map_err(db("updating an action item"))?;
        Ok(ActionItem {
            version: action.version + 1,
            ..action.clone()
        })
    }

    async fn add_participant(&self, id: &IncidentId, participant: &Participant) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        require_incident(&mut tx, id).await?;
        insert_participant(&mut tx, id, participant).await?;
        tx.commit().await.map_err(db("adding a participant"))
    }

    async fn participants(&self, id: &IncidentId) -> StoreResult<Vec<Participant>> {
        let mut conn = self.connection().await?;
        require_incident(&mut conn, id).await?;
        let sql = "SELECT name, role, alias, perspective FROM participants WHERE incident_id = $1 \
                   ORDER BY position"
            .to_owned();
        fetch_all(
            &mut conn,
            sql,
            id,
            "reading participants",
            rows::participant,
        )
        .await
    }

    async fn record(&self, id: &IncidentId) -> StoreResult<IncidentRecord> {
        // One connection and one snapshot-ish read path; faster than five pool round-trips.
        let mut conn = self.connection().await?;
        let incident = fetch_incident(&mut conn, id).await?;
        let participants = fetch_all(
            &mut conn,
            "SELECT name, role, alias, perspective FROM participants WHERE incident_id = $1 ORDER BY position".into(),
            id,
            "reading participants",
            rows::participant,
        )
        .await?;
        let events = fetch_events(&mut conn, self.backend, id).await?;
        let factors = fetch_all(
            &mut conn,
            "SELECT category, description, event_refs FROM factors WHERE incident_id = $1 ORDER BY position".into(),
            id,
            "reading contributing factors",
            rows::factor,
        )
        .await?;
        let actions = fetch_actions(&mut conn, id).await?;
        let review = fetch_review(&mut conn, id).await?.body;
        Ok(IncidentRecord {
            incident,
            participants,
            events,
            factors,
            actions,
            review,
        })
    }

    async fn import_records(
        &self,
        records: &[IncidentRecord],
        author: &str,
        at: Timestamp,
    ) -> StoreResult<ImportSummary> {
        let mut seen = std::collections::BTreeSet::new();
        for record in records {
            if !seen.insert(record.incident.id.as_str()) {
                return Err(StoreError::Duplicate {
                    what: "incident (twice in one import)",
                    key: record.incident.id.to_string(),
                });
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.import_once(records, author, at).await {
                Ok(summary) => return Ok(summary),
                Err((_, true)) if attempt < RETRIES => continue,
                Err((e, _)) => return Err(e),
            }
        }
    }
}

fn revision(row: &AnyRow) -> StoreResult<Revision> {
    const T: &str = "revisions";
    Ok(Revision {
        number: get(row, T, "number")?,
        author: get(row, T, "author")?,
        saved_at: rows::required_time(row, T, "saved")?,
        body: get(row, T, "body")?,
    })
}
