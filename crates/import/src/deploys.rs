//! Deploys and the changes behind them: `git log` output and GitHub `deployment` /
//! `deployment_status` webhook bodies.
//!
//! git: two formats are read. The machine format is
//! `git log --format='%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%D%x1f%s%x1f%b'`
//! (records split on `\x1e` because bodies contain newlines); it yields an "authored" event and,
//! when the commit landed at another instant, a "committed" event. The default `git log` (and
//! `--format=fuller`) is read from its `commit`/`Author:`/`Date:` headers; its `Date:` is the
//! author date. Neither is a deploy time, which is why deployment webhooks are imported too.
//!
//! GitHub sends the event name only in the `X-GitHub-Event` header, so the body's shape decides:
//! a `deployment_status` object means a status change, a lone `deployment` means one was created.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use jiff::Timestamp;
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};

use crate::ImportOptions;
use crate::common::{
    Node, display_path, event, first_line, parse_json_document, parse_time_with_offset,
};
use crate::error::{ImportError, Position, describe_found};

type Events = Box<dyn Iterator<Item = Result<TimelineEvent, ImportError>> + Send>;

/// A commit as read from either format.
#[derive(Debug, Default)]
struct Commit {
    sha: String,
    author: String,
    author_date: Option<RecordedTime>,
    committer: String,
    commit_date: Option<RecordedTime>,
    decorations: String,
    subject: String,
}

/// Reads a `git log` file in either supported format, one commit at a time.
pub(crate) fn import_git_log(path: &Path) -> Result<Events, ImportError> {
    let shown = display_path(path);
    let handle = File::open(path).map_err(|e| ImportError::io(&shown, e))?;
    let mut reader = BufReader::new(handle);
    let machine = {
        let peek = reader.fill_buf().map_err(|e| ImportError::io(&shown, e))?;
        peek.iter().find(|b| !b.is_ascii_whitespace()) == Some(&0x1e)
    };
    if machine {
        Ok(Box::new(
            MachineLog {
                file: shown,
                reader,
                record: 0,
            }
            .flatten(),
        ))
    } else {
        let log = DefaultLog {
            file: shown,
            reader,
            line_number: 0,
            pending: None,
            done: false,
            queue: Vec::new(),
        };
        Ok(Box::new(log.flatten()))
    }
}

fn commit_events(commit: &Commit) -> Vec<TimelineEvent> {
    let short = commit.sha.get(..7).unwrap_or(&commit.sha);
    let tags: Vec<&str> = commit
        .decorations
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("tag: "))
        .collect();
    let tag_note = if tags.is_empty() {
        String::new()
    } else {
        format!(" (tag {})", tags.join(", "))
    };
    let kind = if tags.is_empty() {
        EventKind::Action
    } else {
        EventKind::Deploy
    };
    let mut events = Vec::new();
    let mut push = |what: &str, at: &RecordedTime, actor: &str| {
        let text = format!("commit {short}{tag_note} {what}: {}", commit.subject);
        let mut result = event(
            at.clone(),
            "git",
            format!("git:{}:{what}", commit.sha),
            kind,
            text,
        );
        result.actor = Some(actor.to_owned()).filter(|a| !a.is_empty());
        events.push(result);
    };
    if let Some(authored) = &commit.author_date {
        push("authored", authored, &commit.author);
    }
    if let Some(committed) = &commit.commit_date
        && commit
            .author_date
            .as_ref()
            .is_none_or(|a| a.instant() != committed.instant())
    {
        push("committed", committed, &commit.committer);
    }
    events
}

struct MachineLog {
    file: String,
    reader: BufReader<File>,
    record: u64,
}

impl MachineLog {
    fn parse_record(&self, record: &str) -> Result<Commit, ImportError> {
        let fields: Vec<&str> = record.split('\x1f').collect();
        let position = Position::Record(self.record);
        if fields.len() < 9 {
            return Err(ImportError::invalid(
                &self.file,
                position,
                "10 fields separated by \\x1f (%H %an %ae %aI %cn %ce %cI %D %s %b)",
                format!("{} fields", fields.len()),
            ));
        }
        let time = |text: &str, what: &str| {
            parse_time_with_offset(text).map_err(|_| {
                ImportError::invalid(
                    &self.file,
                    position.clone(),
                    format!("a strict ISO {what} date (%aI/%cI)"),
                    describe_found(text),
                )
            })
        };
        Ok(Commit {
            sha: fields[0].trim().to_owned(),
            author: fields[1].to_owned(),
            author_date: Some(time(fields[3], "author")?),
            committer: fields[4].to_owned(),
            commit_date: Some(time(fields[6], "commit")?),
            decorations: fields[7].to_owned(),
            subject: fields[8].trim().to_owned(),
        })
    }
}

impl Iterator for MachineLog {
    type Item = Vec<Result<TimelineEvent, ImportError>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut bytes = Vec::new();
            match self.reader.read_until(0x1e, &mut bytes) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(vec![Err(ImportError::io(&self.file, e))]),
            }
            if bytes.last() == Some(&0x1e) {
                bytes.pop();
            }
            let record = String::from_utf8_lossy(&bytes);
            if record.trim().is_empty() {
                continue;
            }
            self.record += 1;
            return Some(match self.parse_record(&record) {
                Ok(commit) => commit_events(&commit).into_iter().map(Ok).collect(),
                Err(error) => vec![Err(error)],
            });
        }
    }
}

struct DefaultLog {
    file: String,
    reader: BufReader<File>,
    line_number: u64,
    pending: Option<Commit>,
    done: bool,
    queue: Vec<Result<TimelineEvent, ImportError>>,
}

fn parse_git_default_date(text: &str) -> Option<RecordedTime> {
    let zoned = jiff::fmt::strtime::parse("%a %b %d %H:%M:%S %Y %z", text.trim()).ok()?;
    let instant: Timestamp = zoned.to_timestamp().ok()?;
    let offset = zoned.offset()?;
    Some(RecordedTime::with_offset(instant, offset))
}

impl DefaultLog {
    fn finish(&mut self) {
        if let Some(commit) = self.pending.take() {
            if commit.author_date.is_none() && commit.commit_date.is_none() {
                self.queue.push(Err(ImportError::invalid(
                    &self.file,
                    Position::Line(self.line_number),
                    format!("a `Date:` line for commit {}", commit.sha),
                    "none",
                )));
            } else {
                self.queue
                    .extend(commit_events(&commit).into_iter().map(Ok));
            }
        }
    }

    fn line(&mut self, line: &str) {
        let error = |expected: &str| {
            ImportError::invalid(
                &self.file,
                Position::Line(self.line_number),
                expected,
                describe_found(line),
            )
        };
        if let Some(rest) = line.strip_prefix("commit ") {
            self.finish();
            let (sha, decorations) = match rest.split_once(' ') {
                Some((sha, decorations)) => (
                    sha,
                    decorations
                        .trim()
                        .trim_start_matches('(')
                        .trim_end_matches(')'),
                ),
                None => (rest, ""),
            };
            self.pending = Some(Commit {
                sha: sha.to_owned(),
                decorations: decorations.to_owned(),
                ..Commit::default()
            });
            return;
        }
        let Some(commit) = self.pending.as_mut() else {
            if !line.trim().is_empty() {
                let e = error("a `commit <sha>` line starting the log");
                self.queue.push(Err(e));
            }
            return;
        };
        let name_of = |value: &str| value.split(" <").next().unwrap_or(value).trim().to_owned();
        if let Some(author) = line.strip_prefix("Author:") {
            commit.author = name_of(author);
        } else if let Some(committer) = line.strip_prefix("Commit:") {
            commit.committer = name_of(committer);
        } else if let Some(date) = line
            .strip_prefix("Date:")
            .or(line.strip_prefix("AuthorDate:"))
        {
            match parse_git_default_date(date) {
                Some(at) => commit.author_date = Some(at),
                None => {
                    let e = error("a git date like `Sun Mar 31 09:12:40 2024 +0200`");
                    self.queue.push(Err(e));
                }
            }
        } else if let Some(date) = line.strip_prefix("CommitDate:") {
            match parse_git_default_date(date) {
                Some(at) => commit.commit_date = Some(at),
                None => {
                    let e = error("a git date like `Sun Mar 31 09:12:40 2024 +0200`");
                    self.queue.push(Err(e));
                }
            }
        } else if let Some(message) = line.strip_prefix("    ")
            && commit.subject.is_empty()
        {
            commit.subject = message.trim().to_owned();
        }
    }
}

impl Iterator for DefaultLog {
    type Item = Vec<Result<TimelineEvent, ImportError>>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.queue.is_empty() {
            if self.done {
                return None;
            }
            let mut bytes = Vec::new();
            match self.reader.read_until(b'\n', &mut bytes) {
                Ok(0) => {
                    self.done = true;
                    self.finish();
                }
                Ok(_) => {
                    self.line_number += 1;
                    let line = String::from_utf8_lossy(&bytes);
                    self.line(line.trim_end_matches(['\n', '\r']));
                }
                Err(e) => {
                    self.done = true;
                    self.queue.push(Err(ImportError::io(&self.file, e)));
                }
            }
        }
        Some(std::mem::take(&mut self.queue))
    }
}

/// Parses a GitHub `deployment` or `deployment_status` webhook body.
pub(crate) fn parse_github_deployment(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let document = match parse_json_document(file, bytes) {
        Ok(document) => document,
        Err(error) => return vec![Err(error)],
    };
    vec![deployment_to_event(file, &Node::root(&document))]
}

fn deployment_to_event(file: &str, root: &Node<'_>) -> Result<TimelineEvent, ImportError> {
    let deployment = root.get("deployment");
    if !deployment.value.is_object() {
        return Err(deployment.unexpected(file, "a GitHub `deployment` object"));
    }
    let reference = deployment.get("ref").opt_text().unwrap_or("?");
    let environment = deployment.get("environment").opt_text().unwrap_or("");
    let deployment_status = root.get("deployment_status");
    if deployment_status.value.is_object() {
        let id = deployment_status.get("id");
        let id = id
            .value
            .as_u64()
            .map(|n| n.to_string())
            .ok_or_else(|| id.unexpected(file, "a numeric status id"))?;
        let state = deployment_status
            .get("state")
            .req_str(file, "a deployment state such as `success`")?;
        let at = deployment_status.get("created_at").req_time(file)?;
        let description = deployment_status
            .get("description")
            .opt_text()
            .unwrap_or("");
        let mut text = format!("{reference} {state}");
        if !description.is_empty() {
            text.push_str(&format!(": {description}"));
        }
        if !environment.is_empty() {
            text.push_str(&format!(" (environment {environment})"));
        }
        let mut result = event(
            at,
            "github",
            format!("github:deployment_status:{id}"),
            EventKind::Deploy,
            text,
        );
        result.actor = deployment_status
            .get("creator")
            .get("login")
            .opt_text()
            .map(str::to_owned);
        result.key_moment = matches!(state, "success" | "failure" | "error");
        result.evidence_url = deployment_status
            .get("target_url")
            .opt_text()
            .or(deployment_status.get("log_url").opt_text())
            .map(str::to_owned);
        return Ok(result);
    }
    let id = deployment.get("id");
    let id = id
        .value
        .as_u64()
        .map(|n| n.to_string())
        .ok_or_else(|| id.unexpected(file, "a numeric deployment id"))?;
    let at = deployment.get("created_at").req_time(file)?;
    let description = deployment
        .get("description")
        .opt_text()
        .map(first_line)
        .unwrap_or("");
    let mut text = format!("deployment {id} created, ref {reference}");
    if !description.is_empty() {
        text.push_str(&format!(" — {description}"));
    }
    if !environment.is_empty() {
        text.push_str(&format!(" (environment {environment})"));
    }
    let mut result = event(
        at,
        "github",
        format!("github:deployment:{id}"),
        EventKind::Deploy,
        text,
    );
    result.actor = deployment
        .get("creator")
        .get("login")
        .opt_text()
        .map(str::to_owned);
    result.evidence_url = root
        .get("repository")
        .get("html_url")
        .opt_text()
        .map(|repo| format!("{repo}/deployments"));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(text: &[u8]) -> Vec<Result<TimelineEvent, ImportError>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, text).unwrap();
        import_git_log(&path).unwrap().collect()
    }

    #[test]
    fn the_default_format_gives_the_author_date_with_its_offset() {
        let log = b"commit e58d0a7c3b9f (HEAD -> main, tag: v3.8.1)\nAuthor: Marta Wenzel <m@q>\nDate:   Sun Mar 31 09:12:40 2024 +0200\n\n    Revert \"x\"\n\n    body\n";
        let events = git(log);
        let event = events[0].as_ref().unwrap();
        assert_eq!(event.at.to_string(), "2024-03-31T09:12:40+02:00");
        assert_eq!(
            event.text,
            "commit e58d0a7 (tag v3.8.1) authored: Revert \"x\""
        );
        assert_eq!(event.source_ref, "git:e58d0a7c3b9f:authored");
        assert_eq!(event.kind, EventKind::Deploy);
    }

    #[test]
    fn the_machine_format_adds_the_commit_date_when_it_differs() {
        let log = "\x1ea3f9c1e07b\x1fMarta\x1fm@q\x1f2024-03-28T16:02:11+01:00\x1fGitHub\x1fn@g\x1f2024-03-31T00:29:51+01:00\x1ftag: v3.8.0\x1fsubject\x1fbody\nmore\n";
        let refs: Vec<String> = git(log.as_bytes())
            .into_iter()
            .map(|e| e.unwrap().source_ref)
            .collect();
        assert_eq!(
            refs,
            ["git:a3f9c1e07b:authored", "git:a3f9c1e07b:committed"]
        );
        let bad = git(b"\x1eonly\x1ftwo");
        assert!(
            bad[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("(record 1)")
        );
    }

    #[test]
    fn a_deployment_status_body_is_told_from_a_deployment_body_by_shape() {
        let status = br#"{"deployment":{"id":1,"ref":"v3.7.2","environment":"production"},
            "deployment_status":{"id":9,"state":"success","description":"Rolled out","created_at":"2024-03-31T00:13:20Z"}}"#;
        let event = parse_github_deployment("s.json", status, &ImportOptions::default())
            .remove(0)
            .unwrap();
        assert_eq!(
            event.text,
            "v3.7.2 success: Rolled out (environment production)"
        );
        assert!(event.key_moment);
        let created = br#"{"deployment":{"id":1,"ref":"v3.7.2","description":"Rollback","created_at":"2024-03-31T00:11:04Z"}}"#;
        let event = parse_github_deployment("d.json", created, &ImportOptions::default())
            .remove(0)
            .unwrap();
        assert_eq!(event.text, "deployment 1 created, ref v3.7.2 — Rollback");
        assert_eq!(event.source_ref, "github:deployment:1");
    }
}
