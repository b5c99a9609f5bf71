//! BBS+ as `BbsBlsSignature2020`, byte-compatible with the `bbs` 0.4.1 crate that Zetrix and
//! MATTR ship (zetrix.md §3.4, api.md §2.5).
//!
//! | item | bytes | text |
//! |---|---|---|
//! | secret key | 32, big-endian scalar, `0 < sk < r` | `z` + base58btc |
//! | public key `w = sk·G2` | 96, compressed G2 (ZCash encoding) | `z` + base58btc, no multicodec |
//! | signature | `A` (48, compressed G1) ‖ `e` (32) ‖ `s` (32) | `u` + base64url, no padding |
//!
//! Generators are derived from the public key per message count `n`:
//! `h_i = hash_to_g1(w_uncompressed(192) ‖ 00 ‖ I2OSP(i,4) ‖ 00 ‖ I2OSP(n,4))` for `i = 0..=n`
//! (`h_0` blinds `s`). They are cached per key and message count.
//! A message is hashed to a scalar with [`hash::hash_to_scalar`].
//!
//! Signing: `B = g1 + h0·s + Σ h_i·m_i`, `A = B·(sk + e)⁻¹`.
//! Verifying: `e(A, w + g2·e) = e(B, g2)`, checked as `e(A, w)·e(e·A − B, g2) = 1`, one
//! multi-pairing over G2 points prepared once (`w` per cached key, `g2` per process): the same
//! equation with a G1 instead of a G2 multiplication. [`verify_batch`] checks many signatures
//! with one multi-pairing (a random linear combination).
//!
//! The implementation is zcred's own on arkworks (`ark-bls12-381`); the `bbs` 0.4.1 crate is a
//! test oracle only (see docs/decisions/01-bbs-on-arkworks-with-bbs-0-4-1-as-a-test-oracle.md
//! for why and for the numbers).

pub mod hash;
mod proof;
#[cfg(feature = "range-proofs")]
pub mod range;
mod seed;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, Group, VariableBaseMSM};
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::multibase::{self, MultibaseError};

pub use proof::{
    create_proof, create_proof_over, parse_proof_header, verify_proof, verify_proof_over,
    ProofHeader,
};
pub use seed::{mnemonic_seed, SeedError, SEED_MIN_BYTES, SEED_TEXT_MAX};

/// Length of a secret key in bytes.
pub const SECRET_KEY_LEN: usize = 32;
/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 96;
/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 112;
/// The most messages one signature may cover. Deriving the generators is linear in the count
/// (a hash to the curve each), so the bound caps what a hostile signature or proof can make a
/// verifier do; zcred's credentials stay far below it (at most 1,000 attribute messages, api
/// limits in docs/decisions/10-who-may-call-what-and-the-limits.md). The proof header counts
/// messages in a `u16`.
pub const MAX_MESSAGES: usize = 2048;

/// Why a BBS+ operation failed. `InvalidSignature` and `InvalidProof` mean "checked, and it does
/// not verify"; the others mean the input could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BbsError {
    /// A key or signature text is not in its multibase form.
    #[error("{what}: {source}")]
    Encoding {
        /// Which item.
        what: &'static str,
        /// What is wrong with the text.
        source: MultibaseError,
    },
    /// Bytes of the right length that are not a valid item (a point off the curve or outside the
    /// subgroup, the identity, or a scalar that is zero or not below the group order).
    #[error("{0} is not a valid BLS12-381 value")]
    Malformed(&'static str),
    /// No messages, or more than [`MAX_MESSAGES`].
    #[error("a BBS+ signature covers 1 to {MAX_MESSAGES} messages, found {0}")]
    MessageCount(usize),
    /// A proof names a message index at or beyond its message count, or the revealed messages
    /// given do not match the proof's header.
    #[error("revealed messages do not match the proof: {0}")]
    Revealed(&'static str),
    /// The signature does not verify over these messages under this key.
    #[error("BBS+ signature does not verify")]
    InvalidSignature,
    /// The proof does not verify.
    #[error("BBS+ proof does not verify")]
    InvalidProof,
}

fn scalar_to_bytes(s: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&s.into_bigint().to_bytes_be());
    out
}

/// A canonical big-endian scalar: below r. Zero is allowed (callers decide).
fn scalar_from_bytes(bytes: &[u8]) -> Option<Fr> {
    let s = Fr::from_be_bytes_mod_order(bytes);
    (s.into_bigint().to_bytes_be() == bytes).then_some(s)
}

fn random_scalar<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Fr {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut());
    Fr::from_be_bytes_mod_order(wide.as_ref())
}

fn g1_from_bytes(bytes: &[u8], what: &'static str) -> Result<G1Affine, BbsError> {
    let p = G1Affine::deserialize_compressed(bytes).map_err(|_| BbsError::Malformed(what))?;
    if p.is_zero() {
        return Err(BbsError::Malformed(what));
    }
    Ok(p)
}

fn g1_to_bytes(p: &G1Affine) -> [u8; 48] {
    let mut out = [0u8; 48];
    p.serialize_compressed(&mut out[..])
        .expect("a G1 point fits in 48 bytes");
    out
}

fn g1_uncompressed(p: &G1Affine, out: &mut Vec<u8>) {
    p.serialize_uncompressed(out)
        .expect("writing to a Vec cannot fail");
}

/// The MSM `Σ s_i·P_i`.
fn msm(points: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    debug_assert_eq!(points.len(), scalars.len());
    G1Projective::msm_unchecked(points, scalars)
}

/// `g1 + h0·s + Σ h_i·m_i`.
fn commitment_b(gens: &Generators, s: &Fr, messages: &[Fr]) -> G1Projective {
    let mut points = Vec::with_capacity(messages.len() + 1);
    let mut scalars = Vec::with_capacity(messages.len() + 1);
    points.push(gens.h0);
    scalars.push(*s);
    points.extend_from_slice(&gens.h);
    scalars.extend_from_slice(messages);
    msm(&points, &scalars) + G1Projective::generator()
}

/// MATTR's key derivation from a seed (`bls_generate_g2_key`): HKDF-SHA256 with salt
/// `BLS-SIG-KEYGEN-SALT-`, IKM = seed ‖ 0x00, info = I2OSP(48, 2), L = 48, read big-endian mod r.
fn mattr_gen_sk(seed: &[u8]) -> Fr {
    const SALT: &[u8] = b"BLS-SIG-KEYGEN-SALT-";
    let mut ikm = Zeroizing::new(Vec::with_capacity(seed.len() + 1));
    ikm.extend_from_slice(seed);
    ikm.push(0);
    let mut okm = Zeroizing::new([0u8; 48]);
    hkdf::Hkdf::<Sha256>::new(Some(SALT), &ikm)
        .expand(&[0, 48], okm.as_mut())
        .expect("48 bytes is a valid HKDF-SHA256 output length");
    Fr::from_be_bytes_mod_order(okm.as_ref())
}

/// One signed message as the scalar the signature covers: a byte string hashed with
/// [`hash::hash_to_scalar`] (every message of api.md §2.6), or a scalar given as is (zcred's
/// integer messages, see [`range`] when the `range-proofs` feature is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message(pub(crate) Fr);

impl Message {
    /// A byte message, hashed to a scalar.
    pub fn hashed(bytes: &[u8]) -> Self {
        Self(hash::hash_to_scalar(bytes))
    }

    /// A scalar message from its 32 big-endian bytes; refuses values not below the group order.
    pub fn from_scalar_bytes(bytes: &[u8; 32]) -> Result<Self, BbsError> {
        scalar_from_bytes(bytes)
            .map(Self)
            .ok_or(BbsError::Malformed("scalar message"))
    }

    /// The 32 big-endian bytes of the scalar.
    pub fn to_scalar_bytes(&self) -> [u8; 32] {
        scalar_to_bytes(&self.0)
    }

    /// A scalar message from 64 hex characters (either case) of its big-endian bytes, the form
    /// of `bbsBlsScalars` (api.md OP-11).
    pub fn from_scalar_hex(text: &str) -> Result<Self, BbsError> {
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(BbsError::Malformed("scalar message"))?;
        Self::from_scalar_bytes(&bytes)
    }

    /// 64 lowercase hex characters of the scalar's big-endian bytes.
    pub fn to_scalar_hex(&self) -> String {
        hex::encode(self.to_scalar_bytes())
    }

    /// Each byte message hashed, in order.
    pub fn hash_all<M: AsRef<[u8]>>(messages: &[M]) -> Vec<Self> {
        messages.iter().map(|m| Self::hashed(m.as_ref())).collect()
    }
}

const INTEGER_OFFSET: u64 = 1 << 63;

/// `value + 2⁶³` as an unsigned integer (order-preserving).
fn offset(value: i64) -> u64 {
    (value as u64) ^ INTEGER_OFFSET
}

/// `tag(path)·2⁶⁴`: the first 16 bytes (big-endian) of `Blake2b-512("zcred-integer-v1" ‖ path)`,
/// shifted by 64 bits.
fn tag_shift(path: &str) -> Fr {
    use blake2::{Blake2b512, Digest};
    let mut h = Blake2b512::new();
    h.update(b"zcred-integer-v1");
    h.update(path.as_bytes());
    let digest = h.finalize();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&digest[..16]);
    Fr::from(u128::from_be_bytes(tag)) * Fr::from(u128::from(u64::MAX) + 1)
}

/// The *integer message* of attribute `path` holding the signed integer `value` (a zcred
/// extension, api.md OP-11): `tag(path)·2⁶⁴ + (value + 2⁶³)`, where `tag(path)` is the first
/// 16 bytes (big-endian) of `Blake2b-512("zcred-integer-v1" ‖ path)`. Appended after the
/// api.md §2.6 messages for each range-provable attribute, it lets a holder prove a range of the
/// value without revealing it.
pub fn integer_message(path: &str, value: i64) -> Message {
    Message(tag_shift(path) + Fr::from(offset(value)))
}

fn scalars(messages: &[Message]) -> Vec<Fr> {
    messages.iter().map(|m| m.0).collect()
}

/// A BBS+ secret key.
///
/// Invariant: `0 < sk < r`. Not `Clone`, no derived `Debug`, zeroized on drop.
pub struct SecretKey(Fr);

impl SecretKey {
    /// A random key: 32 bytes from `rng` fed to MATTR's seed derivation (as MATTR does when no
    /// seed is given).
    pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        loop {
            let mut seed = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(seed.as_mut());
            if let Ok(key) = Self::from_seed(seed.as_ref()) {
                return key;
            }
        }
    }

    /// MATTR's derivation from seed bytes (HKDF-SHA256, see the module docs). Fails only when
    /// the derivation yields zero, which happens with negligible probability.
    pub fn from_seed(seed: &[u8]) -> Result<Self, BbsError> {
        let sk = mattr_gen_sk(seed);
        if sk.is_zero() {
            return Err(BbsError::Malformed("secret key"));
        }
        Ok(Self(sk))
    }

    /// From the 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Result<Self, BbsError> {
        match scalar_from_bytes(bytes) {
            Some(s) if !s.is_zero() => Ok(Self(s)),
            _ => Err(BbsError::Malformed("secret key")),
        }
    }

    /// The 32-byte big-endian scalar, zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        Zeroizing::new(scalar_to_bytes(&self.0))
    }

    /// Parses `z` + base58btc of the 32 bytes.
    pub fn from_multibase(text: &str) -> Result<Self, BbsError> {
        let bytes = Zeroizing::new(multibase::decode_base58btc(text, SECRET_KEY_LEN).map_err(
            |source| BbsError::Encoding {
                what: "BBS+ secret key",
                source,
            },
        )?);
        let mut raw = Zeroizing::new([0u8; SECRET_KEY_LEN]);
        raw.copy_from_slice(&bytes);
        Self::from_bytes(&raw)
    }

    /// `z` + base58btc of the 32 bytes, zeroized on drop.
    pub fn to_multibase(&self) -> Zeroizing<String> {
        Zeroizing::new(multibase::encode_base58btc(self.to_bytes().as_ref()))
    }

    /// The public key `sk·G2`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_point((G2Projective::generator() * self.0).into_affine())
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").finish_non_exhaustive()
    }
}

/// A secret key with its public key, ready to sign.
pub struct KeyPair {
    secret: SecretKey,
    public: PublicKey,
}

impl KeyPair {
    /// Pairs a secret key with its public key.
    pub fn new(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Self { secret, public }
    }

    /// The secret half.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `messages` (each hashed with [`hash::hash_to_scalar`]) in order.
    pub fn sign<M: AsRef<[u8]>, R: CryptoRngCore + ?Sized>(
        &self,
        messages: &[M],
        rng: &mut R,
    ) -> Result<Signature, BbsError> {
        self.sign_messages(&Message::hash_all(messages), rng)
    }

    /// Signs messages already in scalar form, in order.
    pub fn sign_messages<R: CryptoRngCore + ?Sized>(
        &self,
        messages: &[Message],
        rng: &mut R,
    ) -> Result<Signature, BbsError> {
        let gens = self.public.generators(messages.len())?;
        let m = scalars(messages);
        loop {
            let e = random_scalar(rng);
            let s = random_scalar(rng);
            let Some(inv) = (self.secret.0 + e).inverse() else {
                continue;
            };
            let a = (commitment_b(&gens, &s, &m) * inv).into_affine();
            if a.is_zero() {
                continue;
            }
            return Ok(Signature { a, e, s });
        }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The per-message-count generators of a public key.
#[derive(Debug)]
pub(crate) struct Generators {
    pub(crate) h0: G1Affine,
    pub(crate) h: Vec<G1Affine>,
}

/// At most this many message counts are cached per key; past it the cache starts over.
const GENERATOR_CACHE_LIMIT: usize = 16;

/// At most this many public keys are kept parsed, with their generator caches, for the whole
/// process; past it the table starts over. With [`GENERATOR_CACHE_LIMIT`] and
/// [`CACHED_MESSAGES_LIMIT`] this bounds the memory a caller sending made-up keys can pin
/// (about 30 MB).
const KEY_CACHE_LIMIT: usize = 64;

/// Generators for more messages than this are derived each time, not cached.
const CACHED_MESSAGES_LIMIT: usize = 256;

/// Public keys by their bytes: a key met again (a service verifies each issuer's few keys over
/// and over) is not parsed and subgroup-checked again, and shares its generators, the costly
/// part of verifying (one hash-to-curve per message).
fn key_cache() -> std::sync::MutexGuard<'static, HashMap<[u8; PUBLIC_KEY_LEN], PublicKey>> {
    static KEYS: std::sync::OnceLock<Mutex<HashMap<[u8; PUBLIC_KEY_LEN], PublicKey>>> =
        std::sync::OnceLock::new();
    // Only public values: a poisoned lock is still consistent.
    KEYS.get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct PublicKeyInner {
    w: G2Affine,
    /// `w` with its Miller-loop line coefficients, computed once per key.
    w_prepared: <Bls12_381 as Pairing>::G2Prepared,
    bytes: [u8; PUBLIC_KEY_LEN],
    generators: Mutex<HashMap<usize, Arc<Generators>>>,
}

/// A BBS+ public key `w = sk·G2`. Cheap to clone; clones share the generator cache.
#[derive(Clone)]
pub struct PublicKey(Arc<PublicKeyInner>);

impl PublicKey {
    fn from_point(w: G2Affine) -> Self {
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        w.serialize_compressed(&mut bytes[..])
            .expect("a G2 point fits in 96 bytes");
        Self(Arc::new(PublicKeyInner {
            w,
            w_prepared: w.into(),
            bytes,
            generators: Mutex::new(HashMap::new()),
        }))
    }

    /// From the 96-byte compressed G2 point; refuses points outside the subgroup and the identity.
    /// A key parsed before in this process is shared, with its generator cache.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, BbsError> {
        if let Some(known) = key_cache().get(bytes) {
            return Ok(known.clone());
        }
        let w = G2Affine::deserialize_compressed(&bytes[..])
            .map_err(|_| BbsError::Malformed("BBS+ public key"))?;
        if w.is_zero() {
            return Err(BbsError::Malformed("BBS+ public key"));
        }
        let key = Self::from_point(w);
        let mut cache = key_cache();
        if cache.len() >= KEY_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(*bytes, key.clone());
        Ok(key)
    }

    /// The 96-byte compressed G2 point.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.bytes
    }

    /// Parses `z` + base58btc of the 96 bytes.
    pub fn from_multibase(text: &str) -> Result<Self, BbsError> {
        let bytes = multibase::decode_base58btc(text, PUBLIC_KEY_LEN).map_err(|source| {
            BbsError::Encoding {
                what: "BBS+ public key",
                source,
            }
        })?;
        let mut raw = [0u8; PUBLIC_KEY_LEN];
        raw.copy_from_slice(&bytes);
        Self::from_bytes(&raw)
    }

    /// `z` + base58btc of the 96 bytes.
    pub fn to_multibase(&self) -> String {
        multibase::encode_base58btc(&self.0.bytes)
    }

    pub(crate) fn w(&self) -> &G2Affine {
        &self.0.w
    }

    /// The generators `h_0..=h_n` for `n` messages, from the cache when present.
    pub(crate) fn generators(&self, n: usize) -> Result<Arc<Generators>, BbsError> {
        if n == 0 || n > MAX_MESSAGES {
            return Err(BbsError::MessageCount(n));
        }
        if let Some(g) = self.lock_cache().get(&n) {
            return Ok(Arc::clone(g));
        }
        let gens = Arc::new(self.derive_generators(n));
        if n > CACHED_MESSAGES_LIMIT {
            return Ok(gens);
        }
        let mut cache = self.lock_cache();
        if cache.len() >= GENERATOR_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(n, Arc::clone(&gens));
        Ok(gens)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Arc<Generators>>> {
        // The cache holds only derived public values, so a poisoned lock is still consistent.
        self.0
            .generators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn derive_generators(&self, n: usize) -> Generators {
        let mut data = Vec::with_capacity(192 + 10);
        self.0
            .w
            .serialize_uncompressed(&mut data)
            .expect("writing to a Vec cannot fail");
        data.push(0);
        let offset = data.len();
        data.extend_from_slice(&[0; 4]);
        data.push(0);
        data.extend_from_slice(&(n as u32).to_be_bytes());
        let mut points = (0..=n as u32).map(|i| {
            data[offset..offset + 4].copy_from_slice(&i.to_be_bytes());
            hash::hash_to_g1(&data)
        });
        let h0 = points.next().expect("i = 0 is always produced");
        Generators {
            h0,
            h: points.collect(),
        }
    }

    /// Verifies `signature` over `messages` (hashed with [`hash::hash_to_scalar`]).
    pub fn verify<M: AsRef<[u8]>>(
        &self,
        messages: &[M],
        signature: &Signature,
    ) -> Result<(), BbsError> {
        self.verify_messages(&Message::hash_all(messages), signature)
    }

    /// Verifies `signature` over messages already in scalar form.
    pub fn verify_messages(
        &self,
        messages: &[Message],
        signature: &Signature,
    ) -> Result<(), BbsError> {
        let gens = self.generators(messages.len())?;
        self.check_signature(&gens, &scalars(messages), signature)
            .map(|_| ())
    }

    /// Checks `e(A, w + g2·e) = e(B, g2)` for already-hashed messages, as
    /// `e(A, w)·e(e·A − B, g2) = 1`; returns `B` so that a prover can reuse it.
    pub(crate) fn check_signature(
        &self,
        gens: &Generators,
        messages: &[Fr],
        signature: &Signature,
    ) -> Result<G1Projective, BbsError> {
        let b = commitment_b(gens, &signature.s, messages);
        let ea_minus_b = (signature.a * signature.e - b).into_affine();
        let check = Bls12_381::multi_pairing(
            [signature.a, ea_minus_b],
            [self.0.w_prepared.clone(), g2_prepared().clone()],
        );
        if check.is_zero() {
            Ok(b)
        } else {
            Err(BbsError::InvalidSignature)
        }
    }
}

/// The G2 generator with its Miller-loop line coefficients.
fn g2_prepared() -> &'static <Bls12_381 as Pairing>::G2Prepared {
    static PREPARED: std::sync::OnceLock<<Bls12_381 as Pairing>::G2Prepared> =
        std::sync::OnceLock::new();
    PREPARED.get_or_init(|| G2Affine::generator().into())
}

/// One signature to check in a batch: the key, the messages (scalars), the signature.
pub type BatchItem<'a> = (&'a PublicKey, &'a [Message], &'a Signature);

/// Checks every signature of `items` at once: `Ok` only when all verify (each as
/// [`PublicKey::verify_messages`] would), with a soundness error below 2⁻¹²⁷.
///
/// Each item `j` gets a random 128-bit weight `r_j`, and the batch checks
/// `Π_k e(Σ_{j∈k} r_j·A_j, w_k) · e(Σ_j r_j·(e_j·A_j − B_j), g2) = 1`, with one term per
/// distinct key: one Miller loop per key plus one, and one final exponentiation, instead of two
/// Miller loops and a final exponentiation per signature. `Σ_j r_j·B_j` is folded into the
/// same multi-scalar multiplication (`g1`, `h0` and the `h_i` of each key and message count).
/// An `Err` says only that some item is bad; check them one by one to find which.
pub fn verify_batch<R: CryptoRngCore + ?Sized>(
    items: &[BatchItem<'_>],
    rng: &mut R,
) -> Result<(), BbsError> {
    match items {
        [] => return Ok(()),
        [(key, messages, signature)] => return key.verify_messages(messages, signature),
        _ => {}
    }
    let mut points: Vec<G1Affine> = Vec::new();
    let mut weights: Vec<Fr> = Vec::new();
    let mut g1_weight = Fr::zero();
    // Per key (by its bytes): the A points and their weights, and the key.
    let mut per_key: Vec<(&PublicKey, Vec<G1Affine>, Vec<Fr>)> = Vec::new();
    for (key, messages, signature) in items {
        let gens = key.generators(messages.len())?;
        let mut wide = [0u8; 16];
        rng.fill_bytes(&mut wide);
        // A zero weight would drop the item from the check.
        let r = Fr::from(u128::from_le_bytes(wide).max(1));
        // r·(e·A − B) = (r·e)·A − r·g1 − (r·s)·h0 − Σ (r·m_i)·h_i
        points.push(signature.a);
        weights.push(r * signature.e);
        g1_weight -= r;
        points.push(gens.h0);
        weights.push(-(r * signature.s));
        points.extend_from_slice(&gens.h);
        weights.extend(messages.iter().map(|m| -(r * m.0)));
        match per_key.iter_mut().find(|(k, _, _)| *k == *key) {
            Some((_, a, w)) => {
                a.push(signature.a);
                w.push(r);
            }
            None => per_key.push((key, vec![signature.a], vec![r])),
        }
    }
    points.push(G1Affine::generator());
    weights.push(g1_weight);
    let d = msm(&points, &weights).into_affine();
    let mut lefts: Vec<G1Affine> = Vec::with_capacity(per_key.len() + 1);
    let mut rights: Vec<<Bls12_381 as Pairing>::G2Prepared> = Vec::with_capacity(per_key.len() + 1);
    for (key, a, w) in &per_key {
        lefts.push(msm(a, w).into_affine());
        rights.push(key.0.w_prepared.clone());
    }
    lefts.push(d);
    rights.push(g2_prepared().clone());
    if Bls12_381::multi_pairing(lefts, rights).is_zero() {
        Ok(())
    } else {
        Err(BbsError::InvalidSignature)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.bytes == other.0.bytes
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_multibase())
    }
}

/// A BBS+ signature `(A, e, s)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    pub(crate) a: G1Affine,
    pub(crate) e: Fr,
    pub(crate) s: Fr,
}

impl Signature {
    /// From the 112-byte form. `A` must be a non-identity subgroup point; `e` and `s` canonical.
    pub fn from_bytes(bytes: &[u8; SIGNATURE_LEN]) -> Result<Self, BbsError> {
        const WHAT: &str = "BBS+ signature";
        let a = g1_from_bytes(&bytes[..48], WHAT)?;
        let e = scalar_from_bytes(&bytes[48..80]).ok_or(BbsError::Malformed(WHAT))?;
        let s = scalar_from_bytes(&bytes[80..]).ok_or(BbsError::Malformed(WHAT))?;
        Ok(Self { a, e, s })
    }

    /// `A(48) ‖ e(32) ‖ s(32)`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out[..48].copy_from_slice(&g1_to_bytes(&self.a));
        out[48..80].copy_from_slice(&scalar_to_bytes(&self.e));
        out[80..].copy_from_slice(&scalar_to_bytes(&self.s));
        out
    }

    /// Parses `u` + base64url of the 112 bytes (padding tolerated).
    pub fn from_multibase(text: &str) -> Result<Self, BbsError> {
        let bytes = multibase::decode_base64url(text, Some(SIGNATURE_LEN)).map_err(|source| {
            BbsError::Encoding {
                what: "BBS+ signature",
                source,
            }
        })?;
        let mut raw = [0u8; SIGNATURE_LEN];
        raw.copy_from_slice(&bytes);
        Self::from_bytes(&raw)
    }

    /// `u` + base64url (no padding) of the 112 bytes.
    pub fn to_multibase(&self) -> String {
        multibase::encode_base64url(&self.to_bytes())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_multibase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    /// Signatures by two keys over 3 and 5 messages, each valid on its own.
    fn signed_items() -> Vec<(PublicKey, Vec<Message>, Signature)> {
        let keys = [
            KeyPair::new(SecretKey::generate(&mut OsRng)),
            KeyPair::new(SecretKey::generate(&mut OsRng)),
        ];
        (0..6)
            .map(|i| {
                let pair = &keys[i % 2];
                let texts: Vec<String> = (0..3 + 2 * (i % 2)).map(|m| format!("{i}:{m}")).collect();
                let messages = Message::hash_all(&texts);
                let signature = pair.sign_messages(&messages, &mut OsRng).unwrap();
                pair.public()
                    .verify_messages(&messages, &signature)
                    .unwrap();
                (pair.public().clone(), messages, signature)
            })
            .collect()
    }

    fn batch_of(items: &[(PublicKey, Vec<Message>, Signature)]) -> Vec<BatchItem<'_>> {
        items.iter().map(|(k, m, s)| (k, m.as_slice(), s)).collect()
    }

    #[test]
    fn a_batch_of_valid_signatures_verifies() {
        let items = signed_items();
        verify_batch(&batch_of(&items), &mut OsRng).unwrap();
        verify_batch(&batch_of(&items[..1]), &mut OsRng).unwrap();
        verify_batch(&[], &mut OsRng).unwrap();
    }

    #[test]
    fn one_bad_signature_fails_the_batch_wherever_it_is() {
        let items = signed_items();
        for bad in 0..items.len() {
            // A changed message.
            let mut changed = signed_items_from(&items);
            changed[bad].1[0] = Message::hashed(b"changed");
            assert_eq!(
                verify_batch(&batch_of(&changed), &mut OsRng),
                Err(BbsError::InvalidSignature),
                "message of item {bad}"
            );
            // The next item's signature and messages: the other key's (valid under it).
            let mut swapped = signed_items_from(&items);
            let other = (bad + 1) % items.len();
            swapped[bad].2 = items[other].2.clone();
            swapped[bad].1 = items[other].1.clone();
            assert_eq!(
                verify_batch(&batch_of(&swapped), &mut OsRng),
                Err(BbsError::InvalidSignature),
                "signature of item {bad}"
            );
        }
        // Two bad signatures that would cancel out with equal weights.
        let mut pair = signed_items_from(&items);
        let (e0, e2) = (pair[0].2.e, pair[2].2.e);
        pair[0].2.e = e2;
        pair[2].2.e = e0;
        assert_eq!(
            verify_batch(&batch_of(&pair), &mut OsRng),
            Err(BbsError::InvalidSignature)
        );
    }

    fn signed_items_from(
        items: &[(PublicKey, Vec<Message>, Signature)],
    ) -> Vec<(PublicKey, Vec<Message>, Signature)> {
        items.to_vec()
    }

    #[test]
    fn debug_of_a_secret_key_hides_its_bytes() {
        let sk = SecretKey::from_seed(b"debug test").unwrap();
        let shown = format!(
            "{sk:?} {:?}",
            KeyPair::new(SecretKey::from_seed(b"debug test").unwrap())
        );
        let bytes = sk.to_bytes();
        assert!(!shown.contains(&hex::encode(bytes.as_ref())), "{shown}");
        assert!(!shown.contains(sk.to_multibase().as_str()), "{shown}");
        assert!(!shown.contains(&format!("{:?}", bytes.as_ref())), "{shown}");
    }

    #[test]
    fn sign_verify_and_reject() {
        let kp = KeyPair::new(SecretKey::generate(&mut OsRng));
        let msgs = ["id: did:zid:00", "a.b: 1", "a.c: two"];
        let sig = kp.sign(&msgs, &mut OsRng).unwrap();
        kp.public().verify(&msgs, &sig).unwrap();
        let back = Signature::from_multibase(&sig.to_multibase()).unwrap();
        assert_eq!(back, sig);
        assert_eq!(
            kp.public()
                .verify(&["id: did:zid:00", "a.b: 2", "a.c: two"], &sig),
            Err(BbsError::InvalidSignature)
        );
        assert_eq!(
            kp.public().verify(&msgs[..2], &sig),
            Err(BbsError::InvalidSignature)
        );
        let other = KeyPair::new(SecretKey::generate(&mut OsRng));
        assert_eq!(
            other.public().verify(&msgs, &sig),
            Err(BbsError::InvalidSignature)
        );
        assert_eq!(
            kp.public().verify::<&str>(&[], &sig),
            Err(BbsError::MessageCount(0))
        );
    }

    #[test]
    fn refuses_non_canonical_scalars_and_bad_points() {
        let kp = KeyPair::new(SecretKey::generate(&mut OsRng));
        let sig = kp.sign(&["x"], &mut OsRng).unwrap();
        let mut bytes = sig.to_bytes();
        bytes[48..80].copy_from_slice(&[0xff; 32]);
        assert_eq!(
            Signature::from_bytes(&bytes),
            Err(BbsError::Malformed("BBS+ signature"))
        );
        let mut bytes = sig.to_bytes();
        bytes[5] ^= 1;
        assert!(
            Signature::from_bytes(&bytes).is_err()
                || kp
                    .public()
                    .verify(&["x"], &Signature::from_bytes(&bytes).unwrap())
                    .is_err()
        );
        assert!(SecretKey::from_bytes(&[0u8; 32]).is_err());
        assert!(SecretKey::from_bytes(&[0xffu8; 32]).is_err());
        assert!(PublicKey::from_bytes(&[0u8; 96]).is_err());
    }
}
