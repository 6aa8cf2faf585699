"""Progress a person can follow in `make test`: a line when the suite first reaches an area
(tests/<area>/), and at the end how long each area's tests took.  Also the order of the run: modules
marked ``slow`` (minutes of fuzzing, soaks, real outages) start first, so that with pytest-xdist the
long ones overlap the many short ones instead of being the tail of the run."""

from __future__ import annotations

import pytest


class AreaProgress:
    """Area lines and per-area times; under xdist the controller sees the reports of every worker."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seen: set[str] = set()
        self.took: dict[str, float] = {}

    def _write(self, text: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            if reporter._tw.width_of_current_line:  # finish the line of dots first
                reporter.write_line("")
            reporter.write_line(text, bold=True)

    @staticmethod
    def _area(nodeid: str) -> str:
        parts = nodeid.split("/")
        return parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0].split("::")[0]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple) -> None:
        area = self._area(nodeid)
        if area not in self.seen:
            self.seen.add(area)
            self._write(f"== tests/{area} ==")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        area = self._area(report.nodeid)
        self.took[area] = self.took.get(area, 0.0) + report.duration

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if len(self.took) > 1:
            terminalreporter.write_line("test time per area (summed over workers): " + ", ".join(
                f"{area} {seconds:.0f}s" for area, seconds in sorted(self.took.items(), key=lambda kv: -kv[1])))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked slow first (stable otherwise): see the module docstring."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(AreaProgress(config), "wfgateway-area-progress")
