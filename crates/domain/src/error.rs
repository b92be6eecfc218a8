//! The one error every validating constructor and state transition returns.
//!
//! It names the field (as the user wrote it: a CLI argument, a front-matter key, an API field) and
//! says what is wrong in a sentence the user can act on. Callers add the file or line.

use std::fmt;

/// A value was refused. `field` is the name a user knows it by (`impact_started`, `severity`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under a parent field (`actions[2].due`).
    pub fn within(self, parent: impl fmt::Display) -> Self {
        Self {
            field: format!("{parent}.{}", self.field),
            message: self.message,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub type Validated<T> = Result<T, ValidationError>;

/// Links people follow from a review (evidence, tracker issues) must be web links: no
/// `javascript:` or `file:` URLs reach a page.
pub fn check_web_url(field: &str, url: &str) -> Validated<()> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("`{url}` is not an http(s) URL"),
        ))
    }
}
