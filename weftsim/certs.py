"""Test certificates made with python3-cryptography: a second CA, leaves signed by the mesh's
real issuer (e.g. expired ones or for a wrong service account), written as PEM files.

The mesh's own CA is made by `weftctl ca create` (mesh_ca.py); this module only makes what a
test needs beyond it. Keys are P-256 like weftctl's.
"""
import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class KeyPair:
    """A certificate with its private key (and the chain to send after it, issuer first)."""

    def __init__(self, cert, key, chain=()):
        self.cert = cert
        self.key = key
        self.chain = list(chain)

    def cert_pem(self):
        """The certificate followed by its chain, PEM."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM)
                        for c in [self.cert] + self.chain)

    def key_pem(self):
        """The private key, PKCS#8 PEM, unencrypted."""
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def write(self, directory, stem):
        """Writes <stem>.crt (cert + chain) and <stem>.key (0600); returns both paths."""
        os.makedirs(directory, exist_ok=True)
        crt = os.path.join(directory, f"{stem}.crt")
        key = os.path.join(directory, f"{stem}.key")
        with open(crt, "wb") as f:
            f.write(self.cert_pem())
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key_pem())
        return crt, key


def load(cert_path, key_path):
    """A KeyPair from PEM files (the first certificate of cert_path is the subject)."""
    with open(cert_path, "rb") as f:
        text = f.read()
    # python3-cryptography 38 (Debian 12) has no load_pem_x509_certificates: split by hand.
    end = b"-----END CERTIFICATE-----"
    certs = [x509.load_pem_x509_certificate(block[block.index(b"-----BEGIN"):] + end)
             for block in text.split(end) if b"-----BEGIN CERTIFICATE-----" in block]
    if not certs:
        raise ValueError(f"no PEM certificate in {cert_path}")
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return KeyPair(certs[0], key, certs[1:])


def new_ca(common_name, days=365):
    """A self-signed P-256 CA (e.g. a trust anchor the mesh does not know)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "weft-e2e"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return KeyPair(cert, key)


def new_workload(issuer, spiffe_id, not_before=None, not_after=None):
    """A workload leaf for spiffe_id (the only URI SAN, like weft's) signed by issuer (a
    KeyPair); the chain sent after it is the issuer and its own chain, minus a self-signed
    root. Default validity: 5 minutes ago to 1 hour from now."""
    return new_leaf(issuer, x509.UniformResourceIdentifier(spiffe_id), not_before, not_after)


def new_leaf(issuer, san, not_before=None, not_after=None):
    """A P-256 TLS client+server leaf whose only SAN is `san` (an x509.GeneralName), signed
    by issuer; chain and validity as new_workload."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    not_before = not_before or now - datetime.timedelta(minutes=5)
    not_after = not_after or now + datetime.timedelta(hours=1)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                        "weft-e2e")]))
            .issuer_name(issuer.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.key.public_key()), critical=False)
            .sign(issuer.key, hashes.SHA256()))
    chain = [c for c in [issuer.cert] + issuer.chain if c.subject != c.issuer]
    return KeyPair(cert, key, chain)


def expired_window():
    """(not_before, not_after) of a certificate that expired an hour ago."""
    now = _now()
    return now - datetime.timedelta(hours=2), now - datetime.timedelta(hours=1)


def uri_sans(cert):
    """The URI SANs of a certificate."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.UniformResourceIdentifier)


def new_client(issuer, common_name, organizations=()):
    """A P-256 TLS client leaf with subject CN=common_name (O=each of organizations), as
    Kubernetes reads a user and groups from a client certificate; signed by issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)
                         for o in organizations] +
                        [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(issuer.key, hashes.SHA256()))
    return KeyPair(cert, key)
