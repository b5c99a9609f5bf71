//! Hashing as `bbs` 0.4.1 does it: messages and challenges to scalars, and bytes to G1.
//!
//! - Scalars: BLAKE2b with a 48-byte output (the parameter block's digest length is 48, which is
//!   not a truncated BLAKE2b-512), read as a big-endian integer mod r (`Fr::from_okm`).
//! - G1: hash-to-curve `BLS12381G1_XMD:BLAKE2B_SSWU_RO_` (RFC 9380 with `expand_message_xmd`
//!   over BLAKE2b-512) and the DST `BLS12381G1_XMD:BLAKE2B_SSWU_RO_BBS+_SIGNATURES:1_0_0`.
//!
//! arkworks 0.4 provides the SSWU map, the isogeny and cofactor clearing. Two details differ
//! from what `bbs` 0.4.1 (through `pairing-plus` 0.19) computes, and this module bridges them:
//! arkworks' `DefaultFieldHasher` pads with 64 bytes where RFC 9380 wants the hash's block size
//! (128 for BLAKE2b), so `expand_message_xmd` and `hash_to_field` are supplied here; and
//! `pairing-plus` chooses the sign of y with an early draft's `sgn0` (see [`map_to_g1`]).

use ark_bls12_381::{g1, Fq, Fr, G1Affine, G1Projective};
use ark_ec::hashing::curve_maps::swu::SWUMap;
use ark_ec::hashing::curve_maps::wb::{WBConfig, WBMap};
use ark_ec::hashing::map_to_curve_hasher::MapToCurve;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::field_hashers::HashToField;
use ark_ff::PrimeField;
use blake2::digest::core_api::BlockSizeUser;
use blake2::digest::{Digest, Update, VariableOutput};
use blake2::{Blake2b512, Blake2bVar};

/// The DST `bbs` 0.4.1 uses for its G1 generators.
pub const G1_DST: &[u8] = b"BLS12381G1_XMD:BLAKE2B_SSWU_RO_BBS+_SIGNATURES:1_0_0";

/// `bbs` 0.4.1 `hash_to_fr`: BLAKE2b-384 (digest length 48), big-endian, mod r.
pub fn hash_to_scalar(data: &[u8]) -> Fr {
    let mut hasher = Blake2bVar::new(48).expect("48 is a valid BLAKE2b output length");
    hasher.update(data);
    let mut okm = [0u8; 48];
    hasher
        .finalize_variable(&mut okm)
        .expect("buffer has the requested length");
    Fr::from_be_bytes_mod_order(&okm)
}

/// RFC 9380 §5.3.1 `expand_message_xmd` for a hash `H` with block size `r_in_bytes`.
/// Requires `dst.len() <= 255` and `len_in_bytes <= 255 * b_in_bytes` (callers use fixed values).
pub fn expand_message_xmd<H: Digest + BlockSizeUser>(
    msg: &[u8],
    dst: &[u8],
    len_in_bytes: usize,
) -> Vec<u8> {
    let b_in_bytes = <H as Digest>::output_size();
    let ell = len_in_bytes.div_ceil(b_in_bytes);
    assert!(ell <= 255 && dst.len() <= 255 && len_in_bytes <= u16::MAX as usize);
    let dst_len = [dst.len() as u8];
    let z_pad = vec![0u8; H::block_size()];
    let b0 = H::new()
        .chain_update(&z_pad)
        .chain_update(msg)
        .chain_update((len_in_bytes as u16).to_be_bytes())
        .chain_update([0u8])
        .chain_update(dst)
        .chain_update(dst_len)
        .finalize();
    let mut bi = H::new()
        .chain_update(&b0)
        .chain_update([1u8])
        .chain_update(dst)
        .chain_update(dst_len)
        .finalize();
    let mut out = Vec::with_capacity(ell * b_in_bytes);
    out.extend_from_slice(&bi);
    for i in 2..=ell {
        let xored: Vec<u8> = b0.iter().zip(bi.iter()).map(|(a, b)| a ^ b).collect();
        bi = H::new()
            .chain_update(&xored)
            .chain_update([i as u8])
            .chain_update(dst)
            .chain_update(dst_len)
            .finalize();
        out.extend_from_slice(&bi);
    }
    out.truncate(len_in_bytes);
    out
}

/// RFC 9380 `hash_to_field` for Fp of BLS12-381 (L = 64) over `expand_message_xmd` with BLAKE2b-512.
#[derive(Debug)]
pub struct XmdBlake2b {
    dst: Vec<u8>,
}

impl HashToField<Fq> for XmdBlake2b {
    fn new(domain: &[u8]) -> Self {
        Self {
            dst: domain.to_vec(),
        }
    }

    fn hash_to_field(&self, msg: &[u8], count: usize) -> Vec<Fq> {
        const L: usize = 64;
        let bytes = expand_message_xmd::<Blake2b512>(msg, &self.dst, count * L);
        bytes.chunks(L).map(Fq::from_be_bytes_mod_order).collect()
    }
}

/// The curve SSWU maps onto before the 11-isogeny to G1.
type IsoCurve = <g1::Config as WBConfig>::IsogenousCurve;

/// `sgn0` as the `pairing-plus` 0.19 crate under `bbs` 0.4.1 defines it (an early hash-to-curve
/// draft): "negative" when the value exceeds (p − 1) / 2. RFC 9380 uses the parity instead.
fn sgn0_pairing_plus(x: &Fq) -> bool {
    x.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// One SSWU map + isogeny with `pairing-plus`'s sign rule: the y of the point on the isogenous
/// curve has the same `sgn0` as `u`. arkworks applies RFC 9380's rule; where the two rules differ
/// the points are negatives of each other, and since the isogeny is a group homomorphism the
/// image is negated likewise.
fn map_to_g1(swu: &SWUMap<IsoCurve>, wb: &WBMap<g1::Config>, u: Fq) -> G1Projective {
    let on_iso = swu
        .map_to_curve(u)
        .expect("SSWU is defined for every field element");
    let image = wb
        .map_to_curve(u)
        .expect("SSWU is defined for every field element")
        .into_group();
    match on_iso.xy() {
        Some((_, y)) if sgn0_pairing_plus(y) != sgn0_pairing_plus(&u) => -image,
        _ => image,
    }
}

/// Hashes `data` to G1 with the `bbs` 0.4.1 suite and DST: `hash_to_field` (count 2),
/// map each with [`map_to_g1`], add, clear the cofactor (h_eff = 1 − z, as RFC 9380).
pub fn hash_to_g1(data: &[u8]) -> G1Affine {
    let swu = SWUMap::<IsoCurve>::new().expect("the SSWU parameters for BLS12-381 are valid");
    let wb = WBMap::<g1::Config>::new().expect("the WB map for BLS12-381 G1 is well-formed");
    let u: Vec<Fq> = XmdBlake2b::new(G1_DST).hash_to_field(data, 2);
    (map_to_g1(&swu, &wb, u[0]) + map_to_g1(&swu, &wb, u[1]))
        .into_affine()
        .clear_cofactor()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;

    /// RFC 9380 Appendix K.1, expand_message_xmd(SHA-256), DST `QUUX-V01-CS02-with-expander-SHA256-128`,
    /// msg "abc", len_in_bytes 0x20.
    #[test]
    fn expand_message_xmd_matches_rfc9380_vector() {
        let out =
            expand_message_xmd::<Sha256>(b"abc", b"QUUX-V01-CS02-with-expander-SHA256-128", 0x20);
        assert_eq!(
            hex::encode(out),
            "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"
        );
    }
}
