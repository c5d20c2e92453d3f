"""The status of a certificate file that is only monitored (and maybe stapled: mod_md's
MDStapleOthers): parsed from the file itself, since no set.json describes it. Nobody renews it."""

from __future__ import annotations

import datetime

from ..fsutil import read_bytes
from ..ocsp.state import OcspStatus
from ..storeread import StoreReader
from ..timefmt import human_delta
from ..window import Window
from .model import CertFiles, CertView, Health, MdState, MdView
from .staples import stapling_of


def static_view(store: StoreReader, path: str, now: datetime.datetime, warn: Window, renew: Window,
                stapling: bool) -> MdView:
    from ..certs import CertFacts, split_pem_chain  # cryptography: only for these few files

    md = MdView(name=path, static=True, renew_window=renew.text, warn_window=warn.text)
    cert = CertView(key_type="file", files=CertFiles(path))
    md.certs.append(cert)
    try:
        data = read_bytes(path)
        if data is None:
            raise OSError("file not found")
        facts = CertFacts.of(split_pem_chain(data)[0])
    except Exception as exc:  # unreadable or not a certificate (whatever the parser raises): shown, never fatal
        cert.error = "cannot read certificate %s: %s" % (path, getattr(exc, "strerror", None) or exc)
        md.state, md.state_descr = MdState.ERROR, cert.error
        md.health, md.health_descr = Health.ERROR, cert.error
        return md
    cert.serial, cert.sha256_fingerprint, cert.issuer = facts.serial, facts.sha256_fingerprint, facts.issuer
    cert.subject, cert.names = facts.subject, facts.names
    cert.not_before, cert.not_after = facts.not_before, facts.not_after
    cert.ocsp_url, cert.ari_cert_id = facts.ocsp_url, facts.ari_cert_id
    cert.renew_at = renew.start(facts.not_before, facts.not_after)
    cert.warn_at = warn.start(facts.not_before, facts.not_after)
    if stapling:
        cert.staple = stapling_of(store, now, facts.ocsp_url, facts.sha256_fingerprint, cert_path=path)
    md.domains = list(facts.names)
    md.key_types = ["file"]
    md.warn_at, md.renew_at = cert.warn_at, None  # nobody renews a static file
    md.renewal = None
    left = human_delta((facts.not_after - now).total_seconds())
    revoked = cert.staple is not None and cert.staple.status == OcspStatus.REVOKED
    if facts.not_after <= now:
        md.state, md.state_descr = MdState.EXPIRED, "certificate file has expired"
        md.health, md.health_descr = Health.EXPIRED, "expired %s; renew it by hand" % left
    elif revoked:
        md.state, md.state_descr = MdState.ERROR, "certificate file is revoked"
        md.health, md.health_descr = Health.ERROR, "revoked (OCSP)"
    else:
        md.state, md.state_descr = MdState.COMPLETE, "certificate file is valid"
        if now >= cert.warn_at:
            md.health, md.health_descr = Health.EXPIRING, "expires %s; renew it by hand" % left
        elif cert.staple is not None and cert.staple.status == OcspStatus.EXPIRED:
            md.health, md.health_descr = Health.ERROR, "OCSP response expired: nothing to staple"
        else:
            md.health, md.health_descr = Health.OK, "valid, expires %s (static file)" % left
    return md


__all__ = ["static_view"]
