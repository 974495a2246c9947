/* errname.h — errno names for the file tests' output (a table, not strerror, so output is locale-free). */
#ifndef ERRNAME_H
#define ERRNAME_H
#include <errno.h>
#include <stddef.h>

static const char *errname(int e)
{
    static const struct { int num; const char *name; } table[] = {
        {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"},
        {EIO, "EIO"}, {ENXIO, "ENXIO"}, {E2BIG, "E2BIG"}, {ENOEXEC, "ENOEXEC"},
        {EBADF, "EBADF"}, {ECHILD, "ECHILD"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"}, {EEXIST, "EEXIST"},
        {EXDEV, "EXDEV"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
        {EINVAL, "EINVAL"}, {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"}, {ENOTTY, "ENOTTY"}, {ETXTBSY, "ETXTBSY"},
        {EFBIG, "EFBIG"}, {ENOSPC, "ENOSPC"}, {ESPIPE, "ESPIPE"}, {EROFS, "EROFS"},
        {EMLINK, "EMLINK"}, {EPIPE, "EPIPE"}, {ERANGE, "ERANGE"}, {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENOSYS, "ENOSYS"}, {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"},
        {EOPNOTSUPP, "EOPNOTSUPP"}, {ENOTSOCK, "ENOTSOCK"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
        {EPROTONOSUPPORT, "EPROTONOSUPPORT"}, {EISCONN, "EISCONN"}, {ETIMEDOUT, "ETIMEDOUT"},
        {ENOTCONN, "ENOTCONN"}, {EADDRINUSE, "EADDRINUSE"}, {ECONNREFUSED, "ECONNREFUSED"},
        {ENOPROTOOPT, "ENOPROTOOPT"}, {EMSGSIZE, "EMSGSIZE"}, {EPROTOTYPE, "EPROTOTYPE"},
        {EDEADLK, "EDEADLK"}, {ENOLCK, "ENOLCK"}, {EOVERFLOW, "EOVERFLOW"},
        {EINPROGRESS, "EINPROGRESS"}, {EALREADY, "EALREADY"}, {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {ENETUNREACH, "ENETUNREACH"}, {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"},
        {EDESTADDRREQ, "EDESTADDRREQ"}, {ECONNRESET, "ECONNRESET"}, {EDOM, "EDOM"},
        {EIDRM, "EIDRM"}, {ENOMSG, "ENOMSG"}, {EOWNERDEAD, "EOWNERDEAD"},
        {ENOTRECOVERABLE, "ENOTRECOVERABLE"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].num == e)
            return table[i].name;
    return "E?";
}

/* Prints "LABEL: R" for a non-negative result R, else "LABEL: -1 ENAME"; errno is read
 * right after EXPR (never in the same printf call, whose argument order is unspecified). */
#include <stdio.h>
#define SHOW(label, expr) do { \
        long show_r_ = (long)(expr); \
        int show_e_ = errno; \
        if (show_r_ < 0) printf("%s: %ld %s\n", (label), show_r_, errname(show_e_)); \
        else printf("%s: %ld\n", (label), show_r_); \
    } while (0)

#endif
