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
echo hello > f; mkdir d; ln -s f l; mkfifo p; chmod 604 f; touch -d @1234567890 f
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
setfacl -m u:nobody:r f 2>&1; getfacl -c f 2>&1
""", note="limitation: no extended attributes (EOPNOTSUPP) on any file system"),
    _c("mounts_info", r"""
mount | grep -c ' / '; findmnt -n -o TARGET /; grep -c . /proc/mounts | awk '{print ($1 > 0)}'
stat -f -c %T /proc /dev; df -a >/dev/null; echo "df -a $?"; lsblk 2>&1 | head -1 | cut -c1-4
""", note="policy: no /sys (lsblk); /dev is CloudOS's devfs, not devtmpfs (statfs magic)"),
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
