"""The cluster's mesh CA, made by `weftctl ca create` in the test's workdir and handed to
every agent (--trust-anchor-file / --issuer-cert-file / --issuer-key-file)."""
import os

from . import certs, manifests, procs


class MeshCA:
    """DIR/trust-anchor.crt, DIR/issuer.crt, DIR/issuer.key as weftctl wrote them."""

    def __init__(self, build, directory, trust_domain=manifests.TRUST_DOMAIN):
        self.dir = directory
        self.trust_domain = trust_domain
        self.trust_anchor = os.path.join(directory, "trust-anchor.crt")
        self.issuer_cert = os.path.join(directory, "issuer.crt")
        self.issuer_key = os.path.join(directory, "issuer.key")
        procs.run([build.weftctl, "ca", "create", "--dir", directory, "--trust-domain",
                   trust_domain])
        for path in (self.trust_anchor, self.issuer_cert, self.issuer_key):
            if not os.path.isfile(path):
                raise RuntimeError(f"weftctl ca create did not write {path}")

    def agent_settings(self):
        """The agent flags (name, value) that point at this CA."""
        return [("trust-anchor-file", self.trust_anchor),
                ("issuer-cert-file", self.issuer_cert),
                ("issuer-key-file", self.issuer_key)]

    def issuer(self):
        """The issuer as a certs.KeyPair (to sign test leaves with the real issuer)."""
        return certs.load(self.issuer_cert, self.issuer_key)

    def workload(self, namespace, service_account, directory, stem=None, expired=False):
        """Writes a leaf for spiffe://<td>/ns/<ns>/sa/<sa> signed by the real issuer (expired
        an hour ago when asked); returns (cert path, key path)."""
        window = certs.expired_window() if expired else (None, None)
        pair = certs.new_workload(self.issuer(),
                                  manifests.principal(namespace, service_account,
                                                      self.trust_domain), *window)
        return pair.write(directory, stem or f"{namespace}-{service_account}"
                          + ("-expired" if expired else ""))
