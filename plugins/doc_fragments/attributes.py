# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attribute descriptions every mdfleet module shares; each module says its own support."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
author:
  - mdfleet.md contributors (@mdfleet)
requirements:
  - Python 3.10 or newer on the managed host (Debian 12 has 3.11)
  - cryptography (Debian 12 - python3-cryptography)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    FACTS = r"""
options: {}
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
"""
