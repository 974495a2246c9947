/* section.h — a guest test program in named sections: argv[1] picks one, none runs all; each prints "== name" first. */
#ifndef SECTION_H
#define SECTION_H
#include <stdio.h>
#include <string.h>

static const char *only;  /* set from argv[1] in main */

static int section(const char *name)
{
    if (only && strcmp(only, name) != 0)
        return 0;
    printf("== %s\n", name);
    return 1;
}

#endif
