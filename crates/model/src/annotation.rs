//! Annotations: global name tags attached to clusters, installations and
//! groups. Installations are only scheduled on clusters that carry all of the
//! installation's annotations, and groups are picked by annotation.

use crate::ValidationError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
}

/// Body of `POST …/annotations`: `{"annotations": [...]}` (lower-case key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddAnnotationsRequest {
    #[serde(default)]
    pub annotations: Vec<String>,
}

impl AddAnnotationsRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.annotations.is_empty() {
            return Err(ValidationError::new(
                "annotations",
                "at least one annotation is required",
            ));
        }
        validate_annotation_names("annotations", &self.annotations)
    }
}

/// Checks one annotation name: 3–64 characters, `^[a-z]+[a-z0-9_-]*$`.
pub fn validate_annotation_name(name: &str) -> Result<(), String> {
    if !(3..=64).contains(&name.len()) {
        return Err(format!(
            "annotation {name:?} must be 3 to 64 characters long"
        ));
    }
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !starts_with_letter || !rest_ok {
        return Err(format!(
            "annotation {name:?} must match ^[a-z]+[a-z0-9_-]*$ (lower-case letters first, then letters, digits, '_' or '-')"
        ));
    }
    Ok(())
}

/// Checks every name of a list and reports the JSON key `field` on failure.
pub fn validate_annotation_names(field: &str, names: &[String]) -> Result<(), ValidationError> {
    for name in names {
        validate_annotation_name(name).map_err(|m| ValidationError::new(field, m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_json_round_trips() {
        let doc = r#"{"ID":"tetw1yt3yinjdbhctsstcrybch","Name":"multi-tenant"}"#;
        let a: Annotation = serde_json::from_str(doc).unwrap();
        assert_eq!(a.name, "multi-tenant");
        assert_eq!(serde_json::to_string(&a).unwrap(), doc);
    }

    #[test]
    fn names_follow_the_original_rule() {
        for ok in ["abc", "multi-tenant", "a_1-b", &"a".repeat(64)] {
            assert!(validate_annotation_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "1abc",
            "Abc",
            "a b c",
            "abc!",
            "-abc",
            &"a".repeat(65),
            "",
        ] {
            assert!(validate_annotation_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn add_request_needs_valid_names() {
        let empty = AddAnnotationsRequest::default();
        assert_eq!(empty.validate().unwrap_err().field, "annotations");
        let bad = AddAnnotationsRequest {
            annotations: vec!["ok-name".into(), "NO".into()],
        };
        assert_eq!(bad.validate().unwrap_err().field, "annotations");
        let good: AddAnnotationsRequest =
            serde_json::from_str(r#"{"annotations":["abc","def-1"]}"#).unwrap();
        assert!(good.validate().is_ok());
    }
}
