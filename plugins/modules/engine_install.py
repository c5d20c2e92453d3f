#!/usr/bin/python
# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the engine_install action (plugins/action/engine_install.py does the work)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: engine_install
short_description: Install the mdfleet engine on a host as one executable zipapp built on the controller
version_added: "0.1.0"
description:
  - Builds the collection's engine (C(plugins/module_utils/mdcore)) into one zipapp on the controller, once per
    run (Ansible's local temporary folder, removed when the run ends), and copies it to O(dest) when the host's
    file differs. The file is the C(mdfleet) command itself (C(#!<python> -I)).
  - The build is deterministic (sorted entries, fixed times and modes, no compression, hash-based bytecode), so
    an unchanged engine is found by its checksum and nothing is copied. It holds the bytecode (C(.pyc)) of every
    file, compiled by the controller's Python, because a zipapp never writes bytecode and the hardened
    C(mdfleet.service) could not either; a host whose Python has another bytecode version runs the sources.
  - This is an action plugin; the copy itself is M(ansible.builtin.copy)'s.
extends_documentation_fragment:
  - mdfleet.md.attributes
  - mdfleet.md.options.engine_install
attributes:
  check_mode:
    support: full
    details: Builds, and reports whether the host's file would change, without copying.
  diff_mode:
    support: none
notes:
  - The engine needs cryptography on the host (Debian 12 - python3-cryptography); this action does not
    install it.
seealso:
  - module: ansible.builtin.copy
    description: What copies the zipapp (check mode, checksums).
"""

EXAMPLES = r"""
- name: Install the engine
  mdfleet.md.engine_install:
    dest: /usr/lib/mdfleet/mdfleet.pyz
    python: /usr/bin/python3

- name: The mdfleet command
  ansible.builtin.file:
    src: /usr/lib/mdfleet/mdfleet.pyz
    dest: /usr/local/bin/mdfleet
    state: link
"""

RETURN = r"""
dest:
  description: Where the zipapp is.
  returned: success
  type: str
  sample: /usr/lib/mdfleet/mdfleet.pyz
version:
  description: The engine's version (C(mdcore.VERSION)).
  returned: success
  type: str
  sample: 0.1.0
sha256:
  description: SHA-256 of the zipapp (the same build gives the same file).
  returned: success
  type: str
  sample: 0202e6323b820cb550939dbc4be09d438e15caaed9849455fed4ea643792009d
sources_sha256:
  description: SHA-256 over the paths and contents of the engine's source files (also in the zipapp's C(mdcore/_build.py)).
  returned: success
  type: str
  sample: 57d8c04ba5b4decf0374c0ed3bead8e5a219ea642d6065ce1f0e14ab98ff182b
bytecode:
  description: The bytecode version of the C(.pyc) files in the zipapp (the controller's Python).
  returned: success
  type: str
  sample: cpython-311
size:
  description: Size of the zipapp in bytes.
  returned: success
  type: int
  sample: 1014971
"""
