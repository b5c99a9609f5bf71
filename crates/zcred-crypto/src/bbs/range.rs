//! Range proofs over hidden BBS+ messages (api.md OP-11): "the hidden value of attribute `path`
//! lies in `[min, max]`", with no trusted setup.
//!
//! **Integer messages** ([`integer_message`](super::integer_message)): a range needs the value
//! signed as a number, not hashed, so a range-provable attribute has one more message,
//! `m = tag(path)·2⁶⁴ + (value + 2⁶³)`. The tag binds the message to its attribute: a proof
//! about `path` against the integer message of another attribute would need a value outside
//! every 64-bit window, which the range proof excludes.
//!
//! **The proof.** For each statement, Bulletproofs++ (Dock's `bulletproofs_plus_plus`, base 16,
//! the smallest of 8/16/32/64 bits that holds `max − min`) proves `v − min ≥ 0` and
//! `max − v ≥ 0` over Pedersen commitments `C1 = G·v + H·r1`, `C2 = G·v − H·r2` (`v` being the
//! offset value; generators from the setup label `zcred-range-v1`). Two Schnorr proofs show that
//! the `v` of `C1` and `C2`, shifted by `tag·2⁶⁴`, is the hidden message of the BBS+ proof: they
//! share its challenge and its response for that message (`blinding − c·m`).
//!
//! The BBS+ proof stays exactly `BbsBlsSignatureProof2020` in MATTR's framing. Its nonce is
//! `Blake2b-256("zcred-range-v1" ‖ each statement and its proof without the responses)`, so its
//! challenge covers the range proofs, and a verifier that knows nothing of ranges still verifies
//! the disclosure. A range proof's bytes: `bits(1) ‖ T1(48) ‖ T2(48) ‖ z1(32) ‖ z2(32) ‖ BPP`
//! (the BPP proof in arkworks' compressed serialization).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ark_bls12_381::{Fr, G1Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use bulletproofs_plus_plus::prelude::{ProofArbitraryRange, SetupParams};
use dock_crypto_utils::transcript::{new_merlin_transcript, Transcript};
use rand_core::CryptoRngCore;

use super::proof::{self, SchnorrProof};
use super::{
    g1_to_bytes, integer_message, offset, random_scalar, scalar_from_bytes, scalar_to_bytes,
    tag_shift, BbsError, Message, ProofHeader, PublicKey, Signature,
};

const LABEL: &[u8] = b"zcred-range-v1";
const BASE: u16 = 16;
const BITS: [u16; 4] = [8, 16, 32, 64];

/// Why a range proof could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// The BBS+ part failed (see [`BbsError`]).
    #[error(transparent)]
    Bbs(#[from] BbsError),
    /// The statement itself is unusable: min > max, a bound out of reach, or (when proving) a
    /// value outside the range. The holder cannot prove a false statement.
    #[error("{0}")]
    Statement(String),
    /// The proof bytes are not a range proof.
    #[error("range proof is malformed: {0}")]
    Malformed(&'static str),
    /// The proof was checked and does not hold.
    #[error("range proof does not verify: {0}")]
    Invalid(&'static str),
}

/// "The hidden message at `message_index`, the integer message of `path`, lies in
/// `[min, max]`" (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeStatement<'a> {
    /// Index of the integer message in the signed list.
    pub message_index: usize,
    /// The attribute path (`<subjectKey>.<key>`).
    pub path: &'a str,
    /// Lower bound, inclusive.
    pub min: i64,
    /// Upper bound, inclusive.
    pub max: i64,
}

impl RangeStatement<'_> {
    /// The bounds as offset unsigned values `[min', max' + 1)`, and the bit size used.
    fn bounds(&self) -> Result<(u64, u64, u16), RangeError> {
        if self.min > self.max {
            return Err(RangeError::Statement(format!(
                "range of {}: min {} is greater than max {}",
                self.path, self.min, self.max
            )));
        }
        if self.max == i64::MAX {
            return Err(RangeError::Statement(format!(
                "range of {}: max must be below {}",
                self.path,
                i64::MAX
            )));
        }
        let (lo, hi) = (offset(self.min), offset(self.max));
        let span = hi - lo;
        let bits = BITS
            .into_iter()
            .find(|&b| b == 64 || span < (1u64 << b))
            .unwrap_or(64);
        Ok((lo, hi + 1, bits))
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.message_index as u32).to_be_bytes());
        out.extend_from_slice(&(self.path.len() as u32).to_be_bytes());
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(&self.min.to_be_bytes());
        out.extend_from_slice(&self.max.to_be_bytes());
    }
}

fn setup(bits: u16) -> &'static SetupParams<G1Affine> {
    static SETUPS: [OnceLock<SetupParams<G1Affine>>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let slot = BITS.iter().position(|&b| b == bits).unwrap_or(3);
    SETUPS[slot].get_or_init(|| {
        SetupParams::new_for_arbitrary_range_proof::<Blake2b512>(LABEL, BASE, bits, 1)
    })
}

fn transcript(statement: &RangeStatement<'_>) -> impl Transcript {
    let mut t = new_merlin_transcript(LABEL);
    let mut bytes = Vec::new();
    statement.write(&mut bytes);
    t.append_message(b"statement", &bytes);
    t
}

/// One range proof, parsed.
struct RangeProof {
    bits: u16,
    t1: G1Affine,
    t2: G1Affine,
    z1: Fr,
    z2: Fr,
    bpp: ProofArbitraryRange<G1Affine>,
    bpp_bytes: Vec<u8>,
}

impl RangeProof {
    fn parse(bytes: &[u8]) -> Result<Self, RangeError> {
        const HEAD: usize = 1 + 48 + 48 + 32 + 32;
        if bytes.len() <= HEAD {
            return Err(RangeError::Malformed("too short"));
        }
        let bits = u16::from(bytes[0]);
        if !BITS.contains(&bits) {
            return Err(RangeError::Malformed("bit size must be 8, 16, 32 or 64"));
        }
        let point = |b: &[u8]| {
            G1Affine::deserialize_compressed(b).map_err(|_| RangeError::Malformed("bad point"))
        };
        let scalar = |b: &[u8]| scalar_from_bytes(b).ok_or(RangeError::Malformed("bad scalar"));
        let bpp_bytes = bytes[HEAD..].to_vec();
        let bpp = ProofArbitraryRange::<G1Affine>::deserialize_compressed(&bpp_bytes[..])
            .map_err(|_| RangeError::Malformed("bad Bulletproofs++ proof"))?;
        if bpp.V.len() != 2 {
            return Err(RangeError::Malformed("one range per proof"));
        }
        Ok(Self {
            bits,
            t1: point(&bytes[1..49])?,
            t2: point(&bytes[49..97])?,
            z1: scalar(&bytes[97..129])?,
            z2: scalar(&bytes[129..161])?,
            bpp,
            bpp_bytes,
        })
    }

    /// Everything but the responses, as the nonce hashes it.
    fn write_committed(&self, out: &mut Vec<u8>) {
        out.push(self.bits as u8);
        out.extend_from_slice(&g1_to_bytes(&self.t1));
        out.extend_from_slice(&g1_to_bytes(&self.t2));
        out.extend_from_slice(&(self.bpp_bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.bpp_bytes);
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(161 + self.bpp_bytes.len());
        out.push(self.bits as u8);
        out.extend_from_slice(&g1_to_bytes(&self.t1));
        out.extend_from_slice(&g1_to_bytes(&self.t2));
        out.extend_from_slice(&scalar_to_bytes(&self.z1));
        out.extend_from_slice(&scalar_to_bytes(&self.z2));
        out.extend_from_slice(&self.bpp_bytes);
        out
    }
}

/// The BBS+ proof nonce that commits to the range proofs.
fn derived_nonce(items: &[(&RangeStatement<'_>, &RangeProof)]) -> [u8; 32] {
    let mut bytes = LABEL.to_vec();
    for (statement, proof) in items {
        statement.write(&mut bytes);
        proof.write_committed(&mut bytes);
    }
    Blake2b::<U32>::digest(&bytes).into()
}

/// A selective-disclosure proof with linked range proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeDisclosure {
    /// The framed BBS+ proof (`BbsBlsSignatureProof2020` `proofValue`).
    pub proof: Vec<u8>,
    /// Its nonce (`BbsBlsSignatureProof2020` `nonce`), derived from the range proofs.
    pub nonce: [u8; 32],
    /// One range proof per statement, in order.
    pub ranges: Vec<Vec<u8>>,
}

/// Proves the disclosure of `revealed` and, for each statement with the hidden value it is
/// about, that the value lies in its range. Statements must be non-empty, each on a hidden
/// integer message that holds its value.
pub fn prove<R: CryptoRngCore + ?Sized>(
    public_key: &PublicKey,
    signature: &Signature,
    messages: &[Message],
    revealed: &BTreeSet<usize>,
    statements: &[(RangeStatement<'_>, i64)],
    rng: &mut R,
) -> Result<RangeDisclosure, RangeError> {
    if statements.is_empty() {
        return Err(RangeError::Statement("no range statement".into()));
    }
    struct Pending {
        proof: RangeProof,
        r1: Fr,
        r2: Fr,
        b1: Fr,
        b2: Fr,
    }
    let mut blindings = BTreeMap::new();
    let mut pending = Vec::with_capacity(statements.len());
    for (statement, value) in statements {
        let (lo, hi_excl, bits) = statement.bounds()?;
        let v = offset(*value);
        if !(lo..hi_excl).contains(&v) {
            return Err(RangeError::Statement(format!(
                "the value of {} is not in the range {}-{}",
                statement.path, statement.min, statement.max
            )));
        }
        if messages.get(statement.message_index) != Some(&integer_message(statement.path, *value)) {
            return Err(RangeError::Statement(format!(
                "message {} is not the integer message of {}",
                statement.message_index, statement.path
            )));
        }
        if blindings.contains_key(&statement.message_index) {
            return Err(RangeError::Statement(format!(
                "two ranges over {}",
                statement.path
            )));
        }
        let setup = setup(bits);
        let (g, h) = (setup.G, setup.H_vec[0]);
        let (r1, r2) = (random_scalar(rng), random_scalar(rng));
        let bpp = ProofArbitraryRange::new_with_given_base(
            &mut &mut *rng,
            BASE,
            bits,
            vec![(v, lo, hi_excl)],
            vec![r1, r2],
            setup.clone(),
            &mut transcript(statement),
        )
        .map_err(|_| RangeError::Statement("the range proof could not be made".into()))?;
        let mut bpp_bytes = Vec::new();
        bpp.serialize_compressed(&mut bpp_bytes)
            .map_err(|_| RangeError::Malformed("serialization"))?;
        let (bv, b1, b2) = (random_scalar(rng), random_scalar(rng), random_scalar(rng));
        blindings.insert(statement.message_index, bv);
        let gv = g * bv;
        pending.push(Pending {
            proof: RangeProof {
                bits,
                t1: (gv + h * b1).into_affine(),
                t2: (gv + h * b2).into_affine(),
                z1: Fr::from(0u64),
                z2: Fr::from(0u64),
                bpp,
                bpp_bytes,
            },
            r1,
            r2,
            b1,
            b2,
        });
    }
    let items: Vec<_> = statements
        .iter()
        .zip(&pending)
        .map(|((s, _), p)| (s, &p.proof))
        .collect();
    let nonce = derived_nonce(&items);
    let (proof, c) = proof::prove(
        public_key, signature, messages, revealed, &blindings, &nonce, rng,
    )?;
    let ranges = pending
        .into_iter()
        .map(|mut p| {
            p.proof.z1 = p.b1 - c * p.r1;
            p.proof.z2 = p.b2 + c * p.r2;
            p.proof.to_bytes()
        })
        .collect();
    Ok(RangeDisclosure {
        proof,
        nonce,
        ranges,
    })
}

/// Verifies a disclosure with range proofs: the nonce commits to the range proofs, the BBS+
/// proof verifies over the revealed messages, each range proof holds, and each is linked to
/// the hidden integer message it names.
pub fn verify(
    public_key: &PublicKey,
    proof: &[u8],
    revealed_messages: &[Message],
    nonce: &[u8],
    ranges: &[(RangeStatement<'_>, &[u8])],
) -> Result<ProofHeader, RangeError> {
    if ranges.is_empty() {
        return Err(RangeError::Statement("no range statement".into()));
    }
    let parsed = ranges
        .iter()
        .map(|(s, bytes)| RangeProof::parse(bytes).map(|p| (s, p)))
        .collect::<Result<Vec<_>, _>>()?;
    let items: Vec<_> = parsed.iter().map(|(s, p)| (*s, p)).collect();
    if derived_nonce(&items).as_slice() != nonce {
        return Err(RangeError::Invalid(
            "the disclosure's nonce does not commit to these range proofs",
        ));
    }
    let verified = proof::check(public_key, proof, revealed_messages, nonce)?;
    for (statement, rp) in &parsed {
        let (lo, hi_excl, bits) = statement.bounds()?;
        if bits != rp.bits {
            return Err(RangeError::Invalid("the bit size does not fit the range"));
        }
        let Some(z_v) = verified.hidden_responses.get(&statement.message_index) else {
            return Err(RangeError::Invalid(
                "the range is not over a hidden message of the disclosure",
            ));
        };
        let setup = setup(bits);
        rp.bpp
            .verify(bits, setup, &mut transcript(statement))
            .map_err(|_| RangeError::Invalid("the Bulletproofs++ proof does not hold"))?;
        let (c1, c2) = rp
            .bpp
            .get_commitments_to_values(vec![(lo, hi_excl)], setup)
            .map_err(|_| RangeError::Invalid("the Bulletproofs++ commitments are unusable"))?[0];
        let shift = setup.G * tag_shift(statement.path);
        let bases = [setup.G, setup.H_vec[0]];
        let linked = |t: G1Affine, z: Fr, c: G1Affine| {
            SchnorrProof {
                commitment: t,
                responses: vec![*z_v, z],
            }
            .holds(&bases, c.into_group() + shift, &verified.challenge)
        };
        if !linked(rp.t1, rp.z1, c1) || !linked(rp.t2, rp.z2, c2) {
            return Err(RangeError::Invalid(
                "the committed value is not the signed message",
            ));
        }
    }
    Ok(verified.header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbs::{KeyPair, SecretKey};
    use rand_core::OsRng;

    fn credential() -> (KeyPair, Vec<Message>, Signature) {
        let kp = KeyPair::new(SecretKey::generate(&mut OsRng));
        let mut msgs = Message::hash_all(&["id: did:zid:ab", "p.name: Ali", "p.age: 21"]);
        msgs.push(integer_message("p.age", 21));
        msgs.push(integer_message("p.debt", -500));
        let sig = kp.sign_messages(&msgs, &mut OsRng).unwrap();
        (kp, msgs, sig)
    }

    #[test]
    fn proves_and_verifies_ranges_linked_to_the_signature() {
        let (kp, msgs, sig) = credential();
        let revealed: BTreeSet<usize> = [0, 1].into_iter().collect();
        let age = RangeStatement {
            message_index: 3,
            path: "p.age",
            min: 18,
            max: 65,
        };
        let debt = RangeStatement {
            message_index: 4,
            path: "p.debt",
            min: -1_000_000_000_000,
            max: 0,
        };
        let d = prove(
            kp.public(),
            &sig,
            &msgs,
            &revealed,
            &[(age, 21), (debt, -500)],
            &mut OsRng,
        )
        .unwrap();
        let shown = [msgs[0], msgs[1]];
        let ranges = [(age, &d.ranges[0][..]), (debt, &d.ranges[1][..])];
        verify(kp.public(), &d.proof, &shown, &d.nonce, &ranges).unwrap();
        // A plain disclosure verifier accepts the BBS+ part alone.
        super::super::verify_proof_over(kp.public(), &d.proof, &shown, &d.nonce).unwrap();

        // Other bounds, another attribute's message, a tampered proof: all refused.
        let wider = RangeStatement { min: 17, ..age };
        assert!(verify(
            kp.public(),
            &d.proof,
            &shown,
            &d.nonce,
            &[(wider, &d.ranges[0][..])]
        )
        .is_err());
        let swapped = [(age, &d.ranges[1][..]), (debt, &d.ranges[0][..])];
        assert!(verify(kp.public(), &d.proof, &shown, &d.nonce, &swapped).is_err());
        let other_path = RangeStatement {
            path: "p.debt",
            ..age
        };
        assert!(verify(
            kp.public(),
            &d.proof,
            &shown,
            &d.nonce,
            &[(other_path, &d.ranges[0][..]), (debt, &d.ranges[1][..])]
        )
        .is_err());
        let mut bad = d.ranges[0].clone();
        bad[100] ^= 1;
        assert!(verify(
            kp.public(),
            &d.proof,
            &shown,
            &d.nonce,
            &[(age, &bad[..]), (debt, &d.ranges[1][..])]
        )
        .is_err());
        assert!(verify(kp.public(), &d.proof, &shown, &[0u8; 32], &ranges).is_err());
    }

    #[test]
    fn refuses_false_or_unusable_statements() {
        let (kp, msgs, sig) = credential();
        let revealed = BTreeSet::new();
        let make = |min, max, value| {
            prove(
                kp.public(),
                &sig,
                &msgs,
                &revealed,
                &[(
                    RangeStatement {
                        message_index: 3,
                        path: "p.age",
                        min,
                        max,
                    },
                    value,
                )],
                &mut OsRng,
            )
        };
        assert!(matches!(make(22, 65, 21), Err(RangeError::Statement(_))));
        assert!(matches!(make(30, 20, 21), Err(RangeError::Statement(_))));
        assert!(matches!(
            make(0, i64::MAX, 21),
            Err(RangeError::Statement(_))
        ));
        // The claimed value is not the signed one.
        assert!(matches!(make(0, 100, 22), Err(RangeError::Statement(_))));
        assert!(make(21, 21, 21).is_ok());
        assert!(make(i64::MIN, i64::MAX - 1, 21).is_ok());
    }
}
