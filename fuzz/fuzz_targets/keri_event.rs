//! KERI events and ACDCs in keripy's JSON wire format (zcred-ledger `Event::parse`,
//! `Acdc::parse`), version strings, and the SAID of a document as a person hands it over
//! (`inspect::check_said`, `acdc::schema_said`). Input: the bytes.
//!
//! Properties: no panic; an event or ACDC that parses is exactly its input (events are
//! canonical) and parses again to the same value; a version string that parses prints back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use zcred_ledger::acdc::{self, Acdc};
use zcred_ledger::{inspect, said, Event};

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = Event::parse(data) {
        assert_eq!(event.raw(), data);
        assert_eq!(Event::parse(event.raw()).as_ref(), Ok(&event));
        let _ = (event.said(), event.prefix(), event.sn(), event.log_id());
        let _ = (event.seal(), event.anchors());
    }
    if let Ok(acdc) = Acdc::parse(data) {
        assert_eq!(acdc.raw(), data);
        assert_eq!(Acdc::parse(acdc.raw()).as_ref(), Ok(&acdc));
        let _ = (acdc.said(), acdc.issuer(), acdc.registry(), acdc.schema());
    }
    if let Some(text) = zcred_fuzz::text(data) {
        if let Ok((proto, size)) = said::parse_version(text) {
            assert_eq!(said::version_string(proto, size), text);
        }
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        let _ = inspect::check_said(&map);
        let _ = acdc::schema_said(&map);
    }
});
