//! Strict JSON for request bodies (api.md §1.1): a member that appears twice in one object and
//! nesting deeper than [`MAX_DEPTH`] are refused, with a JSON Pointer to where it happened.
//! Member order is kept (`serde_json` with `preserve_order`).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How deep objects and arrays may nest.
pub const MAX_DEPTH: usize = 32;

/// The member serde_json wraps a number kept as its text in (with `arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Why a body is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON at all (or trailing characters).
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    /// A member appears twice in one object.
    #[error("member {pointer} appears twice")]
    Duplicate {
        /// JSON Pointer (RFC 6901) to the member.
        pointer: String,
    },
    /// Objects and arrays nest deeper than [`MAX_DEPTH`].
    #[error("JSON nests deeper than {MAX_DEPTH} levels at {pointer}")]
    TooDeep {
        /// JSON Pointer to where the limit was passed.
        pointer: String,
    },
}

impl JsonError {
    /// The JSON Pointer of where the body went wrong, when it is known.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            JsonError::Syntax(_) => None,
            JsonError::Duplicate { pointer } | JsonError::TooDeep { pointer } => Some(pointer),
        }
    }
}

/// Parses `bytes` strictly.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut problem = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        path: Vec::new(),
        problem: &mut problem,
    };
    let result = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (result, problem) {
        (_, Some(problem)) => Err(problem),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(JsonError::Syntax(e.to_string())),
    }
}

/// A JSON Pointer from path segments.
fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

struct Strict<'p> {
    path: Vec<String>,
    problem: &'p mut Option<JsonError>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.path.len() >= MAX_DEPTH {
            *self.problem = Some(JsonError::TooDeep {
                pointer: pointer(&self.path),
            });
            return Err(A::Error::custom("too deep"));
        }
        let mut out = Vec::new();
        loop {
            let mut path = self.path.clone();
            path.push(out.len().to_string());
            let seed = Strict {
                path,
                problem: &mut *self.problem,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.path.len() >= MAX_DEPTH {
            *self.problem = Some(JsonError::TooDeep {
                pointer: pointer(&self.path),
            });
            return Err(A::Error::custom("too deep"));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // serde_json hands a number it keeps as text (`arbitrary_precision`: fractions,
            // exponents, integers past 64 bits) to the visitor as a map with one magic member.
            if key == NUMBER_TOKEN && out.is_empty() {
                let text: String = map.next_value()?;
                return text
                    .parse::<serde_json::Number>()
                    .map(Value::Number)
                    .map_err(A::Error::custom);
            }
            let mut path = self.path.clone();
            path.push(key.clone());
            if out.contains_key(&key) {
                *self.problem = Some(JsonError::Duplicate {
                    pointer: pointer(&path),
                });
                return Err(A::Error::custom("duplicate member"));
            }
            let seed = Strict {
                path,
                problem: &mut *self.problem,
            };
            let value = map.next_value_seed(seed)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_values() {
        let v = parse_strict(br#"{"b":1,"a":[true,null,"x",-2,1.5],"c":{}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"b":1,"a":[true,null,"x",-2,1.5],"c":{}}"#
        );
    }

    #[test]
    fn refuses_duplicates_with_a_pointer() {
        let err = parse_strict(br#"{"data":[{"metadata":{"a/b":1,"a/b":2}}]}"#).unwrap_err();
        assert_eq!(
            err,
            JsonError::Duplicate {
                pointer: "/data/0/metadata/a~1b".into()
            }
        );
    }

    #[test]
    fn refuses_deep_nesting() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_strict(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            parse_strict(deep.as_bytes()),
            Err(JsonError::TooDeep { .. })
        ));
        // Far deeper than serde_json's own recursion limit: still our error, no overflow.
        let abyss = "[".repeat(100_000);
        assert!(matches!(
            parse_strict(abyss.as_bytes()),
            Err(JsonError::TooDeep { .. })
        ));
    }

    #[test]
    fn refuses_syntax_errors_and_trailing_text() {
        assert!(matches!(parse_strict(b"{"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse_strict(b"{} x"), Err(JsonError::Syntax(_))));
    }
}
