//! `cloud server`: starts with no database flag, serves the API and
//! metrics, warns about accepted-but-unsupported flags, refuses bad input
//! clearly, refuses an outdated schema, and stops on SIGTERM.

use crate::common::*;
use cloud_store::{Query, SqlStore};

#[tokio::test]
async fn starts_with_defaults_and_creates_cloud_db() {
    let dir = tempfile::tempdir().unwrap();
    let server = CloudServer::spawn(dir, None, &[])
        .await
        .unwrap_or_else(|log| panic!("server did not start:\n{log}"));
    assert!(
        server.dir().join("cloud.db").exists(),
        "cloud.db created in the working directory"
    );

    let http = http();
    let body: serde_json::Value = http
        .get(format!("{}/healthz", server.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({"Status": "ok"}));
    let unknown = http
        .get(format!("{}/api/nope", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let metrics = http
        .get(&server.metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"provisioner_api_requests_total{handler="/healthz",method="GET",status_code="200"}"#
        ),
        "{metrics}"
    );
    let log = server.log();
    assert!(log.contains("API server listening"), "{log}");
    assert!(
        !log.contains("not yet supported"),
        "no warning with defaults: {log}"
    );

    let status = server.stop().await;
    assert!(status.success(), "exit on SIGTERM: {status}");
}

#[tokio::test]
async fn an_unknown_flag_is_a_clear_error() {
    let out = cloud(&["server", "--no-such-flag"]).await.failure();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    assert!(out.stderr.contains("unexpected argument"), "{}", out.stderr);
}

#[tokio::test]
async fn unsupported_flags_are_accepted_with_a_warning() {
    let server = CloudServer::start_with(&[
        "--state-store=my-bucket",
        "--keep-database-data",
        "--utilities-git-url=https://example.invalid/utilities",
    ])
    .await;
    let log = server.log();
    for flag in ["state-store", "keep-database-data", "utilities-git-url"] {
        assert!(
            log.contains(&format!("flag --{flag} is accepted but not yet supported")),
            "warning for --{flag} in {log}"
        );
    }
    assert!(!log.contains("flag --listen"), "{log}");
}

#[tokio::test]
async fn flags_come_from_cp_variables() {
    // `CP_STATE_STORE` sets `--state-store`, as viper's AutomaticEnv does.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let metrics_port = free_port().to_string();
    let mut cmd = cloud_command(&["server"]);
    cmd.current_dir(dir.path())
        .env("CP_LISTEN", format!("127.0.0.1:{port}"))
        .env("CP_METRICS_PORT", &metrics_port)
        .env("CP_STATE_STORE", "env-bucket")
        .env("CP_DEBUG", "true");
    let log = dir.path().join("log");
    let file = std::fs::File::create(&log).unwrap();
    cmd.stderr(std::process::Stdio::from(file.try_clone().unwrap()))
        .stdout(std::process::Stdio::from(file));
    let _child = cmd.spawn().unwrap();
    let http = http();
    let mut healthy = false;
    for _ in 0..300 {
        if let Ok(res) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && res.status().is_success()
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(healthy, "server on CP_LISTEN: {text}");
    assert!(
        text.contains("flag --state-store is accepted but not yet supported"),
        "{text}"
    );
    assert!(dir.path().join("cloud.db").exists());
}

#[tokio::test]
async fn a_bad_database_url_is_refused() {
    cloud(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--database",
        "mysql://u@h/db",
    ])
    .await
    .failure()
    .stderr_has(&["unsupported database URL"]);
}

#[tokio::test]
async fn an_outdated_schema_names_the_migrate_command() {
    let db_dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", db_dir.path().join("old.db").display());
    // A database whose recorded migrations are behind this binary.
    let store = SqlStore::open(&database).await.unwrap();
    Query::new("DELETE FROM _sqlx_migrations")
        .execute(store.conn())
        .await
        .unwrap();
    store.close().await;

    let err = CloudServer::spawn(tempfile::tempdir().unwrap(), Some(database.clone()), &[])
        .await
        .err()
        .expect("the server refuses an outdated schema");
    assert!(
        err.contains(&format!(
            "run `cloud schema migrate --database {database}` first"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn machine_readable_logs_are_json_lines() {
    let server = CloudServer::start_with(&["--machine-readable-logs"]).await;
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
}
