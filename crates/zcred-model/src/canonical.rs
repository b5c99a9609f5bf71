//! Canonical JSON (api.md §2.8): object members sorted by key (Unicode code point order, which is
//! the byte order of UTF-8), recursively; arrays keep their order; no whitespace; strings UTF-8
//! as is, escaping only `"`, `\` and U+0000–U+001F (`\b \f \n \r \t`, otherwise `\u00xx`);
//! numbers in their shortest round-trip form. This equals Python's
//! `json.dumps(x, sort_keys=True, separators=(',',':'), ensure_ascii=False)` for the data zcred
//! signs.

use serde_json::{Map, Value};

/// The canonical serialization of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The canonical serialization of `value`, as bytes.
pub fn to_vec(value: &Value) -> Vec<u8> {
    to_string(value).into_bytes()
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        // serde_json writes scalars exactly as §2.8 asks: strings escape only `"`, `\` and
        // control characters (lowercase `\u00xx`), and numbers use the shortest round trip.
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut String) {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        write(value, out);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_recursively_and_escapes_minimally() {
        let v = json!({"b": [{"z": 1, "a": "é/\"\\\n\u{1f}"}], "a": null, "A": true, "é": 1.5});
        assert_eq!(
            to_string(&v),
            r#"{"A":true,"a":null,"b":[{"a":"é/\"\\\n\u001f","z":1}],"é":1.5}"#
        );
    }
    /// Canonical text read back gives the same value and text again, floats included (the
    /// `canonical_json` fuzz target found floats drifting by an ulp without serde_json's
    /// `float_roundtrip`).
    #[test]
    fn floats_read_back_exactly() {
        for text in [
            "2.2222222222222222e-7",
            "0.30000000000000004",
            "1.7976931348623157e308",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let written = to_string(&value);
            let again: Value = serde_json::from_str(&written).unwrap();
            assert_eq!(again, value, "{text}");
            assert_eq!(to_string(&again), written, "{text}");
            assert_eq!(
                value.as_f64().unwrap().to_string().parse::<f64>().unwrap(),
                value.as_f64().unwrap()
            );
        }
    }
}
