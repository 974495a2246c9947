// Exits with the errno of open("/etc/hostname") (0 when it opens): it cannot print
// when it holds no FILE capability, since the console is a file too.
#include <errno.h>
#include <fcntl.h>

int main(void) {
    return open("/etc/hostname", O_RDONLY) < 0 ? errno : 0;
}
