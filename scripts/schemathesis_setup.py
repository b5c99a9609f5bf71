#!/usr/bin/env python3
"""Seeds a running `zcred serve` with real records and writes the schemathesis configuration
that fuzzes it; scripts/schemathesis.sh runs it, then schemathesis loads it again as its hooks.

A server with nothing in it answers almost every request 400 or 404 before any interesting
code runs. So this makes, with the `zcred` client commands and the admin API, what a real
deployment holds: an onboarded and approved issuer with an issuer-bound key, a template,
credentials in each state of api.md §4 (APPLIED, CREATED, ISSUED, REVOKED), open blobs, a VP
challenge and a presentation. Their identifiers go into schemathesis dictionaries bound to the
body members, path and query parameters that name them, so that a share of the generated
requests names live records and reaches the existence, authorisation, state and signature
checks (api.md §1.4) instead of stopping at the JSON shape. As hooks (`register_hooks`), it
puts the real credential and presentation into some bodies of the presentation endpoints.

    schemathesis_setup.py --zcred BIN --server URL --admin-token-file F --work DIR --config OUT

The seeding uses the standard library only; the hooks run inside schemathesis.
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

TEMPLATE = {
    "templateName": "DrivingLicense",
    "version": "1.0.0",
    "credentialFormat": [
        {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": True, "type": "USER"},
        {"attribute": "Age", "format": "NUMBER", "key": "age", "mandatory": False, "type": "USER",
         "rangeProvable": True},
        {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": True,
         "type": "FIXED"},
    ],
}


class Seeder:
    def __init__(self, zcred, server, admin_token, work):
        self.zcred = zcred
        self.server = server.rstrip("/")
        self.admin_token = admin_token
        self.work = work

    def http(self, path, body, token):
        request = urllib.request.Request(
            self.server + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)["object"]
        except urllib.error.HTTPError as e:
            sys.exit(f"setup: POST {path} answered {e.code}: {e.read().decode(errors='replace')}")

    def admin(self, path, body):
        return self.http("/zcred/v1/admin/" + path, body, self.admin_token)

    def cli(self, api_key, keys, *args):
        """`zcred args…` against the server with `api_key` and the key file `keys` (a name in
        the work directory; None for commands that use none)."""
        env = dict(os.environ, ZCRED_SERVER=self.server, ZCRED_API_KEY=api_key)
        if keys is not None:
            env["ZCRED_KEYS"] = os.path.join(self.work, keys)
        done = subprocess.run([self.zcred, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"setup: zcred {' '.join(args)} failed: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def key_file(self, name):
        with open(os.path.join(self.work, name), encoding="utf-8") as f:
            return json.load(f)


def seed(s):
    """Makes the records; returns the dictionaries' values, the objects for the hooks and the
    issuer's API key (the one schemathesis sends)."""
    integrator = s.admin("keys/create", {"plan": "unlimited"})["apiKey"]
    did = s.cli(integrator, "issuer.json", "issuer", "onboard")["did"]
    s.admin("issuers/approve", {"did": did})
    issuer_key = s.admin("keys/create", {"plan": "unlimited", "issuer": did})["apiKey"]
    template_path = os.path.join(s.work, "template.json")
    with open(template_path, "w", encoding="utf-8") as f:
        json.dump(TEMPLATE, f)
    template = s.cli(issuer_key, "issuer.json", "template", "create", template_path)["templateId"]
    issuer_values = json.dumps([{"templateId": template, "metadata": {"class": "B2"}}])

    vcs = {}
    for state in ("APPLIED", "CREATED", "ISSUED", "REVOKED"):
        holder = f"holder-{state.lower()}.json"
        vc = s.cli(integrator, holder, "holder", "apply", "--template", template,
                   "--data", json.dumps({"name": "Ali bin Abu", "age": "30"}))["vcId"]
        if state == "CREATED":
            s.http("/cred/v1/vc/create", {"vcId": vc, "issuanceDate": "2025-01-01T00:00:00Z",
                                                 "data": json.loads(issuer_values)}, issuer_key)
        elif state in ("ISSUED", "REVOKED"):
            s.cli(issuer_key, "issuer.json", "issuer", "issue", vc, "--data", issuer_values)
            if state == "REVOKED":
                s.cli(issuer_key, "issuer.json", "issuer", "revoke", vc, "--remark", "lost")
        vcs[state] = vc

    issuer = s.key_file("issuer.json")["issuer"]
    keys = s.cli(integrator, None, "key", "show", issuer["privateKey"])
    holder = s.key_file("holder-issued.json")["holder"]["privateKey"]
    holder_keys = s.cli(integrator, None, "key", "show", holder)
    bbs = s.cli(integrator, None, "bbs", "public", "--key", issuer["bbsPrivateKey"])

    # Blobs waiting for their submit: a second template, and the revocation of the issued VC.
    second = dict(TEMPLATE, templateName="Passport", issuerZid=did)
    template_blob = s.http("/cred/tds/template/blob/create", second, issuer_key)["blobId"]
    revoke = {"vcId": vcs["ISSUED"], "issuerAddress": keys["address"]}
    revoke_blob = s.http("/cred/v1/vc/revoke/create", revoke, issuer_key)["blobId"]
    challenge = s.http("/cred/v1/vp/challenge", {}, integrator)["challenge"]

    # A real credential and a real presentation of it (10.1, signed here, 10.2), for the hooks.
    vc = s.cli(integrator, "holder-issued.json", "holder", "download", vcs["ISSUED"])
    made = s.http("/cred/v1/vp/create",
                  {"vc": vc, "revealedAttributes": ["drivingLicense.name"], "challenge": "fuzz"},
                  integrator)
    signature = s.cli(integrator, None, "sign", "--key", holder, made["blob"])["signature"]
    vp = s.http("/cred/v1/vp/submit", {"blobId": made["blobId"], "ed25519SignData": signature,
                                        "ed25519PubKey": holder_keys["publicKey"]},
                integrator)["vpObject"]
    # A BBS+ key pair of no one's, for the signing utility (10.0b).
    signer = s.cli(integrator, None, "bbs", "new")

    unknown_did = "did:zid:" + "0" * 64
    return {
        "objects": {
            "vc": vc,
            "vp": vp,
            "attributes": ["drivingLicense.name", "drivingLicense.age", "drivingLicense.class"],
        },
        "issuer_key": issuer_key,
        "values": {
            "did": [did, holder_keys["did"], unknown_did],
            "vcId": list(vcs.values()) + [unknown_did],
            "templateId": [template, unknown_did],
            "publicKey": [keys["publicKey"], holder_keys["publicKey"]],
            "address": [keys["address"], holder_keys["address"]],
            "bbsPublicKey": [bbs["publicKeyMultibase"], signer["publicKeyMultibase"]],
            "bbsSecretKey": [signer["privateKeyMultibase"]],
            "seed": ["00" * 32, " ".join(["abandon"] * 11 + ["about"])],
            "blobId": [template_blob, revoke_blob, "0" * 32],
            "challenge": [challenge],
            "plan": ["unlimited", "free", "standard"],
            "contextKey": [f"template__{template}", "template__" + unknown_did],
            "registry": ["zcred-templates"],
            "hexSignature": ["00" * 64],
            "format": ["STRING", "NUMBER", "DATE", "IMAGE", "image/png", "string"],
            "supplier": ["USER", "FIXED", "APPLICATION", "user"],
            "attributeKey": ["name", "age", "class", "id"],
            "date": ["2025-01-01", "2025-01-01T00:00:00Z", "2035-06-30T12:00:00Z"],
        },
    }


# Where each dictionary goes: a body member (any operation whose body has it), a path or a
# query parameter.
BINDINGS = {
    "did": ["body.did", "body.issuer", "body.issuerZid", "path.did"],
    "vcId": ["body.vcId", "body.items[*].vcId"],
    "templateId": ["body.templateId", "body.data[*].templateId"],
    "publicKey": ["body.publicKey", "body.nextPublicKey", "body.ed25519PubKey",
                  "body.holderPublicKey", "body.signerList[*].publicKey"],
    "address": ["body.issuerAddress"],
    "bbsPublicKey": ["body.bbsPublicKey", "body.bbsBlsPubKey", "body.publicKeyMultibase"],
    "bbsSecretKey": ["body.privateKeyMultibase"],
    "seed": ["body.seed"],
    "blobId": ["body.blobId"],
    "challenge": ["body.challenge"],
    "plan": ["body.plan"],
    "contextKey": ["query.key"],
    "registry": ["query.address"],
    "format": ["body.credentialFormat[*].format"],
    "supplier": ["body.credentialFormat[*].type"],
    "attributeKey": ["body.credentialFormat[*].key"],
    "date": ["body.issuanceDate", "body.expirationDate", "body.validFrom", "body.validUntil"],
    "hexSignature": ["body.signData", "body.signVcId", "body.ed25519SignData", "body.signBlob",
                     "body.signerList[*].signBlob"],
}


def toml_string(text):
    return json.dumps(text)  # a JSON string of ASCII is a TOML basic string


def config(seeded, probability):
    lines = [
        "# Written by scripts/schemathesis_setup.py for one run; the keys die with the server.",
        f"hooks = {toml_string(os.path.abspath(__file__))}",
        "[auth.openapi.apiKey]",
        f"bearer = {toml_string(seeded['issuer_key'])}",
        "[auth.openapi.adminToken]",
        f"bearer = {toml_string(seeded['admin_token'])}",
        "",
    ]
    for name, values in seeded["values"].items():
        lines.append(f"[dictionaries.{name}]")
        lines.append("values = [" + ", ".join(toml_string(v) for v in values) + "]")
    lines.append("")
    lines.append("[parameters]")
    for name, keys in BINDINGS.items():
        for key in keys:
            binding = f"dictionary = {toml_string(name)}, probability = {probability}"
            lines.append(f"{toml_string(key)} = {{ {binding} }}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zcred", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--admin-token-file", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--probability", type=float, default=0.7)
    args = parser.parse_args()
    with open(args.admin_token_file, encoding="utf-8") as f:
        token = f.read().strip()
    seeded = seed(Seeder(args.zcred, args.server, token, args.work))
    seeded["admin_token"] = token
    with open(args.config, "w", encoding="utf-8") as f:
        f.write(config(seeded, args.probability))
    with open(os.path.join(args.work, OBJECTS), "w", encoding="utf-8") as f:
        json.dump(seeded["objects"], f)
    counts = {name: len(values) for name, values in seeded["values"].items()}
    print(json.dumps({"seeded": counts}))


# The objects file, in the work directory (the hooks find it beside the configuration).
OBJECTS = "objects.json"


def register_hooks():
    """Loaded by schemathesis (the configuration's `hooks`): bodies of the presentation
    endpoints that carry the real credential or presentation, with generated disclosure, range
    and challenge members, so that BBS+ proof derivation, range proofs and VP verification run
    on generated input, which a generated credential never reaches."""
    import schemathesis
    from hypothesis import strategies as st

    path = os.path.join(os.environ.get("ZCRED_FUZZ_WORK", "."), OBJECTS)
    with open(path, encoding="utf-8") as f:
        objects = json.load(f)
    attribute = st.one_of(st.sampled_from(objects["attributes"]), st.text(max_size=40))
    number = st.one_of(st.integers(-200, 200), st.integers(),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
    ranges = st.lists(st.fixed_dictionaries({"attribute": attribute, "min": number, "max": number}),
                      max_size=3)
    reveal = st.lists(attribute, max_size=4)

    def with_member(body, name, value, alias):
        body = {k: v for k, v in body.items() if k != alias}
        body[name] = value
        return body

    @schemathesis.hook
    def flatmap_body(context, body):
        path = context.operation.path if context.operation is not None else None
        if not isinstance(body, dict):
            return st.just(body)
        if path == "/cred/v1/vp/create":
            real = with_member(body, "vc", objects["vc"], "vcObject")
            # The first branch is the one Hypothesis favours.
            asked = st.builds(lambda r, g: dict(real, revealedAttributes=r, rangeProof=g),
                              reveal, ranges)
            return st.one_of(asked, st.just(real), st.just(body))
        if path == "/cred/v1/vp/verify":
            real = with_member(body, "vpObject", objects["vp"], "vp")
            return st.one_of(st.just(real), st.just(body))
        return st.just(body)


if __name__ == "__main__":
    main()
else:
    register_hooks()
