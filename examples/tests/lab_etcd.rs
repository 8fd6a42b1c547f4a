//! Three vipd gated on a real three-member etcd (`[instance.etcd]`), each vipd and each etcd
//! member in its own namespace on one bridge. nftables rules in the switch namespace cut the
//! master off with one etcd member (both ways, or only frames towards it): the master drops
//! the VIP before its etcd deadline, the majority side takes over only after it, and a sampler
//! never sees two holders. No fencer is configured: etcd alone keeps them apart. Also: the
//! master SIGSTOPped for 60 s or SIGKILLed (the kernel lifetime removes its VIP), all of etcd
//! stopped (nobody holds the VIP), and Patroni follow mode (one node, and a pair through a
//! Patroni failover to the lower-priority node).
//!
//! Under one-way loss towards the master (its adverts still reach the others) the cut-off node
//! cannot renew or acquire: it steps back (a priority-0 advert, then silence until it can get
//! the grant), so a node on the majority side takes the VIP during the cut, as in the
//! symmetric case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::time::{Duration, Instant};

use lab_support::{Cluster, NodeConf, metric, wait_until};
use vip_etcd::harness::EtcdCluster;

const VIP: &str = "198.51.100.100";
/// The etcd members listen on the addresses the cluster gives its extra namespaces.
const ETCD: [&str; 3] = ["198.51.100.50", "198.51.100.51", "198.51.100.52"];

/// Nodes n1..n3 (ports p0..p2, 198.51.100.1-3) and etcd members x1..x3 (ports p3..p5,
/// 198.51.100.50-52).
fn start(tag: &str) -> Option<(Cluster, EtcdCluster)> {
    let mut c = Cluster::new(tag, 3, 3)?;
    // The cluster gave the nodes 198.51.100.1-3 and the extras 198.51.100.50-52 already.
    let names: Vec<&str> = c.extras.iter().map(|x| x.name()).collect();
    let etcd = EtcdCluster::start_in(tag, &names, &ETCD).unwrap()?;
    let endpoints = ETCD
        .iter()
        .map(|a| format!("\"http://{a}:2379\""))
        .collect::<Vec<_>>()
        .join(", ");
    for (i, prio) in [200u8, 150, 100].into_iter().enumerate() {
        let mut conf = NodeConf::new(prio);
        conf.fencer = false;
        conf.vips = format!("\"{VIP}/32\"");
        conf.instance_extra = format!("source = \"198.51.100.{}\"", i + 1);
        conf.tail = format!(
            "[instance.etcd]\nendpoints = [{endpoints}]\nmember = \"n{}\"\nttl = \"2s\"\n",
            i + 1
        );
        c.configure(i, &conf);
    }
    for i in 0..3 {
        c.start(i);
    }
    Some((c, etcd))
}

fn holders(c: &Cluster) -> Vec<usize> {
    (0..c.nodes.len())
        .filter(|&i| {
            let out = c.nodes[i]
                .ns
                .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
                .unwrap();
            out.contains(&format!(" {VIP}/32 "))
        })
        .collect()
}

fn switch(c: &Cluster) -> String {
    format!("{}-sw0", c.dir.file_name().unwrap().to_string_lossy())
}

fn nft(c: &Cluster, rule: &str) {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &switch(c), "nft", rule])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nft {rule}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Cuts {n1, x1} off from the rest for `hold`; `one_way`: only frames towards them are lost.
fn cut_master(c: &Cluster, one_way: bool, hold: Duration) -> Vec<usize> {
    let (side, rest) = ("{ p0, p3 }", "{ p1, p2, p4, p5 }");
    nft(c, "add table bridge vipcut");
    nft(
        c,
        "add chain bridge vipcut cutfw { type filter hook forward priority 0 ; }",
    );
    nft(
        c,
        &format!("add rule bridge vipcut cutfw iifname {rest} oifname {side} drop"),
    );
    if !one_way {
        nft(
            c,
            &format!("add rule bridge vipcut cutfw iifname {side} oifname {rest} drop"),
        );
    }
    std::thread::sleep(hold);
    // Still cut: one node of the majority side holds the VIP (waiting out a moment without a
    // holder: at TTL 2 s the kernel lifetime is one whole second, so a renewal late on a loaded
    // machine can drop the VIP until the holder adds it again).
    wait_until(Duration::from_secs(5), || {
        let h = holders(c);
        h.len() == 1 && h[0] != 0
    });
    let during = holders(c);
    nft(c, "delete table bridge vipcut");
    during
}

fn partition_case(tag: &str, one_way: bool) {
    let Some((c, _etcd)) = start(tag) else { return };
    let ok = wait_until(Duration::from_secs(20), || holders(&c) == vec![0]);
    assert!(
        ok,
        "n1 holds the VIP under etcd: holders {:?}\n{}",
        holders(&c),
        c.log(0)
    );
    let sampler = c.sampler_for(VIP);
    let cut_at = Instant::now();
    // 12 s: the master's lease (TTL 2 s) outlives etcd's leader change by a TTL, and the
    // claim back-off must come round.
    let during = cut_master(&c, one_way, Duration::from_secs(12));
    println!(
        "{tag}: holders at the end of the cut ({:?}): {during:?}",
        cut_at.elapsed()
    );
    assert!(
        !during.contains(&0),
        "the cut-off master does not hold the VIP"
    );
    assert_eq!(
        during.len(),
        1,
        "the majority side holds the VIP during the cut:\n{}",
        c.log(0)
    );
    // Healed: one holder again.
    assert!(wait_until(Duration::from_secs(20), || holders(&c).len() == 1));
    std::thread::sleep(Duration::from_secs(3));
    let samples = sampler.assert_never_two_holders();
    let first_other = samples.iter().find(|(_, h)| h[1] || h[2]).map(|(t, _)| *t);
    let last_n1 = samples
        .iter()
        .take_while(|(_, h)| !(h[1] || h[2]))
        .filter(|(_, h)| h[0])
        .last()
        .map(|(t, _)| *t);
    println!(
        "{tag}: n1 last held at {last_n1:?}, another node first held at {first_other:?} (sampler time)"
    );
    // Whichever came first took the VIP off n1: the kernel lifetime (whole seconds, rounded
    // down, so it runs out before D) or the arbiter's loss.
    let log = c.log(0);
    assert!(
        log.contains("VIP removed by someone else") || log.contains("etcd grant lost"),
        "n1 lost the VIP to its lifetime or the arbiter:\n{log}"
    );
    assert!(
        log.contains("ownership grant ended before its deadline") && log.contains("time_left_ms="),
        "n1 logged the time left to D when its grant ended:\n{log}"
    );
    // n1 stepped back to Backup on the arbiter's refusal (or its lost or expired grant) and
    // did not hold again during the cut: the sampler saw one holder at a time, n2 at the end.
    assert!(
        log.contains("to=backup reason=ownership arbiter"),
        "n1 stepped back on the arbiter's word:\n{log}"
    );
}

#[test]
fn vipd_symmetric_partition_of_the_master_never_gives_two_holders() {
    partition_case("vipex-etcd-sym", false);
}

/// The liveness bug this test was written for: the cut-off master (its adverts still reach
/// the others) used to claim again at its priority, so the others stayed backups and nobody
/// held the VIP until the cut healed. It steps back now and n2 holds during the cut.
#[test]
fn vipd_one_way_loss_towards_the_master_hands_the_vip_to_the_majority() {
    partition_case("vipex-etcd-oneway", true);
}

/// The master's vipd is SIGSTOPped for 60 s: the kernel drops its VIP when the lifetime set
/// from the etcd deadline runs out, the next node takes over once the lease has expired, and
/// the resumed vipd does not bring the VIP back while another node holds the grant.
#[test]
fn vipd_stopped_for_60_s_loses_the_vip_in_the_kernel() {
    let Some((mut c, _etcd)) = start("vipex-etcd-stop") else {
        return;
    };
    let ok = wait_until(Duration::from_secs(20), || holders(&c) == vec![0]);
    assert!(ok, "n1 holds the VIP under etcd: holders {:?}", holders(&c));
    let sampler = c.sampler_for(VIP);
    let stopped = Instant::now();
    c.signal(0, nix::sys::signal::Signal::SIGSTOP);
    let gone = wait_until(Duration::from_secs(5), || !holders(&c).contains(&0));
    let gone_after = stopped.elapsed();
    assert!(gone, "the kernel removed the stopped node's VIP");
    let taken = wait_until(Duration::from_secs(20), || holders(&c) == vec![1]);
    let taken_after = stopped.elapsed();
    assert!(taken, "n2 took over: holders {:?}", holders(&c));
    println!("SIGSTOP: n1's VIP gone after {gone_after:?}, n2 holds after {taken_after:?}");
    std::thread::sleep(Duration::from_secs(60).saturating_sub(stopped.elapsed()));
    assert_eq!(holders(&c), vec![1], "still n2 after 60 s");
    c.signal(0, nix::sys::signal::Signal::SIGCONT);
    // n1 resumes with a lost grant: refused, it asks etcd quietly and does not preempt n2,
    // which holds the grant.
    assert!(wait_until(Duration::from_secs(20), || holders(&c).len() == 1));
    std::thread::sleep(Duration::from_secs(3));
    sampler.assert_never_two_holders();
}

/// Patroni follow mode in vipd: the VIP is on this node only while Patroni's leader key (written
/// the way Patroni writes it: a lease, then a put of the member name) names this member.
#[test]
fn vipd_follows_the_patroni_leader_key() {
    let tag = "vipex-etcd-patroni";
    let Some(mut c) = Cluster::new(tag, 1, 3) else {
        return;
    };
    let names: Vec<&str> = c.extras.iter().map(|x| x.name()).collect();
    let Some(etcd) = EtcdCluster::start_in(tag, &names, &ETCD).unwrap() else {
        return;
    };
    let mut conf = NodeConf::new(100);
    conf.fencer = false;
    conf.vips = format!("\"{VIP}/32\"");
    conf.instance_extra = "source = \"198.51.100.1\"".into();
    conf.tail = format!(
        "[instance.etcd]\nendpoints = [\"http://{}:2379\"]\nmember = \"pg1\"\n[instance.etcd.patroni]\nscope = \"batman\"\ninterval = \"200ms\"\n",
        ETCD[0]
    );
    c.configure(0, &conf);
    c.start(0);
    let key = "/service/batman/leader";
    let write_leader = |member: &str| -> String {
        let out = etcd.etcdctl(&["lease", "grant", "30"]).unwrap();
        let lease = out.split_whitespace().nth(1).unwrap().to_string();
        etcd.etcdctl(&["put", &format!("--lease={lease}"), key, member])
            .unwrap();
        lease
    };

    // No leader key: no VIP.
    std::thread::sleep(Duration::from_secs(3));
    assert!(holders(&c).is_empty(), "no VIP without a Patroni leader");

    let lease = write_leader("pg1");
    let written = Instant::now();
    assert!(
        wait_until(Duration::from_secs(20), || holders(&c) == vec![0]),
        "the VIP follows the key to pg1:\n{}",
        c.log(0)
    );
    println!(
        "patroni: VIP on pg1 {:?} after the key named it",
        written.elapsed()
    );

    // Patroni fails over to pg2 (another host): the key changes; the VIP leaves at once.
    etcd.etcdctl(&["lease", "revoke", &lease]).unwrap();
    write_leader("pg2");
    let changed = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || holders(&c).is_empty()),
        "the VIP leaves pg1 when the key names pg2:\n{}",
        c.log(0)
    );
    println!(
        "patroni: VIP off pg1 {:?} after the key changed",
        changed.elapsed()
    );
}

/// All of etcd stops answering (every member SIGSTOPped): the holder removes the VIP by its
/// deadline and nobody holds it until etcd is back.
#[test]
fn vipd_without_etcd_holds_nothing() {
    let Some((c, etcd)) = start("vipex-etcd-alllost") else {
        return;
    };
    assert!(wait_until(Duration::from_secs(20), || holders(&c) == vec![0]));
    let sampler = c.sampler_for(VIP);
    let stopped = Instant::now();
    for i in 0..3 {
        etcd.signal(i, "STOP").unwrap();
    }
    let gone = wait_until(Duration::from_secs(5), || holders(&c).is_empty());
    let gone_after = stopped.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let during = holders(&c);
    for i in 0..3 {
        etcd.signal(i, "CONT").unwrap();
    }
    println!("all etcd stopped: the VIP was removed after {gone_after:?}");
    assert!(gone, "the holder removed the VIP without etcd");
    assert!(
        during.is_empty(),
        "nobody holds it while etcd is away: {during:?}"
    );
    assert!(
        wait_until(Duration::from_secs(30), || holders(&c).len() == 1),
        "someone holds it again once etcd is back"
    );
    sampler.assert_never_two_holders();
}

/// The master's vipd is SIGKILLed (its VIP stays on the interface until the kernel lifetime
/// runs out): the next node holds the VIP once the dead node's lease has expired.
#[test]
fn vipd_crash_failover_waits_for_the_lease() {
    let Some((mut c, _etcd)) = start("vipex-etcd-crash") else {
        return;
    };
    assert!(wait_until(Duration::from_secs(20), || holders(&c) == vec![0]));
    // The holder exports the time left to its deadline D: within (0, TTL), renewed every
    // TTL / 3; the others hold no grant and export no series.
    let series = "vip_arbiter_deadline_seconds{vrrp_instance=\"vip\"}";
    let left = metric(&c.metrics(0), series);
    assert!(left > 0.0 && left < 2.0, "time left to D: {left}");
    assert!(!c.metrics(1).contains(series), "n2 holds no grant");
    let sampler = c.sampler_for(VIP);
    let killed = Instant::now();
    c.signal(0, nix::sys::signal::Signal::SIGKILL);
    let gone = wait_until(Duration::from_secs(5), || !holders(&c).contains(&0));
    let gone_after = killed.elapsed();
    assert!(gone, "the kernel removed the dead node's VIP");
    assert!(wait_until(Duration::from_secs(20), || holders(&c) == vec![1]));
    println!(
        "SIGKILL at TTL 2 s: n1's VIP gone after {gone_after:?}, n2 holds after {:?}",
        killed.elapsed()
    );
    sampler.assert_never_two_holders();
}

/// Two vipd with the lab fencer (it removes the VIP inside the other node's namespace): after a
/// SIGKILL of the master, the claimant fences it, revokes its etcd lease with the fencing token
/// and takes over without waiting for the lease to run out.
#[test]
fn vipd_crash_failover_with_a_fencer_revokes_the_lease() {
    let tag = "vipex-etcd-fence";
    let Some(mut c) = Cluster::new(tag, 2, 3) else {
        return;
    };
    // The cluster gave the nodes 198.51.100.1-3 and the extras 198.51.100.50-52 already.
    let names: Vec<&str> = c.extras.iter().map(|x| x.name()).collect();
    let Some(_etcd) = EtcdCluster::start_in(tag, &names, &ETCD).unwrap() else {
        return;
    };
    let endpoints = ETCD.map(|a| format!("\"http://{a}:2379\"")).join(", ");
    for (i, prio) in [200u8, 150].into_iter().enumerate() {
        let mut conf = NodeConf::new(prio);
        conf.vips = format!("\"{VIP}/32\"");
        conf.instance_extra = format!("source = \"198.51.100.{}\"", i + 1);
        // The lab fencer, idempotent: the other node is fenced once its VIP is gone.
        conf.fencer = false;
        let other = c.nodes[1 - i].ns.name().to_string();
        // A long TTL: without the revoke, n2 would wait 10 s.
        conf.tail = format!(
            "[instance.fencer]\nargv = [\"ip\", \"netns\", \"exec\", \"{other}\", \"sh\", \"-c\", \"ip addr del {VIP}/32 dev eth0 2>/dev/null; true\"]\ntimeout = \"2s\"\n\
             [instance.etcd]\nendpoints = [{endpoints}]\nmember = \"n{}\"\nttl = \"10s\"\n",
            i + 1
        );
        c.configure(i, &conf);
        c.start(i);
    }
    assert!(wait_until(Duration::from_secs(20), || holders(&c) == vec![0]));
    let sampler = c.sampler_for(VIP);
    let killed = Instant::now();
    c.signal(0, nix::sys::signal::Signal::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(8), || holders(&c) == vec![1]),
        "n2 took over before the 10 s lease ran out:\n{}",
        c.log(1)
    );
    println!(
        "SIGKILL with a fencer at TTL 10 s: n2 holds after {:?}",
        killed.elapsed()
    );
    assert!(
        c.log(1).contains("revok"),
        "n2 revoked n1's lease:\n{}",
        c.log(1)
    );
    sampler.assert_never_two_holders();
}

/// Two vipd following Patroni (priorities 200 and 150, no fencer), the leader key written the
/// way Patroni writes it. Patroni fails over from pg1 to pg2: n1 loses its grant and steps
/// back, n2 takes the VIP, and n1, refused while the key names pg2, does not preempt it (the
/// liveness bug this guards against: n2 stepping down for n1's higher priority while n1
/// cannot get the grant, so that nobody holds the VIP). Never two holders.
#[test]
fn vipd_pair_follows_a_patroni_failover_to_the_lower_priority_node_and_keeps_it_there() {
    let tag = "vipex-etcd-patroni2";
    let Some(mut c) = Cluster::new(tag, 2, 3) else {
        return;
    };
    let names: Vec<&str> = c.extras.iter().map(|x| x.name()).collect();
    let Some(etcd) = EtcdCluster::start_in(tag, &names, &ETCD).unwrap() else {
        return;
    };
    let endpoints = ETCD.map(|a| format!("\"http://{a}:2379\"")).join(", ");
    for (i, prio) in [200u8, 150].into_iter().enumerate() {
        let mut conf = NodeConf::new(prio);
        conf.fencer = false;
        conf.vips = format!("\"{VIP}/32\"");
        conf.instance_extra = format!("source = \"198.51.100.{}\"", i + 1);
        conf.tail = format!(
            "[instance.etcd]\nendpoints = [{endpoints}]\nmember = \"pg{}\"\n[instance.etcd.patroni]\nscope = \"batman\"\ninterval = \"200ms\"\n",
            i + 1
        );
        c.configure(i, &conf);
        c.start(i);
    }
    let key = "/service/batman/leader";
    let write_leader = |member: &str| -> String {
        let out = etcd.etcdctl(&["lease", "grant", "30"]).unwrap();
        let lease = out.split_whitespace().nth(1).unwrap().to_string();
        etcd.etcdctl(&["put", &format!("--lease={lease}"), key, member])
            .unwrap();
        lease
    };
    let lease = write_leader("pg1");
    assert!(
        wait_until(Duration::from_secs(20), || holders(&c) == vec![0]),
        "the VIP follows the key to pg1 (n1):\n{}",
        c.log(0)
    );
    let sampler = c.sampler_for(VIP);
    // Patroni fails over to pg2.
    etcd.etcdctl(&["lease", "revoke", &lease]).unwrap();
    let changed = Instant::now();
    write_leader("pg2");
    assert!(
        wait_until(Duration::from_secs(10), || holders(&c) == vec![1]),
        "the VIP follows the key to pg2 (n2): holders {:?}\n{}",
        holders(&c),
        c.log(1)
    );
    println!(
        "patroni pair: VIP on pg2 {:?} after the key changed",
        changed.elapsed()
    );
    // n1 (priority 200) stays back: n2 keeps the VIP without a gap.
    let held_from = sampler.elapsed();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(holders(&c), vec![1], "n2 still holds the VIP");
    let samples = sampler.assert_never_two_holders();
    let after: Vec<_> = samples.iter().filter(|(t, _)| *t > held_from).collect();
    assert!(
        after.iter().all(|(_, h)| h[1] && !h[0]),
        "n2 held the VIP throughout, n1 never: {after:?}"
    );
}
