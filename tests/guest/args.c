/* args.c — checks argv and environ are passed intact (CLOUDOS_TEST_* vars, in order); exits with argc. */
#include <stdio.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    for (char **e = environ; *e != NULL; e++)
        if (strncmp(*e, "CLOUDOS_TEST_", 13) == 0)
            printf("env: [%s]\n", *e);
    return argc;
}
