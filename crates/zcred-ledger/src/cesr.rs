//! CESR text-domain primitives and attachment counters (keri.md §3–§4).
//!
//! Fixed-size primitives: with raw length `r`, `ps = (3 - r mod 3) mod 3` pad bytes are put in
//! front of the raw, the result is base64url-encoded, and the first `ps` characters (which encode
//! only the zero pad) are replaced by the code. Decoding reverses it and requires the pad bits to
//! be zero, so every primitive has exactly one text form.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zcred_crypto::zetrix::{Signature, VerifyingKey};

/// Why a CESR primitive, counter or attachment group was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CesrError {
    /// The text ends before the primitive or counter does.
    #[error("{what} is cut short: {needed} characters needed, {found} left")]
    Short {
        /// What was being read.
        what: &'static str,
        /// Characters required.
        needed: usize,
        /// Characters available.
        found: usize,
    },
    /// The code is not one this implementation knows.
    #[error("unknown or unsupported CESR code {found:?}")]
    UnknownCode {
        /// The code characters found.
        found: String,
    },
    /// A known code, but not one allowed in this place.
    #[error("expected {expected}, found code {found:?}")]
    UnexpectedCode {
        /// What the place requires.
        expected: &'static str,
        /// The code found.
        found: String,
    },
    /// A character outside the base64url alphabet.
    #[error("{what} is not valid base64url")]
    Base64 {
        /// What was being read.
        what: &'static str,
    },
    /// The pad bits in front of the raw value are not zero (a non-canonical encoding).
    #[error("{what} has non-zero pad bits")]
    Pad {
        /// What was being read.
        what: &'static str,
    },
    /// A value that does not fit (a sequence number past 2^64, an index past the list).
    #[error("{what} is out of range")]
    Range {
        /// What was out of range.
        what: &'static str,
    },
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_value(c: u8) -> Option<u32> {
    B64.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The fixed-size primitive codes zcred reads and writes (keri.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `B`: Ed25519 public key, non-transferable.
    Ed25519N,
    /// `D`: Ed25519 public key, transferable.
    Ed25519,
    /// `E`: Blake3-256 digest.
    Blake3_256,
    /// `0A`: 128-bit salt or nonce; also the sequence-number primitive (Seqner).
    Salt128,
    /// `0B`: Ed25519 signature, not indexed.
    Ed25519Sig,
    /// `1AAG`: a date-time in CESR's custom base64 form.
    DateTime,
}

impl Code {
    const ALL: [Code; 6] = [
        Code::Ed25519N,
        Code::Ed25519,
        Code::Blake3_256,
        Code::Salt128,
        Code::Ed25519Sig,
        Code::DateTime,
    ];

    /// The code's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ed25519N => "B",
            Code::Ed25519 => "D",
            Code::Blake3_256 => "E",
            Code::Salt128 => "0A",
            Code::Ed25519Sig => "0B",
            Code::DateTime => "1AAG",
        }
    }

    /// Length of the raw value in bytes.
    pub fn raw_size(self) -> usize {
        match self {
            Code::Ed25519N | Code::Ed25519 | Code::Blake3_256 => 32,
            Code::Salt128 => 16,
            Code::Ed25519Sig => 64,
            Code::DateTime => 24,
        }
    }

    /// Length of the whole qb64 text.
    pub fn full_size(self) -> usize {
        // The code takes the place of the `ps` pad characters (and of nothing when it is
        // longer, as `1AAG` is with no pad).
        let raw = self.raw_size();
        let ps = (3 - raw % 3) % 3;
        self.as_str().len() - ps + (ps + raw) / 3 * 4
    }

    /// Reads the code at the start of `text`.
    fn read(text: &str) -> Result<Code, CesrError> {
        let hs = match text.as_bytes().first() {
            None => {
                return Err(CesrError::Short {
                    what: "primitive code",
                    needed: 1,
                    found: 0,
                })
            }
            Some(b'0') => 2,
            Some(b'1'..=b'3') => 4,
            Some(_) => 1,
        };
        let code = text.get(..hs).ok_or(CesrError::Short {
            what: "primitive code",
            needed: hs,
            found: text.len(),
        })?;
        Code::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .ok_or_else(|| CesrError::UnknownCode {
                found: code.to_owned(),
            })
    }
}

/// Encodes `raw` under `code`. The caller guarantees `raw.len() == code.raw_size()`.
pub fn encode(code: Code, raw: &[u8]) -> String {
    debug_assert_eq!(raw.len(), code.raw_size());
    let ps = (3 - raw.len() % 3) % 3;
    let mut padded = vec![0u8; ps];
    padded.extend_from_slice(raw);
    let b64 = URL_SAFE_NO_PAD.encode(padded);
    let mut out = String::with_capacity(code.full_size());
    out.push_str(code.as_str());
    out.push_str(&b64[ps..]);
    out
}

/// Decodes the characters after a `hs`-character header whose place `ps` pad characters take.
fn decode_body(text: &str, ps: usize, what: &'static str) -> Result<Vec<u8>, CesrError> {
    let mut b64 = "A".repeat(ps);
    b64.push_str(text);
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| CesrError::Base64 { what })?;
    if bytes[..ps].iter().any(|&b| b != 0) {
        return Err(CesrError::Pad { what });
    }
    Ok(bytes[ps..].to_vec())
}

/// A decoded fixed-size primitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    /// Its code.
    pub code: Code,
    /// Its raw bytes (`code.raw_size()` of them).
    pub raw: Vec<u8>,
}

impl Matter {
    /// Reads one primitive from the start of `text`; returns it and the characters it used.
    pub fn read(text: &str) -> Result<(Matter, usize), CesrError> {
        let code = Code::read(text)?;
        let fs = code.full_size();
        let qb64 = text.get(..fs).ok_or(CesrError::Short {
            what: "primitive",
            needed: fs,
            found: text.len(),
        })?;
        let cs = code.as_str().len();
        let ps = (3 - code.raw_size() % 3) % 3;
        let raw = decode_body(&qb64[cs..], ps, "primitive")?;
        Ok((Matter { code, raw }, fs))
    }

    /// Parses a whole string as exactly one primitive.
    pub fn parse(text: &str) -> Result<Matter, CesrError> {
        let (m, used) = Matter::read(text)?;
        if used != text.len() {
            return Err(CesrError::Short {
                what: "primitive (trailing characters)",
                needed: used,
                found: text.len(),
            });
        }
        Ok(m)
    }

    /// Parses `text` as one primitive whose code is one of `allowed`.
    pub fn parse_as(
        text: &str,
        allowed: &[Code],
        expected: &'static str,
    ) -> Result<Matter, CesrError> {
        let m = Matter::parse(text)?;
        if allowed.contains(&m.code) {
            Ok(m)
        } else {
            Err(CesrError::UnexpectedCode {
                expected,
                found: m.code.as_str().to_owned(),
            })
        }
    }

    /// The qb64 text.
    pub fn qb64(&self) -> String {
        encode(self.code, &self.raw)
    }
}

/// The Blake3-256 digest of `data` as qb64 (`E…`).
pub fn digest(data: &[u8]) -> String {
    encode(Code::Blake3_256, blake3::hash(data).as_bytes())
}

/// An Ed25519 public key as qb64: `D…` when transferable, `B…` when not.
pub fn encode_key(key: &VerifyingKey, transferable: bool) -> String {
    let code = if transferable {
        Code::Ed25519
    } else {
        Code::Ed25519N
    };
    encode(code, &key.to_bytes())
}

/// Parses a qb64 Ed25519 public key (`B…` or `D…`).
pub fn decode_key(text: &str) -> Result<VerifyingKey, CesrError> {
    let m = Matter::parse_as(
        text,
        &[Code::Ed25519, Code::Ed25519N],
        "an Ed25519 public key (B or D)",
    )?;
    let raw: [u8; 32] = m.raw.as_slice().try_into().map_err(|_| CesrError::Range {
        what: "public key length",
    })?;
    VerifyingKey::from_bytes(&raw).map_err(|_| CesrError::Range {
        what: "Ed25519 public key (not a curve point)",
    })
}

/// A sequence number as the `0A` Seqner primitive (16-byte big-endian).
pub fn encode_seqner(sn: u64) -> String {
    encode(Code::Salt128, &u128::from(sn).to_be_bytes())
}

fn seqner_value(m: &Matter) -> Result<u64, CesrError> {
    let mut be = [0u8; 16];
    be.copy_from_slice(&m.raw);
    u64::try_from(u128::from_be_bytes(be)).map_err(|_| CesrError::Range {
        what: "sequence number",
    })
}

/// An indexed Ed25519 signature (`A` + index + signature; 88 characters).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Siger {
    /// Position of the signing key in the key (or witness) list.
    pub index: u32,
    /// The signature.
    pub signature: Signature,
}

impl std::fmt::Debug for Siger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Siger({}, {})", self.index, self.signature)
    }
}

impl Siger {
    const SIZE: usize = 88;

    /// The qb64 text. Indices must be below 64 (the one-character form).
    pub fn qb64(&self) -> String {
        debug_assert!(self.index < 64);
        let b64 = URL_SAFE_NO_PAD.encode([&[0u8, 0][..], &self.signature.to_bytes()[..]].concat());
        let mut out = String::with_capacity(Self::SIZE);
        out.push('A');
        out.push(B64[self.index as usize & 63] as char);
        out.push_str(&b64[2..]);
        out
    }

    /// Reads one indexed signature from the start of `text`.
    pub fn read(text: &str) -> Result<(Siger, usize), CesrError> {
        let qb64 = text.get(..Self::SIZE).ok_or(CesrError::Short {
            what: "indexed signature",
            needed: Self::SIZE,
            found: text.len(),
        })?;
        if !qb64.starts_with('A') {
            return Err(CesrError::UnexpectedCode {
                expected: "an indexed Ed25519 signature (code A)",
                found: qb64.chars().take(1).collect(),
            });
        }
        let index = b64_value(qb64.as_bytes()[1]).ok_or(CesrError::Base64 {
            what: "signature index",
        })?;
        let raw = decode_body(&qb64[2..], 2, "indexed signature")?;
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&raw);
        Ok((
            Siger {
                index,
                signature: Signature::from_bytes(sig),
            },
            Self::SIZE,
        ))
    }
}

/// A non-indexed Ed25519 signature (`0B…`).
pub fn encode_signature(signature: &Signature) -> String {
    encode(Code::Ed25519Sig, &signature.to_bytes())
}

fn signature_of(m: &Matter) -> Signature {
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&m.raw);
    Signature::from_bytes(sig)
}

/// The attachment counters of CESR v1 that zcred reads (keri.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Counter {
    /// `-A`: controller indexed signatures.
    ControllerSigs,
    /// `-B`: witness (or backer) indexed signatures.
    WitnessSigs,
    /// `-C`: non-transferable receipt couples (prefix + signature).
    ReceiptCouples,
    /// `-D`: transferable receipt groups (prefix + sn + SAID + `-A` group).
    TransReceiptGroups,
    /// `-E`: first-seen replay couples (sn + date-time).
    FirstSeenCouples,
    /// `-F`: signatures of a transferable identifier tied to its establishment event.
    TransSigGroups,
    /// `-G`: source seal couples (sn + SAID of the anchoring or approving event).
    SealSourceCouples,
    /// `-H`: signatures of a transferable identifier against its latest keys.
    TransLastSigGroups,
    /// `-I`: source seal triples (prefix + sn + SAID).
    SealSourceTriples,
    /// `-V`: an attachment group wrapper; the count is in quadlets.
    AttachedGroup,
}

impl Counter {
    /// Every counter with its code letter.
    const TABLE: [(Counter, u8); 10] = [
        (Counter::ControllerSigs, b'A'),
        (Counter::WitnessSigs, b'B'),
        (Counter::ReceiptCouples, b'C'),
        (Counter::TransReceiptGroups, b'D'),
        (Counter::FirstSeenCouples, b'E'),
        (Counter::TransSigGroups, b'F'),
        (Counter::SealSourceCouples, b'G'),
        (Counter::TransLastSigGroups, b'H'),
        (Counter::SealSourceTriples, b'I'),
        (Counter::AttachedGroup, b'V'),
    ];

    fn letter(self) -> char {
        Counter::TABLE
            .iter()
            .find(|(c, _)| *c == self)
            .map_or('?', |(_, l)| *l as char)
    }

    /// `-X##` for `count` items (at most 4095).
    pub fn encode(self, count: usize) -> String {
        debug_assert!(count < 4096);
        let mut out = String::with_capacity(4);
        out.push('-');
        out.push(self.letter());
        out.push(B64[(count >> 6) & 63] as char);
        out.push(B64[count & 63] as char);
        out
    }

    /// Reads a counter at the start of `text`: the counter, its count, and 4.
    pub fn read(text: &str) -> Result<(Counter, usize), CesrError> {
        let b = text.as_bytes();
        if b.len() < 4 {
            return Err(CesrError::Short {
                what: "counter",
                needed: 4,
                found: b.len(),
            });
        }
        if b[0] != b'-' {
            return Err(CesrError::UnexpectedCode {
                expected: "an attachment counter (-X##)",
                found: String::from_utf8_lossy(&b[..1]).into_owned(),
            });
        }
        let counter = Counter::TABLE
            .iter()
            .find(|(_, letter)| *letter == b[1])
            .map(|(c, _)| *c)
            .ok_or_else(|| CesrError::UnknownCode {
                found: String::from_utf8_lossy(&b[..2]).into_owned(),
            })?;
        let hi = b64_value(b[2]).ok_or(CesrError::Base64 { what: "counter" })?;
        let lo = b64_value(b[3]).ok_or(CesrError::Base64 { what: "counter" })?;
        Ok((counter, ((hi << 6) | lo) as usize))
    }
}

/// A signature group of a transferable identifier (`-F`, `-D`): who signed, with the keys of
/// which establishment event, and the indexed signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransSigGroup {
    /// The signer's prefix.
    pub prefix: String,
    /// Sequence number of the signer's establishment event.
    pub sn: u64,
    /// SAID of that establishment event.
    pub said: String,
    /// The signatures, indexed into that event's keys.
    pub sigs: Vec<Siger>,
}

/// Everything attached to one event in a CESR stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachments {
    /// `-A`: controller signatures.
    pub sigs: Vec<Siger>,
    /// `-B`: witness or backer signatures.
    pub wigs: Vec<Siger>,
    /// `-C`: non-transferable receipt couples.
    pub receipts: Vec<(String, Signature)>,
    /// `-D`: transferable receipt groups.
    pub trans_receipts: Vec<TransSigGroup>,
    /// `-E`: first-seen ordinal and date-time (qb64 `1AAG…`).
    pub first_seen: Vec<(u64, String)>,
    /// `-F`: endorsements by transferable identifiers.
    pub endorsements: Vec<TransSigGroup>,
    /// `-G`: source seals (sn, SAID) of the approving or anchoring event.
    pub source_seals: Vec<(u64, String)>,
    /// `-H`: signatures against the latest keys of a prefix.
    pub last_sigs: Vec<(String, Vec<Siger>)>,
    /// `-I`: source seal triples (prefix, sn, SAID).
    pub source_triples: Vec<(String, u64, String)>,
}

/// A cursor over attachment text.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn matter(&mut self, allowed: &[Code], expected: &'static str) -> Result<Matter, CesrError> {
        let (m, used) = Matter::read(self.rest())?;
        if !allowed.contains(&m.code) {
            return Err(CesrError::UnexpectedCode {
                expected,
                found: m.code.as_str().to_owned(),
            });
        }
        self.pos += used;
        Ok(m)
    }

    fn prefix(&mut self) -> Result<String, CesrError> {
        self.matter(
            &[Code::Ed25519, Code::Ed25519N, Code::Blake3_256],
            "an identifier prefix (B, D or E)",
        )
        .map(|m| m.qb64())
    }

    fn seqner(&mut self) -> Result<u64, CesrError> {
        let m = self.matter(&[Code::Salt128], "a sequence number (0A)")?;
        seqner_value(&m)
    }

    fn said(&mut self) -> Result<String, CesrError> {
        self.matter(&[Code::Blake3_256], "a Blake3-256 SAID (E)")
            .map(|m| m.qb64())
    }

    fn counter(&mut self) -> Result<(Counter, usize), CesrError> {
        let c = Counter::read(self.rest())?;
        self.pos += 4;
        Ok(c)
    }

    fn sigers(&mut self, count: usize) -> Result<Vec<Siger>, CesrError> {
        (0..count)
            .map(|_| {
                let (s, used) = Siger::read(self.rest())?;
                self.pos += used;
                Ok(s)
            })
            .collect()
    }

    fn sig_group(&mut self) -> Result<Vec<Siger>, CesrError> {
        match self.counter()? {
            (Counter::ControllerSigs, n) => self.sigers(n),
            (other, _) => Err(CesrError::UnexpectedCode {
                expected: "a -A signature group",
                found: format!("-{}", other.letter()),
            }),
        }
    }

    fn trans_group(&mut self) -> Result<TransSigGroup, CesrError> {
        Ok(TransSigGroup {
            prefix: self.prefix()?,
            sn: self.seqner()?,
            said: self.said()?,
            sigs: self.sig_group()?,
        })
    }

    /// Reads attachment groups until the text ends or a non-counter character comes. Each
    /// group type may appear once per message, and `-V` wrappers do not nest (as keripy).
    fn groups(
        &mut self,
        into: &mut Attachments,
        end: usize,
        seen: &mut Vec<Counter>,
    ) -> Result<(), CesrError> {
        while self.pos < end && self.text.as_bytes()[self.pos] == b'-' {
            let (counter, n) = self.counter()?;
            if seen.contains(&counter) {
                return Err(CesrError::Range {
                    what: "attachments (a group type appears twice, or -V groups nest)",
                });
            }
            seen.push(counter);
            match counter {
                Counter::ControllerSigs => into.sigs.extend(self.sigers(n)?),
                Counter::WitnessSigs => into.wigs.extend(self.sigers(n)?),
                Counter::ReceiptCouples => {
                    for _ in 0..n {
                        let pre =
                            self.matter(&[Code::Ed25519N], "a non-transferable prefix (B)")?;
                        let sig = self.matter(&[Code::Ed25519Sig], "a signature (0B)")?;
                        into.receipts.push((pre.qb64(), signature_of(&sig)));
                    }
                }
                Counter::TransReceiptGroups => {
                    for _ in 0..n {
                        into.trans_receipts.push(self.trans_group()?);
                    }
                }
                Counter::FirstSeenCouples => {
                    for _ in 0..n {
                        let sn = self.seqner()?;
                        let dt = self.matter(&[Code::DateTime], "a date-time (1AAG)")?;
                        into.first_seen.push((sn, dt.qb64()));
                    }
                }
                Counter::TransSigGroups => {
                    for _ in 0..n {
                        into.endorsements.push(self.trans_group()?);
                    }
                }
                Counter::SealSourceCouples => {
                    for _ in 0..n {
                        let sn = self.seqner()?;
                        let said = self.said()?;
                        into.source_seals.push((sn, said));
                    }
                }
                Counter::TransLastSigGroups => {
                    for _ in 0..n {
                        let pre = self.prefix()?;
                        let sigs = self.sig_group()?;
                        into.last_sigs.push((pre, sigs));
                    }
                }
                Counter::SealSourceTriples => {
                    for _ in 0..n {
                        let pre = self.prefix()?;
                        let sn = self.seqner()?;
                        let said = self.said()?;
                        into.source_triples.push((pre, sn, said));
                    }
                }
                Counter::AttachedGroup => {
                    let inner_end = self.pos + n * 4;
                    if inner_end > self.text.len() {
                        return Err(CesrError::Short {
                            what: "-V attachment group",
                            needed: n * 4,
                            found: self.text.len() - self.pos,
                        });
                    }
                    self.groups(into, inner_end, seen)?;
                    if self.pos != inner_end {
                        return Err(CesrError::Range {
                            what: "-V group size (its contents do not fill it exactly)",
                        });
                    }
                }
            }
            if self.pos > end {
                return Err(CesrError::Range {
                    what: "attachment group (runs past its -V wrapper)",
                });
            }
        }
        Ok(())
    }
}

impl Attachments {
    /// Reads the attachment groups at the start of `text` (stopping at the first character that
    /// does not start a counter); returns them and the characters used.
    pub fn read(text: &str) -> Result<(Attachments, usize), CesrError> {
        let mut into = Attachments::default();
        let mut r = Reader { text, pos: 0 };
        r.groups(&mut into, text.len(), &mut Vec::new())?;
        Ok((into, r.pos))
    }

    /// True when nothing is attached.
    pub fn is_empty(&self) -> bool {
        *self == Attachments::default()
    }

    /// The CESR text of the attachments, in a fixed group order (no `-V` wrapper, as keripy
    /// v1.2 writes by default).
    pub fn to_text(&self) -> String {
        // A signature list: its counter and signatures. Inside a group (`-D`, `-F`, `-H`) the
        // `-A` counter is written even for an empty list, since the reader expects it there.
        fn sig_list(out: &mut String, c: Counter, list: &[Siger]) {
            out.push_str(&c.encode(list.len()));
            list.iter().for_each(|s| out.push_str(&s.qb64()));
        }
        fn sigs(out: &mut String, c: Counter, list: &[Siger]) {
            if !list.is_empty() {
                sig_list(out, c, list);
            }
        }
        fn groups(out: &mut String, c: Counter, list: &[TransSigGroup]) {
            if !list.is_empty() {
                out.push_str(&c.encode(list.len()));
                for g in list {
                    out.push_str(&g.prefix);
                    out.push_str(&encode_seqner(g.sn));
                    out.push_str(&g.said);
                    sig_list(out, Counter::ControllerSigs, &g.sigs);
                }
            }
        }
        let mut out = String::new();
        sigs(&mut out, Counter::ControllerSigs, &self.sigs);
        sigs(&mut out, Counter::WitnessSigs, &self.wigs);
        if !self.receipts.is_empty() {
            out.push_str(&Counter::ReceiptCouples.encode(self.receipts.len()));
            for (pre, sig) in &self.receipts {
                out.push_str(pre);
                out.push_str(&encode_signature(sig));
            }
        }
        groups(&mut out, Counter::TransReceiptGroups, &self.trans_receipts);
        if !self.first_seen.is_empty() {
            out.push_str(&Counter::FirstSeenCouples.encode(self.first_seen.len()));
            for (sn, dt) in &self.first_seen {
                out.push_str(&encode_seqner(*sn));
                out.push_str(dt);
            }
        }
        groups(&mut out, Counter::TransSigGroups, &self.endorsements);
        if !self.source_seals.is_empty() {
            out.push_str(&Counter::SealSourceCouples.encode(self.source_seals.len()));
            for (sn, said) in &self.source_seals {
                out.push_str(&encode_seqner(*sn));
                out.push_str(said);
            }
        }
        if !self.last_sigs.is_empty() {
            out.push_str(&Counter::TransLastSigGroups.encode(self.last_sigs.len()));
            for (pre, list) in &self.last_sigs {
                out.push_str(pre);
                sig_list(&mut out, Counter::ControllerSigs, list);
            }
        }
        if !self.source_triples.is_empty() {
            out.push_str(&Counter::SealSourceTriples.encode(self.source_triples.len()));
            for (pre, sn, said) in &self.source_triples {
                out.push_str(pre);
                out.push_str(&encode_seqner(*sn));
                out.push_str(said);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqner_forms_match_keri_md() {
        assert_eq!(encode_seqner(0), "0AAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(encode_seqner(1), "0AAAAAAAAAAAAAAAAAAAAAAB");
        let m = Matter::parse("0AAAAAAAAAAAAAAAAAAAAAAB").unwrap();
        assert_eq!(seqner_value(&m).unwrap(), 1);
    }

    #[test]
    fn sizes_of_codes() {
        assert_eq!(Code::Blake3_256.full_size(), 44);
        assert_eq!(Code::Salt128.full_size(), 24);
        assert_eq!(Code::Ed25519Sig.full_size(), 88);
        assert_eq!(Code::DateTime.full_size(), 36);
    }

    #[test]
    fn primitives_round_trip_and_refuse_bad_pad() {
        let d = digest(b"abc");
        assert_eq!(d.len(), 44);
        let m = Matter::parse(&d).unwrap();
        assert_eq!(m.code, Code::Blake3_256);
        assert_eq!(m.qb64(), d);
        // The second character of an `E` primitive carries two pad bits that must be zero.
        let mut bad = d.clone().into_bytes();
        bad[1] = b'_';
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(
            Matter::parse(&bad),
            Err(CesrError::Pad { what: "primitive" })
        );
    }

    /// Attachments read back from what `to_text` writes: several `-H` groups go under one
    /// counter, and an empty signature list inside a group keeps its `-A` counter. (Both were
    /// found by the `cesr_primitives` fuzz target.)
    #[test]
    fn attachments_round_trip() {
        for text in [
            "-FABDNBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c30AAAAAAAAAAAAAAAAAAAAAAFEOZs-1XtuATEuoVhLV7dHMSrVQ3nynVXJTJqF3wz9K1I-AAA",
            &format!(
                "-HAC{}-AAA{}-AAA",
                digest(b"one"),
                digest(b"two")
            ),
        ] {
            let (read, used) = Attachments::read(text).unwrap();
            assert_eq!(used, text.len());
            let written = read.to_text();
            assert_eq!(written, text);
            assert_eq!(Attachments::read(&written).unwrap(), (read, written.len()));
        }
    }

    #[test]
    fn counters_round_trip() {
        for n in [0, 1, 63, 64, 4095] {
            let text = Counter::SealSourceCouples.encode(n);
            assert_eq!(
                Counter::read(&text).unwrap(),
                (Counter::SealSourceCouples, n)
            );
        }
        assert_eq!(Counter::ControllerSigs.encode(1), "-AAB");
        assert!(matches!(
            Counter::read("-ZAB"),
            Err(CesrError::UnknownCode { .. })
        ));
    }
}
