//! `cloud schema migrate`: applies what is missing, and is a no-op the
//! second time, on SQLite and on PostgreSQL.

use crate::common::*;
use cloud_store::testing::TestDb;

async fn migrate_twice(database: &str) {
    let first = cloud(&["schema", "migrate", "--database", database])
        .await
        .success();
    assert!(
        first.stdout.contains("Applied migration 1"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("now at version"), "{}", first.stdout);
    let second = cloud(&["schema", "migrate", "--database", database])
        .await
        .success();
    assert!(
        second.stdout.contains("nothing to apply"),
        "{}",
        second.stdout
    );
    assert!(
        !second.stdout.contains("Applied migration"),
        "{}",
        second.stdout
    );
}

#[tokio::test]
async fn migrates_a_fresh_sqlite_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    migrate_twice(&format!("sqlite://{}", path.display())).await;
    assert!(path.exists());
    // A bare path works too, and the server accepts the migrated database.
    let again = cloud(&["schema", "migrate", "--database", path.to_str().unwrap()])
        .await
        .success();
    assert!(
        again.stdout.contains("nothing to apply"),
        "{}",
        again.stdout
    );
    let server = CloudServer::spawn(dir, Some(path.display().to_string()), &[])
        .await
        .unwrap_or_else(|log| panic!("server on the migrated file:\n{log}"));
    drop(server);
}

#[tokio::test]
async fn migrates_a_fresh_postgres_database_once() {
    let (url, admin_url, name) = TestDb::postgres_database().await;
    migrate_twice(&url).await;
    TestDb::drop_postgres_database(&admin_url, &name).await;
}

#[tokio::test]
async fn the_database_comes_from_cp_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env.db");
    let mut cmd = cloud_command(&["schema", "migrate"]);
    cmd.env("CP_DATABASE", format!("sqlite://{}", path.display()));
    let out = run(cmd).await.success();
    assert!(out.stdout.contains("Applied migration"), "{}", out.stdout);
    assert!(path.exists());
}

#[tokio::test]
async fn migrate_refuses_a_bad_url() {
    cloud(&["schema", "migrate", "--database", "http://x"])
        .await
        .failure()
        .stderr_has(&["unsupported database URL"]);
}
