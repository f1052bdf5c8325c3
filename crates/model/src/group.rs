//! Groups: shared configuration (version, image, environment, scheduling)
//! rolled out to member installations at most `MaxRolling` at a time
//! (original-core §1.4, §3.4).
//!
//! `Sequence` is the configuration generation. It is bumped only when
//! something that reaches the installations changes (Version, Image,
//! MattermostEnv, Scheduling) or when a bump is forced; see
//! [`Group::config_differs_from`] and [`PatchGroupRequest::apply`].

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

use crate::ValidationError;
use crate::annotation::{Annotation, validate_annotation_names};
use crate::env::{EnvVar, EnvVarMap, clear_or_patch_env, validate_env_map};
use crate::filter::Paging;

/// Env var written by `ForceInstallationsRestart`; its value changes every
/// time, which changes the pods' spec and so restarts them.
pub const FORCE_RESTART_ENV_VAR: &str = "CLOUD_PROVISIONER_ENFORCED_RESTART";

/// Query parameter of `GET /api/groups` that adds `installation_count`.
pub const SHOW_INSTALLATION_COUNT_PARAM: &str = "show_installation_count";

/// `null` in a document means "absent" for maps and lists, as Go decodes it.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Where the group's installations may run: copied into the custom
/// resource's `spec.scheduling`. Tolerations keep the Kubernetes shape
/// (`key`, `operator`, `value`, `effect`, `tolerationSeconds`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduling {
    #[serde(
        rename = "NodeSelector",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub node_selector: BTreeMap<String, String>,
    #[serde(
        rename = "Tolerations",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tolerations: Vec<serde_json::Value>,
}

impl Scheduling {
    /// Neither a node selector nor a toleration: a patch with such a value
    /// clears the group's scheduling.
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_empty() && self.tolerations.is_empty()
    }

    /// Each toleration must be an object with Kubernetes' field types and
    /// enum values, so a bad one is refused here instead of by the cluster.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let bad = |m: String| ValidationError::new(field, m);
        if self.node_selector.keys().any(|k| k.is_empty()) {
            return Err(bad("NodeSelector keys must not be empty".into()));
        }
        for (i, toleration) in self.tolerations.iter().enumerate() {
            let Some(object) = toleration.as_object() else {
                return Err(bad(format!("Tolerations[{i}] must be an object")));
            };
            for key in ["key", "operator", "value", "effect"] {
                match object.get(key) {
                    None | Some(serde_json::Value::Null | serde_json::Value::String(_)) => {}
                    Some(_) => return Err(bad(format!("Tolerations[{i}].{key} must be a string"))),
                }
            }
            if let Some(seconds) = object.get("tolerationSeconds")
                && !(seconds.is_null() || seconds.is_i64())
            {
                return Err(bad(format!(
                    "Tolerations[{i}].tolerationSeconds must be an integer"
                )));
            }
            let text = |key: &str| object.get(key).and_then(|v| v.as_str()).unwrap_or("");
            if !["", "Exists", "Equal"].contains(&text("operator")) {
                return Err(bad(format!(
                    "Tolerations[{i}].operator must be Exists or Equal"
                )));
            }
            if !["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&text("effect")) {
                return Err(bad(format!(
                    "Tolerations[{i}].effect must be NoSchedule, PreferNoSchedule or NoExecute"
                )));
            }
            if text("operator") == "Exists" && !text("value").is_empty() {
                return Err(bad(format!(
                    "Tolerations[{i}].value must be empty when operator is Exists"
                )));
            }
        }
        Ok(())
    }
}

/// A group of installations sharing configuration (`model.Group`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Sequence")]
    pub sequence: i64,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Image")]
    pub image: String,
    /// Installations updating at once; 0 pauses the rollout.
    #[serde(rename = "MaxRolling")]
    pub max_rolling: i64,
    /// `null` when unset (as after a clearing patch).
    #[serde(rename = "MattermostEnv", default)]
    pub mattermost_env: Option<EnvVarMap>,
    #[serde(
        rename = "Scheduling",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scheduling: Option<Scheduling>,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt")]
    pub delete_at: i64,
    #[serde(rename = "APISecurityLock")]
    pub api_security_lock: bool,
    #[serde(rename = "LockAcquiredBy")]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt")]
    pub lock_acquired_at: i64,
}

impl Group {
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }

    /// Whether this group's installation-facing configuration (Version,
    /// Image, MattermostEnv, Scheduling) differs from `original`'s, i.e.
    /// whether saving it must bump the sequence. Name, Description and
    /// MaxRolling never do.
    pub fn config_differs_from(&self, original: &Group) -> bool {
        self.version != original.version
            || self.image != original.image
            || env_or_empty(&self.mattermost_env) != env_or_empty(&original.mattermost_env)
            || self.scheduling != original.scheduling
    }

    pub fn to_dto(self, annotations: Vec<Annotation>) -> GroupDto {
        GroupDto {
            group: self,
            annotations,
            installation_count: None,
        }
    }
}

/// `GroupDTO`: the group plus its annotations (lower-case key, always
/// present) and, on request, `installation_count`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupDto {
    #[serde(flatten)]
    pub group: Group,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: Vec<Annotation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_count: Option<i64>,
}

/// What the group list may be narrowed by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFilter {
    pub paging: Paging,
    /// Only groups carrying every one of these annotation names.
    pub annotation_names: Vec<String>,
    /// Fill `installation_count` (live member installations).
    pub with_installation_count: bool,
}

/// Rollout progress of one group (`GET /api/group/{id}/status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    #[serde(rename = "InstallationsTotal")]
    pub installations_total: i64,
    #[serde(rename = "InstallationsUpdated")]
    pub installations_updated: i64,
    #[serde(rename = "InstallationsUpdating")]
    pub installations_updating: i64,
    #[serde(rename = "InstallationsHibernating")]
    pub installations_hibernating: i64,
    #[serde(rename = "InstallationsPendingDeletion")]
    pub installations_pending_deletion: i64,
    #[serde(rename = "InstallationsAwaitingUpdate")]
    pub installations_awaiting_update: i64,
}

impl GroupStatus {
    /// Builds the status from the counted buckets; "updating" is whatever is
    /// in none of them (creating, updating, waking up, failed, …).
    pub fn from_counts(
        total: i64,
        updated: i64,
        awaiting_update: i64,
        hibernating: i64,
        pending_deletion: i64,
    ) -> Self {
        Self {
            installations_total: total,
            installations_updated: updated,
            installations_updating: total
                - updated
                - awaiting_update
                - hibernating
                - pending_deletion,
            installations_hibernating: hibernating,
            installations_pending_deletion: pending_deletion,
            installations_awaiting_update: awaiting_update,
        }
    }
}

/// One entry of `GET /api/groups/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsStatus {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Status")]
    pub status: GroupStatus,
}

/// Body of `POST /api/groups`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateGroupRequest {
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "Description", default)]
    pub description: String,
    #[serde(rename = "Version", default)]
    pub version: String,
    #[serde(rename = "Image", default)]
    pub image: String,
    #[serde(rename = "MaxRolling", default)]
    pub max_rolling: i64,
    #[serde(rename = "APISecurityLock", default)]
    pub api_security_lock: bool,
    #[serde(rename = "MattermostEnv", default)]
    pub mattermost_env: Option<EnvVarMap>,
    #[serde(
        rename = "Scheduling",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scheduling: Option<Scheduling>,
    #[serde(
        rename = "Annotations",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub annotations: Vec<String>,
}

impl CreateGroupRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.name.trim().is_empty() {
            return Err(ValidationError::new("Name", "is required"));
        }
        if self.max_rolling < 0 {
            return Err(ValidationError::new("MaxRolling", "must be 0 or greater"));
        }
        if let Some(env) = &self.mattermost_env {
            validate_env_map("MattermostEnv", env)?;
        }
        if let Some(scheduling) = &self.scheduling {
            scheduling.validate("Scheduling")?;
        }
        validate_annotation_names("Annotations", &self.annotations)
    }

    /// The group this request describes, before the store gives it an ID.
    /// An empty scheduling is stored as none.
    pub fn to_group(&self) -> Group {
        Group {
            name: self.name.clone(),
            description: self.description.clone(),
            version: self.version.clone(),
            image: self.image.clone(),
            max_rolling: self.max_rolling,
            api_security_lock: self.api_security_lock,
            mattermost_env: self.mattermost_env.clone().filter(|e| !e.is_empty()),
            scheduling: self.scheduling.clone().filter(|s| !s.is_empty()),
            ..Group::default()
        }
    }
}

/// Body of `PUT /api/group/{id}`: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatchGroupRequest {
    /// Used by clients to build the URL; the server takes the path's ID.
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "MaxRolling", default)]
    pub max_rolling: Option<i64>,
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    #[serde(rename = "Description", default)]
    pub description: Option<String>,
    #[serde(rename = "Version", default)]
    pub version: Option<String>,
    #[serde(rename = "Image", default)]
    pub image: Option<String>,
    /// `{}` clears the group's environment; otherwise keys are patched and
    /// a key with neither `value` nor `valueFrom` is removed.
    #[serde(rename = "MattermostEnv", default)]
    pub mattermost_env: Option<EnvVarMap>,
    /// A scheduling with neither selector nor tolerations clears it.
    #[serde(rename = "Scheduling", default)]
    pub scheduling: Option<Scheduling>,
    #[serde(rename = "ForceSequenceUpdate", default)]
    pub force_sequence_update: bool,
    #[serde(rename = "ForceInstallationsRestart", default)]
    pub force_installations_restart: bool,
}

impl PatchGroupRequest {
    /// Env values are not checked: an empty entry is a removal.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ValidationError::new("Name", "must not be blank"));
        }
        if self.max_rolling.is_some_and(|m| m < 0) {
            return Err(ValidationError::new("MaxRolling", "must be 0 or greater"));
        }
        if let Some(scheduling) = &self.scheduling {
            scheduling.validate("Scheduling")?;
        }
        Ok(())
    }

    /// Applies the patch and says whether the group changed at all (so
    /// whether it must be saved). Whether the save bumps the sequence is
    /// decided by [`Group::config_differs_from`] or [`Self::forces_sequence_bump`].
    /// `ForceSequenceUpdate` always counts as a change;
    /// `ForceInstallationsRestart` writes a fresh env var, which is one.
    pub fn apply(&self, group: &mut Group) -> bool {
        let mut applied = false;
        fn set<T: PartialEq + Clone>(target: &mut T, value: &Option<T>, applied: &mut bool) {
            if let Some(v) = value
                && v != target
            {
                *target = v.clone();
                *applied = true;
            }
        }
        set(&mut group.name, &self.name, &mut applied);
        set(&mut group.description, &self.description, &mut applied);
        set(&mut group.version, &self.version, &mut applied);
        set(&mut group.image, &self.image, &mut applied);
        set(&mut group.max_rolling, &self.max_rolling, &mut applied);
        if let Some(env) = &self.mattermost_env
            && clear_or_patch_env(&mut group.mattermost_env, env)
        {
            applied = true;
        }
        if let Some(scheduling) = &self.scheduling {
            let wanted = Some(scheduling.clone()).filter(|s| !s.is_empty());
            if group.scheduling != wanted {
                group.scheduling = wanted;
                applied = true;
            }
        }
        if self.force_sequence_update {
            applied = true;
        }
        if self.force_installations_restart {
            let value = format!("force-restart-at-sequence-{}", group.sequence);
            // The original panics here on a group without env (quirk 15).
            group
                .mattermost_env
                .get_or_insert_with(EnvVarMap::new)
                .insert(FORCE_RESTART_ENV_VAR.to_owned(), EnvVar::value(value));
            applied = true;
        }
        applied
    }

    /// Whether saving must bump the sequence even if the configuration
    /// compares equal.
    pub fn forces_sequence_bump(&self) -> bool {
        self.force_sequence_update
    }
}

/// Body of `POST /api/installation/{id}/group/assign`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignInstallationGroupRequest {
    #[serde(
        rename = "GroupSelectionAnnotations",
        default,
        deserialize_with = "null_as_default"
    )]
    pub group_selection_annotations: Vec<String>,
}

impl AssignInstallationGroupRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.group_selection_annotations.is_empty() {
            return Err(ValidationError::new(
                "GroupSelectionAnnotations",
                "at least one annotation is required",
            ));
        }
        validate_annotation_names(
            "GroupSelectionAnnotations",
            &self.group_selection_annotations,
        )
    }
}

/// `DELETE /api/installation/{id}/group?retain_config=`: with
/// `retain_config` (the default) the installation keeps the group-merged
/// Version, Image and MattermostEnv it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaveGroupRequest {
    pub retain_config: bool,
}

impl Default for LeaveGroupRequest {
    fn default() -> Self {
        Self {
            retain_config: true,
        }
    }
}

/// An unset env and an empty one configure installations the same way.
fn env_or_empty(env: &Option<EnvVarMap>) -> Option<&EnvVarMap> {
    env.as_ref().filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GROUP_DOC: &str = r#"{"ID":"tetw1yt3yinjdbhctsstcrybch","Sequence":3,"Name":"prod","Description":"production","Version":"9.5.0","Image":"mattermost/mattermost-enterprise-edition","MaxRolling":2,"MattermostEnv":{"MM_X":{"value":"1"}},"Scheduling":{"NodeSelector":{"node-type":"worker"},"Tolerations":[{"effect":"NoSchedule","key":"dedicated","operator":"Equal","value":"mattermost"}]},"CreateAt":1700000000000,"DeleteAt":0,"APISecurityLock":false,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;

    fn env(pairs: &[(&str, &str)]) -> Option<EnvVarMap> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), EnvVar::value(*v)))
                .collect(),
        )
    }

    fn selector(k: &str, v: &str) -> Scheduling {
        Scheduling {
            node_selector: [(k.to_string(), v.to_string())].into(),
            tolerations: vec![],
        }
    }

    #[test]
    fn group_json_round_trips() {
        let group: Group = serde_json::from_str(GROUP_DOC).unwrap();
        assert_eq!(group.sequence, 3);
        assert_eq!(group.max_rolling, 2);
        assert_eq!(group.mattermost_env, env(&[("MM_X", "1")]));
        assert_eq!(
            group.scheduling.as_ref().unwrap().node_selector["node-type"],
            "worker"
        );
        assert!(!group.is_deleted());
        assert_eq!(serde_json::to_string(&group).unwrap(), GROUP_DOC);
    }

    #[test]
    fn group_without_scheduling_omits_it_and_keeps_null_env() {
        let doc = r#"{"ID":"g","Sequence":0,"Name":"n","Description":"","Version":"","Image":"","MaxRolling":0,"MattermostEnv":null,"CreateAt":1,"DeleteAt":2,"APISecurityLock":true,"LockAcquiredBy":"me","LockAcquiredAt":5}"#;
        let group: Group = serde_json::from_str(doc).unwrap();
        assert!(group.scheduling.is_none());
        assert!(group.mattermost_env.is_none());
        assert!(group.is_deleted());
        assert_eq!(serde_json::to_string(&group).unwrap(), doc);
    }

    #[test]
    fn dto_adds_lower_case_keys() {
        let group: Group = serde_json::from_str(GROUP_DOC).unwrap();
        let mut dto = group.clone().to_dto(vec![Annotation {
            id: "a1".into(),
            name: "multi-tenant".into(),
        }]);
        let value = serde_json::to_value(&dto).unwrap();
        assert_eq!(
            value["annotations"],
            json!([{"ID":"a1","Name":"multi-tenant"}])
        );
        assert!(value.get("installation_count").is_none());
        assert_eq!(value["Name"], "prod");

        dto.installation_count = Some(4);
        let text = serde_json::to_string(&dto).unwrap();
        assert!(
            text.ends_with(
                r#","annotations":[{"ID":"a1","Name":"multi-tenant"}],"installation_count":4}"#
            ),
            "{text}"
        );
        let back: GroupDto = serde_json::from_str(&text).unwrap();
        assert_eq!(back, dto);

        // No annotations are still written, as an empty list; the original's
        // `null` is read back as empty.
        let bare = group.to_dto(vec![]);
        assert_eq!(
            serde_json::to_value(&bare).unwrap()["annotations"],
            json!([])
        );
        let from_go = GROUP_DOC.replace(
            "\"LockAcquiredAt\":0}",
            "\"LockAcquiredAt\":0,\"annotations\":null}",
        );
        let parsed: GroupDto = serde_json::from_str(&from_go).unwrap();
        assert!(parsed.annotations.is_empty());
        assert_eq!(parsed.installation_count, None);
    }

    #[test]
    fn status_json_and_updating_bucket() {
        let status = GroupStatus::from_counts(10, 3, 2, 1, 1);
        assert_eq!(status.installations_updating, 3);
        let doc = r#"{"InstallationsTotal":10,"InstallationsUpdated":3,"InstallationsUpdating":3,"InstallationsHibernating":1,"InstallationsPendingDeletion":1,"InstallationsAwaitingUpdate":2}"#;
        assert_eq!(serde_json::to_string(&status).unwrap(), doc);
        let all = GroupsStatus {
            id: "g1".into(),
            status,
        };
        let text = serde_json::to_string(&all).unwrap();
        assert_eq!(text, format!(r#"{{"ID":"g1","Status":{doc}}}"#));
        assert_eq!(serde_json::from_str::<GroupsStatus>(&text).unwrap(), all);
    }

    #[test]
    fn create_request_parses_the_original_shape() {
        let doc = r#"{"Name":"g1","Description":"d","Version":"9.5.0","Image":"img","MaxRolling":1,"APISecurityLock":true,"MattermostEnv":{"A":{"value":"1"}},"Scheduling":{"NodeSelector":{"a":"b"}},"Annotations":["abc","def"]}"#;
        let req: CreateGroupRequest = serde_json::from_str(doc).unwrap();
        assert!(req.validate().is_ok());
        assert_eq!(serde_json::to_string(&req).unwrap(), doc);
        let group = req.to_group();
        assert_eq!(group.name, "g1");
        assert_eq!(group.sequence, 0);
        assert!(group.api_security_lock);
        assert_eq!(group.scheduling, Some(selector("a", "b")));
        // An empty body decodes to defaults and then fails on the name.
        let empty: CreateGroupRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.validate().unwrap_err().field, "Name");
    }

    #[test]
    fn create_request_validation() {
        let ok = CreateGroupRequest {
            name: "group1".into(),
            max_rolling: 1,
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let cases = [
            (
                CreateGroupRequest {
                    name: " ".into(),
                    ..ok.clone()
                },
                "Name",
            ),
            (
                CreateGroupRequest {
                    max_rolling: -1,
                    ..ok.clone()
                },
                "MaxRolling",
            ),
            (
                CreateGroupRequest {
                    mattermost_env: env(&[("key1", "")]),
                    ..ok.clone()
                },
                "MattermostEnv",
            ),
            (
                CreateGroupRequest {
                    annotations: vec!["NO".into()],
                    ..ok.clone()
                },
                "Annotations",
            ),
            (
                CreateGroupRequest {
                    scheduling: Some(Scheduling {
                        tolerations: vec![json!("x")],
                        ..Default::default()
                    }),
                    ..ok.clone()
                },
                "Scheduling",
            ),
        ];
        for (req, field) in cases {
            assert_eq!(req.validate().unwrap_err().field, field);
        }
        // MaxRolling 0 (paused) is allowed.
        assert!(
            CreateGroupRequest {
                max_rolling: 0,
                ..ok
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn wrong_types_do_not_parse() {
        for doc in [
            r#"{"Name":5}"#,
            r#"{"MaxRolling":"1"}"#,
            r#"{"MattermostEnv":[]}"#,
            r#"{"Scheduling":{"NodeSelector":{"a":1}}}"#,
            r#"{"Annotations":"abc"}"#,
        ] {
            assert!(
                serde_json::from_str::<CreateGroupRequest>(doc).is_err(),
                "{doc}"
            );
        }
        assert!(serde_json::from_str::<PatchGroupRequest>(r#"{"MaxRolling":1.5}"#).is_err());
    }

    #[test]
    fn scheduling_validation() {
        let good = Scheduling {
            node_selector: Default::default(),
            tolerations: vec![
                json!({"key":"dedicated","operator":"Equal","value":"mm","effect":"NoSchedule"}),
                json!({"key":"hp","operator":"Exists","effect":"NoExecute","tolerationSeconds":30}),
                json!({}),
            ],
        };
        assert!(good.validate("Scheduling").is_ok());
        for bad in [
            json!({"operator":"Maybe"}),
            json!({"effect":"Sometimes"}),
            json!({"key":1}),
            json!({"tolerationSeconds":"10"}),
            json!({"operator":"Exists","value":"x"}),
            json!([1]),
        ] {
            let s = Scheduling {
                tolerations: vec![bad.clone()],
                ..Default::default()
            };
            assert_eq!(
                s.validate("Scheduling").unwrap_err().field,
                "Scheduling",
                "{bad}"
            );
        }
        let empty_key = Scheduling {
            node_selector: [(String::new(), "v".to_string())].into(),
            ..Default::default()
        };
        assert!(empty_key.validate("Scheduling").is_err());
    }

    #[test]
    fn patch_validation() {
        assert!(PatchGroupRequest::default().validate().is_ok());
        let blank = PatchGroupRequest {
            name: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(blank.validate().unwrap_err().field, "Name");
        let negative = PatchGroupRequest {
            max_rolling: Some(-1),
            ..Default::default()
        };
        assert_eq!(negative.validate().unwrap_err().field, "MaxRolling");
        let ok = PatchGroupRequest {
            name: Some("g".into()),
            max_rolling: Some(1),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        // Patches may carry value-less env entries: they mean "remove".
        let removal = PatchGroupRequest {
            mattermost_env: env(&[("A", "")]),
            ..Default::default()
        };
        assert!(removal.validate().is_ok());
    }

    #[test]
    fn patch_env_distinguishes_absent_null_and_empty() {
        let absent: PatchGroupRequest = serde_json::from_str("{}").unwrap();
        assert!(absent.mattermost_env.is_none());
        let null: PatchGroupRequest = serde_json::from_str(r#"{"MattermostEnv":null}"#).unwrap();
        assert!(null.mattermost_env.is_none());
        let empty: PatchGroupRequest = serde_json::from_str(r#"{"MattermostEnv":{}}"#).unwrap();
        assert_eq!(empty.mattermost_env, Some(EnvVarMap::new()));
    }

    /// The original's `TestPatchGroupRequestApply` table.
    #[test]
    fn patch_apply_table() {
        struct Case {
            name: &'static str,
            applied: bool,
            patch: PatchGroupRequest,
            before: Group,
            after: Group,
        }
        let p = PatchGroupRequest::default;
        let g = Group::default;
        let cases = vec![
            Case {
                name: "empty",
                applied: false,
                patch: p(),
                before: g(),
                after: g(),
            },
            Case {
                name: "force sequence bump",
                applied: true,
                patch: PatchGroupRequest {
                    force_sequence_update: true,
                    ..p()
                },
                before: g(),
                after: g(),
            },
            Case {
                name: "name only",
                applied: true,
                patch: PatchGroupRequest {
                    name: Some("group1".into()),
                    ..p()
                },
                before: g(),
                after: Group {
                    name: "group1".into(),
                    ..g()
                },
            },
            Case {
                name: "description only",
                applied: true,
                patch: PatchGroupRequest {
                    description: Some("d".into()),
                    ..p()
                },
                before: g(),
                after: Group {
                    description: "d".into(),
                    ..g()
                },
            },
            Case {
                name: "same version",
                applied: false,
                patch: PatchGroupRequest {
                    version: Some("v1".into()),
                    ..p()
                },
                before: Group {
                    version: "v1".into(),
                    ..g()
                },
                after: Group {
                    version: "v1".into(),
                    ..g()
                },
            },
            Case {
                name: "image only",
                applied: true,
                patch: PatchGroupRequest {
                    image: Some("image1".into()),
                    ..p()
                },
                before: g(),
                after: Group {
                    image: "image1".into(),
                    ..g()
                },
            },
            Case {
                name: "max rolling only",
                applied: true,
                patch: PatchGroupRequest {
                    max_rolling: Some(5),
                    ..p()
                },
                before: g(),
                after: Group {
                    max_rolling: 5,
                    ..g()
                },
            },
            Case {
                name: "env, no group env",
                applied: true,
                patch: PatchGroupRequest {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..p()
                },
                before: g(),
                after: Group {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..g()
                },
            },
            Case {
                name: "env, no changes",
                applied: false,
                patch: PatchGroupRequest {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..p()
                },
                before: Group {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..g()
                },
                after: Group {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..g()
                },
            },
            Case {
                name: "env, new key",
                applied: true,
                patch: PatchGroupRequest {
                    mattermost_env: env(&[("key2", "value1")]),
                    ..p()
                },
                before: Group {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..g()
                },
                after: Group {
                    mattermost_env: env(&[("key1", "value1"), ("key2", "value1")]),
                    ..g()
                },
            },
            Case {
                name: "env, clear",
                applied: true,
                patch: PatchGroupRequest {
                    mattermost_env: Some(EnvVarMap::new()),
                    ..p()
                },
                before: Group {
                    mattermost_env: env(&[("key1", "value1")]),
                    ..g()
                },
                after: g(),
            },
            Case {
                name: "complex",
                applied: true,
                patch: PatchGroupRequest {
                    version: Some("patch-version".into()),
                    mattermost_env: env(&[("key1", "patch-value-1"), ("key3", "patch-value-3")]),
                    ..p()
                },
                before: Group {
                    version: "version1".into(),
                    image: "image1".into(),
                    mattermost_env: env(&[("key1", "value1"), ("key2", "value2")]),
                    ..g()
                },
                after: Group {
                    version: "patch-version".into(),
                    image: "image1".into(),
                    mattermost_env: env(&[
                        ("key1", "patch-value-1"),
                        ("key2", "value2"),
                        ("key3", "patch-value-3"),
                    ]),
                    ..g()
                },
            },
            Case {
                name: "force restart",
                applied: true,
                patch: PatchGroupRequest {
                    force_installations_restart: true,
                    ..p()
                },
                before: Group {
                    sequence: 1,
                    mattermost_env: env(&[("key1", "value1")]),
                    ..g()
                },
                after: Group {
                    sequence: 1,
                    mattermost_env: env(&[
                        ("key1", "value1"),
                        (FORCE_RESTART_ENV_VAR, "force-restart-at-sequence-1"),
                    ]),
                    ..g()
                },
            },
            Case {
                name: "force restart without env (the original panics)",
                applied: true,
                patch: PatchGroupRequest {
                    force_installations_restart: true,
                    ..p()
                },
                before: g(),
                after: Group {
                    mattermost_env: env(&[(FORCE_RESTART_ENV_VAR, "force-restart-at-sequence-0")]),
                    ..g()
                },
            },
            Case {
                name: "scheduling, first time",
                applied: true,
                patch: PatchGroupRequest {
                    scheduling: Some(selector("node-type", "worker")),
                    ..p()
                },
                before: g(),
                after: Group {
                    scheduling: Some(selector("node-type", "worker")),
                    ..g()
                },
            },
            Case {
                name: "scheduling, replace",
                applied: true,
                patch: PatchGroupRequest {
                    scheduling: Some(selector("environment", "production")),
                    ..p()
                },
                before: Group {
                    scheduling: Some(selector("node-type", "worker")),
                    ..g()
                },
                after: Group {
                    scheduling: Some(selector("environment", "production")),
                    ..g()
                },
            },
            Case {
                name: "scheduling, no changes",
                applied: false,
                patch: PatchGroupRequest {
                    scheduling: Some(selector("node-type", "worker")),
                    ..p()
                },
                before: Group {
                    scheduling: Some(selector("node-type", "worker")),
                    ..g()
                },
                after: Group {
                    scheduling: Some(selector("node-type", "worker")),
                    ..g()
                },
            },
            Case {
                name: "scheduling, clear",
                applied: true,
                patch: PatchGroupRequest {
                    scheduling: Some(Scheduling::default()),
                    ..p()
                },
                before: Group {
                    scheduling: Some(selector("node-type", "worker")),
                    ..g()
                },
                after: g(),
            },
            Case {
                name: "scheduling, clear when unset",
                applied: false,
                patch: PatchGroupRequest {
                    scheduling: Some(Scheduling::default()),
                    ..p()
                },
                before: g(),
                after: g(),
            },
        ];
        for mut case in cases {
            assert_eq!(
                case.patch.apply(&mut case.before),
                case.applied,
                "{}",
                case.name
            );
            assert_eq!(case.before, case.after, "{}", case.name);
        }
    }

    #[test]
    fn only_installation_facing_fields_bump_the_sequence() {
        let base: Group = serde_json::from_str(GROUP_DOC).unwrap();
        let same_config = Group {
            name: "other".into(),
            description: "other".into(),
            max_rolling: 9,
            sequence: 7,
            ..base.clone()
        };
        assert!(!same_config.config_differs_from(&base));
        for changed in [
            Group {
                version: "x".into(),
                ..base.clone()
            },
            Group {
                image: "x".into(),
                ..base.clone()
            },
            Group {
                mattermost_env: env(&[("MM_X", "2")]),
                ..base.clone()
            },
            Group {
                scheduling: None,
                ..base.clone()
            },
        ] {
            assert!(changed.config_differs_from(&base));
        }
        // Unset and empty env configure installations the same way.
        let unset = Group {
            mattermost_env: None,
            ..base.clone()
        };
        let empty = Group {
            mattermost_env: Some(EnvVarMap::new()),
            ..base
        };
        assert!(!unset.config_differs_from(&empty));
        assert!(
            PatchGroupRequest {
                force_sequence_update: true,
                ..Default::default()
            }
            .forces_sequence_bump()
        );
        assert!(
            !PatchGroupRequest {
                force_installations_restart: true,
                ..Default::default()
            }
            .forces_sequence_bump()
        );
    }

    #[test]
    fn assign_request_validation() {
        let req: AssignInstallationGroupRequest =
            serde_json::from_str(r#"{"GroupSelectionAnnotations":["abc","def"]}"#).unwrap();
        assert!(req.validate().is_ok());
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"GroupSelectionAnnotations":["abc","def"]}"#
        );
        let empty: AssignInstallationGroupRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(
            empty.validate().unwrap_err().field,
            "GroupSelectionAnnotations"
        );
        let null: AssignInstallationGroupRequest =
            serde_json::from_str(r#"{"GroupSelectionAnnotations":null}"#).unwrap();
        assert!(null.validate().is_err());
        let bad = AssignInstallationGroupRequest {
            group_selection_annotations: vec!["ab".into()],
        };
        assert_eq!(
            bad.validate().unwrap_err().field,
            "GroupSelectionAnnotations"
        );
    }

    #[test]
    fn leave_retains_config_by_default() {
        assert!(LeaveGroupRequest::default().retain_config);
    }
}
