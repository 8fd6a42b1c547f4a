# wakes.awk: the CPU cost of each wake-up of chosen processes, from
#   perf script --ns --show-switch-events -F pid,tid,cpu,time,event,trace
# over a per-process recording (perf record --switch-events -p PIDS) of irq:softirq_entry/exit
# and, optionally, raw_syscalls:sys_enter/exit (see scripts/bench-wake).
#
#   awk -v map=PIDS_FILE -v pass=NAME -v arch="$(uname -m)" -f wakes.awk < perf-script-output
#
# PIDS_FILE has one line per process: "PID LABEL", LABEL one word (bench-wake uses
# round:lab:role:daemon). A wake-up of a thread runs from its switch-in after a sleep to its next
# switch-out that is not a preemption; the first, partial one is skipped, and so is one still
# running when the recording ends. Time spent preempted is not on CPU and is not counted.
# Context switches come from perf's switch records, not from the sched_switch tracepoint: some
# kernels do not trace the switch out of the idle task, which is how most wake-ups start.
# For every wake it prints, in microseconds:
#   LABEL PASS oncpu T        on CPU in total
#   LABEL PASS softirq S      in softirqs run in its context (charged to it, done for anyone)
#   LABEL PASS own T-S        on CPU without those softirqs
#   LABEL PASS preempted P    times it was preempted (and let another task run) before sleeping
# and, when system calls were recorded (softirq time excluded from these):
#   LABEL PASS user U         between system calls
#   LABEL PASS sys K          inside system calls, all together
#   LABEL PASS calls N        system calls that returned in this wake
#   LABEL PASS t.NAME V       inside system call NAME (0 if it made none in this wake)
#   LABEL PASS n.NAME C       calls of NAME that returned in this wake
# where NAME is "other" for the calls the label makes less than once every other wake.
# The call a thread sleeps in (epoll_wait) counts in the wake it returns in; its time is its way
# in (up to the switch-out, in the wake that entered it) plus its way out (in the next one).

# Nanoseconds from perf's "SECONDS.NANOSECONDS:" (exact in a double for any uptime).
function ns(field,   parts) {
  sub(/:$/, "", field)
  split(field, parts, ".")
  return (parts[1] + 0) * 1000000000 + (parts[2] + 0)
}

# On-CPU time of tid up to t, softirqs excluded: a clock that stands still while it is off CPU.
function own_clock(tid, t) {
  if (!on[tid]) return own[tid]
  return own[tid] + (t - seg_start[tid]) - seg_soft[tid]
}

function name_of(nr) {
  if (arch == "x86_64" && (nr in NAMES)) return NAMES[nr]
  return "syscall_" nr
}

# Adds d to the bucket of tid's current wake.
function add(tid, bucket, d) {
  if (!((tid, bucket) in acc)) buckets[tid] = buckets[tid] " " bucket
  acc[tid, bucket] += d
}

function start_wake(tid,   i, n, list) {
  n = split(buckets[tid], list, " ")
  for (i = 1; i <= n; i++) delete acc[tid, list[i]]
  buckets[tid] = ""
  in_wake[tid] = 1
  total[tid] = 0
  softirq[tid] = 0
  preempted[tid] = 0
}

# Keeps tid's finished wake as one record of name=nanoseconds pairs.
function end_wake(tid,   i, n, list, rec) {
  in_wake[tid] = 0
  rec = "oncpu=" total[tid] " softirq=" softirq[tid] " preempted=" preempted[tid]
  n = split(buckets[tid], list, " ")
  for (i = 1; i <= n; i++) rec = rec " " list[i] "=" acc[tid, list[i]]
  nwakes++
  wake_label[nwakes] = label_of[tid]
  wake_rec[nwakes] = rec
}

# The open interval of tid, up to own-clock now, goes to a system call or to user space: to
# exiting_nr when a call returns, else to the call it is in, else to user space.
function close_interval(tid, now, exiting_nr,   name, lab) {
  if (exiting_nr != "") {
    name = name_of(exiting_nr)
    add(tid, "t." name, now - mark[tid])
    add(tid, "n." name, 1)
    lab = label_of[tid]
    if (!((lab, name) in seen_name)) {
      seen_name[lab, name] = 1
      names_of[lab] = names_of[lab] " " name
    }
  } else if (in_sys[tid]) {
    add(tid, "t." name_of(cur_nr[tid]), now - mark[tid])
  } else {
    add(tid, "user", now - mark[tid])
  }
  mark[tid] = now
}

BEGIN {
  while ((getline line < map) > 0) {
    split(line, f, " ")
    label[f[1]] = f[2]
  }
  close(map)
  # x86_64 numbers of the calls a VRRP daemon makes; others print as syscall_NR.
  split("0 read 1 write 3 close 7 poll 8 lseek 14 rt_sigprocmask 16 ioctl 20 writev 23 select " \
        "24 sched_yield 39 getpid 41 socket 42 connect 44 sendto 45 recvfrom 46 sendmsg 47 recvmsg " \
        "54 setsockopt 55 getsockopt 61 wait4 62 kill 72 fcntl 96 gettimeofday 202 futex " \
        "228 clock_gettime 230 clock_nanosleep 232 epoll_wait 233 epoll_ctl 257 openat 262 newfstatat " \
        "270 pselect6 271 ppoll 281 epoll_pwait 286 timerfd_settime 287 timerfd_gettime " \
        "290 eventfd2 299 recvmmsg 302 prlimit64 307 sendmmsg 318 getrandom 441 epoll_pwait2", f, " ")
  for (i = 1; (i + 1) in f; i += 2) NAMES[f[i]] = f[i + 1]
}

{
  split($1, id, "/")
  if (!(id[1] in label)) next
  tid = id[2]
  label_of[tid] = label[id[1]]
  t = ns($3)
  event = $4
}

event == "PERF_RECORD_SWITCH" && $5 == "IN" {
  on[tid] = 1
  seg_start[tid] = t
  seg_soft[tid] = 0
  if (known[tid] && !in_wake[tid]) start_wake(tid)
  next
}

event == "PERF_RECORD_SWITCH" && $5 == "OUT" {
  if (on[tid]) {
    d = t - seg_start[tid]
    if (in_wake[tid]) total[tid] += d
    own[tid] += d - seg_soft[tid]
    on[tid] = 0
  }
  if ($6 == "preempt") {
    if (in_wake[tid]) preempted[tid]++
  } else {
    if (in_wake[tid]) {
      close_interval(tid, own[tid], "")
      end_wake(tid)
    }
    mark[tid] = own[tid]
    known[tid] = 1
  }
  next
}

!on[tid] { next }

event == "irq:softirq_entry:" { soft_in[tid] = t; next }

event == "irq:softirq_exit:" {
  if (tid in soft_in) {
    d = t - soft_in[tid]
    seg_soft[tid] += d
    if (in_wake[tid]) softirq[tid] += d
    delete soft_in[tid]
  }
  next
}

event == "raw_syscalls:sys_enter:" {
  syscalls = 1
  now = own_clock(tid, t)
  if (in_wake[tid]) close_interval(tid, now, "")
  mark[tid] = now
  in_sys[tid] = 1
  cur_nr[tid] = $6
  next
}

event == "raw_syscalls:sys_exit:" {
  now = own_clock(tid, t)
  if (in_wake[tid]) close_interval(tid, now, $6)
  mark[tid] = now
  in_sys[tid] = 0
  next
}

# Reads wake w's record into v[name] = nanoseconds.
function load(w,   i, n, kv, pair) {
  split("", v)
  n = split(wake_rec[w], kv, " ")
  for (i = 1; i <= n; i++) {
    split(kv[i], pair, "=")
    v[pair[1]] = pair[2]
  }
}

# One line per measure and wake. A label's system calls made at least once every other wake on
# average appear in all of its wakes (0 where it made none); the rarer ones (start-up, a state
# change, a log line) are summed as "other".
END {
  for (w = 1; w <= nwakes; w++) {
    load(w)
    wakes_of[wake_label[w]]++
    for (key in v) if (key ~ /^n\./) made[wake_label[w], substr(key, 3)] += v[key]
  }
  for (w = 1; w <= nwakes; w++) {
    lab = wake_label[w]
    load(w)
    printf "%s %s oncpu %.3f\n", lab, pass, v["oncpu"] / 1000
    printf "%s %s softirq %.3f\n", lab, pass, v["softirq"] / 1000
    printf "%s %s own %.3f\n", lab, pass, (v["oncpu"] - v["softirq"]) / 1000
    printf "%s %s preempted %d\n", lab, pass, v["preempted"]
    if (!syscalls) continue
    printf "%s %s user %.3f\n", lab, pass, v["user"] / 1000
    sys = 0
    calls = 0
    other_t = 0
    other_n = 0
    rare = 0
    m = split(names_of[lab], names, " ")
    for (i = 1; i <= m; i++) {
      name = names[i]
      sys += v["t." name]
      calls += v["n." name]
      if (made[lab, name] < wakes_of[lab] / 2) {
        rare = 1
        other_t += v["t." name]
        other_n += v["n." name]
        continue
      }
      printf "%s %s t.%s %.3f\n", lab, pass, name, v["t." name] / 1000
      printf "%s %s n.%s %d\n", lab, pass, name, v["n." name]
    }
    if (rare) {
      printf "%s %s t.other %.3f\n", lab, pass, other_t / 1000
      printf "%s %s n.other %d\n", lab, pass, other_n
    }
    printf "%s %s sys %.3f\n", lab, pass, sys / 1000
    printf "%s %s calls %d\n", lab, pass, calls
  }
}
