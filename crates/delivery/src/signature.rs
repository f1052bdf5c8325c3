//! The delivery signature: `X-Cloud-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the exact request body keyed with the subscription secret
//! (its ASCII text, exactly as the create response showed it).

use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-cloud-signature";
/// Prefix of the header value, naming the algorithm.
pub const SIGNATURE_PREFIX: &str = "sha256=";

fn mac(secret: &str) -> Option<HmacSha256> {
    // HMAC takes keys of any length; the error case cannot happen.
    <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()).ok()
}

/// The header value for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> Option<String> {
    let mut mac = mac(secret)?;
    mac.update(body);
    Some(format!(
        "{SIGNATURE_PREFIX}{}",
        HEXLOWER.encode(&mac.finalize().into_bytes())
    ))
}

/// Whether `header` is the signature of `body` with `secret` (compared in
/// constant time), as a receiver checks it.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix(SIGNATURE_PREFIX) else {
        return false;
    };
    let Ok(expected) = HEXLOWER_PERMISSIVE.decode(hex.as_bytes()) else {
        return false;
    };
    let Some(mut mac) = mac(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_hmac_sha256_vector() {
        // RFC 4231, test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify("Jefe", b"what do ya want for nothing?", &sig));
    }

    #[test]
    fn a_changed_body_secret_or_header_does_not_verify() {
        let sig = sign("secret", b"{\"a\":1}").unwrap();
        assert!(verify("secret", b"{\"a\":1}", &sig));
        assert!(!verify("secret", b"{\"a\":2}", &sig));
        assert!(!verify("other", b"{\"a\":1}", &sig));
        assert!(!verify(
            "secret",
            b"{\"a\":1}",
            &sig.replace("sha256=", "sha1=")
        ));
        assert!(!verify("secret", b"{\"a\":1}", "sha256=zz"));
        assert!(!verify("secret", b"{\"a\":1}", "sha256="));
    }
}
