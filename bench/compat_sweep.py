#!/usr/bin/env python3
"""Compatibility sweep: everyday command lines, natively and under ``cloudos run``.

Each case is one shell command line (``/bin/sh -c`` unless it says bash) that a user
would type in a sandbox: coreutils, findutils, grep/sed/awk, archivers, procps, bash
features, perl, python3, sqlite3, make, git and gcc. It runs twice in the same fresh
directory ``$D`` under /tmp (so paths in the output are equal):

* under CloudOS first: ``python -m cloudos run --no-cwd --mount $D:rw -w $D -- sh -c CMD``;
* then natively, after ``$D`` is emptied: ``sh -c CMD`` with ``$D`` as its directory.

Both get the same small environment (PATH without pyenv's shims, so ``python3`` is the
system's, ``LC_ALL=C``, ``TZ=UTC``, ``HOME=/root``). Stdout, stderr and the exit status
are compared after the case's masks (hostnames, pids, times, sizes that legitimately
differ) and each case prints one row:

    case  native  cloudos  same/DIFF  hint

The hint of a differing case is the case's own note when its difference is known and
is not a bug (``policy:`` the sandbox hides it on purpose, ``noise:`` timing or the
machine's shape), else ``bug?`` with what differs first. ``-v`` prints the diffs.

    PYTHONPATH=. python3 bench/compat_sweep.py [-k SUBSTR] [-v] [--backend unicorn|kvm]
"""
# ruff: noqa: E501  (the cases are shell command lines, kept as a user would type them)

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C",
    "TZ": "UTC",
    "HOME": "/root",
    "USER": "root",
}

Mask = tuple[str, str]

# Applied to every case: the directory's name and the machine's host name.
COMMON_MASKS: list[Mask] = [
    (re.escape(socket.gethostname()) + r"\b", "HOST"),
    (r"\bcloudos\b", "HOST"),
]
NUMBERS: Mask = (r"\d+(\.\d+)?", "N")
DASH_JOB_RACE = ("noise: dash prints 'Terminated' for a job killed by `kill $p; wait $p` only when"
                 " the job dies after kill returns, as on Linux; CloudOS's dies within kill")
PIDS: Mask = (r"\b\d{1,7}\b", "PID")


@dataclass(frozen=True)
class Case:
    name: str
    cmd: str
    shell: str = "/bin/sh"
    masks: tuple[Mask, ...] = ()
    note: str = ""               # a known difference that is not a bug: why
    needs: tuple[str, ...] = ()  # host programs that must exist, else the case is skipped


@dataclass
class Outcome:
    status: int
    out: bytes
    err: bytes
    seconds: float
    timed_out: bool = False


@dataclass
class Row:
    case: Case
    native: Outcome | None = None
    guest: Outcome | None = None
    diffs: list[str] = field(default_factory=list)


def _c(name: str, cmd: str, **kw) -> Case:
    return Case(name, cmd.strip(), **kw)


CASES: list[Case] = [
    # --- coreutils ------------------------------------------------------------------
    _c("ls_l", r"""
mkdir d; echo hello > f; ln -s f l; chmod 640 f; touch -d @1000000000 f d
ls -l --time-style=+%s; ls -la --time-style=+%s d | tail -n +2 | awk '{print $1, $NF}'
ls -1F; ls -i f >/dev/null && echo inode-ok; ls -lL l | cut -c1-10
"""),
    _c("stat", r"""
echo hello > f; mkdir d; ln -s f l; mkfifo p; chmod 604 f; touch -d @1234567890 f d p; touch -h -d @1234567890 l
stat -c '%n %s %F %a %A %h %U %G %Y' f d l p; stat -L -c '%n %s %F' l
stat -f -c '%n' .; stat --printf='%s\n' f; stat nothere; echo "status $?"
"""),
    _c("du", r"""
mkdir -p a/b; seq 1 100000 > a/b/big; echo x > a/small
du -ab --apparent-size a | sort -k2; du -s --apparent-size -b a
du -sk a | awk '{print ($1 > 500)}'; du -h -d 0 --apparent-size a
"""),
    _c("df", r"""
df -P . | head -1 | tr -s ' '; df -P . | wc -l; df -h . >/dev/null; echo "df status $?"
df -i . >/dev/null; echo "df -i status $?"
stat -f -c '%a %f' . | awk '{print "available below free (the reserve):", ($1 < $2)}'
"""),
    _c("sort_uniq_wc", r"""
seq 1 500 | shuf --random-source=/dev/zero > in; printf 'b\na\nb\nc\na\nb\n' > w
sort -n in | head -3; sort -rn in | head -2; sort w | uniq -c; sort -u w; sort -k1,1 -t: w | uniq -d
wc in; wc -l -w -c w; wc -L w; sort -c in; echo "sorted? $?"; sort -S 1M -T . --parallel=2 -n in | tail -1
"""),
    _c("head_tail", r"""
seq 1 20 > f
head -n 3 f; head -n -17 f; tail -n 2 f; tail -n +19 f; head -c 5 f | od -c; tail -c 6 f
seq 1 100000 | tail -n 1; seq 1 100000 | head -n 1; yes | head -n 3
"""),
    _c("seq_printf", r"""
seq -w 8 11; seq -s, 1 5; seq -f '%.2f' 0 0.5 2; seq 5 -2 0
printf '%5s|%-5s|%05d|%x|%o|%e|%c\n' ab cd 42 255 8 1234.5 xyz; printf '%b\n' 'a\tb'
printf '%s\n' "$(printf 'x%.0s' 1 2 3)"; /usr/bin/printf '%q\n' 'a b' 2>&1
"""),
    _c("date_touch", r"""
date -u -d '2020-02-29 12:34:56' +%s; date -u -d @0; date -u -d '2021-01-01 + 1 month' +%F
date -u -d 'next friday' +%A; TZ=America/New_York date -d @1600000000 '+%F %T %Z'
touch -d '2001-02-03 04:05:06' f; stat -c %Y f; touch -r f g; stat -c %Y g
touch -m -d @5 f; stat -c '%Y' f; touch -t 200501020304.05 h; stat -c %Y h
date +%s >/dev/null && echo now-ok; date -d garbage; echo "status $?"
"""),
    _c("cp_mv_ln", r"""
mkdir -p s/d; echo a > s/d/f; chmod 640 s/d/f; ln -s d/f s/l; touch -d @1000000000 s/d/f
cp -a s t; stat -c '%n %a %Y %F' t/d/f; readlink t/l; [ "$(stat -c %Y s/l)" = "$(stat -c %Y t/l)" ] && echo link-time-kept
cp -r s u; stat -c '%n %F' u/l; cp s/d/f s/d/g; cp -p s/d/f s/d/h; stat -c '%a %Y' s/d/h
mv t/d/f t/moved; mv t/moved u/d/f; cat u/d/f; mv u v; ls v v/d | sort
ln s/d/f hard; stat -c %h hard; ln -s ../x dangling; ls -l dangling | awk '{print $NF}'
ln -sf s/d/g dangling; cat dangling; ln s nohard 2>&1; echo "status $?"
cp nothere x 2>&1; mv nothere x 2>&1; echo "status $?"
"""),
    _c("readlink_realpath", r"""
mkdir -p a/b; ln -s a/b lb; ln -s lb llb; ln -s loop1 loop2; ln -s loop2 loop1
readlink llb; readlink -f llb; realpath llb; realpath --relative-to=a/b .; realpath -m x/../y
readlink -f loop1; echo "loop status $?"; realpath loop1 2>&1; echo "status $?"
readlink -e nothere; echo "status $?"; cd lb && pwd && pwd -P
"""),
    _c("mktemp_install", r"""
t=$(mktemp -p . tmp.XXXXXX); test -f "$t" && stat -c %a "$t"; d=$(mktemp -d -p .); stat -c '%a %F' "$d"
mktemp -u -p . x.XXXXXX | grep -c '^./x\.'; TMPDIR=$PWD mktemp | grep -c "^$PWD/tmp"
echo '#!/bin/sh' > s; install -m 755 s bin/s 2>&1; install -D -m 755 s bin/s; stat -c '%a %s' bin/s
install -d -m 700 x/y/z; stat -c '%a' x/y/z; install -m 600 s bin/t; stat -c %a bin/t
"""),
    _c("dd", r"""
dd if=/dev/zero of=z bs=1k count=100 status=none; stat -c %s z
dd if=/dev/urandom of=r bs=4096 count=3 status=none; stat -c %s r
printf 'hello world' > h; dd if=h bs=1 skip=6 count=5 status=none; echo
dd if=h of=h2 bs=2 seek=3 status=none; od -c h2 | head -2
printf XY | dd of=h conv=notrunc bs=1 seek=2 status=none; cat h; echo
dd if=h ibs=3 obs=5 cbs=4 conv=ucase status=none; echo
dd if=/dev/zero bs=1M count=2 2>&1 >/dev/null | head -2 | sed 's/,.*//'
"""),
    _c("split_csplit", r"""
seq 1 100 > f; split -l 30 f part_; ls part_*; wc -l part_ad; split -b 100 -d f num; ls num*
split -n 3 f third; wc -c third* | tail -1; cat part_* | cmp - f && echo joined
csplit -s f '/^50$/' '{1}' 2>&1; ls xx*; head -1 xx01; csplit -f sec -n 3 f 10 20 '/^9[0-9]$/'
"""),
    _c("tr_cut_paste_join", r"""
echo 'Hello, World' | tr a-z A-Z; echo 'aabbcc' | tr -s abc; echo 'a1b2c3' | tr -d 0-9
echo 'abc' | tr -c 'a\n' x; printf 'a:b:c\nd:e:f\n' | cut -d: -f2,3; echo abcdef | cut -c2-4
printf '1\n2\n3\n' > n; printf 'a\nb\nc\n' > l; paste n l; paste -s -d, n; paste - - < n
printf '1 one\n2 two\n3 three\n' > j1; printf '1 uno\n3 tres\n4 cuatro\n' > j2
join j1 j2; join -a1 -e X -o 0,1.2,2.2 j1 j2; join -v2 j1 j2
"""),
    _c("fmt_nl_fold_tac", r"""
printf 'the quick brown fox jumps over the lazy dog again and again and again\n' > t
fmt -w 20 t; fold -w 15 t; fold -s -w 15 t; nl t; printf 'a\n\nb\n' | nl -ba; seq 3 | tac
printf 'x;y;z;' | tac -s ';'; echo; expand <<'E'
	tab	here
E
"""),
    _c("od_base64", r"""
printf 'hello\0\377\n' > b; od -c b; od -An -tx1 b; od -t d2 -N 4 b; hexdump -C b 2>/dev/null | head -1
base64 b; base64 b | base64 -d | cmp - b && echo roundtrip; echo 'aGk=' | base64 -d; echo
base64 -w 8 /etc/os-release | head -2; echo '!!bad' | base64 -d 2>&1; echo "status $?"
"""),
    _c("checksums", r"""
printf abc > a; seq 1 1000 > s
sha256sum a s; md5sum a s; sha1sum a; sha512sum a | cut -c1-20; b2sum a | cut -c1-20
sha256sum a s > sums; sha256sum -c sums; echo x >> s; sha256sum -c sums 2>&1; echo "status $?"
cksum a; sum a
"""),
    _c("tee", r"""
echo one | tee f; echo two | tee -a f > /dev/null; cat f
seq 3 | tee g h | wc -l; cat g h | wc -l; echo x | tee /nonexistent/y; echo "status $?"
"""),
    _c("timeout_sleep", r"""
timeout 0.5 sleep 5; echo "timeout $?"; timeout -s KILL 0.3 sleep 5; echo "kill $?"
timeout 5 true; echo "true $?"; timeout 5 sh -c 'exit 3'; echo "exit $?"
timeout --preserve-status 0.3 sleep 5; echo "preserve $?"; timeout -k 0.2 0.2 sh -c 'trap "" TERM; sleep 3'; echo "-k $?"
sleep 0.2; sleep 0.1s; echo slept
"""),
    _c("nohup_env", r"""
nohup sh -c 'echo out; echo err >&2' > o 2> e; echo "nohup $?"; cat o e
env -i FOO=bar sh -c 'echo $FOO; env | sort'; env -u HOME sh -c 'echo ${HOME-unset}'
env | grep -c '^PATH='; env --chdir=/ pwd; env nothere; echo "status $?"
"""),
    _c("id_users", r"""
id; id -u; id -g; id -un; whoami; groups; id -G; id nobody; id nosuchuser; echo "status $?"
getent passwd root | cut -d: -f1,3,6; logname; echo "logname $?"
""", note="noise: logname needs a login session (utmp) on both"),
    _c("uname_hostname_nproc", r"""
uname -s; uname -m; uname -o; uname -a | wc -w; hostname | wc -l; nproc | grep -c '^[0-9]'
getconf PAGESIZE; getconf ARG_MAX; getconf _NPROCESSORS_ONLN | grep -c .
"""),
    _c("test_expr_factor_shuf", r"""
test -d / && echo dir; [ -w / ]; echo "w $?"; test 3 -gt 2 -a abc != abd && echo ok
test -e /nonexistent; echo "$?"; [ -x /bin/sh ] && echo exec; test -t 0; echo "tty $?"
expr 6 \* 7; expr length hello; expr substr hello 2 3; expr 1 / 0; echo "expr $?"; expr 'abc' : 'a\(.\)'
factor 360 1234567 2147483647 600851475143; seq 1 10 | shuf --random-source=/dev/zero
shuf -i 1-5 --random-source=/dev/zero -n 3; shuf -e a b c --random-source=/dev/zero
"""),
    # --- findutils, grep, sed, awk, diff --------------------------------------------
    _c("find", r"""
mkdir -p a/b c; echo 1 > a/x.txt; echo 22 > a/b/y.txt; echo 333 > c/z.log; touch -d @1000 old
sleep 0.01; touch new; find . -newer old -type f | sort; find . -name '*.txt' -exec wc -c {} + | sort
find . -type f -size +1c -printf '%p %s %m\n' | sort; find . -maxdepth 1 -type d | sort
find . -empty | sort; find . -name '*.log' -delete; find . -path ./a -prune -o -type f -print | sort
find /nonexistent 2>&1; echo "status $?"; find . -mmin -10 -name new; find . -perm -u+w -name old
"""),
    _c("xargs", r"""
seq 1 10 | xargs -n 3 echo; seq 1 6 | xargs -P 2 -I{} sh -c 'echo {} > f{}'; ls f* | sort -V
printf 'a b\0c\0' | xargs -0 -n1 echo; echo x | xargs -r false; echo "status $?"
seq 1 200 | xargs -P 2 -n 50 sh -c 'echo $#' | sort | uniq -c; echo | xargs -r echo nothing
"""),
    _c("grep", r"""
mkdir -p d/e; printf 'alpha\nneedle one\nbeta\n' > d/f1; printf 'Needle two\nneedle\n' > d/e/f2
grep -rn needle d | sort; grep -rli needle d | sort; grep -c needle d/f1; grep -v a d/f1
grep -E '^(alpha|beta)$' d/f1; grep -o 'ne*d' d/f1; grep -w one d/f1; grep -A1 -B1 needle d/f1
grep -r --include='f2' -h needle d; grep -q zzz d/f1; echo "status $?"; grep x /nonexistent; echo "$?"
grep -P '\bone\b' d/f1; seq 1 100000 | grep -c 7; grep -F -f d/f1 d/e/f2; grep -rL needle d
"""),
    _c("sed", r"""
printf 'one apple\ntwo banana\n# c\nthree cherry\n' > in
sed 's/apple/APPLE/; /^#/d' in; sed -n '2,3p' in; sed -i.bak 's/one/ONE/' in; cat in in.bak | head -2
sed -i -e '1d' -e '$a end' in; cat in; sed -E 's/([a-z]+) ([a-z]+)/\2 \1/' in
printf 'a\nb\nc\n' | sed -n '$='; printf 'a\nb\n' | sed '1!G;h;$!d'; sed --version | head -1
ls -l in in.bak | awk '{print $1}'
"""),
    _c("awk", r"""
printf 'alice 10 red\nbob 20 blue\ncarol 30 red\n' > in
awk '{s[$3]+=$2} END {for (k in s) print k, s[k] | "sort"}' in; awk -F' ' 'NR==2{print $1; exit}' in
awk 'BEGIN{printf "%.3f %d %s\n", atan2(0,-1), 2^31, substr("hello",2,3); print length("abc"), toupper("x")}'
awk 'BEGIN { while (("echo a; echo b" | getline l) > 0) print "got " l; print "x" > "out"; close("out"); getline y < "out"; print y }'
awk -v n=3 'BEGIN{srand(1); for(i=0;i<n;i++) print i*i}'; echo 'a,b,c' | awk -F, -v OFS=- '{$1=$1; print}'
awk 'BEGIN { system("exit 3"); print "after" }'; awk 'BEGIN{exit 4}'; echo "status $?"
"""),
    _c("diff_patch_cmp", r"""
printf '1\n2\n3\n4\n' > a; printf '1\ntwo\n3\n4\n5\n' > b
diff -u a b > p; echo "diff $?"; sed 1,2d p; diff a a; echo "same $?"; diff -q a b; echo "q $?"
cp a c; patch -s c < p; cmp c b && echo patched; patch -R -s c < p; cmp c a && echo reverted
cmp a b; echo "cmp $?"; cmp -l a b 2>&1 | head -2; mkdir x y; echo 1 > x/f; diff -r x y; echo "r $?"
"""),
    # --- archivers -------------------------------------------------------------------
    _c("tar", r"""
mkdir -p src/sub; echo a > src/a; seq 1 5000 > src/sub/b; ln -s a src/link; chmod 750 src/sub
tar czf x.tgz src; tar tzf x.tgz | sort; mkdir out; tar xzf x.tgz -C out; diff -r src out/src && echo same
stat -c '%a' out/src/sub; readlink out/src/link; tar cJf x.txz src && tar xJOf x.txz src/a
tar cjf x.tbz src && tar tjvf x.tbz | awk '{print $1, $NF}' | sort
tar --zstd -cf x.tzst src && tar --zstd -tf x.tzst | wc -l
tar cf - src | tar xf - -C out --strip-components=1 && ls out | sort; tar xf nothere.tar; echo "status $?"
"""),
    _c("compressors", r"""
seq 1 20000 > f; cp f g; gzip -9 f; gzip -l f.gz | tail -1 | awk '{print $2, $4}'; gunzip f.gz; cmp f g && echo gz
xz -k f; xz -l f.xz | tail -1 | awk '{print $5, $6}'; xz -dc f.xz | cmp - g && echo xz
bzip2 -k f; bunzip2 -c f.bz2 | cmp - g && echo bz2; zstd -q f -o f.zst; zstd -dq f.zst -o h; cmp h g && echo zstd
gzip -t f.gz 2>&1; echo "status $?"; echo garbage > bad.gz; gzip -t bad.gz 2>&1; echo "status $?"
xz -T2 -c f | xz -dc | wc -l; zcat < /dev/null; echo "zcat $?"
"""),
    _c("file_which", r"""
printf '#!/bin/sh\necho\n' > s; printf '\x89PNG\r\n\x1a\n' > p; seq 10 | gzip > z.gz
file s p z.gz /bin/ls /usr/bin /etc/os-release | sed 's/BuildID\[sha1\]=[0-9a-f]*/BuildID/'
file -b --mime-type s z.gz; which ls sh python3 nothere; echo "status $?"; command -v awk; type cd
""", needs=("file",)),
    # --- procps ----------------------------------------------------------------------
    _c("ps", r"""
ps aux | head -1; ps -ef | head -1; ps -o pid,ppid,comm -p $$ | awk 'NR==1 || $1 == '$$' {print $3}'
sleep 5 & p=$!; ps -p $p -o comm=; ps -o stat= -p $p | cut -c1; kill $p; wait $p; echo "wait $?"
ps -e -o comm | grep -c '^ps$'; ps --no-headers -o args -p $$
""", note=DASH_JOB_RACE),
    _c("top_free_uptime", r"""
top -b -n 1 | head -5 | cut -c1-8; free | head -1; free -m | awk 'NR>1 {print $1}'
uptime | grep -c 'load average'; uptime -p | cut -c1-2; cat /proc/loadavg | wc -w
vmstat 2>/dev/null | head -1
""", masks=(NUMBERS,)),
    _c("pgrep_kill", r"""
sleep 30 & p=$!; sleep 0.2; pgrep -x sleep | grep -c "^$p$"; pgrep -f 'sleep 30' | grep -c "^$p$"
kill -0 $p && echo alive; kill -USR1 $p; wait $p; echo "usr1 $?"; kill -0 $p 2>&1; echo "gone $?"
kill -l 15; kill -l | head -1; kill -s 99 $$ 2>&1; echo "bad $?"; /bin/kill -l TERM
sleep 30 & q=$!; pkill -TERM -P $$ -x sleep; wait $q; echo "pkill $?"
""", masks=((r"kill: \d+:", "kill: N:"),),
       note=DASH_JOB_RACE),
    # --- shells ----------------------------------------------------------------------
    _c("bash_arrays", r"""
a=(one two "three four"); echo ${#a[@]} "${a[2]}" "${a[@]:1}"; a+=(five); echo "${a[-1]}"
declare -A m=([x]=1 [y]=2); for k in $(printf '%s\n' "${!m[@]}" | sort); do echo "$k=${m[$k]}"; done
mapfile -t lines < <(seq 3); echo "${lines[*]}"; s="hello world"; echo "${s^^} ${s/world/there} ${#s}"
printf -v v '%03d' 7; echo $v; (( x = 2 ** 10 )); echo $x; [[ abc =~ ^a(.)c$ ]] && echo "${BASH_REMATCH[1]}"
shopt -s extglob
echo {1..5} {a..c}; echo @(x|y)
""", shell="/bin/bash"),
    _c("bash_procsubst_coproc", r"""
diff <(seq 3) <(seq 4); echo "diff $?"; while read l; do echo "got $l"; done < <(printf 'a\nb\n')
paste <(seq 3) <(seq 4 6); cat > >(tr a-z A-Z) <<< "to upper"; sleep 0.2
coproc BC { while read x; do echo $((x * 2)); done; }; echo 21 >&"${BC[1]}"; read -u "${BC[0]}" r; echo "coproc $r"
exec {BC[1]}>&-; wait $BC_PID; echo "coproc done $?"
""", shell="/bin/bash"),
    _c("bash_wait_trap_read", r"""
(sleep 0.3; exit 3) & (sleep 0.1; exit 5) & wait -n; echo "first $?"; wait -n; echo "second $?"
trap 'echo got usr1' USR1; kill -USR1 $$; trap 'echo exiting' EXIT; trap - USR1
read -t 0.3 x < <(sleep 2); echo "read -t $?"; read -t 0 x < /dev/null; echo "read -t0 $?"
f() { trap 'echo err trapped' ERR; false; trap - ERR; }; f
( trap 'echo term in subshell; exit 7' TERM; kill -TERM $BASHPID; sleep 1 ); echo "sub $?"
sleep 1 & p=$!; sleep 0.2; kill -INT $p; wait $p; echo "int (ignored in the background) $?"; ulimit -n; ulimit -s
echo $((RANDOM >= 0)); echo $SHLVL; echo ${BASH_VERSINFO[0]}; set -o pipefail; false | true; echo "pipefail $?"
""", shell="/bin/bash"),
    _c("bash_script_file", r"""
cat > s.sh <<'EOF'
#!/bin/bash
set -euo pipefail
count=0
for f in "$@"; do count=$((count + 1)); done
echo "args $count: $*"
declare -i n=0; while (( n < 3 )); do n+=1; done; echo "n=$n"
fn() { local x=$1; echo "local $x"; return 4; }; fn y || echo "fn $?"
exec 3<&0; echo $$ > /dev/null; echo "$0" | sed 's|.*/||'
EOF
chmod +x s.sh; ./s.sh a b "c d"; bash -n s.sh && echo syntax-ok; bash -x -c 'echo traced' 2>&1
bash -c 'cd /; pwd; cd -' ; bash -c 'echo $-'; bash -c 'echo hi >&2; exit 9' 2>&1; echo "status $?"
bash -c 'time (sleep 0.01)' 2>&1 | grep -c real
""", shell="/bin/bash"),
    _c("dash", r"""
dash -c 'echo $((1 + 2)); x=5; echo ${x:-no} ${y:-def} ${#x}; set -- a b c; echo $# $2; shift; echo $@'
dash -c 'f() { echo "in f $1"; }; f arg; case abc in a*) echo match;; esac; i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i'
dash -c 'trap "echo trapped" INT; kill -INT $$; echo after; exec 3>x; echo via3 >&3; cat x'
dash -c 'read a b <<EOF
first second third
EOF
echo "$b"; printf "%s-" 1 2 3; echo; echo $(( 7 % 3 )); umask 022; umask; type echo; ulimit -c'
"""),
    # --- perl, python ----------------------------------------------------------------
    _c("perl", r"""
perl -e 'open my $f, ">", "x" or die; print $f "line $_\n" for 1..3; close $f; open $f, "<", "x"; my @l = <$f>; print scalar(@l), " $l[2]"; print -s "x", "\n"; unlink "x"; print -e "x" ? "exists\n" : "gone\n"'
perl -e 'my $pid = fork; if (!$pid) { exit 7 } waitpid $pid, 0; print "child ", $? >> 8, "\n"; pipe my $r, my $w; if (!fork) { close $r; print $w "through pipe\n"; exit } close $w; print <$r>; wait'
perl -MSocket -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or die "$!"; my $p = $s->sockport; if (!fork) { my $c = IO::Socket::INET->new("127.0.0.1:$p") or die; print $c "ping\n"; exit } my $c = $s->accept; print "server got ", scalar <$c>; wait'
perl -e 'socketpair(my $a, my $b, 1, 1, 0) or die; syswrite $a, "pair"; sysread $b, my $buf, 4; print "$buf\n"; $SIG{ALRM} = sub { print "alarm\n" }; alarm 1; sleep 2; print "done\n"'
perl -MFile::Temp=tempdir -MFile::Find -e '$d = tempdir(CLEANUP => 1); mkdir "$d/a"; find(sub { print "$_\n" }, $d); printf "%o\n", (stat $d)[2] & 07777'
perl -e 'print "$^O ", ($> == 0 ? "root" : "user"), " ", (getpwuid($<))[0], "\n"; opendir D, "/etc"; print scalar(grep /^os-release$/, readdir D), "\n"; print `echo backtick`; system("false"); print $? >> 8, "\n"'
"""),
    _c("python3_proc_threads", r"""
python3 - <<'EOF'
import subprocess, threading, queue, os, sys
r = subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
print(r.returncode, r.stdout.strip(), r.stderr.strip())
print(subprocess.check_output("seq 3 | wc -l", shell=True).decode().strip())
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE); print(p.communicate(b"via cat")[0])
try: subprocess.run(["sleep", "5"], timeout=0.3)
except subprocess.TimeoutExpired: print("timeout expired")
try: subprocess.run(["/nonexistent"])
except FileNotFoundError as e: print("FileNotFoundError", e.errno)
q = queue.Queue(); ts = [threading.Thread(target=lambda i=i: q.put(sum(range(i * 1000)))) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]; print(sorted(q.get() for _ in ts)[-1])
lock = threading.Lock(); n = [0]
def inc():
    for _ in range(10000):
        with lock: n[0] += 1
ts = [threading.Thread(target=inc) for _ in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]; print(n[0])
ev = threading.Event(); threading.Timer(0.1, ev.set).start(); print(ev.wait(5))
pid = os.fork()
if pid == 0: os._exit(5)
print(os.waitpid(pid, 0)[1] >> 8, os.WEXITSTATUS(os.system("exit 2")))
EOF
"""),
    _c("python3_multiprocessing", r"""
python3 - <<'EOF'
import multiprocessing as mp, concurrent.futures as cf
def sq(x): return x * x
if __name__ == "__main__":
    with mp.Pool(2) as p: print(sum(p.map(sq, range(1000))), p.apply(sq, (7,)))
    with cf.ProcessPoolExecutor(2) as ex: print(list(ex.map(sq, range(5))))
    with cf.ThreadPoolExecutor(4) as ex: print(sum(ex.map(sq, range(100))))
    q = mp.Queue(); ps = [mp.Process(target=q.put, args=(i,)) for i in range(4)]
    [p.start() for p in ps]; print(sorted(q.get() for _ in ps)); [p.join() for p in ps]
    a, b = mp.Pipe(); c = mp.Process(target=b.send, args=("over pipe",)); c.start(); print(a.recv()); c.join()
    print(mp.cpu_count() > 0, mp.current_process().name)
EOF
"""),
    _c("python3_files", r"""
python3 - <<'EOF'
import tempfile, shutil, os, pathlib, glob, stat, fcntl
with tempfile.TemporaryDirectory(dir=".") as d:
    for i in range(3): pathlib.Path(d, "sub", str(i)).mkdir(parents=True)
    pathlib.Path(d, "sub", "f.txt").write_text("x" * 100)
    os.symlink("f.txt", os.path.join(d, "sub", "link"))
    shutil.copytree(os.path.join(d, "sub"), os.path.join(d, "copy"), symlinks=True)
    print(sorted(e.name + ("/" if e.is_dir(follow_symlinks=False) else "@" if e.is_symlink() else "") for e in os.scandir(os.path.join(d, "copy"))))
    print(sorted(os.path.relpath(p, d) for p in glob.glob(d + "/**/*.txt", recursive=True)))
    print(sum(len(fs) for _, _, fs in os.walk(d)), shutil.disk_usage(d).total > 0)
    shutil.move(os.path.join(d, "copy"), os.path.join(d, "moved")); shutil.rmtree(os.path.join(d, "moved"))
    print(sorted(os.listdir(d)))
with tempfile.NamedTemporaryFile() as f:
    f.write(b"abc"); f.flush(); print(os.path.getsize(f.name), oct(os.stat(f.name).st_mode & 0o777))
with open("lockme", "w") as f: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print("locked")
fd = os.open("sparse", os.O_CREAT | os.O_RDWR, 0o644); os.lseek(fd, 1 << 20, 0); os.write(fd, b"e"); os.close(fd)
print(os.path.getsize("sparse"), os.access("sparse", os.W_OK), os.stat("sparse").st_nlink)
os.utime("sparse", (1, 2)); print(os.stat("sparse").st_mtime); os.truncate("sparse", 10); print(os.path.getsize("sparse"))
try: os.rmdir("nothere")
except OSError as e: print(e.errno, e.strerror)
try: os.mkdir(".")
except OSError as e: print(e.errno)
print(os.getcwd() == os.environ.get("PWD", os.getcwd()), os.path.expanduser("~"), os.umask(0o22))
EOF
"""),
    _c("python3_sockets_signals", r"""
python3 - <<'EOF'
import socket, select, signal, time, os, selectors
a, b = socket.socketpair(); a.sendall(b"ping"); print(b.recv(10))
r, _, _ = select.select([b], [], [], 0.1); print("ready" if r else "not ready")
a.sendall(b"x"); print(select.select([b], [], [], 1)[0] == [b]); b.recv(1)
p = select.poll(); p.register(b, select.POLLIN); print(p.poll(50))
e = select.epoll(); e.register(b.fileno(), select.EPOLLIN); a.sendall(b"y"); print(len(e.poll(1)))
s = selectors.DefaultSelector(); s.register(b, selectors.EVENT_READ); print(len(s.select(1)))
def h(sig, frame): print("alarm", sig)
signal.signal(signal.SIGALRM, h); signal.alarm(1); time.sleep(2); print("after sleep")
signal.setitimer(signal.ITIMER_REAL, 0.05); signal.pause(); print("paused")
r, w = os.pipe(); os.set_blocking(w, False); signal.set_wakeup_fd(w); os.kill(os.getpid(), signal.SIGALRM); print(len(os.read(r, 10)))
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(); c = socket.create_connection(srv.getsockname())
conn, _ = srv.accept(); c.sendall(b"tcp"); print(conn.recv(3)); c.close(); print(conn.recv(3))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); u.sendto(b"u", u.getsockname()); print(u.recvfrom(5)[0])
print(socket.gethostbyname("localhost")); c2 = socket.socket(); c2.settimeout(1)
try: c2.connect(("127.0.0.1", 1))
except ConnectionRefusedError: print("refused")
try: socket.create_connection(("192.0.2.1", 80), timeout=1)
except OSError as err: print("no network:", type(err).__name__)
EOF
""", note="policy: no host network by default (ENETUNREACH instead of a timeout)"),
    _c("python3_stdlib", r"""
python3 - <<'EOF'
import json, sqlite3, zlib, gzip, hashlib, datetime, decimal, re, random, csv, io, struct, locale, time, uuid
print(json.dumps({"a": [1, 2.5, None, True]}, sort_keys=True), json.loads('{"x": "\\u00e9"}'))
c = sqlite3.connect("db"); c.execute("create table t(x)"); c.executemany("insert into t values (?)", [(i,) for i in range(100)]); c.commit()
print(c.execute("select sum(x), count(*) from t").fetchone(), sqlite3.sqlite_version_info >= (3, 0))
data = b"hello " * 1000; z = zlib.compress(data, 9); print(len(z), zlib.decompress(z) == data, zlib.crc32(data))
gzip.open("f.gz", "wb").write(data); print(gzip.open("f.gz").read() == data)
print(hashlib.sha256(data).hexdigest()[:16], hashlib.md5(data).hexdigest()[:16], hashlib.blake2b(data).hexdigest()[:16])
print(datetime.datetime.fromtimestamp(0, datetime.timezone.utc).isoformat(), decimal.Decimal("1.1") + decimal.Decimal("2.2"))
random.seed(1); print(random.random(), re.sub(r"(\w)(\w*)", r"\2\1", "hello world"))
w = io.StringIO(); csv.writer(w).writerow(["a", "b,c"]); print(w.getvalue().strip(), struct.pack("<I", 1))
print(time.strftime("%Y", time.gmtime(0)), len(str(uuid.uuid4())), time.monotonic() > 0)
import ssl, ctypes, ctypes.util; print(ssl.OPENSSL_VERSION.split()[0], ctypes.CDLL(ctypes.util.find_library("c")).abs(-3))
EOF
"""),
    # --- tools -----------------------------------------------------------------------
    _c("sqlite3_cli", r"""
sqlite3 db "create table t(x integer primary key, y text); insert into t(y) values ('a'),('b'),('c');"
sqlite3 db 'select count(*), group_concat(y) from t;'; sqlite3 -header -column db 'select * from t limit 2;'
sqlite3 db 'pragma journal_mode=wal; insert into t(y) values ("d");'; sqlite3 db 'select max(x) from t;'
sqlite3 -json db 'select * from t where x = 1;'; printf '.mode csv\n.import /dev/stdin u\nselect * from u;\n' | sqlite3 db2 2>&1
sqlite3 db 'select * from nope;' 2>&1; echo "status $?"; sqlite3 db .dump | head -3; ls | sort
""", needs=("sqlite3",)),
    _c("make", r"""
printf 'int x;\n' > a.in; printf 'int y;\n' > b.in
cat > Makefile <<'EOF'
OBJS = a.out b.out c.out d.out
all: $(OBJS)
	@cat $(OBJS) | sort > all.txt; echo built $(words $(OBJS))
%.out: %.in
	@sleep 0.2; tr a-z A-Z < $< > $@
c.in d.in:
	@echo gen $@ > $@
clean:
	rm -f *.out all.txt
.PHONY: all clean
EOF
make -j2; cat all.txt; make; make -s clean; make -j2 -s; make nope 2>&1; echo "status $?"; make -n clean
"""),
    _c("git", r"""
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
git init -q -b main repo && cd repo && git config user.email a@b.c && git config user.name Sweep
printf 'one\ntwo\n' > f && git add f && git commit -q -m first && echo three >> f
git diff; git status --short; git commit -qam second; git log --oneline; git branch topic
git checkout -q topic && echo new > g && git add g && git commit -qm third && git checkout -q main
git merge -q --no-edit topic && git log --format='%s %an' | head -3; git branch -a; git status
git stash list; git rev-list --count HEAD; git show --stat HEAD~1 | tail -2; git gc -q && echo gc-ok
git log -p -1 | tail -3; git grep -n three; git tag v1 && git describe; git fsck 2>&1 | head -2
""", needs=("git",)),
    _c("gcc_hello", r"""
cat > hello.c <<'EOF'
#include <stdio.h>
#include <math.h>
int main(int argc, char **argv) { printf("hello %d %.3f\n", argc, sqrt(2.0)); return 3; }
EOF
gcc -O2 -Wall -o hello hello.c -lm && ./hello a b; echo "status $?"
gcc -c hello.c -o hello.o && gcc hello.o -o hello2 -lm && ./hello2; echo "status $?"
gcc -static -o hs hello.c -lm && ./hs; echo "static $?"; echo 'int main(){ return x; }' > bad.c; gcc bad.c 2>&1 | grep -c error
printf '#include <pthread.h>\nvoid *f(void *a){return a;}\nint main(){pthread_t t; pthread_create(&t,0,f,0); return pthread_join(t,0);}\n' > t.c
gcc -pthread t.c -o t && ./t && echo threads-ok; gcc -E - </dev/null | wc -l > /dev/null && echo cpp-ok
""", needs=("gcc",)),
    # --- misc everyday things -------------------------------------------------------
    _c("proc_dev", r"""
cat /proc/self/status | grep -c '^Pid:'; readlink /proc/self/exe; ls /proc/self/fd | wc -l
head -c 16 /dev/urandom | wc -c; echo x > /dev/null; cat /dev/null; ls -l /dev/null | cut -c1
grep -c processor /proc/cpuinfo | grep -c .; test -r /proc/meminfo && echo meminfo; echo x > /dev/full; echo "full $?"
""", masks=((r"write error.*", "write error"),)),
    _c("dots_stdin", r"""
mkdir . 2>&1; mkdir .. 2>&1; mkdir -p ./. && echo mkdir-p-ok; ln -s x . 2>&1; mv . x 2>&1; rmdir . 2>&1
echo piped | cat /dev/stdin; echo piped | cat - /dev/fd/0; echo x | stat -L -c %F /dev/stdin
echo y | wc -c /dev/stdin | cut -c1-2; echo sorted | sort /dev/stdin -o out; cat out
echo z | (exec 5<&0; cat /dev/fd/5); cat /dev/stdin < /etc/hostname > /dev/null && echo file-ok
"""),
    _c("more_coreutils", r"""
printf 'a\nb\nc\n' > x; printf 'b\nc\nd\n' > y; comm x y; comm -12 x y; numfmt --to=iec 1048576 123456789
seq 1 10 | pr -2 -t; printf 'a b\nb c\n' | tsort; truncate -s 1M t; stat -c %s t; truncate -s -512K t; stat -c %s t
fallocate -l 64K fa 2>&1; stat -c %s fa; shred -n 1 -u fa && echo shredded; xxd -l 8 /etc/os-release | cut -c1-30
stdbuf -oL echo buffered; nice -n 5 nice; env -S 'echo split args'; printf 'x' | iconv -f latin1 -t utf-16le | od -An -tx1
yes | head -c 7; echo; ln -rs x sub-link 2>&1; ls -l sub-link | awk '{print $NF}'; sync && echo synced; tty; echo "tty $?"
"""),
    _c("perms_tree", r"""
mkdir -p t/a/b; touch t/a/f t/a/b/g; chmod -R go-rwx t; stat -c '%n %a' t t/a t/a/f t/a/b/g
chmod -R u=rwX,g=rX t; find t -printf '%p %m %u %g\n' | sort; chown -R nobody:nogroup t; stat -c '%U %G' t/a/b/g
chgrp -R root t && stat -c '%G' t/a/f; chmod 4755 t/a/f; stat -c %A t/a/f; chmod g+s t/a; stat -c %A t/a; chmod +t t; stat -c %A t
ln -s a t/l; touch -h -d @100 t/l; stat -c %Y t/l; chown -h nobody t/l; stat -c %U t/l; umask 077; touch u; stat -c %a u
cp -al t t2 && stat -c %h t2/a/f; rm -rf t t2 && echo removed
"""),
    _c("mv_across_mounts", r"""
mkdir -p /tmp/mvsrc/sub; echo data > /tmp/mvsrc/sub/f; ln -s f /tmp/mvsrc/sub/l; touch -d @1000000 /tmp/mvsrc/sub/f
mv /tmp/mvsrc moved && find moved | sort && stat -c '%n %Y' moved/sub/f && readlink moved/sub/l; ls /tmp/mvsrc 2>&1
mv moved/sub/f /tmp/back && cat /tmp/back; cp -a moved /tmp/cpa && ls -la /tmp/cpa/sub | awk '{print $1, $NF}' | tail -n +4
rm -rf /tmp/cpa /tmp/back
"""),
    _c("procps_more", r"""
ps -o pid,user,tty,stat,cmd -p $$ | awk '{print $2, $3, $5, $6, $7}'; ps -o rss=,vsz= -p $$ | awk '{print ($1 > 0), ($2 > 0)}'
sleep 3 & p=$!; kill -STOP $p; sleep 0.2; ps -o stat= -p $p | cut -c1; kill -CONT $p; sleep 0.2; ps -o stat= -p $p | cut -c1; kill $p
setsid sh -c 'ps -o sid=,pid= -p $$ | awk "{print (\$1 == \$2)}"'; pstree -p $$ 2>/dev/null | head -1 | cut -c1-2
who | wc -l; w -h | wc -l; lscpu | grep -c '^Architecture'; vmstat 1 2 | wc -l; prlimit --pid $$ --nofile | tail -1 | awk '{print $1}'
taskset -p $$ | cut -d: -f1 | sed 's/[0-9]*//g'; chrt -p $$ | head -1 | sed 's/[0-9]*//g'
ionice -c3 echo idle; ionice -c2 -n7 -p $$ && ionice -p $$
""", note="policy: no /sys in the guest (lscpu: 'failed to determine number of CPUs')"),
    _c("terminal_tools", r"""
script -qc 'tty | cut -c1-8; stty size; echo in-pty' /dev/null | tr -d '\r'; tput -T xterm cols; TERM=xterm tput bold | od -An -c
stty -a 2>&1 | head -1; echo "stty $?"; printf 'x\n' | script -qc 'read l; echo got $l' /dev/null | tr -d '\r' | tail -1
""", needs=("script",)),
    _c("xattr_acl", r"""
touch f; setfattr -n user.k -v val f 2>&1; getfattr -d f 2>&1; echo "status $?"
python3 -c 'import os; os.setxattr("f", "user.p", b"v"); print(os.listxattr("f"), os.getxattr("f", "user.p"))' 2>&1 | tail -1
setfacl -m u:nobody:r f 2>&1; getfacl -c f 2>&1; stat -c '%C' f 2>&1
""", note="limitation: no extended attributes (EOPNOTSUPP) on any file system; stat's %C"
        " (security.selinux) says EOPNOTSUPP where Linux says ENODATA"),
    _c("mounts_info", r"""
mount | grep -c ' / '; findmnt -n -o TARGET /; grep -c . /proc/mounts | awk '{print ($1 > 0)}'
stat -f -c %T /proc /dev; df -a >/dev/null; echo "df -a $?"; lsblk 2>&1 | head -1 | cut -c1-4
getconf LINK_MAX .
""", note="policy: no /sys (lsblk); /dev is CloudOS's devfs, not devtmpfs, and a --mount'ed"
        " directory hostfs, not the host's file system (statfs magic: glibc's LINK_MAX is 127)"),
    _c("pipes_redir", r"""
seq 1 100000 | sort -rn | head -1; yes | head -c 1000000 | wc -c; cat /etc/os-release | tee c | wc -l
{ echo a; echo b >&2; } 2>&1 >/dev/null | cat; exec 3<&0; (exec 4>f4; echo hi >&4); cat f4
mkfifo p; (echo via fifo > p &); cat p; seq 1 3 | (read a; echo "first $a"; cat)
echo "$(yes abc | head -c 70000 | wc -c)"; true | false | true; echo "pipe $?"
"""),
    _c("lsof_strace", r"""
lsof -p $$ 2>/dev/null | head -1 | awk '{print $1, $2}'
strace -f -e trace=none sh -c 'exit 4' 2>&1 | tail -1
""", needs=("lsof", "strace")),
    _c("busybox", r"""
busybox echo hi; busybox seq 3 | busybox wc -l; busybox ls -1 /etc/os-release; busybox sh -c 'echo $((2+2))'
busybox tar cf - /etc/os-release 2>/dev/null | busybox tar tf -; busybox sha256sum /etc/os-release | cut -c1-10
""", needs=("busybox",)),
    _c("locale_tz", r"""
TZ=Asia/Tokyo date -d @0 '+%F %T %Z'; LC_ALL=C.UTF-8 printf '%s\n' 'héllo' | wc -m; locale 2>&1 | head -2
echo 'ça' | LC_ALL=C.UTF-8 tr '[:lower:]' '[:upper:]'; cal 1 2000 2>/dev/null | head -2
""", note="policy: CloudOS sets LANG=C.UTF-8 when the host passes no LANG (cli.py)"),
    _c("users_perm", r"""
echo x > f; chmod 000 f; cat f > /dev/null && echo root-reads; chmod 755 f; chown nobody f; stat -c %U f
su nobody -s /bin/sh -c 'id -un; cat f > /dev/null && echo nobody-reads; touch g' 2>&1; echo "su $?"
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'id -u; echo > h' 2>&1; echo "setpriv $?"
""", note="noise: su needs PAM configured"),
    _c("large_output", r"""
seq 1 300000 | awk '{s += $1} END {print s}'; head -c 5000000 /dev/zero | gzip -1 | wc -c
find /usr/share/doc -maxdepth 1 | wc -l | awk '{print ($1 > 10)}'; ls -R /etc > /dev/null 2>&1; echo "ls -R $?"
"""),
    # --- more everyday command lines ------------------------------------------------
    _c("zip_unzip", r"""
mkdir -p src/sub; echo a > src/a; seq 1 2000 > src/sub/b; ln -s a src/l; touch -d @1000000000 src/a src/sub/b
zip -qr -X x.zip src; unzip -l x.zip | awk 'NR>3 && NF==4 {print $1, $NF}' | sort; unzip -q x.zip -d out; diff -r src out/src && echo same
zip -qry y.zip src; unzip -qo y.zip -d out2; readlink out2/src/l; unzip -p x.zip src/a; unzip -tq x.zip
echo more > src/c; zip -qu x.zip src/c; zipinfo -1 x.zip | sort | tail -2; unzip -qq nothere.zip 2>&1; echo "status $?"
""", needs=("zip", "unzip")),
    _c("flock", r"""
touch f; flock f -c 'echo locked'; flock -s f true && echo shared
flock f sleep 1 & sleep 0.4; flock -n f true; echo "busy $?"; flock -w 0.1 f true; echo "wait $?"; flock -E 7 -n f true; echo "E $?"
wait; flock -n f true && echo free
exec 9>g; flock 9 && echo fd-locked; (flock -n 9 && echo "child shares the lock"); flock -n g true; echo "other fd $?"; flock -u 9; flock -n g true && echo unlocked
flock -o f sh -c 'flock -n f true; echo "inner $?"'; flock f sh -c 'flock -n f true; echo "held fd inherited $?"'
""", needs=("flock",)),
    _c("stat_formats", r"""
printf 12345 > f; mkdir d; ln -s f l; touch -d @1500000000 f; ln f h
stat -c '%s %h %a %f %F %N' f l; stat -c '%i' f | grep -c '^[0-9]*$'; [ "$(stat -c %i f)" = "$(stat -c %i h)" ] && echo same-inode
stat -c '%z' f | cut -c1-4; stat -c '%X %Y %x' f; stat -c '%B' f; stat -c '%b' d | awk '{print ($1 > 0)}'
stat -c '%t %T %F' /dev/null /dev/zero; stat -t f | wc -w; stat --format='%n: %U/%u %G/%g' f
stat -f -c '%l' .
"""),
    _c("touch_times", r"""
touch -d @1000 f; touch -a -d @2000 f; stat -c '%X %Y' f; touch -m -d @3000 f; stat -c '%X %Y' f
touch -c nothere; ls nothere 2>&1; echo "status $?"; touch -d '2020-01-02 03:04:05.123456789' g; stat -c '%y' g
mkdir d; touch -d @42 d; stat -c %Y d; ln -s f l; touch -h -d @77 l; stat -c '%Y' l f; touch -d @-1 f; stat -c %Y f
python3 -c 'import os, time; os.utime("f", ns=(5, 123456789)); s = os.stat("f"); print(s.st_atime_ns, s.st_mtime_ns); os.utime("f"); print(abs(os.stat("f").st_mtime - time.time()) < 5)'
python3 -c 'import os; os.utime("f", ns=(7, 8)); os.utime("f", ns=(9, 10), follow_symlinks=False); fd = os.open("f", os.O_RDONLY); os.utime(fd, ns=(11, 12)); print(os.stat("f").st_mtime_ns)'
"""),
    _c("umask_modes", r"""
umask; umask -S; umask 027; touch f; mkdir d; mkfifo p; stat -c '%n %a' f d p; umask 0; touch g; stat -c %a g
mkdir -m 1777 s; stat -c %a s; umask 077; mkdir -p a/b/c; stat -c '%n %a' a a/b a/b/c; install -d x; stat -c %a x
umask 022; (umask 0777; touch z); stat -c %a z; sh -c umask; python3 -c 'import os; print(oct(os.umask(0)))'
grep -i umask /proc/self/status; umask 002; python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("sock")'; stat -c '%a %F' sock
"""),
    _c("ln_cp_backup", r"""
mkdir -p a/b; echo x > a/b/f; ln -sr a/b/f a/rel; readlink a/rel; cat a/rel; ln -sr a/b a/b2; readlink a/b2
echo 1 > t; echo 2 > u; ln -sfn t u; readlink u; mkdir dd; ln -sT t dd 2>&1; echo "status $?"
echo old > o; echo new > n; cp --backup=numbered n o; cp --backup=numbered n o; ls o*; cat o.~1~
mv -b n o; ls o* n 2>&1 | sort; cp -n o.~2~ o; cat o; cp -u o.~1~ o; cat o
cp -l o hl; stat -c %h o; cp -s o sl 2>&1; readlink sl; mkdir dest; cp --parents a/b/f dest; find dest | sort
"""),
    _c("dd_conv", r"""
printf 'abc' > s; dd if=s of=p bs=8 conv=sync status=none; od -An -c p
printf 'LINE\n' | dd conv=lcase,swab status=none | od -An -c
seq 1 1000 > n; dd if=n iflag=skip_bytes,count_bytes skip=10 count=7 status=none; echo
dd if=n of=o bs=100 count=2 status=none; dd if=n of=o bs=100 count=1 oflag=append conv=notrunc status=none; stat -c %s o
dd if=/dev/zero of=sp bs=1k count=64 conv=sparse status=none; stat -c %s sp; dd if=n of=t bs=1 count=3 seek=1M status=none; stat -c %s t
(printf ab; sleep 0.2; printf cd) | dd bs=4 count=1 iflag=fullblock status=none; echo
dd if=n bs=512 count=1 status=noxfer 2>&1 >/dev/null; dd if=nothere 2>&1; echo "status $?"
dd if=n of=o2 bs=100 count=1 oflag=sync,dsync conv=fsync,fdatasync status=none; echo "sync $?"
"""),
    _c("hexdump_base32", r"""
printf 'hello world\000\001\377' > b; hexdump -C b; hexdump -e '4/1 "%02x " "\n"' b; xxd b; xxd -p b | xxd -r -p | cmp - b && echo rev
xxd -i b | head -2; od -A x -t x1z -v b; od -t o2 -j 2 -N 6 b
base32 b; base32 b | base32 -d | cmp - b && echo b32; basenc --base16 b; echo; basenc --base64url b
"""),
    _c("md5sum_check", r"""
echo a > a; echo b > b; md5sum a b > sums; md5sum -c sums; md5sum -c --quiet sums; echo "quiet $?"
echo c > b; md5sum -c sums 2>&1; echo "status $?"; md5sum --status -c sums; echo "--status $?"
rm b; md5sum -c sums 2>&1; echo "missing $?"; md5sum -c --ignore-missing sums 2>&1; echo "ignore $?"
printf 'bad line\n' > bad; md5sum -c bad 2>&1; echo "bad $?"; md5sum --tag a; sha256sum -z a | tr '\0' '\n'; cat a | md5sum -
"""),
    _c("text_tools", r"""
printf 'name age\nalice 30\nbob 4\n' | column -t; echo hello | rev; printf 'apple\nbanana\napricot\n' | sort > w; look ap w
echo 'scale=10; 4*a(1)' | bc -l; echo '2^100' | bc; echo '{"a":[1,2,{"b":null}]}' | jq -c '.a[2], (.a|length)'
jq -n '[range(5)] | map(. * 2) | add'; echo '[3,1,2]' | jq -c 'sort'; jq . nothere 2>&1; echo "jq $?"
sdiff <(printf 'a\nb\n') <(printf 'a\nc\n'); echo "sdiff $?"; diff3 <(echo 1) <(echo 2) <(echo 3); echo "diff3 $?"
""", shell="/bin/bash", needs=("jq", "bc", "column")),
    _c("sort_more", r"""
printf 'b,2\na,10\nc,1\n' > f; sort -t, -k2,2n f; sort -t, -k2,2 f; printf '1K\n2M\n3\n' | sort -h; printf 'v1.10\nv1.9\n' | sort -V
seq 1 200000 | shuf --random-source=/dev/zero > big; sort -n -S 100K --parallel=2 -T . big | md5sum; sort -m <(seq 1 2 9) <(seq 2 2 10) | tr '\n' ' '; echo
sort --compress-program=gzip -S 64K -T . -n big | tail -1; printf 'b\na\nB\n' | sort -s -f -u; sort -n big -o big; sort -C -n big; echo "C $?"; ls
""", shell="/bin/bash"),
    _c("xargs_more", r"""
seq 1 5 | xargs -P 3 -I{} sh -c 'sleep 0.$((6 - {})); echo {}' | sort; echo 1 2 | xargs sh -c 'exit 1'; echo "x1 $?"
echo a | xargs sh -c 'exit 255' 2>&1; echo "x255 $?"; echo a | xargs sh -c 'kill -TERM $$' 2>&1; echo "sig $?"; echo a | xargs nothere 2>&1; echo "notfound $?"
printf '1\n2\n3\n' > list; xargs -a list -n 2 echo; seq 1 4 | xargs -P 2 --process-slot-var=SLOT -n 1 sh -c 'sleep 0.2; echo $SLOT' | sort -u | wc -l
seq 1 3 | xargs -t -n1 true 2>&1; printf 'a b\n' | xargs -d ' ' -n1 echo; printf 'x y\nz\n' | xargs -L 1 echo
"""),
    _c("sh_trap", r"""
trap 'echo exit trap' EXIT; trap 'echo hup' HUP; kill -HUP $$; trap; trap - HUP
(trap 'echo sub exit' EXIT; exit 3); echo "sub $?"; sh -c 'trap "echo int; exit 4" INT; kill -INT $$; sleep 1'; echo "int $?"
sh -c 'trap "" TERM; kill -TERM $$; echo survived'; sh -c 'kill -TERM $$; echo never'; echo "term $?"
sh -c 'trap "echo child-usr1" USR1; sleep 2 & wait; echo "waited $?"; kill $!' & c=$!; sleep 0.8; kill -USR1 $c; wait $c; echo "c $?"
sh -c 'kill -PIPE $$'; echo "pipe $?"; sh -c 'kill -SEGV $$' 2>&1; echo "segv $?"; sh -c 'kill -ABRT $$' 2>&1; echo "abrt $?"
sh -c 'trap "echo in-handler" USR2; kill -USR2 $$; exit 9'; echo "usr2 $?"
"""),
    _c("bash_more", r"""
printf '%(%Y-%m-%d)T\n' 0; exec 3<> f; echo hi >&3; exec 3>&-; cat f; read -N 3 x <<< abcdef; echo $x
( sleep 0.4; exit 4 ) & ( sleep 0.1; exit 6 ) & wait -n -p who; echo "first $? $((who > 0))"; wait
mapfile -d , arr <<< 'a,b,c'; echo ${#arr[@]}; compgen -b | grep -c '^cd$'; echo "$(( $(date +%s) - EPOCHSECONDS < 5 ))"
ulimit -c; ulimit -v; ulimit -f; set -m; sleep 0.1 & jobs | wc -l; wait; echo "${PIPESTATUS[@]}"; true | false | true; echo "${PIPESTATUS[@]}"
exec -a fakename sh -c 'echo $0'; echo unreached
""", shell="/bin/bash"),
    _c("bash_dev_tcp", r"""
python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
with open("port.tmp", "w") as f: f.write(str(s.getsockname()[1]))
__import__("os").rename("port.tmp", "port"); c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()' &
while [ ! -e port ]; do sleep 0.05; done; exec 3<>/dev/tcp/127.0.0.1/$(cat port); echo hello >&3; cat <&3; exec 3>&-; wait
echo > /dev/tcp/127.0.0.1/1; echo "refused $?"; exec 4<>/dev/udp/127.0.0.1/9; echo "udp $?"
""", shell="/bin/bash"),
    _c("http_curl_wget", r"""
mkdir www; echo 'hello web' > www/index.txt
python3 -c '
import http.server, functools, os
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory="www")
h.func.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
with open("port.tmp", "w") as f: f.write(str(s.server_port))
os.rename("port.tmp", "port"); s.serve_forever()' & srv=$!
while [ ! -e port ]; do sleep 0.05; done; p=$(cat port)
curl -s http://127.0.0.1:$p/index.txt; curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$p/nope
wget -q -O - http://127.0.0.1:$p/index.txt; curl -sI http://127.0.0.1:$p/index.txt | head -1 | tr -d '\r'
curl -s file://$PWD/www/index.txt; curl -s http://127.0.0.1:1/; echo "curl refused $?"; kill $srv; wait $srv; echo "server $?"
""", needs=("curl", "wget")),
    _c("openssl", r"""
echo secret > m; openssl dgst -sha256 m | sed 's/.*= //'; openssl enc -aes-256-cbc -pbkdf2 -pass pass:x -in m | openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:x
openssl rand -hex 8 | wc -c; openssl genpkey -algorithm ed25519 -out k.pem; openssl pkey -in k.pem -pubout | head -1
openssl req -new -x509 -key k.pem -subj /CN=test -days 1 -out c.pem; openssl x509 -in c.pem -noout -subject
openssl s_server -quiet -naccept 1 -key k.pem -cert c.pem -accept 127.0.0.1:48443 > got & sleep 1
echo over-tls | openssl s_client -quiet -connect 127.0.0.1:48443 2>/dev/null; wait; cat got
""", needs=("openssl",)),
    _c("node", r"""
node -e 'console.log([1,2,3].map(x => x * 2).join(","), process.platform, require("os").cpus().length > 0)'
node -e 'const fs = require("fs"); fs.writeFileSync("f", "data"); console.log(fs.readFileSync("f", "utf8"), fs.statSync("f").size); fs.promises.readdir(".").then(l => console.log(l))'
node -e 'const cp = require("child_process"); console.log(cp.execSync("echo from-child").toString().trim()); cp.exec("exit 3", (e) => console.log("code", e.code))'
node -e 'const net = require("net"); const s = net.createServer(c => { c.end("pong\n"); s.close() }).listen(0, "127.0.0.1", () => { net.connect(s.address().port, "127.0.0.1").on("data", d => process.stdout.write(d)) })'
node -e 'const { Worker } = require("worker_threads"); new Worker("require(\"worker_threads\").parentPort.postMessage(6 * 7)", { eval: true }).on("message", m => console.log("worker", m))'
node -e 'setTimeout(() => console.log("timer"), 20); Promise.resolve().then(() => console.log("micro")); process.on("exit", c => console.log("exit", c))'
""", needs=("node",)),
    _c("gcc_shared_cxx", r"""
printf 'int twice(int x) { return 2 * x; }\n' > lib.c; gcc -shared -fPIC -o libtw.so lib.c
printf '#include <stdio.h>\nint twice(int);\nint main(void) { printf("%%d\\n", twice(21)); return 0; }\n' > m.c
gcc m.c -L. -ltw -o m && LD_LIBRARY_PATH=. ./m; LD_LIBRARY_PATH=. ldd ./m | grep -c libtw; ./m; echo "without path $?"
printf '#include <dlfcn.h>\n#include <stdio.h>\nint main(void){ void *h = dlopen("./libtw.so", RTLD_NOW); int (*f)(int) = dlsym(h, "twice"); printf("dl %%d\\n", f(5)); return dlclose(h); }\n' > d.c; gcc d.c -o d -ldl && ./d
nm libtw.so | grep -c ' T twice'; readelf -h m | grep Type | awk '{print $2}'; gcc -c lib.c && ar rcs libtw.a lib.o && ar t libtw.a; strip m && ./m
g++ -O1 -pthread -x c++ - -o cpp <<'EOF' && ./cpp
#include <iostream>
#include <thread>
#include <stdexcept>
int main() { int n = 0; std::thread t([&] { n = 42; }); t.join(); try { throw std::runtime_error("boom"); } catch (const std::exception &e) { std::cout << e.what() << " " << n << std::endl; } }
EOF
""", needs=("gcc", "g++")),
    _c("gcc_asan_gdb", r"""
printf 'int main(void) { int a[4]; volatile int i = 4; return a[i]; }\n' > oob.c; gcc -fsanitize=address -g oob.c -o oob && ./oob 2>&1 | grep -o 'stack-buffer-overflow' | head -1
printf 'int f(int x) { return x + 1; }\nint main(void) { return f(41) - 42; }\n' > g.c; gcc -g -O0 g.c -o g
gdb -q -batch -ex 'break f' -ex run -ex 'print x' -ex bt -ex continue ./g 2>&1 | grep -E '^\$1|^#0|exited' | sed 's/0x[0-9a-f]*/ADDR/g'
""", needs=("gcc", "gdb"), masks=((r"process \d+", "process PID"),)),
    _c("python3_os_calls", r"""
python3 - <<'EOF'
import os, mmap, resource, shutil, signal
r, w = os.pipe2(os.O_CLOEXEC); print(os.get_inheritable(r), os.get_blocking(w))
with open("src", "wb") as f: f.write(b"x" * 100000)
shutil.copyfile("src", "dst"); print(os.path.getsize("dst"), open("dst", "rb").read() == open("src", "rb").read())
fi, fo = os.open("src", os.O_RDONLY), os.open("sf", os.O_WRONLY | os.O_CREAT, 0o644); print(os.sendfile(fo, fi, 0, 5000)); os.close(fo)
fo = os.open("cfr", os.O_WRONLY | os.O_CREAT, 0o644); print(os.copy_file_range(fi, fo, 777, 10)); os.close(fo)
print(os.posix_spawn("/bin/sh", ["sh", "-c", "exit 3"], os.environ) > 0, os.wait()[1] >> 8)
m = mmap.mmap(-1, 4096); m[:5] = b"hello"; print(m[:5]); fd = os.memfd_create("x"); os.write(fd, b"memfd"); print(os.pread(fd, 5, 0))
print(os.statvfs(".").f_namemax, resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 0, len(os.sched_getaffinity(0)) > 0)
efd = os.eventfd(0); os.eventfd_write(efd, 3); print(os.eventfd_read(efd))
print(os.getpriority(os.PRIO_PROCESS, 0), os.getgroups()[:1], type(os.getloadavg()).__name__)
try: os.get_terminal_size()
except OSError as e: print("no tty", e.errno)
fd = os.open("/tmp", os.O_TMPFILE | os.O_WRONLY, 0o600); os.write(fd, b"tmp"); import ctypes; name = f"/tmp/linked-{os.getpid()}"
print(ctypes.CDLL(None).linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, name.encode(), 0x400), open(name).read()); os.unlink(name); os.symlink(name, "linked")
os.mkfifo("ff"); os.truncate("src", 3); print(os.path.getsize("src"), sorted(os.listdir(".")))
with open("mm", "w+b") as f:
    f.truncate(8192); mm = mmap.mmap(f.fileno(), 8192); mm[4096:4099] = b"abc"; mm.flush(); mm.close()
print(open("mm", "rb").read()[4096:4099], os.readlink("/proc/self/cwd") == os.getcwd())
EOF
"""),
    _c("o_tmpfile_here", r"""
python3 -c 'import os; fd = os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o600); os.write(fd, b"x"); print("unnamed file here")' 2>&1 | tail -1
""", note="limitation: O_TMPFILE on tmpfs and the overlay only; a --mount'ed host directory says EOPNOTSUPP"),
    _c("python3_asyncio_http", r"""
python3 - <<'EOF'
import asyncio
async def handle(r, w):
    w.write((await r.readline()).upper()); await w.drain(); w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0); port = srv.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port); w.write(b"hi\n"); print(await r.readline()); w.close()
    p = await asyncio.create_subprocess_exec("sh", "-c", "echo sub; exit 2", stdout=asyncio.subprocess.PIPE)
    print(await p.stdout.read(), await p.wait())
    print(await asyncio.gather(*(asyncio.sleep(0.01 * i, result=i) for i in range(5))))
    try: await asyncio.wait_for(asyncio.sleep(5), 0.1)
    except asyncio.TimeoutError: print("timed out")
    print(await asyncio.to_thread(sum, range(10)))
    srv.close(); await srv.wait_closed()
asyncio.run(main())
import urllib.request, http.server, threading
s = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
s.RequestHandlerClass.log_message = lambda *a: None
threading.Thread(target=s.serve_forever, daemon=True).start()
open("page", "w").write("served\n")
print(urllib.request.urlopen(f"http://127.0.0.1:{s.server_port}/page").read())
EOF
"""),
    _c("perl_more", r"""
perl -MIO::Socket::UNIX -e 'my $s = IO::Socket::UNIX->new(Local => "sock", Listen => 1) or die $!; if (!fork) { my $c = IO::Socket::UNIX->new(Peer => "sock") or die $!; print $c "unix hi\n"; exit } my $c = $s->accept; print scalar <$c>; wait; print -S "sock" ? "socket file\n" : "none\n"'
perl -e 'use Fcntl qw(:flock); open my $f, ">", "lk"; flock($f, LOCK_EX) or die; print "locked\n"; if (!fork) { open my $g, ">>", "lk"; print flock($g, LOCK_EX|LOCK_NB) ? "got\n" : "busy\n"; exit } wait'
perl -e 'pipe my $r, my $w; my $rin = ""; vec($rin, fileno($r), 1) = 1; print scalar(select(my $rout = $rin, undef, undef, 0.1)), "\n"; syswrite $w, "x"; print scalar(select($rout = $rin, undef, undef, 1)), "\n"'
perl -e 'my $pid = open(my $k, "-|") // die; if (!$pid) { print "from kid\n"; exit 3 } print <$k>; close $k; print $? >> 8, "\n"; open my $o, "|-", "tr a-z A-Z" or die; print $o "to kid\n"; close $o'
perl -le 'print scalar gmtime 0; printf "%.3f\n", 1e3 ** 0.5; print crypt("pw", "ab"); $SIG{CHLD} = sub { print "chld" }; if (!fork) { exit } sleep 1; print "end"'
perl -MPOSIX=setsid,dup2,:sys_wait_h -e 'my $p = fork; if (!$p) { setsid(); kill "STOP", $$; exit 5 } waitpid($p, WUNTRACED); print WIFSTOPPED(${^CHILD_ERROR_NATIVE}) ? "stopped\n" : "?\n"; kill "CONT", $p; waitpid($p, 0); print $? >> 8, "\n"'
"""),
    _c("sqlite3_concurrency", r"""
sqlite3 db 'pragma journal_mode=wal; create table t(x);'
for i in 1 2 3 4 5 6; do sqlite3 -cmd '.timeout 20000' db "insert into t values ($i);" & done; wait
sqlite3 db 'select count(*), sum(x) from t; pragma integrity_check;'; ls db* | sort
python3 -c '
import sqlite3
a = sqlite3.connect("db", timeout=0, isolation_level=None); b = sqlite3.connect("db", timeout=0, isolation_level=None)
a.execute("begin immediate")
try: b.execute("begin immediate")
except sqlite3.OperationalError as e: print(e)
a.execute("insert into t values (7)"); a.execute("commit"); print(b.execute("select count(*) from t").fetchone())'
sqlite3 db 'pragma journal_mode=delete;' 'select count(*) from t;'; ls db* | sort
""", needs=("sqlite3",)),
    _c("git_more", r"""
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
git init -q -b main r && cd r && git config user.email a@b.c && git config user.name S && seq 10 > f && git add f && git commit -qm one
cd .. && git clone -q r c && cd c && git config user.email a@b.c && git config user.name S && echo 11 >> f && git commit -qam two && git push -q origin main:topic; cd ../r && git branch | sort
git worktree add -q ../w topic && tail -1 ../w/f; git worktree list | wc -l; git archive --format=tar HEAD | tar tf -
git bundle create -q ../b.bundle main && git clone -q ../b.bundle ../fromb && ls ../fromb; git repack -adq && git count-objects -v | grep packs
git -C ../c pull -q --rebase 2>&1; git -C ../c log --oneline | wc -l; git blame -s f | tail -1 | cut -c10-
""", needs=("git",)),
    _c("make_more", r"""
mkdir sub; printf 'all:\n\t@echo in sub $(MAKELEVEL)\n' > sub/Makefile
cat > Makefile <<'EOF'
X := $(shell echo shelled)
all: r | od
	@echo $(X)
r:
	@$(MAKE) -s -C sub
od:
	@mkdir -p od
fail:
	@false
	@echo not reached
slow%:
	@sleep 0.3; echo $@
EOF
make -s; make -k fail all 2>&1; echo "k $?"; make -j4 -s r od; make -q od; echo "q $?"; make -j3 -s slow1 slow2 slow3 | sort
make -j2 -s -C sub; make -f nothere 2>&1; echo "f $?"
""", needs=("make",)),
    _c("cmake", r"""
mkdir src; printf 'cmake_minimum_required(VERSION 3.10)\nproject(p C)\nadd_executable(hi hi.c)\n' > src/CMakeLists.txt
printf '#include <stdio.h>\nint main(void){puts("cmake built");return 0;}\n' > src/hi.c
cmake -S src -B build > /dev/null && cmake --build build -j2 > /dev/null && ./build/hi
""", needs=("cmake", "gcc")),
    _c("editors", r"""
printf 'one\ntwo\nthree\n' > f; printf '2d\n,s/o/0/g\nw\nq\n' | ed -s f; cat f
ex -s -c '%s/0/O/g' -c 'wq' f; cat f; vi -es -c 'normal Gyyp' -c wq f; cat f
printf 'x\n' | less; printf 'y\n' | more; echo 'puts [expr {6*7}]; puts [file exists f]' | tclsh
""", needs=("ed", "ex", "tclsh")),
    _c("sysv_ipc_tools", r"""
id=$(ipcmk -M 4096 | awk '{print $NF}'); ipcs -m | grep -c " $id "; ipcs -m -i $id | grep -c bytes; ipcrm -m $id; ipcs -m | grep -c " $id "
q=$(ipcmk -Q | awk '{print $NF}'); ipcs -q | grep -c " $q "; ipcrm -q $q; s=$(ipcmk -S 3 | awk '{print $NF}'); ipcs -s -i $s | grep -c semnum; ipcrm -s $s
ipcrm -m 999999 2>&1; echo "status $?"
""", needs=("ipcmk", "ipcs")),
    _c("getconf_locale", r"""
getconf -a | grep -E '^(PAGESIZE|LINE_MAX|PATH_MAX|NAME_MAX|CLK_TCK|_POSIX_VERSION|LONG_BIT|HOST_NAME_MAX|LOGIN_NAME_MAX|PIPE_BUF) '
getconf NAME_MAX .; getconf PATH_MAX /; getconf _POSIX_PIPE_BUF .; getconf OPEN_MAX
locale -a | grep -c -i '^c\.utf'; LC_ALL=C locale charmap; LC_ALL=C.UTF-8 locale charmap; LC_ALL=C locale -k decimal_point
"""),
    _c("nice_renice", r"""
nice; nice -n 5 nice; nice -n 5 nice -n 3 nice; nice -n 50 nice; nice -n -5 nice
sleep 2 & p=$!; renice -n 7 -p $p | sed "s/^$p /P /"; ps -o ni= -p $p; renice -n 3 -p 999999 2>&1; echo "status $?"; kill $p
python3 -c 'import os; print(os.nice(0), os.nice(2), os.getpriority(os.PRIO_PROCESS, 0))'; nohup nice true; echo "nohup $?"
"""),
    _c("fifo_pipelines", r"""
mkfifo a b; seq 1 5 > a & tr 1-5 a-e < a > b & cat b; wait
mkfifo c; exec 3<>c; echo through-rdwr >&3; read l <&3; echo $l; exec 3>&-
mkfifo d; (sleep 0.2; echo late > d) & cat d; seq 1 1000 | tee e1 > d & wc -l < d; wait; wc -l < e1
mkfifo f; timeout 0.3 cat f; echo "open blocks $?"; [ -p f ] && echo is-fifo; timeout 0.3 sh -c 'echo x > f'; echo "write open blocks $?"
mkfifo g; (exec 5<g; sleep 0.3; cat <&5) & exec 6>g; echo first >&6; exec 6>&-; wait; dd if=f iflag=nonblock status=none; echo "nonblock $?"
"""),
    _c("tar_more", r"""
mkdir -p s/d; seq 1000 > s/d/f; touch -d @1000000000 s/d/f
tar -g snap -cf full.tar s; echo y > s/new; tar -g snap -cf inc.tar s; tar -tf inc.tar | sort
tar -rf full.tar s/new; tar -tf full.tar | tail -1; tar --delete -f full.tar s/new; tar -tf full.tar | grep -c new
tar -xf full.tar --to-command='wc -c' s/d/f; tar -cf p.tar --owner=nobody --group=nogroup --mode=600 --mtime=@0 s/d/f; tar -tvf p.tar
mkdir x; tar -xpf p.tar -C x; stat -c '%a %U %Y' x/s/d/f; tar -cf - s | tar -df - && echo no-diff; tar -cf - -C s d | tar -tf - | sort
"""),
]


# --- running ----------------------------------------------------------------------------


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return Outcome(-1, exc.stdout or b"", exc.stderr or b"", TIMEOUT, timed_out=True)
    status = 128 - proc.returncode if proc.returncode < 0 else proc.returncode
    return Outcome(status, proc.stdout, proc.stderr, time.monotonic() - start)


def _fresh(d: Path) -> None:
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)


def run_case(case: Case, root: Path, backend: str | None) -> Row:
    d = root / case.name
    env = dict(ENV, D=str(d))
    row = Row(case)
    _fresh(d)
    argv = [sys.executable, "-m", "cloudos", "run", "--no-cwd", "--mount", f"{d}:rw", "-w", str(d)]
    if backend:
        argv += ["--backend", backend]
    argv += [a for name in env for a in ("-e", name)]
    host_env = dict(env, PYTHONPATH=str(REPO_ROOT))
    row.guest = _run([*argv, "--", case.shell, "-c", case.cmd], REPO_ROOT, host_env)
    _fresh(d)
    row.native = _run([case.shell, "-c", case.cmd], d, env)
    shutil.rmtree(d, ignore_errors=True)
    row.diffs = compare(case, row.native, row.guest)
    return row


def mask(case: Case, data: bytes) -> str:
    text = data.decode(errors="replace")
    for pattern, repl in (*COMMON_MASKS, *case.masks):
        text = re.sub(pattern, repl, text)
    return text


def compare(case: Case, native: Outcome, guest: Outcome) -> list[str]:
    diffs = []
    if guest.timed_out:
        diffs.append(f"cloudos timed out after {TIMEOUT:.0f} s")
    if native.status != guest.status:
        diffs.append(f"status {native.status} != {guest.status}")
    for what in ("out", "err"):
        n, g = mask(case, getattr(native, what)), mask(case, getattr(guest, what))
        if n != g:
            lines = difflib.unified_diff(n.splitlines(), g.splitlines(), "native", "cloudos",
                                         n=0, lineterm="")
            diffs.append(f"std{what}:\n" + "\n".join(list(lines)[2:40]))
    return diffs


def hint(row: Row) -> str:
    if not row.diffs:
        return ""
    if row.case.note:
        return row.case.note
    first = row.diffs[0].splitlines()
    shown = next((line for line in first[1:] if line.startswith("+")), first[0])
    return f"bug? {shown[:70]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="only", action="append", default=[],
                        help="run only the cases whose name contains this (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each difference")
    parser.add_argument("--backend", choices=["unicorn", "kvm"], help="CloudOS's CPU backend")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or any(k in c.name for k in args.only)]
    if args.list:
        print("\n".join(c.name for c in cases))
        return 0
    root = Path(tempfile.mkdtemp(prefix="compat-sweep-", dir="/tmp"))
    counts: dict[str, int] = {}
    print(f"{'case':<24} {'native':>6} {'cloudos':>7} {'secs':>6}  {'':<4}  hint")
    try:
        for case in cases:
            missing = [p for p in case.needs if shutil.which(p, path=ENV["PATH"]) is None]
            if missing:
                print(f"{case.name:<24} skipped: {', '.join(missing)} not installed")
                continue
            row = run_case(case, root, args.backend)
            assert row.native and row.guest
            verdict = "same" if not row.diffs else "DIFF"
            kind = "same" if not row.diffs else hint(row).split(":")[0].split("?")[0]
            counts[kind] = counts.get(kind, 0) + 1
            g_status = "T/O" if row.guest.timed_out else str(row.guest.status)
            print(f"{case.name:<24} {row.native.status:>6} {g_status:>7} "
                  f"{row.guest.seconds:>6.1f}  {verdict:<4}  {hint(row)}", flush=True)
            if args.verbose and row.diffs:
                for diff in row.diffs:
                    print("    " + diff.replace("\n", "\n    "))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
