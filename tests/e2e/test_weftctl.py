"""`weftctl ca create` (issue 3): a new mesh CA an agent accepts (P-256 anchor and issuer, the
issuer signed by the anchor and limited to signing leaves, the key 0600, the anchor key kept
only when asked), existing files never replaced without --force, and a clear error with exit
status 2 for every malformed command line."""
import os
import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from weftsim import certs, procs


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_ca_create_writes_an_anchor_and_an_issuer_it_signed(build, tmp_path):
    d = str(tmp_path / "ca")
    r = procs.run([build.weftctl, "ca", "create", "--dir", d, "--trust-domain", "example.org"])
    assert "example.org" in r.stdout
    files = {name: os.path.join(d, name) for name in
             ("trust-anchor.crt", "issuer.crt", "issuer.key")}
    assert sorted(os.listdir(d)) == sorted(files), os.listdir(d)
    assert _mode(files["trust-anchor.crt"]) == 0o644
    assert _mode(files["issuer.crt"]) == 0o644
    assert _mode(files["issuer.key"]) == 0o600

    anchor = x509.load_pem_x509_certificate(_read(files["trust-anchor.crt"]))
    issuer = certs.load(files["issuer.crt"], files["issuer.key"])
    for cert in (anchor, issuer.cert):
        assert isinstance(cert.public_key().curve, ec.SECP256R1)
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert anchor.subject == anchor.issuer
    assert issuer.cert.issuer == anchor.subject
    # Raises InvalidSignature unless the anchor's key signed the issuer certificate.
    anchor.public_key().verify(issuer.cert.signature, issuer.cert.tbs_certificate_bytes,
                               ec.ECDSA(issuer.cert.signature_hash_algorithm))
    assert issuer.cert.extensions.get_extension_for_class(
        x509.BasicConstraints).value.path_length == 0
    assert issuer.key.public_key().public_numbers() == issuer.cert.public_key().public_numbers()
    assert "example.org" in anchor.subject.rfc4514_string()


def test_existing_files_are_kept_unless_forced(build, tmp_path):
    d = str(tmp_path / "ca")
    procs.run([build.weftctl, "ca", "create", "--dir", d])
    anchor = os.path.join(d, "trust-anchor.crt")
    first = _read(anchor)

    r = procs.run([build.weftctl, "ca", "create", "--dir", d, "--keep-root-key"], check=False)
    assert r.returncode == 1 and "--force" in r.stderr, r
    assert _read(anchor) == first
    assert not os.path.exists(os.path.join(d, "trust-anchor.key"))

    procs.run([build.weftctl, "ca", "create", "--dir", d, "--keep-root-key", "--force"])
    assert _read(anchor) != first
    assert _mode(os.path.join(d, "trust-anchor.key")) == 0o600


def test_malformed_command_lines_exit_2_with_a_reason(build, tmp_path):
    d = str(tmp_path / "ca")
    # Each refusal names the --help of the command it was meant for.
    top, ca, create = "weftctl --help", "weftctl ca --help", "weftctl ca create --help"
    cases = {
        (): ("no command", top),
        ("ca",): ("no command", ca),
        ("frobnicate",): ("unknown command", top),
        ("ca", "create"): ("--dir", create),
        ("ca", "create", "--dir", d, "--trust-domain", "Example.ORG"): ("--trust-domain", create),
        ("ca", "create", "--dir", d, "--anchor-days", "0"): ("--anchor-days", create),
        ("ca", "create", "--dir", d, "--issuer-days", "ten"): ("--issuer-days", create),
        ("ca", "create", "--dir", d, "--bogus"): ("--bogus", create),
        ("ca", "create", "--dir", d, "extra"): ("extra", create),
    }
    for args, (reason, help_) in cases.items():
        r = procs.run([build.weftctl, *args], check=False)
        assert r.returncode == 2 and reason in r.stderr and f"(see {help_})" in r.stderr, (args, r)
    assert not os.path.exists(d), "a refused command line wrote files"
    r = procs.run([build.weftctl, "--help"])
    assert "ca create --dir DIR" in r.stdout
    r = procs.run([build.weftctl, "ca", "create", "--help"])
    assert "--keep-root-key" in r.stdout and "Usage: weftctl ca create --dir DIR" in r.stdout
