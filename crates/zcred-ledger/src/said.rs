//! Version strings and self-addressing identifiers (keri.md §1–§2).

use serde_json::{Map, Value};

use crate::cesr;

/// The 44-character placeholder a saidive field holds while its SAID is computed.
pub const DUMMY: &str = "############################################";

/// The protocol named in a version string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// `KERI`: key and transaction event logs.
    Keri,
    /// `ACDC`: credentials.
    Acdc,
}

impl Proto {
    fn as_str(self) -> &'static str {
        match self {
            Proto::Keri => "KERI",
            Proto::Acdc => "ACDC",
        }
    }
}

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// Not of the form `PPPPvvKKKKssssss_` (17 characters).
    #[error("version string {0:?} is not of the form KERI10JSON000000_")]
    Form(String),
    /// A protocol other than KERI or ACDC.
    #[error("version string names protocol {0:?}; only KERI and ACDC are supported")]
    Proto(String),
    /// A version other than 1.0.
    #[error("version string names version {0}; only 1.0 is supported")]
    Version(String),
    /// A serialization other than JSON.
    #[error("version string names serialization {0:?}; only JSON is supported")]
    Kind(String),
}

/// The v1 version string: `KERI10JSON` + 6 lowercase hex digits of size + `_`.
pub fn version_string(proto: Proto, size: usize) -> String {
    format!("{}10JSON{:06x}_", proto.as_str(), size)
}

/// Parses a v1 version string into its protocol and declared size.
pub fn parse_version(v: &str) -> Result<(Proto, usize), VersionError> {
    let b = v.as_bytes();
    let hex_ok = |s: &[u8]| {
        s.iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    };
    if b.len() != 17 || b[16] != b'_' || !hex_ok(&b[4..6]) || !hex_ok(&b[10..16]) {
        return Err(VersionError::Form(v.to_owned()));
    }
    let proto = match &v[..4] {
        "KERI" => Proto::Keri,
        "ACDC" => Proto::Acdc,
        other => return Err(VersionError::Proto(other.to_owned())),
    };
    if &v[4..6] != "10" {
        return Err(VersionError::Version(format!("{}.{}", &v[4..5], &v[5..6])));
    }
    if &v[6..10] != "JSON" {
        return Err(VersionError::Kind(v[6..10].to_owned()));
    }
    let size = usize::from_str_radix(&v[10..16], 16).map_err(|_| VersionError::Form(v.into()))?;
    Ok((proto, size))
}

/// Compact JSON in member order, UTF-8 without `\u` escapes (keripy's `ensure_ascii=False`).
pub fn serialize(map: &Map<String, Value>) -> Vec<u8> {
    // Serializing a map of JSON values cannot fail.
    serde_json::to_vec(map).unwrap_or_default()
}

/// Computes the SAID of `map` over `labels` (every label gets the same SAID) and writes it in,
/// with the version string's size when `proto` is given. Returns the SAID and the final bytes.
///
/// The caller guarantees that every label is a member of `map`.
pub fn saidify(
    map: &mut Map<String, Value>,
    labels: &[&str],
    proto: Option<Proto>,
) -> (String, Vec<u8>) {
    for label in labels {
        map.insert((*label).to_owned(), Value::String(DUMMY.to_owned()));
    }
    if let Some(proto) = proto {
        map.insert("v".into(), Value::String(version_string(proto, 0)));
        let size = serialize(map).len();
        map.insert("v".into(), Value::String(version_string(proto, size)));
    }
    let said = cesr::digest(&serialize(map));
    for label in labels {
        map.insert((*label).to_owned(), Value::String(said.clone()));
    }
    let raw = serialize(map);
    (said, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_strings() {
        assert_eq!(version_string(Proto::Keri, 0xfd), "KERI10JSON0000fd_");
        assert_eq!(parse_version("ACDC10JSON000195_"), Ok((Proto::Acdc, 0x195)));
        assert!(matches!(
            parse_version("KERI10JSON0000FD_"),
            Err(VersionError::Form(_))
        ));
        assert!(matches!(
            parse_version("KERI20JSON0000fd_"),
            Err(VersionError::Version(_))
        ));
        assert!(matches!(
            parse_version("KERI10CBOR0000fd_"),
            Err(VersionError::Kind(_))
        ));
        assert!(matches!(
            parse_version("XXXX10JSON0000fd_"),
            Err(VersionError::Proto(_))
        ));
    }

    #[test]
    fn serialization_is_compact_and_unescaped() {
        let map: Map<String, Value> =
            serde_json::from_str(r#"{ "b": "é\n", "a": [1, {"z": true}] }"#).unwrap();
        assert_eq!(
            String::from_utf8(serialize(&map)).unwrap(),
            "{\"b\":\"é\\n\",\"a\":[1,{\"z\":true}]}"
        );
    }
}
