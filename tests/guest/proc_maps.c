/* /proc/self/maps as debuggers and profilers read it: the path and file offset of every
 * file mapping, [heap] and [stack], anonymous memory unnamed; followed through mprotect,
 * munmap and mremap. Prints what Linux and CloudOS share (addresses differ). Works in a
 * fresh directory of its own under /tmp. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

struct line {
    unsigned long start, end, offset, ino;
    char perms[5], name[PATH_MAX];
    int name_column;
};

static struct line lines[512];
static int count;

static void load(void) {
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY), got = 0, n;
    while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += n;
    close(fd);
    buf[got] = 0;
    count = 0;
    for (char *p = strtok(buf, "\n"); p && count < 512; p = strtok(NULL, "\n")) {
        struct line *l = &lines[count++];
        int used = 0;
        unsigned major, minor;
        sscanf(p, "%lx-%lx %4s %lx %x:%x %lu %n", &l->start, &l->end, l->perms, &l->offset,
               &major, &minor, &l->ino, &used);
        strcpy(l->name, p + used);
        l->name_column = l->name[0] ? used : 0;
    }
}

static struct line *at(unsigned long address) {
    for (int i = 0; i < count; i++)
        if (lines[i].start <= address && address < lines[i].end) return &lines[i];
    return NULL;
}

static void show(const char *what, unsigned long address, const char *path) {
    struct line *l = at(address);
    if (!l) { printf("%s: not mapped\n", what); return; }
    printf("%s: %s offset %#lx, names the file %d\n", what, l->perms, l->offset,
           path ? strcmp(l->name, path) == 0 : l->name[0] == 0);
}

int main(void) {
    char dir[] = "/tmp/proc_maps.XXXXXX", path[PATH_MAX], exe[PATH_MAX] = {0};
    if (!mkdtemp(dir) || chdir(dir) != 0) { perror("mkdtemp"); return 1; }
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    /* the program itself: its executable segment at the file offset of its PT_LOAD */
    int self = open(exe, O_RDONLY);
    Elf64_Ehdr eh;
    Elf64_Phdr ph[32];
    pread(self, &eh, sizeof eh, 0);
    pread(self, ph, sizeof(Elf64_Phdr) * eh.e_phnum, eh.e_phoff);
    close(self);
    load();
    int exe_lines = 0, column_73 = 1, shaped = 1;
    for (int i = 0; i < count; i++) {
        exe_lines += strcmp(lines[i].name, exe) == 0;
        if (lines[i].name_column && lines[i].name_column != 73) column_73 = 0;
        shaped &= strlen(lines[i].perms) == 4 && lines[i].start < lines[i].end;
    }
    printf("lines shaped: %d, names in column 74: %d\n", shaped, column_73);
    /* the load bias: AT_PHDR is where the program headers are, bias + their p_vaddr */
    unsigned long bias = 0, main_at = (unsigned long)main;
    for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset <= eh.e_phoff &&
            eh.e_phoff < ph[i].p_offset + ph[i].p_filesz)
            bias = getauxval(AT_PHDR) - (ph[i].p_vaddr + eh.e_phoff - ph[i].p_offset);
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X)) continue;
        struct line *l = at(main_at);
        unsigned long want = ph[i].p_offset + (main_at - bias - ph[i].p_vaddr);
        printf("the code of main: %s, names the program %d, at main's offset in the file %d\n",
               l ? l->perms : "-", l && strcmp(l->name, exe) == 0,
               l && l->offset + (main_at - l->start) == want);
    }
    printf("lines naming the program: at least 2 %d\n", exe_lines >= 2);
    /* the heap and the stack */
    void *heap = sbrk(0);
    sbrk(4096 * 4);
    int local = 0;
    load();
    struct line *h = at((unsigned long)heap), *s = at((unsigned long)&local);
    printf("sbrk'd memory: %s\n", h ? h->name : "not mapped");
    printf("a local variable: %s\n", s ? s->name : "not mapped");
    /* a file mapped from its second page, private */
    int fd = open("data", O_RDWR | O_CREAT, 0644);
    char page[4096];
    for (int i = 0; i < 8; i++) { memset(page, 'a' + i, sizeof page); write(fd, page, 4096); }
    realpath("data", path);
    struct stat st;
    fstat(fd, &st);
    char *p = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    load();
    show("private file map at offset 0x1000", (unsigned long)p, path);
    printf("its inode is the file's: %d, the bytes are page 1's: %d\n",
           at((unsigned long)p)->ino == st.st_ino, p[0] == 'b');
    mprotect(p + 4096, 4096, PROT_READ | PROT_WRITE);
    load();
    show("after mprotect of its second page: first", (unsigned long)p, path);
    show("second", (unsigned long)p + 4096, path);
    show("third", (unsigned long)p + 8192, path);
    munmap(p, 4096);
    load();
    show("after munmap of its first page", (unsigned long)p + 4096, path);
    char *q = mremap(p + 8192, 8192, 16384, MREMAP_MAYMOVE);
    load();
    show("after mremap (grown or moved)", (unsigned long)q, path);
    /* shared, anonymous */
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *anon = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    load();
    show("shared file map", (unsigned long)shared, path);
    show("anonymous memory", (unsigned long)anon, NULL);
    printf("anonymous: inode %lu\n", at((unsigned long)anon)->ino);
    /* a file mapped over anonymous memory (MAP_FIXED), then anonymous over it again */
    mmap(anon + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 7 * 4096);
    load();
    show("file over anonymous memory (MAP_FIXED)", (unsigned long)anon + 4096, path);
    show("anonymous memory below it", (unsigned long)anon, NULL);
    mmap(anon + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    load();
    show("anonymous memory over it again", (unsigned long)anon + 4096, NULL);
    close(fd);
    unlink("data");
    chdir("/");
    rmdir(dir);
    return 0;
}
