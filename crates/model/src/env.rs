//! Environment variables for the Mattermost pods of an installation (and the
//! env a group imposes on its members).
//!
//! `EnvVar` keeps the original's lower-case JSON keys (`value`, `valueFrom`);
//! `valueFrom` is a Kubernetes `EnvVarSource` kept as raw JSON because the
//! control plane only stores and forwards it. Maps are ordered (`BTreeMap`)
//! so the JSON is deterministic, like Go's sorted map encoding.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One variable: a literal `value`, or a `valueFrom` source (secret key,
/// config map key, …). An entry with neither is invalid on create and means
/// "remove this key" in a patch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvVar {
    // Go decodes keys case-insensitively, so old clients sending `Value`
    // still work; the aliases keep them working here.
    #[serde(default, skip_serializing_if = "String::is_empty", alias = "Value")]
    pub value: String,
    #[serde(
        rename = "valueFrom",
        default,
        skip_serializing_if = "Option::is_none",
        alias = "ValueFrom"
    )]
    pub value_from: Option<serde_json::Value>,
}

/// Variable name → value, as stored and sent.
pub type EnvVarMap = BTreeMap<String, EnvVar>;

impl EnvVar {
    /// A literal value.
    pub fn value(v: impl Into<String>) -> Self {
        Self {
            value: v.into(),
            value_from: None,
        }
    }

    /// Whether the entry carries a value or a value source.
    pub fn has_value(&self) -> bool {
        !self.value.is_empty() || self.value_from.is_some()
    }

    fn validate(&self) -> Result<(), String> {
        if !self.has_value() {
            return Err("no value or valueFrom is defined".into());
        }
        if let Some(source) = &self.value_from
            && !source.is_object()
        {
            return Err("valueFrom must be an object (a Kubernetes EnvVarSource)".into());
        }
        Ok(())
    }
}

/// Validates every entry of `map`, naming `field` (the JSON key of the map)
/// in the error. Every variable needs a non-empty name and a value or source.
pub fn validate_env_map(field: &str, map: &EnvVarMap) -> Result<(), ValidationError> {
    for (name, env) in map {
        if name.is_empty() {
            return Err(ValidationError::new(field, "env var names cannot be empty"));
        }
        env.validate()
            .map_err(|m| ValidationError::new(field, format!("invalid env var {name}: {m}")))?;
    }
    Ok(())
}

/// Patches `existing` with `patch`: a key with no value removes the variable,
/// any other key is added or replaced. Returns whether anything changed.
pub fn patch_env(existing: &mut EnvVarMap, patch: &EnvVarMap) -> bool {
    let mut changed = false;
    for (name, env) in patch {
        if !env.has_value() {
            changed |= existing.remove(name).is_some();
            continue;
        }
        if existing.get(name) != Some(env) {
            existing.insert(name.clone(), env.clone());
            changed = true;
        }
    }
    changed
}

/// The original's `ClearOrPatch`: an empty patch clears the whole map (to
/// `None`), otherwise [`patch_env`] applies. Returns whether anything
/// changed. Unlike the original, patching an unset map never stores the
/// value-less "delete" entries of the patch.
pub fn clear_or_patch_env(existing: &mut Option<EnvVarMap>, patch: &EnvVarMap) -> bool {
    if patch.is_empty() {
        let had_entries = existing.as_ref().is_some_and(|m| !m.is_empty());
        *existing = None;
        return had_entries;
    }
    let map = existing.get_or_insert_with(EnvVarMap::new);
    let changed = patch_env(map, patch);
    if map.is_empty() && !changed {
        // Nothing was set before and nothing was added: stay unset.
        *existing = None;
    }
    changed
}

/// The env an installation runs with: `base` overlaid with `priority`.
pub fn overlay_env(base: Option<&EnvVarMap>, priority: Option<&EnvVarMap>) -> EnvVarMap {
    let mut env = base.cloned().unwrap_or_default();
    if let Some(priority) = priority {
        env.extend(priority.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    env
}

/// Parses CLI `KEY=VALUE` assignments (`--mattermost-env`, `--priority-env`)
/// into a map: split on the first `=`; a missing `=`, an empty key or a
/// repeated key is an error naming `flag`. `KEY=` gives an empty value, which
/// in a patch removes the key.
pub fn parse_env_assignments(flag: &str, items: &[String]) -> Result<EnvVarMap, ValidationError> {
    let mut map = EnvVarMap::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            return Err(ValidationError::new(
                flag,
                format!("{item:?} is not in KEY=VALUE form"),
            ));
        };
        if key.is_empty() {
            return Err(ValidationError::new(
                flag,
                format!("{item:?} has an empty key"),
            ));
        }
        if map.insert(key.to_string(), EnvVar::value(value)).is_some() {
            return Err(ValidationError::new(
                flag,
                format!("env var {key} is given more than once"),
            ));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> EnvVarMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), EnvVar::value(*v)))
            .collect()
    }

    #[test]
    fn env_json_uses_lower_case_keys_and_omits_empty() {
        let doc =
            r#"{"A":{"value":"1"},"B":{"valueFrom":{"secretKeyRef":{"key":"k","name":"s"}}}}"#;
        let m: EnvVarMap = serde_json::from_str(doc).unwrap();
        assert_eq!(m["A"].value, "1");
        assert_eq!(
            m["B"].value_from,
            Some(json!({"secretKeyRef":{"key":"k","name":"s"}}))
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), doc);
    }

    #[test]
    fn capitalised_keys_are_accepted_like_go() {
        let m: EnvVarMap = serde_json::from_str(r#"{"key1":{"Value":"value1"}}"#).unwrap();
        assert_eq!(m["key1"], EnvVar::value("value1"));
    }

    #[test]
    fn validation_needs_a_value_or_source() {
        assert!(validate_env_map("MattermostEnv", &map(&[("A", "1")])).is_ok());
        let err = validate_env_map("MattermostEnv", &map(&[("A", "")])).unwrap_err();
        assert_eq!(err.field, "MattermostEnv");
        assert!(err.message.contains('A'));
        let err = validate_env_map("PriorityEnv", &map(&[("", "x")])).unwrap_err();
        assert_eq!(err.field, "PriorityEnv");
        let mut bad_source = EnvVarMap::new();
        bad_source.insert(
            "A".into(),
            EnvVar {
                value: String::new(),
                value_from: Some(json!("text")),
            },
        );
        assert!(validate_env_map("MattermostEnv", &bad_source).is_err());
    }

    #[test]
    fn patch_adds_replaces_and_removes() {
        let mut env = map(&[("K1", "v1"), ("K2", "v2")]);
        assert!(!patch_env(&mut env, &map(&[("K1", "v1")])));
        assert!(patch_env(
            &mut env,
            &map(&[("K1", "new"), ("K3", "v3"), ("K2", "")])
        ));
        assert_eq!(env, map(&[("K1", "new"), ("K3", "v3")]));
        // Removing a key that is not there changes nothing.
        assert!(!patch_env(&mut env, &map(&[("nope", "")])));
    }

    #[test]
    fn clear_or_patch_follows_the_original() {
        let mut unset: Option<EnvVarMap> = None;
        assert!(!clear_or_patch_env(&mut unset, &EnvVarMap::new()));
        assert_eq!(unset, None);
        assert!(!clear_or_patch_env(&mut unset, &map(&[("gone", "")])));
        assert_eq!(unset, None);
        assert!(clear_or_patch_env(&mut unset, &map(&[("K", "v")])));
        assert_eq!(unset, Some(map(&[("K", "v")])));

        let mut set = Some(map(&[("K", "v")]));
        assert!(clear_or_patch_env(&mut set, &EnvVarMap::new()));
        assert_eq!(set, None);
    }

    #[test]
    fn overlay_prefers_priority_env() {
        let base = map(&[("A", "1"), ("B", "2")]);
        let prio = map(&[("B", "p"), ("C", "3")]);
        assert_eq!(
            overlay_env(Some(&base), Some(&prio)),
            map(&[("A", "1"), ("B", "p"), ("C", "3")])
        );
        assert!(overlay_env(None, None).is_empty());
    }

    #[test]
    fn cli_assignments_split_on_the_first_equals() {
        let m = parse_env_assignments(
            "mattermost-env",
            &["A=1".into(), "B=x=y".into(), "C=".into()],
        )
        .unwrap();
        assert_eq!(m, map(&[("A", "1"), ("B", "x=y"), ("C", "")]));
        assert!(parse_env_assignments("mattermost-env", &["A".into()]).is_err());
        assert!(parse_env_assignments("mattermost-env", &["=1".into()]).is_err());
        let dup = parse_env_assignments("priority-env", &["A=1".into(), "A=2".into()]).unwrap_err();
        assert_eq!(dup.field, "priority-env");
    }
}
