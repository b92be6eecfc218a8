//! Keeping the search index and the visibility table in step with incidents, and querying it.
//!
//! Search lives in the database (SQLite FTS5, PostgreSQL tsvector + GIN) so servers stay
//! stateless. An incident's document is its title (weighted) and its summary, review, factors and
//! action items; it is rebuilt inside the same transaction as any write that changes them.

use secondstory_domain::{IncidentId, Visibility};
use secondstory_store::{Audience, SEARCH_MATCH_END, SEARCH_MATCH_START, SearchHit, StoreResult};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::filters::{Conditions, fts5_query};
use crate::rows::{self, get};
use crate::{Backend, db};

/// Rebuilds the derived rows of one incident: its visibility groups and its search document.
pub(crate) async fn refresh_incident(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &IncidentId,
) -> StoreResult<()> {
    let key = id.to_string();
    let incident = crate::queries::fetch_incident(conn, id).await?;
    sqlx::query("DELETE FROM incident_groups WHERE incident_id = $1")
        .bind(key.clone())
        .execute(&mut *conn)
        .await
        .map_err(db("updating incident visibility"))?;
    if let Visibility::Restricted(groups) = &incident.visibility {
        for group in groups {
            sqlx::query("INSERT INTO incident_groups (incident_id, group_name) VALUES ($1, $2)")
                .bind(key.clone())
                .bind(group.clone())
                .execute(&mut *conn)
                .await
                .map_err(db("updating incident visibility"))?;
        }
    }
    let mut body = incident.summary.clone();
    let parts = [
        "SELECT body AS text FROM reviews WHERE incident_id = $1",
        "SELECT description AS text FROM factors WHERE incident_id = $1",
        "SELECT title AS text FROM actions WHERE incident_id = $1",
        "SELECT description AS text FROM actions WHERE incident_id = $1",
        "SELECT services AS text FROM incidents WHERE id = $1",
    ];
    for sql in parts {
        let rows = sqlx::query(sql)
            .bind(key.clone())
            .fetch_all(&mut *conn)
            .await
            .map_err(db("reading text for the search index"))?;
        for row in rows {
            let text: String = get(&row, "search", "text")?;
            body.push('\n');
            body.push_str(&text);
        }
    }
    match backend {
        Backend::Sqlite => {
            sqlx::query("DELETE FROM search_index WHERE incident_id = $1")
                .bind(key.clone())
                .execute(&mut *conn)
                .await
                .map_err(db("updating the search index"))?;
            sqlx::query("INSERT INTO search_index (incident_id, title, body) VALUES ($1, $2, $3)")
                .bind(key)
                .bind(incident.title.clone())
                .bind(body)
                .execute(&mut *conn)
                .await
                .map_err(db("updating the search index"))?;
        }
        Backend::Postgres => {
            sqlx::query(
                "INSERT INTO search_documents (incident_id, body, document) VALUES ($1, $3, \
                 setweight(to_tsvector('english', $2), 'A') || to_tsvector('english', $3)) \
                 ON CONFLICT (incident_id) DO UPDATE SET body = excluded.body, \
                 document = excluded.document",
            )
            .bind(key)
            .bind(incident.title.clone())
            .bind(body)
            .execute(&mut *conn)
            .await
            .map_err(db("updating the search index"))?;
        }
    }
    Ok(())
}

pub(crate) async fn search(
    conn: &mut AnyConnection,
    backend: Backend,
    query: &str,
    audience: &Audience,
    limit: i64,
) -> StoreResult<Vec<SearchHit>> {
    let mut conditions = Conditions::default();
    conditions.audience(audience, "i");
    conditions.add("i.archived_us IS NULL", []);
    let columns = rows::INCIDENT_COLUMNS
        .split(", ")
        .map(|c| format!("i.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let (start, end) = (SEARCH_MATCH_START, SEARCH_MATCH_END);
    let sql = match backend {
        Backend::Sqlite => {
            let Some(expression) = fts5_query(query) else {
                return Ok(Vec::new());
            };
            conditions.add(
                "search_index MATCH ?",
                [crate::filters::Param::Text(expression)],
            );
            format!(
                "SELECT {columns}, snippet(search_index, 2, '{start}', '{end}', '…', 16) AS snippet \
                 FROM search_index JOIN incidents i ON i.id = search_index.incident_id \
                 WHERE {} ORDER BY bm25(search_index, 0.0, 10.0, 1.0) LIMIT {}",
                conditions.sql(),
                limit.clamp(1, 200)
            )
        }
        Backend::Postgres => {
            if query.trim().is_empty() {
                return Ok(Vec::new());
            }
            let q = conditions.next_param();
            conditions.add(
                "d.document @@ websearch_to_tsquery('english', ?)",
                [crate::filters::Param::Text(query.to_owned())],
            );
            format!(
                "SELECT {columns}, ts_headline('english', d.body, websearch_to_tsquery('english', ${q}), \
                 'StartSel={start}, StopSel={end}, MaxWords=24, MinWords=8, MaxFragments=1') AS snippet \
                 FROM search_documents d JOIN incidents i ON i.id = d.incident_id WHERE {} \
                 ORDER BY ts_rank(d.document, websearch_to_tsquery('english', ${q})) DESC, i.id \
                 LIMIT {}",
                conditions.sql(),
                limit.clamp(1, 200)
            )
        }
    };
    let rows = conditions
        .bind(sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("searching"))?;
    rows.iter()
        .map(|row| {
            Ok(SearchHit {
                incident: rows::incident(row)?,
                snippet: row.try_get::<String, _>("snippet").unwrap_or_default(),
            })
        })
        .collect()
}

/// Rebuilds every incident's derived rows: used once after the migration that added them.
pub(crate) async fn refresh_all(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    let ids = sqlx::query(AssertSqlSafe("SELECT id FROM incidents".to_owned()))
        .fetch_all(&mut *conn)
        .await
        .map_err(db("listing incidents to index"))?;
    for row in ids {
        let id: String = get(&row, "incidents", "id")?;
        let id = IncidentId::parse(&id).map_err(|e| rows::corrupt("incidents", "id", e))?;
        refresh_incident(conn, backend, &id).await?;
    }
    Ok(())
}
