"""Timing report for the host-program compatibility sweep (test_host_programs.py).

Each case records its wall times with ``record_property("native_s", ...)`` and
``record_property("cloudos_s", ...)``; this hook prints them as a table in
pytest's terminal summary, so every run shows which cases are slow under CloudOS
(there is no ``slow`` marker in this project).
"""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            if getattr(rep, "when", None) != "call":
                continue
            props = dict(getattr(rep, "user_properties", ()))
            if "cloudos_s" in props:
                name = rep.nodeid.rsplit("[", 1)[-1].rstrip("]")
                outcome = "xfail" if hasattr(rep, "wasxfail") else rep.outcome
                rows.append((name, props.get("native_s", 0.0), props["cloudos_s"], outcome))
    if not rows:
        return
    tr = terminalreporter
    tr.section("host programs: wall time, native vs CloudOS")
    tr.write_line(f"{'case':<20} {'outcome':<8} {'native s':>9} {'cloudos s':>10} {'ratio':>7}")
    for name, native, guest, outcome in sorted(rows):
        ratio = f"{guest / native:.0f}x" if native > 0 else "-"
        tr.write_line(f"{name:<20} {outcome:<8} {native:>9.3f} {guest:>10.2f} {ratio:>7}")
    native_total, guest_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    tr.write_line(f"{'total':<20} {'':<8} {native_total:>9.3f} {guest_total:>10.2f}")
