#!/usr/bin/env python3
"""Regenerates the fuzz seeds (fuzz/seeds/<target>/) and the fixed PKI (fuzz/data/).

    python3 fuzz/seeds/generate.py            # seeds only (keeps fuzz/data as committed)
    python3 fuzz/seeds/generate.py --new-pki  # also a new root/intermediates/end entities

Inputs: RFC 8448's traces (../shared/testdata/rfc8448/rfc8448.json) and an ECDSA P-256 PKI
made with the `openssl` command (root, two intermediates, one with name constraints, end
entities, a CRL). The root in fuzz/data/root.der is compiled into the path_building target, so
a new PKI invalidates the grown corpus of that target: only regenerate it on purpose.
The seed formats are documented at the top of each fuzz_targets/*.rs.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.dirname(HERE)
DATA = os.path.join(FUZZ, "data")
RFC8448 = os.path.join(FUZZ, "..", "..", "shared", "testdata", "rfc8448", "rfc8448.json")


def u16(n):
    return n.to_bytes(2, "big")


def u24(n):
    return n.to_bytes(3, "big")


def vec8(b):
    return bytes([len(b)]) + b


def vec16(b):
    return u16(len(b)) + b


def vec24(b):
    return u24(len(b)) + b


def msg(typ, body):
    return bytes([typ]) + vec24(body)


def ext(typ, body):
    return u16(typ) + vec16(body)


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


EXT_CONF = """
[root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
extendedKeyUsage = serverAuth, clientAuth
[constrained]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical, permitted;DNS:example.com, permitted;IP:127.0.0.0/255.0.0.0, permitted;email:example.com, excluded;DNS:bad.example.com
[ee]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:example.com, DNS:www.example.com, DNS:*.example.com, IP:127.0.0.1, email:user@example.com
[ee_nc]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
authorityKeyIdentifier = keyid
subjectAltName = DNS:example.com, DNS:www.example.com, IP:127.0.0.1, email:user@example.com
[ca]
default_ca = fuzzca
[fuzzca]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 7300
"""


def new_pki():
    """root, inter (pathlen 0), constrained (name constraints), ee_inter, ee_constrained,
    ee_root; a CRL by the root revoking nothing. DER files in fuzz/data."""
    os.makedirs(DATA, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        with open(os.path.join(t, "ext.cnf"), "w") as f:
            f.write(EXT_CONF)
        open(os.path.join(t, "index.txt"), "w").close()
        with open(os.path.join(t, "crlnumber"), "w") as f:
            f.write("01\n")

        def key(name):
            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name + ".key", cwd=t)

        def cert(name, cn, issuer, section):
            key(name)
            openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out", name + ".csr", cwd=t)
            args = ["x509", "-req", "-in", name + ".csr", "-days", "7300", "-sha256",
                    "-extfile", "ext.cnf", "-extensions", section, "-out", name + ".pem",
                    "-set_serial", str(int.from_bytes(hashlib.sha256(cn.encode()).digest()[:8], "big"))]
            if issuer is None:
                args += ["-key", name + ".key"]
            else:
                args += ["-CA", issuer + ".pem", "-CAkey", issuer + ".key"]
            openssl(*args, cwd=t)
            openssl("x509", "-in", name + ".pem", "-outform", "DER", "-out", name + ".der", cwd=t)

        cert("root", "Overture Fuzz Root", None, "root")
        cert("inter", "Overture Fuzz Intermediate", "root", "inter")
        cert("constrained", "Overture Fuzz Constrained", "root", "constrained")
        cert("ee_inter", "example.com", "inter", "ee")
        cert("ee_constrained", "example.com", "constrained", "ee_nc")
        cert("ee_root", "www.example.com", "root", "ee")
        openssl("ca", "-config", "ext.cnf", "-gencrl", "-keyfile", "root.key", "-cert", "root.pem",
                "-out", "root.crl.pem", cwd=t)
        openssl("crl", "-in", "root.crl.pem", "-outform", "DER", "-out", "root.crl", cwd=t)
        for n in ["root", "inter", "constrained", "ee_inter", "ee_constrained", "ee_root"]:
            shutil.copy(os.path.join(t, n + ".der"), os.path.join(DATA, n + ".der"))
            shutil.copy(os.path.join(t, n + ".pem"), os.path.join(DATA, n + ".pem"))
        shutil.copy(os.path.join(t, "root.crl"), os.path.join(DATA, "root.crl"))


def pki():
    names = ["root", "inter", "constrained", "ee_inter", "ee_constrained", "ee_root"]
    out = {}
    for n in names:
        with open(os.path.join(DATA, n + ".der"), "rb") as f:
            out[n] = f.read()
        with open(os.path.join(DATA, n + ".pem"), "rb") as f:
            out[n + ".pem"] = f.read()
    with open(os.path.join(DATA, "root.crl"), "rb") as f:
        out["crl"] = f.read()
    return out


def lp(*items):
    return b"".join(u16(len(i)) + i for i in items)


def main():
    if "--new-pki" in sys.argv:
        new_pki()
    for t in ["deframer", "handshake_messages", "certificate", "path_building", "client_state_machine",
              "connection", "ech_config"]:
        shutil.rmtree(os.path.join(HERE, t), ignore_errors=True)
    with open(RFC8448) as f:
        rfc = json.load(f)
    p = pki()
    traces = rfc["traces"]

    # handshake_messages: every RFC 8448 message, whole (selector 0) and as a bare body with
    # the selector of its type.
    body_selector = {"ClientHello": 4, "ServerHello": 5, "HelloRetryRequest": 5,
                     "EncryptedExtensions": 6, "CertificateRequest": 7, "Certificate": 8,
                     "CertificateVerify": 10, "NewSessionTicket": 11}
    for tn, tr in traces.items():
        for i, m in enumerate(tr["handshake_messages"]):
            data = bytes.fromhex(m["data"])
            write("handshake_messages", f"{tn}-{i}-{m['type']}", b"\x00" + data)
            sel = body_selector.get(m["type"])
            if sel is not None:
                write("handshake_messages", f"{tn}-{i}-{m['type']}-body", bytes([sel]) + data[4:])
    write("handshake_messages", "key_update", b"\x00" + msg(24, b"\x01"))
    write("handshake_messages", "end_of_early_data", b"\x00" + msg(5, b""))
    # ECH, OCSP, SCTs (ours, built here): the configs list, a CertificateEntry with a stapled
    # OCSP response and an SCT list, TLS 1.2's CertificateStatus (selector 3: Tls12Message).
    def ech_config(version=0xFE0D, config_id=7, kem=0x0020, suites=((1, 1),), name=b"public.example",
                   exts=b""):
        contents = (bytes([config_id]) + u16(kem) + vec16(bytes([0x42] * 32))
                    + vec16(b"".join(u16(k) + u16(a) for k, a in suites)) + b"\x00" + vec8(name) + vec16(exts))
        return u16(version) + vec16(contents)

    ech_list = vec16(ech_config())
    ocsp_ext = ext(5, b"\x01" + vec24(b"\x30\x03\x0a\x01\x00"))
    sct_list = vec16(vec16(b"\x00" + bytes(32) + bytes(8) + vec16(b"") + b"\x04\x03" + vec16(bytes(8))))
    sct_ext = ext(18, sct_list)
    write("handshake_messages", "certificate-ocsp-sct",
          b"\x00" + msg(11, vec8(b"") + vec24(vec24(b"\x30\x03\x02\x01\x01") + vec16(ocsp_ext + sct_ext))))
    write("handshake_messages", "ee-ech-retry-configs", b"\x00" + msg(8, vec16(ext(0xFE0D, ech_list))))
    write("handshake_messages", "ee-early-data", b"\x00" + msg(8, vec16(ext(42, b""))))
    write("handshake_messages", "tls12-certificate-status", b"\x03" + msg(22, b"\x01" + vec24(b"\x30\x03\x0a\x01\x00")))
    write("handshake_messages", "tls12-certificate", b"\x03" + msg(11, vec24(vec24(b"\x30\x03\x02\x01\x01"))))

    # ech_config: the list the state machine offers, several configs (other versions
    # skipped, a mandatory extension, several suites, a bad public name).
    write("ech_config", "one", ech_list)
    write("ech_config", "mixed", vec16(ech_config(version=0xFE0A) + ech_config(config_id=1, kem=0x0010)
                                       + ech_config(exts=ext(0x8001, b"x")) + ech_config(name=b"1.2.3.4")
                                       + ech_config(suites=((1, 2), (1, 3), (2, 1), (1, 1)), exts=ext(1, b""))))
    write("ech_config", "empty", vec16(b""))

    write("handshake_messages", "tls12_server_hello_no_exts",
          b"\x00" + msg(2, b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f" + b"\x00"))

    # deframer: each trace's server records in order ([flags, split seed] first); simple_1rtt
    # with its real server handshake key (mode 2, key after the first message).
    for tn, tr in traces.items():
        server = b"".join(bytes.fromhex(r["record"]) for r in tr["records"] if r["sender"] == "server")
        client = b"".join(bytes.fromhex(r["record"]) for r in tr["records"] if r["sender"] == "client")
        for split in range(4):
            write("deframer", f"{tn}-server-key-after-first-split{split}", bytes([2 | 4 | 64 | split << 4, 0x31]) + server)
        write("deframer", f"{tn}-client-plaintext", bytes([4 | 48, 7]) + client)

    def null13(typ, content, pad=0):
        inner = content + bytes([typ]) + bytes(pad) + bytes(16)
        return b"\x17\x03\x03" + vec16(inner)

    hs = bytes.fromhex(traces["simple_1rtt"]["handshake_messages"][2]["data"])
    write("deframer", "null13-handshake-alert-appdata",
          bytes([1 | 48, 3]) + null13(22, hs) + null13(22, hs[:3]) + null13(22, hs[3:], 5)
          + null13(23, b"hello") + null13(21, b"\x01\x00") + null13(23, b"", 10))
    write("deframer", "null13-ccs", bytes([1 | 4 | 48, 3]) + b"\x14\x03\x03\x00\x01\x01" + null13(22, hs))
    write("deframer", "null12-gcm",
          bytes([3 | 48, 9]) + b"\x16\x03\x03" + vec16(bytes(8) + hs + bytes(16))
          + b"\x15\x03\x03" + vec16(bytes(8) + b"\x02\x28" + bytes(16)))
    write("deframer", "plaintext-alert", bytes([16, 1]) + b"\x15\x03\x03\x00\x02\x02\x28")

    # certificate: the generated PKI, RFC 8448's certificates, PEM, CRL, a bare anchor.
    for n in ["root", "inter", "constrained", "ee_inter", "ee_constrained", "ee_root"]:
        write("certificate", f"{n}", b"\x00" + p[n])
        write("certificate", f"{n}-anchor", b"\x03" + p[n])
        write("certificate", f"{n}-pem", b"\x04" + p[n + ".pem"])
    write("certificate", "rfc8448-rsa", b"\x00" + bytes.fromhex(rfc["server_certificate_der"]))
    write("certificate", "crl", b"\x06" + p["crl"])

    # path_building: the generated chains, for each name / purpose, with real signatures too.
    chains = {
        "inter": [p["ee_inter"], p["inter"]],
        "constrained": [p["ee_constrained"], p["constrained"]],
        "root": [p["ee_root"]],
        "mesh": [p["ee_inter"], p["constrained"], p["inter"], p["ee_root"]],
    }
    for cn, items in chains.items():
        for flags in [0, 1, 2, 3, 4, 8, 8 | 16, 64, 128]:
            write("path_building", f"{cn}-{flags}", bytes([flags]) + lp(*items))
        write("path_building", f"{cn}-crl", bytes([8 | 32]) + lp(*items, p["crl"]))

    # client_state_machine: whole server flights for the test provider (fixed client random
    # and shares, Finished = zeros).
    server_cert = bytes.fromhex(rfc["server_certificate_der"])

    def server_hello(compat, suite=0x1301, group=0x001D, share_len=32, hrr=False, extra=b""):
        random = (bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
                  if hrr else bytes(range(32)))
        if hrr:
            exts = ext(0x2B, b"\x03\x04") + ext(0x33, u16(group)) + ext(0x2C, vec16(b"cookie!"))
        else:
            exts = ext(0x2B, b"\x03\x04") + ext(0x33, u16(group) + vec16(bytes([4] + [7] * (share_len - 1))))
        sid = b"\x5a" * 32 if compat else b""
        return msg(2, b"\x03\x03" + random + vec8(sid) + u16(suite) + b"\x00" + vec16(exts + extra))

    def ee(alpn):
        e = ext(0x10, vec16(vec8(b"h2"))) if alpn else b""
        return msg(8, vec16(e + ext(0x00, b"")) if alpn else vec16(b""))

    cert_msg = msg(11, vec8(b"") + vec24(vec24(server_cert) + vec16(b"")))
    cv = msg(15, u16(0x0804) + vec16(bytes(256)))
    fin32, fin48 = msg(20, bytes(32)), msg(20, bytes(48))
    nst = msg(4, (7200).to_bytes(4, "big") + (12345).to_bytes(4, "big") + vec8(b"\x00") + vec16(b"ticket")
              + vec16(ext(0x2A, (16384).to_bytes(4, "big"))))
    ku = msg(24, b"\x01")
    cr_msg = msg(13, vec8(b"") + vec16(ext(0x0D, vec16(u16(0x0403) + u16(0x0804)))))
    for flags in [0, 1, 2, 3, 16, 32, 64, 64 | 128, 8]:
        compat, alpn = flags & 1, flags & 2
        write("client_state_machine", f"full-{flags}",
              bytes([flags, 0]) + server_hello(compat) + ee(alpn) + cert_msg + cv + fin32 + nst + ku + nst)
    write("client_state_machine", "full-sha384",
          bytes([0, 0]) + server_hello(0, suite=0x1302) + ee(0) + cert_msg + cv + fin48 + nst)
    write("client_state_machine", "full-chacha",
          bytes([1, 0]) + server_hello(1, suite=0x1303) + ee(0) + cert_msg + cv + fin32)
    write("client_state_machine", "client-auth",
          bytes([4 | 2, 0]) + server_hello(0) + ee(2) + cr_msg + cert_msg + cv + fin32 + ku)
    write("client_state_machine", "client-auth-compat",
          bytes([4 | 1, 0]) + server_hello(1) + ee(0) + cr_msg + cert_msg + cv + fin32)
    write("client_state_machine", "hrr-p256",
          bytes([0, 0]) + server_hello(0, group=0x0017, hrr=True)
          + server_hello(0, group=0x0017, share_len=65) + ee(0) + cert_msg + cv + fin32 + nst)
    write("client_state_machine", "hrr-p256-compat",
          bytes([1 | 16, 0]) + server_hello(1, group=0x0017, hrr=True)
          + server_hello(1, group=0x0017, share_len=65) + ee(0) + cert_msg + cv + fin32)
    write("client_state_machine", "tls12-choice",
          bytes([8, 0]) + msg(2, b"\x03\x03" + bytes(24) + b"DOWNGRD\x01" + b"\x00\xc0\x2f\x00"))
    # The extensions of the second byte: OCSP and SCTs in the end entity's entry; GREASE ECH
    # with retry_configs (ignored); ECH offered and rejected (EncryptedExtensions' retry_configs,
    # an HRR whose confirmation is wrong); early data on the resumed test ticket, accepted
    # (pre_shared_key selected, early_data in EncryptedExtensions) or not (a full handshake).
    cert_ocsp_sct = msg(11, vec8(b"") + vec24(vec24(server_cert) + vec16(ocsp_ext + sct_ext)))
    ee_ech = msg(8, vec16(ext(0xFE0D, ech_list)))
    write("client_state_machine", "ocsp-sct",
          bytes([0, 3]) + server_hello(0) + ee(0) + cert_ocsp_sct + cv + fin32 + nst)
    write("client_state_machine", "ech-grease-retry-configs",
          bytes([0, 8]) + server_hello(0) + ee_ech + cert_msg + cv + fin32 + nst)
    write("client_state_machine", "ech-rejected-retry-configs",
          bytes([0, 16]) + server_hello(0) + ee_ech + cert_msg + cv + fin32)
    write("client_state_machine", "ech-rejected-hrr",
          bytes([1, 16]) + server_hello(1, group=0x0017, hrr=True, extra=ext(0xFE0D, bytes(8)))
          + server_hello(1, group=0x0017, share_len=65) + ee_ech + cert_msg + cv + fin32)
    psk_selected = ext(41, u16(0))
    write("client_state_machine", "early-data-accepted",
          bytes([0, 4]) + server_hello(0, extra=psk_selected) + msg(8, vec16(ext(42, b""))) + fin32 + nst)
    write("client_state_machine", "early-data-rejected-resumed",
          bytes([0, 4]) + server_hello(0, extra=psk_selected) + ee(0) + fin32)
    write("client_state_machine", "early-data-rejected-full",
          bytes([0, 4 | 3]) + server_hello(0) + ee(0) + cert_ocsp_sct + cv + fin32)
    sh12_status = msg(2, b"\x03\x03" + bytes(32) + vec8(b"") + u16(0xC02F) + b"\x00"
                      + vec16(ext(0xFF01, b"\x00") + ext(23, b"") + ext(5, b"") + ext(18, sct_list)))
    status12 = msg(22, b"\x01" + vec24(b"\x30\x03\x0a\x01\x00"))
    for tn, tr in traces.items():
        server = b"".join(bytes.fromhex(m["data"]) for m in tr["handshake_messages"] if m["sender"] == "server")
        write("client_state_machine", f"rfc8448-{tn}", bytes([0, 0]) + server)

    # connection: whole server byte streams (records) for `null_record_provider` ([flags, split
    # seed] first): TLS 1.3 with and without compatibility mode, after a HelloRetryRequest, and
    # TLS 1.2 through its ChangeCipherSpec, each with application data, post-handshake
    # messages and close_notify.
    def rec(typ, body):
        return bytes([typ]) + b"\x03\x03" + vec16(body)

    ccs = rec(20, b"\x01")
    flight13 = ee(0) + cert_msg + cv + fin32
    post13 = (null13(22, nst) + null13(23, b"hello") + null13(22, ku) + null13(23, b"world")
              + null13(21, b"\x01\x00"))
    for flags in [1 | 16 | 32, 16, 2 | 16]:
        compat = flags & 1
        for split in [0, 7]:
            write("connection", f"tls13-{flags}-split{split}",
                  bytes([flags, split]) + rec(22, server_hello(compat)) + (ccs if compat else b"")
                  + null13(22, flight13) + post13)
    write("connection", "tls13-alpn", bytes([8 | 16, 3]) + rec(22, server_hello(0))
          + null13(22, ee(2) + cert_msg + cv + fin32) + post13)
    write("connection", "tls13-ocsp-sct-grease", bytes([64 | 128 | 16, 3]) + rec(22, server_hello(0))
          + null13(22, ee_ech + cert_ocsp_sct + cv + fin32) + post13)
    write("connection", "tls13-hrr-p256", bytes([1 | 16, 1])
          + rec(22, server_hello(1, group=0x0017, hrr=True)) + ccs
          + rec(22, server_hello(1, group=0x0017, share_len=65)) + null13(22, flight13) + post13)

    def null12(typ, content):
        return rec(typ, bytes(8) + content + bytes(16))

    sh12 = msg(2, b"\x03\x03" + bytes(32) + vec8(b"") + u16(0xC02F) + b"\x00"
               + vec16(ext(0xFF01, b"\x00") + ext(23, b"") + ext(11, b"\x01\x00")))
    cert12 = msg(11, vec24(vec24(server_cert)))
    ske = msg(12, b"\x03" + u16(0x001D) + vec8(bytes([7] * 32)) + u16(0x0804) + vec16(bytes(256)))
    shd = msg(14, b"")
    fin12 = msg(20, bytes(12))
    write("connection", "tls12-certificate-status", bytes([64 | 16, 0])
          + rec(22, sh12_status + cert12 + status12 + ske + shd) + ccs + null12(22, fin12)
          + null12(23, b"hello") + null12(21, b"\x01\x00"))
    for flags in [4 | 16 | 32, 16]:
        write("connection", f"tls12-{flags}", bytes([flags, 0]) + rec(22, sh12 + cert12 + ske + shd)
              + ccs + null12(22, fin12) + null12(23, b"hello") + null12(22, msg(0, b""))
              + null12(23, b"world") + null12(21, b"\x01\x00"))


if __name__ == "__main__":
    main()
