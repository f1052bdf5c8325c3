//! Object IDs in the original's format.
//!
//! A random UUIDv4 (16 bytes) is base32-encoded with the z-base-32 alphabet
//! (RFC 4648 bit order) and cut to 26 characters, dropping the padding.
//! Cluster IDs must start with a letter because they are embedded in DNS-like
//! names (`<id>-kops.k8s.local`), so a leading digit is replaced with a random
//! `a`–`z` (which may lie outside the alphabet). IDs are therefore opaque:
//! they are validated by shape and never decoded.

use data_encoding::{Encoding, Specification};
use rand::RngExt;
use std::sync::LazyLock;

const ALPHABET: &str = "ybndrfg8ejkmcpqxot1uwisza345h769";

/// Length of every object ID.
pub const ID_LENGTH: usize = 26;

static ENCODING: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str(ALPHABET);
    #[allow(clippy::expect_used)]
    spec.encoding()
        .expect("the z-base-32 alphabet is a valid 32-symbol specification")
});

/// A new random 26-character ID.
pub fn new_id() -> String {
    let uuid = uuid::Uuid::new_v4();
    let mut encoded = ENCODING.encode(uuid.as_bytes());
    encoded.truncate(ID_LENGTH);
    encoded
}

/// A new ID for a cluster: like [`new_id`], but never starting with a digit.
pub fn new_cluster_id() -> String {
    let id = new_id();
    match id.chars().next() {
        Some(first) if first.is_ascii_digit() => {
            let letter = char::from(b'a' + rand::rng().random_range(0..26u8));
            format!("{letter}{}", &id[1..])
        }
        _ => id,
    }
}

/// Whether `s` has the shape of an ID as the original's router accepts it:
/// exactly 26 ASCII letters or digits.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == ID_LENGTH && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_26_chars_from_the_alphabet() {
        for _ in 0..1000 {
            let id = new_id();
            assert_eq!(id.len(), ID_LENGTH);
            assert!(id.chars().all(|c| ALPHABET.contains(c)), "{id}");
            assert!(is_valid_id(&id));
        }
    }

    #[test]
    fn cluster_ids_start_with_a_letter() {
        for _ in 0..2000 {
            let id = new_cluster_id();
            assert_eq!(id.len(), ID_LENGTH);
            assert!(id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
            assert!(is_valid_id(&id));
        }
    }

    #[test]
    fn the_readme_sample_id_is_valid() {
        assert!(is_valid_id("tetw1yt3yinjdbhctsstcrybch"));
        assert!(!is_valid_id("tetw1yt3yinjdbhctsstcrybc"));
        assert!(!is_valid_id("tetw1yt3yinjdbhctsstcrybc-"));
    }

    proptest! {
        #[test]
        fn encoding_is_a_prefix_of_the_full_base32(bytes in proptest::array::uniform16(any::<u8>())) {
            let full = ENCODING.encode(&bytes);
            prop_assert_eq!(full.len(), 26);
            // 128 bits / 5 = 25.6 symbols: the 26th carries the last 3 bits, padded with zeros.
            let decoded = ENCODING.decode(full.as_bytes()).unwrap();
            prop_assert_eq!(decoded, bytes.to_vec());
        }

        #[test]
        fn shape_check_rejects_other_lengths(s in "[a-z0-9]{0,40}") {
            prop_assert_eq!(is_valid_id(&s), s.len() == 26);
        }
    }
}
