#!/usr/bin/env python3
"""An independent implementation of zcred-enc-v1 (docs/enc-v1.md), in Python with the
`cryptography` package, checked against zcred's worked example.

It re-derives every value of the example from its inputs (the server's keys, the client's
ephemeral secret, the timestamp, the nonces and the plaintexts) with primitives that share no
code with zcred, opens the request as the server would, and opens the response as the client
would. CI runs it; a third party can start from it.

    python3 scripts/enc_v1_reference.py crates/zcred-crypto/tests/vectors/enc/example.json
"""

import base64
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE, TAG, MAC = 12, 16, 32
WINDOW_MS = 5 * 60 * 1000


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # with padding, as zcred writes it


def derive(z: bytes, e_pub: bytes, s_pub: bytes, key_id: str, response: bool):
    """k_enc, k_mac from HKDF-SHA256(ikm=Z, salt=E||S, info=label||keyId), 64 bytes."""
    label = b"zcred-enc-v1-resp" if response else b"zcred-enc-v1"
    okm = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=e_pub + s_pub, info=label + key_id.encode()
    ).derive(z)
    return okm[:32], okm[32:]


def aad_of(path: str, ts: int, response: bool) -> bytes:
    return (b"RESP " if response else b"POST ") + path.encode() + ts.to_bytes(8, "big")


def seal(k_enc: bytes, k_mac: bytes, aad: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    sealed = AESGCM(k_enc).encrypt(nonce, plaintext, aad)  # ciphertext || tag
    mac = hmac.new(k_mac, aad + nonce + sealed, hashlib.sha256).digest()
    return nonce + sealed + mac


def open_body(k_enc: bytes, k_mac: bytes, aad: bytes, body: str) -> bytes:
    data = b64url_decode(body)
    if len(data) < NONCE + TAG + MAC:
        raise ValueError("rejected")
    nonce, sealed, mac = data[:NONCE], data[NONCE:-MAC], data[-MAC:]
    expected = hmac.new(k_mac, aad + nonce + sealed, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):  # the MAC first, in constant time
        raise ValueError("rejected")
    return AESGCM(k_enc).decrypt(nonce, sealed, aad)


def check(example: dict) -> None:
    server, ex = example["server"], example["exchange"]
    key_id, path, ts = server["keyId"], ex["path"], ex["ts"]

    # The server's keys, and the public forms GET /cred/v1/enc/keys publishes.
    rsa_private = serialization.load_der_private_key(
        base64.b64decode(server["rsaPrivateKeyPkcs8"]), password=None
    )
    spki = rsa_private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.b64encode(spki).decode() == server["rsaPublicKey"], "rsaPublicKey"
    s_secret = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(server["x25519PrivateKey"]))
    s_pub = s_secret.public_key().public_bytes_raw()
    assert b64url_decode(server["x25519PublicKey"]) == s_pub, "x25519PublicKey"

    # Step 1: the client's ephemeral pair and the shared secret (both sides agree).
    e_secret = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(ex["ephemeralPrivateKey"]))
    e_pub = e_secret.public_key().public_bytes_raw()
    assert e_pub.hex() == ex["ephemeralPublicKey"], "ephemeralPublicKey"
    z = e_secret.exchange(x25519.X25519PublicKey.from_public_bytes(s_pub))
    assert z == s_secret.exchange(x25519.X25519PublicKey.from_public_bytes(e_pub))
    assert z.hex() == ex["sharedSecret"], "sharedSecret"
    assert (e_pub + s_pub).hex() == ex["hkdfSalt"], "hkdfSalt"
    assert ts.to_bytes(8, "big").hex() == ex["tsBytes"], "tsBytes"

    # Step 3: the secretKey header opens (RSA-OAEP, SHA-256 and MGF1-SHA-256, no label) to E || ts.
    wrapped = rsa_private.decrypt(
        b64url_decode(ex["secretKeyHeader"]),
        padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    assert wrapped.hex() == ex["rsaPlaintext"] == (e_pub + ts.to_bytes(8, "big")).hex(), "rsaPlaintext"

    # Steps 2, 4, 5 for the request, and the response.
    for name, response in (("request", False), ("response", True)):
        part = example[name]
        k_enc, k_mac = derive(z, e_pub, s_pub, key_id, response)
        label = b"zcred-enc-v1-resp" if response else b"zcred-enc-v1"
        assert (label + key_id.encode()).hex() == part["hkdfInfo"], f"{name} hkdfInfo"
        assert k_enc.hex() == part["kEnc"] and k_mac.hex() == part["kMac"], f"{name} keys"
        aad = aad_of(path, ts, response)
        assert aad.hex() == part["aad"], f"{name} aad"
        body = seal(k_enc, k_mac, aad, bytes.fromhex(part["nonce"]), part["plaintext"].encode())
        assert body[NONCE:-MAC - TAG].hex() == part["ciphertext"], f"{name} ciphertext"
        assert body[-MAC - TAG:-MAC].hex() == part["gcmTag"], f"{name} gcmTag"
        assert body[-MAC:].hex() == part["mac"], f"{name} mac"
        assert b64url_encode(body) == part["body"], f"{name} body"
        assert open_body(k_enc, k_mac, aad, part["body"]).decode() == part["plaintext"]
        # One flipped bit anywhere in the body is refused.
        raw = bytearray(b64url_decode(part["body"]))
        for i in range(len(raw) * 8):
            raw[i // 8] ^= 1 << (i % 8)
            try:
                open_body(k_enc, k_mac, aad, b64url_encode(bytes(raw)))
                raise AssertionError(f"{name}: bit {i} flipped was accepted")
            except ValueError:
                pass
            raw[i // 8] ^= 1 << (i % 8)


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "crates/zcred-crypto/tests/vectors/enc/example.json"
    with open(path, encoding="utf-8") as f:
        check(json.load(f))
    print(f"zcred-enc-v1: {path}: every value re-derived independently; tampering refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
