//! Cluster utilities: the thirteen helm charts the provisioner installs on
//! every cluster, their default chart versions and values files, and the
//! `UtilityMetadata` JSON document that records desired and actual versions.
//!
//! JSON follows the original: `UtilityMetadata` has PascalCase keys, each
//! version group lists all thirteen utilities by Go field name (`null` when
//! unset), and a version may be written as a bare string, which becomes its
//! `Chart`. Reading is as lenient as Go's decoder (keys match
//! case-insensitively, unknown utilities are ignored), so the old
//! `{"desiredVersions":{"Nginx":"1.30.0"}}` shape still loads.

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// Chart version that tells the provisioner to leave a utility alone.
pub const UNMANAGED: &str = "unmanaged";

/// One cluster utility. The declaration order is the original's struct field
/// order, which is the key order of the JSON version groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Utility {
    PrometheusOperator,
    Thanos,
    Nginx,
    NginxInternal,
    Fluentbit,
    Teleport,
    Pgbouncer,
    Promtail,
    Rtcd,
    NodeProblemDetector,
    MetricsServer,
    Velero,
    Cloudprober,
}

impl Utility {
    /// Every utility in JSON key order.
    pub const ALL: [Utility; 13] = [
        Utility::PrometheusOperator,
        Utility::Thanos,
        Utility::Nginx,
        Utility::NginxInternal,
        Utility::Fluentbit,
        Utility::Teleport,
        Utility::Pgbouncer,
        Utility::Promtail,
        Utility::Rtcd,
        Utility::NodeProblemDetector,
        Utility::MetricsServer,
        Utility::Velero,
        Utility::Cloudprober,
    ];

    /// The order in which a cluster's utilities are provisioned (dependencies
    /// first: pgbouncer and the ingress controllers before monitoring).
    pub const PROVISIONING_ORDER: [Utility; 13] = [
        Utility::Pgbouncer,
        Utility::Nginx,
        Utility::NginxInternal,
        Utility::PrometheusOperator,
        Utility::Thanos,
        Utility::Fluentbit,
        Utility::Teleport,
        Utility::Promtail,
        Utility::NodeProblemDetector,
        Utility::Rtcd,
        Utility::MetricsServer,
        Utility::Velero,
        Utility::Cloudprober,
    ];

    /// The canonical name used in requests and CLI flags (`nginx-internal`).
    pub fn canonical_name(self) -> &'static str {
        match self {
            Utility::PrometheusOperator => "prometheus-operator",
            Utility::Thanos => "thanos",
            Utility::Nginx => "nginx",
            Utility::NginxInternal => "nginx-internal",
            Utility::Fluentbit => "fluentbit",
            Utility::Teleport => "teleport",
            Utility::Pgbouncer => "pgbouncer",
            Utility::Promtail => "promtail",
            Utility::Rtcd => "rtcd",
            Utility::NodeProblemDetector => "node-problem-detector",
            Utility::MetricsServer => "metrics-server",
            Utility::Velero => "velero",
            Utility::Cloudprober => "cloudprober",
        }
    }

    /// The key of this utility in `DesiredVersions` / `ActualVersions`.
    pub fn field_name(self) -> &'static str {
        match self {
            Utility::PrometheusOperator => "PrometheusOperator",
            Utility::Thanos => "Thanos",
            Utility::Nginx => "Nginx",
            Utility::NginxInternal => "NginxInternal",
            Utility::Fluentbit => "Fluentbit",
            Utility::Teleport => "Teleport",
            Utility::Pgbouncer => "Pgbouncer",
            Utility::Promtail => "Promtail",
            Utility::Rtcd => "Rtcd",
            Utility::NodeProblemDetector => "NodeProblemDetector",
            Utility::MetricsServer => "MetricsServer",
            Utility::Velero => "Velero",
            Utility::Cloudprober => "Cloudprober",
        }
    }

    /// The chart version installed when a request names none.
    pub fn default_chart(self) -> &'static str {
        match self {
            Utility::PrometheusOperator => "54.2.2",
            Utility::Thanos => "13.2.2",
            Utility::Nginx | Utility::NginxInternal => "4.11.1",
            Utility::Fluentbit => "0.31.0",
            Utility::Teleport => "12.4.34",
            Utility::Pgbouncer => "1.2.1",
            Utility::Promtail => "6.15.5",
            Utility::Rtcd => "1.3.0",
            Utility::NodeProblemDetector => "2.3.12",
            Utility::MetricsServer => "3.12.1",
            Utility::Velero => "5.1.5",
            Utility::Cloudprober => "0.1.4",
        }
    }

    /// The default values file name in the utilities repository.
    pub fn values_file(self) -> &'static str {
        match self {
            Utility::PrometheusOperator => "prometheus_operator_values.yaml",
            Utility::Thanos => "thanos_values.yaml",
            Utility::Nginx => "nginx_values.yaml",
            Utility::NginxInternal => "nginx_internal_values.yaml",
            Utility::Fluentbit => "fluent-bit_values.yaml",
            Utility::Teleport => "teleport_values.yaml",
            Utility::Pgbouncer => "pgbouncer_values.yaml",
            Utility::Promtail => "promtail_values.yaml",
            Utility::Rtcd => "rtcd_values.yaml",
            Utility::NodeProblemDetector => "node_problem_detector_values.yaml",
            Utility::MetricsServer => "metrics_server_values.yaml",
            Utility::Velero => "velero_values.yaml",
            Utility::Cloudprober => "cloudprober_values.yaml",
        }
    }

    /// The default `ValuesPath`: a GitLab "get file" API URL under
    /// `utilities_git_url` (project 295, directory `dev`, branch `master`).
    pub fn default_values_path(self, utilities_git_url: &str) -> String {
        format!(
            "{utilities_git_url}/api/v4/projects/295/repository/files/dev%2F{}?ref=master",
            self.values_file()
        )
    }

    /// The default version with the values path under `utilities_git_url`.
    pub fn default_version(self, utilities_git_url: &str) -> HelmUtilityVersion {
        HelmUtilityVersion::new(
            self.default_chart(),
            self.default_values_path(utilities_git_url),
        )
    }

    /// Matches a version-group key the way Go's decoder does: the field
    /// name, case-insensitively.
    fn from_field_name_ignore_case(key: &str) -> Option<Utility> {
        Utility::ALL
            .into_iter()
            .find(|u| u.field_name().eq_ignore_ascii_case(key))
    }
}

impl fmt::Display for Utility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical_name())
    }
}

/// Error of [`Utility::from_str`]: the name is not one of the thirteen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown utility {0:?}")]
pub struct UnknownUtility(pub String);

impl FromStr for Utility {
    type Err = UnknownUtility;

    /// Parses a canonical name (`nginx-internal`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Utility::ALL
            .into_iter()
            .find(|u| u.canonical_name() == s)
            .ok_or_else(|| UnknownUtility(s.to_string()))
    }
}

static UTILITIES_GIT_URL: OnceLock<String> = OnceLock::new();

/// Sets the base URL of the default values files (server flag
/// `--utilities-git-url`). Only the first call counts; the server makes it
/// once at startup, as the original's `model.SetUtilityDefaults` does.
pub fn set_utility_defaults(utilities_git_url: &str) {
    let _ = UTILITIES_GIT_URL.set(utilities_git_url.trim_end_matches('/').to_string());
}

/// The configured `--utilities-git-url`, or `""` when the server set none.
pub fn utilities_git_url() -> &'static str {
    UTILITIES_GIT_URL.get().map(String::as_str).unwrap_or("")
}

/// `DefaultUtilityVersions`: every utility at its default chart version with
/// its default values path under the configured git URL.
pub fn default_utility_versions() -> BTreeMap<Utility, HelmUtilityVersion> {
    let url = utilities_git_url();
    Utility::ALL
        .into_iter()
        .map(|u| (u, u.default_version(url)))
        .collect()
}

/// A helm chart version and the values file to install it with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HelmUtilityVersion {
    #[serde(rename = "Chart")]
    pub chart: String,
    #[serde(rename = "ValuesPath")]
    pub values_path: String,
}

impl HelmUtilityVersion {
    pub fn new(chart: impl Into<String>, values_path: impl Into<String>) -> Self {
        Self {
            chart: chart.into(),
            values_path: values_path.into(),
        }
    }

    /// Whether the provisioner must leave this utility alone.
    pub fn is_unmanaged(&self) -> bool {
        self.chart == UNMANAGED
    }

    /// The original's `IsEmpty`: nothing to install. `unmanaged` is never
    /// empty; otherwise a version missing its chart or values is.
    pub fn is_empty(&self) -> bool {
        if self.is_unmanaged() {
            return false;
        }
        self.chart.is_empty() || self.values_path.is_empty()
    }

    /// Both fields blank: the request did not say anything about it.
    pub fn is_blank(&self) -> bool {
        self.chart.is_empty() && self.values_path.is_empty()
    }
}

/// Whether `version` (an optional one, as stored) has nothing to install.
pub fn version_is_empty(version: Option<&HelmUtilityVersion>) -> bool {
    version.is_none_or(HelmUtilityVersion::is_empty)
}

impl<'de> Deserialize<'de> for HelmUtilityVersion {
    /// Accepts `{"Chart": .., "ValuesPath": ..}` (keys case-insensitive,
    /// others ignored) or a bare string, which becomes the chart.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HelmUtilityVersion;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a chart version string or an object with Chart and ValuesPath")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(HelmUtilityVersion::new(v, ""))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = HelmUtilityVersion::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key.eq_ignore_ascii_case("Chart") {
                        out.chart = map.next_value::<Option<String>>()?.unwrap_or_default();
                    } else if key.eq_ignore_ascii_case("ValuesPath") {
                        out.values_path = map.next_value::<Option<String>>()?.unwrap_or_default();
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The versions of every utility (desired or actual). Serialised as an
/// object with all thirteen Go field names, `null` for the unset ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtilityGroupVersions(pub BTreeMap<Utility, HelmUtilityVersion>);

impl UtilityGroupVersions {
    pub fn get(&self, utility: Utility) -> Option<&HelmUtilityVersion> {
        self.0.get(&utility)
    }

    pub fn set(&mut self, utility: Utility, version: HelmUtilityVersion) {
        self.0.insert(utility, version);
    }

    pub fn clear(&mut self, utility: Utility) {
        self.0.remove(&utility);
    }

    /// The versions keyed by canonical name, as requests carry them.
    pub fn as_canonical_map(&self) -> BTreeMap<String, HelmUtilityVersion> {
        self.0
            .iter()
            .map(|(u, v)| (u.canonical_name().to_string(), v.clone()))
            .collect()
    }
}

impl Serialize for UtilityGroupVersions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Utility::ALL.len()))?;
        for utility in Utility::ALL {
            map.serialize_entry(utility.field_name(), &self.0.get(&utility))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for UtilityGroupVersions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw =
            Option::<BTreeMap<String, Option<HelmUtilityVersion>>>::deserialize(deserializer)?;
        let mut out = BTreeMap::new();
        for (key, version) in raw.unwrap_or_default() {
            // Unknown keys are utilities the provisioner no longer manages
            // (old documents name `Prometheus`, `CertManager`, ...).
            if let (Some(utility), Some(version)) =
                (Utility::from_field_name_ignore_case(&key), version)
            {
                out.insert(utility, version);
            }
        }
        Ok(Self(out))
    }
}

/// Argo CD registration of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgocdClusterRegister {
    #[serde(rename = "ClusterType", default)]
    pub cluster_type: String,
    #[serde(rename = "Registered", default)]
    pub registered: bool,
}

/// What the provisioner knows about a cluster's utilities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtilityMetadata {
    #[serde(rename = "DesiredVersions", alias = "desiredVersions", default)]
    pub desired_versions: UtilityGroupVersions,
    #[serde(rename = "ActualVersions", alias = "actualVersions", default)]
    pub actual_versions: UtilityGroupVersions,
    #[serde(rename = "ManagedByArgocd", default)]
    pub managed_by_argocd: bool,
    #[serde(
        rename = "ArgocdClusterRegister",
        default,
        deserialize_with = "crate::cluster::null_default"
    )]
    pub argocd_cluster_register: ArgocdClusterRegister,
}

impl UtilityMetadata {
    /// Records what was installed and clears the request for it, so the
    /// next provisioning pass leaves the utility alone.
    pub fn set_actual_version(&mut self, utility: Utility, version: HelmUtilityVersion) {
        self.actual_versions.set(utility, version);
        self.desired_versions.clear(utility);
    }

    /// Applies requested versions. A requested entry with both fields blank
    /// says nothing and leaves the current desired version in place.
    pub fn set_desired_versions(&mut self, versions: &BTreeMap<Utility, HelmUtilityVersion>) {
        for (utility, version) in versions {
            if !version.is_blank() {
                self.desired_versions.set(*utility, version.clone());
            }
        }
    }

    /// `force` provisioning: every utility without a usable desired version
    /// gets its actual version back as desired, so all are reinstalled.
    pub fn fill_desired_from_actual(&mut self) {
        for utility in Utility::ALL {
            if version_is_empty(self.desired_versions.get(utility))
                && let Some(actual) = self.actual_versions.get(utility)
            {
                self.desired_versions.set(utility, actual.clone());
            }
        }
    }

    /// The original's `SetManagedByArgocd`: `force` re-registers, and a
    /// non-empty map on an unregistered cluster marks it Argo CD managed.
    pub fn set_managed_by_argocd(&mut self, register: &BTreeMap<String, String>) {
        if register.contains_key("force") {
            self.argocd_cluster_register.registered = false;
        }
        if !register.is_empty() && !self.argocd_cluster_register.registered {
            self.argocd_cluster_register.cluster_type =
                register.get("cluster-type").cloned().unwrap_or_default();
            self.managed_by_argocd = true;
        }
    }

    /// Whether the provisioner must skip `utility`: its desired chart is
    /// `unmanaged`, or nothing is desired and the actual one is `unmanaged`.
    pub fn is_unmanaged(&self, utility: Utility) -> bool {
        match self.desired_versions.get(utility) {
            Some(desired) if desired.is_unmanaged() => true,
            Some(desired) if !desired.is_blank() => false,
            _ => self
                .actual_versions
                .get(utility)
                .is_some_and(HelmUtilityVersion::is_unmanaged),
        }
    }
}

/// Parses the `utility-versions` map of a request (canonical names), naming
/// `field` in the error when a key is not a utility. `null` entries are
/// treated as absent.
pub fn parse_utility_versions(
    field: &str,
    versions: &BTreeMap<String, Option<HelmUtilityVersion>>,
) -> Result<BTreeMap<Utility, HelmUtilityVersion>, crate::ValidationError> {
    let mut out = BTreeMap::new();
    for (name, version) in versions {
        let utility = name.parse::<Utility>().map_err(|_| {
            crate::ValidationError::new(
                field,
                format!(
                    "unknown utility {name:?}; expected one of {}",
                    Utility::ALL.map(Utility::canonical_name).join(", ")
                ),
            )
        })?;
        if let Some(version) = version {
            out.insert(utility, version.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn utility_table_matches_the_original() {
        let expected = [
            (
                "prometheus-operator",
                "54.2.2",
                "prometheus_operator_values.yaml",
            ),
            ("thanos", "13.2.2", "thanos_values.yaml"),
            ("nginx", "4.11.1", "nginx_values.yaml"),
            ("nginx-internal", "4.11.1", "nginx_internal_values.yaml"),
            ("fluentbit", "0.31.0", "fluent-bit_values.yaml"),
            ("teleport", "12.4.34", "teleport_values.yaml"),
            ("pgbouncer", "1.2.1", "pgbouncer_values.yaml"),
            ("promtail", "6.15.5", "promtail_values.yaml"),
            ("rtcd", "1.3.0", "rtcd_values.yaml"),
            (
                "node-problem-detector",
                "2.3.12",
                "node_problem_detector_values.yaml",
            ),
            ("metrics-server", "3.12.1", "metrics_server_values.yaml"),
            ("velero", "5.1.5", "velero_values.yaml"),
            ("cloudprober", "0.1.4", "cloudprober_values.yaml"),
        ];
        for (name, chart, file) in expected {
            let u: Utility = name.parse().unwrap();
            assert_eq!(u.canonical_name(), name);
            assert_eq!(u.default_chart(), chart);
            assert_eq!(u.values_file(), file);
            assert_eq!(u.to_string(), name);
        }
        assert!("stackrox".parse::<Utility>().is_err());
        let mut sorted = Utility::PROVISIONING_ORDER.to_vec();
        sorted.sort();
        assert_eq!(sorted, Utility::ALL.to_vec());
        assert_eq!(Utility::PROVISIONING_ORDER[0], Utility::Pgbouncer);
    }

    #[test]
    fn default_values_path_is_the_gitlab_file_url() {
        assert_eq!(
            Utility::NginxInternal.default_values_path("https://git.example.com"),
            "https://git.example.com/api/v4/projects/295/repository/files/dev%2Fnginx_internal_values.yaml?ref=master"
        );
        let defaults = default_utility_versions();
        assert_eq!(defaults.len(), 13);
        assert_eq!(defaults[&Utility::Velero].chart, "5.1.5");
    }

    #[test]
    fn version_accepts_a_bare_string_or_an_object() {
        let v: HelmUtilityVersion = serde_json::from_value(json!("1.2.3")).unwrap();
        assert_eq!(v, HelmUtilityVersion::new("1.2.3", ""));
        let v: HelmUtilityVersion =
            serde_json::from_value(json!({"chart": "4.0.0", "ValuesPath": "x.yaml", "Other": 1}))
                .unwrap();
        assert_eq!(v, HelmUtilityVersion::new("4.0.0", "x.yaml"));
        assert!(serde_json::from_value::<HelmUtilityVersion>(json!(12)).is_err());
        assert_eq!(
            serde_json::to_value(HelmUtilityVersion::new("a", "b")).unwrap(),
            json!({"Chart": "a", "ValuesPath": "b"})
        );
    }

    #[test]
    fn is_empty_follows_the_original() {
        assert!(version_is_empty(None));
        assert!(HelmUtilityVersion::new("1.0", "").is_empty());
        assert!(HelmUtilityVersion::new("", "v.yaml").is_empty());
        assert!(!HelmUtilityVersion::new("1.0", "v.yaml").is_empty());
        assert!(!HelmUtilityVersion::new(UNMANAGED, "").is_empty());
    }

    #[test]
    fn metadata_round_trips_in_the_original_shape() {
        let doc = json!({
            "DesiredVersions": {
                "PrometheusOperator": {"Chart": "54.2.2", "ValuesPath": "p.yaml"},
                "Thanos": null, "Nginx": null, "NginxInternal": null, "Fluentbit": null,
                "Teleport": null, "Pgbouncer": null, "Promtail": null, "Rtcd": null,
                "NodeProblemDetector": null, "MetricsServer": null, "Velero": null,
                "Cloudprober": {"Chart": "unmanaged", "ValuesPath": ""}
            },
            "ActualVersions": {
                "PrometheusOperator": null, "Thanos": null,
                "Nginx": {"Chart": "ingress-nginx-4.11.1", "ValuesPath": "n.yaml"},
                "NginxInternal": null, "Fluentbit": null, "Teleport": null, "Pgbouncer": null,
                "Promtail": null, "Rtcd": null, "NodeProblemDetector": null,
                "MetricsServer": null, "Velero": null, "Cloudprober": null
            },
            "ManagedByArgocd": true,
            "ArgocdClusterRegister": {"ClusterType": "customer", "Registered": false}
        });
        let m: UtilityMetadata = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(
            m.desired_versions
                .get(Utility::PrometheusOperator)
                .unwrap()
                .values_path,
            "p.yaml"
        );
        assert!(m.is_unmanaged(Utility::Cloudprober));
        assert_eq!(m.argocd_cluster_register.cluster_type, "customer");
        assert_eq!(serde_json::to_value(&m).unwrap(), doc);
    }

    #[test]
    fn old_lowercase_shape_loads() {
        let doc = json!({"desiredVersions": {"Prometheus": "10.4.0", "Nginx": "1.30.0",
            "Fluentbit": "2.8.7", "CertManager": "v0.13.1", "PublicNginx": "1.30.0"},
            "actualVersions": {"Nginx": "1.30.0"}});
        let m: UtilityMetadata = serde_json::from_value(doc).unwrap();
        assert_eq!(m.desired_versions.0.len(), 2);
        assert_eq!(
            m.desired_versions.get(Utility::Nginx).unwrap().chart,
            "1.30.0"
        );
        assert_eq!(
            m.actual_versions.get(Utility::Nginx).unwrap().chart,
            "1.30.0"
        );
        assert!(!m.managed_by_argocd);
    }

    #[test]
    fn actual_version_clears_desired() {
        let mut m = UtilityMetadata::default();
        m.set_desired_versions(&BTreeMap::from([
            (Utility::Nginx, HelmUtilityVersion::new("4.11.1", "n.yaml")),
            (Utility::Thanos, HelmUtilityVersion::default()),
        ]));
        assert!(m.desired_versions.get(Utility::Thanos).is_none());
        m.set_actual_version(Utility::Nginx, HelmUtilityVersion::new("4.11.1", "n.yaml"));
        assert!(m.desired_versions.get(Utility::Nginx).is_none());
        assert_eq!(
            m.actual_versions.get(Utility::Nginx).unwrap().chart,
            "4.11.1"
        );
    }

    #[test]
    fn force_fills_desired_from_actual() {
        let mut m = UtilityMetadata::default();
        m.actual_versions
            .set(Utility::Nginx, HelmUtilityVersion::new("4.11.1", "n.yaml"));
        m.actual_versions
            .set(Utility::Velero, HelmUtilityVersion::new("5.1.5", "v.yaml"));
        m.desired_versions
            .set(Utility::Velero, HelmUtilityVersion::new("6.0.0", "v2.yaml"));
        m.fill_desired_from_actual();
        assert_eq!(
            m.desired_versions.get(Utility::Nginx).unwrap().chart,
            "4.11.1"
        );
        assert_eq!(
            m.desired_versions.get(Utility::Velero).unwrap().chart,
            "6.0.0"
        );
        assert!(m.desired_versions.get(Utility::Thanos).is_none());
    }

    #[test]
    fn unmanaged_actual_is_skipped_only_without_a_desired_version() {
        let mut m = UtilityMetadata::default();
        m.actual_versions
            .set(Utility::Rtcd, HelmUtilityVersion::new(UNMANAGED, ""));
        assert!(m.is_unmanaged(Utility::Rtcd));
        m.desired_versions
            .set(Utility::Rtcd, HelmUtilityVersion::new("1.3.0", "r.yaml"));
        assert!(!m.is_unmanaged(Utility::Rtcd));
        assert!(!m.is_unmanaged(Utility::Nginx));
    }

    #[test]
    fn argocd_registration() {
        let mut m = UtilityMetadata::default();
        m.set_managed_by_argocd(&BTreeMap::new());
        assert!(!m.managed_by_argocd);
        m.set_managed_by_argocd(&BTreeMap::from([(
            "cluster-type".into(),
            "customer".into(),
        )]));
        assert!(m.managed_by_argocd);
        assert_eq!(m.argocd_cluster_register.cluster_type, "customer");
        m.argocd_cluster_register.registered = true;
        m.set_managed_by_argocd(&BTreeMap::from([(
            "cluster-type".into(),
            "internal".into(),
        )]));
        assert_eq!(m.argocd_cluster_register.cluster_type, "customer");
        m.set_managed_by_argocd(&BTreeMap::from([
            ("cluster-type".into(), "internal".into()),
            ("force".into(), "true".into()),
        ]));
        assert!(!m.argocd_cluster_register.registered);
        assert_eq!(m.argocd_cluster_register.cluster_type, "internal");
    }

    #[test]
    fn request_maps_reject_unknown_utilities() {
        let ok = BTreeMap::from([
            ("nginx".to_string(), Some(HelmUtilityVersion::new("1", "v"))),
            ("thanos".to_string(), None),
        ]);
        let parsed = parse_utility_versions("utility-versions", &ok).unwrap();
        assert_eq!(parsed.len(), 1);
        let bad = BTreeMap::from([("stackrox".to_string(), None)]);
        let err = parse_utility_versions("utility-versions", &bad).unwrap_err();
        assert_eq!(err.field, "utility-versions");
        assert!(err.message.contains("stackrox"));
    }
}
