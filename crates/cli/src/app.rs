//! What every command needs: the store, the configuration, the time now and who is acting.
//!
//! The clock is read once here and passed down, as the domain asks; errors carry the exit code
//! they map to.

use std::fmt;

use jiff::Timestamp;
use secondstory_domain::{IncidentId, ValidationError};
use secondstory_review::DocumentError;
use secondstory_store::StoreError;
use secondstory_store_sql::SqlStore;

use crate::settings::Settings;

/// A command's failure, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Refused input or state: exit 1.
    Invalid(String),
    /// Arguments that make no sense together: exit 2.
    Usage(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) => 1,
            CliError::Usage(_) => 2,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::Invalid(message.into())
    }

    /// A validation error about a command-line argument, named as the user typed it.
    pub fn argument(e: ValidationError) -> Self {
        CliError::Invalid(format!("--{}: {}", e.field.replace('_', "-"), e.message))
    }

    pub fn in_file(path: &std::path::Path, e: DocumentError) -> Self {
        CliError::Invalid(format!("{}: {e}", path.display()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Invalid(m) | CliError::Usage(m) => f.write_str(m),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::Invalid(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Invalid(e.to_string())
    }
}

pub struct App {
    pub store: SqlStore,
    pub settings: Settings,
    pub now: Timestamp,
    pub author: String,
}

impl App {
    pub async fn open(
        url: &str,
        settings: Settings,
        author: Option<String>,
    ) -> Result<Self, CliError> {
        let store = SqlStore::open(url).await?;
        #[allow(
            clippy::disallowed_methods,
            reason = "the binary is where the clock is read"
        )]
        let now = Timestamp::now();
        let author = author
            .or_else(|| std::env::var("USER").ok())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(App {
            store,
            settings,
            now,
            author,
        })
    }

    pub async fn close(&self) {
        self.store.close().await;
    }

    pub fn describe_database(&self, url: &str) -> String {
        match url.strip_prefix("sqlite:") {
            Some(path) => format!("SQLite {}", path.trim_start_matches("//")),
            None => "PostgreSQL".to_owned(),
        }
    }

    pub fn today(&self) -> jiff::civil::Date {
        self.now
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .date()
    }
}

pub fn incident_id(text: &str) -> Result<IncidentId, CliError> {
    IncidentId::parse(text).map_err(CliError::argument)
}
