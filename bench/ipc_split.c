/* ipc_split.c — ipc_pingpong with the server's answer and its next receive as two calls (cloudos_reply, cloudos_receive): three system calls per round trip. */
#define SPLIT 1
#include "ipc_pingpong.c"
