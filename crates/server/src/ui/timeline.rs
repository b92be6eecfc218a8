//! The timeline: the server-rendered SVG view (one lane per kind of source, key moments marked,
//! zoom by `?from=&to=`), the list beside it, and the timeline editor (add events, mark key
//! moments, hide, set kinds, import a file from the browser).
//!
//! Imports reuse `secondstory-import` and `Store::add_events_from` the way the CLI's
//! `timeline import` does: the upload is streamed to a temporary file, read as a stream of
//! events and written in batches inside one transaction.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use secondstory_domain::{EventKind, EventSource, Incident, TimelineEvent};
use secondstory_import::{Format, ImportItem, ImportOptions};
use secondstory_store::{EventChange, EventFeed, Role};
use serde::Deserialize;

use super::view::{escape_into, form_time, url_encode};
use super::{Chrome, SignedIn, TimeView, UiError, UiResult, check_csrf, page, see_other};
use crate::api::{audit, visible_incident};
use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;

/// The lanes of the SVG view, in order, and which sources belong to each.
const LANES: [(&str, &str); 6] = [
    ("chat", "Chat"),
    ("alerts", "Alerts"),
    ("paging", "Paging"),
    ("deploys", "Deploys"),
    ("manual", "Manual"),
    ("other", "Other"),
];

pub fn lane_of(source: &str) -> usize {
    match source {
        "slack" | "irc" | "mattermost" | "chat" => 0,
        "alertmanager" | "grafana" | "opsgenie" | "prometheus" => 1,
        "pagerduty" => 2,
        "git" | "github" | "deploy" | "deploys" => 3,
        "manual" => 4,
        _ => 5,
    }
}

/// One event as the list and the editor show it.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub anchor: String,
    pub time: TimeView,
    pub source: String,
    pub source_ref: String,
    pub lane: &'static str,
    pub actor: String,
    pub kind: &'static str,
    pub text: String,
    pub evidence_url: Option<String>,
    pub key_moment: bool,
    pub hidden: bool,
}

impl EventRow {
    fn new(index: usize, event: &TimelineEvent) -> EventRow {
        EventRow {
            anchor: format!("ev-{index}"),
            time: TimeView::new(&event.at),
            source: event.source.to_string(),
            source_ref: event.source_ref.clone(),
            lane: LANES[lane_of(event.source.as_str())].1,
            actor: event.actor.clone().unwrap_or_default(),
            kind: event.kind.as_str(),
            text: event.text.clone(),
            evidence_url: event.evidence_url.clone(),
            key_moment: event.key_moment,
            hidden: event.hidden,
        }
    }
}

/// A link that moves the view.
#[derive(Debug, Clone)]
pub struct ZoomLink {
    pub label: &'static str,
    pub href: String,
}

/// The timeline as the incident page shows it.
#[derive(Debug, Clone)]
pub struct TimelineView {
    /// Trusted markup built by [`svg`], every text in it escaped.
    pub svg: String,
    pub rows: Vec<EventRow>,
    pub total: usize,
    pub zoom: Vec<ZoomLink>,
    pub from: String,
    pub to: String,
    pub zoomed: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ZoomQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn parse_bound(text: &Option<String>) -> Option<Timestamp> {
    let text = text.as_deref()?.trim();
    if text.is_empty() {
        return None;
    }
    text.parse::<Timestamp>().ok().or_else(|| {
        form_time("t", text, "UTC")
            .ok()
            .flatten()
            .map(|t| t.instant())
    })
}

fn stamp(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The visible events between the query's bounds (default: all of them), as SVG and list.
pub fn view(incident: &Incident, events: &[TimelineEvent], query: &ZoomQuery) -> TimelineView {
    let visible: Vec<(usize, &TimelineEvent)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.hidden)
        .collect();
    let known = incident
        .times
        .named()
        .into_iter()
        .filter_map(|(_, t)| t.as_ref().map(|t| t.instant()));
    let instants = visible.iter().map(|(_, e)| e.at.instant()).chain(known);
    let (mut first, mut last) = (None::<Timestamp>, None::<Timestamp>);
    for t in instants {
        first = Some(first.map_or(t, |f| f.min(t)));
        last = Some(last.map_or(t, |l| l.max(t)));
    }
    let first = first.unwrap_or_else(|| incident.created_at.instant());
    let mut last = last.unwrap_or(first);
    if last <= first {
        last = first
            .checked_add(SignedDuration::from_mins(30))
            .unwrap_or(first);
    }
    let requested = (parse_bound(&query.from), parse_bound(&query.to));
    let from = requested.0.unwrap_or(first);
    let mut to = requested.1.unwrap_or(last);
    if to <= from {
        to = from
            .checked_add(SignedDuration::from_mins(1))
            .unwrap_or(from);
    }
    let zoomed = requested.0.is_some() || requested.1.is_some();
    let in_range: Vec<(usize, &TimelineEvent)> = visible
        .iter()
        .copied()
        .filter(|(_, e)| {
            let t = e.at.instant();
            t >= from && t <= to
        })
        .collect();
    let span = to.duration_since(from);
    let half = span / 2;
    let quarter = span / 4;
    let shift = |t: Timestamp, d: SignedDuration| t.checked_add(d).unwrap_or(t);
    let link = |label, a: Timestamp, b: Timestamp| ZoomLink {
        label,
        href: format!(
            "?from={}&to={}#timeline",
            url_encode(&stamp(a)),
            url_encode(&stamp(b))
        ),
    };
    let mut zoom = vec![
        link("Earlier", shift(from, -half), shift(to, -half)),
        link("Zoom in", shift(from, quarter), shift(to, -quarter)),
        link(
            "Zoom out",
            shift(from, -half).max(first),
            shift(to, half).min(last).max(shift(from, span)),
        ),
        link("Later", shift(from, half), shift(to, half)),
    ];
    if zoomed {
        zoom.push(ZoomLink {
            label: "Whole incident",
            href: "?#timeline".to_owned(),
        });
    }
    TimelineView {
        svg: svg(&in_range, from, to),
        rows: in_range.iter().map(|(i, e)| EventRow::new(*i, e)).collect(),
        total: visible.len(),
        zoom,
        from: stamp(from),
        to: stamp(to),
        zoomed,
    }
}

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 90.0;
const LANE: f64 = 34.0;
const AXIS: f64 = 28.0;

/// The SVG view: one lane per kind of source (only lanes with events, at least one), a time
/// axis, dots per event linking to its row in the list, key moments as diamonds with a rule.
pub fn svg(events: &[(usize, &TimelineEvent)], from: Timestamp, to: Timestamp) -> String {
    let mut used = [false; LANES.len()];
    for (_, e) in events {
        used[lane_of(e.source.as_str())] = true;
    }
    for lane in [0, 1, 2, 3, 4] {
        used[lane] = true;
    }
    if !events.iter().any(|(_, e)| lane_of(e.source.as_str()) == 5) {
        used[5] = false;
    }
    let lanes: Vec<usize> = (0..LANES.len()).filter(|i| used[*i]).collect();
    let row_of = |lane: usize| lanes.iter().position(|l| *l == lane).unwrap_or(0);
    let height = AXIS + LANE * lanes.len() as f64 + 6.0;
    let plot = WIDTH - LABEL - 14.0;
    let span = (to.as_microsecond() - from.as_microsecond()).max(1) as f64;
    let x_of =
        |t: Timestamp| LABEL + (t.as_microsecond() - from.as_microsecond()) as f64 / span * plot;
    let mut out = String::with_capacity(200 + events.len() * 220);
    let _ = write!(
        out,
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" role=\"group\" \
         aria-labelledby=\"timeline-svg-title\" preserveAspectRatio=\"none\">\
         <title id=\"timeline-svg-title\">Timeline from {} to {} (UTC), {} events</title>",
        stamp(from),
        stamp(to),
        events.len()
    );
    for (row, lane) in lanes.iter().enumerate() {
        let y = AXIS + LANE * row as f64;
        let _ = write!(
            out,
            "<rect class=\"lane lane-{}\" x=\"0\" y=\"{y}\" width=\"{WIDTH}\" height=\"{LANE}\"/>\
             <text class=\"lane-label\" x=\"6\" y=\"{:.1}\">{}</text>",
            row % 2,
            y + LANE / 2.0 + 4.0,
            LANES[*lane].1
        );
    }
    let ticks = 6;
    let long = span > 2.0 * 86_400e6;
    for i in 0..=ticks {
        let micros = from.as_microsecond() + (span * i as f64 / ticks as f64) as i64;
        let Ok(t) = Timestamp::from_microsecond(micros) else {
            continue;
        };
        let x = x_of(t);
        let label = if long {
            t.strftime("%m-%d %H:%M").to_string()
        } else {
            t.strftime("%H:%M").to_string()
        };
        let anchor = match i {
            0 => "start",
            i if i == ticks => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{height}\"/>\
             <text class=\"tick-label\" x=\"{x:.1}\" y=\"16\" text-anchor=\"{anchor}\">{label}</text>",
            AXIS - 4.0
        );
    }
    for (index, event) in events {
        let x = x_of(event.at.instant());
        let y = AXIS + LANE * row_of(lane_of(event.source.as_str())) as f64 + LANE / 2.0;
        let mut label = String::new();
        escape_into(
            &mut label,
            &format!(
                "{} {} {}: {}",
                stamp(event.at.instant()),
                event.source,
                event.actor.as_deref().unwrap_or(""),
                truncate(&event.text, 140)
            ),
        );
        if event.key_moment {
            let _ = write!(
                out,
                "<line class=\"key-rule\" x1=\"{x:.1}\" y1=\"{AXIS}\" x2=\"{x:.1}\" y2=\"{height}\"/>\
                 <a href=\"#ev-{index}\" aria-label=\"Key moment: {label}\">\
                 <path class=\"ev key kind-{}\" d=\"M{x:.1} {:.1}l7 7l-7 7l-7 -7z\"><title>Key moment: {label}</title></path></a>",
                event.kind.as_str(),
                y - 7.0,
            );
        } else {
            let _ = write!(
                out,
                "<a href=\"#ev-{index}\" tabindex=\"-1\" aria-label=\"{label}\">\
                 <circle class=\"ev kind-{}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\"><title>{label}</title></circle></a>",
                event.kind.as_str(),
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

// ------------------------------------------------------------------ the editor

#[derive(Template, WebTemplate)]
#[template(path = "timeline_edit.html")]
struct EditorPage {
    chrome: Chrome,
    id: String,
    title: String,
    rows: Vec<EventRow>,
    kinds: Vec<&'static str>,
    formats: Vec<&'static str>,
    page: usize,
    pages: usize,
    total: usize,
    summary: Option<ImportSummaryView>,
}

#[derive(Debug, Clone)]
struct ImportSummaryView {
    imported: String,
    already: String,
    skipped: String,
    read: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct EditorQuery {
    page: Option<usize>,
    imported: Option<String>,
    already: Option<String>,
    skipped: Option<String>,
    read: Option<String>,
}

const PER_PAGE: usize = 100;

pub async fn editor(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<EditorQuery>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    let incident = visible_incident(&state, principal, &id).await?;
    let events = state.store.events(&incident.id).await?;
    let pages = events.len().div_ceil(PER_PAGE).max(1);
    let page_no = query.page.unwrap_or(1).clamp(1, pages);
    let rows = events
        .iter()
        .enumerate()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|(i, e)| EventRow::new(i, e))
        .collect();
    let summary = query.imported.as_ref().map(|imported| ImportSummaryView {
        imported: imported.clone(),
        already: query.already.clone().unwrap_or_default(),
        skipped: query.skipped.clone().unwrap_or_default(),
        read: query.read.clone().unwrap_or_default(),
    });
    Ok(page(EditorPage {
        chrome: who.chrome(format!("Timeline of {}", incident.id), "incidents"),
        id: incident.id.to_string(),
        title: incident.title.clone(),
        rows,
        kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        formats: Format::ALL.iter().map(|f| f.name()).collect(),
        page: page_no,
        pages,
        total: events.len(),
        summary,
    }))
}

#[derive(Debug, Deserialize)]
pub struct NewEventForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    tz: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    evidence_url: String,
    key_moment: Option<String>,
}

pub async fn add_event(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NewEventForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    check_csrf(principal, &form.csrf_token)?;
    let incident = visible_incident(&state, principal, &id).await?;
    let at = form_time("at", &form.at, &form.tz)?
        .ok_or_else(|| ApiError::invalid("at", "when did it happen? a time is required"))?;
    let event = TimelineEvent {
        at,
        source: EventSource::manual(),
        source_ref: crypto::random_token("manual:")[..27].to_owned(),
        actor: Some(form.actor.trim().to_owned()).filter(|a| !a.is_empty()),
        kind: if form.kind.is_empty() {
            EventKind::Observation
        } else {
            form.kind.parse()?
        },
        text: form.text.trim().to_owned(),
        key_moment: form.key_moment.is_some(),
        hidden: false,
        evidence_url: Some(form.evidence_url.trim().to_owned()).filter(|u| !u.is_empty()),
    };
    event.validate()?;
    state.store.add_events(&incident.id, &[event]).await?;
    audit(
        &state,
        principal,
        "timeline.add",
        incident.id.as_str(),
        serde_json::json!({"count": 1}),
    )
    .await;
    Ok(see_other(&format!("/incidents/{}/timeline", incident.id)))
}

#[derive(Debug, Deserialize)]
pub struct ChangeEventForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    source_ref: String,
    #[serde(default)]
    kind: String,
    key_moment: Option<String>,
    hidden: Option<String>,
    page: Option<usize>,
}

pub async fn change_event(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ChangeEventForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    check_csrf(principal, &form.csrf_token)?;
    let incident = visible_incident(&state, principal, &id).await?;
    let change = EventChange {
        key_moment: Some(form.key_moment.is_some()),
        hidden: Some(form.hidden.is_some()),
        kind: if form.kind.is_empty() {
            None
        } else {
            Some(form.kind.parse()?)
        },
    };
    state
        .store
        .change_event(&incident.id, &form.source_ref, &change)
        .await?;
    audit(
        &state,
        principal,
        "timeline.change",
        incident.id.as_str(),
        serde_json::json!({"source_ref": form.source_ref}),
    )
    .await;
    Ok(see_other(&format!(
        "/incidents/{}/timeline?page={}",
        incident.id,
        form.page.unwrap_or(1)
    )))
}

/// Events per insert batch, as in the CLI.
const BATCH: usize = 5_000;

/// One uploaded file read as a feed of events, counting what it read per source.
struct UploadFeed {
    stream: secondstory_import::EventStream,
    read: BTreeMap<String, usize>,
    skipped: usize,
    offered: usize,
    inserted: usize,
}

impl EventFeed for UploadFeed {
    fn next_batch(&mut self) -> Result<Option<Vec<TimelineEvent>>, String> {
        let mut batch = Vec::with_capacity(256);
        while batch.len() < BATCH {
            match self.stream.next() {
                None => break,
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(ImportItem::Skipped(_))) => self.skipped += 1,
                Some(Ok(ImportItem::Event(event))) => {
                    *self.read.entry(event.source.to_string()).or_default() += 1;
                    batch.push(event);
                }
            }
        }
        if batch.is_empty() {
            return Ok(None);
        }
        self.offered += batch.len();
        Ok(Some(batch))
    }

    fn inserted(&mut self, count: usize) {
        self.inserted += count;
    }
}

fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> UiError {
    ApiError::new(
        e.status(),
        format!("the upload could not be read: {}", e.body_text()),
    )
    .into()
}

fn io_error(e: std::io::Error) -> UiError {
    tracing::error!(error = %e, "could not spool an upload");
    ApiError::internal().into()
}

/// Import a file uploaded from the browser; answers with a redirect to the editor carrying the
/// summary, so the page after an upload (with or without script) shows what happened.
pub async fn import(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    let incident = visible_incident(&state, principal, &id).await?;
    let mut csrf_checked = false;
    let (mut format, mut tz, mut skip_invalid) = (String::new(), String::new(), false);
    let mut upload: Option<(tempfile::TempDir, std::path::PathBuf)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "csrf_token" => {
                let sent = field.text().await.map_err(multipart_error)?;
                check_csrf(principal, &sent)?;
                csrf_checked = true;
            }
            "format" => format = field.text().await.map_err(multipart_error)?,
            "tz" => tz = field.text().await.map_err(multipart_error)?,
            "skip_invalid" => skip_invalid = true,
            "file" => {
                // The token comes first in our form; a file before it is not read at all.
                if !csrf_checked {
                    check_csrf(principal, "")?;
                }
                let file_name = safe_file_name(field.file_name().unwrap_or("upload"));
                let dir = tempfile::tempdir().map_err(io_error)?;
                let path = dir.path().join(&file_name);
                let mut file = std::fs::File::create(&path).map_err(io_error)?;
                let mut bytes = 0usize;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    bytes += chunk.len();
                    file.write_all(&chunk).map_err(io_error)?;
                }
                file.flush().map_err(io_error)?;
                if bytes == 0 {
                    return Err(ApiError::invalid("file", "choose a file to import").into());
                }
                upload = Some((dir, path));
            }
            _ => {}
        }
    }
    if !csrf_checked {
        check_csrf(principal, "")?;
    }
    let Some((_dir, path)) = upload else {
        return Err(ApiError::invalid("file", "choose a file to import").into());
    };
    let tz = match tz.trim() {
        "" => None,
        name => Some(jiff::tz::TimeZone::get(name).map_err(|e| {
            ApiError::invalid("tz", format!("`{name}` is not an IANA time zone name: {e}"))
        })?),
    };
    let format = match format.trim() {
        "" | "auto" => secondstory_import::detect_format(&path)
            .map_err(|e| ApiError::invalid("file", e.to_string()))?,
        name => Format::from_name(name).ok_or_else(|| {
            ApiError::invalid("format", format!("`{name}` is not a format we read"))
        })?,
    };
    let options = ImportOptions {
        tz,
        skip_invalid,
        ..ImportOptions::default()
    };
    let stream = secondstory_import::read_events(&path, format, &options)
        .map_err(|e| ApiError::invalid("file", e.to_string()))?;
    let mut feed = UploadFeed {
        stream,
        read: BTreeMap::new(),
        skipped: 0,
        offered: 0,
        inserted: 0,
    };
    state.store.add_events_from(&incident.id, &mut feed).await?;
    audit(
        &state,
        principal,
        "timeline.import",
        incident.id.as_str(),
        serde_json::json!({"format": format.name(), "inserted": feed.inserted}),
    )
    .await;
    let read = feed
        .read
        .iter()
        .map(|(source, n)| format!("{n} from {source}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(see_other(&format!(
        "/incidents/{}/timeline?imported={}&already={}&skipped={}&read={}",
        incident.id,
        feed.inserted,
        feed.offered - feed.inserted,
        feed.skipped,
        url_encode(&format!("{format}: {read}"))
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_fall_into_lanes() {
        assert_eq!(LANES[lane_of("slack")].0, "chat");
        assert_eq!(LANES[lane_of("alertmanager")].0, "alerts");
        assert_eq!(LANES[lane_of("pagerduty")].0, "paging");
        assert_eq!(LANES[lane_of("git")].0, "deploys");
        assert_eq!(LANES[lane_of("manual")].0, "manual");
        let mut out = String::new();
        escape_into(&mut out, "<a href=\"x\">");
        assert_eq!(out, "&lt;a href=&quot;x&quot;&gt;");
    }

    #[test]
    fn uploaded_file_names_cannot_leave_the_spool_directory() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\x.zip"), "x.zip");
        assert_eq!(safe_file_name("..."), "upload");
    }
}
