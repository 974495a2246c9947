"""servers/vfs/cpuinfo.py: /proc/cpuinfo's fields from a CPUID given as a table."""

from __future__ import annotations

from cloudos.servers.vfs.cpuinfo import flags, text


def table(answers):
    return lambda leaf, subleaf: answers.get((leaf, subleaf), (0, 0, 0, 0))


BASIC = {(0, 0): (7, 0x756E6547, 0x6C65746E, 0x49656E69),  # GenuineIntel, up to leaf 7
         (0x8000_0000, 0): (0x8000_0001, 0, 0, 0)}


def test_flags_are_named_bits_in_cpufeatures_order_and_only_of_leaves_the_cpu_has():
    answers = {**BASIC, (1, 0): (0, 0, 1 << 28 | 1 << 27 | 1, 1 << 26 | 1),
               (7, 0): (0, 1 << 5 | 1 << 6, 0, 0), (0x8000_0001, 0): (0, 0, 0, 1 << 29),
               (0xD, 1): (1, 0, 0, 0)}  # leaf 0xD is past the basic leaves: not looked at
    # (osxsave, ECX bit 27, and leaf 7's bit 6 have no name: never shown)
    assert flags(table(answers)) == ["fpu", "sse2", "lm", "pni", "avx", "avx2"]


def test_family_model_and_the_name_without_a_brand_string():
    answers = {**BASIC, (1, 0): (0x00A2_0F12, 0x0010_0800, 0, 0)}
    out = text(table(answers), 2).decode()
    assert out.count("processor\t: ") == 2
    assert "vendor_id\t: GenuineIntel\n" in out
    assert "cpu family\t: 25\n" in out and "model\t\t: 33\n" in out  # 0xF + 0x0A, 0x21
    assert "model name\t: 19/21\n" in out and "stepping\t: 2\n" in out
    assert "clflush size\t: 64\n" in out and "cache size" not in out
    assert "core id\t\t: 1\n" in out and "siblings\t: 2\n" in out
    assert out.endswith("power management:\n\n")


def test_the_brand_string_is_the_model_name():
    brand = b"  Some CPU @ 2.00GHz".ljust(48, b"\0")
    words = [int.from_bytes(brand[i:i + 4], "little") for i in range(0, 48, 4)]
    answers = {**BASIC, (0x8000_0000, 0): (0x8000_0008, 0, 0, 0),
               (0x8000_0002, 0): tuple(words[0:4]), (0x8000_0003, 0): tuple(words[4:8]),
               (0x8000_0004, 0): tuple(words[8:12]), (0x8000_0006, 0): (0, 0, 512 << 16, 0),
               (0x8000_0008, 0): (0x3028, 0, 0, 0)}
    out = text(table(answers), 1).decode()
    assert "model name\t: Some CPU @ 2.00GHz\n" in out
    assert "cache size\t: 512 KB\n" in out
    assert "address sizes\t: 40 bits physical, 48 bits virtual\n" in out
