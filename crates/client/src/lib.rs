//! # cloud-client
//!
//! Typed HTTP client of the provisioner API, the counterpart of the original
//! `model.Client`: every method checks for exactly the status the route
//! answers on success and otherwise returns [`ClientError::Status`] carrying
//! the server's JSON `Error` message when there is one. Methods that tolerate
//! a 404 return `Ok(None)`.
//!
//! This file holds the transport ([`Client`], the generic `get_json`,
//! `post_json`, … and [`Client::security_call`]); each resource adds its
//! methods in its own file as an `impl Client` block.
//!
//! Like the Go client, JSON bodies are sent with `Content-Type:
//! application/json` on POST and PUT (the original sends none on PUT; our
//! server accepts both). Custom headers given to [`Client::with_headers`] go
//! on every request.

pub mod backups;
pub mod cluster_installations;
pub mod clusters;
pub mod databases;
pub mod delivery;
pub mod events;
pub mod groups;
pub mod installations;
pub mod operations;
pub mod subscriptions;
pub mod webhooks;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request (exec and pprof calls can be slow).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered another status than the expected one.
    #[error("failed with status code {}{}", status.as_u16(), fmt_message(message))]
    Status {
        status: StatusCode,
        /// The server's JSON `Error` message, else the raw body (may be empty).
        message: String,
        /// The server's JSON `Field`, when it named one.
        field: Option<String>,
    },
    /// The request could not be sent or its answer not read.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer was not the JSON expected.
    #[error("could not decode the response: {0}")]
    Decode(String),
    /// The client was built with a bad base URL or header.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

fn fmt_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl ClientError {
    /// The HTTP status of a [`ClientError::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Query parameters: `(name, value)` pairs, sent in order, empty values
/// included (the Go client sends `owner=` for an empty filter).
pub type Query<'a> = &'a [(&'a str, String)];

/// The paging query parameters as the original client sends them (always
/// all three).
pub fn paging_query(paging: &cloud_model::filter::Paging) -> Vec<(&'static str, String)> {
    vec![
        ("page", paging.page.to_string()),
        ("per_page", paging.per_page.to_string()),
        ("include_deleted", paging.include_deleted.to_string()),
    ]
}

/// The provisioner API client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://localhost:8075`).
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_headers(base_url, std::iter::empty::<(String, String)>())
    }

    /// A client that adds `headers` to every request.
    pub fn with_headers<K, V>(
        base_url: &str,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::with_options(base_url, headers, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// A client with explicit timeouts.
    pub fn with_options<K, V>(
        base_url: &str,
        headers: impl IntoIterator<Item = (K, V)>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let base_url = base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "server URL {base_url:?} must start with http:// or https://"
            )));
        }
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_ref().as_bytes())
                .map_err(|e| ClientError::Config(format!("header name {:?}: {e}", k.as_ref())))?;
            let value = HeaderValue::from_str(v.as_ref())
                .map_err(|e| ClientError::Config(format!("header {:?} value: {e}", k.as_ref())))?;
            map.append(name, value);
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .default_headers(map)
            .build()?;
        Ok(Self { base_url, http })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url + path`; `path` starts with `/api/…`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A request builder for anything the helpers below do not cover.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// GET, expecting `expect` and a JSON body.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query<'_>,
        expect: StatusCode,
    ) -> Result<T> {
        let response = self.request(Method::GET, path).query(query).send().await?;
        decode(check(response, expect).await?).await
    }

    /// GET that tolerates a 404 as `None`.
    pub async fn get_json_opt<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query<'_>,
    ) -> Result<Option<T>> {
        let response = self.request(Method::GET, path).query(query).send().await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        decode(check(response, StatusCode::OK).await?)
            .await
            .map(Some)
    }

    /// GET returning the raw body (e.g. pprof archives, raw config).
    pub async fn get_bytes(
        &self,
        path: &str,
        query: Query<'_>,
        expect: StatusCode,
    ) -> Result<Vec<u8>> {
        let response = self.request(Method::GET, path).query(query).send().await?;
        Ok(check(response, expect).await?.bytes().await?.to_vec())
    }

    /// POST a JSON body, expecting `expect` and a JSON answer.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        expect: StatusCode,
    ) -> Result<T> {
        let response = self.request(Method::POST, path).json(body).send().await?;
        decode(check(response, expect).await?).await
    }

    /// POST with no body, expecting `expect` and a JSON answer.
    pub async fn post_empty_json<T: DeserializeOwned>(
        &self,
        path: &str,
        expect: StatusCode,
    ) -> Result<T> {
        let response = self.request(Method::POST, path).send().await?;
        decode(check(response, expect).await?).await
    }

    /// POST (with an optional JSON body) whose answer body is not needed.
    pub async fn post_no_content<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: Option<&B>,
        expect: StatusCode,
    ) -> Result<()> {
        let mut request = self.request(Method::POST, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        check(request.send().await?, expect).await.map(drop)
    }

    /// PUT a JSON body, expecting `expect` and a JSON answer.
    pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        expect: StatusCode,
    ) -> Result<T> {
        let response = self.request(Method::PUT, path).json(body).send().await?;
        decode(check(response, expect).await?).await
    }

    /// PUT (with an optional JSON body) whose answer body is not needed.
    pub async fn put_no_content<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: Option<&B>,
        expect: StatusCode,
    ) -> Result<()> {
        let mut request = self.request(Method::PUT, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        check(request.send().await?, expect).await.map(drop)
    }

    /// DELETE, expecting `expect`; the body is ignored.
    pub async fn delete(&self, path: &str, query: Query<'_>, expect: StatusCode) -> Result<()> {
        let response = self
            .request(Method::DELETE, path)
            .query(query)
            .send()
            .await?;
        check(response, expect).await.map(drop)
    }

    /// DELETE, expecting `expect` and a JSON answer.
    pub async fn delete_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query<'_>,
        expect: StatusCode,
    ) -> Result<T> {
        let response = self
            .request(Method::DELETE, path)
            .query(query)
            .send()
            .await?;
        decode(check(response, expect).await?).await
    }

    /// `POST /api/security/{resource_path}/{id}/{kind}/{action}` (200, no
    /// body), e.g. `("installation/backup", id, "api", "lock")`.
    pub async fn security_call(
        &self,
        resource_path: &str,
        id: &str,
        kind: &str,
        action: &str,
    ) -> Result<()> {
        let path = format!("/api/security/{resource_path}/{id}/{kind}/{action}");
        self.post_no_content::<()>(&path, None, StatusCode::OK)
            .await
    }
}

/// Passes the response on when its status is `expect`, else turns it into
/// [`ClientError::Status`] with the server's message.
pub async fn check(response: reqwest::Response, expect: StatusCode) -> Result<reqwest::Response> {
    let status = response.status();
    if status == expect {
        return Ok(response);
    }
    let body = response.bytes().await.unwrap_or_default();
    let (message, field) = error_message(&body);
    Err(ClientError::Status {
        status,
        message,
        field,
    })
}

/// The `Error` and `Field` of a JSON error body, else the body as text.
fn error_message(body: &[u8]) -> (String, Option<String>) {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(rename = "Error")]
        error: String,
        #[serde(rename = "Field", default)]
        field: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error, b.field),
        Err(_) => (String::from_utf8_lossy(body).trim().to_string(), None),
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let bytes = response.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
}

/// Installs ring as the process's TLS crypto provider (idempotent). The HTTP
/// stack is built with `rustls-no-provider` so that the whole workspace uses one
/// provider (ring, as sqlx does); every place that builds a `reqwest::Client`
/// calls this first, or reqwest panics.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_checked_and_normalised() {
        let c = Client::new("http://localhost:8075/").unwrap();
        assert_eq!(c.url("/api/clusters"), "http://localhost:8075/api/clusters");
        assert!(matches!(
            Client::new("localhost:8075"),
            Err(ClientError::Config(_))
        ));
        assert!(matches!(
            Client::with_headers("http://x", [("bad header", "v")]),
            Err(ClientError::Config(_))
        ));
    }

    #[test]
    fn paging_is_always_sent_in_full() {
        let q = paging_query(&cloud_model::filter::Paging::default());
        assert_eq!(
            q,
            vec![
                ("page", "0".to_string()),
                ("per_page", "100".to_string()),
                ("include_deleted", "false".to_string())
            ]
        );
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"Error":"cluster not found","Field":null}"#),
            ("cluster not found".to_string(), None)
        );
        assert_eq!(
            error_message(br#"{"Error":"bad","Field":"Size"}"#),
            ("bad".to_string(), Some("Size".to_string()))
        );
        assert_eq!(
            error_message(b"plain text\n"),
            ("plain text".to_string(), None)
        );
        assert_eq!(error_message(b""), (String::new(), None));
    }

    #[test]
    fn status_errors_read_like_the_original() {
        let e = ClientError::Status {
            status: StatusCode::NOT_FOUND,
            message: String::new(),
            field: None,
        };
        assert_eq!(e.to_string(), "failed with status code 404");
        let e = ClientError::Status {
            status: StatusCode::BAD_REQUEST,
            message: "Name: is required".into(),
            field: Some("Name".into()),
        };
        assert_eq!(
            e.to_string(),
            "failed with status code 400: Name: is required"
        );
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
    }
}
