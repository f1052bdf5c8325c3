//! Installation sizes: the Mattermost operator's named sizes (v1.24.0) and
//! the provisioner's own `provisionerXL[-N]`, with the resources each asks
//! for. Placement multiplies requests by replicas to decide whether an
//! installation fits on a cluster.

use std::fmt;

/// Size used when a create request names none.
pub const DEFAULT_SIZE: &str = "100users";
/// Prefix of the provisioner's own sizes.
pub const PROVISIONER_SIZE_PREFIX: &str = "provisioner";
/// The provisioner's one custom size (`25000users` resources, 4 replicas).
pub const SIZE_PROVISIONER_XL: &str = "provisionerXL";

const MI: i64 = 1024 * 1024;
const GI: i64 = 1024 * MI;

/// CPU in millicores and memory in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resources {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

/// One component of an installation (app, MinIO or database pods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentSize {
    pub replicas: i32,
    pub requests: Resources,
    /// Only the app containers have limits in the operator's size table.
    pub limits: Option<Resources>,
}

/// The resources of every component for one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallationSize {
    pub app: ComponentSize,
    pub minio: ComponentSize,
    pub database: ComponentSize,
}

/// What an installation needs from a cluster to be scheduled on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedulingRequirements {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub pod_count: i64,
}

/// Why a size string is not a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("unrecognized installation size {0:?}")]
    Unrecognized(String),
    #[error("expected at most 2 size segments, found {0}")]
    TooManySegments(usize),
    #[error("replicas segment cannot be empty")]
    EmptyReplicas,
    #[error("failed to parse number of replicas {0:?} from custom provisioner size")]
    InvalidReplicas(String),
}

const fn res(cpu_millis: i64, memory_bytes: i64) -> Resources {
    Resources {
        cpu_millis,
        memory_bytes,
    }
}

const fn component(replicas: i32, requests: Resources, limits: Option<Resources>) -> ComponentSize {
    ComponentSize {
        replicas,
        requests,
        limits,
    }
}

const fn size(
    app_replicas: i32,
    app_req: Resources,
    app_lim: Resources,
    minio: (i32, Resources),
    db: (i32, Resources),
) -> InstallationSize {
    InstallationSize {
        app: component(app_replicas, app_req, Some(app_lim)),
        minio: component(minio.0, minio.1, None),
        database: component(db.0, db.1, None),
    }
}

/// `25000users` resources with 4 app replicas.
pub const PROVISIONER_XL: InstallationSize = size(
    4,
    res(1000, 4 * GI),
    res(4000, 16 * GI),
    (4, res(300, 500 * MI)),
    (3, res(500, GI)),
);

/// The operator's named sizes, in the order of its table.
pub const OPERATOR_SIZES: [(&str, InstallationSize); 9] = [
    (
        "100users",
        size(
            1,
            res(100, 256 * MI),
            res(2000, 4 * GI),
            (1, res(100, 256 * MI)),
            (1, res(200, 512 * MI)),
        ),
    ),
    (
        "1000users",
        size(
            2,
            res(150, 256 * MI),
            res(2000, 4 * GI),
            (4, res(150, 512 * MI)),
            (2, res(250, 512 * MI)),
        ),
    ),
    (
        "5000users",
        size(
            2,
            res(500, 500 * MI),
            res(4000, 8 * GI),
            (4, res(200, 500 * MI)),
            (3, res(500, 500 * MI)),
        ),
    ),
    (
        "10000users",
        size(
            2,
            res(500, 500 * MI),
            res(4000, 8 * GI),
            (4, res(200, 500 * MI)),
            (3, res(500, 500 * MI)),
        ),
    ),
    (
        "25000users",
        size(
            2,
            res(1000, 4 * GI),
            res(4000, 16 * GI),
            (4, res(300, 500 * MI)),
            (3, res(500, GI)),
        ),
    ),
    (
        "cloud10users",
        size(
            2,
            res(10, 150 * MI),
            res(2000, 4 * GI),
            (4, res(100, 256 * MI)),
            (2, res(200, 512 * MI)),
        ),
    ),
    (
        "cloud100users",
        size(
            2,
            res(50, 256 * MI),
            res(2000, 4 * GI),
            (4, res(100, 256 * MI)),
            (2, res(200, 512 * MI)),
        ),
    ),
    (
        "miniSingleton",
        size(
            1,
            res(10, 150 * MI),
            res(2000, 4 * GI),
            (1, res(100, 256 * MI)),
            (1, res(200, 512 * MI)),
        ),
    ),
    (
        "miniHA",
        size(
            2,
            res(10, 150 * MI),
            res(2000, 4 * GI),
            (4, res(100, 256 * MI)),
            (2, res(200, 512 * MI)),
        ),
    ),
];

/// The resources of `size`: an operator size (exact, case-sensitive name),
/// otherwise a provisioner size.
pub fn get_installation_size(size: &str) -> Result<InstallationSize, SizeError> {
    match OPERATOR_SIZES.iter().find(|(name, _)| *name == size) {
        Some((_, s)) => Ok(*s),
        None => parse_provisioner_size(size),
    }
}

/// Whether `size` is one of the operator's named sizes (written to the CR as
/// `spec.size`) rather than a provisioner size (expanded into resources).
pub fn is_operator_size(size: &str) -> bool {
    OPERATOR_SIZES.iter().any(|(name, _)| *name == size)
}

/// Parses `provisionerXL` or `provisionerXL-<replicas>`.
pub fn parse_provisioner_size(size: &str) -> Result<InstallationSize, SizeError> {
    let parts: Vec<&str> = size.split('-').collect();
    let mut resources = match parts[0] {
        SIZE_PROVISIONER_XL => PROVISIONER_XL,
        other => return Err(SizeError::Unrecognized(other.to_string())),
    };
    match parts.len() {
        1 => Ok(resources),
        2 => {
            let replicas = parts[1];
            if replicas.trim().is_empty() {
                return Err(SizeError::EmptyReplicas);
            }
            resources.app.replicas = replicas
                .parse::<i32>()
                .map_err(|_| SizeError::InvalidReplicas(replicas.to_string()))?;
            Ok(resources)
        }
        n => Err(SizeError::TooManySegments(n)),
    }
}

impl InstallationSize {
    /// CPU, memory and pods needed on a cluster: the app pods, plus the
    /// in-cluster database pods when the database is `mysql-operator`, plus
    /// the MinIO pods when the filestore is in-cluster.
    pub fn requirements(
        &self,
        in_cluster_database: bool,
        in_cluster_filestore: bool,
    ) -> SchedulingRequirements {
        let total = |c: &ComponentSize| {
            let replicas = i64::from(c.replicas);
            (
                c.requests.cpu_millis * replicas,
                c.requests.memory_bytes * replicas,
            )
        };
        let (mut cpu, mut mem) = total(&self.app);
        if in_cluster_database {
            let (c, m) = total(&self.database);
            cpu += c;
            mem += m;
        }
        if in_cluster_filestore {
            let (c, m) = total(&self.minio);
            cpu += c;
            mem += m;
        }
        SchedulingRequirements {
            cpu_millis: cpu,
            memory_bytes: mem,
            pod_count: i64::from(self.app.replicas),
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}m CPU, {} bytes", self.cpu_millis, self.memory_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_size_is_known() {
        for name in [
            "100users",
            "1000users",
            "5000users",
            "10000users",
            "25000users",
            "cloud10users",
            "cloud100users",
            "miniSingleton",
            "miniHA",
        ] {
            assert!(get_installation_size(name).is_ok(), "{name}");
            assert!(is_operator_size(name));
        }
        assert!(!is_operator_size("provisionerXL"));
        assert!(get_installation_size(DEFAULT_SIZE).is_ok());
    }

    #[test]
    fn sizes_carry_the_operator_numbers() {
        let s = get_installation_size("100users").unwrap();
        assert_eq!(s.app.replicas, 1);
        assert_eq!(s.app.requests, res(100, 256 * MI));
        assert_eq!(s.app.limits, Some(res(2000, 4 * GI)));
        assert_eq!(s.database, component(1, res(200, 512 * MI), None));
        let s = get_installation_size("25000users").unwrap();
        assert_eq!(s.app.requests, res(1000, 4 * GI));
        assert_eq!(s.minio.replicas, 4);
        assert_eq!(s.database.requests, res(500, GI));
    }

    #[test]
    fn provisioner_sizes_parse_replicas() {
        assert_eq!(
            get_installation_size("provisionerXL").unwrap().app.replicas,
            4
        );
        let s = get_installation_size("provisionerXL-10").unwrap();
        assert_eq!(s.app.replicas, 10);
        assert_eq!(s.app.requests, PROVISIONER_XL.app.requests);
    }

    #[test]
    fn bad_sizes_give_the_original_errors() {
        assert_eq!(
            get_installation_size("jumbo"),
            Err(SizeError::Unrecognized("jumbo".into()))
        );
        assert_eq!(
            get_installation_size("100Users"),
            Err(SizeError::Unrecognized("100Users".into()))
        );
        assert_eq!(
            get_installation_size("provisionerXL-1-2"),
            Err(SizeError::TooManySegments(3))
        );
        assert_eq!(
            get_installation_size("provisionerXL-"),
            Err(SizeError::EmptyReplicas)
        );
        assert_eq!(
            get_installation_size("provisionerXL- "),
            Err(SizeError::EmptyReplicas)
        );
        assert_eq!(
            get_installation_size("provisionerXL-ten"),
            Err(SizeError::InvalidReplicas("ten".into()))
        );
        assert!(get_installation_size("provisionerL").is_err());
        assert!(get_installation_size("").is_err());
    }

    #[test]
    fn requirements_add_in_cluster_components() {
        let s = get_installation_size("1000users").unwrap();
        let app_only = s.requirements(false, false);
        assert_eq!(
            app_only,
            SchedulingRequirements {
                cpu_millis: 300,
                memory_bytes: 512 * MI,
                pod_count: 2
            }
        );
        let all = s.requirements(true, true);
        assert_eq!(all.cpu_millis, 300 + 2 * 250 + 4 * 150);
        assert_eq!(all.memory_bytes, 512 * MI + 2 * 512 * MI + 4 * 512 * MI);
        assert_eq!(all.pod_count, 2);
    }
}
