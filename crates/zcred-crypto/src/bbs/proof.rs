//! The selective-disclosure proof of knowledge of a BBS+ signature (`BbsBlsSignatureProof2020`),
//! byte-compatible with `bbs` 0.4.1's `PoKOfSignatureProof` inside MATTR's framing.
//!
//! Framing (MATTR `bbs_create_proof`):
//! `u16 BE message count ‖ revealed bit vector ‖ proof`, where the bit vector has
//! `count / 8 + 1` bytes, big-endian: message `i` is bit `i % 8` of byte `len - 1 - i / 8`.
//!
//! Proof (compressed): `A'(48) ‖ Ā(48) ‖ d(48) ‖ u32 BE len(π1) ‖ π1 ‖ π2`, each `π` being
//! `commitment(48) ‖ u32 BE count ‖ responses(32 each)`.
//!
//! With `r1, r2` random, `b = g1 + h0·s + Σ h_i·m_i`: `A' = A·r1`, `Ā = b·r1 − A'·e`,
//! `d = b·r1 − h0·r2`, `r3 = r1⁻¹`, `s' = s − r2·r3`.
//! π1 proves `Ā − d = A'·(−e) + h0·r2`; π2 proves `g1 + Σ_revealed h_i·m_i = d·r3 − h0·s' − Σ_hidden h_i·m_i`
//! (as `−(g1 + Σ_revealed h_i·m_i) = d·(−r3) + h0·s' + Σ_hidden h_i·m_i`).
//! The challenge is `hash_to_scalar(Ā ‖ A' ‖ h0 ‖ C1 ‖ d ‖ h0 ‖ h_hidden… ‖ C2 ‖ nonce)`, points
//! uncompressed (96 bytes), and `nonce = hash_to_scalar(nonce bytes)` as 32 big-endian bytes.
//! Verification also checks `e(A', w) = e(Ā, g2)` and `A' ≠ 1`.

use std::collections::{BTreeMap, BTreeSet};

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, Group};
use ark_ff::{Field, Zero};
use ark_serialize::CanonicalDeserialize;
use rand_core::CryptoRngCore;

use super::hash::hash_to_scalar;
use super::{
    g1_to_bytes, g1_uncompressed, msm, random_scalar, scalar_from_bytes, scalar_to_bytes, scalars,
    BbsError, Message, PublicKey, Signature, MAX_MESSAGES,
};

/// What a proof's framing says: how many messages were signed and which are revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofHeader {
    /// The number of messages the signature covers.
    pub message_count: usize,
    /// The indices of the revealed messages, ascending.
    pub revealed: BTreeSet<usize>,
}

fn bitvector_len(message_count: usize) -> usize {
    message_count / 8 + 1
}

fn revealed_to_bitvector(message_count: usize, revealed: &BTreeSet<usize>) -> Vec<u8> {
    let mut bytes = vec![0u8; bitvector_len(message_count)];
    let last = bytes.len() - 1;
    for &i in revealed {
        bytes[last - i / 8] |= 1 << (i % 8);
    }
    bytes
}

/// Reads the framing at the start of a proof; returns it and the offset of the proof proper.
pub fn parse_proof_header(proof: &[u8]) -> Result<(ProofHeader, usize), BbsError> {
    const WHAT: &str = "BBS+ proof";
    let count_bytes = proof.get(..2).ok_or(BbsError::Malformed(WHAT))?;
    let message_count = u16::from_be_bytes([count_bytes[0], count_bytes[1]]) as usize;
    if message_count == 0 {
        return Err(BbsError::MessageCount(0));
    }
    let end = 2 + bitvector_len(message_count);
    let bits = proof.get(2..end).ok_or(BbsError::Malformed(WHAT))?;
    let mut revealed = BTreeSet::new();
    for (k, byte) in bits.iter().rev().enumerate() {
        for bit in 0..8 {
            if byte & (1 << bit) != 0 {
                let i = k * 8 + bit;
                if i >= message_count {
                    return Err(BbsError::Revealed(
                        "a revealed index is beyond the message count",
                    ));
                }
                revealed.insert(i);
            }
        }
    }
    Ok((
        ProofHeader {
            message_count,
            revealed,
        },
        end,
    ))
}

pub(crate) struct SchnorrProof {
    pub(crate) commitment: G1Affine,
    pub(crate) responses: Vec<Fr>,
}

impl SchnorrProof {
    fn len(responses: usize) -> usize {
        48 + 4 + 32 * responses
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&g1_to_bytes(&self.commitment));
        out.extend_from_slice(&(self.responses.len() as u32).to_be_bytes());
        for r in &self.responses {
            out.extend_from_slice(&scalar_to_bytes(r));
        }
    }

    /// Parses exactly `bytes`, which must hold `expected` responses.
    fn read(bytes: &[u8], expected: usize) -> Result<Self, BbsError> {
        const WHAT: &str = "BBS+ proof";
        if bytes.len() != Self::len(expected) {
            return Err(BbsError::Malformed(WHAT));
        }
        let commitment = read_g1(&bytes[..48])?;
        let count = u32::from_be_bytes([bytes[48], bytes[49], bytes[50], bytes[51]]) as usize;
        if count != expected {
            return Err(BbsError::Malformed(WHAT));
        }
        let responses = bytes[52..]
            .chunks(32)
            .map(|c| scalar_from_bytes(c).ok_or(BbsError::Malformed(WHAT)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            commitment,
            responses,
        })
    }

    /// `Σ bases_i·responses_i + statement·c == self.commitment`.
    pub(crate) fn holds(
        &self,
        bases: &[G1Affine],
        statement: G1Projective,
        challenge: &Fr,
    ) -> bool {
        msm(bases, &self.responses) + statement * challenge == self.commitment
    }
}

/// Reads a compressed G1 point that may be the identity (the checks decide).
fn read_g1(bytes: &[u8]) -> Result<G1Affine, BbsError> {
    G1Affine::deserialize_compressed(bytes).map_err(|_| BbsError::Malformed("BBS+ proof"))
}

#[allow(clippy::too_many_arguments)]
fn challenge(
    a_bar: &G1Affine,
    a_prime: &G1Affine,
    h0: &G1Affine,
    c1: &G1Affine,
    d: &G1Affine,
    hidden_bases: &[G1Affine],
    c2: &G1Affine,
    nonce: &[u8],
) -> Fr {
    let mut bytes = Vec::with_capacity(96 * (7 + hidden_bases.len()) + 32);
    for p in [a_bar, a_prime, h0, c1, d, h0] {
        g1_uncompressed(p, &mut bytes);
    }
    for p in hidden_bases {
        g1_uncompressed(p, &mut bytes);
    }
    g1_uncompressed(c2, &mut bytes);
    bytes.extend_from_slice(&scalar_to_bytes(&hash_to_scalar(nonce)));
    hash_to_scalar(&bytes)
}

/// Creates a proof that reveals the messages at `revealed` and hides the rest, bound to `nonce`.
/// The signature is verified first; a signature that does not verify gives
/// [`BbsError::InvalidSignature`].
pub fn create_proof<M: AsRef<[u8]>, R: CryptoRngCore + ?Sized>(
    public_key: &PublicKey,
    signature: &Signature,
    messages: &[M],
    revealed: &BTreeSet<usize>,
    nonce: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, BbsError> {
    create_proof_over(
        public_key,
        signature,
        &Message::hash_all(messages),
        revealed,
        nonce,
        rng,
    )
}

/// [`create_proof`] over messages already in scalar form.
pub fn create_proof_over<R: CryptoRngCore + ?Sized>(
    public_key: &PublicKey,
    signature: &Signature,
    messages: &[Message],
    revealed: &BTreeSet<usize>,
    nonce: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, BbsError> {
    prove(
        public_key,
        signature,
        messages,
        revealed,
        &BTreeMap::new(),
        nonce,
        rng,
    )
    .map(|(proof, _)| proof)
}

/// The proof, with the blinding of some hidden messages chosen by the caller (a range proof
/// shares them, which links its commitment to the signed message). Returns the framed proof and
/// its challenge.
pub(crate) fn prove<R: CryptoRngCore + ?Sized>(
    public_key: &PublicKey,
    signature: &Signature,
    messages: &[Message],
    revealed: &BTreeSet<usize>,
    blindings: &BTreeMap<usize, Fr>,
    nonce: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, Fr), BbsError> {
    let n = messages.len();
    if n == 0 || n > MAX_MESSAGES {
        return Err(BbsError::MessageCount(n));
    }
    if revealed.iter().any(|&i| i >= n) {
        return Err(BbsError::Revealed(
            "a revealed index is beyond the message count",
        ));
    }
    if blindings.keys().any(|i| *i >= n || revealed.contains(i)) {
        return Err(BbsError::Revealed(
            "a linked message must be a hidden message of the signature",
        ));
    }
    let gens = public_key.generators(n)?;
    let m = scalars(messages);
    let b = public_key.check_signature(&gens, &m, signature)?;
    let r1 = loop {
        let r = random_scalar(rng);
        if !r.is_zero() {
            break r;
        }
    };
    let r2 = random_scalar(rng);
    let a_prime = (signature.a * r1).into_affine();
    let b_r1 = b * r1;
    let a_bar = (b_r1 - a_prime * signature.e).into_affine();
    let d = (b_r1 - gens.h0 * r2).into_affine();
    let r3 = r1.inverse().expect("r1 is not zero");
    let s_prime = signature.s - r2 * r3;

    let bases1 = [a_prime, gens.h0];
    let secrets1 = [-signature.e, r2];
    let blind1 = [random_scalar(rng), random_scalar(rng)];
    let c1 = msm(&bases1, &blind1).into_affine();

    let hidden: Vec<usize> = (0..n).filter(|i| !revealed.contains(i)).collect();
    let mut bases2 = Vec::with_capacity(2 + hidden.len());
    bases2.extend_from_slice(&[d, gens.h0]);
    bases2.extend(hidden.iter().map(|&i| gens.h[i]));
    let mut secrets2 = Vec::with_capacity(bases2.len());
    secrets2.extend_from_slice(&[-r3, s_prime]);
    secrets2.extend(hidden.iter().map(|&i| m[i]));
    let mut blind2: Vec<Fr> = vec![random_scalar(rng), random_scalar(rng)];
    blind2.extend(hidden.iter().map(|i| {
        blindings
            .get(i)
            .copied()
            .unwrap_or_else(|| random_scalar(rng))
    }));
    let c2 = msm(&bases2, &blind2).into_affine();

    let c = challenge(
        &a_bar,
        &a_prime,
        &gens.h0,
        &c1,
        &d,
        &bases2[2..],
        &c2,
        nonce,
    );
    let respond = |blind: &[Fr], secrets: &[Fr]| -> Vec<Fr> {
        blind.iter().zip(secrets).map(|(b, s)| *b - c * s).collect()
    };
    let pi1 = SchnorrProof {
        commitment: c1,
        responses: respond(&blind1, &secrets1),
    };
    let pi2 = SchnorrProof {
        commitment: c2,
        responses: respond(&blind2, &secrets2),
    };

    let mut out = Vec::with_capacity(
        2 + bitvector_len(n) + 3 * 48 + 4 + SchnorrProof::len(2) + SchnorrProof::len(bases2.len()),
    );
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&revealed_to_bitvector(n, revealed));
    for p in [&a_prime, &a_bar, &d] {
        out.extend_from_slice(&g1_to_bytes(p));
    }
    out.extend_from_slice(&(SchnorrProof::len(2) as u32).to_be_bytes());
    pi1.write(&mut out);
    pi2.write(&mut out);
    Ok((out, c))
}

/// Verifies a framed proof against the revealed messages (in ascending index order, one per
/// revealed index of the header) and the nonce. Returns the header on success.
pub fn verify_proof<M: AsRef<[u8]>>(
    public_key: &PublicKey,
    proof: &[u8],
    revealed_messages: &[M],
    nonce: &[u8],
) -> Result<ProofHeader, BbsError> {
    verify_proof_over(
        public_key,
        proof,
        &Message::hash_all(revealed_messages),
        nonce,
    )
}

/// [`verify_proof`] with the revealed messages already in scalar form.
pub fn verify_proof_over(
    public_key: &PublicKey,
    proof: &[u8],
    revealed_messages: &[Message],
    nonce: &[u8],
) -> Result<ProofHeader, BbsError> {
    check(public_key, proof, revealed_messages, nonce).map(|v| v.header)
}

/// What a verified proof says beyond its header: the challenge and, per hidden message index,
/// the response `blinding − c·m` that a linked proof must repeat.
#[cfg_attr(not(feature = "range-proofs"), allow(dead_code))]
pub(crate) struct Verified {
    pub(crate) header: ProofHeader,
    pub(crate) challenge: Fr,
    pub(crate) hidden_responses: BTreeMap<usize, Fr>,
}

pub(crate) fn check(
    public_key: &PublicKey,
    proof: &[u8],
    revealed_messages: &[Message],
    nonce: &[u8],
) -> Result<Verified, BbsError> {
    const WHAT: &str = "BBS+ proof";
    let (header, offset) = parse_proof_header(proof)?;
    if header.revealed.len() != revealed_messages.len() {
        return Err(BbsError::Revealed(
            "the number of revealed messages differs from the proof's",
        ));
    }
    let n = header.message_count;
    let body = &proof[offset..];
    // The length the header implies, checked before any work that grows with the count it
    // claims (the generators): a short proof claiming many messages costs nothing to refuse.
    let hidden_count = n - header.revealed.len();
    if body.len() != 3 * 48 + 4 + SchnorrProof::len(2) + SchnorrProof::len(2 + hidden_count) {
        return Err(BbsError::Malformed(WHAT));
    }
    let gens = public_key.generators(n)?;
    let a_prime = read_g1(&body[..48])?;
    let a_bar = read_g1(&body[48..96])?;
    let d = read_g1(&body[96..144])?;
    let len1 = u32::from_be_bytes([body[144], body[145], body[146], body[147]]) as usize;
    let rest = &body[148..];
    if len1 != SchnorrProof::len(2) || rest.len() < len1 {
        return Err(BbsError::Malformed(WHAT));
    }
    let hidden: Vec<usize> = (0..n).filter(|i| !header.revealed.contains(i)).collect();
    let pi1 = SchnorrProof::read(&rest[..len1], 2)?;
    let pi2 = SchnorrProof::read(&rest[len1..], 2 + hidden.len())?;

    if a_prime.is_zero() {
        return Err(BbsError::InvalidProof);
    }
    let pairing = Bls12_381::multi_pairing(
        [a_prime, (-a_bar.into_group()).into_affine()],
        [*public_key.w(), G2Affine::generator()],
    );
    if !pairing.is_zero() {
        return Err(BbsError::InvalidProof);
    }

    let mut bases2 = Vec::with_capacity(2 + hidden.len());
    bases2.extend_from_slice(&[d, gens.h0]);
    bases2.extend(hidden.iter().map(|&i| gens.h[i]));
    let c = challenge(
        &a_bar,
        &a_prime,
        &gens.h0,
        &pi1.commitment,
        &d,
        &bases2[2..],
        &pi2.commitment,
        nonce,
    );

    if !pi1.holds(&[a_prime, gens.h0], a_bar.into_group() - d, &c) {
        return Err(BbsError::InvalidProof);
    }
    let revealed_points: Vec<G1Affine> = header.revealed.iter().map(|&i| gens.h[i]).collect();
    let revealed_scalars = scalars(revealed_messages);
    let disclosed = G1Projective::generator() + msm(&revealed_points, &revealed_scalars);
    if !pi2.holds(&bases2, -disclosed, &c) {
        return Err(BbsError::InvalidProof);
    }
    let hidden_responses = hidden
        .iter()
        .zip(&pi2.responses[2..])
        .map(|(&i, r)| (i, *r))
        .collect();
    Ok(Verified {
        header,
        challenge: c,
        hidden_responses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbs::{KeyPair, SecretKey};
    use rand_core::OsRng;

    #[test]
    fn bitvector_layout() {
        let revealed: BTreeSet<usize> = [0, 2, 9].into_iter().collect();
        let bits = revealed_to_bitvector(10, &revealed);
        assert_eq!(bits, vec![0b0000_0010, 0b0000_0101]);
        let mut framed = 10u16.to_be_bytes().to_vec();
        framed.extend_from_slice(&bits);
        let (header, offset) = parse_proof_header(&framed).unwrap();
        assert_eq!(header.revealed, revealed);
        assert_eq!(offset, 4);
    }

    /// A proof whose header claims more messages than its body holds is malformed, and one
    /// claiming more than [`MAX_MESSAGES`] is refused for its count, whatever its length.
    /// (The fuzz targets found that such a header made the verifier derive generators for
    /// up to 65,535 messages before it looked at the length.)
    #[test]
    fn headers_claiming_many_messages() {
        let kp = KeyPair::new(SecretKey::generate(&mut OsRng));
        let msgs = ["id: did:zid:ab", "p.name: Ali"];
        let sig = kp.sign(&msgs, &mut OsRng).unwrap();
        let revealed: BTreeSet<usize> = [0].into_iter().collect();
        let proof =
            create_proof(kp.public(), &sig, &msgs, &revealed, b"nonce", &mut OsRng).unwrap();
        let (_, offset) = parse_proof_header(&proof).unwrap();
        for claimed in [3u16, 2000, MAX_MESSAGES as u16, u16::MAX] {
            let mut framed = claimed.to_be_bytes().to_vec();
            framed.extend(revealed_to_bitvector(claimed as usize, &revealed));
            framed.extend_from_slice(&proof[offset..]);
            assert_eq!(
                verify_proof(kp.public(), &framed, &[msgs[0]], b"nonce"),
                Err(BbsError::Malformed("BBS+ proof")),
                "{claimed} messages claimed"
            );
        }
        assert!(matches!(
            kp.public().generators(MAX_MESSAGES + 1),
            Err(BbsError::MessageCount(_))
        ));
    }

    #[test]
    fn prove_and_verify_round_trip() {
        let kp = KeyPair::new(SecretKey::generate(&mut OsRng));
        let msgs = ["id: did:zid:ab", "p.name: Ali", "p.age: 21", "p.class: B2"];
        let sig = kp.sign(&msgs, &mut OsRng).unwrap();
        let revealed: BTreeSet<usize> = [0, 2].into_iter().collect();
        let proof =
            create_proof(kp.public(), &sig, &msgs, &revealed, b"nonce", &mut OsRng).unwrap();
        let header = verify_proof(kp.public(), &proof, &[msgs[0], msgs[2]], b"nonce").unwrap();
        assert_eq!(header.revealed, revealed);
        assert_eq!(
            verify_proof(kp.public(), &proof, &[msgs[0], "p.age: 22"], b"nonce"),
            Err(BbsError::InvalidProof)
        );
        assert_eq!(
            verify_proof(kp.public(), &proof, &[msgs[0], msgs[2]], b"other"),
            Err(BbsError::InvalidProof)
        );
        assert!(verify_proof(kp.public(), &proof, &[msgs[0]], b"nonce").is_err());
        let other = KeyPair::new(SecretKey::generate(&mut OsRng));
        assert_eq!(
            verify_proof(other.public(), &proof, &[msgs[0], msgs[2]], b"nonce"),
            Err(BbsError::InvalidProof)
        );
    }
}
