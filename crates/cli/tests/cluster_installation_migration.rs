//! `cloud cluster installation migration …` against a real `cloud server`:
//! migrate, switch the DNS, delete the inactive leftovers (all, then one),
//! and the errors (a second DNS switch, an active cluster installation,
//! the AWS-only role switch).

use crate::common::*;
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState};
use cloud_model::cluster_request::CreateClusterRequest;
use cloud_model::installation::{
    Affinity, DatabaseType, FilestoreType, Installation, InstallationState,
};
use cloud_store::SqlStore;

async fn cluster(store: &SqlStore, allow_installations: bool) -> String {
    let mut request = CreateClusterRequest {
        allow_installations,
        ..Default::default()
    };
    request.set_defaults();
    let mut cluster = request.build_cluster().unwrap();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    cluster.id
}

async fn installation(store: &SqlStore, name: &str, state: InstallationState) -> String {
    let mut i = Installation {
        name: name.into(),
        owner_id: "owner".into(),
        version: "stable".into(),
        image: "mattermost/mattermost-enterprise-edition".into(),
        size: "100users".into(),
        database: DatabaseType::AwsMultitenantRdsPostgres,
        filestore: FilestoreType::Bifrost,
        affinity: Affinity::Multitenant,
        state,
        cr_version: "installation.mattermost.com/v1beta1".into(),
        ..Default::default()
    };
    store
        .installation_create(&mut i, &[], &[format!("{name}.example.com")])
        .await
        .unwrap();
    i.id
}

async fn active_ci(store: &SqlStore, cluster: &str, installation: &str) -> String {
    store
        .cluster_installation_create(&ClusterInstallation::new(
            cluster,
            installation,
            ClusterInstallationState::Stable,
        ))
        .await
        .unwrap()
        .id
}

/// `cloud cluster installation migration <step…>`.
fn run<'a>(step: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["cluster", "installation", "migration"];
    args.extend_from_slice(step);
    args
}

async fn state(store: &SqlStore, id: &str) -> InstallationState {
    store.installation_get(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn migration_commands_drive_the_server() {
    let server = CloudServer::start().await;
    let store = SqlStore::open(&server.database).await.unwrap();
    let source = cluster(&store, false).await;
    let target = cluster(&store, true).await;
    let stable = installation(&store, "stable", InstallationState::Stable).await;
    let sleeping = installation(&store, "sleeping", InstallationState::Hibernating).await;
    let old_stable = active_ci(&store, &source, &stable).await;
    active_ci(&store, &source, &sleeping).await;
    let clusters = [
        "--source-cluster",
        source.as_str(),
        "--target-cluster",
        target.as_str(),
    ];

    // --dry-run prints the request and migrates nothing.
    let mut dry = run(&clusters);
    dry.push("--dry-run");
    let request = server.cloud(&dry).await.success().json();
    assert_eq!(request["SourceClusterID"], source.as_str());
    assert_eq!(request["InstallationID"], "");
    let all = store.cluster_installation_list(&Default::default()).await;
    assert_eq!(all.unwrap().len(), 2);

    let migrated = server.cloud(&run(&clusters)).await.success().json();
    assert_eq!(migrated["Operation"], "MigratingClusterInstallation");
    assert_eq!(migrated["TargetClusterID"], target.as_str());
    assert_eq!(migrated["TotalClusterInstallations"], 2);

    let mut dns = vec!["dns"];
    dns.extend_from_slice(&clusters);
    dns.extend([
        "--installation",
        stable.as_str(),
        "--lock-installation=false",
    ]);
    let switched = server.cloud(&run(&dns)).await.success().json();
    assert_eq!(switched["Operation"], "DNSSwitch");
    assert_eq!(switched["TotalClusterInstallations"], 1);
    assert_eq!(
        state(&store, &stable).await,
        InstallationState::CreationConfiguringDns
    );
    assert_eq!(
        state(&store, &sleeping).await,
        InstallationState::Hibernating
    );
    // The same switch again: nothing left to switch.
    let again = server.cloud(&run(&dns)).await.failure();
    assert!(again.stderr.contains("404"), "{}", again.stderr);

    let mut dns_all = vec!["dns"];
    dns_all.extend_from_slice(&clusters);
    let rest = server.cloud(&run(&dns_all)).await.success().json();
    assert_eq!(rest["TotalClusterInstallations"], 1);
    assert_eq!(
        state(&store, &sleeping).await,
        InstallationState::DnsMigrationHibernated
    );

    // An active cluster installation is not deleted.
    let active_on_target = store
        .cluster_installation_list(
            &cloud_model::cluster_installation::ClusterInstallationFilter {
                cluster_id: Some(target.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .remove(0);
    assert!(active_on_target.is_active);
    let refused = server
        .cloud(&run(&[
            "delete",
            "--cluster",
            &target,
            "--cluster-installation",
            &active_on_target.id,
        ]))
        .await
        .failure();
    assert!(refused.stderr.contains("active"), "{}", refused.stderr);

    let deleted = server
        .cloud(&run(&["delete", "--cluster", &source]))
        .await
        .success()
        .json();
    assert_eq!(deleted["Operation"], "DeletingInActiveClusterInstallations");
    assert_eq!(deleted["TotalClusterInstallations"], 2);
    let one = server
        .cloud(&run(&[
            "delete",
            "--cluster",
            &source,
            "--cluster-installation",
            &old_stable,
        ]))
        .await
        .success()
        .json();
    assert_eq!(one["ID"], old_stable.as_str());
    assert_eq!(one["State"], "deletion-requested");

    let mut switch = vec!["switch-cluster"];
    switch.extend_from_slice(&clusters);
    let roles = server.cloud(&run(&switch)).await.failure();
    assert!(roles.stderr.contains("AWS"), "{}", roles.stderr);
    store.close().await;
}
