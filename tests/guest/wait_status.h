/* wait_status.h — a wait status said in words ("killed by Killed", "exited with 3",
   "stopped by Stopped (signal)"), for guest tests whose output compares with Linux's. */
#ifndef WAIT_STATUS_H
#define WAIT_STATUS_H
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *how(int status)
{
    static char text[64];
    if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by %s", strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited with %d", WEXITSTATUS(status));
    else if (WIFSTOPPED(status))
        snprintf(text, sizeof text, "stopped by %s", strsignal(WSTOPSIG(status)));
    else
        snprintf(text, sizeof text, "status %#x", status);
    return text;
}

#endif
