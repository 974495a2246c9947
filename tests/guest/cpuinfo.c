/* cpuinfo.c — /proc/cpuinfo agrees with what CPUID tells the program itself: vendor,
   family, model, stepping, model name (the brand string, else Linux's "%02x/%02x" of
   family and model) and the flags of common features; one entry per online CPU. Prints
   only whether each agrees, so that a run on another CPU prints the same. */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "section.h"

static char block[16384];  /* the first processor's lines */

static const char *field(const char *name)
{
    static char value[4096];
    char key[64];
    snprintf(key, sizeof key, "\n%s", name);
    const char *at = strstr(block, key);
    if (!at)
        return NULL;
    at = strchr(at + 1, ':');
    if (!at)
        return NULL;
    at += at[1] == ' ' ? 2 : 1;
    size_t n = strcspn(at, "\n");
    snprintf(value, sizeof value, "%.*s", (int)n, at);
    return value;
}

static int has_flag(const char *flags, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = flags; (p = strstr(p, name)); p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    if (!section("cpuinfo"))
        return 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        printf("/proc/cpuinfo: cannot open\n");
        return 0;
    }
    block[0] = '\n';
    size_t len = fread(block + 1, 1, sizeof block - 2, f);
    block[len + 1] = 0;
    fclose(f);
    int entries = 0;
    for (const char *p = block; (p = strstr(p, "\nprocessor\t: ")); p++)
        entries++;
    printf("an entry per online CPU: %s\n", entries == sysconf(_SC_NPROCESSORS_ONLN) ? "yes" : "no");
    char *second = strstr(block + 1, "\nprocessor\t: ");
    second = second ? strstr(second + 1, "\nprocessor\t: ") : NULL;
    if (second)
        *second = 0;

    unsigned a, b, c, d, max;
    __cpuid(0, max, b, c, d);
    char vendor[13];
    memcpy(vendor, &b, 4), memcpy(vendor + 4, &d, 4), memcpy(vendor + 8, &c, 4);
    vendor[12] = 0;
    const char *v = field("vendor_id");
    printf("vendor_id is CPUID's: %s\n", v && strcmp(v, vendor) == 0 ? "yes" : "no");
    __cpuid(1, a, b, c, d);
    unsigned family = a >> 8 & 0xf, model = a >> 4 & 0xf;
    if (family == 0xf)
        family += a >> 20 & 0xff;
    if (family >= 6)
        model += (a >> 16 & 0xf) << 4;
    v = field("cpu family");
    printf("cpu family: %s\n", v && (unsigned)atoi(v) == family ? "yes" : "no");
    v = field("model\t");
    printf("model: %s\n", v && (unsigned)atoi(v) == model ? "yes" : "no");
    v = field("stepping");
    printf("stepping: %s\n", v && (unsigned)atoi(v) == (a & 0xf) ? "yes" : "no");
    char brand[49] = "";
    unsigned ext, words[12];
    __cpuid(0x80000000, ext, b, c, d);
    if (ext >= 0x80000004) {
        for (int i = 0; i < 3; i++)
            __cpuid(0x80000002 + i, words[4 * i], words[4 * i + 1], words[4 * i + 2], words[4 * i + 3]);
        memcpy(brand, words, 48);
        brand[48] = 0;
    }
    char *start = brand;
    while (*start == ' ')
        start++;
    for (char *end = start + strlen(start); end > start && end[-1] == ' ';)
        *--end = 0;
    char expected[64];
    if (*start)
        snprintf(expected, sizeof expected, "%s", start);
    else
        snprintf(expected, sizeof expected, "%02x/%02x", family, model);
    v = field("model name");
    printf("model name: %s\n", v && strcmp(v, expected) == 0 ? "yes" : "no");

    const char *flags = field("flags");
    unsigned l1c = c, l1d = d, l7b = 0, e1d = 0;
    __cpuid(1, a, b, l1c, l1d);
    if (max >= 7)
        __cpuid_count(7, 0, a, l7b, c, d);
    if (ext >= 0x80000001)
        __cpuid(0x80000001, a, b, c, e1d);
    struct { const char *name; unsigned word; int bit; } checks[] = {
        {"sse", l1d, 25}, {"sse2", l1d, 26}, {"ssse3", l1c, 9}, {"sse4_1", l1c, 19},
        {"sse4_2", l1c, 20}, {"popcnt", l1c, 23}, {"cx16", l1c, 13}, {"fma", l1c, 12},
        {"avx", l1c, 28}, {"avx2", l7b, 5}, {"bmi1", l7b, 3}, {"bmi2", l7b, 8},
        {"lm", e1d, 29}, {"nx", e1d, 20}, {"syscall", e1d, 11}};
    int agree = 1;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        int said = flags && has_flag(flags, checks[i].name), has = checks[i].word >> checks[i].bit & 1;
        if (said != has) {
            printf("flag %s: /proc says %d, CPUID %d\n", checks[i].name, said, has);
            agree = 0;
        }
    }
    printf("15 flags agree with CPUID: %s\n", agree ? "yes" : "no");
    return 0;
}
