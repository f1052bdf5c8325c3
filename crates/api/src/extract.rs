//! Request extractors that answer every mistake with a JSON [`ApiError`].
//!
//! - [`JsonBody`] / [`JsonBodyOrDefault`]: the body as JSON, with no
//!   Content-Type check (the Go client sends none on PUT). Unknown keys are
//!   ignored as in the original; malformed JSON, a wrong type or an unknown
//!   enum value is a 400 whose `Field` is the JSON path at fault (`Size`,
//!   `Annotations[2]`, `Scheduling.NodeSelector`). The body limit (1 MiB, set
//!   by the router) answers 413.
//! - [`PathId`] / [`PathParams`]: path IDs must be 26 ASCII letters or
//!   digits, else 404, as the original's router does by not matching.
//! - [`QueryParams`] and [`PagingQuery`]: query parameters with the original's
//!   rules (first value wins, empty means unset, booleans as Go's
//!   `strconv.ParseBool`); a bad value is a 400 naming the parameter.
//! - [`RequestId`]: the per-request ID, also the lock owner for row locks.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use bytes::Bytes;
use cloud_model::filter::Paging;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Maximum request body size; larger bodies get 413.
pub const BODY_LIMIT_BYTES: usize = 1 << 20;

/// A required JSON body. An empty body is a 400.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// A JSON body that may be empty (or `null`), in which case it is
/// `T::default()`: the original accepts `io.EOF` for most request types and
/// then applies its defaults.
#[derive(Debug, Clone)]
pub struct JsonBodyOrDefault<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if is_blank(&bytes) {
            return Err(ApiError::bad_request_general(
                "a JSON request body is required",
            ));
        }
        decode_json(&bytes).map(JsonBody)
    }
}

impl<T, S> FromRequest<S> for JsonBodyOrDefault<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if is_blank(&bytes) || bytes.trim_ascii() == b"null" {
            return Ok(JsonBodyOrDefault(T::default()));
        }
        decode_json(&bytes).map(JsonBodyOrDefault)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!("request body is larger than the limit of {BODY_LIMIT_BYTES} bytes"),
            )
        } else {
            ApiError::new(status, rejection.body_text())
        }
    })
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Decodes a JSON document, naming the path of the first error. Trailing
/// non-whitespace after the document is rejected.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde lets a struct be read from an array (positionally), so `[]` would
    // become a default request. Only list types may come from a JSON array.
    let starts_with_array = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if starts_with_array && !std::any::type_name::<T>().contains("Vec<") {
        return Err(ApiError::bad_request_general(
            "invalid request body: expected a JSON object, found an array".to_string(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // serde_path_to_error says "?" where it lost track (an unfinished
        // document) and "." for the root: no field then.
        let category = inner.classify();
        let mut field =
            (path != "." && !path.contains('?') && category != serde_json::error::Category::Eof)
                .then_some(path);
        let message = match (&field, category) {
            (Some(f), _) => format!("invalid value for {f}: {inner}"),
            (None, serde_json::error::Category::Data) => format!("invalid request body: {inner}"),
            (None, _) => format!("malformed JSON body: {inner}"),
        };
        // serde reports a missing key at its parent object: name the key.
        if let Some(key) = missing_field(&inner.to_string()) {
            field = Some(match field {
                Some(parent) => format!("{parent}.{key}"),
                None => key,
            });
        }
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
            field,
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request_general(format!("malformed JSON body: {e}")))?;
    Ok(value)
}

/// The key of serde's "missing field `X`" message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(key, _)| key.to_string())
}

/// Whether `s` has the shape the original's router accepts for an ID:
/// exactly 26 ASCII letters or digits (mixed case allowed, as `[A-Za-z0-9]{26}`).
pub fn is_path_id(s: &str) -> bool {
    cloud_model::is_valid_id(s)
}

/// Checks a path ID; a malformed one is a 404 (the original's router does not
/// match the route at all).
pub fn parse_path_id(value: &str) -> Result<String, ApiError> {
    if is_path_id(value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not found: malformed ID in path",
        ))
    }
}

/// The path parameter `{id}` (or the only path parameter), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = PathParams::from_request_parts(parts, state).await?;
        let value = match params.0.get("id") {
            Some(v) => v.as_str(),
            None if params.0.len() == 1 => params.0.values().next().map_or("", String::as_str),
            None => return Err(ApiError::internal("PathId used on a route without {id}")),
        };
        parse_path_id(value).map(PathId)
    }
}

/// All path parameters by name (percent-decoded), for routes with several:
/// `params.id("dnsID")?` validates an ID, `params.get("name")?` reads any.
#[derive(Debug, Clone, Default)]
pub struct PathParams(pub HashMap<String, String>);

impl PathParams {
    /// The parameter `name` validated as an ID (404 if malformed).
    pub fn id(&self, name: &str) -> Result<String, ApiError> {
        parse_path_id(self.get(name)?)
    }

    /// The parameter `name` as given.
    pub fn get(&self, name: &str) -> Result<&str, ApiError> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::internal(format!("route has no path parameter {name}")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(map)| PathParams(map))
            .map_err(|rejection| ApiError::new(StatusCode::NOT_FOUND, rejection.body_text()))
    }
}

/// The query string as the original reads it: `Query().Get(name)` returns
/// the first value, and an empty value means "not given".
#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        QueryParams(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// First value of `name`, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// First value of `name` as an owned string, `None` when absent or empty.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    /// Whether `name` appears at all, even with an empty value (the Go
    /// client sends empty filters such as `owner=`).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// An optional boolean (`strconv.ParseBool` syntax); bad value → 400.
    pub fn bool_opt(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| {
                parse_go_bool(v).ok_or_else(|| {
                    ApiError::bad_request(name, format!("{name} must be a boolean, got {v:?}"))
                })
            })
            .transpose()
    }

    /// A boolean with a default when absent or empty.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        Ok(self.bool_opt(name)?.unwrap_or(default))
    }

    /// An optional integer; bad value → 400.
    pub fn i64_opt(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(name, format!("{name} must be an integer, got {v:?}"))
                })
            })
            .transpose()
    }

    /// An integer with a default when absent or empty.
    pub fn i64_or(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        Ok(self.i64_opt(name)?.unwrap_or(default))
    }

    /// The paging parameters `page`, `per_page`, `include_deleted`.
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let defaults = Paging::default();
        let paging = Paging {
            page: self.i64_or("page", defaults.page)?,
            per_page: self.i64_or("per_page", defaults.per_page)?,
            include_deleted: self.bool_or("include_deleted", defaults.include_deleted)?,
        };
        paging.validate()?;
        Ok(paging)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams::parse(parts.uri.query()))
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `page`, `per_page` and `include_deleted` of a list route, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingQuery(pub Paging);

impl<S: Send + Sync> FromRequestParts<S> for PagingQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        QueryParams::parse(parts.uri.query())
            .paging()
            .map(PagingQuery)
    }
}

/// The request's ID (a new 26-character ID per request, also sent back as
/// `X-Request-Id`). Handlers use it as the owner when they lock a row, as the
/// original does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Set by the router's request-id middleware; a router built without it
        // (a unit test) still gets a fresh ID.
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(cloud_model::new_id())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Body {
        name: String,
        #[serde(default)]
        inner: Inner,
        #[serde(default)]
        list: Vec<Kind>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Inner {
        count: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        A,
        B,
    }

    #[test]
    fn an_array_is_not_an_object_body_but_is_a_list_body() {
        let err = decode_json::<Body>(b" []").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message.contains("expected a JSON object"),
            "{}",
            err.message
        );
        let list: Vec<String> = decode_json(br#"["a","b"]"#).unwrap();
        assert_eq!(list, ["a", "b"]);
    }

    #[test]
    fn decode_names_the_path_of_a_wrong_type() {
        let err = decode_json::<Body>(br#"{"Name":"x","Inner":{"Count":"nope"}}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.field.as_deref(), Some("Inner.Count"));
        assert!(err.message.contains("Inner.Count"), "{}", err.message);
    }

    #[test]
    fn decode_names_the_index_of_an_unknown_enum_value() {
        let err = decode_json::<Body>(br#"{"Name":"x","List":["a","zzz"]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("List[1]"));
    }

    #[test]
    fn decode_ignores_unknown_keys_and_rejects_trailing_garbage() {
        let ok = decode_json::<Body>(br#"{"Name":"x","Other":1}"#).unwrap();
        assert_eq!(ok.name, "x");
        let err = decode_json::<Body>(br#"{"Name":"x"} {"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.field, None);
    }

    #[test]
    fn decode_reports_malformed_json() {
        let err = decode_json::<Body>(b"{\"Name\":").unwrap_err();
        assert!(
            err.message.starts_with("malformed JSON body"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_required_key_is_a_400_at_the_root() {
        let err = decode_json::<Body>(b"{}").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.field.as_deref(), Some("Name"));
        assert!(err.message.contains("Name"), "{}", err.message);
        let err = decode_json::<Body>(br#"{"Name":"x","Inner":{}}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("Inner.Count"));
    }

    #[test]
    fn ids_are_26_alphanumerics() {
        assert!(parse_path_id("abcdefghijklmnopqrstuvwxyz").is_ok());
        assert!(parse_path_id("ABCDEFGHIJKLMNOPQRSTUVWXY1").is_ok());
        assert_eq!(
            parse_path_id("abc").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert!(parse_path_id("abcdefghijklmnopqrstuvwxy-").is_err());
        assert!(parse_path_id("abcdefghijklmnopqrstuvwxyz1").is_err());
    }

    #[test]
    fn query_first_value_wins_and_empty_is_unset() {
        let q = QueryParams::parse(Some("owner=&owner=x&state=a&state=b&name=a+b%21"));
        assert_eq!(q.get("owner"), None);
        assert!(q.contains("owner"));
        assert_eq!(q.get("state"), Some("a"));
        assert_eq!(q.get("name"), Some("a b!"));
    }

    #[test]
    fn query_booleans_follow_go() {
        let q = QueryParams::parse(Some("a=T&b=0&c=yes&e="));
        assert_eq!(q.bool_opt("a").unwrap(), Some(true));
        assert_eq!(q.bool_opt("b").unwrap(), Some(false));
        let err = q.bool_opt("c").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("c"));
        assert!(q.bool_or("e", true).unwrap());
        assert!(!q.bool_or("missing", false).unwrap());
    }

    #[test]
    fn paging_defaults_and_errors() {
        let p = QueryParams::parse(None).paging().unwrap();
        assert_eq!(p, Paging::default());
        let p = QueryParams::parse(Some("page=2&per_page=-1&include_deleted=true"))
            .paging()
            .unwrap();
        assert_eq!((p.page, p.per_page, p.include_deleted), (2, -1, true));
        for (query, field) in [
            ("page=x", "page"),
            ("per_page=1.5", "per_page"),
            ("include_deleted=maybe", "include_deleted"),
            ("page=-1", "page"),
            ("per_page=-2", "per_page"),
        ] {
            let err = QueryParams::parse(Some(query)).paging().unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(err.field.as_deref(), Some(field), "{query}");
        }
    }
}
