//! The Verifiable Credential as issued (api.md §2.10) and its BBS+ message list (api.md §2.6).
//!
//! A credential is kept as the JSON object it arrived as, with member order preserved, because
//! the order of `credentialSubject` members *is* the order of the BBS+ messages:
//!
//! **Invariant:** the message list is exactly the members of `credentialSubject` in their JSON
//! member order, flattened depth-first: `"<path>: <value>"` with dot-joined paths (`id` first in
//! every credential zcred issues). This is what Zetrix's service signs; alphabetical or template
//! order does not verify its credentials.
//!
//! Both date namings are read: VCDM 1.1 `issuanceDate`/`expirationDate` and VCDM 2.0
//! `validFrom`/`validUntil`. A signed credential is never renamed.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use zcred_crypto::bbs;

use crate::did::Did;

/// The member of a `BbsBlsSignature2020` proof entry that lists, in order, the attribute paths
/// whose values the signature also covers as integer messages (zcred extension, api.md OP-11).
/// Absent when there are none: such credentials are exactly Zetrix's.
pub const INTEGER_MESSAGES: &str = "integerMessages";

/// The first two `@context` entries of every credential zcred issues.
pub const BASE_CONTEXTS: [&str; 2] = [
    "https://www.w3.org/2018/credentials/v1",
    "https://w3id.org/security/bbs/v1",
];

/// Why a credential was refused as malformed (before any signature check).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The text is not JSON. (A member repeated in one object is not detected here: the last
    /// one is kept.)
    #[error("credential is not valid JSON: {0}")]
    Json(String),
    /// The credential is not a JSON object.
    #[error("credential must be a JSON object")]
    NotAnObject,
    /// A required member is absent.
    #[error("credential has no '{0}'")]
    Missing(&'static str),
    /// A member has the wrong type or an invalid value.
    #[error("credential member '{member}' is invalid: {reason}")]
    Invalid {
        /// JSON path of the member.
        member: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(member: impl Into<String>, reason: impl Into<String>) -> CredentialError {
    CredentialError::Invalid {
        member: member.into(),
        reason: reason.into(),
    }
}

/// A credential: a JSON object whose required members have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    json: Map<String, Value>,
    issuer: Did,
    holder: Did,
    valid_from: OffsetDateTime,
    valid_until: Option<OffsetDateTime>,
}

impl Credential {
    /// Parses JSON text, preserving member order.
    pub fn from_json(text: &str) -> Result<Self, CredentialError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| CredentialError::Json(e.to_string()))?;
        Self::from_value(value)
    }

    /// Checks a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, CredentialError> {
        let Value::Object(json) = value else {
            return Err(CredentialError::NotAnObject);
        };
        let issuer = match json.get("issuer") {
            Some(Value::String(s)) => {
                Did::parse(s).map_err(|e| invalid("issuer", e.to_string()))?
            }
            // VCDM also allows `{"id": …}`.
            Some(Value::Object(o)) => match o.get("id") {
                Some(Value::String(s)) => {
                    Did::parse(s).map_err(|e| invalid("issuer.id", e.to_string()))?
                }
                _ => return Err(CredentialError::Missing("issuer.id")),
            },
            Some(_) => return Err(invalid("issuer", "must be a DID string")),
            None => return Err(CredentialError::Missing("issuer")),
        };
        let subject = match json.get("credentialSubject") {
            Some(Value::Object(o)) => o,
            Some(_) => return Err(invalid("credentialSubject", "must be an object")),
            None => return Err(CredentialError::Missing("credentialSubject")),
        };
        let holder = match subject.get("id") {
            Some(Value::String(s)) => {
                Did::parse(s).map_err(|e| invalid("credentialSubject.id", e.to_string()))?
            }
            Some(_) => return Err(invalid("credentialSubject.id", "must be a DID string")),
            None => return Err(CredentialError::Missing("credentialSubject.id")),
        };
        let valid_from = date_member(&json, &["issuanceDate", "validFrom"])?
            .ok_or(CredentialError::Missing("issuanceDate"))?;
        let valid_until = date_member(&json, &["expirationDate", "validUntil"])?;
        if let Some(until) = valid_until {
            if until <= valid_from {
                return Err(invalid("expirationDate", "must be after issuanceDate"));
            }
        }
        match json.get("type") {
            Some(Value::Array(types)) if types.iter().all(Value::is_string) => {}
            Some(Value::String(_)) => {}
            Some(_) => return Err(invalid("type", "must be a string or an array of strings")),
            None => return Err(CredentialError::Missing("type")),
        }
        let credential = Self {
            json,
            issuer,
            holder,
            valid_from,
            valid_until,
        };
        credential.bbs_messages()?;
        Ok(credential)
    }

    /// The issuer DID.
    pub fn issuer(&self) -> &Did {
        &self.issuer
    }

    /// The holder DID (`credentialSubject.id`).
    pub fn holder(&self) -> &Did {
        &self.holder
    }

    /// The credential id, when present.
    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Value::as_str)
    }

    /// `issuanceDate` (or `validFrom`).
    pub fn valid_from(&self) -> OffsetDateTime {
        self.valid_from
    }

    /// `expirationDate` (or `validUntil`), when present.
    pub fn valid_until(&self) -> Option<OffsetDateTime> {
        self.valid_until
    }

    /// The whole credential as JSON.
    pub fn as_json(&self) -> &Map<String, Value> {
        &self.json
    }

    /// The credential without its `proof` member: what the issuer's JWS covers.
    pub fn unsigned(&self) -> Value {
        let mut json = self.json.clone();
        json.shift_remove("proof");
        Value::Object(json)
    }

    /// The proof entries (`proof` may be one object or an array).
    pub fn proofs(&self) -> Vec<&Map<String, Value>> {
        match self.json.get("proof") {
            Some(Value::Object(p)) => vec![p],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        }
    }

    /// The first proof entry whose `type` is one of `types`.
    pub fn proof_of_type(&self, types: &[&str]) -> Option<&Map<String, Value>> {
        self.proofs().into_iter().find(|p| {
            p.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| types.contains(&t))
        })
    }

    /// The BBS+ messages (api.md §2.6): `credentialSubject` flattened in member order.
    pub fn bbs_messages(&self) -> Result<Vec<String>, CredentialError> {
        subject_messages(self.subject())
    }

    /// `credentialSubject` (checked to be an object at parse time).
    pub fn subject(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.json
            .get("credentialSubject")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The paths listed by the BBS+ proof's [`INTEGER_MESSAGES`] member (empty when absent).
    pub fn integer_paths(&self) -> Result<Vec<String>, CredentialError> {
        let Some(proof) = self.proof_of_type(&["BbsBlsSignature2020"]) else {
            return Ok(Vec::new());
        };
        match proof.get(INTEGER_MESSAGES) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|p| {
                    p.as_str().map(str::to_owned).ok_or_else(|| {
                        invalid(
                            format!("proof.{INTEGER_MESSAGES}"),
                            "must be an array of attribute paths",
                        )
                    })
                })
                .collect(),
            Some(_) => Err(invalid(
                format!("proof.{INTEGER_MESSAGES}"),
                "must be an array of attribute paths",
            )),
        }
    }

    /// Every message the BBS+ signature covers: the api.md §2.6 messages, hashed, then one
    /// integer message per path of [`Self::integer_paths`].
    pub fn signed_messages(&self) -> Result<Vec<bbs::Message>, CredentialError> {
        signed_messages_of(&subject_entries(self.subject())?, &self.integer_paths()?)
    }
}

/// The api.md §2.6 messages of flattened entries (`"<path>: <value>"`), hashed.
pub fn hashed_messages(entries: &[(String, String)]) -> Vec<bbs::Message> {
    entries
        .iter()
        .map(|(path, text)| bbs::Message::hashed(format!("{path}: {text}").as_bytes()))
        .collect()
}

/// The integer messages of `paths` among flattened entries (api.md OP-11), in order.
pub fn integer_messages(
    entries: &[(String, String)],
    paths: &[String],
) -> Result<Vec<bbs::Message>, CredentialError> {
    paths
        .iter()
        .map(|path| integer_message_of(entries, path))
        .collect()
}

/// Every message a signature over `entries` covers: [`hashed_messages`], then
/// [`integer_messages`] of `integer_paths`.
pub fn signed_messages_of(
    entries: &[(String, String)],
    integer_paths: &[String],
) -> Result<Vec<bbs::Message>, CredentialError> {
    let mut out = hashed_messages(entries);
    out.extend(integer_messages(entries, integer_paths)?);
    Ok(out)
}

/// The integer message of `path` among flattened entries.
pub fn integer_message_of(
    entries: &[(String, String)],
    path: &str,
) -> Result<bbs::Message, CredentialError> {
    let (_, text) = entries.iter().find(|(p, _)| p == path).ok_or_else(|| {
        invalid(
            format!("proof.{INTEGER_MESSAGES}"),
            format!("'{path}' is not an attribute of credentialSubject"),
        )
    })?;
    let value = integer_value(text).ok_or_else(|| {
        invalid(
            format!("credentialSubject.{path}"),
            "a range-provable value must be an integer of 64 bits",
        )
    })?;
    Ok(bbs::integer_message(path, value))
}

/// The value of a range-provable attribute: `^-?[0-9]+$` within the signed 64-bit range.
pub fn integer_value(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Flattens a `credentialSubject` object into its BBS+ messages, in member order.
pub fn subject_messages(subject: &Map<String, Value>) -> Result<Vec<String>, CredentialError> {
    Ok(subject_entries(subject)?
        .into_iter()
        .map(|(path, text)| format!("{path}: {text}"))
        .collect())
}

/// Flattens a `credentialSubject` object into `(path, value text)` pairs, in member order.
pub fn subject_entries(
    subject: &Map<String, Value>,
) -> Result<Vec<(String, String)>, CredentialError> {
    let mut out = Vec::new();
    flatten("", subject, &mut out)?;
    Ok(out)
}

/// The dot-joined path of member `key` under `prefix` (`""` at the top).
pub fn child_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn flatten(
    prefix: &str,
    object: &Map<String, Value>,
    out: &mut Vec<(String, String)>,
) -> Result<(), CredentialError> {
    for (key, value) in object {
        let path = child_path(prefix, key);
        match value {
            Value::Object(inner) => flatten(&path, inner, out)?,
            Value::String(s) => out.push((path, s.clone())),
            Value::Number(_) | Value::Bool(_) => out.push((path, value.to_string())),
            Value::Null | Value::Array(_) => {
                return Err(invalid(
                    format!("credentialSubject.{path}"),
                    "attribute values must be strings, numbers, booleans or objects",
                ))
            }
        }
    }
    Ok(())
}

fn date_member(
    json: &Map<String, Value>,
    names: &[&'static str],
) -> Result<Option<OffsetDateTime>, CredentialError> {
    let mut found = None;
    for &name in names {
        if let Some(v) = json.get(name) {
            let text = v
                .as_str()
                .ok_or_else(|| invalid(name, "must be an RFC 3339 string"))?;
            let t = crate::time::parse(text).map_err(|e| invalid(name, e.to_string()))?;
            if found.is_some_and(|f| f != t) {
                return Err(invalid(name, format!("disagrees with '{}'", names[0])));
            }
            found = Some(t);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        format!(
            r#"{{"id":"did:zid:{vc}","type":["VerifiableCredential","DrivingLicense"],"issuer":"did:zid:{iss}",
            "issuanceDate":"2025-01-01T00:00:00Z","expirationDate":"2026-01-01T00:00:00Z",
            "credentialSubject":{{"id":"did:zid:{hol}","drivingLicense":{{"name":"Ali","class":"B2","age":"21"}}}},
            "proof":[],"@context":[]}}"#,
            vc = "11".repeat(32),
            iss = "22".repeat(32),
            hol = "33".repeat(32)
        )
    }

    #[test]
    fn messages_follow_member_order() {
        let vc = Credential::from_json(&sample()).unwrap();
        assert_eq!(
            vc.bbs_messages().unwrap(),
            vec![
                format!("id: did:zid:{}", "33".repeat(32)),
                "drivingLicense.name: Ali".to_owned(),
                "drivingLicense.class: B2".to_owned(),
                "drivingLicense.age: 21".to_owned(),
            ]
        );
        assert!(vc.unsigned().get("proof").is_none());
    }

    #[test]
    fn reads_vcdm2_dates_and_refuses_bad_shapes() {
        let v2 = sample()
            .replace("issuanceDate", "validFrom")
            .replace("expirationDate", "validUntil");
        let vc = Credential::from_json(&v2).unwrap();
        assert_eq!(
            crate::time::format_seconds(vc.valid_from()),
            "2025-01-01T00:00:00Z"
        );
        assert!(matches!(
            Credential::from_json(&sample().replace("\"issuanceDate\"", "\"x\"")),
            Err(CredentialError::Missing("issuanceDate"))
        ));
        assert!(matches!(
            Credential::from_json(&sample().replace("2026-01-01", "2024-01-01")),
            Err(CredentialError::Invalid { .. })
        ));
        assert!(matches!(
            Credential::from_json(&sample().replace("\"21\"", "null")),
            Err(CredentialError::Invalid { .. })
        ));
        assert!(matches!(
            Credential::from_json("[]"),
            Err(CredentialError::NotAnObject)
        ));
    }
}
