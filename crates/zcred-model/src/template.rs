//! Credential templates (api.md §3) and the subject key of a template name (api.md §2.7).

use serde::{Deserialize, Serialize};

use crate::did::Did;

/// Why a template or a template name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The camelCase of the template name is empty or `id`.
    #[error("templateName '{0}' gives no usable subject key (it must contain a letter or digit, and must not be 'id')")]
    SubjectKey(String),
    /// The attribute at this index has a key that is not `^[A-Za-z][A-Za-z0-9_]{{0,63}}$`, is
    /// `id`, or is repeated (or cannot be range-provable).
    #[error("attribute key '{1}' is invalid: {2}")]
    AttributeKey(usize, String, &'static str),
    /// The label of the attribute at this index is out of its allowed range.
    #[error("attribute labels must have 1 to 128 characters")]
    AttributeLabel(usize),
    /// The member named first is out of its allowed range.
    #[error("{1}")]
    Field(&'static str, &'static str),
}

impl TemplateError {
    /// The JSON Pointer (RFC 6901) of the template member at fault.
    pub fn member(&self) -> String {
        match self {
            TemplateError::SubjectKey(_) => "/templateName".to_owned(),
            TemplateError::AttributeKey(i, ..) => format!("/credentialFormat/{i}/key"),
            TemplateError::AttributeLabel(i) => format!("/credentialFormat/{i}/attribute"),
            TemplateError::Field(member, _) => format!("/{member}"),
        }
    }
}

/// camelCase(templateName) (api.md §2.7): split on runs of characters other than ASCII letters
/// and digits; a word with no lowercase letter is lowercased whole; the first word starts
/// lowercase, later words uppercase; join.
pub fn subject_key(template_name: &str) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template_name.len());
    let words = template_name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    for (i, word) in words.enumerate() {
        let word = if word.bytes().any(|b| b.is_ascii_lowercase()) {
            word.to_owned()
        } else {
            word.to_ascii_lowercase()
        };
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.push(first.to_ascii_lowercase());
            } else {
                out.push(first.to_ascii_uppercase());
            }
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() || out == "id" {
        return Err(TemplateError::SubjectKey(template_name.to_owned()));
    }
    Ok(out)
}

/// What kind of value an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Format {
    /// Any string.
    String,
    /// `^-?[0-9]+(\.[0-9]+)?$`.
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// A `data:image/…;base64,` URI.
    Image,
}

impl Format {
    /// Reads a format as requests send it: case-insensitive, and MIME forms such as
    /// `image/png` as `IMAGE` (api.md §3, §12 #2).
    pub fn parse(text: &str) -> Option<Format> {
        let upper = text.to_ascii_uppercase();
        match upper.as_str() {
            "STRING" => Some(Format::String),
            "NUMBER" => Some(Format::Number),
            "DATE" => Some(Format::Date),
            "IMAGE" => Some(Format::Image),
            _ if upper.starts_with("IMAGE/") && upper.len() > 6 => Some(Format::Image),
            _ => None,
        }
    }

    /// Checks a value against the format; the error says what the value must look like.
    pub fn check(self, value: &str) -> Result<(), &'static str> {
        let ok = match self {
            Format::String => true,
            Format::Number => {
                let digits = value.strip_prefix('-').unwrap_or(value);
                let (whole, fraction) = match digits.split_once('.') {
                    Some((w, f)) => (w, Some(f)),
                    None => (digits, None),
                };
                let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                all_digits(whole) && fraction.is_none_or(all_digits)
            }
            Format::Date => {
                value.len() == 10
                    && ::time::Date::parse(
                        value,
                        ::time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .is_ok()
            }
            // RFC 2397 with base64: the payload must decode (standard alphabet, padded).
            Format::Image => value
                .strip_prefix("data:image/")
                .and_then(|rest| rest.split_once(";base64,"))
                .is_some_and(|(mime, data)| {
                    !mime.is_empty()
                        && !data.is_empty()
                        && zcred_crypto::multibase::from_base64(data).is_ok()
                }),
        };
        if ok {
            Ok(())
        } else {
            Err(match self {
                Format::String => "a string",
                Format::Number => "a number matching ^-?[0-9]+(\\.[0-9]+)?$",
                Format::Date => "a date YYYY-MM-DD",
                Format::Image => "a data:image/…;base64, URI whose payload is base64",
            })
        }
    }
}

/// Who supplies an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Supplier {
    /// The holder, at apply.
    User,
    /// The issuer, at create (a value from its records).
    Fixed,
    /// The issuer, at create (a value its application computes).
    Application,
}

impl Supplier {
    /// Reads a supplier type as requests send it (case-insensitive).
    pub fn parse(text: &str) -> Option<Supplier> {
        match text.to_ascii_uppercase().as_str() {
            "USER" => Some(Supplier::User),
            "FIXED" => Some(Supplier::Fixed),
            "APPLICATION" => Some(Supplier::Application),
            _ => None,
        }
    }

    /// Whether the issuer supplies the value (at Create VC).
    pub fn is_issuer(self) -> bool {
        !matches!(self, Supplier::User)
    }
}

/// One attribute of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// Display label.
    pub attribute: String,
    /// Field name inside the credential.
    pub key: String,
    /// Value format.
    pub format: Format,
    /// Whether a value is required by the end of Create VC.
    pub mandatory: bool,
    /// Who supplies the value.
    #[serde(rename = "type")]
    pub supplier: Supplier,
    /// zcred extension (api.md OP-11): the value is an integer that holders may prove a range
    /// of without revealing it. The credential's BBS+ signature then also covers the value as an
    /// integer message. `NUMBER` attributes only; written only when true, so templates without
    /// it are unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub range_provable: bool,
}

/// A credential template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Human-readable name; a VC `type` entry.
    pub template_name: String,
    /// The issuer's DID.
    pub issuer_zid: Did,
    /// Attribute definitions, in order.
    pub credential_format: Vec<Attribute>,
    /// Template version.
    pub version: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

impl Template {
    /// Checks the rules of api.md §3 and §7.1 and returns the subject key.
    pub fn validate(&self) -> Result<String, TemplateError> {
        let name_len = self.template_name.chars().count();
        if !(1..=128).contains(&name_len) {
            return Err(TemplateError::Field(
                "templateName",
                "templateName must have 1 to 128 characters",
            ));
        }
        if !(1..=32).contains(&self.version.chars().count()) {
            return Err(TemplateError::Field(
                "version",
                "version must have 1 to 32 characters",
            ));
        }
        if !(1..=100).contains(&self.credential_format.len()) {
            return Err(TemplateError::Field(
                "credentialFormat",
                "credentialFormat must have 1 to 100 attributes",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, a) in self.credential_format.iter().enumerate() {
            if !(1..=128).contains(&a.attribute.chars().count()) {
                return Err(TemplateError::AttributeLabel(i));
            }
            check_attribute_key(i, &a.key)?;
            if a.range_provable && a.format != Format::Number {
                return Err(TemplateError::AttributeKey(
                    i,
                    a.key.clone(),
                    "only NUMBER attributes can be rangeProvable",
                ));
            }
            if !seen.insert(a.key.as_str()) {
                return Err(TemplateError::AttributeKey(
                    i,
                    a.key.clone(),
                    "it appears twice",
                ));
            }
        }
        subject_key(&self.template_name)
    }
}

/// The key of the attribute at `index`.
fn check_attribute_key(index: usize, key: &str) -> Result<(), TemplateError> {
    let bytes = key.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if !well_formed {
        return Err(TemplateError::AttributeKey(
            index,
            key.to_owned(),
            "it must match ^[A-Za-z][A-Za-z0-9_]{0,63}$",
        ));
    }
    if key == "id" {
        return Err(TemplateError::AttributeKey(
            index,
            key.to_owned(),
            "'id' is reserved",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_values() {
        assert_eq!(Format::parse("string"), Some(Format::String));
        assert_eq!(Format::parse("image/png"), Some(Format::Image));
        assert_eq!(Format::parse("image/"), None);
        assert_eq!(Format::parse("1"), None);
        assert_eq!(Supplier::parse("Application"), Some(Supplier::Application));
        assert_eq!(Supplier::parse("2"), None);
        for ok in ["0", "-12", "3.9", "10.05"] {
            assert!(Format::Number.check(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-", "1.", ".5", "1e5", "+1", "1.2.3", " 1"] {
            assert!(Format::Number.check(bad).is_err(), "{bad}");
        }
        assert!(Format::Date.check("2025-02-28").is_ok());
        for bad in ["2025-02-30", "2025-2-28", "2025-02-28T00:00:00Z"] {
            assert!(Format::Date.check(bad).is_err(), "{bad}");
        }
        assert!(Format::Image.check("data:image/png;base64,iVBO").is_ok());
        assert!(Format::Image.check("data:text/plain;base64,aGk=").is_err());
        // The payload must be base64 (api.md §8.1: values well formed for their format).
        for bad in [
            "data:image/png;base64,not base64!",
            "data:image/png;base64,",
            "data:image/png;base64,iVB",
            "data:image/png;base64,****",
        ] {
            assert!(Format::Image.check(bad).is_err(), "{bad}");
        }
        assert!(Format::String.check("anything").is_ok());
    }

    #[test]
    fn camel_case_table_of_the_spec() {
        assert_eq!(subject_key("DrivingLicense").unwrap(), "drivingLicense");
        assert_eq!(
            subject_key("DegreeCertificate").unwrap(),
            "degreeCertificate"
        );
        assert_eq!(
            subject_key("PASSPORT MALAYSIA").unwrap(),
            "passportMalaysia"
        );
        assert_eq!(subject_key("driving license").unwrap(), "drivingLicense");
        assert_eq!(subject_key("--a__b--").unwrap(), "aB");
        assert!(subject_key("  ").is_err());
        assert!(subject_key("ID").is_err());
    }

    #[test]
    fn template_rules() {
        let t: Template = serde_json::from_value(serde_json::json!({
            "templateName": "DrivingLicense",
            "issuerZid": format!("did:zid:{}", "0d".repeat(32)),
            "credentialFormat": [
                {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
                {"attribute": "Id no.", "format": "STRING", "key": "idNo", "mandatory": true, "type": "FIXED"}
            ],
            "version": "1.0.0"
        }))
        .unwrap();
        assert_eq!(t.validate().unwrap(), "drivingLicense");
        let mut dup = t.clone();
        dup.credential_format[1].key = "name".into();
        assert!(matches!(
            dup.validate(),
            Err(TemplateError::AttributeKey(1, _, "it appears twice"))
        ));
        assert_eq!(
            dup.validate().unwrap_err().member(),
            "/credentialFormat/1/key"
        );
        let mut bad = t;
        bad.credential_format[0].key = "1x".into();
        assert_eq!(
            bad.validate().unwrap_err().member(),
            "/credentialFormat/0/key"
        );
    }
}
