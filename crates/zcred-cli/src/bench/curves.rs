//! The curve operations a BBS+ check is made of, on arkworks (what zcred runs) and, in a build
//! with the `blst-floor` feature, on `blst` (through `blstrs`, its safe Rust binding, measured
//! here only): the two-pairing product of a
//! signature check and the G1 multi-scalar multiplication of its commitment `B`. The issue's
//! reference floor is `blst`'s; this puts both libraries side by side on the same machine in
//! the same run.

use std::time::Duration;

use serde_json::{json, Value};

use super::{median_of, micros};

/// Points in the MSM: `g1`, `h0` and the `h_i` of 3 messages (a bench credential's `B`).
const MSM_POINTS: usize = 5;

/// Medians of `rounds` runs, µs: `{pairing2Us, msm5Us}` per library (blst only in a build
/// with the `blst-floor` feature).
pub(super) fn floors(rounds: usize) -> Value {
    json!({
        "arkworks": arkworks(rounds),
        "blst": blst(rounds),
    })
}

#[cfg(not(feature = "blst-floor"))]
fn blst(_: usize) -> Value {
    json!({ "notMeasured": "built without the blst-floor feature (cargo build --release --features blst-floor)" })
}

fn us(d: Duration) -> Value {
    json!(micros(d))
}

fn arkworks(rounds: usize) -> Value {
    use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::pairing::Pairing;
    use ark_ec::{CurveGroup, Group, VariableBaseMSM};
    use ark_ff::UniformRand;
    let mut rng = ark_std::rand::thread_rng();
    let g1: Vec<G1Affine> = (0..MSM_POINTS)
        .map(|_| (G1Projective::generator() * Fr::rand(&mut rng)).into_affine())
        .collect();
    let scalars: Vec<Fr> = (0..MSM_POINTS).map(|_| Fr::rand(&mut rng)).collect();
    let g2: Vec<G2Affine> = (0..2)
        .map(|_| (G2Projective::generator() * Fr::rand(&mut rng)).into_affine())
        .collect();
    json!({
        "pairing2Us": us(median_of(rounds, || {
            let _ = Bls12_381::multi_pairing([g1[0], g1[1]], [g2[0], g2[1]]);
        })),
        "msm5Us": us(median_of(rounds, || {
            let _ = G1Projective::msm_unchecked(&g1, &scalars);
        })),
    })
}

#[cfg(feature = "blst-floor")]
fn blst(rounds: usize) -> Value {
    use blstrs::{Bls12, G1Affine, G1Projective, G2Affine, G2Prepared, G2Projective, Scalar};
    use ff::Field;
    use group::{Curve, Group};
    use pairing::{MillerLoopResult, MultiMillerLoop};
    let mut rng = zcred_crypto::OsRng;
    let g1p: Vec<G1Projective> = (0..MSM_POINTS)
        .map(|_| G1Projective::generator() * Scalar::random(&mut rng))
        .collect();
    let g1: Vec<G1Affine> = g1p.iter().map(Curve::to_affine).collect();
    let scalars: Vec<Scalar> = (0..MSM_POINTS).map(|_| Scalar::random(&mut rng)).collect();
    let g2: Vec<G2Affine> = (0..2)
        .map(|_| (G2Projective::generator() * Scalar::random(&mut rng)).to_affine())
        .collect();
    json!({
        "pairing2Us": us(median_of(rounds, || {
            // Prepared per run, as the arkworks figure prepares its G2 points per run.
            let prepared: Vec<G2Prepared> = g2.iter().map(|p| G2Prepared::from(*p)).collect();
            let _ = Bls12::multi_miller_loop(&[(&g1[0], &prepared[0]), (&g1[1], &prepared[1])])
                .final_exponentiation();
        })),
        "msm5Us": us(median_of(rounds, || {
            let _ = G1Projective::multi_exp(&g1p, &scalars);
        })),
    })
}
