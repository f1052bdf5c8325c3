//! Legacy webhooks: fire-and-forget POSTs of every state change to every live
//! webhook URL.
//!
//! Shapes follow the original: `Webhook` has PascalCase keys, its custom
//! headers use the lower-case keys `key` / `value` / `value_from_env`, and the
//! payload is snake_case with a **nanosecond** `timestamp`. Unlike the
//! original, a create request's headers are validated (the original has
//! `Headers.Validate()` but never calls it), and the callback URL rules are
//! shared with subscriptions.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashSet};

use crate::ValidationError;
use crate::event::{ResourceType, StateChangeEventData};
use crate::filter::Paging;

/// One custom HTTP header sent with every delivery. Exactly one of `value`
/// and `value_from_env` is set; the latter names an environment variable of
/// the **server**, read at send time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookHeader {
    #[serde(default)]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from_env: Option<String>,
}

impl WebhookHeader {
    /// A header with a literal value.
    pub fn value(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
            value_from_env: None,
        }
    }

    /// A header whose value is read from the server's environment.
    pub fn from_env(key: impl Into<String>, variable: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: None,
            value_from_env: Some(variable.into()),
        }
    }
}

/// The header list of a webhook or subscription (`Headers`). `null` reads as
/// empty; it is always written as an array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Headers(pub Vec<WebhookHeader>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Headers(
            Option::<Vec<WebhookHeader>>::deserialize(deserializer)?.unwrap_or_default(),
        ))
    }
}

impl Headers {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, WebhookHeader> {
        self.0.iter()
    }

    /// The original's rules (no duplicate keys, exactly one of `value` and
    /// `value_from_env`) plus what the HTTP client would otherwise fail on at
    /// send time: a key must be a valid header name, a value must not contain
    /// a line break.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut seen = HashSet::new();
        for header in &self.0 {
            let key = &header.key;
            if !is_header_name(key) {
                return Err(ValidationError::new(
                    "Headers",
                    format!("header key {key:?} is not a valid HTTP header name"),
                ));
            }
            if !seen.insert(key.to_ascii_lowercase()) {
                return Err(ValidationError::new(
                    "Headers",
                    format!("header {key} is duplicated"),
                ));
            }
            match (&header.value, &header.value_from_env) {
                (None, None) => {
                    return Err(ValidationError::new(
                        "Headers",
                        format!("header {key} must have either a value or a value_from_env"),
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(ValidationError::new(
                        "Headers",
                        format!("header {key} cannot have both a value and a value_from_env"),
                    ));
                }
                (Some(value), None) if !is_header_value(value) => {
                    return Err(ValidationError::new(
                        "Headers",
                        format!("header {key} has a value with control characters"),
                    ));
                }
                (None, Some(variable)) if variable.is_empty() => {
                    return Err(ValidationError::new(
                        "Headers",
                        format!("header {key} has an empty value_from_env"),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The headers to send, with each `value_from_env` looked up through
    /// `env` (an unset variable gives an empty value, as in the original).
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|h| match (&h.value, &h.value_from_env) {
                (Some(value), _) => Some((h.key.clone(), value.clone())),
                (None, Some(variable)) => Some((h.key.clone(), env(variable).unwrap_or_default())),
                (None, None) => None,
            })
            .collect()
    }
}

impl From<Vec<WebhookHeader>> for Headers {
    fn from(headers: Vec<WebhookHeader>) -> Self {
        Headers(headers)
    }
}

/// RFC 9110 token characters.
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(s: &str) -> bool {
    s.chars().all(|c| c == '\t' || !c.is_control())
}

/// A registered legacy webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "OwnerID")]
    pub owner_id: String,
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt")]
    pub delete_at: i64,
    #[serde(rename = "Headers", default)]
    pub headers: Headers,
}

impl Webhook {
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// Store filter of the webhook list (`GET /api/webhooks?owner=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookFilter {
    pub paging: Paging,
    pub owner_id: Option<String>,
}

/// Body of `POST /api/webhooks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWebhookRequest {
    #[serde(rename = "OwnerID", default)]
    pub owner_id: String,
    #[serde(rename = "URL", default)]
    pub url: String,
    #[serde(rename = "Headers", default)]
    pub headers: Headers,
}

impl CreateWebhookRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.owner_id.is_empty() {
            return Err(ValidationError::new("OwnerID", "must specify owner"));
        }
        if self.url.is_empty() {
            return Err(ValidationError::new("URL", "must specify callback URL"));
        }
        validate_callback_url("URL", &self.url)?;
        self.headers.validate()
    }
}

/// The callback URL rules of webhooks (and, here, subscriptions): an absolute
/// `http` or `https` URL with a non-empty host and no whitespace or control
/// characters.
pub fn validate_callback_url(field: &str, url: &str) -> Result<(), ValidationError> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new(
            field,
            "unable to parse callback URL: it contains whitespace or control characters",
        ));
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(ValidationError::new(
            field,
            "'' is not a valid scheme: should be 'http' or 'https'",
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(ValidationError::new(
            field,
            format!("'{scheme}' is not a valid scheme: should be 'http' or 'https'"),
        ));
    }
    let Some(after_slashes) = rest.strip_prefix("//") else {
        return Err(ValidationError::new(field, "must specify host"));
    };
    let authority = after_slashes
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        // IPv6 literal: `[::1]:8080`.
        match host_port.find(']') {
            Some(end) => &host_port[..=end],
            None => {
                return Err(ValidationError::new(
                    field,
                    "unable to parse callback URL: missing ']' in host",
                ));
            }
        }
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(ValidationError::new(field, "must specify host"));
    }
    if let Some((_, port)) = host_port.rsplit_once(':')
        && !host_port.ends_with(']')
        && !port.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ValidationError::new(
            field,
            format!("unable to parse callback URL: invalid port {port:?}"),
        ));
    }
    Ok(())
}

/// Body of a legacy webhook delivery. `timestamp` is in **nanoseconds**.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPayload {
    #[serde(default)]
    pub event_id: String,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    #[serde(default)]
    pub new_state: String,
    #[serde(default)]
    pub old_state: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_data: BTreeMap<String, String>,
}

impl WebhookPayload {
    /// The payload of a recorded state change; `timestamp_nanos` replaces
    /// the event's millisecond timestamp, as the original's producer does.
    pub fn from_event(data: &StateChangeEventData, timestamp_nanos: i64) -> Self {
        Self {
            event_id: data.event.id.clone(),
            timestamp: timestamp_nanos,
            id: data.state_change.resource_id.clone(),
            resource_type: data.state_change.resource_type,
            new_state: data.state_change.new_state.clone(),
            old_state: data.state_change.old_state.clone(),
            extra_data: data.event.extra_data.fields.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventExtraData, EventType, StateChangeEvent};

    #[test]
    fn webhook_round_trips_the_original_shape() {
        let doc = r#"{"ID":"k1b2c3d4e5f6g7h8i9j0k1l2m3","OwnerID":"owner","URL":"https://example.com/hook","CreateAt":1589188584607,"DeleteAt":0,"Headers":[{"key":"X-Token","value":"abc"},{"key":"X-Secret","value_from_env":"SECRET"}]}"#;
        let webhook: Webhook = serde_json::from_str(doc).unwrap();
        assert_eq!(webhook.owner_id, "owner");
        assert_eq!(
            webhook.headers.0,
            vec![
                WebhookHeader::value("X-Token", "abc"),
                WebhookHeader::from_env("X-Secret", "SECRET")
            ]
        );
        assert!(!webhook.is_deleted());
        assert_eq!(serde_json::to_string(&webhook).unwrap(), doc);
    }

    #[test]
    fn null_headers_read_as_empty_and_write_as_an_array() {
        let doc =
            r#"{"ID":"x","OwnerID":"o","URL":"http://h","CreateAt":1,"DeleteAt":2,"Headers":null}"#;
        let webhook: Webhook = serde_json::from_str(doc).unwrap();
        assert!(webhook.headers.is_empty());
        assert!(webhook.is_deleted());
        let out = serde_json::to_value(&webhook).unwrap();
        assert_eq!(out["Headers"], serde_json::json!([]));
    }

    fn request(url: &str) -> CreateWebhookRequest {
        CreateWebhookRequest {
            owner_id: "owner".into(),
            url: url.into(),
            headers: Headers::default(),
        }
    }

    #[test]
    fn create_request_decodes_from_the_original_body() {
        let doc = r#"{"OwnerID":"o","URL":"http://a","Headers":[{"key":"A","value":"1"}]}"#;
        let req: CreateWebhookRequest = serde_json::from_str(doc).unwrap();
        assert_eq!(req.headers.0, vec![WebhookHeader::value("A", "1")]);
        let empty: CreateWebhookRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, CreateWebhookRequest::default());
    }

    #[test]
    fn create_request_requires_owner_and_url() {
        let mut req = request("https://example.com");
        assert!(req.validate().is_ok());
        req.owner_id.clear();
        assert_eq!(req.validate().unwrap_err().field, "OwnerID");
        let req = request("");
        assert_eq!(req.validate().unwrap_err().field, "URL");
    }

    #[test]
    fn callback_urls_need_http_or_https_and_a_host() {
        for ok in [
            "http://example.com",
            "https://example.com:8443/path?q=1#f",
            "HTTP://EXAMPLE.COM",
            "http://user:pw@host/",
            "http://[::1]:11111/",
            "http://localhost:11111",
        ] {
            assert!(validate_callback_url("URL", ok).is_ok(), "{ok}");
        }
        for bad in [
            "example.com",
            "ftp://example.com",
            "http://",
            "http:///path",
            "http:example.com",
            "/relative",
            "http://exa mple.com",
            "http://host:port/",
            "http://[::1/",
            "http://a\n.com",
        ] {
            let err = validate_callback_url("URL", bad).unwrap_err();
            assert_eq!(err.field, "URL", "{bad}");
        }
    }

    #[test]
    fn headers_need_exactly_one_source_and_unique_keys() {
        let ok = Headers(vec![
            WebhookHeader::value("A", "1"),
            WebhookHeader::from_env("B", "VAR"),
        ]);
        assert!(ok.validate().is_ok());

        let cases = [
            vec![
                WebhookHeader::value("A", "1"),
                WebhookHeader::value("A", "2"),
            ],
            vec![
                WebhookHeader::value("A", "1"),
                WebhookHeader::value("a", "2"),
            ],
            vec![WebhookHeader {
                key: "A".into(),
                ..Default::default()
            }],
            vec![WebhookHeader {
                key: "A".into(),
                value: Some("1".into()),
                value_from_env: Some("V".into()),
            }],
            vec![WebhookHeader::value("", "1")],
            vec![WebhookHeader::value("Bad Key", "1")],
            vec![WebhookHeader::value("A", "x\r\ny")],
            vec![WebhookHeader::from_env("A", "")],
        ];
        for headers in cases {
            let err = Headers(headers.clone()).validate().unwrap_err();
            assert_eq!(err.field, "Headers", "{headers:?}");
        }

        let mut req = request("http://h");
        req.headers = Headers(vec![
            WebhookHeader::value("A", "1"),
            WebhookHeader::value("A", "1"),
        ]);
        assert_eq!(req.validate().unwrap_err().field, "Headers");
    }

    #[test]
    fn headers_resolve_values_and_environment() {
        let headers = Headers(vec![
            WebhookHeader::value("A", "1"),
            WebhookHeader::from_env("B", "SET"),
            WebhookHeader::from_env("C", "UNSET"),
        ]);
        let resolved = headers.resolve(|name| (name == "SET").then(|| "secret".to_string()));
        assert_eq!(
            resolved,
            vec![
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "secret".to_string()),
                ("C".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn payload_is_snake_case_with_nanoseconds() {
        let data = StateChangeEventData {
            event: Event {
                id: "e".into(),
                event_type: EventType::ResourceStateChange,
                timestamp: 1_712_745_600_000,
                extra_data: EventExtraData {
                    fields: BTreeMap::from([("Environment".to_string(), "prod".to_string())]),
                },
            },
            state_change: StateChangeEvent {
                id: "s".into(),
                event_id: "e".into(),
                old_state: "creation-final-tasks".into(),
                new_state: "stable".into(),
                resource_id: "r".into(),
                resource_type: ResourceType::Installation,
            },
        };
        let payload = WebhookPayload::from_event(&data, 1_712_745_600_000_000_000);
        assert_eq!(
            serde_json::to_string(&payload).unwrap(),
            r#"{"event_id":"e","timestamp":1712745600000000000,"id":"r","type":"installation","new_state":"stable","old_state":"creation-final-tasks","extra_data":{"Environment":"prod"}}"#
        );
    }

    #[test]
    fn payload_omits_empty_extra_data_and_round_trips() {
        let doc = r#"{"event_id":"","timestamp":5,"id":"b","type":"installation_backup","new_state":"backup-requested","old_state":"n/a"}"#;
        let payload: WebhookPayload = serde_json::from_str(doc).unwrap();
        assert_eq!(payload.resource_type, ResourceType::InstallationBackup);
        assert_eq!(serde_json::to_string(&payload).unwrap(), doc);
    }
}
