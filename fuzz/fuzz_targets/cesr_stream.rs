//! CESR text streams of events and ACDCs with their attachments (zcred-ledger `stream`), as a
//! ledger export is. Input: the stream.
//!
//! Properties: no panic; the messages of a stream that reads whole, written again
//! (`Message::to_text`) and concatenated, read back to the same messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_ledger::stream::{parse_stream, StreamReader};

fuzz_target!(|data: &[u8]| {
    let mut messages = Vec::new();
    for item in StreamReader::new(data) {
        match item {
            Ok(message) => messages.push(message),
            Err(e) => {
                let _ = (e.reason(), e.at(), e.to_string());
                assert!(parse_stream(data).is_err());
                return;
            }
        }
    }
    let written: String = messages.iter().map(|m| m.to_text()).collect();
    let again = parse_stream(written.as_bytes())
        .unwrap_or_else(|e| panic!("the written stream does not read back: {e}\n{written}"));
    assert_eq!(again, messages);
    for (i, m) in messages.iter().enumerate() {
        let _ = m.reference(i).to_string();
    }
});
