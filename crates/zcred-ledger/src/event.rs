//! KERI 1.0 JSON events: the KEL (`icp rot ixn dip drt rct`) and TEL (`vcp vrt iss rev bis brv`)
//! messages of keri.md §5–§6, parsed strictly and built byte-for-byte as keripy v1.2 does.
//!
//! **Invariant**: an [`Event`] holds the exact bytes it was parsed from (or built as), and those
//! bytes are the canonical serialization of its fields in the ilk's field order, with a size in
//! the version string equal to their length and SAIDs that recompute. [`Event::parse`] refuses
//! anything else with an [`EventError`].

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cesr::{self, Code, Matter};
use crate::said::{self, Proto, VersionError};

/// Why event bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not JSON.
    #[error("event is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not an object whose first member is the version string `v`.
    #[error("event is not a JSON object starting with its version string \"v\"")]
    NotObject,
    /// The version string is malformed or names something unsupported.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The size in the version string is not the length of the bytes.
    #[error("version string declares {declared} bytes but the event has {actual}")]
    Size {
        /// Size in the version string.
        declared: usize,
        /// Actual length.
        actual: usize,
    },
    /// A KERI event where an ACDC was expected, or the reverse.
    #[error("expected a {expected} message, found {found}")]
    Proto {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// The `t` member names no event type this implementation knows.
    #[error("unknown event type (ilk) {0:?}")]
    UnknownIlk(String),
    /// Extra, missing or reordered members.
    #[error("{ilk} must have the fields [{expected}] in this order, found [{found}]")]
    Fields {
        /// The event type.
        ilk: String,
        /// The required fields, space-separated.
        expected: String,
        /// The fields found, space-separated.
        found: String,
    },
    /// A member has the wrong type, size or form.
    #[error("{ilk}: {reason}")]
    Value {
        /// The event type.
        ilk: String,
        /// What is wrong.
        reason: String,
    },
    /// A SAID does not recompute.
    #[error("{label} is {declared} but the SAID of the event is {computed}")]
    Said {
        /// The saidive field.
        label: String,
        /// The SAID the event carries.
        declared: String,
        /// The SAID recomputed from its content.
        computed: String,
    },
    /// The bytes are not the canonical serialization of their own fields (white space,
    /// escapes, duplicate members or nested member order differ from keripy's).
    #[error("event bytes are not in canonical form (compact JSON in field order)")]
    NotCanonical,
}

/// Declares a string newtype whose text must be one qb64 primitive of the given codes.
macro_rules! qb64_type {
    ($(#[$doc:meta])* $name:ident, [$($code:expr),+], $expected:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses qb64 text.
            pub fn parse(text: &str) -> Result<Self, cesr::CesrError> {
                Matter::parse_as(text, &[$($code),+], $expected)?;
                Ok(Self(text.to_owned()))
            }

            /// The qb64 text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text).map_err(|e| format!("{text:?} is not {}: {e}", $expected))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

qb64_type!(
    /// An identifier prefix: a basic key prefix (`B…`, `D…`) or a self-addressing one (`E…`).
    Prefix,
    [Code::Ed25519N, Code::Ed25519, Code::Blake3_256],
    "an identifier prefix (B, D or E)"
);
qb64_type!(
    /// A Blake3-256 digest: a SAID, a next-key digest, a registry or credential identifier.
    Said,
    [Code::Blake3_256],
    "a Blake3-256 digest (E…)"
);
qb64_type!(
    /// An Ed25519 public key in an event's key list (`D…` transferable, `B…` not).
    Key,
    [Code::Ed25519, Code::Ed25519N],
    "an Ed25519 public key (B or D)"
);
qb64_type!(
    /// A 128-bit salt (`0A…`), the nonce of a registry inception.
    Nonce,
    [Code::Salt128],
    "a 128-bit nonce (0A…)"
);

impl Prefix {
    /// A prefix is transferable unless it is a non-transferable basic prefix (`B…`).
    pub fn is_transferable(&self) -> bool {
        !self.0.starts_with('B')
    }

    /// A self-addressing prefix (`E…`) derived from the SAID of its inception.
    pub fn is_self_addressing(&self) -> bool {
        self.0.starts_with('E')
    }
}

impl From<Said> for Prefix {
    fn from(s: Said) -> Prefix {
        Prefix(s.0)
    }
}

impl From<Key> for Prefix {
    fn from(k: Key) -> Prefix {
        Prefix(k.0)
    }
}

impl Said {
    /// The Blake3-256 digest of `data`.
    pub fn digest(data: &[u8]) -> Said {
        Said(cesr::digest(data))
    }
}

impl Key {
    /// The qb64 of an Ed25519 key.
    pub fn new(key: &zcred_crypto::zetrix::VerifyingKey, transferable: bool) -> Key {
        Key(cesr::encode_key(key, transferable))
    }

    /// The Ed25519 key it encodes.
    pub fn verifying_key(&self) -> Result<zcred_crypto::zetrix::VerifyingKey, cesr::CesrError> {
        cesr::decode_key(&self.0)
    }

    /// The next-key digest of this key: Blake3-256 over its qb64 text (keri.md §3).
    pub fn next_digest(&self) -> Said {
        Said::digest(self.0.as_bytes())
    }
}

impl Nonce {
    /// A nonce from 16 random bytes.
    pub fn from_bytes(raw: &[u8; 16]) -> Nonce {
        Nonce(cesr::encode(Code::Salt128, raw))
    }
}

/// A sequence number or threshold: lowercase hex with no leading zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "String")]
pub struct Hex(pub u64);

impl TryFrom<Value> for Hex {
    type Error = String;
    fn try_from(v: Value) -> Result<Hex, String> {
        let text = match v {
            Value::String(s) => s,
            Value::Array(_) => {
                return Err("weighted (fractional) thresholds are not supported".into())
            }
            other => return Err(format!("{other} is not a hex string")),
        };
        let ok = !text.is_empty()
            && text.len() <= 16
            && text
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            && (text == "0" || !text.starts_with('0'));
        if !ok {
            return Err(format!(
                "{text:?} is not lowercase hex without leading zeros"
            ));
        }
        u64::from_str_radix(&text, 16)
            .map(Hex)
            .map_err(|_| format!("{text:?} is out of range"))
    }
}

impl From<Hex> for String {
    fn from(h: Hex) -> String {
        format!("{:x}", h.0)
    }
}

/// An ISO-8601 date-time in keripy's form `2021-01-01T00:00:00.000000+00:00`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DateTime(String);

const DT_FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
);

impl DateTime {
    /// The keripy form of a UTC time (microseconds; the offset written as `+00:00`).
    pub fn from_time(t: time::OffsetDateTime) -> DateTime {
        let utc = t.to_offset(time::UtcOffset::UTC);
        // Formatting a valid date with a fixed description cannot fail for years 0..=9999.
        DateTime(utc.format(DT_FORMAT).unwrap_or_default())
    }

    /// The time it names (checked when the value was made, so this does not fail).
    pub fn to_time(&self) -> Option<time::OffsetDateTime> {
        time::PrimitiveDateTime::parse(&self.0, DT_FORMAT)
            .ok()
            .map(|p| p.assume_utc())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DateTime {
    type Error = String;
    fn try_from(text: String) -> Result<DateTime, String> {
        // Exactly keripy's form: 32 characters, a four-digit year with no sign.
        let plain_year = text.len() == 32 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit);
        time::PrimitiveDateTime::parse(&text, DT_FORMAT)
            .ok()
            .filter(|_| plain_year)
            .map(|_| DateTime(text.clone()))
            .ok_or_else(|| {
                format!("{text:?} is not a date-time of the form 2021-01-01T00:00:00.000000+00:00")
            })
    }
}

impl From<DateTime> for String {
    fn from(d: DateTime) -> String {
        d.0
    }
}

/// An event seal `{i, s, d}`: names one event of a KEL or TEL.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSeal {
    /// The prefix (or TEL identifier) of the log.
    pub i: Prefix,
    /// The event's sequence number.
    pub s: Hex,
    /// The event's SAID.
    pub d: Said,
}

impl EventSeal {
    /// The seal as the JSON object an `a` list carries.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("i".into(), Value::String(self.i.to_string()));
        m.insert("s".into(), Value::String(String::from(self.s)));
        m.insert("d".into(), Value::String(self.d.to_string()));
        m
    }

    /// Reads an `{i, s, d}` seal (exactly those members, in that order) from an anchor entry.
    pub fn from_map(m: &Map<String, Value>) -> Option<EventSeal> {
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        if keys != ["i", "s", "d"] {
            return None;
        }
        serde_json::from_value(Value::Object(m.clone())).ok()
    }
}

/// The event types (ilks) of keri.md §5–§6.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Ilk {
    Icp,
    Rot,
    Ixn,
    Dip,
    Drt,
    Rct,
    Vcp,
    Vrt,
    Iss,
    Rev,
    Bis,
    Brv,
}

impl Ilk {
    const ALL: [Ilk; 12] = [
        Ilk::Icp,
        Ilk::Rot,
        Ilk::Ixn,
        Ilk::Dip,
        Ilk::Drt,
        Ilk::Rct,
        Ilk::Vcp,
        Ilk::Vrt,
        Ilk::Iss,
        Ilk::Rev,
        Ilk::Bis,
        Ilk::Brv,
    ];

    /// The three-letter name.
    pub fn as_str(self) -> &'static str {
        match self {
            Ilk::Icp => "icp",
            Ilk::Rot => "rot",
            Ilk::Ixn => "ixn",
            Ilk::Dip => "dip",
            Ilk::Drt => "drt",
            Ilk::Rct => "rct",
            Ilk::Vcp => "vcp",
            Ilk::Vrt => "vrt",
            Ilk::Iss => "iss",
            Ilk::Rev => "rev",
            Ilk::Bis => "bis",
            Ilk::Brv => "brv",
        }
    }

    /// Parses the three-letter name.
    pub fn parse(text: &str) -> Option<Ilk> {
        Ilk::ALL.into_iter().find(|i| i.as_str() == text)
    }

    /// The fields of this ilk, in order (keri.md §5–§6).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Ilk::Icp => &[
                "v", "t", "d", "i", "s", "kt", "k", "nt", "n", "bt", "b", "c", "a",
            ],
            Ilk::Dip => &[
                "v", "t", "d", "i", "s", "kt", "k", "nt", "n", "bt", "b", "c", "a", "di",
            ],
            Ilk::Rot | Ilk::Drt => &[
                "v", "t", "d", "i", "s", "p", "kt", "k", "nt", "n", "bt", "br", "ba", "a",
            ],
            Ilk::Ixn => &["v", "t", "d", "i", "s", "p", "a"],
            Ilk::Rct => &["v", "t", "d", "i", "s"],
            Ilk::Vcp => &["v", "t", "d", "i", "ii", "s", "c", "bt", "b", "n"],
            Ilk::Vrt => &["v", "t", "d", "i", "p", "s", "bt", "br", "ba"],
            Ilk::Iss => &["v", "t", "d", "i", "s", "ri", "dt"],
            Ilk::Rev => &["v", "t", "d", "i", "s", "ri", "p", "dt"],
            Ilk::Bis => &["v", "t", "d", "i", "ii", "s", "ra", "dt"],
            Ilk::Brv => &["v", "t", "d", "i", "s", "p", "ra", "dt"],
        }
    }

    /// True for the transaction (credential registry) events.
    pub fn is_tel(self) -> bool {
        matches!(
            self,
            Ilk::Vcp | Ilk::Vrt | Ilk::Iss | Ilk::Rev | Ilk::Bis | Ilk::Brv
        )
    }

    /// True for establishment events (those that set keys).
    pub fn is_establishment(self) -> bool {
        matches!(self, Ilk::Icp | Ilk::Dip | Ilk::Rot | Ilk::Drt)
    }
}

impl fmt::Display for Ilk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `icp` and `dip`: inception (`di` is present exactly for `dip`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Inception {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
    pub kt: Hex,
    pub k: Vec<Key>,
    pub nt: Hex,
    pub n: Vec<Said>,
    pub bt: Hex,
    pub b: Vec<Prefix>,
    pub c: Vec<String>,
    pub a: Vec<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub di: Option<Prefix>,
}

/// `rot` and `drt`: rotation.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Rotation {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
    pub p: Said,
    pub kt: Hex,
    pub k: Vec<Key>,
    pub nt: Hex,
    pub n: Vec<Said>,
    pub bt: Hex,
    pub br: Vec<Prefix>,
    pub ba: Vec<Prefix>,
    pub a: Vec<Map<String, Value>>,
}

/// `ixn`: interaction (anchors seals).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Interaction {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
    pub p: Said,
    pub a: Vec<Map<String, Value>>,
}

/// `rct`: a receipt of the event `d` at (`i`, `s`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Receipt {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
}

/// `vcp`: registry inception. `i` (the registry id) equals `d`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RegistryInception {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Said,
    pub ii: Prefix,
    pub s: Hex,
    pub c: Vec<String>,
    pub bt: Hex,
    pub b: Vec<Prefix>,
    pub n: Nonce,
}

/// `vrt`: registry rotation of backers (`p` before `s`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RegistryRotation {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Said,
    pub p: Said,
    pub s: Hex,
    pub bt: Hex,
    pub br: Vec<Prefix>,
    pub ba: Vec<Prefix>,
}

/// `iss`: issuance in a backerless registry. `i` is the credential's SAID (keripy's tests
/// also use other prefix codes there, so any prefix code is accepted).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Issuance {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
    pub ri: Prefix,
    pub dt: DateTime,
}

/// `rev`: revocation in a backerless registry; `p` is the SAID of the `iss`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Revocation {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
    pub ri: Prefix,
    pub p: Said,
    pub dt: DateTime,
}

/// `bis`: issuance in a registry with backers; `ii` is the registry id, `ra` the seal of the
/// management event that fixes the backers.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BackerIssuance {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub ii: Prefix,
    pub s: Hex,
    pub ra: EventSeal,
    pub dt: DateTime,
}

/// `brv`: revocation in a registry with backers.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BackerRevocation {
    pub v: String,
    pub t: Ilk,
    pub d: Said,
    pub i: Prefix,
    pub s: Hex,
    pub p: Said,
    pub ra: EventSeal,
    pub dt: DateTime,
}

/// The fields of an event, by layout.
#[derive(Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Body {
    Inception(Inception),
    Rotation(Rotation),
    Interaction(Interaction),
    Receipt(Receipt),
    RegistryInception(RegistryInception),
    RegistryRotation(RegistryRotation),
    Issuance(Issuance),
    Revocation(Revocation),
    BackerIssuance(BackerIssuance),
    BackerRevocation(BackerRevocation),
}

/// A parsed (or built) KEL or TEL event with its exact bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    raw: Vec<u8>,
    ilk: Ilk,
    body: Body,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("raw", &String::from_utf8_lossy(&self.raw))
            .finish()
    }
}

fn value_error(ilk: Ilk, e: impl fmt::Display) -> EventError {
    EventError::Value {
        ilk: ilk.as_str().to_owned(),
        reason: e.to_string(),
    }
}

/// The labels that hold an event's SAID (keri.md §1): `d`; also `i` for a registry inception
/// and for an inception whose prefix is self-addressing (`E…`, or the `#` placeholder while it
/// is built); none for a receipt, whose `d` is the receipted event's.
pub fn saidive_labels(ilk: Ilk, prefix: &str) -> &'static [&'static str] {
    match ilk {
        Ilk::Rct => &[],
        Ilk::Vcp => &["d", "i"],
        Ilk::Icp | Ilk::Dip if prefix.starts_with(['E', '#']) => &["d", "i"],
        _ => &["d"],
    }
}

/// Finds the first entry that appears twice in a list.
pub(crate) fn first_duplicate<T: std::hash::Hash + Eq>(items: &[T]) -> Option<&T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.iter().find(|x| !seen.insert(*x))
}

/// Rules of each event type that need no other event: sequence numbers fixed by the type, and
/// no repeated keys, digests or witnesses (a repeated key would let one key holder fill two
/// places of a threshold).
fn check_rules(event: &Event) -> Result<(), EventError> {
    let ilk = event.ilk;
    let fail = |reason: String| Err(value_error(ilk, reason));
    let sn = event.sn();
    let fixed = match ilk {
        Ilk::Icp | Ilk::Dip | Ilk::Vcp | Ilk::Iss | Ilk::Bis => Some(0),
        Ilk::Rev | Ilk::Brv => Some(1),
        Ilk::Rot | Ilk::Drt | Ilk::Ixn | Ilk::Vrt => None,
        Ilk::Rct => return Ok(()),
    };
    match fixed {
        Some(required) if sn != required => {
            return fail(format!("s must be {required:x} in a {ilk}, found {sn:x}"))
        }
        None if sn == 0 => return fail(format!("s must be at least 1 in a {ilk}")),
        _ => {}
    }
    let lists: Vec<(&str, Vec<&str>)> = match &event.body {
        Body::Inception(e) => vec![
            ("k", e.k.iter().map(Key::as_str).collect()),
            ("n", e.n.iter().map(Said::as_str).collect()),
            ("b", e.b.iter().map(Prefix::as_str).collect()),
        ],
        Body::Rotation(e) => vec![
            ("k", e.k.iter().map(Key::as_str).collect()),
            ("n", e.n.iter().map(Said::as_str).collect()),
            ("br", e.br.iter().map(Prefix::as_str).collect()),
            ("ba", e.ba.iter().map(Prefix::as_str).collect()),
        ],
        Body::RegistryInception(e) => vec![("b", e.b.iter().map(Prefix::as_str).collect())],
        Body::RegistryRotation(e) => vec![
            ("br", e.br.iter().map(Prefix::as_str).collect()),
            ("ba", e.ba.iter().map(Prefix::as_str).collect()),
        ],
        _ => vec![],
    };
    for (name, list) in lists {
        if let Some(dup) = first_duplicate(&list) {
            return fail(format!("{name} lists {dup} twice"));
        }
    }
    Ok(())
}

/// Checks that `map`'s members are exactly `expected`, in order.
pub(crate) fn check_fields(
    what: &str,
    expected: &[&str],
    map: &Map<String, Value>,
) -> Result<(), EventError> {
    if map.keys().map(String::as_str).eq(expected.iter().copied()) {
        Ok(())
    } else {
        Err(EventError::Fields {
            ilk: what.to_owned(),
            expected: expected.join(" "),
            found: map.keys().map(String::as_str).collect::<Vec<_>>().join(" "),
        })
    }
}

/// Reads the version string of a JSON object's bytes, returning the map, protocol and size.
pub(crate) fn read_versioned(raw: &[u8]) -> Result<(Map<String, Value>, Proto), EventError> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| EventError::Json(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(EventError::NotObject);
    };
    let Some((first, Value::String(v))) = map.iter().next() else {
        return Err(EventError::NotObject);
    };
    if first != "v" {
        return Err(EventError::NotObject);
    }
    let (proto, size) = said::parse_version(v)?;
    if size != raw.len() {
        return Err(EventError::Size {
            declared: size,
            actual: raw.len(),
        });
    }
    Ok((map, proto))
}

/// Recomputes the SAID of `map` over `labels`, and checks that every label holds it and that
/// the bytes are canonical.
pub(crate) fn check_said(
    map: &Map<String, Value>,
    labels: &[&str],
    proto: Option<Proto>,
    raw: &[u8],
) -> Result<(), EventError> {
    let mut copy = map.clone();
    let (computed, canonical) = said::saidify(&mut copy, labels, proto);
    for label in labels {
        let declared = map.get(*label).and_then(Value::as_str).unwrap_or_default();
        if declared != computed {
            return Err(EventError::Said {
                label: (*label).to_owned(),
                declared: declared.to_owned(),
                computed,
            });
        }
    }
    if canonical != raw {
        return Err(EventError::NotCanonical);
    }
    Ok(())
}

impl Event {
    /// Parses and checks event bytes: version string and size, field list and order, every
    /// field's type and size, the SAID(s), and that the bytes are canonical.
    pub fn parse(raw: &[u8]) -> Result<Event, EventError> {
        let (map, proto) = read_versioned(raw)?;
        if proto != Proto::Keri {
            return Err(EventError::Proto {
                expected: "KERI",
                found: "ACDC",
            });
        }
        let t = map.get("t").and_then(Value::as_str).unwrap_or_default();
        let ilk = Ilk::parse(t).ok_or_else(|| EventError::UnknownIlk(t.to_owned()))?;
        check_fields(ilk.as_str(), ilk.fields(), &map)?;
        let value = Value::Object(map.clone());
        let body = match ilk {
            Ilk::Icp | Ilk::Dip => serde_json::from_value(value).map(Body::Inception),
            Ilk::Rot | Ilk::Drt => serde_json::from_value(value).map(Body::Rotation),
            Ilk::Ixn => serde_json::from_value(value).map(Body::Interaction),
            Ilk::Rct => serde_json::from_value(value).map(Body::Receipt),
            Ilk::Vcp => serde_json::from_value(value).map(Body::RegistryInception),
            Ilk::Vrt => serde_json::from_value(value).map(Body::RegistryRotation),
            Ilk::Iss => serde_json::from_value(value).map(Body::Issuance),
            Ilk::Rev => serde_json::from_value(value).map(Body::Revocation),
            Ilk::Bis => serde_json::from_value(value).map(Body::BackerIssuance),
            Ilk::Brv => serde_json::from_value(value).map(Body::BackerRevocation),
        }
        .map_err(|e| value_error(ilk, e))?;
        let event = Event {
            raw: raw.to_vec(),
            ilk,
            body,
        };
        check_rules(&event)?;
        check_said(&map, event.saidive_labels(), Some(Proto::Keri), raw)?;
        Ok(event)
    }

    /// Finishes a built event: computes its SAID(s) and size, then parses the result (so a built
    /// event passes exactly the checks a received one does).
    pub(crate) fn finish(
        mut map: Map<String, Value>,
        labels: &[&str],
    ) -> Result<Event, EventError> {
        let (_, raw) = said::saidify(&mut map, labels, Some(Proto::Keri));
        Event::parse(&raw)
    }

    /// The labels whose values are the event's SAID (keri.md §1).
    fn saidive_labels(&self) -> &'static [&'static str] {
        saidive_labels(self.ilk, self.prefix())
    }

    /// The exact bytes.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The event type.
    pub fn ilk(&self) -> Ilk {
        self.ilk
    }

    /// The fields.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The SAID (`d`); for a receipt, the SAID of the receipted event.
    pub fn said(&self) -> &Said {
        match &self.body {
            Body::Inception(e) => &e.d,
            Body::Rotation(e) => &e.d,
            Body::Interaction(e) => &e.d,
            Body::Receipt(e) => &e.d,
            Body::RegistryInception(e) => &e.d,
            Body::RegistryRotation(e) => &e.d,
            Body::Issuance(e) => &e.d,
            Body::Revocation(e) => &e.d,
            Body::BackerIssuance(e) => &e.d,
            Body::BackerRevocation(e) => &e.d,
        }
    }

    /// The log the event belongs to (`i`): an AID, a registry id or a credential SAID.
    pub fn prefix(&self) -> &str {
        match &self.body {
            Body::Inception(e) => e.i.as_str(),
            Body::Rotation(e) => e.i.as_str(),
            Body::Interaction(e) => e.i.as_str(),
            Body::Receipt(e) => e.i.as_str(),
            Body::RegistryInception(e) => e.i.as_str(),
            Body::RegistryRotation(e) => e.i.as_str(),
            Body::Issuance(e) => e.i.as_str(),
            Body::Revocation(e) => e.i.as_str(),
            Body::BackerIssuance(e) => e.i.as_str(),
            Body::BackerRevocation(e) => e.i.as_str(),
        }
    }

    /// The log the event is stored in: the prefix for KEL and registry events; for a
    /// credential's events `<registry id>/<credential SAID>`, because a credential's TEL lives
    /// in one registry and another registry's events for the same SAID are another log.
    pub fn log_id(&self) -> String {
        match &self.body {
            Body::Issuance(e) => format!("{}/{}", e.ri, e.i),
            Body::Revocation(e) => format!("{}/{}", e.ri, e.i),
            Body::BackerIssuance(e) => format!("{}/{}", e.ii, e.i),
            Body::BackerRevocation(e) => format!("{}/{}", e.ra.i, e.i),
            _ => self.prefix().to_owned(),
        }
    }

    /// The sequence number (`s`).
    pub fn sn(&self) -> u64 {
        let s = match &self.body {
            Body::Inception(e) => e.s,
            Body::Rotation(e) => e.s,
            Body::Interaction(e) => e.s,
            Body::Receipt(e) => e.s,
            Body::RegistryInception(e) => e.s,
            Body::RegistryRotation(e) => e.s,
            Body::Issuance(e) => e.s,
            Body::Revocation(e) => e.s,
            Body::BackerIssuance(e) => e.s,
            Body::BackerRevocation(e) => e.s,
        };
        s.0
    }

    /// The seal `{i, s, d}` that names this event.
    pub fn seal(&self) -> EventSeal {
        EventSeal {
            i: Prefix(self.prefix().to_owned()),
            s: Hex(self.sn()),
            d: self.said().clone(),
        }
    }

    /// The anchors (`a`) of a KEL event; empty for others.
    pub fn anchors(&self) -> &[Map<String, Value>] {
        match &self.body {
            Body::Inception(e) => &e.a,
            Body::Rotation(e) => &e.a,
            Body::Interaction(e) => &e.a,
            _ => &[],
        }
    }
}
