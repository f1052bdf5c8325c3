//! Test support for the `cloud` binary: start the real `cloud server` on free
//! loopback ports over a temporary SQLite file (or a given database), wait for
//! `/healthz`, and run `cloud …` client commands against it.
//!
//! ```ignore
//! let server = CloudServer::start().await;
//! let out = server.cloud(&["cluster", "list", "--json"]).await.success();
//! let clusters = out.json();
//! ```

#![allow(dead_code)] // each test file uses a different part of this module

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// Path of the `cloud` binary under test.
pub const CLOUD: &str = env!("CARGO_BIN_EXE_cloud");

/// How long a server gets to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A `cloud` process's result.
#[derive(Debug)]
pub struct CmdOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// Asserts success and returns self.
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(
            self.status.success(),
            "cloud failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts failure and returns self.
    #[track_caller]
    pub fn failure(self) -> Self {
        assert!(
            !self.status.success(),
            "cloud should have failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that stderr contains every one of `needles`; returns self.
    #[track_caller]
    pub fn stderr_has(self, needles: &[&str]) -> Self {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{needle:?} not in stderr: {}",
                self.stderr
            );
        }
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Asserts that the first line of a table holds every one of `columns`.
#[track_caller]
pub fn assert_columns(table: &str, columns: &[&str]) {
    let header = table.lines().next().unwrap_or_default();
    for column in columns {
        assert!(header.contains(column), "{column} not in {table}");
    }
}

/// A `cloud` command with the test's `CP_*` variables removed, so the
/// environment of whoever runs the tests cannot change the flags.
pub fn cloud_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(CLOUD);
    cmd.args(args).kill_on_drop(true).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("CP_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `cloud args…` to completion.
pub async fn cloud(args: &[&str]) -> CmdOutput {
    run(cloud_command(args)).await
}

/// Runs a prepared command to completion (at most a minute).
pub async fn run(mut cmd: Command) -> CmdOutput {
    let output = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("cloud did not finish within a minute")
        .expect("run cloud");
    CmdOutput {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An HTTP client with timeouts.
pub fn http() -> reqwest::Client {
    cloud_client::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// A running `cloud server`. Dropping it kills the process.
pub struct CloudServer {
    /// `http://127.0.0.1:<port>`, for `--server`.
    pub base_url: String,
    /// `http://127.0.0.1:<metrics port>/metrics`.
    pub metrics_url: String,
    /// The server's working directory (holds the log and the SQLite file).
    pub dir: TempDir,
    /// The `--database` the server was started with.
    pub database: String,
    child: Child,
    log: PathBuf,
}

impl CloudServer {
    /// A server over a new SQLite file in a temporary directory.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A server over a new SQLite file, with extra server flags.
    pub async fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("sqlite://{}", dir.path().join("cloud.db").display());
        Self::spawn(dir, Some(database), extra)
            .await
            .unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Starts `cloud server` in `dir` with `--database` when given (else the
    /// default), waiting for `/healthz`; `Err(log)` when it exits first.
    pub async fn spawn(
        dir: TempDir,
        database: Option<String>,
        extra: &[&str],
    ) -> Result<Self, String> {
        let port = free_port();
        let metrics_port = free_port();
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let listen = format!("127.0.0.1:{port}");
        let metrics = metrics_port.to_string();
        let mut args = vec!["server", "--listen", &listen, "--metrics-port", &metrics];
        if let Some(db) = &database {
            args.extend(["--database", db.as_str()]);
        }
        args.extend_from_slice(extra);
        let mut cmd = cloud_command(&args);
        cmd.current_dir(dir.path())
            .stdout(Stdio::from(log_file.try_clone().expect("log file")))
            .stderr(Stdio::from(log_file));
        let child = cmd.spawn().expect("spawn cloud server");
        let mut server = Self {
            base_url: format!("http://{listen}"),
            metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
            dir,
            database: database.unwrap_or_else(|| "sqlite://cloud.db".to_string()),
            child,
            log,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self) -> Result<(), String> {
        let http = http();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", self.log()));
            }
            if let Ok(res) = http.get(format!("{}/healthz", self.base_url)).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no /healthz within {START_TIMEOUT:?}:\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `cloud args… --server <this server>`.
    pub async fn cloud(&self, args: &[&str]) -> CmdOutput {
        let mut all = args.to_vec();
        all.extend(["--server", self.base_url.as_str()]);
        cloud(&all).await
    }

    /// Sends SIGTERM and waits for the exit (at most 20 s).
    pub async fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().expect("server pid").to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("run kill");
        assert!(killed.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server did not stop within 20 s of SIGTERM")
            .expect("wait for server")
    }
}
