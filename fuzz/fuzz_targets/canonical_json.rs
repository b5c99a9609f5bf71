//! Strict JSON of request bodies (zcred-model `json::parse_strict`: no duplicate members, at
//! most 32 levels) and canonical JSON (`canonical::to_string`, the payload of every JWS).
//! Input: the bytes.
//!
//! Properties: no panic; what the strict parser accepts serde_json accepts, as the same value;
//! canonical JSON parses strictly back to the same value as Python reads it (integers exactly,
//! `-0` as `0`, other numbers as the same double) and is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use zcred_model::canonical;
use zcred_model::json::parse_strict;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = parse_strict(data) else {
        return;
    };
    let loose: Value = serde_json::from_slice(data).expect("strict JSON is JSON");
    assert_eq!(loose, value);
    let text = canonical::to_string(&value);
    let again = parse_strict(text.as_bytes())
        .unwrap_or_else(|e| panic!("canonical JSON {text} does not parse strictly: {e}"));
    assert!(same(&again, &value), "{text}");
    assert_eq!(canonical::to_string(&again), text);
});

/// Equal as Python's `json.loads` reads both: integers by their exact value, other numbers as
/// doubles (serde_json keeps each number's literal, so `1E2` and `100.0` differ as values).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let integer = |n: &serde_json::Number| {
                let t = n.to_string();
                let digits = t.strip_prefix('-').unwrap_or(&t).to_owned();
                digits
                    .bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| if digits.bytes().all(|c| c == b'0') { "0".to_owned() } else { t })
            };
            match (integer(x), integer(y)) {
                (Some(i), Some(j)) => i == j,
                (None, None) => x.as_f64() == y.as_f64(),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
