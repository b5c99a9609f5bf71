//! ACDC v1 credentials and JSON Schema SAIDs (keri.md §8).
//!
//! keripy v1 computes an ACDC's SAID over the fully expanded form: the nested blocks (`a`, `e`,
//! `r`) carry their own SAIDs in `d`, computed first and without a version string, and the
//! top-level SAID covers them as they are.

use serde_json::{Map, Value};

use crate::event::{check_fields, check_said, read_versioned, EventError};
use crate::said::{self, Proto};

/// The top-level members of an ACDC, in their only allowed order (`v d i s` are required).
const FIELDS: [&str; 9] = ["v", "d", "u", "i", "ri", "s", "a", "e", "r"];
const REQUIRED: [&str; 4] = ["v", "d", "i", "s"];
const BLOCKS: [&str; 3] = ["a", "e", "r"];

/// A parsed ACDC v1 credential with its exact bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Acdc {
    raw: Vec<u8>,
    map: Map<String, Value>,
}

fn acdc_error(reason: impl Into<String>) -> EventError {
    EventError::Value {
        ilk: "acdc".into(),
        reason: reason.into(),
    }
}

/// Computes the SAID of every nested block (`a`, `e`, `r`) that is an object with a `d`
/// member and writes it in. Returns whether every block already held its SAID.
pub(crate) fn saidify_blocks(map: &mut Map<String, Value>) -> bool {
    let mut all_held = true;
    for block in BLOCKS {
        if let Some(Value::Object(inner)) = map.get_mut(block) {
            if inner.contains_key("d") {
                let before = inner.get("d").cloned();
                let (said, _) = said::saidify(inner, &["d"], None);
                all_held &= before == Some(Value::String(said));
            }
        }
    }
    all_held
}

impl Acdc {
    /// Parses and checks an ACDC: version string and size, member set and order, the SAIDs of
    /// its nested blocks and of the whole, and canonical bytes.
    pub fn parse(raw: &[u8]) -> Result<Acdc, EventError> {
        let (map, proto) = read_versioned(raw)?;
        if proto != Proto::Acdc {
            return Err(EventError::Proto {
                expected: "ACDC",
                found: "KERI",
            });
        }
        let present: Vec<&str> = FIELDS
            .iter()
            .copied()
            .filter(|f| map.contains_key(*f))
            .collect();
        if map.len() != present.len() || REQUIRED.iter().any(|r| !map.contains_key(*r)) {
            return Err(EventError::Fields {
                ilk: "acdc".into(),
                expected: "v d [u] i [ri] s [a] [e] [r]".into(),
                found: map.keys().map(String::as_str).collect::<Vec<_>>().join(" "),
            });
        }
        check_fields("acdc", &present, &map)?;
        // Only the SAIDs are checked here: keripy's own tests put placeholders in `i` and `s`,
        // and what an issuer or schema must be is the verifier's business.
        for label in ["i", "s"] {
            if !map.get(label).is_some_and(Value::is_string) {
                return Err(acdc_error(format!("{label} must be a string")));
            }
        }
        if !saidify_blocks(&mut map.clone()) {
            return Err(acdc_error(
                "a nested block (a, e or r) does not hold its own SAID in d",
            ));
        }
        check_said(&map, &["d"], Some(Proto::Acdc), raw)?;
        Ok(Acdc {
            raw: raw.to_vec(),
            map,
        })
    }

    /// Builds an ACDC from its members (in order, without `v`; `d` and the nested blocks' `d`
    /// are computed). Members must be a subsequence of `d u i ri s a e r`.
    pub fn build(mut members: Map<String, Value>) -> Result<Acdc, EventError> {
        saidify_blocks(&mut members);
        let mut map = Map::new();
        map.insert("v".into(), Value::String(String::new()));
        map.insert("d".into(), Value::String(String::new()));
        for (k, v) in members {
            if k != "d" {
                map.insert(k, v);
            }
        }
        let (_, raw) = said::saidify(&mut map, &["d"], Some(Proto::Acdc));
        Acdc::parse(&raw)
    }

    /// The exact bytes.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The credential's SAID (`d`).
    pub fn said(&self) -> &str {
        self.str("d")
    }

    /// The issuer's AID (`i`).
    pub fn issuer(&self) -> &str {
        self.str("i")
    }

    /// The registry id (`ri`), if any.
    pub fn registry(&self) -> Option<&str> {
        self.map.get("ri").and_then(Value::as_str)
    }

    /// The schema SAID (`s`).
    pub fn schema(&self) -> &str {
        self.str("s")
    }

    /// The members.
    pub fn members(&self) -> &Map<String, Value> {
        &self.map
    }

    fn str(&self, label: &str) -> &str {
        self.map
            .get(label)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// The SAID of a JSON Schema over its `$id` (compact JSON, member order as given, no version
/// string), and whether the schema's own `$id` holds it.
pub fn schema_said(schema: &Map<String, Value>) -> Result<(String, bool), EventError> {
    if !schema.contains_key("$id") {
        return Err(EventError::Value {
            ilk: "schema".into(),
            reason: "a JSON Schema needs an \"$id\" member to hold its SAID".into(),
        });
    }
    let mut copy = schema.clone();
    let (said, _) = said::saidify(&mut copy, &["$id"], None);
    let matches = schema.get("$id").and_then(Value::as_str) == Some(said.as_str());
    Ok((said, matches))
}

/// Writes the SAID of `schema` into its `$id` and returns it.
pub fn saidify_schema(schema: &mut Map<String, Value>) -> Result<String, EventError> {
    let (said, _) = schema_said(schema)?;
    schema.insert("$id".into(), Value::String(said.clone()));
    Ok(said)
}
