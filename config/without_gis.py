"""The project uses no GIS: django-mongodb-backend's GIS support stays off, without a search for GDAL.

django-mongodb-backend imports ``django.contrib.gis`` at start-up (its features, its operations and
its lookups) and leaves GIS out when that import raises ImproperlyConfigured, as it does where GDAL is
not installed: production's image and these machines. Before raising, Django's
``django.contrib.gis.gdal.libgdal`` looks for the library under 12 names with
``ctypes.util.find_library``, which runs ``ldconfig``, ``gcc`` and ``ld`` for each name; a failed
import is not remembered, so the three imports search three times. That was about 110 subprocesses
and 0.3 s of CPU in every Django process (each ``manage.py`` command, app process and job-queue
worker) for an answer that never changes here.

``leave_gis_out`` makes that one module raise the ImproperlyConfigured Django would raise, at once.
django-mongodb-backend then takes its own no-GIS fallbacks, exactly as without GDAL; with GDAL
installed on a developer's machine the app runs as it does in production, without GIS.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

from django.core.exceptions import ImproperlyConfigured

LIBGDAL = "django.contrib.gis.gdal.libgdal"


class _NoGdal(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds LIBGDAL and fails its import as Django does when GDAL is missing."""

    def find_spec(self, fullname: str, path: object = None, target: ModuleType | None = None) -> ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if fullname == LIBGDAL else None

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        raise ImproperlyConfigured("GDAL is not used: this project has no GIS (config/without_gis.py).")


def leave_gis_out() -> None:
    """Install the finder ahead of the others, once per process (settings modules may be read again)."""
    if not any(isinstance(finder, _NoGdal) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoGdal())
