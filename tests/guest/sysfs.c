/* sysfs.c — /sys as Linux's sysfs shows a machine's CPUs. argv[1] picks a section:
   cpus      sysconf's CPU counts (glibc reads /sys/devices/system/cpu/online and
             possible), those files and present/offline, one cpuN directory per CPU
   attrs     what stat and statfs say of sysfs: attributes 0444 and 4096 bytes, a
             directory's links (2 + its subdirectories), SYSFS_MAGIC; a read from an
             offset, a read of a directory (EISDIR), a lookup below a file (ENOTDIR)
   Run with as many CPUs as the host has, so that both runs count the same. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "section.h"

#define CPU_DIR "/sys/devices/system/cpu"

static void show(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: open: errno %d\n", path, errno);
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: [%s]\n", path, buf);
}

static void cpus(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
    printf("sysconf online %ld, configured %ld\n", online, conf);
    show(CPU_DIR "/online");
    show(CPU_DIR "/possible");
    show(CPU_DIR "/present");
    show(CPU_DIR "/offline");
    DIR *d = opendir(CPU_DIR);
    int dirs = 0, typed = 1;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "cpu", 3) == 0 && e->d_name[3] >= '0' && e->d_name[3] <= '9') {
            strtol(e->d_name + 3, &end, 10);
            if (*end == 0) {
                dirs++;
                typed &= e->d_type == DT_DIR;
            }
        }
    }
    if (d)
        closedir(d);
    printf("cpuN directories: %d, each DT_DIR: %s\n", dirs, typed ? "yes" : "no");
    printf("as many as sysconf counts: %s\n", dirs == conf ? "yes" : "no");
    struct stat st;
    printf("cpu0/topology/core_id is a file: %s\n",
           stat(CPU_DIR "/cpu0/topology/core_id", &st) == 0 && S_ISREG(st.st_mode) ? "yes" : "no");
}

static void attrs(void)
{
    struct stat st;
    if (stat(CPU_DIR "/online", &st) == 0)
        printf("online: mode %o, size %lld, links %lu\n", st.st_mode, (long long)st.st_size,
               (unsigned long)st.st_nlink);
    if (stat("/sys/devices/system", &st) == 0)
        printf("/sys/devices/system: a directory %s, links > 2 %s\n",
               S_ISDIR(st.st_mode) ? "yes" : "no", st.st_nlink > 2 ? "yes" : "no");
    struct statfs sf;
    if (statfs("/sys", &sf) == 0)
        printf("statfs(/sys) f_type %#lx\n", (unsigned long)sf.f_type);
    char buf[16];
    int fd = open(CPU_DIR "/possible", O_RDONLY);
    ssize_t n = pread(fd, buf, sizeof buf, 1);
    printf("pread at 1: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
    n = pread(fd, buf, sizeof buf, 4096);
    printf("pread at 4096: %zd\n", n);
    close(fd);
    fd = open(CPU_DIR, O_RDONLY | O_DIRECTORY);
    n = read(fd, buf, sizeof buf);
    printf("read of a directory: %zd errno %d\n", n, n < 0 ? errno : 0);
    close(fd);
    int r = stat(CPU_DIR "/online/x", &st);
    printf("stat below a file: %d errno %d\n", r, r < 0 ? errno : 0);
    r = stat(CPU_DIR "/nothing", &st);
    printf("stat of a missing name: %d errno %d\n", r, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (section("cpus"))
        cpus();
    if (section("attrs"))
        attrs();
    return 0;
}
