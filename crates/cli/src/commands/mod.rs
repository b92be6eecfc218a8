//! One module per subcommand group; each parses its arguments and calls the library crates.

pub mod action;
pub mod demo;
pub mod factor;
pub mod incident;
pub mod participant;
pub mod review;
pub mod serve;
pub mod timeline;
pub mod timeline_import;
pub mod transfer;

use secondstory_domain::RecordedTime;

use crate::app::{App, CliError};

/// A time argument: RFC 3339 with an offset, RFC 9557 with a zone, or `now`.
pub fn time_arg(app: &App, field: &str, text: &str) -> Result<RecordedTime, CliError> {
    if text.trim().eq_ignore_ascii_case("now") {
        return Ok(RecordedTime::in_zone(
            app.now,
            &jiff::tz::TimeZone::system(),
        ));
    }
    RecordedTime::parse(field, text).map_err(CliError::argument)
}

pub fn optional_time(
    app: &App,
    field: &str,
    text: Option<&str>,
) -> Result<Option<RecordedTime>, CliError> {
    text.map(|t| time_arg(app, field, t)).transpose()
}
