"""Stand-in for get-pip.py, which ansible-test downloads from a host this network cannot reach.

ansible-test creates its sanity venvs without pip and bootstraps pip by running get-pip.py
(cached as ~/.ansible/test/cache/get_pip_<version>.py) with pip-install arguments such as
"pip==24.2 --no-setuptools --no-wheel". We do the same with the pip wheel bundled in the
interpreter's own ensurepip; the requested pip then comes from PyPI like everything else.
scripts/install-deps.sh puts this file in that cache.
"""

import ensurepip
import glob
import os
import sys

# get-pip.py's own options; pip itself does not know them.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel", "--no-pip"}

wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
if not wheels:
    sys.exit("get-pip-offline: this Python has no bundled pip wheel (ensurepip)")
sys.path.insert(0, wheels[0])


def run_pip() -> int:
    from pip._internal.cli.main import main  # importable only from the wheel put on the path above

    return main(["install", "--upgrade", "--force-reinstall", *(a for a in sys.argv[1:] if a not in GET_PIP_ONLY)])


sys.exit(run_pip())
