//! Validation errors: every one names the field it is about, so the API can
//! answer a 400 whose JSON says exactly what to fix.

use std::fmt;

/// A request that breaks a rule. `field` is the JSON key (or query
/// parameter) at fault, as the client spelled it.
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
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
