//! Etsy Morgue MySQL dumps: the postmortem's own times, for migrating old reviews.
//!
//! Morgue stores `starttime` (impact start), `detecttime`, `endtime` (impact end) and
//! `statustime` as Unix epoch seconds on each `postmortems` row; `0` means "not set" and
//! `deleted = 1` rows are soft-deleted and skipped. Only `INSERT INTO \`postmortems\`` statements
//! are read; the other tables (history, tags, links, pre-rendered Slack HTML) are review
//! material, not timeline facts. A dump is one small file, parsed whole.

use jiff::Timestamp;
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};

use crate::ImportOptions;
use crate::common::event;
use crate::error::{ImportError, Position, describe_found};

#[derive(Debug, Clone, PartialEq)]
enum SqlValue {
    Null,
    Text(String),
    Bare(String),
}

impl SqlValue {
    fn as_text(&self) -> &str {
        match self {
            SqlValue::Null => "",
            SqlValue::Text(t) | SqlValue::Bare(t) => t,
        }
    }
}

struct SqlCursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> SqlCursor<'a> {
    fn line(&self) -> u64 {
        self.text[..self.at.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count() as u64
            + 1
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.text[self.at..].chars().next() {
            if c.is_whitespace() {
                self.at += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        self.skip_space();
        if self.text[self.at..].starts_with(expected) {
            self.at += expected.len_utf8();
            true
        } else {
            false
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn identifier(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.text[self.at..];
        let inner = rest.strip_prefix('`')?;
        let end = inner.find('`')?;
        self.at += end + 2;
        Some(inner[..end].to_owned())
    }

    fn value(&mut self) -> Option<SqlValue> {
        self.skip_space();
        if self.peek()? == '\'' {
            self.at += 1;
            let mut out = String::new();
            let mut chars = self.text[self.at..].char_indices();
            while let Some((offset, c)) = chars.next() {
                match c {
                    '\\' => {
                        let (_, escaped) = chars.next()?;
                        out.push(match escaped {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            '0' => '\0',
                            other => other,
                        });
                    }
                    '\'' => {
                        self.at += offset + 1;
                        return Some(SqlValue::Text(out));
                    }
                    other => out.push(other),
                }
            }
            return None;
        }
        let rest = &self.text[self.at..];
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        let token = rest[..end].trim();
        self.at += end;
        if token.eq_ignore_ascii_case("NULL") {
            Some(SqlValue::Null)
        } else {
            Some(SqlValue::Bare(token.to_owned()))
        }
    }
}

pub(crate) fn parse_morgue_dump(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let text = String::from_utf8_lossy(bytes);
    let mut events = Vec::new();
    let marker = "INSERT INTO `postmortems` ";
    let mut search_from = 0;
    while let Some(found) = text[search_from..].find(marker) {
        let start = search_from + found + marker.len();
        let mut cursor = SqlCursor {
            text: &text,
            at: start,
        };
        match parse_insert(file, &mut cursor) {
            Ok(rows) => events.extend(rows),
            Err(error) => {
                events.push(Err(error));
                break;
            }
        }
        search_from = cursor.at.max(start);
    }
    events
}

fn parse_insert(
    file: &str,
    cursor: &mut SqlCursor<'_>,
) -> Result<Vec<Result<TimelineEvent, ImportError>>, ImportError> {
    let syntax = |cursor: &SqlCursor<'_>, expected: &str| {
        let found: String = cursor.text[cursor.at.min(cursor.text.len())..]
            .chars()
            .take(30)
            .collect();
        ImportError::invalid(
            file,
            Position::Line(cursor.line()),
            expected,
            describe_found(&found),
        )
    };
    if !cursor.eat('(') {
        return Err(syntax(cursor, "a column list `(`id`,…)`"));
    }
    let mut columns = Vec::new();
    loop {
        columns.push(
            cursor
                .identifier()
                .ok_or_else(|| syntax(cursor, "a `quoted` column name"))?,
        );
        if cursor.eat(')') {
            break;
        }
        if !cursor.eat(',') {
            return Err(syntax(cursor, "`,` or `)` in the column list"));
        }
    }
    cursor.skip_space();
    if !cursor.text[cursor.at..].starts_with("VALUES") {
        return Err(syntax(cursor, "VALUES"));
    }
    cursor.at += "VALUES".len();
    let mut events = Vec::new();
    loop {
        let line = cursor.line();
        if !cursor.eat('(') {
            return Err(syntax(cursor, "a row `(…)`"));
        }
        let mut row = Vec::new();
        loop {
            row.push(
                cursor
                    .value()
                    .ok_or_else(|| syntax(cursor, "a SQL value"))?,
            );
            if cursor.eat(')') {
                break;
            }
            if !cursor.eat(',') {
                return Err(syntax(cursor, "`,` or `)` between values"));
            }
        }
        events.extend(row_to_events(file, line, &columns, &row));
        if cursor.eat(';') {
            break;
        }
        if !cursor.eat(',') {
            return Err(syntax(cursor, "`,` or `;` after a row"));
        }
    }
    Ok(events)
}

fn row_to_events(
    file: &str,
    line: u64,
    columns: &[String],
    row: &[SqlValue],
) -> Vec<Result<TimelineEvent, ImportError>> {
    let field = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i))
    };
    if field("deleted").map(SqlValue::as_text) == Some("1") {
        return Vec::new();
    }
    let id = field("id").map(SqlValue::as_text).unwrap_or("?");
    let title = field("title").map(SqlValue::as_text).unwrap_or("");
    let moments = [
        ("starttime", "Impact started", EventKind::Observation),
        ("detecttime", "Detected", EventKind::Detection),
        ("endtime", "Impact ended", EventKind::Observation),
        ("statustime", "Status updated", EventKind::Communication),
    ];
    let mut events = Vec::new();
    for (column, label, kind) in moments {
        let Some(value) = field(column) else { continue };
        let raw = value.as_text();
        if raw.is_empty() || raw == "0" {
            continue;
        }
        let instant = raw
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok());
        let Some(instant) = instant else {
            events.push(Err(ImportError::invalid(
                file,
                Position::Line(line),
                format!("`postmortems.{column}` as Unix epoch seconds"),
                describe_found(raw),
            )));
            continue;
        };
        let text = format!("{label}: {title} (Morgue postmortems.{column})");
        let mut result = event(
            RecordedTime::utc(instant),
            "morgue",
            format!("morgue:postmortem:{id}:{column}"),
            kind,
            text,
        );
        result.key_moment = true;
        events.push(Ok(result));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postmortem_times_become_events_skipping_unset_and_deleted_rows() {
        let dump = "INSERT INTO `postmortems` (`id`,`title`,`starttime`,`statustime`,`deleted`) VALUES \
                    (311,'it\\'s (a) title',1711842118,0,0),(97,'old 😀',1546300800,0,1);";
        let events: Vec<TimelineEvent> =
            parse_morgue_dump("m.sql", dump.as_bytes(), &ImportOptions::default())
                .into_iter()
                .map(Result::unwrap)
                .collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].at.to_string(), "2024-03-30T23:41:58Z");
        assert_eq!(
            events[0].text,
            "Impact started: it's (a) title (Morgue postmortems.starttime)"
        );
    }

    #[test]
    fn a_broken_insert_is_reported_with_its_line() {
        let dump = "-- x\nINSERT INTO `postmortems` (`id`,`starttime`) VALUES\n(1,'unterminated);";
        let error = parse_morgue_dump("m.sql", dump.as_bytes(), &ImportOptions::default())
            .remove(0)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("m.sql:3: expected a SQL value"),
            "{error}"
        );
    }
}
