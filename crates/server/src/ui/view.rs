//! What templates are given: page chrome, times, durations, and small text helpers. Templates
//! receive plain strings prepared here, so they stay free of logic.

use std::fmt::{self, Write as _};

use jiff::{SignedDuration, Timestamp};
use secondstory_domain::RecordedTime;
use secondstory_store::Role;

use crate::auth::Principal;

/// The parts every page shares: title, who is signed in, the navigation and the CSRF token.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub signed_in: bool,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub is_editor: bool,
    pub is_admin: bool,
    pub csrf: String,
    /// Which navigation entry is current: incidents, actions, admin or nothing.
    pub section: &'static str,
}

impl Chrome {
    pub fn anonymous(title: &str) -> Chrome {
        Chrome {
            title: title.to_owned(),
            signed_in: false,
            username: String::new(),
            display_name: String::new(),
            role: String::new(),
            is_editor: false,
            is_admin: false,
            csrf: String::new(),
            section: "",
        }
    }

    pub fn for_user(who: &Principal, title: String, section: &'static str) -> Chrome {
        Chrome {
            title,
            signed_in: true,
            username: who.user.username.clone(),
            display_name: who.user.display_name.clone(),
            role: who.user.role.to_string(),
            is_editor: who.user.role >= Role::Editor,
            is_admin: who.user.role == Role::Admin,
            csrf: who.csrf_token().unwrap_or_default().to_owned(),
            section,
        }
    }

    /// `aria-current` for a navigation entry.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// A time as a `<time>` element: the instant in UTC for machines and the hover title, shown in
/// the offset it was recorded in until the script converts it to the viewer's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeView {
    pub utc: String,
    pub shown: String,
}

impl TimeView {
    pub fn new(time: &RecordedTime) -> TimeView {
        let utc = time.instant().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let local = time
            .instant()
            .to_zoned_datetime(jiff::tz::TimeZone::fixed(time.offset()));
        let shown = format!(
            "{} {}",
            local.strftime("%Y-%m-%d %H:%M:%S"),
            offset_label(time.offset_seconds())
        );
        TimeView { utc, shown }
    }

    pub fn utc(at: Timestamp) -> TimeView {
        TimeView::new(&RecordedTime::utc(at))
    }

    pub fn maybe(time: &Option<RecordedTime>) -> Option<TimeView> {
        time.as_ref().map(TimeView::new)
    }
}

impl fmt::Display for TimeView {
    /// The element itself; every part is made of digits, `-`, `:`, `+`, `T`, `Z` and `UTC`, so
    /// nothing needs escaping.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<time datetime=\"{}\" title=\"UTC {}\">{}</time>",
            self.utc,
            self.utc.replace('T', " ").trim_end_matches('Z'),
            self.shown
        )
    }
}

fn offset_label(seconds: i32) -> String {
    if seconds == 0 {
        return "UTC".to_owned();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
}

/// "2 h 05 min", "45 min", "3 d 4 h": durations as people say them.
pub fn duration(d: SignedDuration) -> String {
    let total_minutes = d.as_secs().max(0) / 60;
    let (days, hours, minutes) = (
        total_minutes / 1440,
        (total_minutes % 1440) / 60,
        total_minutes % 60,
    );
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes:02} min")
    } else if total_minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{} s", d.as_secs().max(0))
    }
}

/// Percent-encoding for a query value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// HTML escaping for the few fragments built in Rust (the SVG timeline, diffs).
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Comma-separated words from a form field, trimmed, empty ones dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A time typed into a form: RFC 3339 with an offset, or a `datetime-local` value
/// (`2024-03-30T23:41`) read in `tz` (the viewer's zone, sent by the script; UTC otherwise).
pub fn form_time(
    field: &str,
    text: &str,
    tz: &str,
) -> Result<Option<RecordedTime>, secondstory_domain::ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(time) = RecordedTime::parse(field, text) {
        return Ok(Some(time));
    }
    let civil: jiff::civil::DateTime = text.parse().map_err(|_| {
        secondstory_domain::ValidationError::new(
            field,
            format!("`{text}` is not a date and time like 2024-03-30T23:41"),
        )
    })?;
    let zone = jiff::tz::TimeZone::get(tz.trim()).unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = civil
        .to_zoned_datetime(zone.clone())
        .map_err(|e| secondstory_domain::ValidationError::new(field, format!("`{text}`: {e}")))?;
    Ok(Some(RecordedTime::in_zone(zoned.timestamp(), &zone)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_their_recorded_offset_and_carry_utc() {
        let time = RecordedTime::parse("t", "2024-03-31T00:42:40+01:00").unwrap();
        let view = TimeView::new(&time);
        assert_eq!(view.utc, "2024-03-30T23:42:40Z");
        assert_eq!(view.shown, "2024-03-31 00:42:40 +01:00");
        assert!(
            view.to_string()
                .contains("title=\"UTC 2024-03-30 23:42:40\"")
        );
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(duration(SignedDuration::from_mins(125)), "2 h 05 min");
        assert_eq!(duration(SignedDuration::from_mins(45)), "45 min");
        assert_eq!(duration(SignedDuration::from_hours(76)), "3 d 4 h");
    }

    #[test]
    fn form_times_accept_local_values_in_the_viewers_zone() {
        let t = form_time("t", "2024-03-30T23:41", "Europe/Berlin")
            .unwrap()
            .unwrap();
        assert_eq!(t.instant().to_string(), "2024-03-30T22:41:00Z");
        assert!(form_time("t", "", "UTC").unwrap().is_none());
        assert!(form_time("t", "yesterday", "UTC").is_err());
    }
}
