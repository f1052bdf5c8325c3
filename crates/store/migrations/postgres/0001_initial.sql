-- Initial schema: every table of the provisioner (the original's schema 0.54.0, with snake_case names).
-- JSON documents are stored as TEXT; timestamps are BIGINT milliseconds; delete_at = 0 means alive and is part of
-- the unique indexes so that names can be reused after a soft delete. There are no foreign keys (as in the
-- original): the store keeps references consistent inside its transactions.

CREATE TABLE cluster (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    provider TEXT NOT NULL,
    provisioner TEXT NOT NULL,
    provider_metadata TEXT NULL,
    provisioner_metadata TEXT NULL,
    utility_metadata TEXT NULL,
    pgbouncer_config TEXT NOT NULL,
    allow_installations BOOLEAN NOT NULL,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    api_security_lock BOOLEAN NOT NULL DEFAULT FALSE,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0,
    scheduling_lock_acquired_by TEXT NULL,
    scheduling_lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cluster_state_idx ON cluster (state);
CREATE INDEX cluster_create_at_idx ON cluster (create_at);

CREATE TABLE annotation (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE cluster_annotation (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    annotation_id TEXT NOT NULL,
    UNIQUE (cluster_id, annotation_id)
);

CREATE TABLE installation (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    group_id TEXT NULL,
    group_sequence BIGINT NULL,
    state TEXT NOT NULL,
    size TEXT NOT NULL,
    version TEXT NOT NULL,
    image TEXT NOT NULL,
    license TEXT NOT NULL DEFAULT '',
    database_type TEXT NOT NULL,
    filestore_type TEXT NOT NULL,
    affinity TEXT NOT NULL,
    mattermost_env TEXT NULL,
    priority_env TEXT NULL,
    single_tenant_database_config TEXT NULL,
    external_database_config TEXT NULL,
    cr_version TEXT NOT NULL,
    allowed_ip_ranges TEXT NULL,
    volumes TEXT NULL,
    pod_probe_overrides TEXT NULL,
    command TEXT NULL,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    deletion_pending_expiry BIGINT NOT NULL DEFAULT 0,
    scheduled_deletion_time BIGINT NOT NULL DEFAULT 0,
    api_security_lock BOOLEAN NOT NULL DEFAULT FALSE,
    deletion_locked BOOLEAN NOT NULL DEFAULT FALSE,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (name, delete_at)
);
CREATE INDEX installation_state_idx ON installation (state);
CREATE INDEX installation_owner_idx ON installation (owner_id);
CREATE INDEX installation_group_idx ON installation (group_id);
CREATE INDEX installation_create_at_idx ON installation (create_at);

CREATE TABLE installation_dns (
    id TEXT PRIMARY KEY,
    domain_name TEXT NOT NULL,
    installation_id TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (domain_name, delete_at)
);
CREATE INDEX installation_dns_installation_idx ON installation_dns (installation_id);
CREATE UNIQUE INDEX installation_dns_one_primary_idx ON installation_dns (installation_id)
    WHERE is_primary AND delete_at = 0;

CREATE TABLE installation_annotation (
    id TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL,
    annotation_id TEXT NOT NULL,
    UNIQUE (installation_id, annotation_id)
);

CREATE TABLE cluster_installation (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    installation_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    state TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    api_security_lock BOOLEAN NOT NULL DEFAULT FALSE,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cluster_installation_cluster_idx ON cluster_installation (cluster_id);
CREATE INDEX cluster_installation_installation_idx ON cluster_installation (installation_id);

-- "group" is a reserved word in SQL, hence the plural.
CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL DEFAULT '',
    mattermost_env TEXT NULL,
    scheduling TEXT NULL,
    sequence BIGINT NOT NULL DEFAULT 0,
    max_rolling BIGINT NOT NULL DEFAULT 1,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    api_security_lock BOOLEAN NOT NULL DEFAULT FALSE,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (name, delete_at)
);

CREATE TABLE group_annotation (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    annotation_id TEXT NOT NULL,
    UNIQUE (group_id, annotation_id)
);

CREATE TABLE webhook (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NULL,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (url, delete_at)
);

CREATE TABLE subscription (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    headers TEXT NULL,
    -- nanoseconds, as the original's Go time.Duration
    failure_threshold BIGINT NOT NULL DEFAULT 0,
    last_delivery_status TEXT NOT NULL DEFAULT '',
    last_delivery_attempt_at BIGINT NOT NULL DEFAULT 0,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE event (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    extra_data TEXT NOT NULL
);
CREATE INDEX event_timestamp_idx ON event (timestamp);

CREATE TABLE state_change_event (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    old_state TEXT NOT NULL,
    new_state TEXT NOT NULL
);
CREATE INDEX state_change_event_event_idx ON state_change_event (event_id);
CREATE INDEX state_change_event_resource_idx ON state_change_event (resource_id, new_state);

CREATE TABLE event_delivery (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_attempt BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX event_delivery_subscription_idx ON event_delivery (subscription_id, status);

CREATE TABLE installation_backup (
    id TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL,
    cluster_installation_id TEXT NOT NULL DEFAULT '',
    backed_up_database_type TEXT NOT NULL,
    data_residence TEXT NULL,
    state TEXT NOT NULL,
    request_at BIGINT NOT NULL,
    start_at BIGINT NOT NULL DEFAULT 0,
    delete_at BIGINT NOT NULL DEFAULT 0,
    api_security_lock BOOLEAN NOT NULL DEFAULT FALSE,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX installation_backup_installation_idx ON installation_backup (installation_id);

CREATE TABLE installation_db_restoration_operation (
    id TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL,
    backup_id TEXT NOT NULL,
    state TEXT NOT NULL,
    target_installation_state TEXT NOT NULL DEFAULT '',
    cluster_installation_id TEXT NOT NULL DEFAULT '',
    request_at BIGINT NOT NULL,
    complete_at BIGINT NOT NULL DEFAULT 0,
    delete_at BIGINT NOT NULL DEFAULT 0,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX installation_db_restoration_installation_idx ON installation_db_restoration_operation (installation_id);

CREATE TABLE installation_db_migration_operation (
    id TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL,
    state TEXT NOT NULL,
    source_database TEXT NOT NULL,
    destination_database TEXT NOT NULL,
    source_multi_tenant TEXT NULL,
    destination_multi_tenant TEXT NULL,
    backup_id TEXT NOT NULL DEFAULT '',
    installation_db_restoration_operation_id TEXT NOT NULL DEFAULT '',
    request_at BIGINT NOT NULL,
    complete_at BIGINT NOT NULL DEFAULT 0,
    delete_at BIGINT NOT NULL DEFAULT 0,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX installation_db_migration_installation_idx ON installation_db_migration_operation (installation_id);

CREATE TABLE multitenant_database (
    id TEXT PRIMARY KEY,
    rds_cluster_id TEXT NOT NULL,
    vpc_id TEXT NOT NULL,
    database_type TEXT NOT NULL,
    state TEXT NOT NULL,
    writer_endpoint TEXT NOT NULL DEFAULT '',
    reader_endpoint TEXT NOT NULL DEFAULT '',
    -- JSON arrays of installation IDs
    installations TEXT NOT NULL DEFAULT '[]',
    migrated_installations TEXT NOT NULL DEFAULT '[]',
    max_installations_per_logical_database BIGINT NOT NULL DEFAULT 0,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (rds_cluster_id, delete_at)
);

CREATE TABLE logical_database (
    id TEXT PRIMARY KEY,
    multitenant_database_id TEXT NOT NULL,
    name TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX logical_database_multitenant_idx ON logical_database (multitenant_database_id);

CREATE TABLE database_schema (
    id TEXT PRIMARY KEY,
    logical_database_id TEXT NOT NULL,
    installation_id TEXT NOT NULL,
    name TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    lock_acquired_by TEXT NULL,
    lock_acquired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX database_schema_logical_idx ON database_schema (logical_database_id);
CREATE INDEX database_schema_installation_idx ON database_schema (installation_id);
