//! CESR qb64 primitives, indexed signatures, counters and attachment groups (zcred-ledger
//! `cesr`). Input: the text.
//!
//! Properties: no panic; a primitive, indexed signature or counter that reads prints back as
//! the characters it used; attachments written again (`Attachments::to_text`) read back to the
//! same attachments, using all of the written text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_ledger::cesr::{Attachments, Counter, Matter, Siger};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zcred_fuzz::text(data) else {
        return;
    };
    if let Ok((matter, used)) = Matter::read(text) {
        assert_eq!(matter.qb64(), &text[..used]);
        assert_eq!(Matter::parse(&matter.qb64()), Ok(matter));
    }
    if let Ok((siger, used)) = Siger::read(text) {
        assert_eq!(siger.qb64(), &text[..used]);
    }
    if let Ok((counter, count)) = Counter::read(text) {
        assert_eq!(counter.encode(count), &text[..4]);
    }
    if let Ok((attachments, used)) = Attachments::read(text) {
        assert!(used <= text.len());
        let written = attachments.to_text();
        let (again, again_used) = Attachments::read(&written).unwrap_or_else(|e| {
            panic!("Attachments::to_text wrote {written:?}, which does not read back: {e}")
        });
        assert_eq!(again_used, written.len(), "{written:?}");
        assert_eq!(again, attachments, "{written:?}");
    }
});
