"""The robustness suites of modelops.testing on local disk and in memory: hostile input,
a damaged file, a failing disk."""

import pytest

from modelops.testing.robustness import BadInputSuite, CorruptionSuite, FaultSuite, Sandbox

pytest.importorskip("joblib")


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox.local(tmp_path)


class TestLocalBadInput(BadInputSuite):
    pass


@pytest.mark.slow
class TestLocalCorruption(CorruptionSuite):
    pass


@pytest.mark.slow
class TestLocalFaults(FaultSuite):
    pass


class TestMemory:
    @pytest.fixture
    def sandbox(self, tmp_path):
        return Sandbox.memory(tmp_path)


class TestMemoryBadInput(TestMemory, BadInputSuite):
    pass


@pytest.mark.slow
class TestMemoryCorruption(TestMemory, CorruptionSuite):
    pass


class TestMemoryFaults(TestMemory, FaultSuite):
    all_codes = False
