/* exit0.c — the smallest static program: exits with status 0 (the target of fork_exec). */
int main(void)
{
    return 0;
}
