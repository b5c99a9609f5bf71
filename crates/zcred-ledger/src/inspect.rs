//! SAIDs of documents as a person hands them over (possibly pretty-printed): any KEL or TEL
//! event, an ACDC, or a JSON Schema. The SAID is computed over the canonical (compact, member
//! order kept) form, the way keripy computes it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::{check_fields, saidive_labels, EventError, Ilk};
use crate::said::{self, parse_version, Proto};

/// The recomputed SAID of a document and whether the document carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaidCheck {
    /// `icp`, `iss`, …, `acdc` or `schema`.
    pub kind: String,
    /// The SAID computed from the content.
    pub said: String,
    /// The SAID the document carries (its `d`, or `$id` for a schema).
    pub declared: String,
    /// Every saidive field (and, for an ACDC, every nested block's `d`) holds what it should.
    pub matches: bool,
    /// The version string the content needs (its size recomputed), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

fn declared(map: &Map<String, Value>, label: &str) -> String {
    map.get(label)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Computes the SAID of `map` and compares it with the one it carries.
pub fn check_said(map: &Map<String, Value>) -> Result<SaidCheck, EventError> {
    let version = map.get("v").and_then(Value::as_str);
    let Some(version) = version else {
        if map.contains_key("$id") {
            let (said, matches) = crate::acdc::schema_said(map)?;
            return Ok(SaidCheck {
                kind: "schema".into(),
                said,
                declared: declared(map, "$id"),
                matches,
                version: None,
            });
        }
        return Err(EventError::NotObject);
    };
    let (proto, _) = parse_version(version)?;
    let mut copy = map.clone();
    match proto {
        Proto::Keri => {
            let t = declared(map, "t");
            let ilk = Ilk::parse(&t).ok_or(EventError::UnknownIlk(t))?;
            check_fields(ilk.as_str(), ilk.fields(), map)?;
            if ilk == Ilk::Rct {
                return Err(EventError::Value {
                    ilk: "rct".into(),
                    reason: "a receipt has no SAID of its own: its d is the receipted event's"
                        .into(),
                });
            }
            let labels = saidive_labels(ilk, &declared(map, "i"));
            let (said, _) = said::saidify(&mut copy, labels, Some(Proto::Keri));
            let matches = labels.iter().all(|l| declared(map, l) == said);
            Ok(SaidCheck {
                kind: ilk.as_str().into(),
                said,
                declared: declared(map, "d"),
                matches,
                version: copy.get("v").and_then(Value::as_str).map(str::to_owned),
            })
        }
        Proto::Acdc => {
            let blocks_match = crate::acdc::saidify_blocks(&mut copy);
            let (said, _) = said::saidify(&mut copy, &["d"], Some(Proto::Acdc));
            Ok(SaidCheck {
                kind: "acdc".into(),
                matches: blocks_match && declared(map, "d") == said,
                said,
                declared: declared(map, "d"),
                version: copy.get("v").and_then(Value::as_str).map(str::to_owned),
            })
        }
    }
}
