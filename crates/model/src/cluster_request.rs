//! Cluster request bodies (`model/cluster_request.go`) with the original's
//! JSON keys (kebab-case for create/import/provision/resize, the odd
//! `rotatorConfig`, `MaxPodsPerNode`, `kmsKeyId` and `nodeGroups` keys
//! elsewhere), their defaults, their validation, and how a valid request
//! becomes a new [`Cluster`] or a change of one.

use crate::ValidationError;
use crate::annotation::validate_annotation_names;
use crate::cluster::{
    AwsMetadata, Cluster, ClusterState, EksMetadata, ExternalClusterMetadata,
    ExternalProviderMetadata, KopsMetadata, NODE_GROUP_WORKER, NodeGroupMetadata,
    PatchPgBouncerConfig, PgBouncerConfig, Provider, Provisioner, RotatorConfig,
    SUPPORTED_CNI_LIST, null_default,
};
use crate::utility::{
    HelmUtilityVersion, Utility, default_utility_versions, parse_utility_versions,
};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

// The dots are unescaped in the original, so they match any character; kept
// as is so the same versions are accepted.
static CLUSTER_VERSION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(([0-9]{1,3}.[0-9]{1,3}.[0-9]{1,3})|([0-9]{1,3}.[0-9]{1,3})|(latest))$").ok()
});

static KMS_KEY_ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^arn:aws:kms:[a-zA-Z0-9_-]+:[0-9]+:key/[a-f0-9-]+$").ok());

/// `ValidClusterVersion`: `latest`, `x.y` or `x.y.z`.
pub fn valid_cluster_version(version: &str) -> bool {
    CLUSTER_VERSION
        .as_ref()
        .is_some_and(|re| re.is_match(version))
}

/// Whether `id` is a KMS key ARN.
pub fn valid_kms_key_id(id: &str) -> bool {
    KMS_KEY_ID.as_ref().is_some_and(|re| re.is_match(id))
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Body of `POST /api/clusters`. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct CreateClusterRequest {
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub provider: String,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub zones: Vec<String>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub version: String,
    /// `kops-ami` is the key older clients send.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default",
        alias = "kops-ami"
    )]
    pub ami: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub master_instance_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub master_count: i64,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub node_instance_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub node_min_count: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub node_max_count: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub allow_installations: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub api_security_lock: bool,
    /// Canonical utility name → version (`null` counts as absent).
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub utility_versions: BTreeMap<String, Option<HelmUtilityVersion>>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub annotations: Vec<String>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub networking: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub vpc: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_pods_per_node: i64,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub cluster_role_arn: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub node_role_arn: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub provisioner: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub additional_node_groups: BTreeMap<String, NodeGroupMetadata>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub nodegroup_with_public_subnet: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub nodegroup_with_sg: Vec<String>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub kms_key_id: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub argocd_register: BTreeMap<String, String>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub external_cluster_secret_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgbouncer_config: Option<PgBouncerConfig>,
}

impl CreateClusterRequest {
    fn is_eks(&self) -> bool {
        self.provisioner == Provisioner::Eks.as_str()
    }

    /// `SetDefaults`: aws, kops, `latest` (`1.23` on EKS), one zone (two on
    /// EKS), t3.medium x1 masters, m5.large x2 nodes with max = min, 200
    /// pods per node, calico, the default utility versions, the default
    /// PgBouncer config, and defaults for EKS additional node groups.
    pub fn set_defaults(&mut self) {
        if self.provider.is_empty() {
            self.provider = Provider::Aws.as_str().to_string();
        }
        if self.provisioner.is_empty() {
            self.provisioner = Provisioner::Kops.as_str().to_string();
        }
        let eks = self.is_eks();
        if self.version.is_empty() {
            self.version = if eks { "1.23" } else { "latest" }.to_string();
        }
        if self.zones.is_empty() {
            self.zones = if eks {
                vec!["us-east-1a".to_string(), "us-east-1b".to_string()]
            } else {
                vec!["us-east-1a".to_string()]
            };
        }
        if self.master_instance_type.is_empty() {
            self.master_instance_type = "t3.medium".to_string();
        }
        if self.master_count == 0 {
            self.master_count = 1;
        }
        if self.node_instance_type.is_empty() {
            self.node_instance_type = "m5.large".to_string();
        }
        if self.node_min_count == 0 {
            self.node_min_count = 2;
        }
        if self.node_max_count == 0 {
            self.node_max_count = self.node_min_count;
        }
        if self.max_pods_per_node == 0 {
            self.max_pods_per_node = 200;
        }
        if self.networking.is_empty() {
            self.networking = crate::cluster::NETWORKING_CALICO.to_string();
        }
        fill_utility_defaults(&mut self.utility_versions);
        self.pgbouncer_config
            .get_or_insert_with(PgBouncerConfig::zero)
            .set_defaults();
        if eks {
            for ng in self.additional_node_groups.values_mut() {
                ng.set_defaults();
            }
        }
    }

    /// `Validate`, after [`set_defaults`](Self::set_defaults). Returns the
    /// provisioner the request names.
    pub fn validate(&self) -> Result<Provisioner, ValidationError> {
        if self.provider != Provider::Aws.as_str() {
            return Err(ValidationError::new(
                "provider",
                format!(
                    "unsupported provider {:?}; only \"aws\" can be created",
                    self.provider
                ),
            ));
        }
        let provisioner = match self.provisioner.as_str() {
            "kops" => Provisioner::Kops,
            "eks" => Provisioner::Eks,
            other => {
                return Err(ValidationError::new(
                    "provisioner",
                    format!("unsupported provisioner {other:?}; expected \"kops\" or \"eks\""),
                ));
            }
        };
        if !valid_cluster_version(&self.version) {
            return Err(ValidationError::new(
                "version",
                format!("unsupported cluster version {}", self.version),
            ));
        }
        if self.master_count < 1 {
            return Err(ValidationError::new(
                "master-count",
                format!("master count ({}) must be 1 or greater", self.master_count),
            ));
        }
        if self.node_min_count < 1 {
            return Err(ValidationError::new(
                "node-min-count",
                format!(
                    "node min count ({}) must be 1 or greater",
                    self.node_min_count
                ),
            ));
        }
        if self.node_max_count != self.node_min_count {
            return Err(ValidationError::new(
                "node-max-count",
                format!(
                    "node min ({}) and max ({}) counts must match",
                    self.node_min_count, self.node_max_count
                ),
            ));
        }
        if self.max_pods_per_node < 10 {
            return Err(ValidationError::new(
                "max-pods-per-node",
                format!(
                    "max pods per node ({}) must be 10 or greater",
                    self.max_pods_per_node
                ),
            ));
        }
        if !self.argocd_register.is_empty() && !self.argocd_register.contains_key("cluster-type") {
            return Err(ValidationError::new(
                "argocd-register",
                "argocd-register must contain cluster-type",
            ));
        }
        if let Some(config) = &self.pgbouncer_config {
            config.validate("pgbouncer-config")?;
        }
        if provisioner == Provisioner::Eks {
            self.validate_eks()?;
        }
        if !SUPPORTED_CNI_LIST.contains(&self.networking.as_str()) {
            return Err(ValidationError::new(
                "networking",
                format!(
                    "unsupported cluster networking option {}; expected one of {}",
                    self.networking,
                    SUPPORTED_CNI_LIST.join(", ")
                ),
            ));
        }
        parse_utility_versions("utility-versions", &self.utility_versions)?;
        validate_annotation_names("annotations", &self.annotations)?;
        Ok(provisioner)
    }

    fn validate_eks(&self) -> Result<(), ValidationError> {
        let required = [
            (
                "cluster-role-arn",
                &self.cluster_role_arn,
                "cluster role ARN",
            ),
            ("node-role-arn", &self.node_role_arn, "node role ARN"),
            ("ami", &self.ami, "AMI"),
        ];
        for (field, value, what) in required {
            if value.is_empty() {
                return Err(ValidationError::new(
                    field,
                    format!("{what} is required for EKS clusters"),
                ));
            }
        }
        if self.zones.len() < 2 {
            return Err(ValidationError::new(
                "zones",
                "EKS clusters need at least two zones",
            ));
        }
        for (name, ng) in &self.additional_node_groups {
            if name == NODE_GROUP_WORKER {
                return Err(ValidationError::new(
                    "additional-node-groups",
                    "the worker node group is created from the node settings and cannot be an additional node group",
                ));
            }
            if ng.min_count < 1 {
                return Err(ValidationError::new(
                    "additional-node-groups",
                    format!(
                        "node group {name}: min count ({}) must be 1 or greater",
                        ng.min_count
                    ),
                ));
            }
            if ng.max_count != ng.min_count {
                return Err(ValidationError::new(
                    "additional-node-groups",
                    format!(
                        "node group {name}: min ({}) and max ({}) counts must match",
                        ng.min_count, ng.max_count
                    ),
                ));
            }
        }
        let known =
            |ng: &String| ng == NODE_GROUP_WORKER || self.additional_node_groups.contains_key(ng);
        for (field, list) in [
            (
                "nodegroup-with-public-subnet",
                &self.nodegroup_with_public_subnet,
            ),
            ("nodegroup-with-sg", &self.nodegroup_with_sg),
        ] {
            if let Some(unknown) = list.iter().find(|ng| !known(ng)) {
                return Err(ValidationError::new(
                    field,
                    format!("unknown node group {unknown}"),
                ));
            }
        }
        Ok(())
    }

    /// The new cluster a defaulted request describes, in
    /// `creation-requested`, with the request recorded as its pending change.
    pub fn build_cluster(&self) -> Result<Cluster, ValidationError> {
        let provisioner = self.validate()?;
        let mut cluster = Cluster::new(ClusterState::CreationRequested, Provider::Aws, provisioner);
        cluster.provider_metadata_aws = Some(AwsMetadata {
            zones: self.zones.clone(),
        });
        match provisioner {
            Provisioner::Eks => {
                let mut eks = EksMetadata::default();
                eks.apply_cluster_create_request(self);
                cluster.provisioner_metadata_eks = Some(eks);
            }
            Provisioner::Kops | Provisioner::External => {
                let mut kops = KopsMetadata::default();
                kops.apply_cluster_create_request(self);
                cluster.provisioner_metadata_kops = Some(kops);
            }
        }
        cluster.networking = self.networking.clone();
        cluster.allow_installations = self.allow_installations;
        cluster.api_security_lock = self.api_security_lock;
        let desired = parse_utility_versions("utility-versions", &self.utility_versions)?;
        let utilities = cluster.utility_metadata_mut();
        utilities.set_desired_versions(&desired);
        if !self.argocd_register.is_empty() {
            utilities.set_managed_by_argocd(&self.argocd_register);
        }
        cluster.pg_bouncer_config = Some(self.pgbouncer_config.unwrap_or_default());
        Ok(cluster)
    }
}

/// Every utility missing from `versions`, or with an empty field, gets the
/// default. Unknown names stay for validation to reject.
fn fill_utility_defaults(versions: &mut BTreeMap<String, Option<HelmUtilityVersion>>) {
    for (utility, default) in default_utility_versions() {
        let entry = versions
            .entry(utility.canonical_name().to_string())
            .or_insert(None)
            .get_or_insert_with(HelmUtilityVersion::default);
        if entry.chart.is_empty() {
            entry.chart = default.chart;
        }
        if entry.values_path.is_empty() {
            entry.values_path = default.values_path;
        }
    }
}

/// Body of `POST /api/clusters/import`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ImportClusterRequest {
    #[serde(deserialize_with = "null_default")]
    pub external_cluster_secret_name: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub vpc_id: String,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub annotations: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub allow_installations: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub api_security_lock: bool,
}

impl ImportClusterRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.external_cluster_secret_name.trim().is_empty() {
            return Err(ValidationError::new(
                "external-cluster-secret-name",
                "the name of the secret holding the kubeconfig is required",
            ));
        }
        validate_annotation_names("annotations", &self.annotations)
    }

    /// The external cluster this request imports, in `creation-requested`.
    /// It has AWS infrastructure (and a PgBouncer config) only with a VPC.
    pub fn build_cluster(&self) -> Result<Cluster, ValidationError> {
        self.validate()?;
        let has_vpc = !self.vpc_id.is_empty();
        let mut cluster = Cluster::new(
            ClusterState::CreationRequested,
            Provider::External,
            Provisioner::External,
        );
        cluster.provider_metadata_external = Some(ExternalProviderMetadata {
            has_aws_infrastructure: has_vpc,
        });
        cluster.provisioner_metadata_external = Some(ExternalClusterMetadata {
            secret_name: self.external_cluster_secret_name.clone(),
            vpc: self.vpc_id.clone(),
            ..Default::default()
        });
        cluster.allow_installations = self.allow_installations;
        cluster.api_security_lock = self.api_security_lock;
        cluster.pg_bouncer_config = has_vpc.then(PgBouncerConfig::default);
        Ok(cluster)
    }
}

/// Body of `PUT /api/cluster/{id}`: configuration only, no state change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateClusterRequest {
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "AllowInstallations", skip_serializing_if = "Option::is_none")]
    pub allow_installations: Option<bool>,
}

impl UpdateClusterRequest {
    /// `ApplyClusterUpdatePatch`; returns whether anything changed.
    pub fn apply(&self, cluster: &mut Cluster) -> bool {
        let mut changed = false;
        if let Some(name) = self.name.as_ref().filter(|n| **n != cluster.name) {
            cluster.name = name.clone();
            changed = true;
        }
        if let Some(allow) = self
            .allow_installations
            .filter(|a| *a != cluster.allow_installations)
        {
            cluster.allow_installations = allow;
            changed = true;
        }
        changed
    }
}

/// Body of `POST /api/cluster/{id}/provision`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ProvisionClusterRequest {
    #[serde(skip_serializing_if = "is_false")]
    pub force: bool,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub utility_versions: BTreeMap<String, Option<HelmUtilityVersion>>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub argocd_register: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgbouncer_config: Option<PatchPgBouncerConfig>,
}

impl ProvisionClusterRequest {
    /// Checks the utility names and the PgBouncer patch; returns the
    /// requested versions by utility.
    pub fn validate(&self) -> Result<BTreeMap<Utility, HelmUtilityVersion>, ValidationError> {
        if let Some(patch) = &self.pgbouncer_config {
            patch.validate("pgbouncer-config")?;
        }
        parse_utility_versions("utility-versions", &self.utility_versions)
    }

    /// Applies the request to the cluster's utility metadata and PgBouncer
    /// config (`force` first restores every desired version from the actual
    /// one). The caller moves the cluster to `provisioning-requested`.
    pub fn apply(&self, cluster: &mut Cluster) -> Result<(), ValidationError> {
        let desired = self.validate()?;
        let utilities = cluster.utility_metadata_mut();
        if self.force {
            utilities.fill_desired_from_actual();
        }
        utilities.set_desired_versions(&desired);
        if !self.argocd_register.is_empty() {
            utilities.set_managed_by_argocd(&self.argocd_register);
        }
        if let Some(patch) = &self.pgbouncer_config {
            patch.apply(
                cluster
                    .pg_bouncer_config
                    .get_or_insert_with(PgBouncerConfig::default),
            );
        }
        Ok(())
    }
}

/// Body of `PUT /api/cluster/{id}/kubernetes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatchUpgradeClusterRequest {
    #[serde(rename = "version", skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(
        rename = "ami",
        alias = "kops-ami",
        skip_serializing_if = "Option::is_none"
    )]
    pub ami: Option<String>,
    #[serde(rename = "rotatorConfig", skip_serializing_if = "Option::is_none")]
    pub rotator_config: Option<RotatorConfig>,
    #[serde(rename = "MaxPodsPerNode", skip_serializing_if = "Option::is_none")]
    pub max_pods_per_node: Option<i64>,
    #[serde(rename = "kmsKeyId", skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl PatchUpgradeClusterRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(version) = self.version.as_ref().filter(|v| !valid_cluster_version(v)) {
            return Err(ValidationError::new(
                "version",
                format!("unsupported cluster version {version}"),
            ));
        }
        if let Some(max_pods) = self.max_pods_per_node.filter(|m| *m < 10) {
            return Err(ValidationError::new(
                "MaxPodsPerNode",
                format!("max pods per node ({max_pods}) must be 10 or greater"),
            ));
        }
        if let Some(kms) = self.kms_key_id.as_ref().filter(|k| !valid_kms_key_id(k)) {
            return Err(ValidationError::new(
                "kmsKeyId",
                format!(
                    "invalid KMS key ID {kms:?}; expected arn:aws:kms:<region>:<account>:key/<id>"
                ),
            ));
        }
        if let Some(rotator) = &self.rotator_config {
            rotator.validate("rotatorConfig")?;
        }
        Ok(())
    }

    /// Records the upgrade in the cluster's provisioner metadata; returns
    /// whether anything changed (external clusters cannot be upgraded).
    pub fn apply(&self, cluster: &mut Cluster) -> Result<bool, ValidationError> {
        match cluster.provisioner {
            Provisioner::Kops => Ok(cluster
                .provisioner_metadata_kops
                .get_or_insert_with(KopsMetadata::default)
                .apply_upgrade_patch(self)),
            Provisioner::Eks => Ok(cluster
                .provisioner_metadata_eks
                .get_or_insert_with(EksMetadata::default)
                .apply_upgrade_patch(self)),
            Provisioner::External => Err(ValidationError::new(
                "provisioner",
                "external clusters are upgraded outside the provisioner",
            )),
        }
    }
}

/// Body of `PUT /api/cluster/{id}/size`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatchClusterSizeRequest {
    #[serde(rename = "node-instance-type", skip_serializing_if = "Option::is_none")]
    pub node_instance_type: Option<String>,
    #[serde(rename = "node-min-count", skip_serializing_if = "Option::is_none")]
    pub node_min_count: Option<i64>,
    #[serde(rename = "node-max-count", skip_serializing_if = "Option::is_none")]
    pub node_max_count: Option<i64>,
    #[serde(rename = "rotatorConfig", skip_serializing_if = "Option::is_none")]
    pub rotator_config: Option<RotatorConfig>,
    #[serde(
        rename = "nodeGroups",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub node_groups: Vec<String>,
    #[serde(
        rename = "master-instance-type",
        skip_serializing_if = "Option::is_none"
    )]
    pub master_instance_type: Option<String>,
}

impl PatchClusterSizeRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self
            .node_instance_type
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ValidationError::new(
                "node-instance-type",
                "node instance type cannot be a blank value",
            ));
        }
        if self
            .master_instance_type
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ValidationError::new(
                "master-instance-type",
                "master instance type cannot be a blank value",
            ));
        }
        if let Some(min) = self.node_min_count.filter(|m| *m < 1) {
            return Err(ValidationError::new(
                "node-min-count",
                format!("node min count ({min}) has to be 1 or greater"),
            ));
        }
        if let (Some(min), Some(max)) = (self.node_min_count, self.node_max_count)
            && max < min
        {
            return Err(ValidationError::new(
                "node-max-count",
                format!("node max count ({max}) can't be less than min count ({min})"),
            ));
        }
        if let Some(rotator) = &self.rotator_config {
            rotator.validate("rotatorConfig")?;
        }
        Ok(())
    }

    /// Checks the resize against the cluster (`ValidateClusterSizePatch`) and
    /// records it; returns whether anything changed.
    pub fn apply(&self, cluster: &mut Cluster) -> Result<bool, ValidationError> {
        self.validate()?;
        match cluster.provisioner {
            Provisioner::Kops => {
                let kops = cluster
                    .provisioner_metadata_kops
                    .get_or_insert_with(KopsMetadata::default);
                kops.validate_cluster_size_patch(self)?;
                Ok(kops.apply_cluster_size_patch(self))
            }
            Provisioner::Eks => {
                let eks = cluster
                    .provisioner_metadata_eks
                    .get_or_insert_with(EksMetadata::default);
                eks.validate_cluster_size_patch(self)?;
                Ok(eks.apply_cluster_size_patch(self))
            }
            Provisioner::External => Err(ValidationError::new(
                "provisioner",
                "external clusters are resized outside the provisioner",
            )),
        }
    }
}

/// Body of `POST /api/cluster/{id}/nodegroups` (EKS only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct CreateNodegroupsRequest {
    #[serde(deserialize_with = "null_default")]
    pub nodegroups: BTreeMap<String, NodeGroupMetadata>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub nodegroup_with_public_subnet: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub nodegroup_with_sg: Vec<String>,
}

impl CreateNodegroupsRequest {
    /// Each node group defaults to m5.large, two nodes, max = min.
    pub fn set_defaults(&mut self) {
        for ng in self.nodegroups.values_mut() {
            ng.set_defaults();
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.nodegroups.is_empty() {
            return Err(ValidationError::new(
                "nodegroups",
                "at least one node group is required",
            ));
        }
        for (name, ng) in &self.nodegroups {
            if name.trim().is_empty() {
                return Err(ValidationError::new(
                    "nodegroups",
                    "node group names cannot be blank",
                ));
            }
            if ng.min_count < 1 {
                return Err(ValidationError::new(
                    "nodegroups",
                    format!(
                        "node group {name}: min count ({}) must be 1 or greater",
                        ng.min_count
                    ),
                ));
            }
            if ng.max_count < ng.min_count {
                return Err(ValidationError::new(
                    "nodegroups",
                    format!(
                        "node group {name}: max count ({}) can't be less than min count ({})",
                        ng.max_count, ng.min_count
                    ),
                ));
            }
        }
        for (field, list) in [
            (
                "nodegroup-with-public-subnet",
                &self.nodegroup_with_public_subnet,
            ),
            ("nodegroup-with-sg", &self.nodegroup_with_sg),
        ] {
            if let Some(unknown) = list.iter().find(|ng| !self.nodegroups.contains_key(*ng)) {
                return Err(ValidationError::new(
                    field,
                    format!("unknown node group {unknown}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "cluster_request/tests.rs"]
mod tests;
