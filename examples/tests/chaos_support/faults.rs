//! The chaos run's faults, the seeded generator that draws them, and their nftables rules.

use std::time::Duration;

/// A small seeded generator (xorshift64*), so that a seed gives the same schedule.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// The store a mode's nodes depend on, whose faults the schedule draws too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// None (vipd alone, keepalived).
    None,
    /// A three-member etcd (the arbiter).
    Etcd,
    /// A PostgreSQL server per node (the role probe's).
    Pg,
}

/// One fault on one node (or, for the etcd faults, one etcd member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The node's eth0 down.
    LinkDown(usize),
    /// SIGSTOP of the daemon (SIGCONT at the end).
    Stop(usize),
    /// SIGKILL of the daemon (started again at the end).
    Kill(usize),
    /// The node's switch port drops everything, both ways.
    Partition(usize),
    /// The node's switch port drops the node's frames only: it hears, nobody hears it.
    OneWayOut(usize),
    /// VRRP (IP protocol 112) alone dropped both ways; ARP flows.
    VrrpBlocked(usize),
    /// Random loss of this percentage of the frames on the node's port, both ways.
    Loss(usize, u8),
    /// The node's tracked check fails (the file it reads says so).
    CheckFails(usize),
    /// The node's tracked check hangs (its source frozen) until its timeout kills it.
    CheckHangs(usize),
    /// The node's config rewritten with priority 20, then reloaded (SIGHUP); at the end the
    /// original config, reloaded again.
    Reload(usize),
    /// etcd member SIGSTOPped (SIGCONT at the end); only with the etcd arbiter.
    EtcdStop(usize),
    /// etcd member SIGKILLed, started again at the end with its data directory (the same
    /// member); only with the etcd arbiter.
    EtcdKill(usize),
    /// etcd member's switch port drops everything; only with the etcd arbiter.
    EtcdPartition(usize),
    /// The node's PostgreSQL (its role probe's database) frozen: SIGSTOP of the postmaster and
    /// its children (SIGCONT at the end); only with the PostgreSQL role.
    PgFreeze(usize),
    /// The node's PostgreSQL stopped (`pg_ctl stop -m fast`), started again at the end; only
    /// with the PostgreSQL role.
    PgStop(usize),
}

impl Fault {
    /// The node (or member) it acts on.
    pub fn node(self) -> usize {
        match self {
            Fault::LinkDown(i)
            | Fault::Stop(i)
            | Fault::Kill(i)
            | Fault::Partition(i)
            | Fault::OneWayOut(i)
            | Fault::VrrpBlocked(i)
            | Fault::Loss(i, _)
            | Fault::CheckFails(i)
            | Fault::CheckHangs(i)
            | Fault::Reload(i)
            | Fault::EtcdStop(i)
            | Fault::EtcdKill(i)
            | Fault::EtcdPartition(i)
            | Fault::PgFreeze(i)
            | Fault::PgStop(i) => i,
        }
    }

    /// A fault drawn from every kind, one draw each (so that runs of different modes with one
    /// seed get the same schedule: the same episodes, nodes and times; a kind a mode lacks is
    /// skipped there). The last two of the twelve slots are the store's: with the PostgreSQL
    /// role the node's database frozen or stopped, else an etcd member stopped or killed (half
    /// each, from the same draw) or cut off. With a store, half the failing and hanging checks
    /// are the store's instead: the database stopped or frozen, the etcd member killed or
    /// stopped.
    pub fn pick(rng: &mut Rng, node: usize, store: Store) -> Fault {
        let db = store == Store::Pg;
        let etcd = store == Store::Etcd;
        let x = rng.next();
        let half = (x / 12) % 2 == 1;
        match x % 12 {
            0 => Fault::LinkDown(node),
            1 => Fault::Stop(node),
            2 => Fault::Kill(node),
            3 => Fault::Partition(node),
            4 => Fault::OneWayOut(node),
            5 => Fault::VrrpBlocked(node),
            6 => Fault::Loss(node, [20, 50, 80][rng.below(3) as usize]),
            7 if db && half => Fault::PgStop(node),
            7 if etcd && half => Fault::EtcdKill(node),
            7 => Fault::CheckFails(node),
            8 if db && half => Fault::PgFreeze(node),
            8 if etcd && half => Fault::EtcdStop(node),
            8 => Fault::CheckHangs(node),
            9 => Fault::Reload(node),
            10 if db => Fault::PgFreeze(node),
            10 if !half => Fault::EtcdStop(node),
            10 => Fault::EtcdKill(node),
            _ if db => Fault::PgStop(node),
            _ => Fault::EtcdPartition(node),
        }
    }

    /// Whether it acts on an etcd member.
    pub fn on_etcd(self) -> bool {
        matches!(
            self,
            Fault::EtcdStop(_) | Fault::EtcdKill(_) | Fault::EtcdPartition(_)
        )
    }

    /// Whether it acts on a node's PostgreSQL.
    pub fn on_db(self) -> bool {
        matches!(self, Fault::PgFreeze(_) | Fault::PgStop(_))
    }

    /// nftables rules (bridge family, forward hook, in the switch namespace) for a network
    /// fault; `port` is the switch port of the node or member.
    pub fn rules(self, port: usize) -> Vec<String> {
        let p = format!("p{port}");
        match self {
            Fault::Partition(_) | Fault::EtcdPartition(_) => {
                vec![format!("iifname {p} drop"), format!("oifname {p} drop")]
            }
            Fault::OneWayOut(_) => vec![format!("iifname {p} drop")],
            Fault::VrrpBlocked(_) => vec![
                format!("iifname {p} ether type ip ip protocol 112 drop"),
                format!("oifname {p} ether type ip ip protocol 112 drop"),
            ],
            Fault::Loss(_, pct) => vec![
                format!("iifname {p} numgen random mod 100 < {pct} drop"),
                format!("oifname {p} numgen random mod 100 < {pct} drop"),
            ],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_faults() {
        let draw = |seed, store| {
            let mut r = Rng(seed);
            (0..50)
                .map(|i| Fault::pick(&mut r, i % 3, store))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7, Store::None), draw(7, Store::None));
        assert_ne!(draw(7, Store::None), draw(8, Store::None));
        // The stores' schedules differ only in the store's and the checks' slots.
        let etcd = draw(7, Store::Etcd);
        for ((a, b), c) in draw(7, Store::None)
            .into_iter()
            .zip(draw(7, Store::Pg))
            .zip(etcd)
        {
            let check = matches!(a, Fault::CheckFails(_) | Fault::CheckHangs(_));
            assert!(
                a == b || ((a.on_etcd() || check) && b.on_db()),
                "{a:?} / {b:?}"
            );
            assert!(
                a == c || (check && c.on_etcd()) || (a.on_etcd() && c.on_etcd()),
                "{a:?} / {c:?}"
            );
        }
    }
}
