//! Port errors and observations shared by every port.
//!
//! An error carries its [`ErrorClass`] so that the supervisor's reaction is
//! decided by data, not by matching on adapter-specific messages.

pub use cloud_model::progress::ErrorClass;
use std::time::Duration;

/// A failed port call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The request cannot succeed as given; a person must change it.
    #[error("invalid request: {0}")]
    User(String),
    /// Worth retrying unchanged (timeouts, 5xx, a peer restarting).
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// The peer asked us to slow down.
    #[error("throttled; retry after {}ms", retry_after.as_millis())]
    Throttled { retry_after: Duration },
    /// The peer refused for good.
    #[error("{0}")]
    Permanent(String),
}

impl PortError {
    pub fn class(&self) -> ErrorClass {
        match self {
            PortError::User(_) => ErrorClass::User,
            PortError::Transient(_) | PortError::Throttled { .. } => ErrorClass::Transient,
            PortError::Permanent(_) => ErrorClass::Permanent,
        }
    }

    /// The wait the peer asked for, if any (a floor for the backoff).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PortError::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// An error of `class` with `message`.
    pub fn of_class(class: ErrorClass, message: impl Into<String>) -> Self {
        let message = message.into();
        match class {
            ErrorClass::User => PortError::User(message),
            ErrorClass::Transient => PortError::Transient(message),
            ErrorClass::Permanent => PortError::Permanent(message),
        }
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// Where a long-running operation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Finished (or there was nothing to do).
    Done,
    /// Started and not finished; ask again later. The text says what is
    /// being waited for ("cluster is CREATING").
    Pending(String),
}

impl Progress {
    pub fn pending(what: impl Into<String>) -> Self {
        Progress::Pending(what.into())
    }

    pub fn is_done(&self) -> bool {
        *self == Progress::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_variant() {
        assert_eq!(PortError::User("x".into()).class(), ErrorClass::User);
        assert_eq!(
            PortError::Transient("x".into()).class(),
            ErrorClass::Transient
        );
        let throttled = PortError::Throttled {
            retry_after: Duration::from_millis(250),
        };
        assert_eq!(throttled.class(), ErrorClass::Transient);
        assert_eq!(throttled.retry_after(), Some(Duration::from_millis(250)));
        assert_eq!(throttled.to_string(), "throttled; retry after 250ms");
        assert_eq!(
            PortError::Permanent("x".into()).class(),
            ErrorClass::Permanent
        );
        for class in ErrorClass::ALL {
            assert_eq!(PortError::of_class(class, "m").class(), class);
        }
    }
}
