//! Domain names of installations. Every installation has at least one; one
//! of them is primary (the ingress host, and the installation's `Name` is its
//! first label). Names are stored lower-cased and are unique among live rows.

use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// Longest fully qualified name accepted.
pub const MAX_DOMAIN_LENGTH: usize = 253;

/// One domain name of an installation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstallationDNS {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "DomainName")]
    pub domain_name: String,
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    #[serde(rename = "IsPrimary")]
    pub is_primary: bool,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt")]
    pub delete_at: i64,
}

/// The first label of a domain name (`name` in `name.example.com`).
pub fn first_label(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

/// The original's `isValidDNS`: at most 253 characters, a first label of 2 to
/// 63 characters, and only letters, digits, `.` and `-`, starting with a
/// letter or digit.
pub fn validate_domain_name(dns: &str) -> Result<(), String> {
    if dns.len() > MAX_DOMAIN_LENGTH {
        return Err(format!(
            "fully qualified domain names must be at most {MAX_DOMAIN_LENGTH} characters long; {dns:?} has {}",
            dns.len()
        ));
    }
    let label = first_label(dns);
    if !(2..=63).contains(&label.len()) {
        return Err(format!(
            "the first label of a domain name must be 2 to 63 characters long; {label:?} has {}",
            label.len()
        ));
    }
    let mut chars = dns.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !first_ok || !rest_ok {
        return Err(format!(
            "domain name {dns:?} failed the hostname pattern check (letters, digits, '.' and '-', starting with a letter or digit)"
        ));
    }
    Ok(())
}

/// Body of `POST /api/installation/{id}/dns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddDNSRecordRequest {
    #[serde(rename = "DNS")]
    pub dns: String,
}

impl AddDNSRecordRequest {
    /// Lower-cases the name, as stored.
    pub fn normalize(&mut self) {
        self.dns = self.dns.to_lowercase();
    }

    /// A valid domain name is required; unlike creation, its first label
    /// need not match the installation's name.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_domain_name(&self.dns).map_err(|m| ValidationError::new("DNS", m))
    }
}

/// The domain names of `records`, in order.
pub fn domain_names(records: &[InstallationDNS]) -> Vec<String> {
    records.iter().map(|r| r.domain_name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_json_round_trips() {
        let doc = r#"{"ID":"a1b2c3d4e5f6g7h8i9j0k1l2m3","DomainName":"stelios.test.cloud.mattermost.com","InstallationID":"8npnfpbiitygxbsrpg1p5i1sse","IsPrimary":true,"CreateAt":1589359071894,"DeleteAt":0}"#;
        let r: InstallationDNS = serde_json::from_str(doc).unwrap();
        assert!(r.is_primary);
        assert_eq!(r.domain_name, "stelios.test.cloud.mattermost.com");
        assert_eq!(serde_json::to_string(&r).unwrap(), doc);
    }

    #[test]
    fn domain_rules_match_the_original() {
        for ok in [
            "domain4321.com",
            "my-installation.example.com",
            "ab.io",
            "a1.b",
        ] {
            assert!(validate_domain_name(ok).is_ok(), "{ok}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let too_long = format!("ab.{}", "c".repeat(251));
        for bad in [
            "a.com",
            "-domain4321.com",
            "letseat🍕.com",
            "joram&gabe.com",
            "domain4321.com ",
            "my invalid-dns.com",
            "",
            long_label.as_str(),
            too_long.as_str(),
        ] {
            assert!(validate_domain_name(bad).is_err(), "{bad}");
        }
        assert!(validate_domain_name(&format!("{}.com", "a".repeat(63))).is_ok());
    }

    #[test]
    fn add_request_is_lower_cased_and_validated() {
        let mut req: AddDNSRecordRequest =
            serde_json::from_str(r#"{"DNS":"New-Name.Example.COM"}"#).unwrap();
        req.normalize();
        assert_eq!(req.dns, "new-name.example.com");
        assert!(req.validate().is_ok());
        let bad = AddDNSRecordRequest { dns: "x".into() };
        assert_eq!(bad.validate().unwrap_err().field, "DNS");
    }

    #[test]
    fn first_label_is_the_name() {
        assert_eq!(first_label("my-inst.example.com"), "my-inst");
        assert_eq!(first_label("single"), "single");
    }
}
