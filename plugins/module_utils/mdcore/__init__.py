"""mdcore: the mdfleet engine (ACME client, store, renewal policy, OCSP, status).

Pure Python: depends on cryptography only (HTTP and JWS are its own: net/, acme/jws.py), never on Ansible.
Imported by the collection's modules as module_utils and run on hosts by the
``mdfleet`` command. Inside this package only relative imports are used.
"""

VERSION = "0.1.0"
USER_AGENT = "mdfleet.md/%s (+https://github.com/mdfleet/mdfleet.md)" % VERSION
