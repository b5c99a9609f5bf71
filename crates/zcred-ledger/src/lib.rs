//! zcred-ledger: KERI 1.0 key event logs (KEL) and transaction event logs (TEL), the records
//! zcred keeps instead of a blockchain (ledger.md), in keripy v1.2's exact wire format (keri.md).
//!
//! - [`cesr`]: qb64 primitives, indexed signatures, attachment counters and groups.
//! - [`said`]: version strings and SAIDs (Blake3-256).
//! - [`event`]: the events `icp rot ixn dip drt rct vcp vrt iss rev bis brv`, parsed strictly.
//! - [`build`]: builders for every event, with keripy's defaults.
//! - [`acdc`]: ACDC v1 credentials and JSON Schema SAIDs.
//! - [`stream`]: CESR text streams of events with attachments.
//! - [`verify`]: the verifier that folds events into key and credential state.
//! - [`inspect`]: the SAID of any event, ACDC or schema as a person hands it over.
//! - [`flows`]: zcred's identities (issuer, delegated anchoring agent, registry) and the events
//!   each API operation writes.
//!
//! Invariants: no I/O and no clock (times are passed in); an event's bytes are always exactly
//! the canonical bytes its SAID covers; state is a fold over accepted events.

pub mod acdc;
pub mod build;
pub mod cesr;
pub mod event;
pub mod flows;
pub mod inspect;
pub mod said;
pub mod stream;
pub mod verify;

pub use event::{Body, Event, EventError, Ilk, Key, Prefix, Said};
pub use stream::{Message, Payload};
pub use verify::{Ledger, Options, Outcome, Problem};
