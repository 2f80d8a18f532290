"""rules/ test support: a place for tests to leave lines for the end-of-run summary."""

from __future__ import annotations

import pytest

_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def summary_lines(request: pytest.FixtureRequest) -> list[str]:
    """Lines printed after the test run (e.g. the classifier's precision and recall)."""
    return request.config.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(_SUMMARY, [])
    if lines:
        terminalreporter.section("rules")
        for line in lines:
            terminalreporter.write_line(line)
