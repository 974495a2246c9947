"""/proc/cpuinfo: each vCPU as Linux's x86 show_cpuinfo prints it, from what CPUID
answers the guest.

Owns: the text (Linux's fields, tabs and order) and the names of the CPUID feature bits
in ``flags`` (arch/x86's cpufeatures: a bit with a name there is shown, one without is
not). Vendor, family, model, stepping, model name, cache size, clflush size and address
sizes are CPUID's too, so the file agrees with what a program's own CPUID instruction
sees (glibc, compilers' -march=native, lscpu).
Never: shows what only Linux itself decides or measures: its synthetic flags (constant_tsc,
rep_good ...), bugs, microcode, cpu MHz and bogomips; or a host's CPUs beside the vCPUs.
Called by: procfs, which asks the machine's CPU for CPUID's answers (``hal``'s ``cpuid``).
"""

from __future__ import annotations

from typing import Callable

Cpuid = Callable[[int, int], tuple[int, int, int, int]]  # (leaf, subleaf) -> EAX..EDX

# (leaf, subleaf, register: 0-3 for EAX-EDX, {bit: name}): cpufeatures' words in its order
_WORDS: tuple[tuple[int, int, int, dict[int, str]], ...] = (
    (1, 0, 3, dict(enumerate(
        "fpu vme de pse tsc msr pae mce cx8 apic - sep mtrr pge mca cmov pat pse36 pn "
        "clflush - dts acpi mmx fxsr sse sse2 ss ht tm ia64 pbe".split()))),
    (0x8000_0001, 0, 3, {11: "syscall", 19: "mp", 20: "nx", 22: "mmxext", 25: "fxsr_opt",
                         26: "pdpe1gb", 27: "rdtscp", 29: "lm", 30: "3dnowext", 31: "3dnow"}),
    (1, 0, 2, dict(enumerate(
        "pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cid sdbg fma cx16 xtpr "
        "pdcm - pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave - "
        "avx f16c rdrand hypervisor".split()))),
    (0x8000_0001, 0, 2, dict(enumerate(
        "lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw "
        "ibs xop skinit wdt - lwp fma4 tce - nodeid_msr - tbm topoext perfctr_core "
        "perfctr_nb - bpext ptsc perfctr_llc mwaitx".split()))),
    (7, 0, 1, dict(enumerate(
        "fsgsbase tsc_adjust sgx bmi1 hle avx2 - smep bmi2 erms invpcid rtm cqm - mpx rdt_a "
        "avx512f avx512dq rdseed adx smap avx512ifma - clflushopt clwb intel_pt avx512pf "
        "avx512er avx512cd sha_ni avx512bw avx512vl".split()))),
    (0xD, 1, 0, {0: "xsaveopt", 1: "xsavec", 2: "xgetbv1", 3: "xsaves"}),
    (7, 1, 0, {4: "avx_vnni", 5: "avx512_bf16", 17: "fred", 26: "lam"}),
    (0x8000_0008, 0, 1, {0: "clzero", 1: "irperf", 2: "xsaveerptr", 4: "rdpru",
                         9: "wbnoinvd", 23: "amd_ppin", 25: "virt_ssbd", 27: "cppc",
                         31: "brs"}),
    (6, 0, 0, {0: "dtherm", 1: "ida", 2: "arat", 4: "pln", 6: "pts", 7: "hwp",
               8: "hwp_notify", 9: "hwp_act_window", 10: "hwp_epp", 11: "hwp_pkg_req",
               19: "hfi"}),
    (7, 0, 2, {1: "avx512vbmi", 2: "umip", 3: "pku", 4: "ospke", 5: "waitpkg",
               6: "avx512_vbmi2", 8: "gfni", 9: "vaes", 10: "vpclmulqdq", 11: "avx512_vnni",
               12: "avx512_bitalg", 13: "tme", 14: "avx512_vpopcntdq", 16: "la57",
               22: "rdpid", 24: "bus_lock_detect", 25: "cldemote", 27: "movdiri",
               28: "movdir64b", 29: "enqcmd", 30: "sgx_lc"}),
    (7, 0, 3, {2: "avx512_4vnniw", 3: "avx512_4fmaps", 4: "fsrm", 8: "avx512_vp2intersect",
               10: "md_clear", 14: "serialize", 16: "tsxldtrk", 18: "pconfig",
               19: "arch_lbr", 20: "ibt", 22: "amx_bf16", 23: "avx512_fp16", 24: "amx_tile",
               25: "amx_int8", 28: "flush_l1d", 29: "arch_capabilities"}),
)


def _text(words: tuple[int, ...]) -> str:
    """The ASCII of 32-bit ``words``, up to the first NUL, without outer spaces."""
    raw = b"".join(word.to_bytes(4, "little") for word in words)
    return raw.split(b"\0", 1)[0].decode("ascii", "replace").strip()


def flags(cpuid: Cpuid) -> list[str]:
    """The names of the features CPUID says the CPU has, in cpufeatures' order."""
    basic, extended = cpuid(0, 0)[0], cpuid(0x8000_0000, 0)[0]
    names = []
    for leaf, subleaf, register, bits in _WORDS:
        if leaf > (extended if leaf >= 0x8000_0000 else basic):
            continue
        value = cpuid(leaf, subleaf)[register]
        names += [bits[bit] for bit in range(32)
                  if value >> bit & 1 and bits.get(bit, "-") != "-"]
    return names


def text(cpuid: Cpuid, cpus: int) -> bytes:
    """/proc/cpuinfo of a machine of ``cpus`` vCPUs, one package of ``cpus`` cores."""
    leaf0 = cpuid(0, 0)
    extended = cpuid(0x8000_0000, 0)[0]
    signature, misc = cpuid(1, 0)[:2]
    family = signature >> 8 & 0xF
    family += signature >> 20 & 0xFF if family == 0xF else 0
    model = (signature >> 4 & 0xF) + ((signature >> 16 & 0xF) << 4 if family >= 6 else 0)
    name = _text(tuple(w for leaf in (0x8000_0002, 0x8000_0003, 0x8000_0004)
                       for w in cpuid(leaf, 0))) if extended >= 0x8000_0004 else ""
    head = [f"vendor_id\t: {_text((leaf0[1], leaf0[3], leaf0[2]))}",
            f"cpu family\t: {family}", f"model\t\t: {model}",
            f"model name\t: {name or f'{family:02x}/{model:02x}'}",
            f"stepping\t: {signature & 0xF}"]
    if extended >= 0x8000_0006 and cpuid(0x8000_0006, 0)[2] >> 16:
        head.append(f"cache size\t: {cpuid(0x8000_0006, 0)[2] >> 16} KB")
    tail = ["fpu\t\t: yes", "fpu_exception\t: yes", f"cpuid level\t: {leaf0[0]}",
            "wp\t\t: yes", "flags\t\t: " + " ".join(flags(cpuid)), "bugs\t\t:",
            f"clflush size\t: {(misc >> 8 & 0xFF) * 8}",
            f"cache_alignment\t: {(misc >> 8 & 0xFF) * 8}"]
    if extended >= 0x8000_0008:
        sizes = cpuid(0x8000_0008, 0)[0]
        tail.append(f"address sizes\t: {sizes & 0xFF} bits physical, {sizes >> 8 & 0xFF} "
                    "bits virtual")
    tail.append("power management:")
    out = []
    for n in range(cpus):
        core = ["physical id\t: 0", f"siblings\t: {cpus}", f"core id\t\t: {n}",
                f"cpu cores\t: {cpus}", f"apicid\t\t: {n}", f"initial apicid\t: {n}"]
        out.append("\n".join([f"processor\t: {n}", *head, *core, *tail]) + "\n\n")
    return "".join(out).encode()
