//! Import errors: what went wrong, where (file plus line or JSON path), and what was expected.
//!
//! Every parser in this crate reports through [`ImportError`], so the CLI can print one line a user
//! can act on (`ops-alerts/2024-03-30.json[3].ts: expected a string like "1711842185.118230", found
//! the number 1711843000.123456`) and `--skip-invalid` can turn the same value into a skip record.

use std::fmt;

/// Where inside a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The whole file (unreadable, not an archive, wrong overall shape).
    File,
    /// A 1-based line number (text formats, and JSON syntax errors).
    Line(u64),
    /// A 1-based line and column, as a JSON parser reports syntax errors.
    LineColumn(u64, u64),
    /// A JSON path below the document root, such as `[3].ts` or `.alerts[0].startsAt`.
    JsonPath(String),
    /// The n-th (1-based) record of a file split on a separator rather than lines.
    Record(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::File => Ok(()),
            Position::Line(line) => write!(f, ":{line}"),
            Position::LineColumn(line, column) => write!(f, ":{line}:{column}"),
            Position::JsonPath(path) => f.write_str(path),
            Position::Record(n) => write!(f, " (record {n})"),
        }
    }
}

/// Why an import could not read a file or a record.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}{position}: malformed JSON: {message}")]
    Json {
        file: String,
        position: Position,
        message: String,
    },
    #[error("{file}: not a readable ZIP archive (truncated or corrupt?): {message}")]
    Zip { file: String, message: String },
    #[error("{file}{position}: expected {expected}, found {found}")]
    Invalid {
        file: String,
        position: Position,
        expected: String,
        found: String,
    },
    #[error("{file}: cannot tell which format this is: {reason}")]
    UnknownFormat { file: String, reason: String },
    #[error("{file}: {format} import needs {option}: {why}")]
    MissingOption {
        file: String,
        format: &'static str,
        option: &'static str,
        why: String,
    },
}

impl ImportError {
    pub(crate) fn invalid(
        file: &str,
        position: Position,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ImportError::Invalid {
            file: file.to_owned(),
            position,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn io(file: &str, source: std::io::Error) -> Self {
        ImportError::Io {
            file: file.to_owned(),
            source,
        }
    }

    pub(crate) fn json(file: &str, error: &serde_json::Error) -> Self {
        let position = if error.line() == 0 {
            Position::File
        } else {
            Position::LineColumn(error.line() as u64, error.column() as u64)
        };
        ImportError::Json {
            file: file.to_owned(),
            position,
            message: error.to_string(),
        }
    }

    /// The file the problem is in, as given to the importer.
    pub fn file(&self) -> &str {
        match self {
            ImportError::Io { file, .. }
            | ImportError::Json { file, .. }
            | ImportError::Zip { file, .. }
            | ImportError::Invalid { file, .. }
            | ImportError::UnknownFormat { file, .. }
            | ImportError::MissingOption { file, .. } => file,
        }
    }

    /// The position inside the file, when the problem is narrower than the whole file.
    pub fn position(&self) -> &Position {
        match self {
            ImportError::Json { position, .. } | ImportError::Invalid { position, .. } => position,
            _ => &Position::File,
        }
    }
}

/// Describes a found value in an error message without dumping a whole document.
pub(crate) fn describe_found(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.is_empty() {
        return "an empty value".to_owned();
    }
    let mut shown: String = text.chars().take(LIMIT).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("`{}`", shown.escape_debug())
}
