"""Django processes start without searching for GDAL, and the database backend runs without GIS."""

from __future__ import annotations

import ctypes.util
import importlib
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.without_gis import LIBGDAL


def test_libgdal_fails_as_without_gdal_and_searches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    monkeypatch.setattr(ctypes.util, "find_library", searched.append)
    monkeypatch.delitem(sys.modules, LIBGDAL, raising=False)
    with pytest.raises(ImproperlyConfigured, match="no GIS"):
        importlib.import_module(LIBGDAL)
    assert searched == []


def test_the_backend_takes_its_no_gis_fallbacks() -> None:
    # django-mongodb-backend's stand-ins when GIS cannot be imported: plain classes of these names in
    # its own features and operations modules (its GIS ones live in django_mongodb_backend.gis).
    gis_bases = [base for base in type(connection.features).__mro__ if base.__name__ == "GISFeatures"]
    assert [base.__module__ for base in gis_bases] == ["django_mongodb_backend.features"]
    gis_ops = [base for base in type(connection.ops).__mro__ if base.__name__ == "GISOperations"]
    assert [base.__module__ for base in gis_ops] == ["django_mongodb_backend.operations"]
