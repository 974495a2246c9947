"""Address space layout randomization: on by default, off with --no-aslr."""

from __future__ import annotations


def layouts(guest_bins, run_cloudos, extra: list[str]) -> set[bytes]:
    prog = guest_bins.path("aslr", "static-pie")
    outs = set()
    for _ in range(3):
        status, out, err = run_cloudos([prog], extra_args=extra)
        assert status == 0, err.decode()
        outs.add(out)
    return outs


def test_each_run_gets_another_layout(guest_bins, run_cloudos) -> None:
    assert len(layouts(guest_bins, run_cloudos, [])) == 3


def test_no_aslr_gives_the_same_layout_every_time(guest_bins, run_cloudos) -> None:
    assert len(layouts(guest_bins, run_cloudos, ["--no-aslr"])) == 1
