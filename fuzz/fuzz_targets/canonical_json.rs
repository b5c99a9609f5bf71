//! Strict JSON of request bodies (zcred-model `json::parse_strict`: no duplicate members, at
//! most 32 levels) and canonical JSON (`canonical::to_string`, the payload of every JWS).
//! Input: the bytes.
//!
//! Properties: no panic; what the strict parser accepts serde_json accepts, as the same value;
//! canonical JSON parses strictly back to the same value (floats exactly) and is a fixed point.
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
    assert_eq!(again, value, "{text}");
    assert_eq!(canonical::to_string(&again), text);
});
