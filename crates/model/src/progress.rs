//! Supervisor progress on one object: what it is doing, what went wrong last
//! and when it tries again. Our addition to the JSON of clusters,
//! installations and cluster installations (`LastError`, `LastErrorClass`,
//! `Step`, `RetryCount`, `NextRetryAt`); every key is omitted while empty,
//! so a client of the original sees exactly the documents it knows.
//!
//! The original keeps none of this: a failing step is retried on every tick
//! with no trace but a log line.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a failure should be handled, as the port that failed classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorClass {
    /// The request cannot work as given (bad AMI, quota, unknown version):
    /// retrying will not help; a person has to change something.
    #[serde(rename = "user")]
    User,
    /// Worth retrying as is (timeouts, throttling, a peer restarting).
    #[serde(rename = "transient")]
    Transient,
    /// The peer refused for good (the resource is broken or gone).
    #[serde(rename = "permanent")]
    Permanent,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 3] = [
        ErrorClass::User,
        ErrorClass::Transient,
        ErrorClass::Permanent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::User => "user",
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
        }
    }

    /// Whether retrying the same step unchanged may succeed.
    pub fn is_retryable(self) -> bool {
        self == ErrorClass::Transient
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown error class {s:?} (user, transient or permanent)"))
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// What the supervisor last did to an object (flattened into its JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The message of the last failed step; cleared when a step succeeds.
    #[serde(
        rename = "LastError",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub last_error: String,
    #[serde(
        rename = "LastErrorClass",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_error_class: Option<ErrorClass>,
    /// The step the supervisor is at (`create-cluster`, `wait-for-nodes`, …).
    #[serde(rename = "Step", default, skip_serializing_if = "String::is_empty")]
    pub step: String,
    /// Consecutive failures of the current step.
    #[serde(rename = "RetryCount", default, skip_serializing_if = "is_zero")]
    pub retry_count: i64,
    /// When (milliseconds) the supervisor looks at the object again; 0 is now.
    #[serde(rename = "NextRetryAt", default, skip_serializing_if = "is_zero")]
    pub next_retry_at: i64,
}

impl Progress {
    pub fn is_empty(&self) -> bool {
        *self == Progress::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_progress_adds_no_keys() {
        assert_eq!(
            serde_json::to_value(Progress::default()).unwrap(),
            json!({})
        );
        let back: Progress = serde_json::from_value(json!({})).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn progress_round_trips() {
        let doc = json!({
            "LastError": "throttled",
            "LastErrorClass": "transient",
            "Step": "create-cluster",
            "RetryCount": 3,
            "NextRetryAt": 1700000000000i64
        });
        let p: Progress = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(p.last_error_class, Some(ErrorClass::Transient));
        assert_eq!(p.retry_count, 3);
        assert_eq!(serde_json::to_value(&p).unwrap(), doc);
    }

    #[test]
    fn error_classes_parse_and_print() {
        for class in ErrorClass::ALL {
            assert_eq!(class.as_str().parse::<ErrorClass>().unwrap(), class);
            assert_eq!(class.to_string(), class.as_str());
        }
        assert!("fatal".parse::<ErrorClass>().is_err());
        assert!(ErrorClass::Transient.is_retryable());
        assert!(!ErrorClass::User.is_retryable());
        assert!(!ErrorClass::Permanent.is_retryable());
    }
}
