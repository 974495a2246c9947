/* exec_child.c — run by exec_parent through execve(): prints its argv and environment, exits 3. */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("exec_child: argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("exec_child: argv[%d]=[%s]\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("exec_child: env [%s]\n", *e);
    return 3;
}
