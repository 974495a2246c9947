/* vdso.c — the vDSO as programs find and use it: argv[1] picks a section.
 *
 * image:  AT_SYSINFO_EHDR names an ELF shared object mapped as [vdso], with [vvar]
 *         beside it, exporting glibc's time calls at version LINUX_2.6;
 * clocks: the clocks glibc reads through it agree with the system calls and never go
 *         back, across many reads mixed with the calls themselves;
 * sleep:  a sleep the kernel ends is seen through the vDSO to have lasted long enough
 *         (relative and absolute);
 * memory: [vvar] cannot be made writable or executable; the [vdso] can (a private
 *         copy: the clock keeps working, in a forked child too).
 * Printed values are facts both kernels share, never times.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <sched.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t via_libc(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return ns_of(t);
}

static int64_t via_syscall(clockid_t clock)
{
    struct timespec t;
    syscall(SYS_clock_gettime, clock, &t);
    return ns_of(t);
}

/* [start, end) and the name of the maps line holding addr ("" if none). */
static int mapping(uintptr_t addr, char *name, size_t size, uintptr_t *start, uintptr_t *end,
                   char *perms)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char p[5], path[256] = "";
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &s, &e, p, path) < 3)
            continue;
        if (s <= addr && addr < e) {
            snprintf(name, size, "%s", path);
            *start = s, *end = e;
            strcpy(perms, p);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* Whether the shared object at ehdr defines symbol at version (through DT_HASH/GNU_HASH
 * counts, DT_SYMTAB, DT_STRTAB, DT_VERSYM, DT_VERDEF: what glibc reads). */
static int exports(const Elf64_Ehdr *ehdr, const char *symbol, const char *version)
{
    const Elf64_Phdr *ph = (const void *)((const char *)ehdr + ehdr->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    uintptr_t bias = 0;
    int have_bias = 0;
    for (int i = 0; i < ehdr->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !have_bias)
            bias = (uintptr_t)ehdr - ph[i].p_vaddr + ph[i].p_offset, have_bias = 1;
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const void *)((const char *)ehdr + ph[i].p_offset);
    }
    if (!dyn)
        return 0;
    const Elf64_Sym *syms = NULL;
    const char *strs = NULL;
    const Elf64_Versym *versym = NULL;
    const Elf64_Verdef *verdef = NULL;
    const uint32_t *hash = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        const void *p = (const void *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_SYMTAB) syms = p;
        if (dyn->d_tag == DT_STRTAB) strs = p;
        if (dyn->d_tag == DT_VERSYM) versym = p;
        if (dyn->d_tag == DT_VERDEF) verdef = p;
        if (dyn->d_tag == DT_HASH) hash = p;
    }
    if (!syms || !strs || !hash)
        return 0;
    for (uint32_t i = 0; i < hash[1]; i++) {  /* nchain: the number of symbols */
        if (strcmp(strs + syms[i].st_name, symbol) != 0 || !syms[i].st_value)
            continue;
        if (!versym || !verdef)
            return 0;
        const Elf64_Verdef *d = verdef;
        for (;;) {
            if (d->vd_ndx == (versym[i] & 0x7fff)) {
                const Elf64_Verdaux *aux = (const void *)((const char *)d + d->vd_aux);
                return strcmp(strs + aux->vda_name, version) == 0;
            }
            if (!d->vd_next)
                return 0;
            d = (const void *)((const char *)d + d->vd_next);
        }
    }
    return 0;
}

static void section_image(void)
{
    const Elf64_Ehdr *ehdr = (const void *)getauxval(AT_SYSINFO_EHDR);
    printf("AT_SYSINFO_EHDR given: %d\n", ehdr != NULL);
    if (!ehdr)
        return;
    printf("an ELF shared object: %d\n",
           memcmp(ehdr->e_ident, ELFMAG, SELFMAG) == 0 && ehdr->e_type == ET_DYN
               && ehdr->e_machine == EM_X86_64);
    char name[256], perms[8];
    uintptr_t start, end;
    mapping((uintptr_t)ehdr, name, sizeof name, &start, &end, perms);
    printf("mapped as %s %s, at its start: %d\n", name, perms, start == (uintptr_t)ehdr);
    char before[256] = "";
    uintptr_t s2, e2;
    mapping(start - 1, before, sizeof before, &s2, &e2, perms);
    /* Linux 6.1 names it [vvar]; later kernels split it, [vvar_vclock] nearest */
    printf("below it: a [vvar...] page, read-only %d\n",
           strncmp(before, "[vvar", 5) == 0 && strcmp(perms, "r--p") == 0);
    static const char *SYMBOLS[] = {"__vdso_clock_gettime", "__vdso_gettimeofday",
                                    "__vdso_time", "__vdso_clock_getres", "__vdso_getcpu", NULL};
    for (const char **s = SYMBOLS; *s; s++)
        printf("exports %s@LINUX_2.6: %d\n", *s, exports(ehdr, *s, "LINUX_2.6"));
    printf("exports __vdso_clock_gettime@LINUX_9: %d\n",
           exports(ehdr, "__vdso_clock_gettime", "LINUX_9"));
}

static void section_clocks(void)
{
    static const clockid_t CLOCKS[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                                       CLOCK_MONOTONIC_RAW, CLOCK_PROCESS_CPUTIME_ID};
    static const char *NAMES[] = {"REALTIME", "MONOTONIC", "BOOTTIME", "MONOTONIC_RAW",
                                  "PROCESS_CPUTIME_ID"};
    for (int c = 0; c < 5; c++) {
        int64_t a = via_syscall(CLOCKS[c]), b = via_libc(CLOCKS[c]), d = via_syscall(CLOCKS[c]);
        printf("%s: libc between two system calls: %d\n", NAMES[c], a <= b && b <= d);
    }
    /* many reads, some through the system call: never back */
    int64_t last = via_libc(CLOCK_MONOTONIC), last_real = via_libc(CLOCK_REALTIME);
    int back = 0, back_real = 0;
    for (int i = 0; i < 200000; i++) {
        int64_t now = i % 1000 == 0 ? via_syscall(CLOCK_MONOTONIC) : via_libc(CLOCK_MONOTONIC);
        back += now < last;
        last = now;
        if (i % 100 == 0) {
            int64_t real = via_libc(CLOCK_REALTIME);
            back_real += real < last_real;
            last_real = real;
        }
    }
    printf("200000 MONOTONIC reads, went back: %d; REALTIME went back: %d\n", back, back_real);
    int64_t fine = via_libc(CLOCK_MONOTONIC), coarse = via_libc(CLOCK_MONOTONIC_COARSE);
    printf("MONOTONIC_COARSE within 10 ms of MONOTONIC: %d\n",
           coarse - fine < 10000000 && fine - coarse < 10000000);
    int64_t mono = via_libc(CLOCK_MONOTONIC);
    printf("BOOTTIME >= MONOTONIC: %d\n", via_libc(CLOCK_BOOTTIME) >= mono);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    int64_t real = via_syscall(CLOCK_REALTIME);
    printf("gettimeofday, time, REALTIME agree: %d\n",
           t <= real / 1000000000 && t - tv.tv_sec <= 1 && tv.tv_sec - t <= 1);
    struct timespec res;
    printf("clock_getres MONOTONIC: %d\n", clock_getres(CLOCK_MONOTONIC, &res));
    int rc = clock_gettime(99, &res);
    printf("clock_gettime of clock 99: %d %s\n", rc, errname(errno));
    unsigned cpu = 99;
    rc = getcpu(&cpu, NULL);
    printf("getcpu: %d, cpu below 64: %d\n", rc, cpu < 64);
}

static void section_sleep(void)
{
    int short_sleeps = 0;
    for (int i = 0; i < 20; i++) {
        int64_t before = via_libc(CLOCK_MONOTONIC);
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
        short_sleeps += via_libc(CLOCK_MONOTONIC) - before < 1000000;
    }
    printf("20 sleeps of 1 ms, seen to last less: %d\n", short_sleeps);
    int early = 0;
    for (int i = 0; i < 20; i++) {
        int64_t target = via_libc(CLOCK_MONOTONIC) + 1500000;
        struct timespec at = {target / 1000000000, target % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        early += via_libc(CLOCK_MONOTONIC) < target;
    }
    printf("20 absolute sleeps, ended early: %d\n", early);
}

static void section_memory(void)
{
    const char *ehdr = (const void *)getauxval(AT_SYSINFO_EHDR);
    char name[256], perms[8];
    uintptr_t start, end, vstart, vend;
    mapping((uintptr_t)ehdr, name, sizeof name, &start, &end, perms);
    mapping(start - 1, name, sizeof name, &vstart, &vend, perms);
    printf("[vvar] PROT_READ|PROT_WRITE: %s\n",
           mprotect((void *)vstart, 4096, PROT_READ | PROT_WRITE) ? errname(errno) : "0");
    printf("[vvar] PROT_READ|PROT_EXEC: %s\n",
           mprotect((void *)vstart, 4096, PROT_READ | PROT_EXEC) ? errname(errno) : "0");
    printf("[vdso] made writable: %d\n",
           mprotect((void *)start, end - start, PROT_READ | PROT_WRITE | PROT_EXEC));
    char *ident = (char *)start + EI_PAD;  /* padding of e_ident: nothing reads it */
    *ident = 'x';
    printf("written: %c\n", *ident);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child sees the write: %d, its clock runs: %d\n", *ident == 'x',
               via_libc(CLOCK_MONOTONIC) > 0);
        fflush(stdout);
        execl("/proc/self/exe", "vdso", "fresh", NULL);
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* after exec: a fresh vDSO, whatever the parent wrote into its own */
static void section_fresh(void)
{
    const Elf64_Ehdr *ehdr = (const void *)getauxval(AT_SYSINFO_EHDR);
    printf("exec'd: padding untouched %d, clock_gettime exported %d\n",
           ehdr->e_ident[EI_PAD] == 0, exports(ehdr, "__vdso_clock_gettime", "LINUX_2.6"));
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (section("image")) section_image();
    if (section("clocks")) section_clocks();
    if (section("sleep")) section_sleep();
    if (section("memory")) section_memory();
    if (only && strcmp(only, "fresh") == 0) section_fresh();
    return 0;
}
