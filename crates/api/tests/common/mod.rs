//! Test support for the API: a real server on `127.0.0.1:0` over a fresh
//! store, and the `api_test!` macro that runs one test body on SQLite and on
//! PostgreSQL.
//!
//! ```ignore
//! api_test!(creates_a_webhook, |server| {
//!     let res = server.post_json("/api/webhooks", &json!({"OwnerID": "o", "URL": "http://x"})).await;
//!     assert_eq!(res.status(), 202);
//!     let hook: Value = res.json().await.unwrap();
//!     // or through the typed client: server.client().create_webhook(...)
//! });
//! ```

#![allow(dead_code)] // each test file uses a different part of this module

use axum::Router;
use cloud_api::{ApiConfig, AppState};
use cloud_model::installation::{DatabaseType, FilestoreType, Installation, InstallationState};
use cloud_store::SqlStore;
use cloud_store::lock::LockedTable;
use cloud_store::testing::TestDb;
use cloud_supervisor::{SupervisorKind, Wake};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// A well-formed ID that names nothing.
pub const UNKNOWN_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Runs one async test body against a SQLite server (`<name>::sqlite`) and
/// a PostgreSQL server (`<name>::postgres`), binding the [`TestServer`] to
/// `$server`. The body may be a block or `async move { ... }`.
macro_rules! api_test {
    ($name:ident, |$server:ident| async move $body:block) => {
        api_test!($name, |$server| $body);
    };
    ($name:ident, |$server:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                #[allow(unused_variables)]
                let $server = $crate::common::TestServer::sqlite().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                #[allow(unused_variables)]
                let $server = $crate::common::TestServer::postgres().await;
                $body
            }
        }
    };
}

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running API server over its own fresh store. Dropping it stops the
/// server and removes the database.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The store the server uses (to arrange data or check what a route wrote).
    pub store: SqlStore,
    /// The server's supervisor wake-up handle (to check a route woke a supervisor).
    pub wake: Wake,
    /// The server's state (config, metrics).
    pub state: AppState,
    pub backend: Backend,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    // Last: dropped after the server task is stopped.
    _db: TestDb,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// A server over a fresh SQLite store, with the default config.
    pub async fn sqlite() -> Self {
        Self::start(Backend::Sqlite, ApiConfig::default()).await
    }

    /// A server over a fresh PostgreSQL database (needs `CLOUD_TEST_PG_URL`).
    pub async fn postgres() -> Self {
        Self::start(Backend::Postgres, ApiConfig::default()).await
    }

    /// A server with a given config (e.g. `deploy_mysql_operator: true`).
    pub async fn start(backend: Backend, config: ApiConfig) -> Self {
        Self::start_with_routes(backend, config, cloud_api::routes::router()).await
    }

    /// A server whose `/api` routes are `api` (to test the layers with
    /// routes made for the test).
    pub async fn start_with_routes(
        backend: Backend,
        config: ApiConfig,
        api: Router<AppState>,
    ) -> Self {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        };
        let wake = Wake::new();
        let state = AppState::new(db.store.clone(), wake.clone(), config).unwrap();
        let app = cloud_api::router_with(state.clone(), api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        cloud_client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base_url: format!("http://{addr}"),
            store: db.store.clone(),
            wake,
            state,
            backend,
            http,
            task,
            _db: db,
        }
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The typed API client, pointed at this server.
    pub fn client(&self) -> cloud_client::Client {
        cloud_client::Client::new(&self.base_url).unwrap()
    }

    /// A raw HTTP client (for requests the typed client cannot make).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POST with a raw body and no Content-Type (as the Go client sends PUTs).
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// PUT a JSON body with no Content-Type header, as the Go client does.
    pub async fn put_json<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).unwrap();
        self.http
            .put(self.url(path))
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http.delete(self.url(path)).send().await.unwrap()
    }

    /// The metrics as the `/metrics` route serves them.
    pub fn metrics_text(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.state.metrics.registry().gather())
            .unwrap()
    }
}

/// Status and JSON body of a response.
pub async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {text:?}"));
    (status, value)
}

/// Asserts an error response: its status, its JSON shape, and its `Field`.
pub async fn assert_error(res: reqwest::Response, status: u16, field: Option<&str>) -> String {
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (got, body) = status_json(res).await;
    assert_eq!(got, status, "status; body {body}");
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}"
    );
    let message = body["Error"]
        .as_str()
        .unwrap_or_else(|| panic!("no Error message in {body}"));
    assert!(!message.is_empty(), "empty Error in {body}");
    assert_eq!(body["Field"].as_str(), field, "Field of {body}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "error body has exactly Error and Field: {body}"
    );
    message.to_string()
}

/// The `ID` of a JSON object.
pub fn id_of(v: &Value) -> String {
    v["ID"].as_str().unwrap().to_string()
}

/// Whether the supervisor of `kind` was woken (a pending wake-up resolves at once).
pub async fn was_woken(server: &TestServer, kind: SupervisorKind) -> bool {
    tokio::time::timeout(Duration::from_millis(200), server.wake.woken(kind))
        .await
        .is_ok()
}

/// Asserts that `request` is refused with 409 while someone else holds the
/// row lock of `id` (taken before it is sent, released after).
pub async fn assert_409_while_locked(
    server: &TestServer,
    lock: LockedTable,
    id: &str,
    request: impl Future<Output = reqwest::Response>,
) {
    let store = &server.store;
    assert!(
        store.lock_rows(lock, &[id], "other").await.unwrap(),
        "lock {id}"
    );
    assert_error(request.await, 409, None).await;
    let unlocked = store.unlock_rows(lock, &[id], "other", false).await;
    assert!(unlocked.unwrap(), "unlock {id}");
}

/// Creates an installation in `state` through the store (with its creation
/// event), with the database and filestore given.
pub async fn create_installation(
    store: &SqlStore,
    name: &str,
    state: InstallationState,
    database: DatabaseType,
    filestore: FilestoreType,
) -> Installation {
    let mut installation = Installation {
        name: name.to_string(),
        owner_id: "owner".into(),
        state,
        database,
        filestore,
        size: "100users".into(),
        version: "stable".into(),
        image: "mattermost/mattermost-enterprise-edition".into(),
        cr_version: "installation.mattermost.com/v1beta1".into(),
        ..Default::default()
    };
    store
        .installation_create(&mut installation, &[], &[format!("{name}.example.com")])
        .await
        .unwrap();
    store
        .installation_get(&installation.id)
        .await
        .unwrap()
        .unwrap()
}

/// A hibernating installation whose data can be backed up.
pub async fn backupable(store: &SqlStore, name: &str) -> Installation {
    create_installation(
        store,
        name,
        InstallationState::Hibernating,
        DatabaseType::AwsMultitenantRdsPostgres,
        FilestoreType::Bifrost,
    )
    .await
}
