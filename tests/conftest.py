"""Progress a person can follow in `make test`: a line each time the suite moves on to another area
(tests/<area>/), with how long the area before it took, and a summary of every area at the end."""

from __future__ import annotations

import time

import pytest


class AreaProgress:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.area: str | None = None
        self.started = time.monotonic()
        self.took: dict[str, float] = {}

    def _write(self, text: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            if reporter._tw.width_of_current_line:  # finish the line of dots first
                reporter.write_line("")
            reporter.write_line(text, bold=True)

    def _close(self) -> None:
        if self.area is not None:
            self.took[self.area] = self.took.get(self.area, 0.0) + time.monotonic() - self.started

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple) -> None:
        parts = nodeid.split("/")
        area = parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0].split("::")[0]
        if area != self.area:
            self._close()
            self.area, self.started = area, time.monotonic()
            self._write(f"== tests/{area} ==")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        self._close()
        if len(self.took) > 1:
            terminalreporter.write_line("time per area: " + ", ".join(
                f"{area} {seconds:.0f}s" for area, seconds in sorted(self.took.items(), key=lambda kv: -kv[1])))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(AreaProgress(config), "wfgateway-area-progress")
