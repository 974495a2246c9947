/* coredump.c — core dumps: a child killed by SIGABRT or SIGSEGV with RLIMIT_CORE raised leaves an ELF core file "core" (WCOREDUMP, CLD_DUMPED) whose NT_PRSTATUS names it and the signal and whose PT_LOAD segments hold its memory; none with RLIMIT_CORE 0 or for SIGTERM (argv[1] picks one section; none: all). Run only where core_pattern is "core". */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

static char marker[64];  /* .bss: written at run time, so the dump holds it */

static void check_core(pid_t child, int sig)
{
    int fd = open("core", O_RDONLY);
    if (fd < 0) {
        printf("core file: %s\n", errname(errno));
        return;
    }
    struct stat st;
    fstat(fd, &st);
    char *image = malloc(st.st_size);
    ssize_t n = read(fd, image, st.st_size);
    close(fd);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)image;
    printf("core file: ELF %d, ET_CORE %d, EM_X86_64 %d, mode %o\n",
           n > 4 && memcmp(image, ELFMAG, SELFMAG) == 0, eh->e_type == ET_CORE,
           eh->e_machine == EM_X86_64, st.st_mode & 0777);
    int prstatus_ok = 0, marker_ok = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(image + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type == PT_NOTE) {
            size_t at = ph->p_offset;
            while (at + 12 <= ph->p_offset + ph->p_filesz) {
                Elf64_Nhdr *nh = (Elf64_Nhdr *)(image + at);
                char *desc = image + at + 12 + ((nh->n_namesz + 3) & ~3);
                if (nh->n_type == NT_PRSTATUS) {
                    int signo, pid;
                    short cursig;
                    memcpy(&signo, desc, 4);
                    memcpy(&cursig, desc + 12, 2);
                    memcpy(&pid, desc + 32, 4);
                    prstatus_ok = signo == sig && cursig == sig && pid == child;
                }
                at += 12 + ((nh->n_namesz + 3) & ~3) + ((nh->n_descsz + 3) & ~3);
            }
        }
        unsigned long where = (unsigned long)marker;
        if (ph->p_type == PT_LOAD && ph->p_vaddr <= where && where < ph->p_vaddr + ph->p_filesz)
            marker_ok = strcmp(image + ph->p_offset + (where - ph->p_vaddr),
                               "cloudos core marker") == 0;
    }
    printf("NT_PRSTATUS names the signal and the child: %d, memory holds the marker: %d\n",
           prstatus_ok, marker_ok);
    free(image);
    unlink("core");
}

static void run(const char *label, int sig, int limit)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {limit ? RLIM_INFINITY : 0, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &r);
        strcpy(marker, "cloudos core marker");
        if (sig == SIGSEGV)
            *(volatile int *)16 = 1;
        raise(sig);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: killed by %d, core dumped: %d\n", label, WTERMSIG(status),
           WCOREDUMP(status) != 0);
    if (WCOREDUMP(status))
        check_core(pid, sig);
    else
        printf("no core file: %d\n", access("core", F_OK) != 0);
}

static void dumps(void)
{
    run("SIGABRT", SIGABRT, 1);
    run("SIGSEGV", SIGSEGV, 1);
    run("SIGABRT with RLIMIT_CORE 0", SIGABRT, 0);
    run("SIGTERM", SIGTERM, 1);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &r);
        abort();
    }
    siginfo_t si;
    waitid(P_PID, pid, &si, WEXITED);
    printf("waitid: code CLD_DUMPED %d, status %d\n", si.si_code == CLD_DUMPED, si.si_status);
    unlink("core");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("coredump");
    if (section("dumps"))
        dumps();
    testdir_leave();
    return 0;
}
