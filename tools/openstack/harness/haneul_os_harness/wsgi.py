"""Gunicorn entry point for an OpenStack API: `haneul_os_harness.wsgi:application`.

Neutron, Cinder and Nova parse `sys.argv` with oslo.config when their WSGI module is imported, and would read
gunicorn's own arguments. This shim replaces argv with the service's `--config-file` options first, then imports the
service's WSGI module. The launcher sets:

- HANEUL_OS_WSGI_MODULE: the module holding `application`, e.g. `neutron.wsgi.api`;
- HANEUL_OS_WSGI_CONFIG_FILES: the service's config files, separated by `:`.
"""

from __future__ import annotations

import importlib
import os
import sys

_module = os.environ["HANEUL_OS_WSGI_MODULE"]
sys.argv = [_module]
for _path in filter(None, os.environ.get("HANEUL_OS_WSGI_CONFIG_FILES", "").split(":")):
    sys.argv += ["--config-file", _path]

application = importlib.import_module(_module).application
