//! Merging the events of several imports into one timeline.
//!
//! Importers yield events in their source's order; [`merge_events`] puts a batch from any number
//! of imports in timeline order and removes what was imported more than once: the same
//! `source_ref` (re-import, the ZIP and the unpacked directory of one Slack export, a webhook
//! delivered twice) and the same IRC line in several people's logs ([`crate::dedup_irc_events`]).

use std::collections::BTreeSet;

use secondstory_domain::timeline::TimelineEvent;

use crate::irc::dedup_irc_events;

/// Orders events by (instant, source, original position) and drops duplicates: for a repeated
/// `(source, source_ref)` the first occurrence is kept; IRC lines follow the cross-client rule of
/// [`dedup_irc_events`]. Stable: the same input gives the same output, whatever the input order
/// of different sources.
pub fn merge_events(events: impl IntoIterator<Item = TimelineEvent>) -> Vec<TimelineEvent> {
    let mut events: Vec<TimelineEvent> = events.into_iter().collect();
    events.sort_by(TimelineEvent::merge_order);
    let mut seen = BTreeSet::new();
    // IRC duplicates are left to the cross-client rule, which keeps the most precise copy
    // rather than the first.
    events.retain(|event| {
        event.source.as_str() == "irc"
            || seen.insert((event.source.clone(), event.source_ref.clone()))
    });
    let mut events = dedup_irc_events(events);
    // Keeping the most precise member of an IRC group can move its instant by up to a minute.
    events.sort_by(TimelineEvent::merge_order);
    events
}
