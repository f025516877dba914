"""Fixtures the tests of signed assertions share: a clock that moves
only when told, an EC signer, and a JWKS file of its key (a plugin of
the test run, named in tests/conftest.py; a module's own fixture of the
same name wins in that module)."""

import pytest

from tokens import FakeClock, Signer, write_jwks


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def signer():
    return Signer('ec')


@pytest.fixture
def keyfile(tmp_path, signer):
    return write_jwks(tmp_path / 'jwks.json', signer)
