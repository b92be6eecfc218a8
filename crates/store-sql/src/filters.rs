//! Building the WHERE clauses of incident lists, counts, searches and the action board, with the
//! audience rule in one place: a restricted incident is only ever selected for its groups.

use secondstory_store::{ActionFilter, Audience, IncidentFilter, IncidentOrder};
use sqlx::AssertSqlSafe;

use crate::queries::AnyQuery;

/// A parameter value; kept apart so clauses can be written before binding.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// SQL conditions joined with AND, and their parameters numbered in order.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    /// Adds a clause where each `?` stands for the next of `values`.
    pub fn add(&mut self, clause: &str, values: impl IntoIterator<Item = Param>) {
        let mut text = String::with_capacity(clause.len() + 8);
        let mut values = values.into_iter();
        for ch in clause.chars() {
            if ch == '?' {
                self.params
                    .push(values.next().unwrap_or(Param::Text(String::new())));
                text.push_str(&format!("${}", self.params.len()));
            } else {
                text.push(ch);
            }
        }
        self.clauses.push(text);
    }

    /// The audience rule for incidents aliased `alias`.
    pub fn audience(&mut self, audience: &Audience, alias: &str) {
        match audience {
            Audience::All => {}
            Audience::Groups(groups) if groups.is_empty() => {
                self.add(&format!("{alias}.restricted_groups IS NULL"), []);
            }
            Audience::Groups(groups) => {
                let marks = vec!["?"; groups.len()].join(", ");
                self.add(
                    &format!(
                        "({alias}.restricted_groups IS NULL OR {alias}.id IN \
                         (SELECT incident_id FROM incident_groups WHERE group_name IN ({marks})))"
                    ),
                    groups.iter().cloned().map(Param::Text),
                );
            }
        }
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub fn next_param(&self) -> usize {
        self.params.len() + 1
    }

    pub fn bind<'q>(&self, sql: String) -> AnyQuery<'q> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for p in &self.params {
            query = match p {
                Param::Text(t) => query.bind(t.clone()),
                Param::Int(n) => query.bind(*n),
            };
        }
        query
    }
}

/// How a name appears inside a stored JSON array, for LIKE matching. LIKE's wildcards are removed
/// (names never need them) so a filter cannot widen itself.
fn json_element(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| *c != '%' && *c != '_').collect();
    serde_json::to_string(&cleaned).unwrap_or_default()
}

/// The conditions of an incident list or count, on incidents aliased `i`.
pub(crate) fn incident_conditions(filter: &IncidentFilter) -> Conditions {
    let mut c = Conditions::default();
    c.audience(&filter.audience, "i");
    c.add(
        if filter.archived {
            "i.archived_us IS NOT NULL"
        } else {
            "i.archived_us IS NULL"
        },
        [],
    );
    if let Some(status) = filter.status {
        c.add("i.status = ?", [Param::Text(status.as_str().to_owned())]);
    }
    if let Some(severity) = &filter.severity {
        c.add("i.severity = ?", [Param::Text(severity.clone())]);
    }
    if let Some(kind) = filter.kind {
        c.add("i.kind = ?", [Param::Text(kind.as_str().to_owned())]);
    }
    if let Some(review) = &filter.review {
        c.add("i.review_state = ?", [Param::Text(review.clone())]);
    }
    if let Some(service) = &filter.service {
        c.add(
            "i.services LIKE ?",
            [Param::Text(format!("%{}%", json_element(service)))],
        );
    }
    if let Some(tag) = &filter.tag {
        c.add(
            "i.tags LIKE ?",
            [Param::Text(format!("%{}%", json_element(tag)))],
        );
    }
    if let Some(text) = &filter.text {
        c.add(
            "LOWER(i.title) LIKE ?",
            [Param::Text(format!("%{}%", text.to_lowercase()))],
        );
    }
    if let Some(since) = filter.since {
        c.add(
            "COALESCE(i.impact_started_us, i.created_us) >= ?",
            [Param::Int(since.as_microsecond())],
        );
    }
    if let Some(until) = filter.until {
        c.add(
            "COALESCE(i.impact_started_us, i.created_us) < ?",
            [Param::Int(until.as_microsecond())],
        );
    }
    c
}

pub(crate) fn incident_order(order: IncidentOrder) -> &'static str {
    match order {
        IncidentOrder::Newest => "i.created_us DESC, i.id DESC",
        IncidentOrder::Oldest => "i.created_us ASC, i.id ASC",
        IncidentOrder::ImpactStarted => {
            "COALESCE(i.impact_started_us, i.created_us) DESC, i.id DESC"
        }
        IncidentOrder::Severity => "i.severity ASC, i.created_us DESC, i.id DESC",
        IncidentOrder::Title => "LOWER(i.title) ASC, i.id ASC",
    }
}

/// The conditions of the action board, on actions `a` joined to incidents `i`.
pub(crate) fn action_conditions(filter: &ActionFilter) -> Conditions {
    let mut c = Conditions::default();
    c.audience(&filter.audience, "i");
    c.add("i.archived_us IS NULL", []);
    c.add(
        if filter.archived {
            "a.archived_us IS NOT NULL"
        } else {
            "a.archived_us IS NULL"
        },
        [],
    );
    if let Some(status) = &filter.status {
        c.add("a.status = ?", [Param::Text(status.clone())]);
    }
    if let Some(owner) = &filter.owner {
        c.add("a.owner = ?", [Param::Text(owner.clone())]);
    }
    if let Some(day) = filter.overdue_on {
        c.add(
            "a.due IS NOT NULL AND a.due < ? AND a.status IN ('open', 'in-progress')",
            [Param::Text(day.to_string())],
        );
    }
    c
}

/// Words of a search query as an FTS5 expression: every word must appear (prefix match on the
/// last), and nothing the user types can be FTS5 syntax.
pub(crate) fn fts5_query(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut expression = words.join(" ");
    expression.push('*');
    Some(expression)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_cannot_inject_fts_syntax() {
        assert_eq!(
            fts5_query("pgbouncer \"OR\" NEAR(x"),
            Some("\"pgbouncer\" \"OR\" \"NEAR\" \"x\"*".into())
        );
        assert_eq!(fts5_query("  -- "), None);
    }

    #[test]
    fn a_user_in_no_group_sees_only_open_incidents() {
        let mut c = Conditions::default();
        c.audience(&Audience::Groups(vec![]), "i");
        assert_eq!(c.sql(), "i.restricted_groups IS NULL");
        let mut c = Conditions::default();
        c.audience(&Audience::Groups(vec!["dba".into(), "sre".into()]), "i");
        assert!(c.sql().contains("group_name IN ($1, $2)"), "{}", c.sql());
    }
}
