//! BBS+ secret keys from a seed text (api.md §10.0a, OP-2).
//!
//! The text is one of:
//!
//! * a BIP-39 mnemonic in English: it contains a space, its words are separated by single spaces,
//!   its word count (12, 15, 18, 21 or 24), its words and its checksum are checked. The input
//!   keying material (IKM) is the BIP-39 seed with an empty passphrase: PBKDF2-HMAC-SHA512, 2048
//!   rounds, salt `"mnemonic"`, 64 bytes;
//! * otherwise hex (either case) or standard base64 with padding of at least
//!   [`SEED_MIN_BYTES`] bytes, which are the IKM. Hex is tried first, so a text that is both
//!   (e.g. 64 hex digits) is read as hex.
//!
//! The text has 1 to [`SEED_TEXT_MAX`] characters. The key is MATTR's `gen_sk` of the IKM
//! ([`SecretKey::from_seed`]). Every intermediate secret is zeroized on drop, and no error
//! message quotes the text or any word of it.

use bip39::{Language, Mnemonic};
use zeroize::Zeroizing;

use super::SecretKey;
use crate::multibase;

/// The longest seed text accepted, in characters.
pub const SEED_TEXT_MAX: usize = 1024;
/// The fewest bytes a hex or base64 seed must decode to.
pub const SEED_MIN_BYTES: usize = 32;

/// Why a seed text was refused. The messages name the rule that failed and never the seed or a
/// word of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The text is empty.
    #[error("the seed is empty")]
    Empty,
    /// The text has more than [`SEED_TEXT_MAX`] characters.
    #[error("the seed is longer than {SEED_TEXT_MAX} characters")]
    TooLong,
    /// A mnemonic with leading, trailing or repeated spaces, or with other white space.
    #[error("the words of the mnemonic must be separated by single spaces")]
    Spacing,
    /// A mnemonic with a word count BIP-39 does not define.
    #[error("the mnemonic has {0} words; BIP-39 needs 12, 15, 18, 21 or 24")]
    WordCount(usize),
    /// A word (1-based position) that is not in the English BIP-39 list.
    #[error("word {0} of the mnemonic is not in the English BIP-39 list")]
    UnknownWord(usize),
    /// The mnemonic's checksum bits do not match its entropy.
    #[error("the mnemonic's checksum does not match")]
    Checksum,
    /// Not a mnemonic, and neither hex nor standard base64.
    #[error("the seed is neither hex nor base64")]
    Encoding,
    /// Hex or base64 of fewer than [`SEED_MIN_BYTES`] bytes (the count found).
    #[error("the seed must be at least {SEED_MIN_BYTES} bytes, found {0}")]
    TooShort(usize),
    /// The key derivation gave zero (negligible probability; not the caller's fault).
    #[error("the seed does not give a valid BBS+ key")]
    KeyGen,
}

/// The BIP-39 seed (64 bytes) of an English `mnemonic` under `passphrase` (NFKD-normalised as
/// BIP-39 requires): PBKDF2-HMAC-SHA512, 2048 rounds, salt `"mnemonic" ‖ passphrase`. The
/// mnemonic's words must be separated by single spaces; word count, words and checksum are
/// checked. zcred derives keys with the empty passphrase ([`SecretKey::from_seed_text`]).
pub fn mnemonic_seed(mnemonic: &str, passphrase: &str) -> Result<Zeroizing<[u8; 64]>, SeedError> {
    if mnemonic.is_empty() {
        return Err(SeedError::Empty);
    }
    if mnemonic.split(' ').any(str::is_empty)
        || mnemonic.contains(|c: char| c.is_whitespace() && c != ' ')
    {
        return Err(SeedError::Spacing);
    }
    let words = mnemonic.split(' ').count();
    if !matches!(words, 12 | 15 | 18 | 21 | 24) {
        return Err(SeedError::WordCount(words));
    }
    // `Mnemonic` zeroizes its word indices on drop (bip39's `zeroize` feature).
    let parsed =
        Mnemonic::parse_in_normalized(Language::English, mnemonic).map_err(|e| match e {
            bip39::Error::BadWordCount(n) => SeedError::WordCount(n),
            bip39::Error::UnknownWord(i) => SeedError::UnknownWord(i + 1),
            _ => SeedError::Checksum,
        })?;
    Ok(Zeroizing::new(parsed.to_seed(passphrase)))
}

/// The input keying material of a seed text (module docs).
fn seed_ikm(text: &str) -> Result<Zeroizing<Vec<u8>>, SeedError> {
    if text.is_empty() {
        return Err(SeedError::Empty);
    }
    if text.chars().count() > SEED_TEXT_MAX {
        return Err(SeedError::TooLong);
    }
    if text.contains(' ') {
        let seed = mnemonic_seed(text, "")?;
        return Ok(Zeroizing::new(seed.to_vec()));
    }
    let bytes = match hex::decode(text) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(_) => Zeroizing::new(multibase::from_base64(text).map_err(|_| SeedError::Encoding)?),
    };
    if bytes.len() < SEED_MIN_BYTES {
        return Err(SeedError::TooShort(bytes.len()));
    }
    Ok(bytes)
}

impl SecretKey {
    /// The key of a seed text (api.md OP-2): a BIP-39 English mnemonic (its BIP-39 seed with an
    /// empty passphrase), or hex or base64 of at least 32 bytes; then MATTR's `gen_sk`
    /// ([`SecretKey::from_seed`]). The text has 1 to [`SEED_TEXT_MAX`] characters; one that
    /// contains a space is read as a mnemonic (words separated by single spaces); hex is tried
    /// before base64. Intermediate secrets are zeroized; errors never quote the text.
    pub fn from_seed_text(text: &str) -> Result<SecretKey, SeedError> {
        let ikm = seed_ikm(text)?;
        SecretKey::from_seed(&ikm).map_err(|_| SeedError::KeyGen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MNEMONIC: &str =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    /// The published BIP-39 seed of [`MNEMONIC`] with the empty passphrase.
    const MNEMONIC_SEED: &str = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4";

    fn key_bytes(text: &str) -> [u8; 32] {
        match SecretKey::from_seed_text(text) {
            Ok(key) => *key.to_bytes(),
            Err(e) => panic!("refused: {e}"),
        }
    }

    fn refusal(text: &str) -> SeedError {
        match SecretKey::from_seed_text(text) {
            Ok(_) => panic!("accepted a bad seed"),
            Err(e) => e,
        }
    }

    #[test]
    fn hex_base64_and_raw_bytes_give_the_same_key() {
        let raw: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        let expected = match SecretKey::from_seed(&raw) {
            Ok(key) => *key.to_bytes(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(key_bytes(&hex::encode(&raw)), expected);
        assert_eq!(key_bytes(&hex::encode_upper(&raw)), expected);
        assert_eq!(key_bytes(&multibase::base64(&raw)), expected);
        // Exactly 32 bytes is enough.
        assert_eq!(
            key_bytes(&hex::encode(&raw[..32])),
            match SecretKey::from_seed(&raw[..32]) {
                Ok(key) => *key.to_bytes(),
                Err(e) => panic!("{e}"),
            }
        );
    }

    #[test]
    fn a_mnemonic_uses_its_bip39_seed_with_an_empty_passphrase() {
        let seed = match mnemonic_seed(MNEMONIC, "") {
            Ok(seed) => seed,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(hex::encode(seed.as_ref()), MNEMONIC_SEED);
        // The mnemonic's key is the key of its BIP-39 seed given as hex.
        assert_eq!(key_bytes(MNEMONIC), key_bytes(MNEMONIC_SEED));
    }

    #[test]
    fn bad_seeds_are_refused_without_quoting_them() {
        let eleven = MNEMONIC.rsplit_once(' ').map_or("", |(head, _)| head);
        let unknown = MNEMONIC.replacen("abandon", "zcredword", 1);
        let checksum = MNEMONIC.replace("about", "abandon");
        let long_mnemonic = format!("{MNEMONIC} {MNEMONIC} {MNEMONIC} {MNEMONIC} {MNEMONIC}");
        let too_long = "ab".repeat(513);
        let cases: Vec<(String, SeedError, &str)> = vec![
            (String::new(), SeedError::Empty, "the seed is empty"),
            (
                eleven.to_owned(),
                SeedError::WordCount(11),
                "the mnemonic has 11 words; BIP-39 needs 12, 15, 18, 21 or 24",
            ),
            (long_mnemonic, SeedError::WordCount(60), "has 60 words"),
            (
                unknown,
                SeedError::UnknownWord(1),
                "word 1 of the mnemonic is not in the English BIP-39 list",
            ),
            (
                MNEMONIC.replacen("abandon abandon abandon", "abandon abandon Abandon", 1),
                SeedError::UnknownWord(3),
                "word 3 of the mnemonic",
            ),
            (
                checksum,
                SeedError::Checksum,
                "the mnemonic's checksum does not match",
            ),
            (
                MNEMONIC.replacen(' ', "  ", 1),
                SeedError::Spacing,
                "single spaces",
            ),
            (format!(" {MNEMONIC}"), SeedError::Spacing, "single spaces"),
            (format!("{MNEMONIC} "), SeedError::Spacing, "single spaces"),
            (
                MNEMONIC.replacen(' ', "\t", 1),
                SeedError::Spacing,
                "single spaces",
            ),
            (
                "not-hex-nor-base64!".to_owned(),
                SeedError::Encoding,
                "the seed is neither hex nor base64",
            ),
            (
                "00ff".to_owned(),
                SeedError::TooShort(2),
                "the seed must be at least 32 bytes, found 2",
            ),
            (
                multibase::base64(&[9u8; 31]),
                SeedError::TooShort(31),
                "found 31",
            ),
            (
                too_long,
                SeedError::TooLong,
                "the seed is longer than 1024 characters",
            ),
        ];
        for (text, error, message) in cases {
            assert_eq!(refusal(&text), error, "{error}");
            let shown = format!("{error} {error:?}");
            assert!(shown.contains(message), "{shown}");
            if !text.is_empty() {
                assert!(!shown.contains(text.as_str()), "{shown}");
            }
            for word in text.split_whitespace().filter(|w| w.len() > 2) {
                assert!(!shown.contains(word), "{shown} quotes {word}");
            }
        }
        // 1024 characters are still accepted (the mnemonic branch is not taken without a space).
        assert!(SecretKey::from_seed_text(&"ab".repeat(512)).is_ok());
    }
}
