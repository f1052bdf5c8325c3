//! Store tests of the cluster-migration operations, on both backends.

use super::*;
use crate::backend_test;
use cloud_model::event::StateChangeEventFilter;
use cloud_model::installation::{Affinity, DatabaseType, FilestoreType};

const SOURCE: &str = "sourcesourcesourcesourcesc";
const TARGET: &str = "targettargettargettargetta";
const OTHER: &str = "otherotherotherotherothero";

/// A live installation in `state` (created, then moved with its event).
async fn installation(store: &SqlStore, name: &str, state: InstallationState) -> Installation {
    let mut i = Installation {
        name: name.into(),
        owner_id: "owner".into(),
        version: "stable".into(),
        image: "mattermost/mattermost-enterprise-edition".into(),
        size: "100users".into(),
        database: DatabaseType::AwsMultitenantRdsPostgres,
        filestore: FilestoreType::Bifrost,
        affinity: Affinity::Multitenant,
        state: InstallationState::CreationRequested,
        cr_version: "installation.mattermost.com/v1beta1".into(),
        ..Default::default()
    };
    store
        .installation_create(&mut i, &[], &[format!("{name}.example.com")])
        .await
        .unwrap();
    if state != i.state {
        let old = i.state;
        i.state = state;
        store.installation_update_state(&i, old).await.unwrap();
    }
    store.installation_get(&i.id).await.unwrap().unwrap()
}

async fn ci(
    store: &SqlStore,
    cluster: &str,
    installation: &str,
    active: bool,
) -> ClusterInstallation {
    let mut ci = ClusterInstallation::new(cluster, installation, ClusterInstallationState::Stable);
    ci.namespace = format!("ns-{installation}");
    ci.is_active = active;
    store.cluster_installation_create(&ci).await.unwrap()
}

async fn get_ci(store: &SqlStore, id: &str) -> ClusterInstallation {
    store.cluster_installation_get(id).await.unwrap().unwrap()
}

async fn state_of(store: &SqlStore, id: &str) -> InstallationState {
    store.installation_get(id).await.unwrap().unwrap().state
}

/// `(old, new)` of the resource's events, oldest first.
async fn events(store: &SqlStore, id: &str) -> Vec<(String, String)> {
    let mut list: Vec<_> = store
        .event_list(&StateChangeEventFilter {
            resource_id: Some(id.into()),
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.state_change.old_state, e.state_change.new_state))
        .collect();
    list.reverse();
    list
}

async fn on_cluster(store: &SqlStore, cluster: &str, active: bool) -> Vec<ClusterInstallation> {
    store
        .cluster_installation_list(&ClusterInstallationFilter {
            paging: Paging::all_live(),
            cluster_id: Some(cluster.into()),
            is_active: Some(active),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

backend_test!(
    migrate_copies_the_active_cluster_installations_once,
    |store| {
        let a = ci(&store, SOURCE, "installationaaaaaaaaaaaaaa", true).await;
        let b = ci(&store, SOURCE, "installationbbbbbbbbbbbbbb", true).await;
        // Not copied: inactive on the source, deleted, or on another cluster.
        ci(&store, SOURCE, "installationcccccccccccccc", false).await;
        let deleted = ci(&store, SOURCE, "installationdddddddddddddd", true).await;
        store
            .cluster_installation_delete(&deleted.id)
            .await
            .unwrap();
        ci(&store, OTHER, "installationeeeeeeeeeeeeee", true).await;
        store
            .cluster_installation_set_api_lock(&b.id, true)
            .await
            .unwrap();
        let b = get_ci(&store, &b.id).await;

        let created = store
            .cluster_installation_migrate(SOURCE, TARGET, None)
            .await
            .unwrap();
        assert_eq!(created.len(), 2);
        for (copy, original) in created.iter().zip([&a, &b]) {
            assert_ne!(copy.id, original.id);
            assert_eq!(copy.cluster_id, TARGET);
            assert_eq!(copy.installation_id, original.installation_id);
            assert_eq!(copy.namespace, original.namespace);
            assert_eq!(copy.state, ClusterInstallationState::CreationRequested);
            assert!(!copy.is_active);
            assert_eq!(copy.api_security_lock, original.api_security_lock);
            assert_eq!(&get_ci(&store, &copy.id).await, copy);
            assert_eq!(
                events(&store, &copy.id).await,
                [pair("n/a", "creation-requested")]
            );
            let event = &store
                .event_list(&StateChangeEventFilter {
                    resource_id: Some(copy.id.clone()),
                    ..Default::default()
                })
                .await
                .unwrap()[0];
            assert_eq!(
                event.state_change.resource_type,
                ResourceType::ClusterInstallation
            );
            assert_eq!(event.event.extra_data.fields["ClusterID"], TARGET);
        }
        // The source side is untouched.
        assert_eq!(get_ci(&store, &a.id).await, a);
        assert_eq!(on_cluster(&store, SOURCE, true).await.len(), 2);

        // Again: everything already has its copy.
        assert!(
            store
                .cluster_installation_migrate(SOURCE, TARGET, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(on_cluster(&store, TARGET, false).await.len(), 2);

        // One installation only.
        let f = ci(&store, SOURCE, "installationffffffffffffff", true).await;
        ci(&store, SOURCE, "installationgggggggggggggg", true).await;
        let only_f = store
            .cluster_installation_migrate(SOURCE, TARGET, Some(&f.installation_id))
            .await
            .unwrap();
        assert_eq!(only_f.len(), 1);
        assert_eq!(only_f[0].installation_id, f.installation_id);
        assert_eq!(on_cluster(&store, TARGET, false).await.len(), 3);

        assert!(matches!(
            store
                .cluster_installation_migrate(SOURCE, SOURCE, None)
                .await,
            Err(StoreError::InvalidTransition(_))
        ));
    }
);

backend_test!(
    dns_switch_flips_the_pairs_and_moves_the_installations,
    |store| {
        let stable = installation(&store, "stable", InstallationState::Stable).await;
        let sleeping = installation(&store, "sleeping", InstallationState::Hibernating).await;
        let uncopied = installation(&store, "uncopied", InstallationState::Stable).await;
        let old_stable = ci(&store, SOURCE, &stable.id, true).await;
        let old_sleeping = ci(&store, SOURCE, &sleeping.id, true).await;
        store
            .cluster_installation_migrate(SOURCE, TARGET, None)
            .await
            .unwrap();
        // Created after the migration: it has no copy on the target.
        let old_uncopied = ci(&store, SOURCE, &uncopied.id, true).await;
        let copies = on_cluster(&store, TARGET, false).await;
        assert_eq!(copies.len(), 2);

        let switch = store
            .cluster_installation_switch_dns(SOURCE, TARGET, None, false, "request1")
            .await
            .unwrap();
        assert_eq!(
            switch.deactivated,
            [old_stable.id.clone(), old_sleeping.id.clone()]
        );
        let mut activated = switch.activated.clone();
        activated.sort();
        let mut copy_ids: Vec<String> = copies.iter().map(|c| c.id.clone()).collect();
        copy_ids.sort();
        assert_eq!(activated, copy_ids);
        let states: Vec<(String, InstallationState)> = switch
            .installations
            .iter()
            .map(|i| (i.id.clone(), i.state))
            .collect();
        assert_eq!(
            states,
            [
                (stable.id.clone(), InstallationState::CreationConfiguringDns),
                (
                    sleeping.id.clone(),
                    InstallationState::DnsMigrationHibernated
                ),
            ]
        );

        assert!(!get_ci(&store, &old_stable.id).await.is_active);
        assert!(!get_ci(&store, &old_sleeping.id).await.is_active);
        assert!(get_ci(&store, &old_uncopied.id).await.is_active);
        assert!(on_cluster(&store, TARGET, false).await.is_empty());
        assert_eq!(on_cluster(&store, TARGET, true).await.len(), 2);
        assert_eq!(
            state_of(&store, &stable.id).await,
            InstallationState::CreationConfiguringDns
        );
        assert_eq!(
            state_of(&store, &sleeping.id).await,
            InstallationState::DnsMigrationHibernated
        );
        assert_eq!(
            state_of(&store, &uncopied.id).await,
            InstallationState::Stable
        );
        assert_eq!(
            events(&store, &stable.id).await.last().unwrap(),
            &pair("stable", "creation-configuring-dns")
        );
        assert_eq!(
            events(&store, &sleeping.id).await.last().unwrap(),
            &pair("hibernating", "dns-migration-hibernated")
        );
        assert_eq!(events(&store, &uncopied.id).await.len(), 2);
        let event = &store
            .event_list(&StateChangeEventFilter {
                resource_id: Some(stable.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap()[0];
        assert_eq!(event.state_change.resource_type, ResourceType::Installation);
        assert_eq!(event.event.extra_data.fields["Name"], "stable");

        // Done: the target has no inactive cluster installation left.
        assert!(matches!(
            store
                .cluster_installation_switch_dns(SOURCE, TARGET, None, false, "request2")
                .await,
            Err(StoreError::NotFound(_))
        ));
    }
);

backend_test!(
    dns_switch_needs_both_sides_and_narrows_to_one_installation,
    |store| {
        let one = installation(&store, "one", InstallationState::Stable).await;
        let two = installation(&store, "two", InstallationState::Stable).await;
        // Nothing on the source.
        assert!(matches!(
            store
                .cluster_installation_switch_dns(SOURCE, TARGET, None, false, "r")
                .await,
            Err(StoreError::NotFound(_))
        ));
        let old_one = ci(&store, SOURCE, &one.id, true).await;
        let old_two = ci(&store, SOURCE, &two.id, true).await;
        // Nothing on the target yet.
        let err = store
            .cluster_installation_switch_dns(SOURCE, TARGET, None, false, "r")
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound(ref m) if m.contains(TARGET)),
            "{err}"
        );
        // Copies of other installations only: no pair.
        ci(&store, TARGET, "unrelatedunrelatedunrelate", false).await;
        assert!(matches!(
            store
                .cluster_installation_switch_dns(SOURCE, TARGET, None, false, "r")
                .await,
            Err(StoreError::NotFound(_))
        ));

        store
            .cluster_installation_migrate(SOURCE, TARGET, None)
            .await
            .unwrap();
        let switch = store
            .cluster_installation_switch_dns(SOURCE, TARGET, Some(&two.id), false, "r")
            .await
            .unwrap();
        assert_eq!(switch.deactivated, vec![old_two.id.clone()]);
        assert_eq!(switch.activated.len(), 1);
        assert!(get_ci(&store, &old_one.id).await.is_active);
        assert!(!get_ci(&store, &old_two.id).await.is_active);
        assert_eq!(state_of(&store, &one.id).await, InstallationState::Stable);
        assert_eq!(
            state_of(&store, &two.id).await,
            InstallationState::CreationConfiguringDns
        );
    }
);

backend_test!(
    dns_switch_with_locks_refuses_a_locked_installation,
    |store| {
        let one = installation(&store, "one", InstallationState::Stable).await;
        let two = installation(&store, "two", InstallationState::Hibernating).await;
        let old_one = ci(&store, SOURCE, &one.id, true).await;
        ci(&store, SOURCE, &two.id, true).await;
        store
            .cluster_installation_migrate(SOURCE, TARGET, None)
            .await
            .unwrap();
        assert!(
            store
                .installation_lock(&two.id, "supervisor")
                .await
                .unwrap()
        );
        let events_before = events(&store, &one.id).await;

        let err = store
            .cluster_installation_switch_dns(SOURCE, TARGET, None, true, "request")
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Locked(ref m) if m.contains(&two.id)),
            "{err}"
        );
        // Nothing changed, and the lock taken on `one` before the failure is gone.
        assert!(get_ci(&store, &old_one.id).await.is_active);
        assert_eq!(on_cluster(&store, TARGET, false).await.len(), 2);
        assert_eq!(state_of(&store, &one.id).await, InstallationState::Stable);
        assert_eq!(events(&store, &one.id).await, events_before);
        let one_now = store.installation_get(&one.id).await.unwrap().unwrap();
        assert_eq!(one_now.lock_acquired_by, None);
        assert_eq!(one_now.lock_acquired_at, 0);

        // Without the lock option the supervisor's lock is not looked at; with
        // it, once released, the switch goes through and leaves no lock behind.
        assert!(
            store
                .installation_unlock(&two.id, "supervisor")
                .await
                .unwrap()
        );
        let switch = store
            .cluster_installation_switch_dns(SOURCE, TARGET, None, true, "request")
            .await
            .unwrap();
        assert_eq!(switch.installations.len(), 2);
        for id in [&one.id, &two.id] {
            let i = store.installation_get(id).await.unwrap().unwrap();
            assert_eq!(i.lock_acquired_by, None);
            assert_eq!(i.lock_acquired_at, 0);
        }
        assert_eq!(
            state_of(&store, &two.id).await,
            InstallationState::DnsMigrationHibernated
        );
    }
);

backend_test!(dns_switch_ignores_row_locks_unless_asked, |store| {
    let one = installation(&store, "one", InstallationState::Stable).await;
    ci(&store, SOURCE, &one.id, true).await;
    store
        .cluster_installation_migrate(SOURCE, TARGET, None)
        .await
        .unwrap();
    assert!(
        store
            .installation_lock(&one.id, "supervisor")
            .await
            .unwrap()
    );
    store
        .cluster_installation_switch_dns(SOURCE, TARGET, None, false, "request")
        .await
        .unwrap();
    let i = store.installation_get(&one.id).await.unwrap().unwrap();
    assert_eq!(i.state, InstallationState::CreationConfiguringDns);
    // Someone else's lock is left alone.
    assert_eq!(i.lock_acquired_by.as_deref(), Some("supervisor"));
});

backend_test!(
    delete_inactive_requests_deletion_of_the_leftovers,
    |store| {
        let leftover = ci(&store, SOURCE, "installationaaaaaaaaaaaaaa", false).await;
        let requested = ci(&store, SOURCE, "installationbbbbbbbbbbbbbb", false).await;
        store
            .cluster_installation_update_state(
                &requested.id,
                ClusterInstallationState::DeletionRequested,
            )
            .await
            .unwrap();
        let active = ci(&store, SOURCE, "installationcccccccccccccc", true).await;
        let elsewhere = ci(&store, OTHER, "installationdddddddddddddd", false).await;

        let changed = store
            .cluster_installation_delete_inactive(SOURCE)
            .await
            .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].id, leftover.id);
        assert_eq!(
            changed[0].state,
            ClusterInstallationState::DeletionRequested
        );
        assert_eq!(
            events(&store, &leftover.id).await,
            [pair("stable", "deletion-requested")]
        );
        assert_eq!(events(&store, &requested.id).await.len(), 1);
        assert_eq!(get_ci(&store, &active.id).await, active);
        assert_eq!(get_ci(&store, &elsewhere.id).await, elsewhere);

        // Nothing left to do.
        assert!(
            store
                .cluster_installation_delete_inactive(SOURCE)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .cluster_installation_delete_inactive("unknownunknownunknownunkno")
                .await
                .unwrap()
                .is_empty()
        );
    }
);

backend_test!(
    delete_inactive_one_refuses_active_deleted_and_locked,
    |store| {
        let inactive = ci(&store, TARGET, "installationaaaaaaaaaaaaaa", false).await;
        let active = ci(&store, TARGET, "installationbbbbbbbbbbbbbb", true).await;
        let locked = ci(&store, TARGET, "installationcccccccccccccc", false).await;
        store
            .cluster_installation_set_api_lock(&locked.id, true)
            .await
            .unwrap();
        let locked = get_ci(&store, &locked.id).await;
        let gone = ci(&store, TARGET, "installationdddddddddddddd", false).await;
        store.cluster_installation_delete(&gone.id).await.unwrap();
        let gone = get_ci(&store, &gone.id).await;

        let err = store
            .cluster_installation_delete_inactive_one(&active.id)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidTransition(ref m) if m.contains("active")),
            "{err}"
        );
        assert_eq!(get_ci(&store, &active.id).await, active);
        assert!(events(&store, &active.id).await.is_empty());
        assert!(matches!(
            store
                .cluster_installation_delete_inactive_one(&locked.id)
                .await,
            Err(StoreError::Forbidden(_))
        ));
        assert_eq!(get_ci(&store, &locked.id).await, locked);
        assert!(matches!(
            store
                .cluster_installation_delete_inactive_one(&gone.id)
                .await,
            Err(StoreError::InvalidTransition(_))
        ));
        assert_eq!(get_ci(&store, &gone.id).await, gone);
        assert!(matches!(
            store
                .cluster_installation_delete_inactive_one("unknownunknownunknownunkno")
                .await,
            Err(StoreError::NotFound(_))
        ));

        let deleted = store
            .cluster_installation_delete_inactive_one(&inactive.id)
            .await
            .unwrap();
        assert_eq!(deleted.state, ClusterInstallationState::DeletionRequested);
        assert_eq!(get_ci(&store, &inactive.id).await, deleted);
        // Repeating it changes nothing and records nothing more.
        store
            .cluster_installation_delete_inactive_one(&inactive.id)
            .await
            .unwrap();
        assert_eq!(
            events(&store, &inactive.id).await,
            [pair("stable", "deletion-requested")]
        );
        let event = &store
            .event_list(&StateChangeEventFilter {
                resource_id: Some(inactive.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap()[0];
        assert_eq!(event.event.extra_data.fields["ClusterID"], TARGET);
    }
);
