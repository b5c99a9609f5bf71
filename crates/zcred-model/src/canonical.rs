//! Canonical JSON (api.md §2.8): object members sorted by key (Unicode code point order, which is
//! the byte order of UTF-8), recursively; arrays keep their order; no whitespace; strings UTF-8
//! as is, escaping only `"`, `\` and U+0000–U+001F (`\b \f \n \r \t`, otherwise `\u00xx`);
//! numbers as Python writes what Python reads: an integer literal stays the exact integer (of
//! any size; `-0` is `0`), anything with a fraction or an exponent is the double it denotes, in
//! Python's `repr` (shortest round trip, `.0` on whole numbers, an exponent of at least two
//! digits outside 1e-4 ≤ |x| < 1e16). This equals Python's
//! `json.dumps(json.loads(x), sort_keys=True, separators=(',',':'), ensure_ascii=False)`
//! (checked against Python's own output in `tests/vectors/canonical/numbers.json`). serde_json
//! keeps numbers as their literal text (`arbitrary_precision`) so that large integers survive.

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
        Value::Number(n) => out.push_str(&number(n)),
        // serde_json writes strings exactly as §2.8 asks: it escapes only `"`, `\` and control
        // characters (lowercase `\u00xx`).
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A number as Python's `json.dumps` writes what `json.loads` read from its literal.
fn number(n: &serde_json::Number) -> String {
    let text = n.to_string();
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // An integer: exact, whatever its size (JSON allows no leading zeros, so only `-0`
        // needs a change).
        return if digits.bytes().all(|b| b == b'0') {
            "0".to_owned()
        } else {
            text
        };
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => python_float(f),
        _ => text,
    }
}

/// Python's `repr` of a double: the shortest digits that read back to it (Rust finds the same
/// ones), fixed notation for decimal exponents from -4 to 15 with `.0` on whole numbers,
/// otherwise `d.ddde±XX`.
fn python_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let scientific = format!("{f:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific;
    };
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits: String = mantissa
        .trim_start_matches('-')
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            let zeros = "0".repeat((-exponent - 1) as usize);
            return format!("{sign}0.{zeros}{digits}");
        }
        let whole = (exponent + 1) as usize;
        return if digits.len() <= whole {
            format!("{sign}{digits}{}.0", "0".repeat(whole - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..whole], &digits[whole..])
        };
    }
    let mantissa = if digits.len() == 1 {
        digits
    } else {
        format!("{}.{}", &digits[..1], &digits[1..])
    };
    let exponent_sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs())
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

    /// Every case of the vector file (made by Python, api.md §2.8's definition) matches.
    #[test]
    fn numbers_are_written_as_python_writes_them() {
        let file: Value =
            serde_json::from_str(include_str!("../tests/vectors/canonical/numbers.json")).unwrap();
        let cases = file["cases"].as_array().unwrap();
        assert!(cases.len() > 30);
        for case in cases {
            let input: Value = serde_json::from_str(case["input"].as_str().unwrap()).unwrap();
            assert_eq!(
                to_string(&input),
                case["canonical"].as_str().unwrap(),
                "{}",
                case["input"]
            );
        }
    }

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
            assert_eq!(again.as_f64(), value.as_f64(), "{text}");
            assert_eq!(to_string(&again), written, "{text}");
            assert_eq!(
                value.as_f64().unwrap().to_string().parse::<f64>().unwrap(),
                value.as_f64().unwrap()
            );
        }
    }
}
