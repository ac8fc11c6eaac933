"""The package type-checks under ``mypy --strict`` (its public API is typed for users' checkers)."""
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "swiftdistill"


def test_the_package_is_mypy_strict_clean(tmp_path):
    api = pytest.importorskip("mypy.api")  # installed by `make test` (SETUP_TEST_TOOLS)
    out, err, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), str(PACKAGE)])
    assert status == 0, out + err
