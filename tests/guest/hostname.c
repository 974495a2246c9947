/* hostname.c — a machine finds its own name: gethostname agrees with /etc/hostname, the
   name and localhost resolve (getaddrinfo, /etc/hosts), and localhost is 127.0.0.1.
   Prints only whether each holds, so a host and a guest of other names print the same. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "section.h"

static int resolves(const char *name, char *first, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return 0;
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, first, size);
    freeaddrinfo(res);
    return 1;
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    if (!section("names"))
        return 0;
    char name[256] = "", file[256] = "", addr[64] = "";
    gethostname(name, sizeof name);
    FILE *f = fopen("/etc/hostname", "r");
    if (f && fgets(file, sizeof file, f))
        file[strcspn(file, "\n")] = 0;
    if (f)
        fclose(f);
    printf("/etc/hostname is gethostname's: %s\n", strcmp(name, file) == 0 ? "yes" : "no");
    printf("the machine's own name resolves: %s\n", resolves(name, addr, sizeof addr) ? "yes" : "no");
    int local = resolves("localhost", addr, sizeof addr);
    printf("localhost is 127.0.0.1: %s\n", local && strcmp(addr, "127.0.0.1") == 0 ? "yes" : "no");
    return 0;
}
