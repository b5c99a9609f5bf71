//! Dates and times (api.md §2.11). Requests carry `YYYY-MM-DD` (read as 00:00:00Z) or full
//! RFC 3339; credentials carry RFC 3339 UTC, emitted as `YYYY-MM-DDTHH:MM:SSZ`.

use ::time::format_description::well_known::Rfc3339;
use ::time::macros::format_description;
use ::time::{Date, OffsetDateTime, UtcOffset};

/// Why a date or time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a date (YYYY-MM-DD) or an RFC 3339 date-time")]
pub struct DateError(pub String);

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 with any offset; the result is in UTC.
pub fn parse(text: &str) -> Result<OffsetDateTime, DateError> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.to_offset(UtcOffset::UTC));
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| DateError(text.to_owned()))?;
    Ok(date.midnight().assume_utc())
}

/// RFC 3339 UTC in whole seconds: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_seconds(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339 UTC with microseconds, as proof `created` values are emitted.
pub fn format_micros(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_formats() {
        let d = parse("2025-01-01").unwrap();
        assert_eq!(format_seconds(d), "2025-01-01T00:00:00Z");
        let t = parse("2025-03-07T15:06:44.747608+08:00").unwrap();
        assert_eq!(format_seconds(t), "2025-03-07T07:06:44Z");
        assert_eq!(format_micros(t), "2025-03-07T07:06:44.747608Z");
        assert!(parse("2025-13-01").is_err());
        assert!(parse("01/01/2025").is_err());
        assert!(parse("").is_err());
    }
}
